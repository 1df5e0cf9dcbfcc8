"""Store manifests as earlier importers wrote them, and as a hand edit leaves them: read as
written, or refused in one line; never read as something else."""
import json

import numpy as np
import pytest

from beamtagger.embeddings.store import MANIFEST_FILE, EmbeddingStore
from beamtagger.errors import BeamtaggerError
from beamtagger.testing import build_tiny_tagger


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    return build_tiny_tagger(tmp_path_factory.mktemp("tiny")).store_path


def _copy_with_manifest(store_path, tmp_path, edit):
    import shutil

    copy = shutil.copytree(store_path, tmp_path / "store")
    manifest = json.loads((copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    edit(manifest)
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    return copy


def test_a_manifest_from_before_the_content_digests_opens_with_the_same_vectors(tiny_store,
                                                                                tmp_path):
    # What importers wrote until a2ea62c (2026-12-01), e.g. 8b4e8ec's: no vocabulary_sha256 or
    # chunk_sha256. The default store of such a version is imported again (default.py); any
    # other opens with the header checks only.
    older = _copy_with_manifest(tiny_store, tmp_path, lambda manifest: [
        manifest.pop(key) for key in ("vocabulary_sha256", "chunk_sha256")])
    store, current = EmbeddingStore.open(older), EmbeddingStore.open(tiny_store)
    tokens = ["the", "Dogs", "unknownword", "1999"]
    assert np.array_equal(store.rows(tokens), current.rows(tokens))
    assert np.array_equal(store.lookup(tokens)[0], current.lookup(tokens)[0])
    assert store.fingerprint == current.fingerprint


@pytest.mark.parametrize("edit, message", [
    (lambda manifest: manifest.update(lookup_retries=False), "unknown field 'lookup_retries'"),
    (lambda manifest: manifest.update(dim=True), "missing or invalid 'dim'"),
], ids=["unknown-field", "dim-true"])
def test_a_manifest_field_unknown_or_of_another_type_is_refused(tiny_store, tmp_path, edit,
                                                                message):
    # Both opened: the unknown name was ignored, whatever it would have changed, and true was
    # taken as the dimension 1 (refused later, as a matrix of another shape).
    edited = _copy_with_manifest(tiny_store, tmp_path, edit)
    with pytest.raises(BeamtaggerError) as refused:
        EmbeddingStore.open(edited)
    assert str(refused.value).startswith(f"{edited / MANIFEST_FILE}: {message}")
    assert "\n" not in str(refused.value)
