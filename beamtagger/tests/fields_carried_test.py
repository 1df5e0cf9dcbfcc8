"""``tag --fields`` / ``ReadRecords(fields=...)``: only the named JSON Lines fields or Parquet
columns pass through, in the order named; Parquet reads only those columns (and the text and id)
from the file; what cannot be honoured is refused in one line before launch."""
import glob
import json

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.tests.parquet_input_cli_test import _refusal as _refused, _run as _tag
from beamtagger.tests.tag_pipeline_test import read_jsonl
from beamtagger.transforms.reading import ReadRecords
from beamtagger.transforms.reading.parquet_rows import row_group_records, row_groups
from beamtagger.transforms.reading.record_parsers import parse_records
from beamtagger.transforms.records import DeadLetter

LINES = [
    {"id": "a", "text": "One .", "lang": "en", "n": 1, "html": "<p>One</p>"},
    {"n": 2, "text": "Two .", "html": "<p>Two</p>"},     # no id, no lang
    {"text": "Three .", "id": 3, "lang": "fr", "n": 3},
]


def _jsonl(records, fields):
    lines = [(number, json.dumps(line).encode()) for number, line in enumerate(records, 1)]
    return list(parse_records(lines, "in.jsonl", "jsonl", fields=fields))


def test_json_lines_carry_the_named_fields_in_order_and_a_missing_one_as_absent():
    records = _jsonl(LINES, ("n", "lang"))
    assert [(r.id, r.text, list(r.fields.items())) for r in records] == [
        ("a", "One .", [("n", 1), ("lang", "en")]),
        ("in.jsonl:2", "Two .", [("n", 2)]),
        ("3", "Three .", [("n", 3), ("lang", "fr")]),
    ]
    assert [r.fields for r in _jsonl(LINES, ())] == [None, None, None]
    assert [r.fields for r in _jsonl(LINES, None)] == [
        {"lang": "en", "n": 1, "html": "<p>One</p>"}, {"n": 2, "html": "<p>Two</p>"},
        {"lang": "fr", "n": 3}]


def test_what_json_lines_fields_not_carried_hold_costs_the_record_nothing():
    deep = {"text": "Deep .", "raw": json.loads("[" * 150 + "]" * 150), "n": 1}
    lone = json.dumps({"text": "Lone .", "raw": "\ud800", "n": 2})   # a lone surrogate
    lines = [(1, json.dumps(deep).encode()), (2, lone.encode())]
    everything = list(parse_records(lines, "in.jsonl", "jsonl"))
    assert [type(item) for item in everything] == [DeadLetter, DeadLetter]
    named = list(parse_records(lines, "in.jsonl", "jsonl", fields=("n",)))
    assert [(r.text, r.fields) for r in named] == [("Deep .", {"n": 1}), ("Lone .", {"n": 2})]
    # A carried field is checked as before.
    (letter,) = parse_records(lines[1:], "in.jsonl", "jsonl", fields=("raw",))
    assert "lone surrogate" in letter.reason


def _wide_parquet(path, row_group_size=None):
    pq.write_table(pa.table({
        "doc": ["d0", "d1", None],
        "text": ["One .", "Two .", "Three ."],
        "image": [b"\xff\xfe not UTF-8", b"\x89PNG", b"\x00"],   # not JSON-able as text
        "lang": pa.array(["en", "en", "fr"]).dictionary_encode(),
        "meta": [{"a": 1}, None, {"a": 3}],
    }), path, row_group_size=row_group_size)


def _parquet(path, fields, id_field="doc"):
    return [item for group in row_groups(str(path), "text", fields, id_field)
            for item in ([group] if isinstance(group, DeadLetter) else
                         row_group_records(group, "text", id_field, fields))]


def test_parquet_reads_and_carries_only_the_named_columns_in_order(tmp_path, monkeypatch):
    source = tmp_path / "wide.parquet"
    _wide_parquet(source, row_group_size=2)
    # Every column: the binary column that is not UTF-8 costs two of the rows.
    assert [type(item).__name__ for item in _parquet(source, None)] == [
        "DeadLetter", "DeadLetter", "TextRecord"]
    columns_read = []
    iter_batches = pq.ParquetFile.iter_batches

    def recording(self, *args, **kwargs):
        columns_read.append(kwargs.get("columns"))
        return iter_batches(self, *args, **kwargs)
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", recording)
    records = _parquet(source, ("meta", "lang"))
    assert columns_read == [["text", "doc", "meta", "lang"]] * 2   # a row group each
    assert [(r.id, list(r.fields.items())) for r in records] == [
        ("d0", [("meta", {"a": 1}), ("lang", "en")]), ("d1", [("meta", None), ("lang", "en")]),
        ("wide.parquet:3", [("meta", {"a": 3}), ("lang", "fr")])]
    columns_read.clear()
    assert [r.fields for r in _parquet(source, ())] == [None, None, None]
    assert columns_read == [["text", "doc"]] * 2
    columns_read.clear()
    assert [r.id for r in _parquet(source, (), id_field="none")] == [
        "wide.parquet:1", "wide.parquet:2", "wide.parquet:3"]
    assert columns_read == [["text"]] * 2


def test_a_parquet_file_without_a_named_column_is_one_dead_letter_naming_its_columns(tmp_path):
    source = tmp_path / "wide.parquet"
    _wide_parquet(source)
    (letter,) = _parquet(source, ("lang", "body", "html"))
    assert (letter.source, letter.stage) == (str(source), "read")
    assert letter.reason == ("no column 'body', 'html' of the fields to carry; its columns are "
                             "doc, text, image, lang, meta; none of its rows was read")


