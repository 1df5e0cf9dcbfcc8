"""CSV and TSV rows -> records and dead letters (``csv_rows``, no pipeline): RFC 4180 quoting,
ids from the line where a row starts, and every unhappy path costing its own row only: cell
counts, unclosed quotes, long rows, bad bytes, other encodings, damaged compression, headers
that cannot be read."""
import gzip

import pytest

from beamtagger.transforms.reading import csv_rows
from beamtagger.transforms.reading.csv_rows import (delimiter_problem, file_problem,
                                                    read_path_csv_records)
from beamtagger.transforms.reading.file_lines import FileLines
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.records import DeadLetter, TextRecord


def _read(tmp_path, content, name="in.csv", input_format="csv", **layout):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    delimiter = layout.pop("delimiter", None)
    return list(read_path_csv_records(str(path), input_format, RecordLayout(**layout),
                                      delimiter)), path


def _problem(path, input_format="csv", **layout):
    lines = FileLines(str(path), lambda: open(path, "rb"))
    return file_problem(lines, input_format, RecordLayout(**layout))


def test_quoted_fields_crlf_and_a_byte_order_mark_are_read_ids_naming_the_start_line(tmp_path):
    content = ('\ufeffid,text,lang\r\n'
               'a1,"Hello, ""world""",en\r\n'
               ',"two\r\nlines",de\r\n'
               '\r\n'
               'a4,,\r\n'
               'a5,plain,fr\r\n')
    items, path = _read(tmp_path, content)
    assert items == [
        TextRecord("a1", 'Hello, "world"', f"{path}:2", {"lang": "en"}),
        TextRecord("in.csv:3", "two\r\nlines", f"{path}:3", {"lang": "de"}),
        TextRecord("a4", "", f"{path}:6", {"lang": ""}),
        TextRecord("a5", "plain", f"{path}:7", {"lang": "fr"})]


def test_a_row_of_more_or_fewer_cells_is_its_own_dead_letter(tmp_path):
    items, path = _read(tmp_path, "id,text\n1,one\n2,two,extra\n3\n4,four\n")
    assert [item.id for item in items if isinstance(item, TextRecord)] == ["1", "4"]
    more, fewer = [item for item in items if isinstance(item, DeadLetter)]
    assert more == DeadLetter(f"{path}:3", "expected 2 cells (the header's columns), got 3",
                              "2,two,extra", "decode")
    assert fewer.source == f"{path}:4" and fewer.reason.endswith("got 1")


def test_a_quote_never_closed_names_its_line_and_the_rows_after_it_are_read(tmp_path):
    items, path = _read(tmp_path, 'id,text\n1,"never closed\n2,two\n3,three\n')
    letter, *records = items
    assert letter.source == f"{path}:2" and letter.stage == "decode"
    assert letter.reason == ("a quoted field is never closed: the row runs to the end of the "
                             "file, over the 3 lines 2 to 4; the lines after line 2 are read "
                             "as rows again")
    assert [(record.id, record.text) for record in records] == [("2", "two"), ("3", "three")]


def test_a_stray_quote_closed_lines_later_by_no_field_end_is_read_again(tmp_path):
    items, path = _read(tmp_path, 'id,text\n1,"stray\n2,two\n3,"a"b\n4,four\n')
    assert [(type(item).__name__, item.source) for item in items] == [
        ("DeadLetter", f"{path}:2"), ("TextRecord", f"{path}:3"), ("DeadLetter", f"{path}:4"),
        ("TextRecord", f"{path}:5")]
    assert "over the 3 lines 2 to 4" in items[0].reason
    assert items[2].reason == "not a CSV row: ',' expected after '\"'"


def test_rows_longer_than_max_row_chars_are_dead_letters_and_fields_past_csvs_limit_read(
        tmp_path, monkeypatch):
    long_text = "word " * 40_000   # 200,000 characters: over csv's default field limit
    items, _ = _read(tmp_path, f'text\n"{long_text}"\nnext\n')
    assert [item.text for item in items] == [long_text, "next"]
    monkeypatch.setattr(csv_rows, "MAX_ROW_CHARS", 50)
    items, path = _read(tmp_path, "text\n" + "x" * 60 + '\n"opened\n' + "y\n" * 60 + "z\n")
    too_long, unclosed, *rest = items
    assert too_long.source == f"{path}:2" and too_long.reason == (
        "the row holds more than 50 characters")
    assert unclosed.source == f"{path}:3" and unclosed.reason.startswith(
        "a quoted field is not closed within 50 characters, over the 23 lines 3 to 25")
    assert [record.text for record in rest] == ["y"] * 60 + ["z"]


def test_bad_utf8_and_nul_bytes_cost_their_row_only(tmp_path):
    items, path = _read(tmp_path, b"text,n\ncaf\xe9,1\nok,2\nnul\x00here,3\n")
    bad, good, nul = items
    assert bad == DeadLetter(f"{path}:2", "line 2: not valid UTF-8 (byte 3: b'\\xe9')",
                             "caf\\xe9,1", "decode")
    assert good == TextRecord("in.csv:3", "ok", f"{path}:3", {"n": "2"})
    assert nul.source == f"{path}:4" and "holds a NUL byte" in nul.reason


