"""A remote model directory or embedding store (``gs://``: a path FileSystems serves and the
local disk does not), checked where a pipeline is built without copying it: a listing of its
files and a read of its small ones, never the model file or the matrix.

What is read: the model's ``tagger.json`` (parsed and checked as ``TaggerSpec.load`` checks
it) and the listed size of ``tagger.keras`` against the size ``tagger.json`` records; the
store's ``manifest.json`` (checked as ``EmbeddingStore.open`` checks it), the header of
``vectors.npy`` (a few hundred bytes: shape and dtype against the manifest, and the listed
size long enough for the matrix) and the Parquet footer of ``vocab.parquet`` (its column and
word count). What only the whole files can tell (the model file's SHA-256, the matrix's
content sample, the vocabulary's digest) is checked where they are copied: by ``beamtagger
tag`` before launch, by the workers when they load them.

Its callers: the checks where a pipeline is built (``worker_resources``: ``checked_model``,
``store_summary``, whose SHA-256 of ``tagger.json`` and ``manifest.json`` the workers compare
with what they load: ``built_against.py``), whose RemoteUnreadable message names ``validate=False``, and ``beamtagger
model info`` of a ``gs://`` model (``pipeline/model_command``: ``listed_files``,
``model_spec_data``, ``read_small_file``, ``store_summary``), which words its own from the
error's ``path`` and ``reason``. ``not_found`` tells the readers of byte ranges
(``reading.byte_ranges``, ``reading.csv_ranges``) an object gone since the listing.
"""
import contextlib
import hashlib
from typing import Any, NamedTuple, Tuple

import numpy as np

from beamtagger.errors import BeamtaggerError

__all__ = ["SMALL_FILE_MAX_BYTES", "CheckedModel", "RemoteUnreadable", "StoreSummary",
           "checked_model", "listed_files", "model_spec_data", "not_found", "read_small_file",
           "store_summary"]


# The most read of a JSON file of a model or store (a few KB as beamtagger writes them): a
# larger file there is none of its writing, and is not held in memory whole.
SMALL_FILE_MAX_BYTES = 16 << 20


class RemoteUnreadable(BeamtaggerError):
    """A remote ``path`` that could not be listed or read (``reason``, one line): its message
    is that of a check where a pipeline is built; another command words its own."""

    def __init__(self, path, reason):
        super().__init__(f"cannot read {path} where the pipeline is built: {reason}; pass "
                         "validate=False to leave it to the workers")
        self.path, self.reason = path, reason


class StoreSummary(NamedTuple):
    """What a store's manifest says of it: all ``TaggerSpec.check_store`` reads, and the
    manifest's SHA-256 (``built_against.py``)."""
    path: str
    dim: int
    normalization: Tuple[str, ...]
    fingerprint: str
    manifest_sha256: str


class CheckedModel(NamedTuple):
    """What the check of a remote model read: its TaggerSpec, and the SHA-256 of the
    ``tagger.json`` it was read from (``built_against.py``)."""
    spec: Any
    spec_sha256: str


def checked_model(model_dir) -> CheckedModel:
    """The CheckedModel of the remote ``model_dir``, its model file's size checked against the
    one ``tagger.json`` records (``saving.check_model_file_size``); BeamtaggerError naming the
    path otherwise."""
    from beamtagger.model.saving import check_model_file_size
    from beamtagger.model.tagger_spec import MODEL_FILE, SPEC_FILE, TaggerSpec, parse_spec_json

    files = listed_files(model_dir, f"model directory {model_dir} does not exist")
    content = _spec_content(model_dir, files)
    data = parse_spec_json(content, files[SPEC_FILE].path)
    check_model_file_size(files[MODEL_FILE].path, files[MODEL_FILE].size_in_bytes, data)
    return CheckedModel(TaggerSpec.from_json(data, files[SPEC_FILE].path),
                        hashlib.sha256(content).hexdigest())


def model_spec_data(model_dir, files):
    """The parsed ``tagger.json`` of the remote ``model_dir`` whose ``listed_files`` are
    ``files``; BeamtaggerError where it or the model file is missing, as ``TaggerSpec.load``
    says of a local one."""
    from beamtagger.model.tagger_spec import SPEC_FILE, parse_spec_json

    return parse_spec_json(_spec_content(model_dir, files), files[SPEC_FILE].path)


def _spec_content(model_dir, files):
    from beamtagger.model.tagger_spec import MODEL_FILE, SPEC_FILE

    for name in (SPEC_FILE, MODEL_FILE):
        if name not in files:
            raise BeamtaggerError(f"{model_dir} is not a tagger model: {name} is missing")
    return read_small_file(files[SPEC_FILE].path)


