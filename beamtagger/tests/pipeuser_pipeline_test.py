"""A Beam developer's own pipeline around TagText and RunInference, written from the docs:
their own JSON Lines read with ``ReadFromText`` + ``json.loads``, their own JSON written, and
the mistakes such a pipeline makes first."""
import glob
import json

import apache_beam as beam
import pytest
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.errors import BeamtaggerError
from beamtagger.transforms import (TaggerModelHandler, TagText, TextRecord, WriteDeadLetters,
                                   WriteResults)

DRY_DATAFLOW = ["--runner=DataflowRunner", "--dry_run=True", "--no_auth",
                "--project=my-project", "--region=us-central1",
                "--temp_location=gs://my-bucket/tmp"]


def _lines(pattern):
    return sorted(line for path in glob.glob(pattern) for line in open(path, encoding="utf-8"))


def test_own_json_lines_in_and_out_as_library_md_writes_them(tiny_tagger, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "text": "Beam tags this."}\n'
                      '{"id": "b", "text": "the cat sat", "lang": "en"}\n', encoding="utf-8")
    with TestPipeline(runner=FnApiRunner()) as p:
        dicts = p | beam.io.ReadFromText(str(source)) | beam.Map(json.loads)
        records = dicts | "AsRecords" >> beam.Map(
            lambda d: TextRecord(d["id"], d["text"], fields={"lang": d.get("lang")}))
        out = records | TagText(**tiny_tagger.options)
        out.tagged | WriteResults(str(tmp_path / "out" / "tagged"))
        out.errors | WriteDeadLetters(str(tmp_path / "out" / "tagged"))
        (out.tagged | "OwnJson" >> beam.Map(
            lambda r: json.dumps(r.to_json_dict(), ensure_ascii=False, separators=(",", ":")))
         | "WriteOwn" >> beam.io.WriteToText(str(tmp_path / "own" / "tagged")))
        # The dicts themselves: a dead letter each, whose reason says what to make of them.
        unmade = dicts | "AsIs" >> TagText(**tiny_tagger.options)
        # Each located by its id, not by the repr of the whole dict.
        assert_that(unmade.errors | beam.Map(
            lambda d: (d.source, d.stage, d.reason.split(": ", 1)[1])),
                    equal_to([(id_, "tokenize", "TypeError(\"records are TextRecord or "
                               "TokenizedRecord, not dict: make each a TextRecord(d['id'], "
                               "d['text']) first (or a beam.Row with id and text columns)\")")
                              for id_ in ("a", "b")]))
    written = _lines(str(tmp_path / "out" / "tagged-0*.jsonl"))
    assert [json.loads(line)["id"] for line in written] == ["a", "b"]
    assert written == _lines(str(tmp_path / "own" / "tagged-*"))
    assert _lines(str(tmp_path / "out" / "tagged-errors-*")) == []


def test_run_inference_says_what_to_make_of_a_dict(tiny_tagger):
    from beamtagger.transforms.model_handler import record_of

    with pytest.raises(TypeError, match=r"not dict: make each a TextRecord\(d\['id'\]"):
        record_of({"id": "a", "text": "Beam tags this."})


def test_a_model_or_store_missing_here_is_refused_where_applied_when_the_workers_are_here(
        tiny_tagger, tmp_path):
    missing = str(tmp_path / "no-such-model")
    local_runs = [lambda: beam.Pipeline(runner=FnApiRunner()),
                  lambda: beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"])),
                  lambda: beam.Pipeline(options=PipelineOptions(
                      ["--runner=PortableRunner", "--job_endpoint=embed",
                       "--environment_type=LOOPBACK"]))]
    for pipeline in local_runs:
        records = pipeline() | beam.Create([TextRecord("a", "Beam tags this.")])
        # Before: built, launched, then a worker's traceback at its first bundle.
        with pytest.raises(BeamtaggerError, match="model directory .*no-such-model does not "
                                                  "exist"):
            records | TagText(missing, tiny_tagger.store_path, runtime="numpy")
        with pytest.raises(BeamtaggerError, match="no-such-store: no embedding store there"):
            records | "Tag2" >> TagText(tiny_tagger.model_dir, str(tmp_path / "no-such-store"),
                                        runtime="numpy")
        with pytest.raises(BeamtaggerError, match="does not exist"):
            records | RunInference(TaggerModelHandler(missing, tiny_tagger.store_path,
                                                      runtime="numpy"))
    # Dataflow's workers may hold it in their image; validate=False leaves it to them anyway.
    records = beam.Pipeline(options=PipelineOptions(DRY_DATAFLOW)) | beam.Create(["x"])
    records | beam.Map(lambda t: TextRecord("a", t)) | TagText(missing, tiny_tagger.store_path)
    records = beam.Pipeline(runner=FnApiRunner()) | beam.Create([TextRecord("a", "x")])
    records | TagText(missing, tiny_tagger.store_path, runtime="numpy", validate=False)


@pytest.mark.parametrize("text, advice", [
    (b"Beam tags this.", "the text is bytes, not a string: decode it first"),
    (None, "the text is None, not a string: leave the record out, or give it \"\""),
    (3.5, "the text is a float, not a string: make it one, e.g. str(text)"),
    (7, "the text is an int, not a string: make it one, e.g. str(text)")])
def test_a_text_that_is_no_string_is_a_dead_letter_saying_what_to_do(text, advice):
    from beamtagger.tagging.record_checks import checked_record

    letter = checked_record(TextRecord("doc-1", text))
    assert letter.source == "doc-1" and letter.stage == "tokenize"
    assert advice in letter.reason
