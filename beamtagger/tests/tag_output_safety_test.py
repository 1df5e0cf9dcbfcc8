"""``beamtagger tag`` never removes, lists or reads as its own the files of another run, nor
its own input (audit of the tag command)."""
import glob
import os

import pytest

from beamtagger.tests.conftest import run_tag_command as tag


def test_a_run_leaves_the_files_of_a_run_under_a_longer_prefix_alone(tiny_tagger, text_in,
                                                                     tmp_path, capsys):
    # Beam's sinks deleted every PREFIX-*-of-NNNNN.jsonl before publishing their shards: a run
    # writing out/run removed the results and dead letters of the earlier run out/run-2.
    common = ["--input", str(text_in), "--model", tiny_tagger.model_dir,
              "--embeddings", tiny_tagger.store_path]
    out_dir = tmp_path / "out"
    assert tag(capsys, *common, "--output", str(out_dir / "run-2"))[0] == 0
    earlier = sorted(os.listdir(out_dir))
    assert earlier == ["run-2-00000-of-00001.jsonl", "run-2-errors-00000-of-00001.jsonl"]
    code, out, err = tag(capsys, *common, "--output", str(out_dir / "run"), "--print-results")
    assert code == 0, err
    assert sorted(os.listdir(out_dir)) == sorted(earlier + ["run-00000-of-00001.jsonl",
                                                            "run-errors-00000-of-00001.jsonl"])
    assert "run-2-" not in out  # the summary lists this run's files only
    assert out.count("in.txt:1:") == 1  # and --print-results prints this run's records only


def test_overwrite_refuses_to_remove_the_input_it_is_asked_to_tag(tiny_tagger, text_in,
                                                                  tmp_path, capsys):
    common = ["--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path]
    prefix = str(tmp_path / "out" / "r")
    assert tag(capsys, "--input", str(text_in), "--output", prefix, *common)[0] == 0
    earlier = sorted(glob.glob(prefix + "-*"))
    code, _, err = tag(capsys, "--input", prefix + "-00000-of-00001.jsonl", "--output", prefix,
                       "--overwrite", *common)
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "--input" in err and "--overwrite" in err
    assert sorted(glob.glob(prefix + "-*")) == earlier  # nothing was removed


@pytest.mark.parametrize("prefix", ["run?", "run*", "run[12]"])
def test_an_output_prefix_with_glob_characters_is_refused(tiny_tagger, text_in, tmp_path,
                                                         capsys, prefix):
    # Its file patterns matched other runs' files: --overwrite removed out/runA's results.
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "runA-00000-of-00001.jsonl").write_text("{}\n")
    code, _, err = tag(capsys, "--input", str(text_in), "--output", str(out_dir / prefix),
                       "--overwrite", "--model", tiny_tagger.model_dir,
                       "--embeddings", tiny_tagger.store_path)
    assert code == 2 and "--output" in err and len(err.strip().splitlines()) == 1, err
    assert os.listdir(out_dir) == ["runA-00000-of-00001.jsonl"]


def test_a_prefix_named_as_another_prefix_s_dead_letters_is_refused(tiny_tagger, text_in,
                                                                     tmp_path, capsys):
    # out/run-errors-00000-of-00001.jsonl held out/run-errors' results and would be out/run's
    # dead letters: out/run --overwrite removed those results as its own error files.
    common = ["--input", str(text_in), "--model", tiny_tagger.model_dir,
              "--embeddings", tiny_tagger.store_path]
    out_dir = tmp_path / "out"
    for overwrite in ([], ["--overwrite"]):
        code, _, err = tag(capsys, *common, "--output", str(out_dir / "run-errors"), *overwrite)
        assert code == 2, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert "-errors" in err and str(out_dir / "run") in err
    assert not out_dir.exists()
    assert tag(capsys, *common, "--output", str(out_dir / "run-errors-retagged"))[0] == 0