def store_summary(store_path) -> StoreSummary:
    """The StoreSummary of the remote ``store_path``, its small files checked against its
    manifest; BeamtaggerError naming the path otherwise."""
    from beamtagger.embeddings.store import (MANIFEST_FILE, VECTORS_FILE, VOCAB_FILE,
                                             check_matrix_header, check_vocabulary_metadata,
                                             parse_manifest)

    files = listed_files(store_path, f"{store_path}: no embedding store there")
    if MANIFEST_FILE not in files:
        raise BeamtaggerError(f"{store_path}: not an embedding store ({MANIFEST_FILE} is "
                              "missing); create one with `beamtagger embeddings import`")
    manifest_content = read_small_file(files[MANIFEST_FILE].path)
    manifest = parse_manifest(manifest_content, files[MANIFEST_FILE].path)
    for name in (VECTORS_FILE, VOCAB_FILE):
        if name not in files:
            raise BeamtaggerError(f"{store_path}: incomplete embedding store ({name} is "
                                  "missing)")
    vectors = files[VECTORS_FILE]
    with _reading(vectors.path), _open(vectors.path) as stream:
        shape, c_order, dtype, data_start = _matrix_header(stream, vectors.path)
    check_matrix_header(vectors.path, shape, dtype, c_order, manifest)
    needed = data_start + manifest["count"] * manifest["dim"] * dtype.itemsize
    if vectors.size_in_bytes < needed:
        raise BeamtaggerError(f"{vectors.path}: unreadable or truncated matrix: "
                              f"{vectors.size_in_bytes:,} bytes, its header needs {needed:,}")
    with _reading(files[VOCAB_FILE].path), _open(files[VOCAB_FILE].path) as stream:
        check_vocabulary_metadata(files[VOCAB_FILE].path, manifest, stream)
    return StoreSummary(str(store_path), manifest["dim"], tuple(manifest["normalization"]),
                        manifest["fingerprint"], hashlib.sha256(manifest_content).hexdigest())


def listed_files(path, absent):
    """{name below ``path`` (``sub/name`` in a folder of it): its FileMetadata};
    BeamtaggerError ``absent`` where none, RemoteUnreadable where the listing fails."""
    from apache_beam.io.filesystems import FileSystems

    prefix = str(path).rstrip("/")
    try:
        matched = FileSystems.match([prefix + "/**"])[0].metadata_list
    except (ValueError, OSError) as error:
        # ValueError: no file system for the scheme here; OSError (Beam's BeamIOError): the
        # listing failed, e.g. a launcher without the bucket's credentials.
        raise _unreadable(path, error) from None
    if not matched:
        raise BeamtaggerError(absent)
    return {metadata.path[len(prefix):].lstrip("/"): metadata for metadata in matched}


@contextlib.contextmanager
def _reading(path):
    """RemoteUnreadable for what reading ``path`` raises but a BeamtaggerError (which names
    it already). An object deleted since its listing raised the storage client's NotFound (no
    OSError), a traceback (tagger.json in ``model info``; the matrix header and vocabulary
    footer in ``tag`` too): at the first read on Beam 2.78, whose gs:// reader opens without a
    request, and in ``_open`` on 2.77, whose reader asks for the object's metadata there."""
    try:
        yield
    except BeamtaggerError:
        raise
    except Exception as error:  # noqa: BLE001  (each file system raises its own)
        raise _unreadable(path, error) from None


def not_found(error):
    """Whether ``error``, no OSError, is a remote file system's "no such object" (HTTP 404:
    the storage client's NotFound, or the InvalidResponse under it): a ``gs://`` object
    deleted, renamed or replaced since its listing (a replaced one while read: the reader asks
    for the generation its first request found). Raised as ``_reading`` says: at Beam 2.77's
    open, at 2.78's first read."""
    if isinstance(error, OSError):
        return False
    response = getattr(error, "response", None)
    return 404 in (getattr(error, "code", None), getattr(response, "status_code", None))


def _open(path):
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    try:
        return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    except OSError as error:
        raise _unreadable(path, error) from None


def read_small_file(path) -> bytes:
    """The bytes of the remote file ``path``, read whole; RemoteUnreadable where it cannot
    be, or holds more than SMALL_FILE_MAX_BYTES."""
    with _reading(path), _open(path) as stream:
        content = stream.read(SMALL_FILE_MAX_BYTES + 1)
    if len(content) > SMALL_FILE_MAX_BYTES:
        raise RemoteUnreadable(path, f"it holds more than {SMALL_FILE_MAX_BYTES:,} bytes, "
                                     "where beamtagger writes a few KB there")
    return content


def _unreadable(path, error):
    # One line: Beam's BeamIOError holds a dict of exceptions, its repr spread over lines.
    return RemoteUnreadable(path, " ".join(str(error).split()))


def _matrix_header(stream, vectors_path):
    """(shape, C order, dtype, where the data starts) from the .npy header at ``stream``."""
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(stream)
        read_header = (npy.read_array_header_1_0 if version == (1, 0)
                       else npy.read_array_header_2_0)
        shape, fortran_order, dtype = read_header(stream)
    except (OSError, ValueError) as error:
        raise BeamtaggerError(f"{vectors_path}: unreadable or truncated matrix: {error}"
                              ) from None
    return shape, not fortran_order, np.dtype(dtype), stream.tell()
