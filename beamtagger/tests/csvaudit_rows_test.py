"""CSV and TSV input against hostile files (``csv_rows``, no pipeline): what an audit of the
reader found, each pinned where it failed: a TSV line over MAX_ROW_CHARS, headers that name the
text column in a way a person misreads (spaces, case, another delimiter, Excel's ``sep=``
line, lines ended by CR alone)."""
from beamtagger.transforms.reading import csv_rows
from beamtagger.transforms.reading.csv_rows import file_problem, read_path_csv_records
from beamtagger.transforms.reading.file_lines import FileLines
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.records import DeadLetter, TextRecord


def _read(tmp_path, content, name="in.csv", input_format="csv", delimiter=None, **layout):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    items = list(read_path_csv_records(str(path), input_format, RecordLayout(**layout),
                                       delimiter))
    problem = file_problem(FileLines(str(path), lambda: open(path, "rb")), input_format,
                           RecordLayout(**layout), delimiter)
    return items, problem, path


def test_a_tsv_line_over_max_row_chars_is_its_dead_letter_and_the_lines_after_are_read(
        tmp_path, monkeypatch):
    monkeypatch.setattr(csv_rows, "MAX_ROW_CHARS", 50)
    items, problem, path = _read(tmp_path, "id\ttext\n1\t" + "x" * 60 + "\n2\tok\n",
                                 name="in.tsv", input_format="tsv")
    assert problem is None
    assert items == [DeadLetter(f"{path}:2", "the row holds more than 50 characters",
                                "1\t" + "x" * 60, "decode"),
                     TextRecord("2", "ok", f"{path}:3", None)]
    items, problem, path = _read(tmp_path, "text" + "\tx" * 30 + "\nok\n", name="head.tsv",
                                 input_format="tsv")
    assert problem == "the header row: the row holds more than 50 characters"
    assert [(item.source, item.stage) for item in items] == [(f"{path}:1", "read")]
