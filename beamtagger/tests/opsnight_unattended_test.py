"""``beamtagger tag`` run unattended (cron, a systemd service, a container's entrypoint): what a
supervisor's signals, a rerun after a killed run and a log pipe that closes leave for the next
night and for the monitor that reads the exit status and ``--summary-json``."""
import os

import pytest

from beamtagger.tests.conftest import run_tag_command


def _tag(capsys, tiny_tagger, *args):
    return run_tag_command(capsys, "--model", tiny_tagger.model_dir, "--embeddings",
                           tiny_tagger.store_path, *args)


def test_files_put_back_after_a_killed_overwrite_are_not_called_incomplete(
        tiny_tagger, text_in, tmp_path, capsys):
    # A rerun with --overwrite killed outright (SIGKILL, the OOM killer) while it tagged leaves
    # its lock folder and the earlier run's files set aside. The next run put those back, then
    # refused them as "killed before it ended: they may be incomplete": the lock was the
    # killed rerun's, the files a whole earlier run's, which an operator told so deleted.
    out_dir = tmp_path / "out"
    (out_dir / ".run.tag-lock").mkdir(parents=True)
    aside = out_dir / ".run.tag-replaced"
    aside.mkdir()
    (aside / "run-00000-of-00001.jsonl").write_text('{"id": "earlier"}\n')
    (aside / "run-errors-00000-of-00001.jsonl").write_text("")
    code, out, err = _tag(capsys, tiny_tagger, "--input", str(text_in),
                          "--output", str(out_dir / "run"))
    assert "put back         2 file(s)" in out
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "earlier run" in err and "incomplete" not in err and "killed" not in err, err
    assert (out_dir / "run-00000-of-00001.jsonl").read_text() == '{"id": "earlier"}\n'
    assert sorted(os.listdir(out_dir)) == ["run-00000-of-00001.jsonl",
                                           "run-errors-00000-of-00001.jsonl"]


def test_sighup_stays_ignored_under_nohup_and_cannot_cut_a_sigterm_clean_up_short():
    # systemd's SendSIGHUP= sends SIGHUP right after SIGTERM: ending the process there would
    # stop the clean-up SIGTERM started. Under nohup the caller ignores it, and so does tag.
    import signal

    from beamtagger.pipeline.cli import _terminate_as_interrupt

    outer = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        with _terminate_as_interrupt([]):
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        terminated = []
        with _terminate_as_interrupt(terminated):
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                raise AssertionError("SIGTERM did not raise")
            except KeyboardInterrupt:   # the clean-up runs from here
                assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
                assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        assert terminated == [signal.SIGTERM]
    finally:
        for signum, handler in outer.items():
            signal.signal(signum, handler)


def test_a_summary_reader_gone_leaves_the_run_s_outcome_and_its_summary_json(
        tiny_tagger, text_in, tmp_path):
    # `tag ... | head -1`, or a logger the output was piped to that died: the run tagged every record and published its files, then its summary's
    # first print failed. It exited 141 and wrote no --summary-json, so the monitor saw a
    # failed night with no counts, where the results were whole.
    import json
    import subprocess
    import sys

    summary = tmp_path / "night.json"
    reader, writer = os.pipe()
    os.close(reader)   # every write to standard output fails (EPIPE) from the start
    try:
        done = subprocess.run(
            [sys.executable, "-m", "beamtagger", "tag", "--runtime", "numpy", "--progress-every",
             "0", "--input", str(text_in), "--output", str(tmp_path / "out" / "run"),
             "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
             "--summary-json", str(summary), "--print-results"],
            stdout=writer, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(writer)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    written = json.loads(summary.read_text(encoding="utf-8"))
    assert (written["exit_status"], written["records_read"], written["records_tagged"]) == (
        0, 2, 2)
    assert written["results"] == [str(tmp_path / "out" / "run-00000-of-00001.jsonl")]
    assert len((tmp_path / "out" / "run-00000-of-00001.jsonl").read_text().splitlines()) == 2


_JAX_CACHE_UNMADE = """
import logging, sys
from beamtagger.model import jax_setup
jax_setup.configure_jax()
logging.basicConfig(format="app %(levelname)s %(name)s: %(message)s")   # the application's own
logging.getLogger("app.jobs").warning("a warning of the application's")
"""


def test_a_warning_of_the_jax_set_up_leaves_the_application_s_logging_set_up_to_it(tmp_path):
    # A service whose user's home cannot be written, tagging with Tagger(runtime="jax"): the
    # warning was logged on the root logger, whose first use set a handler up there
    # (logging.basicConfig), so the service's own basicConfig after it did nothing and its log
    # lines came as "WARNING:app.jobs:..." (a library must not configure the application's
    # logging). Beam's PipelineOptions calls basicConfig() itself, so a `tag` run's lines are
    # formatted as before.
    import subprocess
    import sys

    pytest.importorskip("jax", reason="the jax extra is not installed")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    done = subprocess.run(
        [sys.executable, "-c", _JAX_CACHE_UNMADE], capture_output=True, text=True, timeout=300,
        env={**os.environ, "BEAMTAGGER_JAX_CACHE": str(a_file / "jax"), "JAX_PLATFORMS": "cpu"})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    # Before the application set its logging up: Python's last resort, the message alone.
    assert lines[0].startswith("beamtagger: no JAX compilation cache ("), lines
    assert lines[1] == "app WARNING app.jobs: a warning of the application's", lines


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_refusal_whose_line_cannot_be_written_still_exits_2(tmp_path):
    # cron's `>> /var/log/tag.log 2>&1` on a full /var, or a log pipe closed: the refusal's
    # line failed to print, and the process exited 1 (Python's for the exception), which a
    # monitor reads as a run that failed, not one refused before launch (argparse's own
    # refusals drop a line that cannot be written and keep their 2).
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "beamtagger", "tag", "--input", str(tmp_path / "none-*.txt"),
             "--output", str(tmp_path / "run")], stdout=subprocess.DEVNULL, stderr=full,
            timeout=300)
    assert done.returncode == 2
