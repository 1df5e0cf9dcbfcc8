"""A RunInference that takes model updates (``model_metadata_pcoll``, ``watch_model_pattern``)
serves the model at its path as it is when a worker loads it, and still holds the store to
what was checked (``model_handler.updates_models``).

Held to the model it was built with (``built_against.py``), a worker that loaded between a
model saved again at its path and the update reporting it (Beam's WatchFilePattern reports a
file saved again where it was) failed the run with "build the pipeline again", where
docs/library.md says a model such an update brings is served, even at the same path."""
import apache_beam as beam
import pytest
from apache_beam.ml.inference.base import (KeyedModelHandler, ModelMetadata, RunInference)
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.errors import BeamtaggerError
from beamtagger.testing import build_tiny_tagger
from beamtagger.tests.pinned_launch_files_test import TEXTS, launched, replaced_by  # noqa: F401
from beamtagger.transforms import TextRecord
from beamtagger.transforms.model_handler import TaggerModelHandler

RECORDS = [TextRecord(str(number), text) for number, text in enumerate(TEXTS)]


def test_a_model_saved_again_before_its_update_reaches_the_workers_is_served(
        launched, tmp_path):  # noqa: F811
    # ModelMetadata("", ""): what WatchFilePattern gives before it has seen a new file, so
    # the worker loads model_dir as it is. Failed before with ReplacedSinceBuilt.
    model, store, _ = launched
    retrained = build_tiny_tagger(tmp_path / "retrained", seed=8, store_path=store)
    pipeline = beam.Pipeline()
    updates = pipeline | "Updates" >> beam.Create([ModelMetadata(model_id="", model_name="")])
    results = (pipeline | beam.Create(RECORDS)
               | RunInference(TaggerModelHandler(str(model), str(store), runtime="numpy"),
                              model_metadata_pcoll=updates))
    assert_that(results | beam.Map(lambda result: list(result.inference.labels)),
                equal_to([retrained.labels(text) for text in TEXTS]))
    replaced_by(model, retrained.model_dir)
    pipeline.run().wait_until_finish()


@pytest.mark.parametrize("updates", ["watch_model_pattern", "model_metadata_pcoll", "none"])
def test_only_a_runinference_with_model_updates_leaves_its_model_unheld(
        tiny_tagger, updates):
    # Built only: WatchFilePattern's stream is never run. KeyedModelHandler passes the check
    # on to the handler inside it, with the RunInference still the one being applied.
    handler = TaggerModelHandler(**tiny_tagger.options)
    pipeline = beam.Pipeline()
    options = {"watch_model_pattern": f"{tiny_tagger.model_dir}/tagger.keras",
               "model_metadata_pcoll": pipeline | "Updates" >> beam.Create([]),
               "none": None}[updates]
    keyed = pipeline | beam.Create([("a", "Beam tags this.")])
    _ = keyed | RunInference(KeyedModelHandler(handler),
                             **({} if options is None else {updates: options}))
    recorded = handler._built_against
    assert recorded.store_sha256 is not None
    assert (recorded.model_sha256 is None) is (updates != "none")


def test_the_store_is_still_held_under_model_updates(launched, tmp_path):  # noqa: F811
    model, store, _ = launched
    other = build_tiny_tagger(tmp_path / "other", seed=9)
    pipeline = beam.Pipeline()
    updates = pipeline | "Updates" >> beam.Create([ModelMetadata(model_id="", model_name="")])
    _ = (pipeline | beam.Create(RECORDS)
         | RunInference(TaggerModelHandler(str(model), str(store), runtime="numpy",
                                           allow_other_embeddings=True),
                        model_metadata_pcoll=updates))
    replaced_by(store, other.store_path)
    with pytest.raises(BeamtaggerError, match=f"^embedding store {store} was imported again"):
        pipeline.run().wait_until_finish()