def test_two_columns_of_one_name_matter_only_where_they_are_read(tmp_path):
    source = tmp_path / "twice.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array(["One ."]), pa.array([1]), pa.array([2])],
                                        names=["text", "x", "x"]), source)
    (letter,) = _parquet(source, None)
    assert "'x' appears more than once" in letter.reason
    (record,) = _parquet(source, ())
    assert (record.text, record.fields) == ("One .", None)


@pytest.mark.parametrize("input_format,fields,message", [
    ("jsonl", "a,b", "must be a list of names, not the string 'a,b'"),
    ("jsonl", ["lang", "lang"], "'lang' named more than once"),
    ("parquet", ["lang", ""], "'' is not a field name"),
    ("jsonl", ["text"], "'text' is the text field: the record's text, never carried beside it"),
    ("parquet", ["id"], "'id' is the id field: the record's id, never carried beside it"),
    ("conllu", ["lang"], "only jsonl, csv, tsv and parquet records carry fields, not conllu"),
])
def test_read_records_refuses_fields_it_cannot_carry(input_format, fields, message):
    with pytest.raises(ValueError) as raised:
        ReadRecords("in", input_format, fields=fields)
    assert str(raised.value) == f"fields: {message}"


@pytest.mark.parametrize("split_bytes", [None, 40])   # whole, and in byte ranges
def test_read_records_carries_the_named_fields_of_json_lines(tmp_path, split_bytes):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in LINES), encoding="utf-8")
    # In byte ranges a record without an id is named by its byte offset, not its line.
    second = f"in.jsonl:@{len(json.dumps(LINES[0])) + 1}" if split_bytes else "in.jsonl:2"
    with beam.Pipeline() as pipeline:
        read = pipeline | ReadRecords(str(source), "jsonl", reshuffle=False,
                                      split_bytes=split_bytes, fields=["lang"])
        assert_that(read.records | beam.Map(lambda r: (r.id, r.fields)), equal_to([
            ("a", {"lang": "en"}), (second, None), ("3", {"lang": "fr"})]))


def _output_lines(prefix):
    lines = []
    for path in sorted(glob.glob(f"{prefix}-[0-9]*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            lines.extend(json.loads(line) for line in handle)
    return sorted(lines, key=lambda row: row["id"])


def test_tag_writes_only_the_named_columns_and_fields_in_order(tiny_tagger, tmp_path, capsys):
    source = tmp_path / "wide.parquet"
    _wide_parquet(source)
    code, out, err = _tag(capsys, tiny_tagger, source, tmp_path / "p", "--id-field", "doc",
                          "--fields", "meta, lang")
    assert code == 0, err
    assert "dead letters                0" in out, out
    rows = _output_lines(tmp_path / "p")
    assert [list(row) for row in rows] == [["id", "meta", "lang", "tokens"]] * 3
    assert [(row["id"], row["meta"], row["lang"]) for row in rows] == [
        ("d0", {"a": 1}, "en"), ("d1", None, "en"), ("wide.parquet:3", {"a": 3}, "fr")]
    code, _, err = _tag(capsys, tiny_tagger, source, tmp_path / "none", "--id-field", "doc",
                        "--fields", "")
    assert code == 0, err
    assert [list(row) for row in _output_lines(tmp_path / "none")] == [["id", "tokens"]] * 3

    lines = tmp_path / "in.jsonl"
    lines.write_text("".join(json.dumps(line) + "\n" for line in LINES), encoding="utf-8")
    code, _, err = _tag(capsys, tiny_tagger, lines, tmp_path / "j", "--fields", "lang,n")
    assert code == 0, err
    assert [list(row) for row in _output_lines(tmp_path / "j")] == [
        ["id", "lang", "n", "tokens"], ["id", "lang", "n", "tokens"], ["id", "n", "tokens"]]


def test_tag_refuses_a_parquet_file_without_a_named_column_before_launch(tiny_tagger, tmp_path,
                                                                         capsys):
    _wide_parquet(tmp_path / "a.parquet")
    pq.write_table(pa.table({"text": ["Four ."], "lang": ["en"]}), tmp_path / "b.parquet")
    line = _refused(capsys, tiny_tagger, tmp_path / "*.parquet", tmp_path, "--fields", "lang,meta")
    assert line.endswith(f"--input {tmp_path / 'b.parquet'}: no column 'meta' of the fields to "
                         "carry; its columns are text, lang"), line


@pytest.mark.parametrize("source_name,fields,message", [
    ("in.txt", "lang", "--fields: only jsonl, csv, tsv and parquet records carry fields, not text"),
    ("in.jsonl", "lang,,n", "--fields: '' is not a field name"),
    ("in.jsonl", "n,lang,n", "--fields: 'n' named more than once"),
    ("in.jsonl", "lang,text", "--fields: 'text' is the text field: the record's text, never "
                              "carried beside it"),
])
def test_tag_refuses_fields_it_cannot_carry_in_one_line(tiny_tagger, tmp_path, capsys,
                                                        source_name, fields, message):
    source = tmp_path / source_name
    source.write_text("".join(json.dumps(line) + "\n" for line in LINES), encoding="utf-8")
    line = _refused(capsys, tiny_tagger, source, tmp_path, "--fields", fields)
    assert line == f"beamtagger tag: error: {message}", line


def test_without_fields_tag_carries_every_field_as_before(tiny_tagger, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in LINES), encoding="utf-8")
    code, _, err = _tag(capsys, tiny_tagger, source, tmp_path / "all")
    assert code == 0, err
    rows = {row["id"]: row for row in read_jsonl(str(tmp_path / "all") + "-[0-9]*.jsonl")}
    assert rows["a"]["html"] == "<p>One</p>" and "html" not in rows["3"]
