"""TagText, TagBatches, AttachVectors and TaggerModelHandler refuse, where they are built, a
model directory or store on this machine that the workers would fail on, in the words of
``beamtagger tag``; a path that is not here (in the workers' image, ``gs://``) is not read
where they are built (a remote one is checked where they are applied:
``transforms_remote_paths_checked_test``)."""
import shutil

import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.embedding_store_test import make_store
from beamtagger.transforms import AttachVectors, TagBatches, TaggerModelHandler, TagText

BUILDERS = {
    "TagText": lambda model, store: TagText(model_dir=model, store_path=store,
                                            runtime="numpy"),
    "TaggerModelHandler": lambda model, store: TaggerModelHandler(model_dir=model,
                                                                  store_path=store,
                                                                  runtime="numpy"),
    "AttachVectors": lambda model, store: AttachVectors(store_path=store, model_dir=model),
}
MODEL_BUILDERS = {**BUILDERS, "TagBatches": lambda model, store: TagBatches(model)}


def _store_as_model(tiny, tmp_path):
    return tiny.store_path, tiny.store_path


def _empty_folder(tiny, tmp_path):
    (tmp_path / "empty").mkdir()
    return str(tmp_path / "empty"), tiny.store_path


def _corrupt_spec(tiny, tmp_path):
    model = shutil.copytree(tiny.model_dir, tmp_path / "model")
    (model / "tagger.json").write_text("{", encoding="utf-8")
    return str(model), tiny.store_path


@pytest.mark.parametrize("build", MODEL_BUILDERS.values(), ids=MODEL_BUILDERS)
@pytest.mark.parametrize("case, message", [
    (_store_as_model, "is not a tagger model: tagger.json is missing"),
    (_empty_folder, "is not a tagger model: tagger.json is missing"),
    (_corrupt_spec, "tagger.json is corrupt"),
])
def test_a_folder_here_that_is_not_a_model_is_refused_where_the_transform_is_built(
        tiny_tagger, tmp_path, build, case, message):
    # Found only when the job ran, by the first worker to load it: a traceback from
    # pipeline.run() after the whole pipeline was built (and, on Dataflow, launched).
    model, store = case(tiny_tagger, tmp_path)
    with pytest.raises(BeamtaggerError, match=message):
        build(model, store)


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS)
def test_a_store_here_that_is_not_one_or_does_not_fit_the_model_is_refused(
        tiny_tagger, tmp_path, build):
    with pytest.raises(BeamtaggerError, match="not an embedding store"):
        build(tiny_tagger.model_dir, tiny_tagger.model_dir)
    other_dimension, _ = make_store(tmp_path, dim=3)
    with pytest.raises(BeamtaggerError, match="has dimension 3"):
        build(tiny_tagger.model_dir, str(other_dimension))
    with pytest.raises(BeamtaggerError, match="has dimension 3"):
        build(None, str(other_dimension))   # the bundled model's binding


@pytest.mark.parametrize("build", MODEL_BUILDERS.values(), ids=MODEL_BUILDERS)
def test_paths_not_on_this_machine_are_left_to_the_workers(tiny_tagger, tmp_path, build):
    for model, store in [(str(tmp_path / "in-the-image" / "model"),
                          str(tmp_path / "in-the-image" / "store")),
                         ("gs://no-such-bucket/model", "gs://no-such-bucket/store"),
                         (tiny_tagger.model_dir, "gs://no-such-bucket/store")]:
        build(model, store)
    build("file://" + tiny_tagger.model_dir, "file://" + tiny_tagger.store_path)


def test_the_transforms_refuse_in_the_words_of_beamtagger_tag(tiny_tagger, tmp_path, capsys,
                                                               text_in):
    code, _, err = run_tag_command(capsys, "--input", str(text_in), "--output",
                                   str(tmp_path / "out" / "run"), "--model",
                                   tiny_tagger.store_path, "--embeddings",
                                   tiny_tagger.store_path)
    assert code == 2
    with pytest.raises(BeamtaggerError) as refused:
        TagText(model_dir=tiny_tagger.store_path, store_path=tiny_tagger.store_path)
    assert err.strip() == f"beamtagger tag: error: {refused.value}"
