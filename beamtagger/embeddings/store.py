"""The embedding store: word vectors kept outside the models, memory-mapped and shared.

A store is a directory of three files::

    vectors.npy     (count, dim) matrix, C order, little-endian float32 or float16
    vocab.parquet   one string column ``word``; row i names vector row i; no duplicates
    manifest.json   format_version, dim, count, dtype, normalization, source,
                    fingerprint, duplicates_skipped, lines_skipped, created,
                    beamtagger_version, vocabulary_sha256, chunk_sha256 (the last
                    three since 2026-12-01); any other name is refused (MANIFEST_FIELDS)

``EmbeddingStore.open`` maps ``vectors.npy`` read-only, so opening costs no copy and every
process that opens the same store shares one copy of the matrix in the page cache. The word
index (word -> row) is built lazily, once per process, under a lock.

Lookup tries each token through the store's normalization chain: the first step's form of the
token, then, for tokens still missing, the next step applied on top of the previous form, and so
on. With ``("exact", "lower", "digits_to_zero")`` the token "Mar-2021" is tried as "Mar-2021",
then "mar-2021", then "mar-0000". A token still missing that is not in Unicode NFC goes through
the chain once more in NFC ("café" written as "cafe" + U+0301 finds "café"); one still missing
that holds styled characters goes through it once more with them written plain, in NFC
(full-width "ＢＲＥＡＫＩＮＧ" and mathematical bold "𝐁𝐑𝐄𝐀𝐊𝐈𝐍𝐆" find "breaking", "ﬁnal" finds
"final"; "x²", "½" and "①" stay as they are: ``beamtagger.unicode_styles`` says which), as does
one found only by a later step than the plain form is (the digit rules read "１９９９" as "0000",
where "1999" is found at once); one still missing whose lower-cased form holds "i" + U+0307
(what ``str.lower`` makes of "İ", U+0130) goes through it once more with that dot dropped
("İran" finds "iran"). A token found by a retry counts as found by the chain step that found
its retried form (``rows_and_steps``).

The fingerprint identifies the content (vocabulary and vectors, not the source or the chain)::

    sha256(json {"count", "dim", "dtype", "vocabulary": V, "vectors": M}, sorted keys, compact)
    V = sha256(UTF-8 byte lengths of the words as little-endian uint32, then the words' UTF-8)
    M = sha256(the raw bytes of the C-order matrix)

so an importer can hash the matrix while it streams it out, and a trained model can record
which table it was trained against.

What ``open`` checks (cheap, every time): the manifest (at most ``MANIFEST_MAX_BYTES``), the
matrix's header (shape and dtype against the manifest, file long enough), the vocabulary file's
schema, row count and inflation (its footer), and a sample of the content (finite, too): the matrix is cut into at most ``CONTENT_CHUNKS`` runs of rows whose
SHA-256 (``chunk_sha256`` in the manifest) the importer recorded; the first, the last and one
chunk chosen at random are hashed again at every open. When the word index is first built
(the whole vocabulary is read then anyway), the vocabulary's digest is checked too
(``vocabulary_sha256``); ``check_vocabulary`` checks it without building the index, which
``tag`` does before it starts. A change confined to chunks that were not sampled is found only by
``verify`` (``beamtagger embeddings info --verify``), which hashes everything and also
checks every vector is finite and no word is repeated. Stores imported
before these keys existed get the header checks only.
"""
import hashlib
import json
import os
import pathlib
import random
import re
import threading
import unicodedata
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from beamtagger.errors import BeamtaggerError, not_readable, too_many_open_files
from beamtagger.tagging_defaults import shown
from beamtagger.unicode_styles import plain_style

__all__ = ["DTYPES", "DEFAULT_CASED_NORMALIZATION", "DEFAULT_UNCASED_NORMALIZATION",
           "EmbeddingStore", "MANIFEST_FILE", "NORMALIZATIONS", "VECTORS_FILE", "VOCAB_FILE",
           "check_normalization", "default_normalization"]

FORMAT_VERSION = 1
VECTORS_FILE = "vectors.npy"
VOCAB_FILE = "vocab.parquet"
MANIFEST_FILE = "manifest.json"
VOCAB_COLUMN = "word"
DTYPES = ("float32", "float16")
# Every name an importer of format_version 1 has written to the manifest. Only normalization
# (and the header fields) change lookups; a name outside this list came from a later
# beamtagger or a hand edit, and ignoring it could change them without a word.
MANIFEST_FIELDS = ("format_version", "dim", "count", "dtype", "normalization", "fingerprint",
                   "vocabulary_sha256", "chunk_sha256", "source", "duplicates_skipped",
                   "lines_skipped", "created", "beamtagger_version")

