"""A stop (Ctrl-C, SIGTERM) that comes once a run's files are published, outside the summary's
printing: the run is done, so its status and --summary-json are its own, as docs/tagging.md
says of a stop after publishing. Found by the loop of "A large collection in parts": Ctrl-C
20-50 ms after the errors file was renamed into place exited 130 ('none of this run's files
kept') with every file kept and no summary, or 130 with the summary written (exit_status 0)."""
import json
import os
import signal

import pytest

from beamtagger.pipeline import summary_json, tag_summary
from beamtagger.tests.conftest import run_tag_command


@pytest.mark.parametrize("when", ["before its counts are read", "after its summary is written"])
def test_a_stop_once_the_files_are_published_leaves_the_runs_status_and_summary(
        tiny_tagger, text_in, tmp_path, capsys, monkeypatch, request, when):
    if when == "before its counts are read":
        # Python's handler, as in a terminal: a suite started in the background of a
        # non-interactive shell (`pytest ... &` in a script) inherits SIGINT ignored, which tag
        # leaves alone, and the Ctrl-C below was never heard.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))
        outcome = tag_summary.read_outcome

        def stopped_then_outcome(*args):
            os.kill(os.getpid(), signal.SIGINT)   # Ctrl-C, as the run's files are published
            return outcome(*args)

        monkeypatch.setattr(tag_summary, "read_outcome", stopped_then_outcome)
    else:
        write_summary = summary_json.write_summary

        def written_then_stopped(*args):
            write_summary(*args)
            os.kill(os.getpid(), signal.SIGTERM)   # as the output's lock is let go

        monkeypatch.setattr(summary_json, "write_summary", written_then_stopped)
    out = tmp_path / "out"
    code, _, err = run_tag_command(
        capsys, "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
        "--input", str(text_in), "--output", str(out / "run"),
        "--summary-json", str(tmp_path / "summary.json"))
    assert code == 0, err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["exit_status"], summary["records_tagged"]) == (0, 2)
    assert sorted(os.listdir(out)) == ["run-00000-of-00001.jsonl",
                                       "run-errors-00000-of-00001.jsonl"]
    assert len((out / "run-00000-of-00001.jsonl").read_text().splitlines()) == 2
    assert err.strip().splitlines()[-1].startswith(
        "beamtagger tag: stopped after the run was done: its files are published"), err
