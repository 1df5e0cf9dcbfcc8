"""An empty CSV or TSV cell under a typed ``--field-columns`` column is null, as pyarrow.csv,
pandas, DuckDB and BigQuery read it; ``""`` under ``string``, whitespace, a value that does not
convert, a JSON Lines ``""`` and an empty partition folder (``part=``) outside CSV runs stay as
they were; Hive's null folder is null under any type. docs/tagging.md, "Fields as columns"."""
import glob
import io

import pyarrow.csv as pa_csv
import pyarrow.dataset as ds
import pytest

from beamtagger.tests.parquet_input_cli_test import _run
from beamtagger.tests.tag_pipeline_test import read_jsonl
from beamtagger.transforms.field_columns import (FIELD_TYPES, FieldColumn, field_column_values,
                                                 field_columns_of, run_field_columns)

COLUMNS = "year:int64,score:float64,ok:bool,day:date,at:timestamp,note:string"
TYPES = {spec.split(":")[0]: FIELD_TYPES[spec.split(":")[1]] for spec in COLUMNS.split(",")}
# A value in every column, every cell empty, every cell quoted empty; the header's order.
GOOD_ROWS = ("text,year,score,ok,day,at,note\n"
             "a b,2024,1.5,true,2024-01-05,2024-01-05T10:00:00Z,x\n"
             "c d,,,,,,\n"
             'e f,"","","","","",""\n')
# Whitespace is not null (pyarrow.csv refuses it under int64 too); 20x5 is no int64.
BAD_ROWS = ("text,year,score,ok,day,at,note\n"
            "g h, ,1,true,2024-01-05,2024-01-05T10:00:00Z,x\n"
            "i j,20x5,1,true,2024-01-05,2024-01-05T10:00:00Z,x\n")


@pytest.mark.parametrize("type_", [name for name in FIELD_TYPES if name != "string"])
def test_an_empty_cell_is_null_under_every_typed_column_and_json_text_is_not(type_):
    (value,), rest = field_column_values({"f": "", "g": ""},
                                         (FieldColumn("f", type_, empty_is_null=True),))
    assert value is None and rest == {"g": ""}
    with pytest.raises(ValueError, match=f"^field 'f': '' is not {type_}"):
        field_column_values({"f": ""}, (FieldColumn("f", type_),))   # JSON's "" was written
    with pytest.raises(ValueError, match=f"^field 'f': ' ' is not {type_}"):
        field_column_values({"f": " "}, (FieldColumn("f", type_, empty_is_null=True),))


@pytest.mark.parametrize("spec,error", [
    (("year", "int64", "no"), "^field 'year': empty_is_null must be True or False, not 'no'$"),
    (("year", "int64", None), "^field 'year': empty_is_null must be True or False, not None$"),
    (("year", "int64", True, "x"), "^\\('year', 'int64', True, 'x'\\) is no field column"),
    (5, "^5 is no field column")])
def test_a_library_spec_says_what_is_wrong_where_a_truthy_word_read_gaps_as_null(spec, error):
    with pytest.raises(ValueError, match=error):
        field_columns_of([spec])
    assert field_columns_of([("year", "INTEGER", True)]) == (FieldColumn("year", "int64", True),)


@pytest.mark.parametrize("input_format,empty_is_null", [
    ("csv", True), ("tsv", True), ("jsonl", False), ("parquet", False)])
def test_the_run_reads_empty_text_as_null_for_csv_and_tsv_only(input_format, empty_is_null):
    columns = run_field_columns(["year:int64", "note"], "parquet", input_format)
    assert [column.empty_is_null for column in columns] == [empty_is_null] * 2
    if empty_is_null:   # string keeps "": an empty value is not a missing one
        assert field_column_values({"year": "", "note": ""}, columns) == ((None, ""), None)
    else:
        with pytest.raises(ValueError, match="^field 'year': '' is not int64$"):
            field_column_values({"year": "", "note": ""}, columns)


