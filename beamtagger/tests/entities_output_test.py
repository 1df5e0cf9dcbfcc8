"""Entities in the result files: JSON Lines' "entities" key and Parquet's ``entities`` column,
column by column (tagged_batches) exactly as record by record (write_results), one Parquet
schema in every file of a run, and no change to the files of WriteResults without them."""
import glob
import json

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beamtagger.tests.transforms_write_results_test import _as_rows, _run_format_fn
from beamtagger.transforms import tagged_batches, write_results
from beamtagger.transforms.records import TaggedRecord
from beamtagger.transforms.write_results import (ENTITY_RESULT_SCHEMA, RESULT_SCHEMA,
                                                 WriteResults, to_json_line, to_parquet_row)

LABELS = st.sampled_from(["O", "B-per", "I-per", "B-loc", "I-loc", "B-a\"b\\c", "I-a\"b\\c"])
TOKENS = st.one_of(st.sampled_from(["New", "York", '"', "\\", "naïve", "👍🏽", "x\x01", "\u2028",
                                    "tab\there"]), st.text(min_size=1, max_size=5))
SCORES = st.one_of(st.floats(0, 1, width=32),
                   st.sampled_from([0.00005, 0.99995, 1.5, -0.0, 0.0, float("nan")]))


@st.composite
def bio_records(draw):
    n = draw(st.integers(0, 7))
    tokens = draw(st.lists(TOKENS, min_size=n, max_size=n))
    gaps = draw(st.lists(st.sampled_from([0, 1, 1, 3]), min_size=n, max_size=n))
    starts, position = [], 0
    for token, gap in zip(tokens, gaps):
        starts.append(position)
        position += len(token) + gap
    return TaggedRecord(draw(st.text(max_size=3)), tuple(tokens), tuple(starts),
                        tuple(s + len(t) for s, t in zip(starts, tokens)),
                        tuple(draw(st.lists(LABELS, min_size=n, max_size=n))),
                        tuple(draw(st.lists(SCORES, min_size=n, max_size=n))),
                        draw(st.sampled_from(["", "f:1"])),
                        draw(st.sampled_from([None, {"lang": "en"}, {"entities": 1}])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bio_records(), max_size=10), st.sampled_from(["jsonl", "parquet"]))
def test_entities_written_in_groups_are_what_each_record_alone_writes(records, output_format):
    rows, dead = _run_format_fn(write_results._FormatRecordsFn(output_format, entities=True),
                                records)
    wanted, wanted_dead = _run_format_fn(write_results.FormatResultFn(output_format, entities=True),
                                         records)
    if output_format == "parquet":
        wanted = [pa.Table.from_pylist([row], schema=ENTITY_RESULT_SCHEMA) for row in wanted]
        assert all(table.schema == ENTITY_RESULT_SCHEMA for table in rows)
    assert _as_rows(output_format, rows) == _as_rows(output_format, wanted)
    assert dead == wanted_dead == []


def test_a_tagged_batch_holds_the_entities_of_its_records():
    records = [
        TaggedRecord("a", ("Visit", "New", "York", "now"), (0, 6, 10, 15), (5, 9, 14, 18),
                     ("O", "B-loc", "I-loc", "I-per"), (0.5, 0.75, 0.25, 0.125), "f:1"),
        TaggedRecord("b", (), (), (), (), (), "f:2"),
        TaggedRecord("c", ("I-x",), (0,), (3,), ("I-per",), (1.0,), "f:3"),
        TaggedRecord("d", ("no", "one"), (0, 3), (2, 6), ("O", "O"), (0.5, 0.5), "f:4")]
    tagged, kept, left_out = tagged_batches.tagged_batch_of_tagged_records(records, [])
    assert kept == records and left_out == []
    table = tagged_batches.parquet_table(tagged, entities=True)
    assert table.column("entities").to_pylist() == [
        [{"text": "New York", "start": 6, "end": 14, "label": "loc", "score": 0.25},
         {"text": "now", "start": 15, "end": 18, "label": "per", "score": 0.125}],
        [], [{"text": "I-x", "start": 0, "end": 3, "label": "per", "score": 1.0}], []]
    assert table.to_pylist() == pa.Table.from_pylist(
        [to_parquet_row(r, entities=True) for r in records], schema=ENTITY_RESULT_SCHEMA
    ).to_pylist()
    text, rows = tagged_batches.json_lines_text(tagged, entities=True)
    assert rows == [1]   # no tokens: to_json_line writes it
    assert text.decode().split("\n") == [to_json_line(records[i], entities=True)
                                         for i in (0, 2, 3)]
    # Without entities, the lines and the table are the ones written before there were any.
    assert tagged_batches.json_lines_text(tagged)[0].decode().split("\n") == [
        to_json_line(records[i]) for i in (0, 2, 3)]
    assert "entities" not in to_json_line(records[0])
    assert tagged_batches.parquet_table(tagged).schema == RESULT_SCHEMA


