"""The line a worker fails with when the model or store it loads is not the one its pipeline
was built against tells a library caller what to do: a pipeline object built in one notebook
cell and run in another after a retrain fails the same way however often it is run again."""
import hashlib

import pytest

from beamtagger.transforms.built_against import BuiltAgainst, ReplacedSinceBuilt


def recorded(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    return hashlib.sha256(content).hexdigest()


def test_a_model_saved_again_tells_to_build_the_pipeline_again(tmp_path):
    built = BuiltAgainst(model_dir="m", model_sha256=recorded(tmp_path, "tagger.json", b"{}"))
    (tmp_path / "tagger.json").write_bytes(b'{"threshold": 0.3}')
    with pytest.raises(ReplacedSinceBuilt) as raised:
        built.check_model("m", tmp_path)
    # Before: "... publish new models at a new path and run again", and running the same
    # pipeline object again failed again.
    assert str(raised.value) == (
        "model m was saved again after this pipeline was built (tagger.json differs): its "
        "workers would tag with two models; build the pipeline again to tag with the one there "
        "now (beamtagger tag: run it again), and publish new models at a new path")


def test_a_store_imported_again_tells_to_build_the_pipeline_again(tmp_path):
    built = BuiltAgainst(store_path="s", store_sha256=recorded(tmp_path, "manifest.json", b"{}"))
    (tmp_path / "manifest.json").write_bytes(b'{"fingerprint": "other"}')
    with pytest.raises(ReplacedSinceBuilt) as raised:
        built.check_store("s", tmp_path)
    assert str(raised.value) == (
        "embedding store s was imported again after this pipeline was built (manifest.json "
        "differs): its workers would look up vectors in two stores; build the pipeline again "
        "to read the one there now (beamtagger tag: run it again), and publish new stores at a "
        "new path")


def test_the_same_files_pass(tmp_path):
    built = BuiltAgainst("m", recorded(tmp_path, "tagger.json", b"{}"),
                         "s", recorded(tmp_path, "manifest.json", b"[]"))
    built.check_model("m", tmp_path)
    built.check_store("s", tmp_path)
