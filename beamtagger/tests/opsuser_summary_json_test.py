"""tag --summary-json PATH: the summary's counts, files and exit status as JSON for a scheduler,
and never an earlier run's summary left where a failed or refused run would have written."""
import json

from beamtagger.tests.conftest import run_tag_command


def _tag(capsys, tiny_tagger, *args):
    return run_tag_command(capsys, "--model", tiny_tagger.model_dir, "--embeddings",
                           tiny_tagger.store_path, *args)


def test_the_summary_json_holds_the_printed_counts_the_files_and_the_exit_status(
        capsys, tmp_path, tiny_tagger):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_bytes(b"The cat sat .\ncaf\xe9 au lait\nA dog ran .\n")
    summary = tmp_path / "night.json"
    code, out, err = _tag(capsys, tiny_tagger, "--input", str(tmp_path / "in" / "*.txt"),
                          "--output", str(tmp_path / "out" / "run"), "--summary-json",
                          str(summary), "--max-dead-letters", "0")
    assert code == 3, err
    written = json.loads(summary.read_text(encoding="utf-8"))
    # The keys docs/tagging.md gives, in its order: a script reads them by these names.
    assert list(written) == [
        "exit_status", "records_read", "records_tagged", "dead_letters", "unread_parts",
        "tokens", "batched_tokens", "padded_slots", "oov_tokens", "batches", "long_records",
        "chunks", "oov_share", "oov_note", "wall_seconds", "runtime", "results",
        "dead_letter_files", "not_read_from", "threshold"]
    assert written["exit_status"] == 3
    # The printed OOV line's share, and no note (under 100 batched tokens).
    assert written["oov_share"] == round(written["oov_tokens"] / written["batched_tokens"], 4)
    assert f"({written['oov_share']:.1%} of batched tokens)" in out
    assert written["oov_note"] is False
    assert (written["records_read"], written["records_tagged"], written["dead_letters"],
            written["unread_parts"]) == (3, 2, 1, 0)
    assert f"tokens           {written['tokens']:>12,}" in out
    assert written["runtime"] == "numpy" and written["wall_seconds"] > 0
    assert written["results"] == [str(tmp_path / "out" / "run-00000-of-00001.jsonl")]
    assert written["dead_letter_files"] == [
        str(tmp_path / "out" / "run-errors-00000-of-00001.jsonl")]
    assert written["not_read_from"] == []
    assert list(tmp_path.glob("night.json.*")) == []   # no temporary file left


def test_a_run_refused_leaves_no_earlier_summary_behind(capsys, tmp_path, tiny_tagger):
    summary = tmp_path / "night.json"
    summary.write_text('{"exit_status": 0, "records_read": 5}', encoding="utf-8")
    code, _, err = _tag(capsys, tiny_tagger, "--input", str(tmp_path / "none" / "*.txt"),
                        "--output", str(tmp_path / "out" / "run"), "--summary-json",
                        str(summary))
    assert code == 2 and "no input files match" in err
    assert not summary.exists()


def test_a_summary_path_that_cannot_be_written_is_refused_before_launch(
        capsys, tmp_path, tiny_tagger):
    (tmp_path / "a.txt").write_text("The cat sat .\n", encoding="utf-8")
    for path, said in ((tmp_path, "is a folder"), (tmp_path / "no" / "s.json", "no folder")):
        code, out, err = _tag(capsys, tiny_tagger, "--input", str(tmp_path / "a.txt"),
                              "--output", str(tmp_path / "out" / "run"), "--summary-json",
                              str(path))
        assert code == 2 and said in err and "Traceback" not in err
        assert "records read" not in out
    code, _, err = _tag(capsys, tiny_tagger, "--input", str(tmp_path / "a.txt"), "--output",
                        "gs://bucket/run", "--summary-json", str(tmp_path / "s.json"),
                        "--runner=DataflowRunner")
    assert code == 2 and "--summary-json applies to local runs" in err


def test_a_summary_path_that_names_no_file_is_refused_before_launch(capsys, tmp_path,
                                                                     tiny_tagger, monkeypatch):
    # Found by fuzzing (--summary-jso=): '' and a path ending in / passed the checks before
    # launch; the run tagged everything, then failed writing the summary, exit 1.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("The cat sat .\n", encoding="utf-8")
    for path in ("", "reports/"):
        code, out, err = _tag(capsys, tiny_tagger, "--input", "a.txt", "--output", "out/run",
                              "--summary-json", path)
        assert code == 2, err
        assert f"--summary-json {path}: names no file" in err and err.count("\n") == 1, err
        assert "records read" not in out and not (tmp_path / "out").exists()
