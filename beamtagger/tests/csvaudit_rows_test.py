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


def _refusal(tmp_path, content, **read):
    items, problem, path = _read(tmp_path, content, **read)
    (letter,) = items
    assert (letter.source, letter.stage) == (f"{path}:1", "read")
    assert letter.reason == f"{problem}; none of its rows was read"
    return problem


def test_a_header_naming_the_text_column_with_spaces_or_another_case_says_so(tmp_path):
    # Kaggle's "Text"; "id, text" as a person types a header; a space before the line end.
    assert _refusal(tmp_path, "id, text\n1, hi\n") == (
        "no text column 'text'; its columns are id, ' text' (its column ' text' is not "
        "'text': case and spaces count)")
    assert _refusal(tmp_path, "id,Text\n1,hi\n").endswith(
        "(its column 'Text' is not 'text': case and spaces count)")
    assert _refusal(tmp_path, "text,lang \nhi,en\n", fields=("lang",)) == (
        "no column 'lang' of the fields to carry; its columns are text, 'lang ' (its column "
        "'lang ' is not 'lang': case and spaces count)")


def test_a_header_of_one_column_holding_another_delimiter_names_it(tmp_path):
    assert _refusal(tmp_path, "id;text\n1;hi\n").endswith(
        "(the header is one column holding ';': is that the delimiter, not ','?)")
    assert _refusal(tmp_path, "id,text\n1,hi\n", name="in.tsv", input_format="tsv").endswith(
        "(the header is one column holding ',': is that the delimiter, not '\\t'?)")
    assert _refusal(tmp_path, "id\ttext\n1\thi\n", delimiter="|").endswith(
        "(the header is one column holding '\\t': is that the delimiter, not '|'?)")


def test_excels_sep_line_after_the_first_line_is_named(tmp_path):
    # On the first line it sets the delimiter (csv_sep_line_rows_test).
    _, problem, _ = _read(tmp_path, "\r\nsep=;\r\nid;text\r\n1;hi\r\n", delimiter=";")
    assert problem == (
        "no text column 'text'; its columns are sep= (the line 'sep=;' is Excel's delimiter "
        "line, read as one only as the file's first line: remove the lines before it)")


def test_lines_ended_by_cr_alone_are_named_in_the_header_and_in_a_row(tmp_path):
    cr_lines = ("the file's lines may end in CR alone, as classic Mac OS wrote them (tr '\\r' "
                "'\\n' converts them)")
    assert _refusal(tmp_path, "id,text\r1,hi\r2,yo\r") == (
        f"the header row: not a CSV row: a CR inside an unquoted field; {cr_lines}")
    assert _refusal(tmp_path, "id\ttext\r1\thi\r", name="in.tsv", input_format="tsv").endswith(
        f"(the header holds a CR: {cr_lines})")
    items, _, path = _read(tmp_path, "id,text\n1,a\rb\n2,yo\n")
    assert items[0] == DeadLetter(f"{path}:2", f"not a CSV row: a CR inside an unquoted field; "
                                  f"{cr_lines}", "1,a\rb", "decode")
    assert items[1] == TextRecord("2", "yo", f"{path}:3", None)


def test_a_header_of_many_columns_or_a_long_data_row_is_listed_in_a_line_of_bounded_length(
        tmp_path):
    # 10,000 named columns (a wide export) and a first row that is a paragraph of data: the
    # refusal printed before launch, and the dead letter, held all of it (1.4 MB for 100,000).
    problem = _refusal(tmp_path, ",".join(f"column_{i}" for i in range(10_000)) + "\n1\n")
    assert problem == ("no text column 'text'; its columns are column_0, column_1, column_2, "
                       "column_3, column_4, column_5, column_6, column_7, column_8, column_9, "
                       "... (10,000 columns) (the first row of a CSV or TSV file must name the "
                       "columns)")
    problem = _refusal(tmp_path, "1," + "word " * 1000 + "\n")
    assert problem == ("no text column 'text'; its columns are 1, " + "word " * 19 + "wo... "
                       "(the first row of a CSV or TSV file must name the columns)")
