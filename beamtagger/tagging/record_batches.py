"""Model-ready batches as ``pyarrow.RecordBatch``: one row per segment or whole record.

One row per segment. The model inputs (``model.model_inputs.FIELDS``) are fixed-shape tensor
columns, so the tag stage reads them as NumPy arrays without copying (``to_numpy_ndarray()``);
the schema metadata carries the model's inputs fingerprint (``FINGERPRINT_KEY``), and a batch of
store rows its store's fingerprint too (``STORE_FINGERPRINT_KEY``):

=============  ==============================================  ==================================
column         type                                            what
=============  ==============================================  ==================================
vectors        fixed_shape_tensor(float32 | float16, [T, D])   store vectors, zeros for OOV/padding
(store_rows)   fixed_shape_tensor(int32, [T])                  in place of vectors (vectors_at=
                                                               "tag"): store rows, -1 OOV/padding
lengths        int32                                           real tokens in the row (<= T)
extra_ids      fixed_shape_tensor(uint8 | uint16 | int32, [T]) TokenFeaturizer.extra_ids
feature_ids    fixed_shape_tensor(ids' type, [T, F])           TokenFeaturizer.feature_ids
char_ids       fixed_shape_tensor(ids' type, [T, C])           TokenFeaturizer.char_ids
key, id        string                                          record key (source) and id
chunk ...      int32                                           chunk, num_chunks, keep_start,
                                                               keep_end (see records.Segment)
tokens         list<string>                                    the segment's tokens
starts, ends   list<int32>                                     character offsets (whole records)
fields         string                                          passthrough fields as JSON, or null
timestamp      int64 (TagText only)                            the record's own timestamp, in µs
=============  ==============================================  ==================================

Each id column is in the narrowest type its table allows (``TaggerSpec.id_dtypes``: uint8 up to
256 rows, uint16 up to 65,536, else int32), chosen from the model, so every batch of a model has
one schema: the bundled model's ids are 30 bytes a slot instead of 92 (bench/batch_bytes.py).

No Beam here: AttachVectors builds a pipeline's batches by ``build_record_batch``, and the
coder a pipeline carries them with is ``transforms/arrow_batches.py``'s; ``beamtagger.Tagger``
and ``TaggerModelHandler``, which run the model where they build its inputs, take the same
inputs without the batch (``entry_model_inputs``).
"""
import json

import numpy as np
import pyarrow as pa

from beamtagger.model.model_inputs import (FINGERPRINT_KEY, STORE_FINGERPRINT_KEY, ModelInputs,
                                           check_vector_dtype, id_dtypes)
from beamtagger.tagging.token_blocks import entry_columns
from beamtagger.transforms.records import Segment

__all__ = ["TIMESTAMP", "build_record_batch", "entry_model_inputs", "fields_column",
           "list_offsets_of", "model_inputs", "segment_timestamps"]

# Streaming: each row's own record timestamp, in microseconds (see ``segment_timestamps``).
TIMESTAMP = "timestamp"


def build_record_batch(segments, store, featurizer, vector_dtype="float32", fingerprint=None,
                       token_inputs=None, store_rows=False):
    """One RecordBatch for ``segments`` (a list of records.Segment, and of whole records as
    ``(token_blocks.TokenizedBlock, index)``); returns (batch, oov_count).

    The store lookup and the featurizer run once over all tokens of the batch (vectorised per
    batch, not per token), through ``token_inputs`` (a ``model.token_inputs.TokenInputs`` of
    this store and featurizer, which remembers every token it has seen) when given;
    ``ModelInputs.from_tokens`` pads them (the padding training uses). ``fingerprint`` (the
    model's ``TaggerSpec.inputs_fingerprint``) goes into the schema metadata, so the tag stage
    can refuse a batch built for another model. ``store_rows``: the batch carries each
    slot's store row (``store_rows``, 4 bytes) in place of its vectors, and the store's
    fingerprint, for a tag stage that gathers them (``vectors_at="tag"``).
    """
    columns, inputs, rows = entry_model_inputs(segments, store, featurizer, vector_dtype,
                                               token_inputs=token_inputs, store_rows=store_rows)
    if "token_numbers" in columns:
        token_values = token_inputs.arrow_texts().take(pa.array(columns["token_numbers"]))
    else:
        token_values = pa.array(columns["tokens"], pa.string())
    lengths = columns["lengths"]
    list_offsets = list_offsets_of(lengths)
    whole = columns["num_chunks"] == 1
    if whole.all():
        offset_offsets = list_offsets
    else:   # chunks of long records carry no offsets
        offset_offsets = list_offsets_of(np.where(whole, lengths, 0))
    arrays = {
        **inputs.arrow_columns(),
        "key": pa.array(columns["keys"], pa.string()),
        "id": pa.array(columns["ids"], pa.string()),
        **{name: pa.array(columns[name], pa.int32())
           for name in ("chunk", "num_chunks", "keep_start", "keep_end")},
        "tokens": pa.ListArray.from_arrays(list_offsets, token_values),
        "starts": pa.ListArray.from_arrays(offset_offsets, pa.array(columns["starts"],
                                                                    pa.int32())),
        "ends": pa.ListArray.from_arrays(offset_offsets, pa.array(columns["ends"], pa.int32())),
        "fields": fields_column(columns["fields"]),
    }
    timestamps = segment_timestamps(segments)
    if timestamps is not None:
        arrays[TIMESTAMP] = pa.array(timestamps, pa.int64())
    metadata = {FINGERPRINT_KEY: fingerprint.encode()} if fingerprint else {}
    if store_rows:
        metadata[STORE_FINGERPRINT_KEY] = store.fingerprint.encode()
    batch = pa.RecordBatch.from_pydict(arrays, metadata=metadata or None)
    return batch, int((rows < 0).sum())


