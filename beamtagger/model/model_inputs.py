"""``ModelInputs``: the one contract between featurizing and the network.

Training batches (``batching.pad_batch``), evaluation, ``TaggerRunner.predict`` and the Beam
stages' Arrow batches (``transforms/arrow_batches.py``) all build and read this type, through
the one padding function here. ``FIELDS`` lists every input with its dtype and shape; the Keras
signature, the Arrow columns and the checks are derived from it, so adding an input is one
``InputField`` here plus the featurizer method that computes it (``TokenFeaturizer.featurize``)
and the layer that reads it.

Shapes use B (sentences), T (padded length), D (vector dimension), F (feature columns), C
(characters per token). Every row is right-padded; ``lengths`` holds the real lengths (>= 1).

The word vectors come one of two ways, exactly one of them set: ``vectors`` (the store's rows
gathered on the host, what every runtime reads) or ``store_rows`` (``STORE_ROWS``: the rows
alone, 4 bytes a slot instead of 2-4 x D, gathered later: ``with_vectors`` on the host, or the
JAX runner on its device from a table of the store it holds there). ``store_rows`` is not one
of ``FIELDS``: the model reads vectors either way, and the inputs fingerprint stays the same.
NumPy (and pyarrow, imported only by the Arrow helpers) only: ``model/`` never imports Beam.
"""
import dataclasses
import functools
import hashlib
import json
import math
from typing import Optional

import numpy as np

VECTOR_DTYPES = ("float32", "float16")


def check_vector_dtype(vector_dtype):
    """``vector_dtype`` if it is one of VECTOR_DTYPES, else ValueError (where a transform or
    handler is built: found later, every record of the run became a dead letter)."""
    if vector_dtype not in VECTOR_DTYPES:
        raise ValueError(f"vector_dtype must be one of {VECTOR_DTYPES}, not {vector_dtype!r}")
    return vector_dtype

# The Arrow schema metadata key holding the spec fingerprint of the featurizer that built a batch.
FINGERPRINT_KEY = b"beamtagger.inputs_fingerprint"
# And, in a batch of store rows, the fingerprint of the store they are rows of: the model's
# binding (in the inputs fingerprint) may name another store (allow_other_embeddings).
STORE_FINGERPRINT_KEY = b"beamtagger.store_fingerprint"


@dataclasses.dataclass(frozen=True)
class InputField:
    name: str
    dtype: str      # "float" for vectors: float32 or float16; else a fixed NumPy dtype
    dims: tuple     # symbolic shape, e.g. ("B", "T", "F")
    token_level: bool = True  # made per token by the featurizer, padded with zeros


FIELDS = (
    InputField("vectors", "float", ("B", "T", "D"), token_level=False),
    InputField("lengths", "int32", ("B",), token_level=False),
    InputField("extra_ids", "int32", ("B", "T")),
    InputField("feature_ids", "int32", ("B", "T", "F")),
    InputField("char_ids", "int32", ("B", "T", "C")),
)
FIELD_NAMES = tuple(field.name for field in FIELDS)
# Instead of "vectors": each slot's store row, -1 for out of vocabulary and padding (the rows
# whose vectors are zeros).
STORE_ROWS = InputField("store_rows", "int32", ("B", "T"), token_level=False)
TOKEN_FIELDS = tuple(field for field in FIELDS if field.token_level)
# The id fields may also travel in a narrower unsigned type (``id_dtypes``); the Keras signature
# and the fingerprint keep FIELDS' int32.
ID_FIELDS = tuple(field.name for field in TOKEN_FIELDS)
NARROW_ID_DTYPES = ("uint8", "uint16")


def id_dtypes(featurizer):
    """{id field: the narrowest type that holds every id of ``featurizer`` (a
    ``TokenFeaturizer``)}: uint8 for tables of up to 256 rows, uint16 up to 65,536, else int32.

    Chosen from the table sizes, not from a batch's values, so every batch of a model has one
    Arrow schema. The bundled model's ids take 30 bytes a slot instead of 92
    (bench/batch_bytes.py); the JAX runner sends them to its device as they are."""
    def narrowest(size):
        return "uint8" if size <= 1 << 8 else "uint16" if size <= 1 << 16 else "int32"

    return {"extra_ids": narrowest(featurizer.num_extra_rows),
            "feature_ids": narrowest(max(featurizer.feature_sizes or [1])),
            "char_ids": narrowest(featurizer.char_vocab_size)}


