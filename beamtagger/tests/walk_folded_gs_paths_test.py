"""A ``gs://`` model or store given through ``pathlib.Path``, which folds it into ``gs:/``, is
refused where the transform or ``Tagger`` is built, naming the path to give instead
(``tagging_defaults.path_option``).

It was read as a local relative folder: "model directory gs:/b/m does not exist" where the
workers are this machine's, and on Dataflow (a local path there is left to the workers) a
job launched to fail on every worker."""
import pathlib

import pytest

from beamtagger import Tagger
from beamtagger.errors import BeamtaggerError
from beamtagger.transforms import AttachVectors, TagBatches, TagText, TaggerModelHandler

BUILDERS = {
    "TagText": lambda model, store: TagText(model_dir=model, store_path=store),
    "TagBatches": lambda model, store: TagBatches(model_dir=model, store_path=store),
    "AttachVectors": lambda model, store: AttachVectors(store_path=store, model_dir=model),
    "TaggerModelHandler": lambda model, store: TaggerModelHandler(model, store),
    "Tagger": lambda model, store: Tagger(model, store),
}


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
@pytest.mark.parametrize("which", ["model_dir", "store_path"])
def test_a_gs_path_folded_by_pathlib_is_refused_naming_the_path_to_give(
        tiny_tagger, build, which):
    folded = {"model_dir": pathlib.Path("gs://bucket/models/ner"),
              "store_path": pathlib.Path("gs://bucket/stores/glove")}[which]
    paths = {"model_dir": tiny_tagger.model_dir, "store_path": tiny_tagger.store_path,
             which: folded}
    with pytest.raises(BeamtaggerError) as raised:
        build(paths["model_dir"], paths["store_path"])
    assert str(raised.value) == (
        f"{which} {folded} is a gs:// path with one slash (pathlib.Path folds gs:// so): "
        f"give it as a str, gs:/{str(folded)[3:]}")


def test_paths_that_are_not_folded_urls_are_taken_as_before(tiny_tagger, tmp_path):
    from beamtagger.tagging_defaults import path_option

    # str(pathlib.Path("gs://b") / "m") is as folded as the Path itself.
    with pytest.raises(BeamtaggerError, match="^store_path gs:/b/m is a gs:// path"):
        path_option("store_path", str(pathlib.Path("gs://b") / "m"))
    for given in ("gs://b/m", "models/ner", "/abs/models", "C:/models/ner", "./gs:/m"):
        assert path_option("model_dir", given) == given
    assert path_option("model_dir", None) is None
    handler = TaggerModelHandler(pathlib.Path(tiny_tagger.model_dir),
                                 pathlib.Path(tiny_tagger.store_path), runtime="numpy")
    assert (handler.model_dir, handler.store_path) == (tiny_tagger.model_dir,
                                                       tiny_tagger.store_path)
