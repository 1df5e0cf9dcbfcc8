"""``WriteResults(field_columns=...)`` in process: carried fields as typed Parquet columns, the
same schema from tagged batches, from TaggedRecords and in an empty shard, and a value that does
not convert a dead letter naming it."""
import datetime
import glob
import re

import apache_beam as beam
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.util import assert_that

from beamtagger.transforms import WriteResults, counters, tagged_batches
from beamtagger.transforms.field_columns import (FieldColumn, field_column_values,
                                                 field_columns_of)
from beamtagger.transforms.records import TaggedRecord
from beamtagger.transforms.write_results import result_schema, to_parquet_row

COLUMNS = field_columns_of(["year:int64", "lang", "score:float64", "ok:bool", "day:date",
                            "published:timestamp"])
UTC = datetime.timezone.utc


def _record(id_, fields):
    return TaggedRecord(id_, ("Ann", "met"), (0, 4), (3, 7), ("PROPN", "VERB"), (0.5, 0.75),
                        f"f:{id_}", fields)


RECORDS = [
    _record("typed", {"year": 2024, "lang": "en", "score": 0.5, "ok": True,
                      "day": "2024-01-05", "published": "2024-01-05T10:00:00.25+01:00",
                      "url": "u"}),
    _record("text", {"url": "v", "year": "01", "lang": 7, "score": "-1e-3", "ok": "False",
                     "published": "2024-01-05 23:30:00"}),
    _record("none", None),
    _record("bad", {"year": 2024.5, "lang": "en"}),
]


@pytest.mark.parametrize("type_,value,expected", [
    ("int64", "-3", -3), ("int64", 2024.0, 2024), ("int64", 2 ** 63 - 1, 2 ** 63 - 1),
    ("float64", 2 ** 53, float(2 ** 53)), ("float64", ".5", 0.5),
    ("bool", "TRUE", True), ("string", [1, "a"], '[1,"a"]'), ("string", False, "false"),
    ("date", "2024-02-29", datetime.date(2024, 2, 29)),
    ("date", datetime.date(2024, 2, 29), datetime.date(2024, 2, 29)),
    # Parquet input's timestamps: with their zone's offset, or none (read as UTC).
    ("timestamp", "2024-01-05T10:00:00+01:00", datetime.datetime(2024, 1, 5, 9, tzinfo=UTC)),
    ("timestamp", "2024-01-05T10:00:00", datetime.datetime(2024, 1, 5, 10, tzinfo=UTC)),
    ("timestamp", "2024-01-05 10:00Z", datetime.datetime(2024, 1, 5, 10, tzinfo=UTC)),
    ("timestamp", "2024-01-05T10:00:00-0530", datetime.datetime(2024, 1, 5, 15, 30, tzinfo=UTC)),
    ("timestamp", "2024-01-05T10:00:00.000001000+05",
     datetime.datetime(2024, 1, 5, 5, 0, 0, 1, tzinfo=UTC)),
    ("timestamp", datetime.datetime(2024, 1, 5, 2, tzinfo=datetime.timezone(
        datetime.timedelta(hours=3))), datetime.datetime(2024, 1, 4, 23, tzinfo=UTC)),
    # A zone's local mean time, as pyarrow gives Europe/Amsterdam's values before 1937.
    ("timestamp", "1930-06-01T01:19:32+01:19:32", datetime.datetime(1930, 6, 1, tzinfo=UTC)),
    # RFC 3339's lowercase t and z, ISO 8601's comma before the fraction.
    ("timestamp", "2024-01-05t10:00:00z", datetime.datetime(2024, 1, 5, 10, tzinfo=UTC)),
    ("timestamp", "2024-01-05T12:00:00,5",
     datetime.datetime(2024, 1, 5, 12, 0, 0, 500000, tzinfo=UTC)),
    ("timestamp", "2024-01-05T10:00:00-00:00", datetime.datetime(2024, 1, 5, 10, tzinfo=UTC)),
])
def test_values_convert_to_their_column_type(type_, value, expected):
    (converted,), rest = field_column_values({"f": value, "g": 1}, (FieldColumn("f", type_),))
    assert converted == expected and type(converted) is type(expected)
    assert rest == {"g": 1}


