"""``beamtagger tag`` on hostile CSV and TSV files end to end: a TSV line over MAX_ROW_CHARS
costs its row (the job failed), and a header with the delimiter of another locale is refused
before launch in one line that names it."""
import glob

from beamtagger.tests.conftest import run_tag_command as tag
from beamtagger.tests.tag_pipeline_test import read_jsonl
from beamtagger.transforms.reading import csv_rows


def _run(capsys, tiny_tagger, source, prefix, *more):
    return tag(capsys, "--input", str(source), "--output", str(prefix), "--model",
               tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path, *more)


def test_a_tsv_line_over_max_row_chars_is_a_dead_letter_of_a_run_that_ends(
        tiny_tagger, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(csv_rows, "MAX_ROW_CHARS", 50)
    source = tmp_path / "long.tsv"
    source.write_text("id\ttext\na\t" + "word " * 20 + "\nb\tThe cat sat .\n", encoding="utf-8")
    code, out, err = _run(capsys, tiny_tagger, source, tmp_path / "t")
    assert code == 0, err
    assert [row["id"] for row in read_jsonl(str(tmp_path / "t") + "-[0-9]*.jsonl")] == ["b"]
    (letter,) = read_jsonl(str(tmp_path / "t") + "-errors-*.jsonl")
    assert letter["source"] == f"{source}:2", letter
    assert (letter["stage"], letter["reason"]) == ("decode",
                                                   "the row holds more than 50 characters")


def test_a_header_in_another_delimiter_is_refused_naming_it(tiny_tagger, tmp_path, capsys):
    source = tmp_path / "excel.csv"
    source.write_text("id;text\r\n1;The cat sat .\r\n", encoding="utf-8")
    code, _, err = _run(capsys, tiny_tagger, source, tmp_path / "out" / "r")
    assert code == 2, err
    (line,) = err.strip().splitlines()
    assert line.endswith(f"--input {source}: no text column 'text'; its columns are id;text "
                         "(the header is one column holding ';': is that the delimiter, not "
                         "','?)"), line
    assert not glob.glob(str(tmp_path / "out" / "r*"))