_DIGIT = re.compile(r"\d")

# Each step maps a token's previous form to its next one.
NORMALIZATIONS: Dict[str, Callable[[str], str]] = {
    "exact": lambda token: token,
    "lower": str.lower,
    "digits_to_zero": lambda token: _DIGIT.sub("0", token),
    # word2vec's GoogleNews vectors spell digits as '#' ("##", "#.#").
    "digits_to_hash": lambda token: _DIGIT.sub("#", token),
}
_EXACT = NORMALIZATIONS["exact"]


def _lower_without_dot_above(token):
    """``str.lower`` with the dot above (U+0307) dropped after "i": what "İ" (U+0130), or "I" +
    U+0307, lower-cases to in Turkish and Azerbaijani, whose "i" already has its dot."""
    return token.lower().replace("i\u0307", "i")


# For a vocabulary with upper-case words (GloVe 840B, fastText, word2vec) the token is tried as
# written first; for a lower-cased one (GloVe 6B) trying it as written can only find what its
# lower-cased form finds too, so the chain starts at "lower".
DEFAULT_CASED_NORMALIZATION = ("exact", "lower", "digits_to_zero")
DEFAULT_UNCASED_NORMALIZATION = ("lower", "digits_to_zero")

# Hashing in slices keeps verification of a multi-GB matrix from reading it all at once.
_HASH_SLICE_BYTES = 64 << 20
# The sampled content check at open: 1,024 chunks hash 78 KB each for the 400k x 50 default
# store, so the three sampled at every open cost well under a millisecond.
CONTENT_CHUNKS = 1024
CHUNK_DIGEST_HEX = 16
# A manifest is a few KB as importers write it (the 1,024 chunk digests take 26 KB): a 1 GB
# one, built in an audit (2026-12-06), took 3.2 GB of memory at every open and was accepted.
# The same bound as remote_paths.SMALL_FILE_MAX_BYTES for a gs:// store's manifest.
MANIFEST_MAX_BYTES = 16 << 20
# How far the words of vocab.parquet may inflate from their stored (compressed) bytes. The
# 400k GloVe 6B vocabulary inflates 1.3x (Snappy); a 768-byte vocab.parquet holding one 10 MB
# word as the dictionary entry of every row inflated 25,000x and took 3 GB (6 GB in tag).
MAX_VOCABULARY_INFLATION = 10
# Below this many inflated bytes a vocabulary is read whatever its ratio (a tiny store's
# Parquet metadata alone can exceed 10x its few stored bytes).
_SMALL_VOCABULARY_BYTES = 1 << 20


# One lock per process for building word indexes; re-created in a forked child, where a lock
# held by another thread of the parent at fork time would otherwise stay held forever.
_INDEX_LOCK = threading.Lock()


def _new_index_lock():
    global _INDEX_LOCK
    _INDEX_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_new_index_lock)


def check_normalization(chain) -> Tuple[str, ...]:
    """The chain as a tuple of step names; BeamtaggerError for unknown, repeated or no steps."""
    if isinstance(chain, str):
        chain = [step.strip() for step in chain.split(",") if step.strip()]
    chain = tuple(chain)
    if not chain:
        raise BeamtaggerError("the normalization chain is empty; name at least one of "
                              + ", ".join(NORMALIZATIONS))
    for step in chain:
        if not isinstance(step, str) or step not in NORMALIZATIONS:
            raise BeamtaggerError(f"unknown normalization {step!r}; choose from "
                                  + ", ".join(NORMALIZATIONS))
    if len(set(chain)) != len(chain):
        raise BeamtaggerError(f"normalization chain {','.join(chain)} repeats a step")
    return chain


def default_normalization(vocabulary_is_cased: bool) -> Tuple[str, ...]:
    return DEFAULT_CASED_NORMALIZATION if vocabulary_is_cased else DEFAULT_UNCASED_NORMALIZATION


