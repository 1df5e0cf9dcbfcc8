"""Streaming results of today's outputs, late ones included: CoNLL-U sentences with their kept
lines and JSON Lines / Parquet entities in each pane's files, over one shard and several; a late
pane's files are told apart from the on-time pane's by name in every shard."""
import json
import os
import re

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms.window import TimestampedValue

from beamtagger.tests.conllu_passthrough_format_test import (_records, _tagged, _written,
                                                             sentence_blocks)
from beamtagger.transforms.conllu_blocks import conllu_block
from beamtagger.transforms.records import TaggedRecord
from beamtagger.transforms.write_results import WriteResults

# PREFIX-<window>[-<pane>]-SSSSS-of-NNNNN<suffix>
_NAME = re.compile(r"run-(\[[^)]*\))(?:-(\d+))?-(\d{5})-of-(\d{5})\.\w+$")


def _late_stream(on_time, late, next_window):
    """``on_time`` at 1, in [0, 60); the watermark passes 200; then ``late`` (at 2, of [0, 60))
    and ``next_window`` (at 201, of [180, 240)) in one bundle."""
    return (TestStream().advance_watermark_to(0)
            .add_elements([TimestampedValue(element, 1) for element in on_time])
            .advance_watermark_to(200)
            .add_elements([TimestampedValue(element, 2) for element in late]
                          + [TimestampedValue(element, 201) for element in next_window])
            .advance_watermark_to_infinity())


def _files(folder):
    """{(window, late?): [file names]} of the files written, every name checked."""
    found = {}
    for name in sorted(os.listdir(folder)):
        match = _NAME.fullmatch(name)
        assert match, name
        found.setdefault((match[1], match[2] is not None), []).append(name)
    return found


@pytest.mark.parametrize("shards", [1, 3])
def test_kept_conllu_lines_of_late_records_are_written_in_the_late_panes_files(tmp_path,
                                                                                shards):
    records = [_tagged(r, ["A"] * len(r.tokens)) for r in _records()]
    on_time, late, next_window = records[:1], records[1:3], records[3:]
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        _ = p | _late_stream(on_time, late, next_window) | WriteResults(
            str(tmp_path / "run"), "conllu", tag_column="upos", keep_conllu_lines=True,
            triggering_frequency=60, num_shards=shards)

    def blocks_in(names):
        return sorted(block for name in names for block in sentence_blocks(
            open(tmp_path / name, encoding="utf-8", newline="").read()))

    def blocks_of(group):
        return sorted(block for r in group
                      for block in sentence_blocks(_written(conllu_block(r, "upos", True))))

    files = _files(tmp_path)
    assert blocks_in(files[("[0.0, 60.0)", False)]) == blocks_of(on_time)
    assert blocks_in(files[("[0.0, 60.0)", True)]) == blocks_of(late)   # CRLF kept
    assert blocks_in(files[("[180.0, 240.0)", False)]) == blocks_of(next_window)
    assert set(files) == {("[0.0, 60.0)", False), ("[0.0, 60.0)", True),
                          ("[180.0, 240.0)", False)}
    assert all(name.endswith(f"-of-{shards:05d}.conllu") for names in files.values()
               for name in names)


def _bio_record(id, labels):
    tokens = ("x", "y", "z")[:len(labels)]
    return TaggedRecord(id, tokens, (0, 2, 4)[:len(labels)], (1, 3, 5)[:len(labels)],
                        tuple(labels), (0.5,) * len(labels), id, None)


def _rows(path):
    if path.endswith(".parquet"):
        return pq.read_table(path).to_pylist()
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


@pytest.mark.parametrize("output_format", ["jsonl", "parquet"])
@pytest.mark.parametrize("shards", [1, 3])
def test_entities_of_late_records_are_written_in_the_late_panes_files(tmp_path, output_format,
                                                                      shards):
    # Four late records over three shards: round robin puts late rows in shards that had no
    # on-time row. Their files were named as the on-time pane's (no pane in the name).
    on_time = [_bio_record("a", ["B-per", "I-per", "O"])]
    late = [_bio_record(f"late{i}", ["O", "B-loc"]) for i in range(4)]
    next_window = [_bio_record("b", ["I-per"])]
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        _ = p | _late_stream(on_time, late, next_window) | WriteResults(
            str(tmp_path / "run"), output_format, entities=True, triggering_frequency=60,
            num_shards=shards)

    def entities_in(names):
        return {row["id"]: [(e["text"], e["start"], e["end"], e["label"], e["score"])
                            for e in row["entities"]]
                for name in names for row in _rows(str(tmp_path / name))}

    files = _files(tmp_path)
    assert entities_in(files[("[0.0, 60.0)", False)]) == {"a": [("x y", 0, 3, "per", 0.5)]}
    assert entities_in(files[("[0.0, 60.0)", True)]) == {
        f"late{i}": [("y", 2, 3, "loc", 0.5)] for i in range(4)}
    assert entities_in(files[("[180.0, 240.0)", False)]) == {"b": [("x", 0, 1, "per", 0.5)]}
    assert set(files) == {("[0.0, 60.0)", False), ("[0.0, 60.0)", True),
                          ("[180.0, 240.0)", False)}
