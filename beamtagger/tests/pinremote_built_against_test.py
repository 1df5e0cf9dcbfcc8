"""A pipeline's workers load the model and store it was checked against where it was built
(``transforms/built_against.py``): one saved again at the same path after the pipeline was
built fails the run with one line naming the path, where every worker set up after the
replacement tagged with the new files and the run succeeded.

Deterministic and in-process: the pipeline is built (its transforms applied), then the model or
store is replaced as ``train --overwrite`` and ``embeddings import --overwrite`` replace it
(renamed into place), then the pipeline runs. A local folder stands for the remote path
(the DirectRunner's workers read this machine's files), and ``faultyfs://`` (a Beam file
system over the local disk, as ``gs://`` would be) for a staged remote one."""
import pathlib

import apache_beam as beam
import pytest
from apache_beam.ml.inference.base import RunInference
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.errors import BeamtaggerError
from beamtagger.testing import TinyTagger, build_tiny_tagger
from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.faulty_filesystem import PREFIX
from beamtagger.pipeline import tag_pipeline
from beamtagger.tests.pinned_launch_files_test import TEXTS, launched, replaced_by  # noqa: F401
from beamtagger.tests.transforms_model_handler_test import remote_models  # noqa: F401
from beamtagger.transforms import TagText, TextRecord
from beamtagger.transforms.model_handler import TaggerModelHandler

RECORDS = [TextRecord(str(number), text) for number, text in enumerate(TEXTS)]


def tagged_then_replaced(transform, replace, expected_labels=None):
    """Runs ``transform`` over RECORDS in a pipeline built before ``replace()``; with
    ``expected_labels``, the run asserts that its results carry them, in order."""
    pipeline = beam.Pipeline()
    results = pipeline | beam.Create(RECORDS) | transform
    if expected_labels is not None:   # RunInference's PredictionResults
        assert_that(results | beam.Map(lambda result: (result.example.id,
                                                       list(result.inference.labels))),
                    equal_to(list(zip((record.id for record in RECORDS), expected_labels))))
    replace()
    pipeline.run().wait_until_finish()


def test_tagtext_fails_where_its_model_was_saved_again_after_it_was_built(
        launched, tmp_path):  # noqa: F811
    model, store, _ = launched
    other = build_tiny_tagger(tmp_path / "other", seed=8, store_path=store)
    with pytest.raises(BeamtaggerError) as raised:
        tagged_then_replaced(TagText(str(model), str(store), runtime="numpy"),
                             lambda: replaced_by(model, other.model_dir))
    assert str(raised.value).startswith(
        f"model {model} was saved again after this pipeline was built (tagger.json differs): "
        "its workers would tag with two models; build the pipeline again to tag with the one "
        "there now (beamtagger tag: run it again), and publish new models at a new path")
    assert "\n" not in str(raised.value)


def test_tagtext_fails_where_its_store_was_imported_over_after_it_was_built(
        launched, tmp_path):  # noqa: F811
    # Other vectors of the same dimension: with allow_other_embeddings the run looked them up
    # and succeeded.
    model, store, _ = launched
    other = build_tiny_tagger(tmp_path / "other", seed=9)
    with pytest.raises(BeamtaggerError, match=(
            f"^embedding store {store} was imported again after this pipeline was built "
            r"\(manifest.json differs\)")):
        tagged_then_replaced(TagText(str(model), str(store), runtime="numpy",
                                     allow_other_embeddings=True),
                             lambda: replaced_by(store, other.store_path))


def test_runinference_fails_where_its_remote_model_was_saved_again_after_it_was_built(
        tiny_tagger, remote_models):  # noqa: F811
    first, second, _ = remote_models
    local = pathlib.Path(first[len(PREFIX):])
    handler = TaggerModelHandler(first, tiny_tagger.store_path, runtime="numpy")
    with pytest.raises(BeamtaggerError, match=(
            f"^model {first} was saved again after this pipeline was built")):
        tagged_then_replaced(RunInference(handler),
                             lambda: replaced_by(local, second[len(PREFIX):]))


def test_without_validate_nothing_is_recorded(tiny_tagger, remote_models):  # noqa: F811
    # validate=False: the workers read what they find, here the new model.
    first, second, _ = remote_models
    new = TinyTagger(second[len(PREFIX):], tiny_tagger.store_path)
    handler = TaggerModelHandler(first, tiny_tagger.store_path, runtime="numpy",
                                 validate=False)
    tagged_then_replaced(
        RunInference(handler),
        lambda: replaced_by(pathlib.Path(first[len(PREFIX):]), second[len(PREFIX):]),
        expected_labels=[new.labels(text) for text in TEXTS])


def test_beamtagger_tag_stops_in_one_line_where_a_store_read_in_place_is_imported_over(
        launched, tmp_path, capsys, monkeypatch):  # noqa: F811
    # A store that cannot be hard-linked beside it is read in place (launch_files): one
    # imported over it once the pipeline was built was read by the workers, its vectors
    # looked up with --allow-other-embeddings, and the run exited 0.
    from beamtagger import atomic_dirs

    model, store, text = launched
    other = build_tiny_tagger(tmp_path / "other", seed=9)

    def no_links(path, **_):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic_dirs, "linked_copy", no_links)
    build = tag_pipeline.build_tag_pipeline

    def built_then_replaced(pipeline, job):
        built = build(pipeline, job)
        replaced_by(store, other.store_path)
        return built

    monkeypatch.setattr(tag_pipeline, "build_tag_pipeline", built_then_replaced)
    code, _, err = run_tag_command(capsys, "--input", str(text), "--output",
                                   str(tmp_path / "out"), "--model", str(model),
                                   "--embeddings", str(store), "--allow-other-embeddings")
    assert code == 1, err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"beamtagger tag: error: embedding store {store} was imported "
                           "again after this pipeline was built"), line
    assert not list(tmp_path.glob("out-*"))