def vocabulary_digest(words) -> str:
    """SHA-256 of a pyarrow string array: word byte lengths (uint32 LE), then the UTF-8 bytes."""
    import pyarrow as pa
    if isinstance(words, pa.ChunkedArray):
        words = words.combine_chunks()
    if words.null_count:
        raise BeamtaggerError("the vocabulary holds a missing (null) word")
    offset_type = np.int64 if pa.types.is_large_string(words.type) else np.int32
    _, offsets_buffer, data_buffer = words.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[
        words.offset:words.offset + len(words) + 1]
    digest = hashlib.sha256()
    digest.update(np.diff(offsets).astype("<u4").tobytes())
    if data_buffer is not None:
        digest.update(memoryview(data_buffer)[int(offsets[0]):int(offsets[-1])])
    return digest.hexdigest()


def vectors_digest(matrix: np.ndarray) -> str:
    """SHA-256 of the raw bytes of a C-order matrix, hashed slice by slice."""
    digest = hashlib.sha256()
    update_vectors_digest(digest, matrix)
    return digest.hexdigest()


def update_vectors_digest(digest, matrix: np.ndarray):
    if not matrix.flags.c_contiguous:
        raise ValueError("vectors must be C-contiguous to be hashed")
    rows_per_slice = max(1, _HASH_SLICE_BYTES // max(1, matrix.strides[0]))
    for start in range(0, matrix.shape[0], rows_per_slice):
        digest.update(memoryview(matrix[start:start + rows_per_slice]).cast("B"))


def chunk_digests(matrix: np.ndarray) -> dict:
    """{"rows": rows per chunk, "sha256": [truncated hex digest of each chunk]} of a matrix."""
    rows = -(-matrix.shape[0] // CONTENT_CHUNKS)
    return {"rows": rows, "sha256": [_chunk_digest(matrix, start, rows)
                                     for start in range(0, matrix.shape[0], rows)]}


def _chunk_digest(matrix, start, rows):
    return hashlib.sha256(memoryview(np.ascontiguousarray(matrix[start:start + rows])).cast("B")
                          ).hexdigest()[:CHUNK_DIGEST_HEX]


def _check_content_sample(path, vectors, manifest):
    chunks = manifest.get("chunk_sha256")
    if not isinstance(chunks, dict):
        return  # imported before the key existed
    try:
        rows, digests = int(chunks["rows"]), list(chunks["sha256"])
    except (KeyError, TypeError, ValueError):
        raise BeamtaggerError(f"{path / MANIFEST_FILE}: invalid 'chunk_sha256'") from None
    if not digests or rows < 1 or len(digests) != -(-vectors.shape[0] // rows):
        raise BeamtaggerError(f"{path / MANIFEST_FILE}: 'chunk_sha256' does not fit the matrix")
    for chunk in sorted({0, len(digests) - 1, random.randrange(len(digests))}):
        if _chunk_digest(vectors, chunk * rows, rows) != digests[chunk]:
            raise BeamtaggerError(
                f"{path / VECTORS_FILE}: rows {chunk * rows:,} to "
                f"{min(vectors.shape[0], (chunk + 1) * rows) - 1:,} do not hold the vectors the "
                "manifest records (the file was changed or damaged); import the vectors again")
        _check_finite(path / VECTORS_FILE, vectors[chunk * rows:(chunk + 1) * rows], chunk * rows)


def _check_finite(vectors_path, rows, first_row=0):
    """BeamtaggerError naming the first row of ``rows`` (row ``first_row`` of the matrix) that
    holds NaN or infinity. Importers drop such rows; a store holding them was written by hand,
    and its vectors made every label of a sentence the first label, with a null score."""
    finite = np.isfinite(rows).all(axis=1)
    if not finite.all():
        row = first_row + int(np.argmin(finite))
        raise BeamtaggerError(f"{vectors_path}: row {row:,} holds NaN or infinity, which no "
                              "importer writes; import the vectors again")


def combine_fingerprint(count: int, dim: int, dtype: str, vocabulary: str, vectors: str) -> str:
    summary = {"count": int(count), "dim": int(dim), "dtype": str(dtype),
               "vocabulary": vocabulary, "vectors": vectors}
    text = json.dumps(summary, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class EmbeddingStore:
    """A read-only, memory-mapped table of word vectors with a vectorised batch lookup.

    Safe to share between threads (the only mutable state, the lazily built word index, is
    built under a lock) and between processes (the matrix is a read-only file mapping).
    Pickles by path: unpickling re-opens the store and checks that its fingerprint is unchanged.
    Open one with ``EmbeddingStore.open(path)``, which checks the files; the constructor does not.

    Args:
      path: the store directory.
      manifest: its parsed ``manifest.json``.
      vectors: the (count, dim) matrix, usually the memory-mapped ``vectors.npy``.
    """

    def __init__(self, path, manifest, vectors):
        self.path = str(path)
        self.manifest = manifest
        self.dim = int(manifest["dim"])
        self.count = int(manifest["count"])
        self.dtype = np.dtype(manifest["dtype"])
        self.fingerprint = manifest["fingerprint"]
        self.normalization = tuple(manifest["normalization"])
        # A plain ndarray view of the np.memmap: slicing a memmap builds memmap objects, which
        # costs more per gather than the gather itself for small batches.
        self.vectors = np.asarray(vectors)
        self._steps = tuple(NORMALIZATIONS[step] for step in self.normalization)
        self._dotless_steps = (tuple(_lower_without_dot_above if step == "lower" else function
                                     for step, function in zip(self.normalization, self._steps))
                               if "lower" in self.normalization else None)
        self._index: Optional[dict] = None
        self._words: Optional[list] = None

    @classmethod
    def open(cls, path, verify=False) -> "EmbeddingStore":
        """Maps the store at ``path``; ``verify=True`` also recomputes the fingerprint.

        Raises BeamtaggerError when a file is missing, unreadable or does not match the
        manifest (shape, dtype, word count, fingerprint).
        """
        if not isinstance(path, (str, os.PathLike)):
            # pathlib's own words named no argument ("expected str, bytes or os.PathLike
            # object, not int"; bytes: "argument should be a str object ...").
            raise TypeError(f"EmbeddingStore.open's path must be a store's folder (a str or "
                            f"os.PathLike), not {type(path).__name__} {shown(path)}")
        path = pathlib.Path(path).expanduser().absolute()
        manifest = _read_manifest(path)
        vectors = _map_vectors(path, manifest)
        _check_vocabulary_file(path, manifest)
        _check_content_sample(path, vectors, manifest)
        store = cls(path, manifest, vectors)
        if verify:
            store.verify()
        return store

    def verify(self):
        """Recomputes the fingerprint from the files; BeamtaggerError if it differs, or if the
        vocabulary differs from its digest, repeats a word, or a vector holds NaN or infinity."""
        words = self._read_vocabulary()
        actual = combine_fingerprint(self.count, self.dim, self.dtype.name,
                                     vocabulary_digest(words), vectors_digest(self.vectors))
        if actual != self.fingerprint:
            raise BeamtaggerError(
                f"{self.path}: the store's content does not match its manifest (fingerprint "
                f"{actual[:16]}... computed, {self.fingerprint[:16]}... recorded): the files "
                "were changed or damaged; import the vectors again")
        # What no importer writes, in a store whose writer recomputed its digests.
        self._check_vocabulary_digest(words)
        self._check_unique(words)
        rows_per_slice = max(1, _HASH_SLICE_BYTES // max(1, self.vectors.strides[0]))
        for start in range(0, self.count, rows_per_slice):
            _check_finite(os.path.join(self.path, VECTORS_FILE),
                          self.vectors[start:start + rows_per_slice], start)

    def check_vocabulary(self):
        """Reads the vocabulary and checks it against the manifest's digest and for repeated
        words (BeamtaggerError), as building the word index does, without building it: 0.1 s
        for the 400k-word default store read again (0.36 s the first time; 2026-12-06, 2 shared
        cores), for a command to refuse a damaged store before its workers start (each of them
        would only find it at its first lookup, and every record became a dead letter)."""
        words = self._read_vocabulary()
        self._check_vocabulary_digest(words)
        self._check_unique(words)

    def _check_unique(self, words):
        # pyarrow's unique (a hash kernel on this thread), not count_distinct (an aggregation
        # run on its thread pool): on the 400k-word default store, first call in a fresh
        # process, 0.04 s of CPU and 0.11 s of wall against 0.08 s and 0.23 s, medians of 5
        # alternating, 2 shared cores under load; tag's start-up paid it (BENCHMARKS.md,
        # "beamtagger tag across ten sessions of checks"). A null word counts as a repeated
        # one, as count_distinct's only_valid mode counted it.
        import pyarrow.compute as pc
        if words.null_count or len(pc.unique(words)) != len(words):
            raise self._repeated_words()

    def _repeated_words(self):
        return BeamtaggerError(f"{self._vocab_path}: the vocabulary repeats words; the store is "
                               "damaged, import the vectors again")

    @property
    def words(self) -> list:
        """The vocabulary in row order (read on first use)."""
        self._word_index()
        return self._words

    def rows(self, tokens: Sequence[str]) -> np.ndarray:
        """Row of each token after the normalization chain; int64 (N,), -1 = out of vocabulary."""
        return self._find(tokens, with_steps=False)[0]

    def rows_and_steps(self, tokens: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
        """Rows as in ``rows`` plus, per token, the index of the chain step that found it
        (int8, -1 = out of vocabulary)."""
        return self._find(tokens, with_steps=True)

    def lookup(self, tokens: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
        """float32 (N, dim) vectors (zeros for OOV) and a bool (N,) in-vocabulary flag."""
        rows = self._find(tokens, with_steps=False)[0]
        in_vocab = rows >= 0
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        self._gather_into(rows, in_vocab, out)
        return out, in_vocab

    def gather(self, rows, out=None, dtype=np.float32) -> np.ndarray:
        """Vectors of ``rows`` (any shape; -1 gives a zero vector) as ``rows.shape + (dim,)``.

        ``out``, when given, must be a C-contiguous array of that shape; it is filled and
        returned.
        """
        rows = np.asarray(rows, dtype=np.int64)
        shape = rows.shape + (self.dim,)
        if out is None:
            out = np.empty(shape, dtype=dtype)
        elif out.shape != shape or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous array of shape {shape}, "
                             f"got {out.shape}")
        flat_rows = rows.reshape(-1)
        if flat_rows.size and (flat_rows.min() < -1 or flat_rows.max() >= self.count):
            raise IndexError(f"rows must lie in [-1, {self.count}), got "
                             f"[{flat_rows.min()}, {flat_rows.max()}]")
        self._gather_into(flat_rows, flat_rows >= 0, out.reshape(-1, self.dim))
        return out

    def _find(self, tokens, with_steps, chain=None):
        """Rows (and steps) of ``tokens`` through ``chain`` (None: the store's, then the retries
        of the tokens still missing)."""
        # Per-token work stays in one dict probe in a list comprehension; the later steps of
        # the chain run only on the tokens still missing, usually a few per batch. A lookup
        # of one 16-token sentence costs a few microseconds, so the fixed numpy overhead per
        # call is kept small too (see bench/store_bench.py).
        retries = chain is None
        chain = chain or self._steps
        get = self._word_index().get
        if chain[0] is _EXACT:
            forms = tokens if isinstance(tokens, list) else list(tokens)
        else:
            first_step = chain[0]
            forms = [first_step(token) for token in tokens]
        found = [get(form, -1) for form in forms]
        steps = np.zeros(len(found), dtype=np.int8) if with_steps else None
        first_missing = missing = []
        if -1 in found:
            missing = first_missing = [i for i, row in enumerate(found) if row < 0]
            missing_forms = [forms[i] for i in missing]
            for step_number, step in enumerate(chain[1:], start=1):
                still_missing, still_missing_forms = [], []
                for i, form in zip(missing, map(step, missing_forms)):
                    row = get(form, -1)
                    if row < 0:
                        still_missing.append(i)
                        still_missing_forms.append(form)
                    else:
                        found[i] = row
                        if with_steps:
                            steps[i] = step_number
                missing, missing_forms = still_missing, still_missing_forms
                if not missing:
                    break
        if retries and first_missing:
            if missing:
                self._find_as_nfc(tokens, missing, found, steps)
            self._find_in_plain_style(tokens, first_missing, found, steps)
            if self._dotless_steps and missing:
                self._find_without_dot_above(tokens, missing, found, steps)
        rows = np.array(found, dtype=np.int64)
        if with_steps:
            steps[rows < 0] = -1
        return rows, steps

    def _find_as_nfc(self, tokens, missing, found, steps):
        """Looks the missing tokens that are not in Unicode NFC up again in NFC, through the
        whole chain. Decomposed text (macOS, PDF and web extraction: "café" as "cafe" + U+0301)
        missed every accented word: the vocabularies are NFC (all 400k GloVe 6B words are).
        Only canonical equivalents are tried here; NFKC ("x²" -> "x2") would look up another
        text (``_find_in_plain_style`` takes the part of it that changes only the style)."""
        retry = [i for i in missing if not unicodedata.is_normalized("NFC", tokens[i])]
        if not retry:
            return
        rows, retry_steps = self._find([unicodedata.normalize("NFC", tokens[i]) for i in retry],
                                       with_steps=steps is not None, chain=self._steps)
        for j, i in enumerate(retry):
            found[i] = int(rows[j])
            if steps is not None:
                steps[i] = retry_steps[j]

    def _find_in_plain_style(self, tokens, first_missing, found, steps):
        """Looks the tokens that the chain's first step missed and that hold styled characters
        (full-width "ｗｏｒｄ", mathematical bold "𝐰𝐨𝐫𝐝", the ligature of "ﬁnal") up again
        written plain, in NFC, through the whole chain (``unicode_styles.plain_style`` says
        which characters count as styled, and why not NFKC). The plain form's row is taken
        where the styled form was not found, or was found at a later step: the digit rules read
        styled digits as digits, so "１１:２１" was "00:00" at the last step where "11:21" is
        found at the first. An ASCII token costs one ``isascii``."""
        retry, plain_tokens = [], []
        for i in first_missing:
            token = tokens[i]
            if not token.isascii():
                plain = plain_style(token)
                if plain is not token:
                    retry.append(i)
                    plain_tokens.append(unicodedata.normalize("NFC", plain))
        if not retry:
            return
        rows, plain_steps = self._find(plain_tokens, with_steps=True, chain=self._steps)
        # The step at which the chain found each styled form (-1: it did not; a retry did).
        _, styled_steps = self._find([tokens[i] for i in retry], with_steps=True,
                                     chain=self._steps)
        for j, i in enumerate(retry):
            if rows[j] >= 0 and (found[i] < 0 or plain_steps[j] < styled_steps[j]):
                found[i] = int(rows[j])
                if steps is not None:
                    steps[i] = plain_steps[j]

    def _find_without_dot_above(self, tokens, missing, found, steps):
        """Looks the missing tokens whose lower-cased form (in NFC) holds "i" + U+0307 up again
        through the chain with that dot dropped where it lower-cases. ``str.lower`` keeps the
        dot of "İ" (U+0130): "İran".lower() is "i̇ran", which GloVe 6B lacks, while it holds
        "iran". A token found with its dot keeps that row (GloVe 6B holds 24 such words, such
        as "i̇stanbul")."""
        retry = [i for i in missing
                 if found[i] < 0 and ("\u0130" in tokens[i] or "\u0307" in tokens[i])]
        if not retry:
            return
        rows, retry_steps = self._find(
            [unicodedata.normalize("NFC", tokens[i]) for i in retry],
            with_steps=steps is not None, chain=self._dotless_steps)
        for j, i in enumerate(retry):
            if rows[j] >= 0:
                found[i] = int(rows[j])
                if steps is not None:
                    steps[i] = retry_steps[j]

    def _gather_into(self, rows, in_vocab, out):
        """Fills the 2-D ``out`` with the vectors of 1-D ``rows``, all within [-1, count)."""
        if not rows.size:
            return
        all_in_vocab = in_vocab.all()
        safe_rows = rows if all_in_vocab else np.where(in_vocab, rows, 0)
        if out.dtype == self.dtype:
            # mode="clip" (rows are already checked) lets np.take write straight into out;
            # the default mode="raise" goes through a temporary buffer.
            np.take(self.vectors, safe_rows, axis=0, out=out, mode="clip")
        else:
            # np.take then one cast: 2.6x faster than casting through fancy indexing
            # (out[...] = vectors[rows]) for 8,192 rows of a 400k x 300 float16 table.
            np.copyto(out, np.take(self.vectors, safe_rows, axis=0, mode="clip"))
        if not all_in_vocab:
            out[~in_vocab] = 0

    def __len__(self):
        return self.count

    def __repr__(self):
        return (f"EmbeddingStore({self.path!r}, count={self.count}, dim={self.dim}, "
                f"dtype={self.dtype.name}, normalization={','.join(self.normalization)})")

    def __reduce__(self):
        return _reopen, (self.path, self.fingerprint)

    @property
    def _vocab_path(self):
        return os.path.join(self.path, VOCAB_FILE)

    def _word_index(self) -> dict:
        index = self._index
        if index is None:
            with _INDEX_LOCK:
                if self._index is None:
                    self._words, self._index = self._read_word_index()
                index = self._index
        return index

    def _read_word_index(self):
        # A dict built once per process and probed in a list comprehension: measured on the
        # 400k GloVe vocabulary, 0.09 us/token for a 10k-token batch and 0.15 s to build, where
        # pyarrow.compute.index_in rebuilds its hash table on every call (77 ms per batch) and
        # numpy searchsorted over a sorted StringDType array costs 3.8 us/token.
        column = self._read_vocabulary()
        self._check_vocabulary_digest(column)
        words = column.to_pylist()
        if len(words) != self.count:
            raise BeamtaggerError(f"{self._vocab_path}: holds {len(words)} words, "
                                  f"the manifest says {self.count}")
        index = dict(zip(words, range(len(words))))
        if len(index) != len(words):
            raise self._repeated_words()
        return words, index


    def _read_vocabulary(self):
        import pyarrow.parquet as pq
        try:
            return pq.read_table(self._vocab_path, columns=[VOCAB_COLUMN]).column(VOCAB_COLUMN)
        except Exception as error:  # pyarrow raises several types for a damaged file
            raise too_many_open_files(error, self._vocab_path) or BeamtaggerError(
                f"{self._vocab_path}: cannot read the vocabulary: {error}")

    def _check_vocabulary_digest(self, column):
        recorded = self.manifest.get("vocabulary_sha256")
        if recorded is not None and vocabulary_digest(column) != recorded:
            raise BeamtaggerError(f"{self._vocab_path}: the vocabulary is not the one the "
                                  "manifest records (changed or damaged); import the vectors "
                                  "again")


def _reopen(path, fingerprint):
    store = EmbeddingStore.open(path)
    if store.fingerprint != fingerprint:
        raise BeamtaggerError(
            f"{path}: the embedding store changed since it was pickled (fingerprint "
            f"{store.fingerprint[:16]}... now, {fingerprint[:16]}... then)")
    return store


def _read_manifest(path: pathlib.Path) -> dict:
    if not path.is_dir():
        raise BeamtaggerError(f"{path}: no embedding store there (not a directory)")
    manifest_path = path / MANIFEST_FILE
    try:
        with open(manifest_path, "rb") as file:
            content = file.read(MANIFEST_MAX_BYTES + 1)
    except FileNotFoundError:
        raise BeamtaggerError(f"{path}: not an embedding store ({MANIFEST_FILE} is missing); "
                              "create one with `beamtagger embeddings import`")
    except OSError as error:
        raise too_many_open_files(error, manifest_path) or BeamtaggerError(
            f"{manifest_path}: unreadable manifest: {error}")
    if len(content) > MANIFEST_MAX_BYTES:
        raise BeamtaggerError(f"{manifest_path}: unreadable manifest: it holds more than "
                              f"{MANIFEST_MAX_BYTES:,} bytes, where importers write a few KB")
    return parse_manifest(content, manifest_path)


def parse_manifest(content: bytes, manifest_path) -> dict:
    """The manifest in ``content`` (the bytes of ``manifest_path``), checked: BeamtaggerError
    naming ``manifest_path`` where it is not one this beamtagger reads."""
    try:
        manifest = json.loads(content.decode("utf-8"))
    except RecursionError:
        raise BeamtaggerError(f"{manifest_path}: unreadable manifest: JSON nested too deeply "
                              "to read") from None
    except ValueError as error:
        raise BeamtaggerError(f"{manifest_path}: unreadable manifest: {error}")
    if not isinstance(manifest, dict):
        raise BeamtaggerError(f"{manifest_path}: unreadable manifest: not a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BeamtaggerError(f"{manifest_path}: store format version {version!r}; this "
                              f"beamtagger reads version {FORMAT_VERSION}")
    for key, kind in (("dim", int), ("count", int), ("dtype", str), ("fingerprint", str),
                      ("normalization", list)):
        # bool is an int to isinstance: "dim": true was read as a dimension of 1.
        if not isinstance(manifest.get(key), kind) or isinstance(manifest[key], bool):
            raise BeamtaggerError(f"{manifest_path}: missing or invalid {key!r}")
    unknown = sorted(key for key in manifest if key not in MANIFEST_FIELDS)
    if unknown:
        raise BeamtaggerError(
            f"{manifest_path}: unknown field {unknown[0]!r} (written by a later beamtagger, or "
            "by hand), which this beamtagger would ignore though it may change the lookups; "
            "use the beamtagger that wrote it, or import the vectors again")
    if manifest["dim"] < 1 or manifest["count"] < 1:
        raise BeamtaggerError(f"{manifest_path}: dim and count must be positive")
    if manifest["dtype"] not in DTYPES:
        raise BeamtaggerError(f"{manifest_path}: dtype {manifest['dtype']!r} is not one of "
                              + ", ".join(DTYPES))
    try:
        check_normalization(manifest["normalization"])
    except BeamtaggerError as error:
        raise BeamtaggerError(f"{manifest_path}: {error}")
    return manifest


def _map_vectors(path: pathlib.Path, manifest: dict) -> np.ndarray:
    vectors_path = path / VECTORS_FILE
    if not vectors_path.is_file():
        raise BeamtaggerError(f"{path}: incomplete embedding store ({VECTORS_FILE} is missing)")
    try:
        vectors = np.load(vectors_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        # np.load raises ValueError for a bad header and for a file shorter than its header says.
        # not_readable: a vectors.npy of another user's (mode 600) was "truncated" to every
        # command but tag, whose launch checks it first.
        raise too_many_open_files(error, vectors_path) or not_readable(
            error, vectors_path) or BeamtaggerError(
            f"{vectors_path}: unreadable or truncated matrix: {error}")
    check_matrix_header(vectors_path, vectors.shape, vectors.dtype, vectors.flags.c_contiguous,
                        manifest)
    return vectors


def check_matrix_header(vectors_path, shape, dtype, c_order: bool, manifest: dict):
    """BeamtaggerError, naming ``vectors_path``, unless the matrix's header (``shape``,
    ``dtype``, whether in C order) is the one ``manifest`` describes."""
    expected_shape = (manifest["count"], manifest["dim"])
    if tuple(shape) != expected_shape:
        raise BeamtaggerError(f"{vectors_path}: matrix shape {tuple(shape)} does not match "
                              f"the manifest's {expected_shape}")
    expected_dtype = np.dtype(manifest["dtype"]).newbyteorder("<")
    if dtype != expected_dtype:
        raise BeamtaggerError(f"{vectors_path}: matrix dtype {dtype.str} does not "
                              f"match the manifest's {expected_dtype.str}")
    if not c_order:
        raise BeamtaggerError(f"{vectors_path}: matrix is not in C order")


def _check_vocabulary_file(path: pathlib.Path, manifest: dict):
    vocab_path = path / VOCAB_FILE
    if not vocab_path.is_file():
        raise BeamtaggerError(f"{path}: incomplete embedding store ({VOCAB_FILE} is missing)")
    check_vocabulary_metadata(vocab_path, manifest)


def check_vocabulary_metadata(vocab_path, manifest: dict, source=None):
    """BeamtaggerError, naming ``vocab_path``, unless its Parquet footer holds a string column
    of the manifest's word count. ``source``: where to read it (a file object open on a remote
    path); by default ``vocab_path`` itself. Reads the footer only."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    try:
        metadata = pq.read_metadata(vocab_path if source is None else source)
        schema = metadata.schema.to_arrow_schema()
    except Exception as error:  # pyarrow raises several types for a damaged file
        raise too_many_open_files(error, vocab_path) or BeamtaggerError(
            f"{vocab_path}: unreadable vocabulary: {error}")
    if VOCAB_COLUMN not in schema.names or not (
            pa.types.is_string(schema.field(VOCAB_COLUMN).type)
            or pa.types.is_large_string(schema.field(VOCAB_COLUMN).type)):
        raise BeamtaggerError(f"{vocab_path}: no string column {VOCAB_COLUMN!r}")
    if metadata.num_rows != manifest["count"]:
        raise BeamtaggerError(f"{vocab_path}: holds {metadata.num_rows} words, the manifest "
                              f"says {manifest['count']}")
    _check_vocabulary_inflation(vocab_path, metadata)


def _check_vocabulary_inflation(vocab_path, metadata):
    """BeamtaggerError where the footer says the words inflate far beyond their stored bytes:
    pyarrow decompresses a column chunk whole, so the read costs the inflated size."""
    chunks = [metadata.row_group(group).column(column)
              for group in range(metadata.num_row_groups)
              for column in range(metadata.num_columns)
              if metadata.row_group(group).column(column).path_in_schema == VOCAB_COLUMN]
    stored = sum(chunk.total_compressed_size for chunk in chunks)
    inflated = sum(chunk.total_uncompressed_size for chunk in chunks)
    if inflated > max(MAX_VOCABULARY_INFLATION * stored, _SMALL_VOCABULARY_BYTES):
        raise BeamtaggerError(
            f"{vocab_path}: its words inflate from {stored:,} stored bytes to {inflated:,}, "
            f"more than {MAX_VOCABULARY_INFLATION}x (imported ones about 1.3x): not a "
            "vocabulary beamtagger wrote; import the vectors again")
