"""parquet_rows: one record or dead letter a row, ids, carried columns, and every file or row
that cannot be read named (no Beam pipeline)."""
import datetime
import decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beamtagger.transforms.reading.parquet_rows import (RowGroup, file_problem,
                                                         row_group_records, row_groups)
from beamtagger.transforms.records import DeadLetter, TextRecord


def read_all(path, text_field="text", id_field="id"):
    items = []
    for group in row_groups(str(path), text_field):
        items.extend([group] if isinstance(group, DeadLetter)
                     else row_group_records(group, text_field, id_field))
    return items


def test_rows_become_records_with_their_id_or_file_and_row_and_carry_the_other_columns(tmp_path):
    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({
        "id": ["a", None, "c", "d", "e"],
        "text": ["Hello world", "second", "third", "fourth", "fifth"],
        "lang": pa.array(["en", "fr", "en", None, "de"]).dictionary_encode(),
        "n": [1, 2, 3, 4, 5],
        "tags": [["x"], [], None, ["y", "z"], ["w"]],
        "meta": [{"k": 1.5}, {"k": None}, None, {"k": 2.0}, {"k": 0.0}],
    }), path, row_group_size=2)
    items = read_all(path)
    assert [item.id for item in items] == ["a", "docs.parquet:2", "c", "d", "e"]
    assert [item.source for item in items] == [f"{path}:{row}" for row in range(1, 6)]
    assert items[0] == TextRecord("a", "Hello world", f"{path}:1",
                                  {"lang": "en", "n": 1, "tags": ["x"], "meta": {"k": 1.5}})
    assert items[3].fields == {"lang": None, "n": 4, "tags": ["y", "z"], "meta": {"k": 2.0}}


def test_ids_that_are_not_strings_are_their_json_text_and_no_id_column_means_file_and_row(
        tmp_path):
    with_ids = tmp_path / "numbered.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "doc": [7, None]}), with_ids)
    assert [item.id for item in read_all(with_ids, id_field="doc")] == ["7", "numbered.parquet:2"]
    assert read_all(with_ids, id_field="doc")[0].fields is None
    without = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"text": ["a", "b"]}), without)
    assert [item.id for item in read_all(without)] == ["plain.parquet:1", "plain.parquet:2"]


@pytest.mark.parametrize("text_type", [pa.string(), pa.large_string(), pa.binary(),
                                       pa.large_binary(), pa.dictionary(pa.int32(), pa.string())])
def test_every_string_type_and_utf8_binary_is_text(tmp_path, text_type):
    path = tmp_path / "t.parquet"
    values = pa.array(["café", "naïve"]).cast(text_type)
    pq.write_table(pa.table({"text": values}), path)
    assert [item.text for item in read_all(path)] == ["café", "naïve"]


def test_values_json_cannot_hold_are_carried_as_text_and_maps_as_key_value_lists(tmp_path):
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table({
        "text": ["x"],
        "when": pa.array([datetime.datetime(2026, 12, 6, 10, 30)], pa.timestamp("us")),
        "zoned": pa.array([datetime.datetime(2026, 12, 6, 10, 30, tzinfo=datetime.timezone.utc)],
                          pa.timestamp("ns", tz="UTC")),
        "day": pa.array([datetime.date(2026, 12, 6)], pa.date32()),
        "price": pa.array([decimal.Decimal("12.50")], pa.decimal128(6, 2)),
        "blob": pa.array([b"utf-8 bytes"], pa.binary()),
        "attrs": pa.array([[("a", 1), ("b", 2)]], pa.map_(pa.string(), pa.int64())),
        "stamps": pa.array([[datetime.date(2026, 1, 1)]], pa.list_(pa.date32())),
        "meta": pa.array([{"day": datetime.date(2026, 1, 2), "blob": b"b"}],
                         pa.struct([("day", pa.date32()), ("blob", pa.binary())])),
    }), path)
    (record,) = read_all(path)
    assert record.fields == {"when": "2026-12-06T10:30:00", "zoned": "2026-12-06T10:30:00+00:00",
                             "day": "2026-12-06", "price": "12.50", "blob": "utf-8 bytes",
                             "attrs": [["a", 1], ["b", 2]], "stamps": ["2026-01-01"],
                             "meta": {"day": "2026-01-02", "blob": "b"}}


def test_null_text_and_bytes_that_are_not_utf8_cost_their_row_alone(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({
        "text": pa.array([b"ok", None, b"caf\xe9", b"fine"], pa.binary()),
        "note": pa.array([b"a", b"b", b"c", b"\xff"], pa.binary()),
        "nested": pa.array([[b"x"], [b"y"], [b"z"], [b"w"]], pa.list_(pa.binary())),
    }), path)
    items = read_all(path)
    assert [type(item) for item in items] == [TextRecord, DeadLetter, DeadLetter, DeadLetter]
    assert items[0].fields == {"note": "a", "nested": ["x"]}
    assert items[1] == DeadLetter(f"{path}:2", "text column 'text' is null", "", "decode")
    assert items[2] == DeadLetter(f"{path}:3", "text column 'text': not valid UTF-8 (byte 3: "
                                  "b'\\xe9')", "caf\\xe9", "decode")
    assert items[3] == DeadLetter(f"{path}:4", "column 'note': not valid UTF-8 (byte 0: "
                                  "b'\\xff')", "fine", "decode")


def test_a_non_utf8_value_inside_a_list_column_is_its_rows_dead_letter(tmp_path):
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"text": ["a", "b"],
                             "parts": pa.array([[b"ok"], [b"x", b"\xfe"]], pa.list_(pa.binary()))}),
                   path)
    items = read_all(path)
    assert items[0].fields == {"parts": ["ok"]}
    assert items[1].reason == "column 'parts': not valid UTF-8 (byte 0: b'\\xfe')"