@pytest.mark.parametrize("type_,value,why", [
    ("int64", 2 ** 63, "2^63 is not int64 (beyond 64 bits)"), ("int64", True, "True is not int64"),
    ("int64", "1e3", "'1e3' is not int64"), ("int64", "1_000", "'1_000' is not int64"),
    ("float64", 2 ** 53 + 1, "9007199254740993 is not float64 (an integer above 2^53"),
    ("float64", "nan", "'nan' is not float64"), ("float64", "1e999", "'1e999' is not float64"),
    ("bool", 1, "1 is not bool"), ("date", "2024-02-30", "'2024-02-30' is not date"),
    ("date", "2024-01-05T00:00", "'2024-01-05T00:00' is not date (a timestamp, whose day "
                                 "depends on a time zone: name it :timestamp"),
    ("timestamp", 1700000000, "1700000000 is not timestamp (a number: epoch seconds, "
                              "milliseconds or microseconds? carry it as int64"),
    ("timestamp", "2024-01-05", "'2024-01-05' is not timestamp (a date without a time of day: "
                                "name it :date"),
    ("timestamp", "2024-01-05T10:00:00.123456789Z", "'2024-01-05T10:00:00.123456789Z' is not "
                                                    "timestamp (finer than microseconds"),
    # Later CPythons' fromisoformat read it as the next day's midnight, 3.11's refuses it.
    ("timestamp", "2024-01-05T24:00:00", "'2024-01-05T24:00:00' is not timestamp (hour 24, "
                                         "the end of the day: write it as 00:00 of the next "
                                         "day)"),
    ("timestamp", "2016-12-31T23:59:60Z", "'2016-12-31T23:59:60Z' is not timestamp (a leap "
                                          "second"),
    ("timestamp", "2024-01-05T10:00:00+01:60", "'2024-01-05T10:00:00+01:60' is not timestamp "
                                               "(not ISO 8601 text"),
    ("timestamp", "2024-02-30T10:00", "'2024-02-30T10:00' is not timestamp (no such date, "
                                      "time of day or offset)"),
    ("timestamp", "0001-01-01T00:00:00+01:00", "'0001-01-01T00:00:00+01:00' is not timestamp "
                                               "(outside the years 1 to 9999 once converted "
                                               "to UTC)"),
    ("timestamp", "9999-12-31T23:59:59-01:00", "'9999-12-31T23:59:59-01:00' is not timestamp "
                                               "(outside the years 1 to 9999"),
    ("timestamp", "5 Jan 2024 10:00", "'5 Jan 2024 10:00' is not timestamp (not ISO 8601 text "
                                      "such as 2024-01-05T11:00:00Z"),
    ("timestamp", "2024-01-05T10:00:00Z ", "'2024-01-05T10:00:00Z ' is not timestamp (not ISO "
                                           "8601 text"),
    ("timestamp", "", "'' is not timestamp (not ISO 8601 text"),
    # A "" a JSON Lines or Parquet producer wrote, not a null (an empty CSV cell is one where
    # the run reads CSV: FieldColumn.empty_is_null, field_columns_null_cells_test).
    ("int64", "", "'' is not int64"),
    ("bool", "", "'' is not bool"),
    ("timestamp", True, "True is not timestamp (not ISO 8601 text"),
    ("timestamp", {"at": "2024-01-05T10:00:00Z"}, "{'at': '2024-01-05T10:00:00Z'} is not "
                                                  "timestamp (not ISO 8601 text"),
    # Excel's CSV where the decimal separator is a comma.
    ("float64", "3,50", "'3,50' is not float64 (a decimal comma: carry it as string)"),
    ("string", "\ud800", "'\\ud800' is not string (a lone surrogate"),
])
def test_a_value_that_does_not_convert_is_refused_naming_field_value_and_type(type_, value, why):
    with pytest.raises(ValueError) as raised:
        field_column_values({"f": value}, (FieldColumn("f", type_),))
    assert str(raised.value).startswith("field 'f': " + why.replace("2^63", str(2 ** 63))), (
        raised.value)


