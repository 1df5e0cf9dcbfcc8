"""Where a pipeline's workers run decides whether a model or store missing here is refused
where TagText or RunInference(TaggerModelHandler) is applied (``runs_on_this_machine``): only
where no worker could find it, never where they may run in a container of their own."""
import apache_beam as beam
import pytest
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from beamtagger.errors import BeamtaggerError
from beamtagger.transforms import TaggerModelHandler, TagText, TextRecord
from beamtagger.transforms.worker_resources import runs_on_this_machine


def _records(options=(), runner=None):
    pipeline = beam.Pipeline(runner=runner, options=PipelineOptions(list(options)))
    return pipeline | beam.Create([TextRecord("a", "Beam tags this.")])


@pytest.mark.parametrize("environment", [
    ["--environment_type=DOCKER", "--environment_config=my-image-with-the-model"],
    ["--environment_type=EXTERNAL", "--environment_config=localhost:50000"]])
def test_the_direct_runner_told_to_run_its_workers_elsewhere_builds(tiny_tagger, tmp_path,
                                                                      environment):
    # The DirectRunner hands a batch pipeline to Prism, which starts its workers in the
    # environment asked for: a container whose image may hold the model. Refused before.
    in_the_image = str(tmp_path / "in-the-image" / "model")
    records = _records(["--runner=DirectRunner", *environment])
    assert not runs_on_this_machine(records.pipeline)
    records | TagText(in_the_image, tiny_tagger.store_path, runtime="numpy")
    records | RunInference(TaggerModelHandler(in_the_image, tiny_tagger.store_path,
                                              runtime="numpy"))


def test_runners_that_ignore_the_environment_still_refuse_it(tiny_tagger, tmp_path):
    # The FnApiRunner runs every worker in this process whatever environment is named.
    docker = ["--environment_type=DOCKER", "--environment_config=my-image"]
    for records in (_records(docker, runner=FnApiRunner()),
                    _records(["--runner=BundleBasedDirectRunner", *docker]),
                    _records(["--runner=DirectRunner", "--environment_type=LOOPBACK"])):
        assert runs_on_this_machine(records.pipeline)
        with pytest.raises(BeamtaggerError, match="no-such-model does not exist"):
            records | TagText(str(tmp_path / "no-such-model"), tiny_tagger.store_path,
                              runtime="numpy")


def test_a_test_pipeline_given_the_test_direct_runner_refuses_a_missing_model(tiny_tagger,
                                                                             tmp_path):
    # TestPipeline's --test-pipeline-options runner: this process's, as the DirectRunner.
    records = _records(["--runner=TestDirectRunner"])
    assert runs_on_this_machine(records.pipeline)
    with pytest.raises(BeamtaggerError, match="no-such-model does not exist"):
        records | TagText(str(tmp_path / "no-such-model"), tiny_tagger.store_path,
                          runtime="numpy")


def test_a_model_and_store_under_home_given_with_a_tilde_are_found(tiny_tagger, tmp_path,
                                                                   monkeypatch):
    # The store, saving and importing expanded "~"; a model given so was "does not exist".
    import shutil

    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copytree(tiny_tagger.model_dir, tmp_path / "models" / "ner")
    shutil.copytree(tiny_tagger.store_path, tmp_path / "stores" / "tiny")
    records = _records(["--runner=DirectRunner"])
    records | TagText("~/models/ner", "~/stores/tiny", runtime="numpy")
    from beamtagger import Tagger

    tagged = Tagger("~/models/ner", "~/stores/tiny").tag("Beam tags this.")
    assert tagged.labels == tuple(tiny_tagger.labels("Beam tags this."))
