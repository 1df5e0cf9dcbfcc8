"""AttachVectors: batches of segments -> Arrow RecordBatches of model inputs.

The embedding store is opened once per worker process through ``apache_beam.utils.shared.Shared``:
every DoFn instance (one per worker thread) gets the same memory-mapped store, so its vectors
are paged in once per machine by the OS and never copied per thread. The model's
TokenFeaturizer (NumPy only, no TensorFlow) computes the trainable-row ids here, on the CPU
workers, so the tag stage receives ready tensors.
"""
from typing import List, NamedTuple

import apache_beam as beam
import pyarrow as pa
from apache_beam import typehints
from apache_beam.utils import shared
from apache_beam.utils.timestamp import Timestamp

from beamtagger.model.model_inputs import check_vector_dtype
from beamtagger.model.token_inputs import TokenInputs
from beamtagger.tagging_defaults import (VECTORS_AT, check_flag, check_vectors_at,
                                         model_dir_option, path_option)
from beamtagger.transforms import counters, worker_resources
from beamtagger.transforms.arrow_batches import build_record_batch
from beamtagger.transforms.built_against import BuiltAgainst
from beamtagger.transforms.blocks import Block
from beamtagger.transforms.records import (KEYED_CHUNK_RESULT, ChunkResult, DeadLetter, Segment,
                                           one_line)
from beamtagger.transforms.token_blocks import entry_segments, one_record_entries
from beamtagger.transforms.typed_outputs import typed_outputs

__all__ = ["AttachResult", "AttachVectors"]

CHUNKS = "chunks"
ERRORS = "errors"


class AttachResult(NamedTuple):
    batches: beam.PCollection   # pa.RecordBatch
    chunks: beam.PCollection    # (key, ChunkResult with an error) of failed chunks
    errors: beam.PCollection    # DeadLetter of records that fit one chunk


@typehints.with_input_types(List[Segment])
class AttachVectors(beam.PTransform):
    """list of Segments -> ``AttachResult(batches, chunks, errors)``.

    ``batches`` are ``pa.RecordBatch`` (see arrow_batches for the columns). A batch that fails
    to build is rebuilt record by record: a record that still fails is a dead letter (stage
    "lookup" when the store lookup fails, else "featurize"), and a failed chunk of a long
    record goes to ``chunks`` for StitchChunks, which dead-letters the whole record.

    Args:
      store_path: the embedding store (None: the default store). It must match the model's
        binding (checked once per worker, BeamtaggerError otherwise; also here, where the
        pipeline is built, when it is on this machine: ``worker_resources.check_where_built``).
      model_dir: the tagger's model directory (None: the bundled model), for its featurizer;
        one on this machine is checked here too.
      vector_dtype: "float32", or "float16" to halve the bytes a batch carries to GPU workers.
      allow_other_embeddings: accept a store whose fingerprint differs from the model's.
      vectors_at: "attach" (the default): the batches carry the vectors; "tag": they carry
        each slot's store row instead (4 bytes a slot, not 2-4 x D), and the tag stage, given
        the same store (``TagBatches(vectors_at="tag")``), gathers the vectors.
      built_against: internal (TagText): the model and store its ``validate`` recorded,
        which the workers compare as they read them (``built_against.py``).
    """

    def __init__(self, store_path=None, model_dir=None, vector_dtype="float32",
                 allow_other_embeddings=False, vectors_at=VECTORS_AT, *,
                 built_against=BuiltAgainst()):
        super().__init__()
        self.store_path = path_option("store_path", store_path)
        self.model_dir = model_dir_option("model_dir", model_dir)
        self.vector_dtype = check_vector_dtype(vector_dtype)
        # As TagText's: "no" was read as True, and a store of other vectors let through.
        self.allow_other_embeddings = check_flag("allow_other_embeddings",
                                                 allow_other_embeddings)
        self.vectors_at = check_vectors_at(vectors_at)
        worker_resources.check_where_built(self.model_dir, self.store_path,
                                           allow_other_embeddings)
        self.built_against = built_against
        self._shared_store = shared.Shared()

    def type_check_inputs(self, pvalueish):
        # Batches of segments from BucketByLength(blocks=True) are Blocks (lists).
        if pvalueish.element_type is not Block:
            super().type_check_inputs(pvalueish)

    def expand(self, batches):
        attach = beam.ParDo(_AttachVectorsFn(
            self._shared_store, self.store_path, self.model_dir, self.vector_dtype,
            self.allow_other_embeddings, self.vectors_at == "tag", self.built_against))
        out = typed_outputs(batches, "LookUpVectors", attach, "batches", pa.RecordBatch,
                            **{CHUNKS: KEYED_CHUNK_RESULT, ERRORS: DeadLetter})
        return AttachResult(out.batches, out[CHUNKS], out[ERRORS])