def test_files_whose_rows_cannot_be_read_are_one_dead_letter_naming_the_file(tmp_path):
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.table({"text": ["a"] * 10}), whole)
    cases = {"not.parquet": b'{"text": "json, not parquet"}\n',
             "empty.parquet": b"",
             "cut.parquet": whole.read_bytes()[:-30]}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        (letter,) = read_all(path)
        assert letter.source == str(path) and letter.stage == "read", letter
        assert letter.reason.startswith("not a readable Parquet file (")
        assert letter.reason.endswith("; none of its rows was read")
        assert file_problem(str(path), "text").startswith("not a readable Parquet file")
        if name == "empty.parquet":
            assert "0 bytes" in letter.reason


def test_a_missing_or_non_text_column_and_repeated_names_are_refused_naming_the_columns(
        tmp_path):
    path = tmp_path / "cols.parquet"
    pq.write_table(pa.table({"body": ["a"], "count": [3]}), path)
    assert file_problem(str(path), "text") == "no text column 'text'; its columns are body, count"
    assert file_problem(str(path), "count") == (
        "text column 'count' is int64, not text (string, large_string, dictionary-encoded "
        "strings, or binary holding UTF-8)")
    assert file_problem(str(path), "body") is None
    (letter,) = read_all(path)
    assert letter.reason == ("no text column 'text'; its columns are body, count; none of its "
                             "rows was read")
    repeated = tmp_path / "repeated.parquet"
    schema = pa.schema([("text", pa.string()), ("n", pa.int64()), ("n", pa.string())])
    pq.write_table(pa.table([pa.array(["a"]), pa.array([1]), pa.array(["1"])], schema=schema),
                   repeated)
    assert file_problem(str(repeated), "text") == (
        "column names must be unique (each becomes a field of the record), but 'n' appears "
        "more than once")


def test_beamtaggers_own_parquet_output_is_named_as_such(tmp_path):
    from beamtagger.transforms.write_results import RESULT_SCHEMA

    path = tmp_path / "run-00000-of-00001.parquet"
    pq.write_table(RESULT_SCHEMA.empty_table(), path)
    assert file_problem(str(path), "text") == (
        "no text column 'text'; its columns are id, tokens, fields (beamtagger's own tagged "
        "output: its tokens are tagged already, there is no text to tag)")
    assert "text column 'tokens' is list<" in file_problem(str(path), "tokens")


def test_zero_rows_and_empty_row_groups_give_nothing(tmp_path):
    path = tmp_path / "none.parquet"
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), path)
    assert read_all(path) == [] and file_problem(str(path), "text") is None


def test_a_damaged_row_group_is_one_dead_letter_for_the_rows_it_did_not_give(tmp_path):
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.table({"text": [f"row {i}" for i in range(1, 11)]}), whole,
                   row_group_size=4)
    damaged = bytearray(whole.read_bytes())
    page = pq.ParquetFile(whole).metadata.row_group(1).column(0).data_page_offset
    damaged[page:page + 16] = b"\xff" * 16
    path = tmp_path / "damaged.parquet"
    path.write_bytes(bytes(damaged))
    items = read_all(path)
    assert [item.text for item in items[:4]] == ["row 1", "row 2", "row 3", "row 4"]
    assert items[4].source == f"{path}:5" and items[4].stage == "read"
    assert items[4].reason.startswith("the file cannot be read from row 5 on (row group 1): ")
    assert items[4].reason.endswith("; its rows 5 to 8 were not read")
    assert [item.text for item in items[5:]] == ["row 9", "row 10"]


@pytest.mark.parametrize("read, fails", [
    (lambda path: file_problem(path, "text"), "open"),
    (lambda path: list(row_groups(path, "text")), "open"),
    (lambda path: list(row_group_records(RowGroup(path, 0, 1, 2), "text")), "open"),
    (lambda path: read_all(path), "iter_batches"),
])
def test_running_out_of_open_files_fails_the_read_not_the_file(tmp_path, monkeypatch, read,
                                                                fails):
    """EMFILE is a limit of the machine, not damage to this file: as for text input
    (file_lines.FileLines), it fails the run, where a dead letter would call the file
    unreadable in a run that exits 0."""
    import errno

    from beamtagger.transforms.reading import parquet_rows

    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"text": ["Hello world", "second"]}), path)

    def no_descriptor_left(*args, **kwargs):
        raise OSError(errno.EMFILE, "Too many open files")

    if fails == "open":
        monkeypatch.setattr(parquet_rows.FileSystems, "open", no_descriptor_left)
    else:
        monkeypatch.setattr(pq.ParquetFile, "iter_batches", no_descriptor_left)
    with pytest.raises(OSError) as raised:
        read(str(path))
    assert raised.value.errno == errno.EMFILE


@pytest.mark.parametrize("names, listed", [
    ([], "none"),
    (["a" * 100, "b" * 101], "a" * 100 + ", " + "b" * 97 + "..."),   # cut past 100 characters
    ([" x", "a\nb", "ok"], "' x', 'a\\nb', ok"),   # quoted where the name would not show
    ([f"c{i}" for i in range(10)], ", ".join(f"c{i}" for i in range(10))),
    ([f"c{i}" for i in range(11)], ", ".join(f"c{i}" for i in range(10)) + ", ... (11 columns)"),
])
def test_a_refusal_lists_the_columns_shortly_and_visibly(names, listed):
    from beamtagger.transforms.reading.parquet_rows import schema_problem

    schema = pa.schema([(name, pa.string()) for name in names])
    assert schema_problem(schema, "text") == f"no text column 'text'; its columns are {listed}"