def _tagged(capsys, tiny_tagger, source, prefix, *more):
    code, out, err = _run(capsys, tiny_tagger, source, prefix, "--output-format", "parquet",
                          *more)
    assert code == 0, err
    table = ds.dataset(sorted(glob.glob(f"{prefix}-?????-of-?????.parquet"))).to_table()
    return table, read_jsonl(f"{prefix}-errors-[0-9]*.jsonl"), err


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_tagged_csv_gaps_are_the_nulls_pyarrow_csv_reads(tiny_tagger, tmp_path, capsys,
                                                         delimiter):
    suffix = "csv" if delimiter == "," else "tsv"
    for name, rows in (("good", GOOD_ROWS), ("bad", BAD_ROWS)):
        text = rows if delimiter == "," else rows.replace('""', "").replace(",", "\t")
        (tmp_path / f"{name}.{suffix}").write_text(text, encoding="utf-8")
    table, letters, _ = _tagged(capsys, tiny_tagger, tmp_path / f"*.{suffix}",
                                tmp_path / "out", "--field-columns", COLUMNS)
    read = pa_csv.read_csv(io.BytesIO((tmp_path / f"good.{suffix}").read_bytes()),
                           parse_options=pa_csv.ParseOptions(delimiter=delimiter),
                           convert_options=pa_csv.ConvertOptions(column_types=TYPES))
    table = table.sort_by("id")
    assert table.column("id").to_pylist() == [f"good.{suffix}:{line}" for line in (2, 3, 4)]
    for name, type_ in TYPES.items():
        assert table.schema.field(name).type == type_
        assert table.column(name).to_pylist() == read.column(name).to_pylist(), name
    assert table.column("year").to_pylist() == [2024, None, None]
    assert table.column("note").to_pylist() == ["x", "", ""]
    assert sorted((letter["source"].rsplit("/", 1)[-1], letter["reason"])
                  for letter in letters) == [
        (f"bad.{suffix}:2", "cannot write the result: field 'year': ' ' is not int64"),
        (f"bad.{suffix}:3", "cannot write the result: field 'year': '20x5' is not int64")]


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_hive_null_folders_are_null_and_empty_folders_follow_the_run(tiny_tagger, tmp_path,
                                                                     capsys):
    # CSV: a folder's text is read as a cell's; JSON Lines: part= is "" as pyarrow writes the
    # empty string, refused under int64 as pyarrow's typed partitioning and Spark refuse it.
    for part in ("1", "", "__HIVE_DEFAULT_PARTITION__"):
        _write(tmp_path / "csv" / f"part={part}" / "a.csv", "text,n\na b,\n")
        _write(tmp_path / "jsonl" / f"part={part}" / "a.jsonl", '{"text": "a b", "n": 2}\n')
    _write(tmp_path / "jsonl" / "part=2" / "a.jsonl", '{"text": "a b", "n": ""}\n')
    # The CSV files' n cells are all empty: the header has n, so the warning of a column null
    # in every record must not call it a name no record carried.
    all_empty = ("warning: --field-columns: 'n' is null in every record written: every "
                 "record's cell was empty, or its file has no such column")
    for kind, rows, dead, warnings in (
            ("csv", [("part=1", 1, None), ("part=", None, None),
                     ("part=__HIVE_DEFAULT_PARTITION__", None, None)], [], [all_empty]),
            ("jsonl", [("part=1", 1, 2), ("part=__HIVE_DEFAULT_PARTITION__", None, 2)],
             [("part=", "cannot write the result: field 'part': '' is not int64"),
              ("part=2", "cannot write the result: field 'n': '' is not int64")], [])):
        table, letters, err = _tagged(capsys, tiny_tagger,
                                      tmp_path / kind / "*" / f"a.{kind}",
                                      tmp_path / kind / "out", "--partition-fields",
                                      "--field-columns", "part:int64,n:int64")
        assert sorted((row["id"].split("/")[0], row["part"], row["n"])
                      for row in table.select(["id", "part", "n"]).to_pylist()) == sorted(rows)
        assert sorted((letter["source"].split("/")[-2], letter["reason"])
                      for letter in letters) == dead
        assert [line for line in err.splitlines()
                if line.startswith("warning: --field-columns")] == warnings



def test_tag_help_says_an_empty_cell_is_null():
    # Before: "a record without the field has a null there, one whose value does not convert
    # ... is a dead letter", which an empty cell under int64 was before 199e765 and is not now.
    import argparse

    from beamtagger.pipeline.tag_command import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    (action,) = [action for action in parser._actions if action.dest == "field_columns"]
    assert "CSV or TSV cell is empty under a type other than string, has a null" in action.help
