"""The Arrow IPC coder that carries model-ready batches (``pyarrow.RecordBatch``) between stages.

Beam has no Arrow coder: without one a RecordBatch crossing a stage boundary (CPU workers to
GPU workers under right fitting) would be pickled. ``ArrowRecordBatchCoder`` writes one Arrow
IPC stream per batch and reads it back without copying the buffers; it is registered for
``pa.RecordBatch`` when this module is imported, so any PCollection type-hinted
``pa.RecordBatch`` uses it. AttachVectors, TagBatches, WriteResults and the tagged batches'
module (``tagged_batches``), which make and take such PCollections, import it: no module of
the package imports every transform (``transforms/__init__.py`` imports each on first use).

The batches' layout and how they are built are ``beamtagger/tagging/record_batches.py``'s (no
Beam there: ``beamtagger.Tagger`` builds them too), re-exported here.
"""
import apache_beam as beam
import pyarrow as pa
from apache_beam.utils.timestamp import Timestamp

from beamtagger.tagging.record_batches import (TIMESTAMP, build_record_batch, fields_column,
                                               list_offsets_of, model_inputs)

__all__ = ["ArrowRecordBatchCoder", "TIMESTAMP", "build_record_batch", "fields_column",
           "list_offsets_of", "model_inputs", "row_timestamps"]


def row_timestamps(batch):
    """A batch's (or tagged batch's) ``timestamp`` column as Beam Timestamps, one a row;
    None where it has none."""
    if TIMESTAMP not in batch.schema.names:
        return None
    return [Timestamp(micros=micros) for micros in batch.column(TIMESTAMP).to_pylist()]


class ArrowRecordBatchCoder(beam.coders.Coder):
    """Encodes a ``pyarrow.RecordBatch`` as one Arrow IPC stream (schema + batch).

    Takes no arguments; registered for ``pa.RecordBatch`` when this module is imported.
    """

    def encode(self, batch):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        return sink.getvalue().to_pybytes()

    def decode(self, encoded):
        # The arrays point into ``encoded``; nothing is copied.
        with pa.ipc.open_stream(pa.py_buffer(encoded)) as reader:
            return reader.read_next_batch()

    def estimate_size(self, batch):
        # Beam sizes sampled elements through the coder (opcounters); encoding a batch of
        # vectors to measure it copied megabytes each time (py-spy, case G: 0.2 core-µs a
        # token). The buffers' size is what the encoding holds.
        return batch.nbytes

    def is_deterministic(self):
        return False

    def to_type_hint(self):
        return pa.RecordBatch

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))


beam.coders.registry.register_coder(pa.RecordBatch, ArrowRecordBatchCoder)