def _write(records, tmp_path, output_format, **options):
    prefix = str(tmp_path / output_format)
    with beam.Pipeline() as p:
        _ = (p | beam.Create(records, reshuffle=False)
             | WriteResults(prefix, output_format, num_shards=3, **options))
    return sorted(glob.glob(f"{prefix}-?????-of-00003.{output_format}"))


RECORDS = [TaggedRecord("r1", ("Ann", "met", "Bob", "Lee"), (0, 4, 8, 12), (3, 7, 11, 15),
                        ("B-per", "O", "B-per", "I-per"), (0.5, 0.75, 0.625, 0.875), "f:1"),
           TaggedRecord("r2", ("nothing",), (0,), (7,), ("O",), (0.5,), "f:2")]


def test_every_parquet_file_of_an_entity_run_has_the_entities_column(tmp_path):
    files = _write(RECORDS, tmp_path, "parquet", entities=True)
    assert len(files) == 3   # two records, three shards: one file at least has no rows
    assert all(pq.read_schema(name).remove_metadata() == ENTITY_RESULT_SCHEMA
               for name in files)
    rows = {row["id"]: row for row in pq.ParquetDataset(files).read().to_pylist()}
    assert rows["r1"]["entities"] == [
        {"text": "Ann", "start": 0, "end": 3, "label": "per", "score": 0.5},
        {"text": "Bob Lee", "start": 8, "end": 15, "label": "per", "score": 0.625}]
    assert rows["r2"]["entities"] == []


def test_json_lines_of_an_entity_run(tmp_path):
    files = _write(RECORDS, tmp_path, "jsonl", entities=True)
    lines = [line for name in files for line in open(name, encoding="utf-8").read().splitlines()]
    assert sorted(lines) == sorted(to_json_line(r, entities=True) for r in RECORDS)
    assert [json.loads(line)["entities"] for line in sorted(lines)][1] == []


@pytest.mark.parametrize("output_format", ["jsonl", "parquet"])
def test_without_entities_the_files_are_as_before(tmp_path, output_format):
    """A POS tagger's files: no key, no column (each line the record formatter's, as before)."""
    files = _write(RECORDS, tmp_path, output_format)
    if output_format == "parquet":
        assert all(pq.read_schema(name).remove_metadata() == RESULT_SCHEMA for name in files)
    else:
        lines = [line for name in files for line in open(name, encoding="utf-8")]
        assert sorted(lines) == sorted(to_json_line(r) + "\n" for r in RECORDS)
        assert all('"entities"' not in line for line in lines)


@pytest.mark.parametrize("output_format", ["conll", "conllu"])
def test_entities_are_refused_for_formats_that_cannot_hold_them(output_format):
    with pytest.raises(ValueError, match="entities applies to output_format jsonl or parquet"):
        WriteResults("out/x", output_format, entities=True)


def test_a_pass_through_field_named_entities_is_renamed_only_beside_entities():
    record = TaggedRecord("a", ("Bob",), (0,), (3,), ("B-per",), (0.5,), "f:1",
                          {"entities": "theirs", "lang": "en"})
    tagged, _, _ = tagged_batches.tagged_batch_of_tagged_records([record], [])
    with_entities = json.loads(to_json_line(record, entities=True))
    assert with_entities["input_entities"] == "theirs" and with_entities["lang"] == "en"
    assert with_entities["entities"] == [
        {"text": "Bob", "start": 0, "end": 3, "label": "per", "score": 0.5}]
    assert json.loads(to_json_line(record))["entities"] == "theirs"
    for entities in (False, True):
        assert tagged_batches.json_lines_text(tagged, entities)[0].decode() == to_json_line(
            record, entities)
