"""``beamtagger tag --partition-fields`` end to end: a Hive-partitioned lake of Parquet files
tagged to JSON Lines and Parquet results carrying the folders' values, and what cannot carry
them refused in one line before launch, nothing written."""
import glob
import io
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beamtagger.tests.conftest import run_tag_command as tag
from beamtagger.tests.tag_pipeline_test import read_jsonl


def _lake(tmp_path):
    lake = tmp_path / "lake"
    for year, month, texts in (("2024", "01", ["The cat sat .", "Paris is big ."]),
                               ("2024", "%2F02", ["I love café ."]),
                               ("__HIVE_DEFAULT_PARTITION__", "03", ["a b c"])):
        folder = lake / f"year={year}" / f"month={month}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"text": texts, "n": list(range(len(texts)))}),
                       folder / "part-0.parquet")
    return lake


def _compact_json(value):
    return json.dumps(value, separators=(",", ":"))


def _run(capsys, tiny_tagger, pattern, prefix, *more):
    return tag(capsys, "--input", str(pattern), "--output", str(prefix), "--model",
               tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path, *more)


def test_a_partitioned_lake_tagged_to_jsonl_and_parquet_carries_its_folders(tiny_tagger,
                                                                            tmp_path, capsys):
    lake = _lake(tmp_path)
    code, _, err = _run(capsys, tiny_tagger, lake / "*" / "*" / "*.parquet", tmp_path / "j",
                        "--partition-fields", "--fields", "month,year")
    assert code == 0, err
    rows = read_jsonl(str(tmp_path / "j") + "-[0-9]*.jsonl")
    assert sorted((row["id"], row["month"], row["year"], list(row)[1:3]) for row in rows) == [
        ("year=2024/month=%2F02/part-0.parquet:1", "/02", "2024", ["month", "year"]),
        ("year=2024/month=01/part-0.parquet:1", "01", "2024", ["month", "year"]),
        ("year=2024/month=01/part-0.parquet:2", "01", "2024", ["month", "year"]),
        ("year=__HIVE_DEFAULT_PARTITION__/month=03/part-0.parquet:1", "03", None,
         ["month", "year"]),
    ]
    code, _, err = _run(capsys, tiny_tagger, lake / "**", tmp_path / "p", "--partition-fields",
                        "--output-format", "parquet")
    assert code == 0, err
    (result,) = glob.glob(str(tmp_path / "p") + "-[0-9]*.parquet")
    table = pq.read_table(result)
    # Parquet's fields column: each record's own columns, then its folders'.
    assert sorted(table.column("fields").to_pylist()) == sorted(map(_compact_json, [
        {"n": 0, "year": "2024", "month": "01"}, {"n": 1, "year": "2024", "month": "01"},
        {"n": 0, "year": "2024", "month": "/02"}, {"n": 0, "year": None, "month": "03"}]))


@pytest.mark.parametrize("pattern,more,message", [
    ("lake/year=2024/month=01/*.parquet", (),
     "--partition-fields: the pattern's wildcards are in its file name only"),
    ("lake/*/*/*.parquet", ("--input-format", "text"),
     "--partition-fields: only jsonl, csv, tsv and parquet records carry fields, not text"),
    ("lake/*/*/*.parquet", ("--output-format", "conllu"),
     "--partition-fields: its values are fields, and --output-format conllu writes no "
     "fields; write jsonl or parquet"),
    # A lake named by its folder, as Spark and pyarrow read it: its format was taken for
    # text, and the refusal named that ("not text").
    ("lake", (), "--partition-fields: --input {lake} is a folder, not files: match the files "
                 "in its partition folders with a wildcard for each, --input "
                 "'{lake}/*/*/*.parquet'"),
    ("lake/*", (), "--input {lake}/* matches folders only, not files: match the files in its "
                   "partition folders with a wildcard for each, --input '{lake}/*/*/*.parquet'"),
    ("lake/year=2024/month=01", (),
     "--input {lake}/year=2024/month=01 is a folder, whose files are in no partition folders "
     "(key=value) to carry: tag them without --partition-fields, --input "
     "'{lake}/year=2024/month=01/*.parquet'"),
    # Every file listed, none in a key=value folder: the option carried nothing, exit 0.
    ("lake/year=2024/month=01/**", (),
     "--partition-fields: no file --input {lake}/year=2024/month=01/** matches (1) is in a "
     "key=value folder after {lake}/year=2024/month=01/, so there is nothing to carry: leave "
     "--partition-fields out, or match the partition folders (ds/*/*/*.parquet)"),
    ("lake/*/*/*.parquet", ("--id-field", "month"),
     "--partition-fields: --input {lake}/year=2024/month=%2F02/part-0.parquet: its folder "
     "names the partition key 'month', the id field: a record's id cannot be a folder's value"),
])
def test_what_cannot_carry_partition_fields_is_refused_before_launch(tiny_tagger, tmp_path,
                                                                      capsys, pattern, more,
                                                                      message):
    lake = _lake(tmp_path)
    code, _, err = _run(capsys, tiny_tagger, tmp_path / pattern, tmp_path / "out" / "r",
                        "--partition-fields", *more)
    assert code == 2, err
    (line,) = err.strip().splitlines()   # one line, no traceback
    assert message.format(lake=lake) in line, line
    assert not glob.glob(str(tmp_path / "out" / "r*"))


def test_standard_input_and_a_symlinked_partition_are_refused_before_launch(
        tiny_tagger, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"text": "a"}\n')))
    code, _, err = _run(capsys, tiny_tagger, "-", tmp_path / "out" / "r", "--partition-fields",
                        "--input-format", "jsonl")
    assert code == 2 and err.strip() == (
        "beamtagger tag: error: --partition-fields reads the key=value folders of each input file's path, and "
        "--input - (standard input) has none; give the files' pattern "
        "(--input 'ds/*/*/*.jsonl')"), err
    lake = _lake(tmp_path)
    # Beam's matching does not follow a symbolic link to a folder: its records were lost.
    (tmp_path / "elsewhere" / "month=01").mkdir(parents=True)
    (lake / "year=2023").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    pq.write_table(pa.table({"text": ["x"]}), tmp_path / "elsewhere" / "month=01" / "p.parquet")
    code, _, err = _run(capsys, tiny_tagger, lake / "*" / "*" / "*.parquet",
                        tmp_path / "out" / "r", "--partition-fields")
    assert code == 2 and err.strip() == (
        f"beamtagger tag: error: --input {lake}/*/*/*.parquet matches "
        f"{lake}/year=2023/month=01/p.parquet, but "
        f"{lake}/year=2023 is a symbolic link to a folder, which Beam's file matching does not "
        "follow: its files would not be read; name the folder it links to in --input (or copy "
        "it in)"), err
    assert not glob.glob(str(tmp_path / "out" / "r*"))
