"""WritePanes: unbounded results and dead letters, late ones included, each pane in its own files."""
import glob
import json
import os

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms import trigger, window
from apache_beam.transforms.window import TimestampedValue

from beamtagger.tests.transforms_write_results_test import record
from beamtagger.transforms import WriteDeadLetters
from beamtagger.transforms.records import DeadLetter
from beamtagger.transforms.write_results import WriteResults

OUTPUTS = ["jsonl", "conll", "conllu", "parquet", "dead letters"]


def _element(output, name):
    return (DeadLetter(name, "r", "t", "tokenize") if output == "dead letters"
            else record(name, ["x"]))


def _write(elements, output, prefix, **options):
    return elements | (WriteDeadLetters(prefix, **options) if output == "dead letters"
                       else WriteResults(prefix, output, **options))


def _ids(path):
    """The ids (dead letters: sources) written to one file."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq
        return sorted(pq.read_table(path).column("id").to_pylist())
    with open(path, encoding="utf-8") as lines:
        if path.endswith((".conll", ".conllu")):
            comment = "# id = " if path.endswith(".conll") else "# sent_id = "
            return sorted(line[len(comment):].rstrip("\n") for line in lines
                          if line.startswith(comment))
        return sorted(json.loads(line).get("id", json.loads(line).get("source"))
                      for line in lines)


def _written(prefix):
    """{file name without the directory: its ids} of every file the run left under prefix."""
    folder = os.path.dirname(prefix)
    return {name: _ids(os.path.join(folder, name)) for name in sorted(os.listdir(folder))}


def _late_stream(output, later=False):
    """"a" on time in [0, 60); the watermark passes 200; then "late" (at 2, of [0, 60)) and
    "b" (of [180, 240)) in one bundle; ``later``: the watermark passes 500, then "later" (at
    3)."""
    stream = (TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue(_element(output, "a"), 1)])
              .advance_watermark_to(200)
              .add_elements([TimestampedValue(_element(output, "late"), 2),
                             TimestampedValue(_element(output, "b"), 201)]))
    if later:
        stream = (stream.advance_watermark_to(500)
                  .add_elements([TimestampedValue(_element(output, "later"), 3)]))
    return stream.advance_watermark_to_infinity()


def _suffix(output):
    return ".jsonl" if output == "dead letters" else f".{output}"


@pytest.mark.parametrize("output", OUTPUTS)
def test_a_late_record_in_the_global_window_is_written_with_triggering_frequency(
        tmp_path, output):
    """Beam's sinks window such records into fixed windows of ``triggering_frequency`` with an
    allowed lateness of 0: "late" was dropped, and "b" with it (formatted into the same row)."""
    prefix = str(tmp_path / "run")
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        _ = _write(p | _late_stream(output), output, prefix, triggering_frequency=60)
    name = "run-errors" if output == "dead letters" else "run"
    suffix = _suffix(output)
    assert _written(prefix) == {f"{name}-[0.0, 60.0)-00000-of-00001{suffix}": ["a"],
                                f"{name}-[0.0, 60.0)-1-00000-of-00001{suffix}": ["late"],
                                f"{name}-[180.0, 240.0)-00000-of-00001{suffix}": ["b"]}


@pytest.mark.parametrize("output", OUTPUTS)
def test_a_late_pane_of_a_fixed_window_gets_files_of_its_own(tmp_path, output):
    """In the records' own windows with an allowed lateness, the late pane made Beam's sinks
    read two temporary directories as one (the job failed), and its files had the on-time
    pane's names. "later" comes after the allowed lateness too (TagText tags it)."""
    prefix = str(tmp_path / "run")
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        windowed = p | _late_stream(output, later=True) | beam.WindowInto(
            window.FixedWindows(60), trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
            accumulation_mode=trigger.AccumulationMode.DISCARDING, allowed_lateness=300)
        _ = _write(windowed, output, prefix)
    name = "run-errors" if output == "dead letters" else "run"
    suffix = _suffix(output)
    assert _written(prefix) == {f"{name}-[0.0, 60.0)-00000-of-00001{suffix}": ["a"],
                                f"{name}-[0.0, 60.0)-1-00000-of-00001{suffix}": ["late"],
                                f"{name}-[0.0, 60.0)-2-00000-of-00001{suffix}": ["later"],
                                f"{name}-[180.0, 240.0)-00000-of-00001{suffix}": ["b"]}


def test_with_shards_each_shard_of_a_pane_has_a_name_of_its_own(tmp_path):
    prefix = str(tmp_path / "run")
    stream = (TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue(record(f"a{i}", ["x"] * 70000), 1)
                             for i in range(4)])   # a row each (FORMAT_TOKENS)
              .advance_watermark_to(200)
              .add_elements([TimestampedValue(record(f"late{i}", ["x"] * 70000), 2)
                             for i in range(3)])
              .advance_watermark_to_infinity())
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        _ = p | stream | WriteResults(prefix, "jsonl", num_shards=2, triggering_frequency=60)
    written = _written(prefix)
    assert sorted(i for ids in written.values() for i in ids) == [
        "a0", "a1", "a2", "a3", "late0", "late1", "late2"]
    assert all(name.startswith("run-[0.0, 60.0)-") and name.endswith("-of-00002.jsonl")
               for name in written)


def test_unbounded_records_in_the_global_window_without_triggering_frequency_are_refused():
    pipeline = beam.Pipeline(options=StandardOptions(streaming=True))
    stream = pipeline | TestStream().add_elements([record("a", ["x"])])
    with pytest.raises(ValueError, match="triggering_frequency"):
        _ = stream | WriteResults("/tmp/never-written/run")


def _leaf_labels(pipeline):
    proto = pipeline.to_runner_api()
    return [t.unique_name for t in proto.components.transforms.values() if not t.subtransforms]


@pytest.mark.parametrize("output", ["jsonl", "parquet", "dead letters"])
def test_bounded_writes_keep_beams_batch_path(tmp_path, output):
    """Batch runs (every ``beamtagger tag``) never take the pane path: Beam's bounded
    WriteImpl writes one file a bundle and renames them once."""
    pipeline = beam.Pipeline()
    elements = pipeline | beam.Create([_element(output, "a")])
    _ = _write(elements, output, str(tmp_path / "run"), triggering_frequency=60)
    labels = _leaf_labels(pipeline)
    assert any(label.endswith("WriteImpl/WriteBundles") for label in labels), labels
    assert not any("GroupPanes" in label or "WindowEvery" in label for label in labels), labels

    streaming = beam.Pipeline(options=StandardOptions(streaming=True))
    stream = streaming | TestStream().add_elements([_element(output, "a")])
    _ = _write(stream, output, str(tmp_path / "run"), triggering_frequency=60)
    labels = _leaf_labels(streaming)
    assert any(label.endswith("GroupPanes") for label in labels), labels
    assert not any("WriteImpl" in label for label in labels), labels


def test_no_temporary_directory_is_left(tmp_path):
    prefix = str(tmp_path / "run")
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        _ = _write(p | _late_stream("jsonl"), "jsonl", prefix, triggering_frequency=60)
    assert glob.glob(str(tmp_path / "*")) and not glob.glob(str(tmp_path / "beam-temp*"))
