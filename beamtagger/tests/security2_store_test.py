"""An embedding store from someone else: each artifact built in the 2026-12-06 audit, from a few
bytes here, is refused in one line by ``EmbeddingStore.open``, ``verify`` or
``check_vocabulary`` (what ``tag`` runs before launch) instead of costing gigabytes, a
traceback, or tagging every token with the first label. The attacker writes the digests too,
so each store is re-signed as the attacker would."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beamtagger.embeddings import store as store_format
from beamtagger.embeddings.store import EmbeddingStore
from beamtagger.errors import BeamtaggerError
from beamtagger.tests.embedding_store_test import make_store


@pytest.fixture
def store(tmp_path):
    return make_store(tmp_path)[0]


def _resign(path, words, vectors, **parquet_options):
    """Writes ``words`` and ``vectors`` as the store at ``path`` with every digest recomputed."""
    pq.write_table(pa.table({"word": words}), path / "vocab.parquet", **parquet_options)
    np.save(path / "vectors.npy", vectors)
    manifest = json.loads((path / "manifest.json").read_text())
    vocabulary = store_format.vocabulary_digest(pa.array(words, pa.string()))
    manifest.update(
        count=len(words), vocabulary_sha256=vocabulary,
        chunk_sha256=store_format.chunk_digests(vectors),
        fingerprint=store_format.combine_fingerprint(
            len(words), vectors.shape[1], vectors.dtype.name, vocabulary,
            store_format.vectors_digest(vectors)))
    (path / "manifest.json").write_text(json.dumps(manifest))


def _content(path):
    return pq.read_table(path / "vocab.parquet").column("word").to_pylist(), np.load(
        path / "vectors.npy")


def test_a_vocabulary_that_inflates_like_a_bomb_is_refused_from_its_footer(store):
    words, vectors = _content(store)
    # 2 MB of one repeated word stored in a few KB: read whole, such a vocabulary took 3 GB.
    words[1] = "a" * (2 << 20)
    _resign(store, words, vectors, compression="zstd")
    with pytest.raises(BeamtaggerError, match=r"inflate from [\d,]+ stored bytes .* more than 10x"):
        EmbeddingStore.open(store)


def test_repeated_words_are_refused_before_launch_and_by_verify(store):
    words, vectors = _content(store)
    words[2] = words[1]
    _resign(store, words, vectors)
    opened = EmbeddingStore.open(store)
    with pytest.raises(BeamtaggerError, match="repeats words"):
        opened.check_vocabulary()   # tag launched, then made every record a dead letter
    with pytest.raises(BeamtaggerError, match="repeats words"):
        opened.verify()             # embeddings info --verify called the store sound


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_vectors_are_refused(store, value):
    words, vectors = _content(store)
    everywhere = np.full_like(vectors, value)
    _resign(store, words, everywhere)
    with pytest.raises(BeamtaggerError, match="row 0 holds NaN or infinity"):
        EmbeddingStore.open(store)  # sampled chunks: every label was the first, scores null
    one_row = vectors.copy()
    one_row[4, 1] = value
    _resign(store, words, one_row)
    # Built without open: which chunks open samples is random.
    opened_unchecked = EmbeddingStore(store, json.loads((store / "manifest.json").read_text()),
                                        one_row)
    with pytest.raises(BeamtaggerError, match="row 4 holds NaN or infinity"):
        opened_unchecked.verify()


def test_the_vocabulary_digest_is_checked_by_verify(store):
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["vocabulary_sha256"] = "0" * 64
    (store / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BeamtaggerError, match="not the one the manifest records"):
        EmbeddingStore.open(store, verify=True)


def test_deeply_nested_manifest_is_refused_in_one_line(store):
    (store / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BeamtaggerError, match="nested too deeply"):
        EmbeddingStore.open(store)   # was a RecursionError traceback in every command


def test_a_manifest_larger_than_any_importer_writes_is_not_read_whole(store, monkeypatch):
    monkeypatch.setattr(store_format, "MANIFEST_MAX_BYTES", 1 << 10)
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["source"] = "x" * (2 << 10)   # a 1 GB one took 3.2 GB and was accepted
    (store / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BeamtaggerError, match="holds more than 1,024 bytes"):
        EmbeddingStore.open(store)