class _AttachVectorsFn(beam.DoFn):
    def __init__(self, shared_store, store_path, model_dir, vector_dtype, allow_other_embeddings,
                 store_rows=False, built_against=BuiltAgainst()):
        self._shared_store = shared_store
        self.store_path = store_path
        self.model_dir = model_dir
        self.vector_dtype = vector_dtype
        self.allow_other_embeddings = allow_other_embeddings
        self.store_rows = store_rows
        self.built_against = built_against

    def setup(self):
        spec = worker_resources.load_spec(self.model_dir, self.built_against)
        self._holder = worker_resources.acquire_store(self._shared_store, self.store_path,
                                                      self.built_against)
        self._store = self._holder.store
        spec.check_store(self._store, allow_other_fingerprint=self.allow_other_embeddings)
        self._featurizer = spec.featurizer
        self._fingerprint = spec.inputs_fingerprint
        # One per DoFn instance (per worker thread): no lock on the hot path.
        self._token_inputs = TokenInputs(self._store, self._featurizer)

    def process(self, segments):
        try:
            built = [build_record_batch(segments, self._store, self._featurizer,
                                        self.vector_dtype, self._fingerprint,
                                        self._token_inputs, self.store_rows)]
        except Exception:  # noqa: BLE001  (find the records that fail, keep the others)
            good = []
            for segment in one_record_entries(segments):
                try:
                    build_record_batch([segment], self._store, self._featurizer,
                                       self.vector_dtype, self._fingerprint,
                                       self._token_inputs, self.store_rows)
                    good.append(segment)
                except Exception as error:  # noqa: BLE001
                    yield self._failed(segment, error)
            # The others still go to the model as one batch.
            built = [build_record_batch(good, self._store, self._featurizer,
                                        self.vector_dtype, self._fingerprint,
                                        self._token_inputs, self.store_rows)] if good else []
        for batch, oov in built:
            yield from self._count(batch, oov)

    def _failed(self, entry, error):
        [segment] = entry_segments(entry)
        stage = "featurize"
        try:
            self._store.rows(list(segment.tokens))
        except Exception:  # noqa: BLE001
            stage = "lookup"
        reason = one_line(f"{stage} failed: {error!r}")
        if segment.num_chunks > 1:
            return beam.pvalue.TaggedOutput(CHUNKS, (segment.key, ChunkResult(
                segment.chunk, segment.num_chunks, None, reason)))
        counters.DEAD_LETTERS.inc()
        dead_letter = DeadLetter(str(segment.key), reason, " ".join(map(str, segment.tokens)),
                                 stage)
        if segment.timestamp_micros is not None:   # streaming: its record's own timestamp
            dead_letter = beam.window.TimestampedValue(
                dead_letter, Timestamp(micros=segment.timestamp_micros))
        return beam.pvalue.TaggedOutput(ERRORS, dead_letter)

    @staticmethod
    def _count(batch, oov):
        lengths = batch.column("lengths").to_numpy()
        counters.BATCHES.inc()
        counters.BATCHED_TOKENS.inc(int(lengths.sum()))
        counters.PADDED_SLOTS.inc(int(len(lengths) * lengths.max()))
        counters.OOV_TOKENS.inc(oov)
        yield batch
