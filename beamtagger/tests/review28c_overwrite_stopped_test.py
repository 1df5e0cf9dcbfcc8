"""``tag --overwrite`` stopped by a signal while it sets the earlier run's files aside, or once
its own files are published (review of session 28's operator fixes)."""
import os

from beamtagger.pipeline import tag_outputs
from beamtagger.tests.conftest import run_tag_command

_EARLIER = {"run-00000-of-00001.jsonl": '{"id": "earlier"}\n',
            "run-errors-00000-of-00001.jsonl": ""}


def _earlier_run(out_dir):
    out_dir.mkdir()
    for name, text in _EARLIER.items():
        (out_dir / name).write_text(text)


def test_a_stop_while_the_earlier_files_are_set_aside_puts_back_those_moved(
        tiny_tagger, text_in, tmp_path, capsys, monkeypatch):
    # On gs:// each file is a copy and a delete: a SIGTERM there left some of the earlier
    # files in .run.tag-replaced and the others at the prefix, and the next run called the
    # latter the killed run's own and said to delete the folder that held the former.
    out_dir = tmp_path / "out"
    _earlier_run(out_dir)
    moved = tag_outputs._moved

    def stopped_after_the_first(paths, folder):
        if os.path.basename(folder) != ".run.tag-replaced":   # putting back: as it is
            return moved(paths, folder)
        moved(list(paths)[:1], folder)
        raise KeyboardInterrupt   # as the signal handler raises it (cli._terminate_as_interrupt)

    monkeypatch.setattr(tag_outputs, "_moved", stopped_after_the_first)
    code, _, err = run_tag_command(capsys, "--model", tiny_tagger.model_dir, "--embeddings",
                                   tiny_tagger.store_path, "--input", str(text_in), "--output",
                                   str(out_dir / "run"), "--overwrite")
    assert code == 130 and err.strip() == "beamtagger: interrupted", (code, err)
    assert {path.name: path.read_text() for path in out_dir.iterdir()} == _EARLIER


def test_a_stop_while_the_summary_prints_leaves_the_run_s_status_and_summary_json(
        tiny_tagger, text_in, tmp_path, capsys, monkeypatch):
    # SIGHUP in a long --print-results listing (reproduced: a terminal's reader blocked, then
    # kill -HUP): exit 129, 'none of this run's files kept' by tagging.md's list, where every
    # file was published, whole, and no --summary-json for the night's counts.
    import json

    def stopped(*_):
        raise KeyboardInterrupt   # as the signal handler raises it (cli._terminate_as_interrupt)

    monkeypatch.setattr(tag_outputs, "print_results", stopped)
    night = tmp_path / "night.json"
    code, out, err = run_tag_command(capsys, "--model", tiny_tagger.model_dir, "--embeddings",
                                     tiny_tagger.store_path, "--input", str(text_in), "--output",
                                     str(tmp_path / "out" / "run"), "--print-results",
                                     "--summary-json", str(night))
    assert code == 0 and out == "", (code, out)
    assert err.strip().splitlines() == [
        "beamtagger tag: stopped while the summary was printed, after the run was done: its "
        "files are published, the rest of the summary not printed"]
    summary = json.loads(night.read_text())
    assert (summary["exit_status"], summary["records_read"]) == (0, 2)
    assert sorted(os.listdir(tmp_path / "out")) == ["run-00000-of-00001.jsonl",
                                                    "run-errors-00000-of-00001.jsonl"]


class _ReaderGone:
    """Standard output whose reader has closed the pipe (`tag ... | true`)."""
    encoding, errors = "utf-8", "strict"

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self):
        raise OSError("no descriptor")


def test_a_reader_of_standard_output_gone_before_launch_costs_the_printed_lines_only(
        tiny_tagger, text_in, tmp_path, monkeypatch):
    # Without --runtime the run's first line (the runtime chosen) is printed before launch:
    # a reader gone by then (`| true`, a logger dead at its start) ended the run there, exit
    # 141, nothing tagged and no --summary-json, a status tagging.md's list gives --output -.
    from beamtagger.pipeline import cli

    monkeypatch.setattr("sys.stdout", _ReaderGone())
    night = tmp_path / "night.json"
    code = cli.main(["tag", "--progress-every", "0", "--model", tiny_tagger.model_dir,
                     "--embeddings", tiny_tagger.store_path, "--input", str(text_in),
                     "--output", str(tmp_path / "out" / "run"), "--summary-json", str(night)])
    assert code == 0 and night.exists()
    assert sorted(os.listdir(tmp_path / "out")) == ["run-00000-of-00001.jsonl",
                                                    "run-errors-00000-of-00001.jsonl"]