@pytest.mark.parametrize("failure", [
    RuntimeError("KeyboardInterrupt [while running 'TagText/Tag/RunTagger/ParDo(_TagFn)']"),
    KeyboardInterrupt(),
])
def test_ctrl_c_inside_a_step_is_an_interruption_and_removes_this_runs_files(failure):
    # Beam re-raises a worker's KeyboardInterrupt as a RuntimeError: Ctrl-C printed 156 lines
    # of traceback and exit 1 where the CLI says "beamtagger: interrupted", exit 130.
    from beamtagger.pipeline.run_failures import reported_failures

    removed = []
    with pytest.raises(KeyboardInterrupt), reported_failures("out/r",
                                                             lambda: removed.append(True)):
        raise failure
    assert removed == [True]


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_second_run_on_a_prefix_another_run_is_writing_is_refused(tiny_tagger, text_in,
                                                                    tmp_path, capsys,
                                                                    overwrite):
    # Both runs found no earlier files; the second removed the sinks' temporary folder of the
    # first (as a killed run's), which then failed with a traceback and, removing its own
    # files, removed the second's too.
    import fcntl

    out_dir = tmp_path / "out"
    other_sink = out_dir / ("beam-temp-run-" + "0" * 32)
    other_sink.mkdir(parents=True)
    (other_sink / "bundle.run.jsonl").write_text('{"id": "of the other run"}\n')
    (out_dir / ".run.tag-lock").mkdir()
    other_run = os.open(out_dir / ".run.tag-lock", os.O_RDONLY)
    try:
        fcntl.flock(other_run, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = tag(capsys, "--input", str(text_in), "--output", str(out_dir / "run"),
                           *overwrite, "--model", tiny_tagger.model_dir,
                           "--embeddings", tiny_tagger.store_path)
    finally:
        os.close(other_run)
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "another beamtagger tag run" in err
    assert sorted(os.listdir(out_dir)) == [".run.tag-lock", other_sink.name]
    assert os.listdir(other_sink) == ["bundle.run.jsonl"]


def test_a_killed_run_holds_its_prefix_no_longer(tiny_tagger, text_in, tmp_path, capsys):
    # A SIGKILL leaves the lock's folder and the sinks' temporary folders; the kernel released
    # the lock, so the next run goes ahead and removes what the killed one left.
    out_dir = tmp_path / "out"
    (out_dir / ".run.tag-lock").mkdir(parents=True)
    (out_dir / ("beam-temp-run-" + "0" * 32)).mkdir()
    code, _, err = tag(capsys, "--input", str(text_in), "--output", str(out_dir / "run"),
                       "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    assert sorted(os.listdir(out_dir)) == ["run-00000-of-00001.jsonl",
                                           "run-errors-00000-of-00001.jsonl"]


def test_the_hold_on_a_prefix_is_never_read_as_input(tiny_tagger, tmp_path, capsys):
    # Its lock, a file then, beside the output was read as a record by --input 'out/*'.
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "in.txt").write_text("Hello there .\n", encoding="utf-8")
    code, out, err = tag(capsys, "--input", str(out_dir / "*"), "--output",
                         str(out_dir / "run"), "--model", tiny_tagger.model_dir,
                         "--embeddings", tiny_tagger.store_path, "--print-results")
    assert code == 0, err
    assert "records read                1" in out and "lock" not in out, out


def test_a_refused_run_leaves_no_output_folder_of_its_own(tiny_tagger, tmp_path, capsys):
    code, _, err = tag(capsys, "--input", str(tmp_path / "missing.txt"),
                       "--output", str(tmp_path / "out" / "day" / "run"),
                       "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    assert code == 2 and "no input files" in err, err
    assert not (tmp_path / "out").exists()


_SIGNALLED_RUN = """
import os, signal, sys
from beamtagger.pipeline import cli, tag_pipeline

def run_tag_job(job, options):  # as far as a run gets: a shard published, another being written
    open(job.output_prefix + "-00000-of-00002.jsonl", "w").close()
    os.makedirs(os.path.join(os.path.dirname(job.output_prefix), "beam-temp-run-" + "0" * 32))
    os.kill(os.getpid(), signal.Signals[sys.argv[1]])
    raise AssertionError(sys.argv[1] + " did not stop the run")

tag_pipeline.run_tag_job = run_tag_job
# As in a terminal: the suite run under nohup passed SIGHUP on ignored, which tag leaves alone.
signal.signal(signal.SIGHUP, signal.SIG_DFL)
sys.exit(cli.main(["tag", "--runtime", "numpy", "--progress-every", "0"] + sys.argv[2:]))
"""


@pytest.mark.parametrize("signal_name, status, line", [
    # Python's default for SIGTERM (kill, timeout, docker stop) ended the process where it
    # stood: no message, and its published shards and temporary folders stayed.
    ("SIGTERM", 143, "beamtagger: terminated"),
    # The terminal or ssh session a run was started from closed: Python's default for SIGHUP
    # ended the process where it stood, exit 129 without a word, its published shard, its
    # sinks' temporary folders and its lock folder left for the next night.
    ("SIGHUP", 129, "beamtagger: hung up"),
])
def test_a_stop_signal_ends_a_run_as_ctrl_c_does_and_removes_its_files(
        signal_name, status, line, tiny_tagger, text_in, tmp_path):
    import subprocess
    import sys

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _SIGNALLED_RUN, signal_name, "--input", str(text_in), "--output",
         str(out_dir / "run"), "--model", tiny_tagger.model_dir,
         "--embeddings", tiny_tagger.store_path],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == status, done.stderr
    assert done.stderr.strip().splitlines() == [line]
    assert os.listdir(out_dir) == []