class InputsMismatch(ValueError):
    """A batch was built by a featurizer other than the model's (another spec fingerprint)."""


def inputs_fingerprint(featurizer_config, binding):
    """sha256 over everything that decides what the inputs mean: the fields, the featurizer's
    config (tables, char vocabulary) and the embedding store binding."""
    payload = {"fields": [dataclasses.astuple(field) for field in FIELDS],
               "featurizer": featurizer_config, "binding": binding}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclasses.dataclass
class ModelInputs:
    vectors: Optional[np.ndarray]  # float32 | float16 (B, T, D): zeros for OOV and padding
    lengths: np.ndarray      # int32 (B,)
    # The ids: int32, or the model's narrower id_dtypes (the Arrow batches' columns)
    extra_ids: np.ndarray    # (B, T): TokenFeaturizer.extra_ids
    feature_ids: np.ndarray  # (B, T, F): TokenFeaturizer.feature_ids
    char_ids: np.ndarray     # (B, T, C): TokenFeaturizer.char_ids
    store_rows: Optional[np.ndarray] = None  # int32 (B, T), where vectors is None (STORE_ROWS)

    @property
    def batch_size(self):
        return int(self.lengths.shape[0])

    @property
    def width(self):
        return int(self.extra_ids.shape[1])

    def _fields(self):
        """The fields this batch carries: FIELDS, with STORE_ROWS in place of vectors."""
        return FIELDS if self.store_rows is None else (STORE_ROWS,) + FIELDS[1:]

    def with_vectors(self, store, vector_dtype="float32"):
        """Self with ``store_rows`` gathered into ``vectors`` from ``store`` (-1: zeros), in
        ``vector_dtype``: what the host-side runtimes read. Self where vectors are here."""
        if self.store_rows is None:
            return self
        vectors = store.gather(self.store_rows, dtype=np.dtype(check_vector_dtype(vector_dtype)))
        return dataclasses.replace(self, vectors=vectors, store_rows=None)

    @classmethod
    def zeros(cls, dims, lengths, vector_dtype="float32", store_rows=False):
        """All-zero inputs of a model's fixed sizes ``dims`` (``TaggerSpec.input_dims``),
        B = len(lengths) rows padded to the longest (the runners' warm-up batches); with
        ``store_rows``, store rows of -1 (no row: zero vectors) in place of the vectors."""
        lengths = np.asarray(lengths, np.int32)
        batch, width = len(lengths), int(lengths.max())
        arrays = {}
        for name, (shape, dtype) in tensor_specs(dims, vector_dtype).items():
            sizes = [batch if i == 0 else width if size is None else size
                     for i, size in enumerate(shape)]
            arrays[name] = np.zeros(sizes, dtype)
        arrays["lengths"] = lengths
        if store_rows:
            arrays["vectors"] = None
            arrays["store_rows"] = np.full((batch, width), -1, np.int32)
        return cls(**arrays)

    def as_dict(self):
        """{field name: array}: what the Keras model's ``call`` takes."""
        if self.vectors is None:
            raise ValueError("these inputs carry store rows, not vectors: gather them first "
                             "(ModelInputs.with_vectors)")
        return {name: getattr(self, name) for name in FIELD_NAMES}

    def rows(self, start, stop):
        """Rows ``start:stop`` cut to their own longest length (for record-by-record retries)."""
        width = int(self.lengths[start:stop].max())
        arrays = {}
        for field in self._fields():
            array = getattr(self, field.name)[start:stop]
            arrays[field.name] = array if field.dims == ("B",) else array[:, :width]
        return ModelInputs(**{"vectors": None, **arrays})

    def checked(self):
        """Self with canonical dtypes (id fields may stay in NARROW_ID_DTYPES); ValueError for
        shapes that disagree, ids that are not integers, bad lengths, or not exactly one of
        vectors and store_rows."""
        if (self.vectors is None) == (self.store_rows is None):
            raise ValueError("inputs must carry exactly one of vectors and store_rows, not "
                             f"{'both' if self.vectors is not None else 'neither'}")
        arrays = {}
        sizes = {}
        for field in self._fields():
            array = np.asarray(getattr(self, field.name))
            if field.dtype == "float":
                if array.dtype.name not in VECTOR_DTYPES:
                    array = array.astype(np.float32)
            elif field.name in ID_FIELDS and array.dtype.kind not in "iu":
                # A cast would floor 2.7 to row 2 and tag with the wrong row, silently.
                raise ValueError(f"{field.name} must hold integers, not {array.dtype}")
            elif field.name in ID_FIELDS and array.dtype.name in NARROW_ID_DTYPES:
                pass
            elif array.dtype != np.dtype(field.dtype):
                array = array.astype(field.dtype)
            if array.ndim != len(field.dims):
                raise ValueError(f"{field.name} has shape {array.shape}, expected "
                                 f"({', '.join(field.dims)})")
            for dim, size in zip(field.dims, array.shape):
                if sizes.setdefault(dim, size) != size:
                    raise ValueError(f"{field.name} has {dim}={size}, other inputs "
                                     f"{sizes[dim]}")
            arrays[field.name] = array
        lengths = arrays["lengths"]
        if len(lengths) == 0:
            raise ValueError("an empty batch (B = 0)")
        if lengths.min() < 1 or lengths.max() > sizes["T"]:
            # cuDNN needs right-padded masks with no empty rows.
            raise ValueError(f"lengths must lie in [1, {sizes['T']}], "
                             f"got {lengths.min()}..{lengths.max()}")
        store_rows = arrays.get("store_rows")
        if store_rows is not None and store_rows.size and store_rows.min() < -1:
            raise ValueError(f"store rows must be -1 (no row) or more, got {store_rows.min()}")
        return ModelInputs(**{"vectors": None, **arrays})

    def with_int32_ids(self):
        """Self with the id fields in FIELDS' int32 (what TensorFlow's traced signature takes);
        self where they are int32 already."""
        if all(getattr(self, name).dtype == np.int32 for name in ID_FIELDS):
            return self
        return dataclasses.replace(self, **{name: getattr(self, name).astype(np.int32)
                                            for name in ID_FIELDS})

    def equals(self, other):
        def same(a, b):
            if a is None or b is None:
                return a is b
            return np.array_equal(a, b) and a.dtype == b.dtype

        return all(same(getattr(self, name), getattr(other, name))
                   for name in FIELD_NAMES + (STORE_ROWS.name,))

    # ------------------------------------------------------------------ building and Arrow
    @classmethod
    def from_tokens(cls, lengths, rows, token_arrays, store, vector_dtype="float32",
                    store_rows=False, id_dtypes=None):
        """Pad flat per-token arrays (all sentences' tokens, concatenated) into a batch.

        ``rows`` (N,) int64 store rows (-1: OOV); ``token_arrays`` {field: (N, ...)} for every
        token-level field. The only padding code: Arrow batches and training batches use it.
        ``store_rows=True``: the batch carries the rows (``store_rows``), not their vectors.
        ``id_dtypes`` ({id field: dtype}, the model's ``id_dtypes``): the id fields' types, in
        place of FIELDS' int32.
        """
        id_dtypes = id_dtypes or {}
        lengths = np.asarray(lengths, dtype=np.int32)
        batch, width = len(lengths), int(lengths.max())

        def word_vectors(padded_rows):
            if store_rows:
                return {"vectors": None, "store_rows": padded_rows.astype(np.int32).reshape(
                    batch, width)}
            return {"vectors": store.gather(padded_rows, dtype=np.dtype(vector_dtype)).reshape(
                batch, width, -1)}

        if int(lengths.min()) == width:
            # No padding (every row of an exact-length bucket): the flat arrays reshaped.
            arrays = {"lengths": lengths, **word_vectors(np.asarray(rows))}
            for field in TOKEN_FIELDS:
                values = np.ascontiguousarray(token_arrays[field.name],
                                              dtype=id_dtypes.get(field.name, field.dtype))
                arrays[field.name] = values.reshape(batch, width, *values.shape[1:])
            return cls(**arrays)
        starts = np.concatenate([[0], np.cumsum(lengths[:-1], dtype=np.int64)])
        # Token j of row b lands at flat position b * T + j.
        positions = (np.arange(int(lengths.sum()), dtype=np.int64)
                     - np.repeat(starts, lengths) + np.repeat(np.arange(batch) * width, lengths))
        padded_rows = np.full(batch * width, -1, dtype=np.int64)
        padded_rows[positions] = rows
        arrays = {"lengths": lengths, **word_vectors(padded_rows)}
        for field in TOKEN_FIELDS:
            values = np.asarray(token_arrays[field.name])
            padded = np.zeros((batch * width, *values.shape[1:]),
                              dtype=id_dtypes.get(field.name, field.dtype))
            padded[positions] = values
            arrays[field.name] = padded.reshape(batch, width, *values.shape[1:])
        return cls(**arrays)

    @classmethod
    def from_record_batch(cls, batch, fingerprint=None):
        """The tensor columns of a ``pa.RecordBatch``, zero-copy.

        With ``fingerprint``, raise InputsMismatch unless the batch carries the same one.
        """
        if fingerprint is not None:
            found = (batch.schema.metadata or {}).get(FINGERPRINT_KEY, b"").decode()
            if found != fingerprint:
                raise InputsMismatch(
                    f"this batch was built for a tagger whose inputs have fingerprint "
                    f"{found[:12] or 'none'}..., but the model's inputs have {fingerprint[:12]}...: "
                    "the featurizing stage and the tag stage must load the same model")
        arrays = {"vectors": None}
        carries_rows = STORE_ROWS.name in batch.schema.names
        for field in ((STORE_ROWS,) + FIELDS[1:]) if carries_rows else FIELDS:
            column = batch.column(field.name)
            arrays[field.name] = (column.to_numpy() if field.dims == ("B",)
                                  else column.to_numpy_ndarray())
        return cls(**arrays)

    def arrow_columns(self):
        """{name: pyarrow array}, one row per sentence (tensor columns for the (B, ...) fields):
        a ``store_rows`` column in place of ``vectors`` where the batch carries rows."""
        import pyarrow as pa

        columns = {}
        for field in self._fields():
            array = getattr(self, field.name)
            if field.dims == ("B",):
                columns[field.name] = pa.array(array, pa.from_numpy_dtype(array.dtype))
            else:
                columns[field.name] = _tensor_array(pa, np.ascontiguousarray(array))
        return columns


