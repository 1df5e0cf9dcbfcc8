"""TagBatches: Arrow batches of model inputs -> per-record labels (the stage that may run on GPUs).

The saved tagger is loaded once per worker process (``apache_beam.utils.shared.Shared``) and
every batch goes through its one traced function, whatever the batch's shape, fed straight from
the Arrow tensor columns (``to_numpy_ndarray()``, no copy). TensorFlow is told to grow GPU
memory on demand, so several SDK processes can share one GPU instead of the first grabbing it
all. ``TagText(accelerator=...)`` puts the accelerator resource hint on this stage only.

A batch the model fails on is retried record by record; a record that still fails becomes a
dead letter (a window of a long record is reported to StitchWindows, which dead-letters the
whole record).
"""
import json
import os
from typing import NamedTuple

import apache_beam as beam
import pyarrow as pa
from apache_beam.utils import shared

from beamtagger.transforms import counters, progress, worker_resources
from beamtagger.transforms.arrow_batches import model_inputs
from beamtagger.transforms.records import DeadLetter, TaggedRecord, WindowResult

WINDOWS = "windows"
ERRORS = "errors"


class TagResult(NamedTuple):
    tagged: beam.PCollection    # TaggedRecord of records that fit one window
    windows: beam.PCollection   # (key, WindowResult) for StitchWindows
    errors: beam.PCollection    # DeadLetter


class TagBatches(beam.PTransform):
    """``pa.RecordBatch`` -> TaggedRecords, window results and dead letters.

    ``model_dir`` None means the bundled model. ``progress_every_secs`` prints a progress line
    (local runs).
    """

    def __init__(self, model_dir=None, progress_every_secs=None):
        super().__init__()
        self.model_dir = None if model_dir is None else str(model_dir)
        self.progress_every_secs = progress_every_secs
        self._shared_runner = shared.Shared()

    def expand(self, batches):
        out = batches | "RunTagger" >> beam.ParDo(_TagFn(
            self._shared_runner, self.model_dir, self.progress_every_secs, os.getpid())
        ).with_input_types(pa.RecordBatch).with_outputs(WINDOWS, ERRORS, main="tagged")
        return TagResult(out.tagged, out[WINDOWS], out[ERRORS])


def configure_tensorflow():
    """Grow GPU memory on demand; must run before TensorFlow first touches the GPUs."""
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # already initialised in this process; TF_FORCE_GPU_ALLOW_GROWTH covers it


class _SharedRunner:
    def __init__(self, model_dir):
        from beamtagger.model.inference import TaggerRunner
        configure_tensorflow()
        self.runner = TaggerRunner.load(worker_resources.local_model_dir(model_dir))


class _TagFn(beam.DoFn):
    def __init__(self, shared_runner, model_dir, progress_every_secs, launcher_pid):
        self._shared_runner = shared_runner
        self.model_dir = model_dir
        self.progress_every_secs = progress_every_secs
        self.launcher_pid = launcher_pid

    def setup(self):
        self._holder = self._shared_runner.acquire(lambda: _SharedRunner(self.model_dir))
        self._runner = self._holder.runner
        self._spec = self._runner.spec

    def process(self, batch):
        vectors, lengths, extra_ids, feature_ids = model_inputs(batch)
        try:
            probs = self._runner.predict(vectors, lengths, extra_ids, feature_ids)
        except Exception:  # noqa: BLE001  (find the record that fails, tag the others)
            probs = None
        rows = _Rows(batch)
        for i in range(batch.num_rows):
            row_probs, error = None, ""
            if probs is not None:
                row_probs = probs[i]
            else:
                n = int(lengths[i])
                try:
                    row_probs = self._runner.predict(vectors[i:i + 1, :n], lengths[i:i + 1],
                                                     extra_ids[i:i + 1, :n],
                                                     feature_ids[i:i + 1, :n])[0]
                except Exception as failure:  # noqa: BLE001
                    error = f"tagger failed: {failure!r}"
            yield from self._emit(rows, i, int(lengths[i]), row_probs, error)
        if self.progress_every_secs:
            progress.report(1, int(lengths.sum()), self.progress_every_secs, self.launcher_pid)

    def _emit(self, rows, i, length, probs, error):
        key, num_windows = rows.keys[i], rows.num_windows[i]
        if num_windows > 1:
            window = rows.windows[i]
            if error:
                result = WindowResult(window, num_windows, None, error)
            else:
                keep = slice(rows.keep_starts[i], rows.keep_ends[i])
                result = WindowResult(window, num_windows, probs[keep].copy())
            yield beam.pvalue.TaggedOutput(WINDOWS, (key, result))
            return
        tokens = tuple(rows.tokens[i])
        if not error:
            try:
                labels, scores = self._spec.decode(probs, length)
            except Exception as failure:  # noqa: BLE001
                error = f"decoding failed: {failure!r}"
        if error:
            counters.DEAD_LETTERS.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, DeadLetter(key, error, " ".join(tokens), "tag"))
            return
        counters.RECORDS_TAGGED.inc()
        fields = rows.fields[i]
        yield TaggedRecord(rows.ids[i], tokens, tuple(rows.starts[i]), tuple(rows.ends[i]),
                           tuple(labels), tuple(scores.tolist()), key,
                           json.loads(fields) if fields else None)


class _Rows:
    """The batch's non-tensor columns as Python lists, converted once per batch."""

    def __init__(self, batch):
        column = lambda name: batch.column(name).to_pylist()  # noqa: E731
        self.keys, self.ids, self.fields = column("key"), column("id"), column("fields")
        self.windows, self.num_windows = column("window"), column("num_windows")
        self.keep_starts, self.keep_ends = column("keep_start"), column("keep_end")
        self.tokens, self.starts, self.ends = column("tokens"), column("starts"), column("ends")
