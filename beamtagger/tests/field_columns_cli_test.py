"""``beamtagger tag --field-columns`` end to end: a Hive-partitioned Parquet lake tagged to
Parquet results whose carried fields are typed columns, read back over every shard as one
dataset; a value that does not convert one dead letter; what cannot be a column refused in one
line before launch."""
import datetime
import glob
import json

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from beamtagger.tests.docs_examples_test import default_store  # noqa: F401  (fixture)
from beamtagger.tests.parquet_input_cli_test import _refusal, _run
from beamtagger.tests.tag_pipeline_test import read_jsonl
from beamtagger.transforms.reading.parquet_rows import file_problem


UTC = datetime.timezone.utc


def _lake(tmp_path):
    lake = tmp_path / "lake"
    for year, lang, texts in (("2024", "en", ["The cat sat .", "Paris is big ."]),
                              ("2025", "fr", ["I love café ."]),
                              ("20x5", "en", ["a b c"])):
        folder = lake / f"year={year}" / f"lang={lang}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"text": texts, "doc_id": [f"{year}-{i}" for i in
                                                           range(len(texts))],
                                 "views": [10.0 * (i + 1) for i in range(len(texts))],
                                 # Carried as text with New York's offset (-05:00).
                                 "published": pa.array(
                                     [datetime.datetime(2024, 1, 5, 12 + i, tzinfo=UTC)
                                      for i in range(len(texts))],
                                     pa.timestamp("ms", tz="America/New_York"))}),
                       folder / "part-0.parquet")
    return lake


def test_a_lake_tagged_to_parquet_gives_its_fields_as_typed_columns(entity_tagger, tmp_path,
                                                                    capsys):
    # An entity tagger: its last column, entities, comes after the field columns in every
    # shard, as docs/tagging.md orders them.
    prefix = tmp_path / "out" / "run"
    code, out, err = _run(capsys, entity_tagger, _lake(tmp_path) / "*" / "*" / "*.parquet",
                          prefix, "--partition-fields", "--output-format", "parquet",
                          "--num-shards", "2", "--field-columns",
                          "doc_id,year:int64,views:int64,published:timestamp")
    assert code == 0, err
    assert "records read                4" in out and "dead letters                1" in out, out
    assert [line for line in out.splitlines() if line.startswith("field column")] == [
        f"field column {name}: null in 0 of 3 records"
        for name in ("doc_id", "year", "views", "published")]
    files = sorted(glob.glob(f"{prefix}-?????-of-00002.parquet"))
    assert len(files) == 2
    assert {tuple(pq.read_schema(name).names) for name in files} == {
        ("id", "doc_id", "year", "views", "published", "tokens", "fields", "entities")}
    table = ds.dataset(files).to_table()   # every shard: one schema
    assert [table.schema.field(name).type for name in ("doc_id", "year", "views",
                                                       "published")] == [
        pa.string(), pa.int64(), pa.int64(), pa.timestamp("us", tz="UTC")]
    rows = sorted(table.select(["doc_id", "year", "views", "published", "fields"]).to_pylist(),
                  key=lambda row: row["doc_id"])
    assert rows == [
        {"doc_id": "2024-0", "year": 2024, "views": 10,
         "published": datetime.datetime(2024, 1, 5, 12, tzinfo=UTC), "fields": '{"lang":"en"}'},
        {"doc_id": "2024-1", "year": 2024, "views": 20,
         "published": datetime.datetime(2024, 1, 5, 13, tzinfo=UTC), "fields": '{"lang":"en"}'},
        {"doc_id": "2025-0", "year": 2025, "views": 10,
         "published": datetime.datetime(2024, 1, 5, 12, tzinfo=UTC), "fields": '{"lang":"fr"}'}]
    (letter,) = read_jsonl(f"{prefix}-errors-[0-9]*.jsonl")
    assert letter["stage"] == "format" and letter["source"].endswith(
        "year=20x5/lang=en/part-0.parquet:1")
    assert letter["reason"] == "cannot write the result: field 'year': '20x5' is not int64"
    # Round trips: the result files, extra columns and all, are still named as beamtagger's
    # own output when given as input.
    assert "beamtagger's own" in file_problem(files[0], "text", None, "id")


