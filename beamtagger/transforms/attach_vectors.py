"""AttachVectors: batches of segments -> Arrow RecordBatches of model inputs.

The embedding store is opened once per worker process through ``apache_beam.utils.shared.Shared``:
every DoFn instance (one per worker thread) gets the same memory-mapped store, so its vectors
are paged in once per machine by the OS and never copied per thread. The model's
TokenFeaturizer (NumPy only, no TensorFlow) computes the trainable-row ids here, on the CPU
workers, so the tag stage receives ready tensors.
"""
from typing import List

import apache_beam as beam
import pyarrow as pa
from apache_beam import typehints
from apache_beam.utils import shared

from beamtagger.transforms import counters, worker_resources
from beamtagger.transforms.arrow_batches import build_record_batch
from beamtagger.transforms.records import Segment

__all__ = ["AttachVectors"]


@typehints.with_input_types(List[Segment])
@typehints.with_output_types(pa.RecordBatch)
class AttachVectors(beam.PTransform):
    """list of Segments -> ``pa.RecordBatch`` (see arrow_batches for the columns).

    Args:
      store_path: the embedding store (None: the default store). It must match the model's
        binding (checked once per worker, BeamtaggerError otherwise).
      model_dir: the tagger's model directory (None: the bundled model), for its featurizer.
      vector_dtype: "float32", or "float16" to halve the bytes a batch carries to GPU workers.
      allow_other_embeddings: accept a store whose fingerprint differs from the model's.
    """

    def __init__(self, store_path=None, model_dir=None, vector_dtype="float32",
                 allow_other_embeddings=False):
        super().__init__()
        self.store_path = None if store_path is None else str(store_path)
        self.model_dir = None if model_dir is None else str(model_dir)
        self.vector_dtype = vector_dtype
        self.allow_other_embeddings = allow_other_embeddings
        self._shared_store = shared.Shared()

    def expand(self, batches):
        return batches | "LookUpVectors" >> beam.ParDo(_AttachVectorsFn(
            self._shared_store, self.store_path, self.model_dir, self.vector_dtype,
            self.allow_other_embeddings)).with_output_types(pa.RecordBatch)


class _SharedStore:
    """Shared.acquire needs a weak-referenceable object; numpy memmaps are not always one."""

    def __init__(self, store):
        self.store = store


class _AttachVectorsFn(beam.DoFn):
    def __init__(self, shared_store, store_path, model_dir, vector_dtype, allow_other_embeddings):
        self._shared_store = shared_store
        self.store_path = store_path
        self.model_dir = model_dir
        self.vector_dtype = vector_dtype
        self.allow_other_embeddings = allow_other_embeddings

    def setup(self):
        spec = worker_resources.load_spec(self.model_dir)
        self._holder = self._shared_store.acquire(
            lambda: _SharedStore(worker_resources.open_store(self.store_path)))
        self._store = self._holder.store
        spec.check_store(self._store, allow_other_fingerprint=self.allow_other_embeddings)
        self._featurizer = spec.featurizer

    def process(self, segments):
        batch, oov = build_record_batch(segments, self._store, self._featurizer, self.vector_dtype)
        lengths = batch.column("length").to_numpy()
        counters.BATCHES.inc()
        counters.BATCHED_TOKENS.inc(int(lengths.sum()))
        counters.PADDED_SLOTS.inc(int(len(lengths) * lengths.max()))
        counters.OOV_TOKENS.inc(oov)
        yield batch