def test_a_rerun_with_overwrite_that_fails_puts_the_earlier_results_back(tiny_tagger, text_in,
                                                                         tmp_path, capsys,
                                                                         monkeypatch):
    # --overwrite deleted the earlier results before the run: a rerun stopped by Ctrl-C, or
    # one that failed, lost both runs' results.
    from beamtagger.pipeline import tag_pipeline

    common = ["--input", str(text_in), "--model", tiny_tagger.model_dir,
              "--embeddings", tiny_tagger.store_path, "--output", str(tmp_path / "out" / "run")]
    assert tag(capsys, *common)[0] == 0
    earlier = {path: open(path, "rb").read() for path in glob.glob(str(tmp_path / "out" / "*"))}
    assert len(earlier) == 2

    def interrupted_after_one_shard(job, options):
        (tmp_path / "out" / "run-00000-of-00003.jsonl").write_text("{}\n")
        assert sorted(os.listdir(tmp_path / "out")) == [
            ".run.tag-lock", ".run.tag-replaced", "run-00000-of-00003.jsonl"]
        raise KeyboardInterrupt

    monkeypatch.setattr(tag_pipeline, "run_tag_job", interrupted_after_one_shard)
    code, _, err = tag(capsys, *common, "--overwrite")
    assert code == 130, err
    assert {path: open(path, "rb").read()
            for path in glob.glob(str(tmp_path / "out" / "*"))} == earlier
    assert not (tmp_path / "out" / ".run.tag-replaced").exists()


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_the_next_run_puts_back_what_a_killed_rerun_was_replacing(tiny_tagger, text_in,
                                                                  tmp_path, capsys, overwrite):
    out_dir = tmp_path / "out"
    common = ["--input", str(text_in), "--model", tiny_tagger.model_dir,
              "--embeddings", tiny_tagger.store_path, "--output", str(out_dir / "run")]
    aside = out_dir / ".run.tag-replaced"
    aside.mkdir(parents=True)
    (aside / "run-00000-of-00001.jsonl").write_text('{"id": "earlier"}\n')
    (out_dir / ("beam-temp-run-" + "0" * 32)).mkdir()   # the killed run published nothing
    code, out, err = tag(capsys, *common, *overwrite)
    assert "put back         1 file(s)" in out
    assert not aside.exists()
    result = (out_dir / "run-00000-of-00001.jsonl").read_text()
    if overwrite:
        assert code == 0, err
        assert "earlier" not in result
    else:   # refused as any earlier run's files are: they are back where they were
        assert code == 2 and "--overwrite" in err, err
        assert result == '{"id": "earlier"}\n'


def test_a_killed_rerun_that_had_published_files_leaves_both_sets_to_the_user(
        tiny_tagger, text_in, tmp_path, capsys):
    out_dir = tmp_path / "out"
    aside = out_dir / ".run.tag-replaced"
    aside.mkdir(parents=True)
    (aside / "run-00000-of-00001.jsonl").write_text('{"id": "earlier"}\n')
    (out_dir / "run-00001-of-00003.jsonl").write_text('{"id": "killed"}\n')
    code, _, err = tag(capsys, "--input", str(text_in), "--output", str(out_dir / "run"),
                       "--overwrite", "--model", tiny_tagger.model_dir,
                       "--embeddings", tiny_tagger.store_path)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "keep one set" in err and str(aside) in err
    assert os.listdir(aside) == ["run-00000-of-00001.jsonl"]
    assert (out_dir / "run-00001-of-00003.jsonl").read_text() == '{"id": "killed"}\n'


def test_the_files_of_a_run_killed_outright_are_named_as_maybe_incomplete(tiny_tagger, text_in,
                                                                         tmp_path, capsys):
    # The results sink publishes before the errors sink: a SIGKILL between them left results
    # that looked whole, refused as any earlier run's.
    out_dir = tmp_path / "out"
    (out_dir / ".run.tag-lock").mkdir(parents=True)   # left by the killed run
    (out_dir / "run-00000-of-00001.jsonl").write_text('{"id": "killed"}\n')
    common = ["--input", str(text_in), "--output", str(out_dir / "run"), "--model",
              tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path]
    code, _, err = tag(capsys, *common)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "killed before it ended: they may be incomplete" in err
    # A run that ended as runs do leaves no lock behind: its files are not called incomplete.
    assert tag(capsys, *common, "--overwrite")[0] == 0
    code, _, err = tag(capsys, *common)
    assert code == 2 and "earlier run" in err and "incomplete" not in err, err


def test_without_flock_a_run_goes_ahead_unheld(tiny_tagger, text_in, tmp_path, capsys,
                                              monkeypatch):
    # Windows has no fcntl: the import failed with a traceback before any run.
    from beamtagger.pipeline import output_lock

    monkeypatch.setattr(output_lock, "_fcntl", lambda: None)
    code, _, err = tag(capsys, "--input", str(text_in), "--output", str(tmp_path / "o" / "run"),
                       "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / "o")) == ["run-00000-of-00001.jsonl",
                                                  "run-errors-00000-of-00001.jsonl"]
