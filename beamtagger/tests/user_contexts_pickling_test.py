"""TagText, TagBatches and RunInference(TaggerModelHandler) where Beam pickles them as users'
runs do: built in a script's ``__main__`` under each pickle library, with
``--save_main_session``, in worker processes of their own, and through the runner API proto
that Dataflow and the portable runners receive.
"""
import subprocess
import sys

import apache_beam as beam
import pytest
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.tests.conftest import REPO_ROOT
from beamtagger.tests.docs_examples_test import child_env
from beamtagger.transforms import TaggerModelHandler, TagText, TextRecord

SCRIPT = REPO_ROOT / "beamtagger" / "tests" / "user_contexts_main_script.py"
# By its class: the DirectRunner would hand the pipeline to Prism where it can download it
# (conftest.direct_runner_without_prism).
FN_API_RUNNER = "--runner=apache_beam.runners.portability.fn_api_runner.FnApiRunner"
# Through the DirectRunner: the FnApiRunner named by its class starts its worker processes
# without the pickle library, so under dill every pipeline fails there, a plain
# Map(function) too ("No module named '__builtin__'": dill's pickles read by cloudpickle;
# Beam 2.78). Where Prism can be downloaded, the DirectRunner runs these on Prism.
IN_TWO_PROCESSES = ("--runner=DirectRunner", "--direct_running_mode=multi_processing",
                    "--direct_num_workers=2")


def needs_dill(options):
    if "--pickle_library=dill" in options:
        pytest.importorskip("dill", reason="--pickle_library=dill needs apache-beam[dill]")


@pytest.mark.parametrize("options", [
    (),
    ("--pickle_library=cloudpickle",),
    ("--pickle_library=cloudpickle", "--save_main_session"),
    ("--pickle_library=dill",),
    ("--pickle_library=dill", "--save_main_session"),
    ("--save_main_session", *IN_TWO_PROCESSES),
    ("--pickle_library=dill", "--save_main_session", *IN_TWO_PROCESSES),
], ids=lambda options: " ".join(options) or "default")
def test_a_script_s_main_pipeline_tags_every_record(tiny_tagger, options, tmp_path):
    needs_dill(options)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), tiny_tagger.model_dir, tiny_tagger.store_path,
         *(() if "--runner=DirectRunner" in options else (FN_API_RUNNER,)), *options],
        cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tagged 3 records twice" in done.stdout


def pipeline_tagging(options, tiny_tagger, texts):
    """A pipeline with TagText's and RunInference's labels asserted, not yet run."""
    expected = [(id, tuple(tiny_tagger.labels(text))) for id, text in texts.items()]
    p = beam.Pipeline(runner=FnApiRunner(), options=options)
    # With a record whose text is no string: its dead letter must come through too.
    records = p | beam.Create([*(TextRecord(id, text) for id, text in texts.items()),
                               TextRecord("x", 7)])
    out = records | "Tag" >> TagText(**tiny_tagger.options)
    assert_that(out.tagged | beam.Map(lambda r: (r.id, tuple(r.labels))), equal_to(expected),
                label="Tagged")
    assert_that(out.errors | beam.Map(lambda e: e.stage), equal_to(["tokenize"]),
                label="Errors")
    inferred = (records | beam.Filter(lambda r: isinstance(r.text, str))
                | RunInference(TaggerModelHandler(**tiny_tagger.options)))
    assert_that(inferred | beam.Map(lambda r: (r.inference.id, tuple(r.inference.labels))),
                equal_to(expected), label="Inferred")
    return p


@pytest.mark.parametrize("pickle_library", ["cloudpickle", "dill"])
def test_the_pipeline_survives_the_runner_api_proto(tiny_tagger, pickle_library):
    needs_dill((f"--pickle_library={pickle_library}",))
    texts = {"a": "Beam tags this.", "b": "I like green apples."}
    options = PipelineOptions([f"--pickle_library={pickle_library}"])
    built = pipeline_tagging(options, tiny_tagger, texts)
    proto = beam_runner_api_pb2.Pipeline.FromString(
        built.to_runner_api().SerializeToString())
    # As a portable runner receives it: the transforms exist only as their payloads.
    rebuilt = beam.Pipeline.from_runner_api(proto, FnApiRunner(), options)
    assert rebuilt.run().wait_until_finish() == "DONE"