def _tensor_array(pa, array):
    """``pa.FixedShapeTensorArray.from_numpy_ndarray(array)``, built from its storage: the
    same array in a third of the time (300 against 120 us a column, five columns a batch)."""
    cell = math.prod(array.shape[1:])   # np.prod of a shape tuple: 9.9 us, this 0.14 (timeit)
    if cell == 0:
        return pa.FixedShapeTensorArray.from_numpy_ndarray(array)
    storage = pa.FixedSizeListArray.from_arrays(pa.array(array.reshape(-1)), cell)
    return pa.ExtensionArray.from_storage(_tensor_type(array.dtype, array.shape[1:]), storage)


@functools.lru_cache(maxsize=64)
def _tensor_type(dtype, cell_shape):
    import pyarrow as pa

    return pa.fixed_shape_tensor(pa.from_numpy_dtype(dtype), cell_shape)


def tensor_specs(dims, vector_dtype="float32"):
    """{field: (shape with None for B and T, dtype name)} for a traced function's signature;
    ``dims`` gives the fixed sizes, e.g. {"D": 50, "F": 6, "C": 16}."""
    specs = {}
    for field in FIELDS:
        shape = [None if dim in ("B", "T") else int(dims[dim]) for dim in field.dims]
        specs[field.name] = (shape, vector_dtype if field.dtype == "float" else field.dtype)
    return specs