@pytest.mark.parametrize("more,message", [
    (["--field-columns", "n:int64"], "applies to --output-format parquet only, not jsonl "
                                     "(JSON Lines writes every carried field under its own "
                                     "name already)"),
    (["--output-format", "parquet", "--field-columns", "n,fields"],
     "field 'fields' cannot be a column: the result files have a column 'fields' of their own "
     "(id, tokens, fields, entities)"),
    (["--output-format", "parquet", "--fields", "lang", "--field-columns", "n:int64"],
     "field 'n' is not one --fields carries (lang): its column would be null in every record"),
    # The README's lake command has --id-field doc_id; the docs' --field-columns doc_id.
    (["--output-format", "parquet", "--id-field", "n", "--field-columns", "n:int64"],
     "field 'n' is the --id-field, never a carried field: its values are the id column "
     "already, as text; to have it as a typed column, leave --id-field out (the records then "
     "get default ids, file:row or file:line)"),
    (["--output-format", "parquet", "--field-columns", "n:number"],
     "field 'n': no type 'number'; the types are string, int64, float64, bool, date, "
     "timestamp (any "
     "case; integer, float and boolean as BigQuery's legacy names)"),
])
def test_field_columns_that_cannot_be_written_are_refused_before_launch(
        tiny_tagger, tmp_path, capsys, more, message):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": "a b", "n": 1, "lang": "en"}) + "\n",
                      encoding="utf-8")
    line = _refusal(capsys, tiny_tagger, source, tmp_path, *more)
    assert line == f"beamtagger tag: error: --field-columns: {message}", line


@pytest.mark.parametrize("name", ["in.parquet", "in.csv"])
def test_a_field_column_in_none_of_the_files_columns_is_refused_before_launch(
        tiny_tagger, tmp_path, capsys, name):
    lake = tmp_path / "lake" / "year=2024"
    lake.mkdir(parents=True)
    table = pa.table({"text": ["a b"], "doc_id": ["d"], "views": [3]})
    if name.endswith(".parquet"):
        pq.write_table(table, lake / name)
    else:
        table.to_pandas().to_csv(lake / name, index=False)
    line = _refusal(capsys, tiny_tagger, tmp_path / "lake" / "*" / name, tmp_path,
                    "--partition-fields", "--output-format", "parquet", "--field-columns",
                    "year:int64,views:int64,doc_ID")
    assert line == ("beamtagger tag: error: --field-columns: no column 'doc_ID' in its first "
                    "file (nor a partition key): its column would be null in every record; "
                    "the fields they carry are 'doc_id', 'views', 'year'"), line


def test_readme_lake_command(default_store, tmp_path, run_command):  # noqa: F811  (the fixture)
    from beamtagger.tests.docs_examples_test import commands_run_by

    for year, month, texts in (("2024", "01", ["Beam tags this.", "A row."]),
                               ("2025", "12", ["Another row ."])):
        folder = tmp_path / "lake" / f"year={year}" / f"month={month}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"body": texts, "doc_id": [f"{year}-{i}" for i in
                                                           range(len(texts))]}),
                       folder / "part-0.parquet")
    (command,) = commands_run_by("field_columns_cli_test.test_readme_lake_command:")
    run_command(command, tmp_path)
    files = sorted(glob.glob(str(tmp_path / "out" / "lake-?????-of-?????.parquet")))
    table = ds.dataset(files).to_table()
    assert table.schema.field("year").type == pa.int64()
    assert table.schema.field("month").type == pa.int64()
    rows = sorted((row["year"], row["month"], json.loads(row["fields"])["doc_id"])
                  for row in table.select(["year", "month", "fields"]).to_pylist())
    assert rows == [(2024, 1, "2024-0"), (2024, 1, "2024-1"), (2025, 12, "2025-0")]
