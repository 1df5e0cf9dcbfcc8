"""WriteParts: every part written where it is produced; only file names are merged."""
import glob

import apache_beam as beam
import pytest
from apache_beam.portability import common_urns

from beamtagger.transforms.write_parts import WriteParts
from beamtagger.transforms.write_results import WriteResults
from beamtagger.tests.transforms_write_results_test import record


def _flatten_inputs(pipeline):
    """{flatten label: labels of the transforms producing its inputs}."""
    proto = pipeline.to_runner_api()
    producers = {}
    for transform in proto.components.transforms.values():
        for pcoll in transform.outputs.values():
            if not transform.subtransforms:
                producers[pcoll] = transform.unique_name
    return {t.unique_name: [producers[p] for p in t.inputs.values()]
            for t in proto.components.transforms.values()
            if t.spec.urn == common_urns.primitives.FLATTEN.urn}


def test_rows_never_cross_a_flatten_only_file_names_do(tmp_path):
    pipeline = beam.Pipeline()
    parts = tuple(pipeline | f"Part{i}" >> beam.Create([record(f"r{i}", ["x"])])
                  for i in range(3))
    _ = parts | WriteResults(str(tmp_path / "r"), "jsonl")
    flattens = _flatten_inputs(pipeline)
    # Only the format stage's dead letters (records that cannot be written, rare) and the
    # files' names are merged; no formatted row is.
    errors = {name: producers for name, producers in flattens.items() if "MergeErrors" in name}
    assert len(errors) == 1 and all("_Format" in p for p in next(iter(errors.values())))
    names = {name: producers for name, producers in flattens.items() if name not in errors}
    assert names, "WriteResults should merge the parts' file names"
    for producers in names.values():
        assert producers and all("WriteBundles" in name for name in producers), flattens


@pytest.mark.parametrize("sizes", [(3, 0, 1), (0, 0, 0)])
def test_parts_of_any_size_give_one_set_of_shards(tmp_path, sizes):
    prefix = str(tmp_path / "out" / "r")
    with beam.Pipeline() as p:
        parts = tuple(p | f"Part{i}" >> beam.Create([f"{i}-{j}" for j in range(n)])
                      for i, n in enumerate(sizes))
        _ = parts | WriteParts(beam.io.WriteToText(prefix, file_name_suffix=".txt"))
    files = glob.glob(f"{prefix}-*-of-*.txt")
    lines = sorted(line.rstrip("\n") for path in files for line in open(path, encoding="utf-8"))
    assert lines == sorted(f"{i}-{j}" for i, n in enumerate(sizes) for j in range(n))
    count = int(files[0].rsplit("-of-", 1)[1].split(".")[0])
    assert count == len(files)  # NNNNN names every shard that exists


def test_a_fixed_number_of_shards_is_refused():
    with pytest.raises(ValueError, match="num_shards"):
        WriteParts(beam.io.WriteToText("/tmp/x", num_shards=2))


def test_unbounded_parts_are_refused_at_construction(tmp_path):
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from apache_beam.testing.test_stream import TestStream

    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    pipeline = beam.Pipeline(options=options)
    stream = pipeline | TestStream().add_elements(["a"]).advance_watermark_to_infinity()
    assert not stream.is_bounded
    with pytest.raises(ValueError, match="bounded"):
        _ = (stream,) | WriteParts(beam.io.WriteToText(str(tmp_path / "r")))