def test_a_utf16_file_is_one_dead_letter_and_refused_with_the_conversion(tmp_path):
    items, path = _read(tmp_path, "text\nhello\n".encode("utf-16"))
    (letter,) = items
    assert letter.source == f"{path}:1" and "iconv -f UTF-16 -t UTF-8" in letter.reason
    assert "iconv -f UTF-16 -t UTF-8" in _problem(path)


@pytest.mark.parametrize("content", ["", "\n\n", "id,text\n", "id,text\r\n\r\n"])
def test_an_empty_or_header_only_file_has_no_records_and_no_problem(tmp_path, content):
    items, path = _read(tmp_path, content)
    assert items == [] and _problem(path) is None


def test_a_header_that_is_a_data_row_or_repeats_a_name_is_the_files_one_dead_letter(tmp_path):
    items, path = _read(tmp_path, "1,The cat sat .,NOUN\n2,Dogs bark .,VERB\n")
    (letter,) = items
    assert letter == DeadLetter(
        f"{path}:1", "no text column 'text'; its columns are 1, The cat sat ., NOUN (the first "
        "row of a CSV or TSV file must name the columns); none of its rows was read",
        "1,The cat sat .,NOUN", "read")
    assert _problem(path).startswith("no text column 'text'; its columns are 1, The cat")
    items, path = _read(tmp_path, "text,a,a\nx,1,2\n", name="twice.csv")
    assert [item.stage for item in items] == ["read"]
    assert "'a' appears more than once" in _problem(path)
    # Named only where carried: with --fields leaving 'a' out, the file is read.
    items, _ = _read(tmp_path, "text,a,a,b\nx,1,2,3\n", name="named.csv", fields=("b",))
    assert items == [TextRecord("named.csv:2", "x", f"{tmp_path / 'named.csv'}:2", {"b": "3"})]


def test_columns_with_empty_names_are_not_carried(tmp_path):
    # pandas' to_csv writes its index as a first column with an empty name.
    items, path = _read(tmp_path, ",text,,lang\n0,hi,z,en\n")
    assert items == [TextRecord("in.csv:2", "hi", f"{path}:2", {"lang": "en"})]


def test_fields_pick_columns_in_order_and_a_missing_one_is_refused(tmp_path):
    items, path = _read(tmp_path, "doc,body,a,b\nd1,hi,1,2\n", text_field="body",
                        id_field="doc", fields=("b", "a"))
    (record,) = items
    assert record.id == "d1" and list(record.fields.items()) == [("b", "2"), ("a", "1")]
    assert _problem(path, text_field="body", fields=("c",)) == (
        "no column 'c' of the fields to carry; its columns are doc, body, a, b")


def test_default_ids_name_the_file_from_the_patterns_folder(tmp_path):
    (tmp_path / "2024").mkdir()
    items, _ = _read(tmp_path, "text\nhi\n", name="2024/part-0.csv",
                     id_folder=f"{tmp_path}/")
    assert [item.id for item in items] == ["2024/part-0.csv:2"]


@pytest.mark.parametrize("input_format, content", [("csv", "text,n\nhi,1\n"),
                                                   ("tsv", "text\tn\nhi\t1\n")])
def test_the_text_column_named_as_the_id_gives_default_ids(tmp_path, input_format, content):
    # As JSON Lines and Parquet: the text is never also the record's id.
    items, path = _read(tmp_path, content, name=f"in.{input_format}",
                        input_format=input_format, id_field="text")
    assert items == [TextRecord(f"in.{input_format}:2", "hi", f"{path}:2", {"n": "1"})]


def test_a_truncated_gzip_keeps_the_rows_before_the_cut_and_names_the_line(tmp_path):
    rows = "".join(f'{n},"row {n}\nof two lines"\n' for n in range(1, 4000))
    whole = gzip.compress(("id,text\n" + rows).encode())
    items, path = _read(tmp_path, whole[:len(whole) // 2], name="cut.csv.gz")
    *records, letter = items
    assert records and all(isinstance(record, TextRecord) for record in records)
    assert [record.id for record in records] == [str(n) for n in range(1, len(records) + 1)]
    assert letter.stage == "read" and "the file is damaged after line" in letter.reason
    # The row cut in the middle is in the dead letter, not tagged half.
    next_row = 2 * len(records) + 2
    assert letter.record in ("", f'{len(records) + 1},"row {len(records) + 1}')
    assert letter.source == f"{path}:{next_row + bool(letter.record)}", letter


def test_tsv_reads_quotes_as_text_one_row_a_line(tmp_path):
    items, path = _read(tmp_path, 'id\ttext\n1\t"Quoted," he said\n2\tsecond "x\n3\tfew\tmore\n',
                        name="in.tsv", input_format="tsv")
    assert [(item.id, item.text) for item in items[:2]] == [("1", '"Quoted," he said'),
                                                           ("2", 'second "x')]
    assert items[2].source == f"{path}:4" and items[2].reason.endswith("got 3")


def test_a_semicolon_delimiter_and_the_delimiters_refused(tmp_path):
    items, _ = _read(tmp_path, 'text;n\n"a; b";1\n', delimiter=";")
    assert [(item.text, item.fields) for item in items] == [("a; b", {"n": "1"})]
    assert delimiter_problem("csv", None) is None and delimiter_problem("csv", "\t") is None
    assert "one character" in delimiter_problem("csv", ";;")
    assert "cannot be a delimiter" in delimiter_problem("csv", '"')
    assert "csv input only" in delimiter_problem("tsv", ";")
