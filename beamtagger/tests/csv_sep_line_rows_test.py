"""Excel's ``sep=`` first line in CSV and TSV files (``csv_rows``, no pipeline): it sets a CSV
file's delimiter and is no header and no row, keeping its line number; a line naming no
delimiter, several characters, one that cannot be one, or another than the one given makes the
file one dead letter, which the check before launch (``file_problem``) says too; TSV has none."""
import gzip

import pytest

from beamtagger.transforms.reading.csv_rows import file_problem, read_path_csv_records
from beamtagger.transforms.reading.file_lines import FileLines
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.records import DeadLetter, TextRecord


def _read(tmp_path, content, name="in.csv", input_format="csv", delimiter=None):
    path = tmp_path / name
    path.write_bytes(content)
    items = list(read_path_csv_records(str(path), input_format, RecordLayout(), delimiter))
    problem = file_problem(FileLines(str(path), lambda: open(path, "rb")), input_format,
                           RecordLayout(), delimiter)
    return items, problem, path


@pytest.mark.parametrize("content", [
    b"sep=;\nid;text\n1;a,b\n\n2;c\n",
    b"SEP=;\r\nid;text\r\n1;a,b\r\n\r\n2;c\r\n",        # Excel's CRLF, "sep" in any case
    b"\xef\xbb\xbfsep=;\r\nid;text\r\n1;a,b\r\n\r\n2;c\r\n",  # after "CSV UTF-8"'s BOM
])
def test_a_first_sep_line_sets_the_delimiter_and_keeps_its_line_number(tmp_path, content):
    items, problem, path = _read(tmp_path, content)
    assert problem is None
    assert items == [TextRecord("1", "a,b", f"{path}:3", None),
                     TextRecord("2", "c", f"{path}:5", None)]


def test_a_tab_or_the_delimiter_given_agrees_and_ids_and_dead_letters_count_the_line(
        tmp_path):
    items, problem, path = _read(tmp_path, b'sep=\t\ntext\tn\n"a\tb"\t1\nx\t2\t3\nc\t4\n')
    assert problem is None
    assert items == [TextRecord("in.csv:3", "a\tb", f"{path}:3", {"n": "1"}),
                     DeadLetter(f"{path}:4", "expected 2 cells (the header's columns), got 3",
                                "x\t2\t3", "decode"),
                     TextRecord("in.csv:5", "c", f"{path}:5", {"n": "4"})]
    items, problem, _ = _read(tmp_path, b"sep=|\ntext\nhi\n", delimiter="|")
    assert problem is None and [item.text for item in items] == ["hi"]


@pytest.mark.parametrize("content,given,reason", [
    (b"sep=;\nid;text\n1;hi\n", ",", "its first line 'sep=;' is Excel's delimiter line naming "
     "';', where the delimiter ',' was given: give none (the line sets the file's), or remove "
     "the line"),
    (b"sep=\r\nid;text\r\n1;hi\r\n", None, "its first line 'sep=' is Excel's delimiter line "
     "naming no delimiter"),
    (b"sep=ab\nid;text\n", None, "its first line 'sep=ab' is Excel's delimiter line naming 2 "
     "characters, where a delimiter is one"),
    (b"sep=\\t\ntext\tn\n", None, "its first line 'sep=\\\\t' is Excel's delimiter line naming "
     "the two characters '\\t': a tab delimiter is written as the tab character itself (sep= "
     "and a tab)"),
    (b'sep="\nid"text\n', None, "its first line 'sep=\"' is Excel's delimiter line, but '\"' "
     "cannot be a delimiter (quotes, line ends, letters and digits)"),
    (b"sep=;\rid;text\r1;hi\r", None, "its first line 'sep=;\\rid;text\\r1;hi' holds a CR: the "
     "file's lines may end in CR alone, as classic Mac OS wrote them (tr '\\r' '\\n' converts "
     "them)"),
    # The reason bounded however long the line: a file's one line may be its whole length.
    (b"sep=" + b"x" * 100_000 + b"\n", None, "its first line 'sep=" + "x" * 33 + "...' is "
     "Excel's delimiter line naming 100,000 characters, where a delimiter is one"),
    # The dead letter's line without the byte-order mark, as a row's.
    (b"\xef\xbb\xbfsep=\r\nid;text\r\n", None, "its first line 'sep=' is Excel's delimiter line "
     "naming no delimiter"),
])
def test_a_sep_line_that_sets_no_delimiter_makes_the_file_one_dead_letter(tmp_path, content,
                                                                          given, reason):
    items, problem, path = _read(tmp_path, content, delimiter=given)
    assert problem == reason
    (letter,) = items
    assert letter == DeadLetter(f"{path}:1", f"{reason}; none of its rows was read",
                                content.split(b"\n")[0].decode("utf-8-sig").rstrip("\r"),
                                "read")


def test_tsv_has_no_sep_line_and_a_file_of_one_is_empty(tmp_path):
    # A sep= line after the first line: csvaudit_rows_test.
    _, problem, _ = _read(tmp_path, b"sep=\t\ntext\nhi\n", name="in.tsv", input_format="tsv")
    assert problem == (
        "no text column 'text'; its columns are sep= (the line 'sep=\\t' is Excel's delimiter "
        "line, which TSV files do not have: remove it, or read the file as CSV, whose first such "
        "line sets the delimiter)")
    items, problem, _ = _read(tmp_path, b"sep=;\r\n")
    assert (items, problem) == ([], None)


def test_a_quoted_sep_line_is_named_in_the_refusal_of_its_header(tmp_path):
    _, problem, _ = _read(tmp_path, b'"sep=;"\nid;text\n1;hi\n', delimiter=";")
    assert problem == (
        "no text column 'text'; its columns are sep=; (the line '\"sep=;\"' is Excel's "
        "delimiter line in quotes, read as one only without them: remove the quotes)")


# mtime=0: gzip stamps the time of compression, and xdist's workers, collecting at different
# seconds, refused tests whose parameters differed between them.
@pytest.mark.parametrize("name,content,encoding", [
    ("in.csv.gz", gzip.compress(b"sep=;\n\nid;text\n1;caf\xc3\xa9,b\n", mtime=0), "utf-8"),
    ("in.csv", "sep=;\r\n\r\nid;text\r\n1;café,b\r\n".encode("utf-16"), "utf-16"),
    ("in.csv", "sep=;\r\n\r\nid;text\r\n1;café,b\r\n".encode("cp1252"), "cp1252"),
], ids=["gzip", "utf-16", "cp1252"])
def test_a_sep_line_is_read_in_compressed_files_and_other_encodings(tmp_path, name, content,
                                                                    encoding):
    # A blank line between the sep= line and the header: the header is line 3.
    path = tmp_path / name
    path.write_bytes(content)
    layout = RecordLayout(encoding=encoding)
    assert list(read_path_csv_records(str(path), "csv", layout)) == [
        TextRecord("1", "café,b", f"{path}:4", None)]
    assert file_problem(FileLines(str(path), lambda: open(path, "rb"), encoding), "csv",
                        layout) is None
