"""``beamtagger tag`` run unattended (cron, a systemd service, a container's entrypoint): what a
supervisor's signals, a rerun after a killed run and a log pipe that closes leave for the next
night and for the monitor that reads the exit status and ``--summary-json``."""
import os

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
