"""A remote runner's pipeline is built against the model and store ``beamtagger tag`` checked
(``pipeline/launch_files.py``): the digests of the files its checks read, recorded before them,
not those found again when the pipeline is built. A model saved again at its ``gs://`` path
between the checks and the build was recorded as the new one: every worker read the new model
(no mix), but not the one checked.

Deterministic and offline: a Dataflow ``--dry_run=True`` over the storage emulator, the model
replaced where the run builds its pipeline (``run_tag_job``) or inside the checks
(``check_job``'s read of the model), what ``TagTextInParts`` records taken as it is built."""
import hashlib
import pathlib
import shutil

import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.model.tagger_spec import SPEC_FILE
from beamtagger.pipeline import cli, tag_pipeline
from beamtagger.testing import build_tiny_tagger
from beamtagger.tests.dfuser_gpu_launch_test import DATAFLOW
from beamtagger.tests.gcs_emulated_test import (BUCKET, EXAMPLE, gcs,  # noqa: F401  (fixtures)
                                                staged_copies)
from beamtagger.transforms import tag_text, worker_resources
from beamtagger.transforms.built_against import BuiltAgainst


def _sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def _dry_run(capsys, model, store):
    code = cli.main(["tag", "--input", f"gs://{BUCKET}/corpus/*.txt", "--output",
                     f"gs://{BUCKET}/tagged/corpus", "--model", model, "--embeddings", store,
                     "--runtime", "numpy", *DATAFLOW])
    return code, capsys.readouterr().err


def _published(gcs, tiny_tagger, tmp_path):  # noqa: F811
    """(the model's and the store's gs:// paths, another model for the same store)."""
    gcs.put(EXAMPLE, "corpus/example.txt")
    other = build_tiny_tagger(tmp_path / "other", seed=8, store_path=tiny_tagger.store_path)
    assert _sha256(pathlib.Path(other.model_dir) / SPEC_FILE) != _sha256(
        pathlib.Path(tiny_tagger.model_dir) / SPEC_FILE)
    return (gcs.put(tiny_tagger.model_dir, "models/tiny"),
            gcs.put(tiny_tagger.store_path, "stores/tiny"), other)


def test_a_model_saved_again_after_the_checks_is_recorded_as_checked(
        gcs, staged_copies, tiny_tagger, tmp_path, capsys, monkeypatch):  # noqa: F811
    model, store, other = _published(gcs, tiny_tagger, tmp_path)
    recorded = []
    record = tag_text.TagTextInParts._built_against

    def recorded_as_built(self, pipeline, model):
        recorded.append(record(self, pipeline, model))
        return recorded[-1]

    monkeypatch.setattr(tag_text.TagTextInParts, "_built_against", recorded_as_built)
    run_tag_job = tag_pipeline.run_tag_job

    def replaced_then_built(job, options):
        gcs.put(other.model_dir, "models/tiny")
        return run_tag_job(job, options)

    monkeypatch.setattr(tag_pipeline, "run_tag_job", replaced_then_built)
    code, err = _dry_run(capsys, model, store)
    assert code == 0, err
    # What the checks read: the workers, loading the new model, fail (built_against).
    assert recorded == [BuiltAgainst(
        model, _sha256(pathlib.Path(tiny_tagger.model_dir) / SPEC_FILE),
        store, _sha256(pathlib.Path(tiny_tagger.store_path) / "manifest.json"))]


def test_a_model_the_checks_read_replaced_is_refused_before_launch(
        gcs, staged_copies, tiny_tagger, tmp_path, capsys, monkeypatch):  # noqa: F811
    # Saved again as the checks read it, then put back before they ended: the path's files
    # are the recorded ones again, and only the bytes the checks read tell.
    model, store, other = _published(gcs, tiny_tagger, tmp_path)
    load_spec = worker_resources.load_spec

    def read_while_replaced(model_dir=None, **kwargs):
        gcs.put(other.model_dir, "models/tiny")
        try:
            return load_spec(model_dir, **kwargs)
        finally:
            gcs.put(tiny_tagger.model_dir, "models/tiny")

    monkeypatch.setattr(worker_resources, "load_spec", read_while_replaced)
    code, err = _dry_run(capsys, model, store)
    assert code == 2, err
    assert err.strip().splitlines() == [
        f"beamtagger tag: error: model {model} was replaced while this run was being checked "
        "(a train, model set-threshold or embeddings import writing it?); nothing was tagged: "
        "run again once it is written"]


def test_a_path_read_where_given_and_replaced_after_the_checks_is_refused(tiny_tagger,
                                                                         tmp_path):
    # A remote runner's gs:// model (faultyfs:// here), read by its workers where it is: its
    # tagger.json is read again once the checks are done.
    from beamtagger.pipeline import launch_files
    from beamtagger.pipeline.tag_pipeline import TagJob
    from beamtagger.tests.faulty_filesystem import PREFIX
    from beamtagger.tests.pinned_launch_files_test import replaced_by

    local = shutil.copytree(tiny_tagger.model_dir, tmp_path / "m")
    other = build_tiny_tagger(tmp_path / "other", seed=8, store_path=tiny_tagger.store_path)
    model = PREFIX + str(local)
    job = TagJob("in.txt", "out", model_dir=model)
    with launch_files.pinned(job, remote=True) as launched:
        assert launched.job(job).built_against == BuiltAgainst(
            model, _sha256(local / SPEC_FILE))
        launched.check_unchanged()
        replaced_by(local, other.model_dir)
        with pytest.raises(BeamtaggerError, match=(
                f"^model {model} was replaced while this run was being checked")):
            launched.check_unchanged()