@pytest.mark.parametrize("specs,message", [
    (["tokens"], "field 'tokens' cannot be a column: the result files have a column 'tokens'"),
    (["a", "a:int64"], "field 'a' is named twice"),
    # DuckDB reads a column "ID" beside "id" as "ID_1"; BigQuery and Spark take names in any
    # case too.
    (["ID"], "field 'ID' cannot be a column: the result files have a column 'id'"),
    (["Tokens:int64"], "field 'Tokens' cannot be a column: the result files have a column "
                       "'tokens'"),
    (["year", "Year:int64"], "field 'Year' is named twice ('year', 'Year': readers that take "
                             "column names in any case"),
    (["a:int"], "field 'a': no type 'int'; the types are string, int64, float64, bool, date, "
                "timestamp"),
    (["a:"], "field 'a': no type ''"),
    (["published:DATETIME"], "field 'published': no type 'DATETIME' (a date and time without "
                             "a zone): name it published:timestamp, which reads text without "
                             "an offset as UTC, or published:string"),
    ("a,b", "field_columns must be a list of NAME[:TYPE], not the string 'a,b'"),
])
def test_field_columns_that_cannot_be_written_are_refused(specs, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        WriteResults("out", "parquet", field_columns=specs)


def test_names_with_a_colon_keep_it_and_other_formats_refuse_field_columns():
    assert field_columns_of(["dc:title:string", "dc:n:int64", "plain"]) == (
        FieldColumn("dc:title", "string"), FieldColumn("dc:n", "int64"), FieldColumn("plain"))
    # BigQuery's names, as its schemas print them, legacy ones too.
    assert [column.type for column in field_columns_of(
        ["a:INT64", "b:Float64", "c:BOOLEAN", "d:INTEGER", "e:FLOAT", "f:DATE", "g:STRING",
         "h:TIMESTAMP"])] == [
        "int64", "float64", "bool", "int64", "float64", "date", "string", "timestamp"]
    with pytest.raises(ValueError, match="^field_columns applies to output_format 'parquet' "
                                         "only, not 'jsonl'"):
        WriteResults("out", "jsonl", field_columns=["year:int64"])


def test_tagged_batches_and_records_give_the_same_table():
    tagged, kept, left_out = tagged_batches.tagged_batch_of_tagged_records(RECORDS, [])
    assert not left_out
    rows_left_out = []
    table = tagged_batches.parquet_table(tagged, field_columns=COLUMNS, left_out=rows_left_out)
    assert rows_left_out == [3]
    assert table.equals(pa.Table.from_pylist(
        [to_parquet_row(record, field_columns=COLUMNS) for record in RECORDS[:3]],
        schema=result_schema(False, COLUMNS)))
    with pytest.raises(ValueError, match="^field 'year': 2024.5 is not int64$"):
        to_parquet_row(RECORDS[3], field_columns=COLUMNS)


@pytest.mark.parametrize("as_batches", [False, True])
def test_every_shard_has_the_columns_and_a_bad_value_is_a_format_dead_letter(tmp_path,
                                                                              as_batches):
    prefix = str(tmp_path / "out")
    if as_batches:
        tagged = tagged_batches.tagged_batch_of_tagged_records(RECORDS, [])[0]
        create = beam.Create([tagged]).with_output_types(pa.RecordBatch)
    else:
        create = beam.Create(RECORDS, reshuffle=False)

    def one_dead_letter(letters):
        (letter,) = letters
        assert (letter.source, letter.stage) == ("f:bad", "format"), letter
        assert letter.reason == "cannot write the result: field 'year': 2024.5 is not int64"

    with beam.Pipeline() as p:
        written = p | create | WriteResults(prefix, "parquet", num_shards=4,
                                            entities=True, field_columns=COLUMNS)
        assert_that(written.errors, one_dead_letter)
    files = sorted(glob.glob(prefix + "-?????-of-00004.parquet"))
    assert len(files) == 4   # three rows, four shards: one file at least is empty
    schema = result_schema(True, COLUMNS)
    assert schema.names == ["id", "year", "lang", "score", "ok", "day", "published", "tokens",
                            "fields", "entities"]
    assert schema.field("published").type == pa.timestamp("us", tz="UTC")
    assert all(pq.read_schema(name).remove_metadata() == schema for name in files)
    rows = {row["id"]: row for row in ds.dataset(files).to_table().to_pylist()}
    assert sorted(rows) == ["none", "text", "typed"]
    assert [rows[id_][name] for id_ in ("typed", "text", "none")
            for name in ("year", "lang", "score", "ok", "day", "published", "fields")] == [
        2024, "en", 0.5, True, datetime.date(2024, 1, 5),
        datetime.datetime(2024, 1, 5, 9, 0, 0, 250000, tzinfo=UTC), '{"url":"u"}',
        1, "7", -0.001, False, None, datetime.datetime(2024, 1, 5, 23, 30, tzinfo=UTC),
        '{"url":"v"}',
        None, None, None, None, None, None, None]


def test_the_summary_counts_each_columns_nulls_and_warns_of_one_null_in_every_record():
    counts = {"field_column_rows": 1000, "field_column_nulls:year": 1000,
              "field_column_nulls:lang": 3}
    lines, warnings = counters.format_field_columns(
        counts, field_columns_of(["year", "lang", "day"]))
    assert lines == ["field column year: null in 1,000 of 1,000 records",
                     "field column lang: null in 3 of 1,000 records",
                     "field column day: null in 0 of 1,000 records"]
    assert warnings == ["warning: --field-columns: 'year' is null in every record written: "
                        "none carried a field 'year' (a misspelled name?)"]
    assert counters.format_field_columns({}, field_columns_of(["year"])) == (
        ["field column year: null in 0 of 0 records"], [])