def entry_model_inputs(segments, store, featurizer, vector_dtype="float32", token_inputs=None,
                       store_rows=False):
    """(columns, inputs, rows) of a batch's entries, as ``build_record_batch`` takes them:
    ``token_blocks.entry_columns`` (with "token_numbers" where ``token_inputs`` numbered the
    tokens, else "tokens"), their padded ``ModelInputs`` and every token's store row (-1: none).

    What a caller that runs the model in this process needs, without the Arrow batch: on EWT
    dev's sentences (10 tokens the median), building the batch and reading it back took 0.44
    ms of ``Tagger.tag``'s 1.35, the model 0.64; without them ``tag``'s p50 was 0.69x
    (BENCHMARKS.md, "One sentence a call: latency and threads")."""
    check_vector_dtype(vector_dtype)
    columns = None if token_inputs is None else entry_columns(segments, token_inputs)
    if columns is not None:
        # By number: the model inputs are gathers from token_inputs.
        rows, token_arrays = token_inputs.gather(columns["token_numbers"])
    else:
        columns = entry_columns(segments)
        flat_tokens = columns["tokens"]
        rows = store.rows(flat_tokens)
        token_arrays = featurizer.featurize(flat_tokens, rows >= 0)
    inputs = ModelInputs.from_tokens(columns["lengths"], rows, token_arrays, store, vector_dtype,
                                     store_rows=store_rows, id_dtypes=id_dtypes(featurizer))
    return columns, inputs, rows


def segment_timestamps(entries):
    """The records' own timestamps (microseconds) of a batch's entries, in row order
    (``entry_columns``': ``WholeRecords`` first, then Segments), where every entry carries
    them (streaming's Segments, ``TagText``'s bounded path: its blocks' and chunks'); None
    otherwise (``beamtagger tag``, and Segments of a caller's own)."""
    if not entries:
        return None
    timestamps = []
    for entry in entries:
        if type(entry) is not Segment:
            whole = entry.timestamps()
            if whole is None:
                return None
            timestamps += whole
    for entry in entries:
        if type(entry) is Segment:
            if entry.timestamp_micros is None:
                return None
            timestamps.append(entry.timestamp_micros)
    return timestamps


def fields_column(fields):
    """The ``fields`` column of records' pass-through fields (dicts or None): JSON, or null."""
    if not any(fields):
        return pa.nulls(len(fields), pa.string())
    return pa.array([json.dumps(f, ensure_ascii=False) if f else None for f in fields],
                    pa.string())


def list_offsets_of(lengths):
    """The int32 offsets of a list array whose lists have ``lengths`` (a NumPy int array).

    Made as int32 from the start: concatenating a Python ``[0]`` made int64 that Arrow then
    checked and cast, 60-150 µs a batch on a 2-core machine (bench/stage_costs.py)."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.array(offsets)


def model_inputs(batch, fingerprint=None):
    """The batch's ``ModelInputs`` (zero-copy); InputsMismatch if ``fingerprint`` differs."""
    return ModelInputs.from_record_batch(batch, fingerprint)
