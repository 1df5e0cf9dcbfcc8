"""TagBatches: Arrow batches of model inputs -> per-record labels (the stage that may run on GPUs).

The saved tagger is loaded once per worker process (``apache_beam.utils.shared.Shared``) by
the chosen runtime (``model/runtimes.py``) and every batch goes through it, fed straight from
the Arrow tensor columns (``to_numpy_ndarray()``, no copy), overlapping the model with the
Python stages around it (see ``_TagFn``). TensorFlow is told to grow GPU memory on demand, and
JAX not to preallocate it, so several SDK processes can share one GPU instead of the first
grabbing it all. ``TagText(accelerator=...)`` puts the accelerator resource hint on this stage
only.

A batch the model fails on is retried record by record; a record that still fails becomes a
dead letter (a chunk of a long record is reported to StitchChunks, which dead-letters the
whole record).

With ``vectors_at="tag"`` the batches carry store rows instead of vectors
(``AttachVectors(vectors_at="tag")``), and this stage opens the store itself (memory-mapped,
once per worker process, as AttachVectors does) and gathers them right before the model: the
JAX runtime on its device, from the store's table put there once per process; the others on
the host (``runtimes.fed_by_store_rows``). A gather that fails fails its batch, which is then
retried record by record as any batch the model fails on.

The runner is warmed up at load for the batches this stage is fed
(``worker_resources.loaded_runner``): vectors in ``vector_dtype``, or store rows gathered from
the store (JAX: from its table, put on the device then), so the first batch finds its
program compiled, and a set-up that cannot run it fails the load, not every batch.
"""
import collections
import itertools
import numbers
import os
import threading
import time
from concurrent import futures
from typing import NamedTuple, Optional

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.utils import shared
from apache_beam.utils.windowed_value import WindowedValue

from beamtagger.errors import BeamtaggerError
from beamtagger.tagging_defaults import (MAX_TAGGER_THREADS, VECTORS_AT, check_flag, check_runtime,
                                         check_vectors_at, check_whole_number,
                                         model_dir_option, path_option, shown)
from beamtagger.tensorflow_setup import configure_tensorflow  # noqa: F401  (its old home)
from beamtagger.model.batch_decoding import decode_batch, decode_batch_flat, decodes_per_token
from beamtagger.model.flag_threshold import threshold_option, with_threshold
from beamtagger.model.model_inputs import (STORE_FINGERPRINT_KEY, InputsMismatch,
                                           check_vector_dtype)
from beamtagger.transforms import counters, progress, worker_resources
from beamtagger.transforms.arrow_batches import model_inputs, row_timestamps
from beamtagger.transforms.built_against import BuiltAgainst
from beamtagger.transforms.runtime_where_applied import runtime_of_pipeline
from beamtagger.transforms.records import (KEYED_CHUNK_RESULT, ChunkResult, DeadLetter,
                                           TaggedRecord, one_line)
from beamtagger.transforms.tagged_batches import tagged_batch, tagged_records
from beamtagger.transforms.typed_outputs import typed_outputs
from beamtagger.worker_threads import tagger_threads_of_pipeline

__all__ = ["TagBatches", "TagResult", "configure_tensorflow"]

CHUNKS = "chunks"
ERRORS = "errors"


class TagResult(NamedTuple):
    tagged: beam.PCollection    # TaggedRecord of records that fit one chunk
    chunks: beam.PCollection    # (key, ChunkResult) for StitchChunks
    errors: beam.PCollection    # DeadLetter


@beam.typehints.with_input_types(pa.RecordBatch)
class TagBatches(beam.PTransform):
    """``pa.RecordBatch`` -> ``TagResult(tagged, chunks, errors)``: TaggedRecords, chunk
    results of long records (for StitchChunks) and dead letters.

    Args:
      model_dir: the tagger's model directory (None: the bundled model). One on this machine
        that is not a model is refused here, where the pipeline is built; a remote one
        (``gs://``) where the transform is applied (see ``validate``), as is one not here
        where the pipeline's workers run here (the DirectRunner unless told
        --environment_type=DOCKER or EXTERNAL, LOOPBACK); one in neither
        place (in the workers' image) when the workers load it
        (``worker_resources.check_where_built``).
      progress_every_secs: print a progress line this often (local runs; None: never).
      threads: TensorFlow's intra- and inter-op threads in each worker process; 0:
        TensorFlow's default, every core. None (the default): ``beamtagger tag``'s default
        for the pipeline's runner, read from its options where this transform is applied
        (``worker_threads``): 1 on Dataflow, which runs one SDK process per vCPU (unless
        ``--experiments=no_use_multiple_sdk_containers``); cores / processes with the
        DirectRunner's ``--direct_running_mode=multi_processing``; else TensorFlow's default.
        Each process would otherwise start one thread per core, all competing for the same
        cores.
      runtime: "tensorflow", "numpy" to run the model's forward pass in NumPy without
        importing TensorFlow (``beamtagger.testing``'s choice): loads in a tenth of a second,
        a little slower per batch on a CPU, no GPU; or "jax" for GPUs without TensorFlow
        (batches padded to a fixed grid of shapes, ``model/shape_grid.py``; TagText buckets
        by the grid's widths). ``model/runtimes.py`` lists them. None (the default): chosen
        where the transform is applied (``runtime_where_applied``, logged), as TagText
        chooses: "numpy" where ``threads`` comes to 1 and a Dataflow tag stage has no
        accelerator hint (this transform's ``with_resource_hints``, an enclosing one's, or
        the options' ``--resource_hints``), else "tensorflow" (or "numpy" where TensorFlow
        is not installed, locally).
      output_batches: internal (``beamtagger tag``): ``tagged`` holds one tagged batch
        (``tagged_batches.tagged_batch``, a ``pa.RecordBatch``) per model batch instead of a
        TaggedRecord per record; ``WriteResults`` writes them column by column.
      vectors_at: "attach" (the default): the batches carry vectors, in ``vector_dtype``
        as ``AttachVectors`` was given it (the runner is warmed up for that dtype; batches of
        the other are tagged too, their program traced or compiled on the first of them).
        "tag": they may carry store rows (``AttachVectors(vectors_at="tag")``), gathered here
        from ``store_path`` (None: the default store) in ``vector_dtype``;
        ``allow_other_embeddings`` as for AttachVectors. A store on this machine is checked
        here, where the pipeline is built; a remote one where the transform is applied.
      validate: True (the default): a remote ``model_dir`` (and with ``vectors_at="tag"``
        ``store_path``) is checked where the transform is applied, before launch, without
        copying it, as TagText's ``validate`` says, and recorded for the workers to find
        again when they load it (``built_against.py``); False skips that (a pipeline built
        where the bucket cannot be reached): nothing recorded, nothing compared.
      built_against: internal (TagText): what its ``validate`` recorded, for a TagBatches
        given ``validate=False``; its workers compare it as they load.
      threshold: a yes/no flag tagger's threshold to tag at instead of the model's own (None:
        the model's), as TagText's ``threshold`` says.
      model_name: internal (TagTextWithModels): the model's name, under which the progress
        line counts this stage's tokens apart from the other models' (``progress.py``).
    """

    def __init__(self, model_dir: Optional[str] = None,
                 progress_every_secs: Optional[float] = None, threads: Optional[int] = None,
                 runtime: Optional[str] = None, *, output_batches: bool = False,
                 vectors_at: str = VECTORS_AT, store_path: Optional[str] = None,
                 vector_dtype: str = "float32", allow_other_embeddings: bool = False,
                 validate: bool = True, built_against: BuiltAgainst = BuiltAgainst(),
                 threshold: Optional[float] = None, model_name: Optional[str] = None):
        super().__init__()
        check_tag_options(progress_every_secs, threads, "threads")
        self.model_dir = model_dir_option("model_dir", model_dir)
        self.vectors_at = check_vectors_at(vectors_at)
        self.store_path = path_option("store_path", store_path)
        self.vector_dtype = check_vector_dtype(vector_dtype)
        self.allow_other_embeddings = check_flag("allow_other_embeddings",
                                                 allow_other_embeddings)
        worker_resources.check_where_built(self.model_dir, self._opened_store_path,
                                           self.allow_other_embeddings)
        self.threshold = threshold_option(threshold, self.model_dir)
        self.validate = check_flag("validate", validate)
        self.progress_every_secs = progress_every_secs
        self.threads = threads
        self.runtime = check_runtime(runtime)
        self.output_batches = output_batches
        self.built_against = built_against
        self.model_name = model_name
        self._shared_runner = shared.Shared()
        self._shared_store = shared.Shared()

    @property
    def _opened_store_path(self):
        """The store this stage opens: None (none checked) unless it gathers store rows."""
        return self.store_path if self.vectors_at == "tag" else None

    def expand(self, batches):
        built_against = self.built_against
        if self.validate:   # remote paths: see TagText's expand
            built_against = worker_resources.check_where_built(
                self.model_dir, self._opened_store_path, self.allow_other_embeddings,
                remote=True, pipeline=batches.pipeline)
        # Here, not where it is built: a transform does not know its runner until it is applied.
        threads = tagger_threads_of_pipeline(self.threads, batches.pipeline)
        runtime = runtime_of_pipeline(self.runtime, "TagBatches", batches.pipeline, self.threads)
        store = (_StoreOptions(self._shared_store, self.store_path, self.allow_other_embeddings)
                 if self.vectors_at == "tag" else None)
        tag = beam.ParDo(_TagFn(
            self._shared_runner, self.model_dir, self.progress_every_secs, os.getpid(),
            threads, runtime, self.output_batches, store,
            self.vector_dtype, built_against, self.threshold, self.model_name))
        # Batches are carried by the Arrow coder. The input hint is the composite's, not the
        # ParDo's: typed_outputs says why.
        out = typed_outputs(batches, "RunTagger", tag, "tagged",
                            pa.RecordBatch if self.output_batches else TaggedRecord,
                            **{CHUNKS: KEYED_CHUNK_RESULT, ERRORS: DeadLetter})
        return TagResult(out.tagged, out[CHUNKS], out[ERRORS])


def check_tag_options(progress_every_secs, threads, threads_name="tagger_threads"):
    """ValueError, where the transform is built, for a progress interval or a thread count no
    run can follow (``progress_every_secs=-1`` printed lines of 40 billion tokens/s; 2**31
    threads ended a TensorFlow worker on SIGSEGV, ``MAX_TAGGER_THREADS``). ``threads_name``:
    the option as its transform names it (TagBatches: ``threads``)."""
    if progress_every_secs is not None and not (
            isinstance(progress_every_secs, numbers.Real) and not isinstance(
                progress_every_secs, bool) and 0 <= progress_every_secs < float("inf")):
        raise ValueError("progress_every_secs must be None or a number of seconds of at least "
                         f"0, not {shown(progress_every_secs)}")
    if threads is not None:
        check_whole_number(threads_name, threads, 0, MAX_TAGGER_THREADS,
                           " of threads a worker process (0: TensorFlow's own; None: the "
                           "runner's default),")


class _StoreOptions(NamedTuple):
    """Where the tag stage gathers store rows from (``vectors_at="tag"``)."""
    shared_store: shared.Shared
    store_path: Optional[str]
    allow_other_embeddings: bool


class _SharedRunner:
    """The worker process's runner (``model.runtimes``), loaded on a background thread and
    warmed up there for the batches the stage feeds it (``worker_resources.loaded_runner``:
    vectors in ``vector_dtype``, or with ``store``, store rows gathered from it; it is then
    the runner fed by them).

    Importing TensorFlow (2.7 s alone on the 2-core bench machine), loading the tagger and
    tracing its function happen once per process (BENCHMARKS.md, section 1), and Beam calls every
    DoFn's ``setup`` before the first record is read: loading in the background lets reading and
    tokenizing start meanwhile.
    ``runner`` waits for the load and re-raises its error.
    """

    def __init__(self, model_dir, threads=None, runtime="tensorflow", vector_dtype="float32",
                 store=None, built_against=BuiltAgainst()):
        self._loaded = futures.Future()
        self.load_milli_secs = None   # set once loaded; reported by the first DoFn to see it
        self._load_reported = threading.Lock()
        # Not a daemon: the interpreter's exit waits for a load still under way. A daemon
        # thread frozen by the exit inside h5py (the NumPy runtime reads tagger.keras with it)
        # kept h5py's lock, and the exit then hung for ever on it (a streaming DirectRunner
        # sets up a DoFn a bundle, so a load can start as the pipeline finishes).
        if runtime == "numpy":
            # On this thread, before the load's: made on the load's thread, it deadlocked with
            # the tokenizer's first import of spaCy here (numpy_inference.blas_controller).
            from beamtagger.model.numpy_inference import blas_controller

            blas_controller()
        threading.Thread(target=self._load, args=(model_dir, threads, runtime, vector_dtype,
                                                  store, built_against),
                         daemon=False, name="beamtagger-load-tagger").start()

    def _load(self, model_dir, threads, runtime, vector_dtype, store, built_against):
        started = time.perf_counter()
        try:
            runner = worker_resources.loaded_runner(model_dir, runtime, threads,
                                                    vector_dtype=vector_dtype, store=store,
                                                    built_against=built_against)
            self.load_milli_secs = int((time.perf_counter() - started) * 1000)
            self._loaded.set_result(runner)
        except BaseException as error:  # noqa: BLE001  (re-raised in the worker's thread)
            self._loaded.set_exception(error)

    @property
    def runner(self):
        return self._loaded.result()

    def report_load_once(self):
        """Adds the load latency to the metrics of the calling DoFn thread, once per process:
        the loading thread has no Beam metrics container of its own."""
        if self.load_milli_secs is not None and self._load_reported.acquire(blocking=False):
            counters.LOAD_MODEL_LATENCY_MILLI_SECS.update(self.load_milli_secs)


class _InFlight(NamedTuple):
    batch: pa.RecordBatch
    probs: futures.Future   # or _Dispatched: result() -> (probs, micro seconds the model took)
    window: object
    timestamp: object


class _TagFn(beam.DoFn):
    """Predicts on a helper thread, one batch ahead of the records it emits.

    TensorFlow releases the GIL while it computes, so while batch k runs, this thread decodes
    and emits batch k-1 and goes back upstream to tokenize and look up the records of batch
    k+1. Without this the in-process runner did the model and all Python stages one after the
    other (bench/throughput_bench.py, BENCHMARKS.md section 1). A runtime with ``predict_async``
    (JAX) needs no helper thread: this thread dispatches batch k (its inputs go to the device
    while batch k-1 computes) and then waits for k-1. Between calls at most ``_AHEAD``
    batches wait for their results, so memory stays bounded; ``finish_bundle`` emits the rest.
    Results of a batch keep that batch's window and timestamp, except that a record (or its
    dead letter) whose batch carries the records' own timestamps (streaming, ``TagText``'s
    bounded path) leaves with its own.
    """
    _AHEAD = 1

    def __init__(self, shared_runner, model_dir, progress_every_secs, launcher_pid, threads,
                 runtime="tensorflow", output_batches=False, store=None, vector_dtype="float32",
                 built_against=BuiltAgainst(), threshold=None, model_name=None):
        self._shared_runner = shared_runner
        self.model_dir = model_dir
        self.progress_every_secs = progress_every_secs
        self.launcher_pid = launcher_pid
        self.threads = threads
        self.runtime = runtime
        self.output_batches = output_batches
        self.store = store
        self.vector_dtype = vector_dtype
        self.built_against = built_against
        self.threshold = threshold
        self.model_name = model_name

    def setup(self):
        self._store = None
        self._decoding = None
        if self.store is not None:
            options = self.store
            self._store_holder = worker_resources.acquire_store(
                options.shared_store, options.store_path, self.built_against)
            self._store = self._store_holder.store
            worker_resources.load_spec(self.model_dir, self.built_against).check_store(
                self._store, allow_other_fingerprint=options.allow_other_embeddings)
        # After the store: the runner is warmed up for batches of its rows where they come.
        self._holder = self._shared_runner.acquire(
            lambda: _SharedRunner(self.model_dir, self.threads, self.runtime, self.vector_dtype,
                                  self._store, self.built_against))
        # One thread: batches reach the model in order, and one DoFn instance never runs two
        # of its own batches at once (TensorFlow already uses every core for one).
        self._predictor = futures.ThreadPoolExecutor(max_workers=1,
                                                     thread_name_prefix="beamtagger-predict")
        self._in_flight = collections.deque()

    def start_bundle(self):
        self._in_flight.clear()

    def _runner(self):
        """The process's runner; with a store (``vectors_at="tag"``), that runner fed store
        rows (``runtimes.fed_by_store_rows``; a JAX runner's table was put on its device at
        load, once per process)."""
        return self._holder.runner

    def process(self, batch, window=beam.DoFn.WindowParam, timestamp=beam.DoFn.TimestampParam):
        runner = self._runner()
        inputs = self._model_inputs(batch)
        # A runtime that pads to a grid of shapes (jax) runs more slots than the batch has:
        # counted, so the summary's padding efficiency is over the slots the model ran.
        grid_padding = (runner.computed_slots(inputs.batch_size, inputs.width)
                        - inputs.batch_size * inputs.width)
        if grid_padding:
            counters.PADDED_SLOTS.inc(grid_padding)
        if hasattr(runner, "predict_async"):
            probs = _Dispatched(runner.predict_async, inputs)
        else:
            probs = self._predictor.submit(_timed, runner.predict, inputs)
        self._in_flight.append(_InFlight(batch, probs, window, timestamp))
        while len(self._in_flight) > self._AHEAD:
            yield from self._emit_batch(self._in_flight.popleft())

    def _model_inputs(self, batch):
        """The batch's ModelInputs; a batch built for another model's inputs is refused, and
        one of store rows unless this stage gathers from the store they are rows of."""
        if getattr(self, "_fingerprint", None) is None:
            self._fingerprint = self._holder.runner.spec.inputs_fingerprint
        try:
            inputs = model_inputs(batch, self._fingerprint)
        except InputsMismatch as error:
            raise BeamtaggerError(f"tag stage: {error}") from None
        if inputs.store_rows is not None:
            found = (batch.schema.metadata or {}).get(STORE_FINGERPRINT_KEY, b"").decode()
            if self._store is None:
                raise BeamtaggerError(
                    "tag stage: these batches carry store rows (AttachVectors(vectors_at="
                    "'tag')), and this stage has no store to gather them from: give it "
                    "vectors_at='tag' and the same store_path")
            if found != self._store.fingerprint:
                raise BeamtaggerError(
                    f"tag stage: these batches carry rows of the store with fingerprint "
                    f"{found[:12] or 'none'}..., but this stage gathers from "
                    f"{self._store.path} ({self._store.fingerprint[:12]}...): give the vectors' "
                    "stage and the tag stage the same store")
        return inputs

    def finish_bundle(self):
        while self._in_flight:
            yield from self._emit_batch(self._in_flight.popleft())

    def teardown(self):
        predictor = getattr(self, "_predictor", None)
        if predictor is not None:
            predictor.shutdown(wait=True)

    def _emit_batch(self, in_flight):
        runner = self._runner()
        inputs = model_inputs(in_flight.batch)
        lengths = inputs.lengths
        self._holder.report_load_once()
        try:
            probs, micro_secs = in_flight.probs.result()
            counters.INFERENCE_BATCH_LATENCY_MICRO_SECS.update(micro_secs)
        except Exception:  # noqa: BLE001  (find the record that fails, tag the others)
            probs = None
            counters.FAILED_BATCHES.inc()
        counters.INFERENCE_REQUEST_BATCH_SIZE.update(in_flight.batch.num_rows)
        counters.INFERENCE_REQUEST_BATCH_TOKENS.update(int(lengths.sum()))
        counters.NUM_INFERENCES.inc(in_flight.batch.num_rows)
        if self.progress_every_secs:
            progress.report(1, int(lengths.sum()), self.progress_every_secs, self.launcher_pid,
                            self.model_name)
        outputs = self._emit_tagged_batch(runner, in_flight, inputs, probs)
        if self.output_batches:
            yield from outputs
            return
        # TaggedRecords made from the tagged batch: each column converted once, flat.
        for output in outputs:
            if isinstance(output, beam.pvalue.TaggedOutput):
                yield output
            else:
                yield from tagged_records_at_own_timestamps(output.value, output.timestamp,
                                                            output.windows)

    def _emit_tagged_batch(self, runner, in_flight, inputs, probs):
        """The batch's whole records as one tagged batch; chunks of long records and records
        that failed as in ``_emit``, one by one."""
        batch, spec = in_flight.batch, self._decoding_spec(runner)
        windows = (in_flight.window,)
        whole = batch.column("num_chunks").to_numpy() == 1
        # Whole records are decoded here, chunks of long records below (_ChunkDecoding).
        whole_rows = np.flatnonzero(whole)
        if whole.all():
            decoded = _decode_flat_or_none(spec, probs, inputs.lengths)
        elif probs is not None and len(whole_rows):
            decoded = _decode_flat_or_none(spec, probs[whole_rows], inputs.lengths[whole_rows])
        else:
            decoded = None
        if decoded is not None and whole.all():
            counters.RECORDS_TAGGED.inc(batch.num_rows)
            yield WindowedValue(tagged_batch(batch, *decoded, spec.labels), in_flight.timestamp,
                                windows)
            return
        # Row by row: a failed batch is retried record by record, chunk rows go to
        # StitchChunks, and the records that are tagged still leave as one tagged batch.
        rows = _Rows(batch)
        chunk_decoding = _ChunkDecoding(spec, probs, inputs.lengths, whole)
        lengths = inputs.lengths.tolist()
        label_index = {label: i for i, label in enumerate(spec.labels)}
        # Where each whole record's labels start in ``decoded``, which holds whole records only.
        flat_starts = dict(zip(whole_rows.tolist(), np.concatenate(
            [[0], np.cumsum(inputs.lengths[whole_rows])]).tolist()))
        kept, label_ids, scores = [], [], []
        for i, length in enumerate(lengths):
            row_probs, error = _row_probs(runner, inputs, probs, i)
            row_decoded = None
            if decoded is not None and whole[i]:
                start = flat_starts[i]
                stop = start + length
                row_decoded = ([spec.labels[j] for j in decoded[0][start:stop]],
                               decoded[1][start:stop])
            for output in self._emit(spec, rows, i, length, row_probs, error, chunk_decoding,
                                     row_decoded):
                if isinstance(output, beam.pvalue.TaggedOutput):
                    # A dead letter with its record's own timestamp (where the batch carries
                    # them); a chunk's does not matter, its record is stitched with its own.
                    stamp = (rows.timestamps[i] if rows.timestamps and output.tag == ERRORS
                             else in_flight.timestamp)
                    yield beam.pvalue.TaggedOutput(
                        output.tag, WindowedValue(output.value, stamp, windows))
                else:
                    row_labels, row_scores = output
                    kept.append(i)
                    label_ids.extend(label_index[label] for label in row_labels)
                    scores.append(np.asarray(row_scores))
        if kept:
            counters.RECORDS_TAGGED.inc(len(kept))
            yield WindowedValue(
                tagged_batch(batch.take(pa.array(kept, pa.int64())), label_ids,
                             np.concatenate(scores), spec.labels),
                in_flight.timestamp, windows)

    def _decoding_spec(self, runner):
        """What the labels are decoded by: the runner's spec, or a copy of it at
        ``threshold`` (``flag_threshold.with_threshold``), made once a DoFn instance."""
        if self._decoding is None:
            self._decoding = with_threshold(runner.spec, self.threshold, self.model_dir)
        return self._decoding

    @staticmethod
    def _emit(spec, rows, i, length, probs, error, chunk_decoding, decoded=None):
        """Row ``i``'s output: a ChunkResult, a DeadLetter, or its (labels, scores)."""
        key, num_chunks = rows.keys[i], rows.num_chunks[i]
        if num_chunks > 1:
            yield beam.pvalue.TaggedOutput(CHUNKS, (key, chunk_decoding.result(
                rows, i, length, probs, error)))
            return
        tokens = tuple(rows.tokens[i])
        if not error:
            try:
                labels, scores = decoded or spec.decode(probs, length)
            except Exception as failure:  # noqa: BLE001
                error = f"decoding failed: {failure!r}"
        if error:
            counters.DEAD_LETTERS.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, DeadLetter(key, error, " ".join(tokens), "tag"))
            return
        yield labels, scores


class _Dispatched:
    """A batch dispatched to an asynchronous runtime (JAX) from the DoFn's own thread: its
    inputs go to the device while the batch before it computes, and ``result()`` waits, as the
    helper thread's future does. (probs, micro seconds from dispatch to result)."""

    def __init__(self, predict_async, inputs):
        self._started = time.perf_counter()
        try:
            self._pending, self._error = predict_async(inputs), None
        except Exception as error:  # noqa: BLE001  (raised by result(), as a future would)
            self._pending, self._error = None, error

    def result(self):
        if self._error is not None:
            raise self._error
        probs = self._pending.result()
        return probs, int((time.perf_counter() - self._started) * 1e6)


def _timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, int((time.perf_counter() - started) * 1e6)


def _row_probs(runner, inputs, probs, i):
    """(row ``i``'s probabilities, "") from the batch's, or, where the batch failed, from the
    row run alone; (None, the reason) where that fails too: one record costs only itself."""
    if probs is not None:
        return probs[i], ""
    try:
        return runner.predict(inputs.rows(i, i + 1))[0], ""
    except Exception as failure:  # noqa: BLE001
        return None, f"tagger failed: {failure!r}"


def _decode_flat_or_none(spec, probs, lengths):
    """``decode_batch_flat``; None sends each record to ``spec.decode`` on its own."""
    if probs is None:
        return None
    try:
        return decode_batch_flat(spec, probs, lengths)
    except Exception:  # noqa: BLE001
        return None


class _ChunkDecoding:
    """How a batch's chunks of long records leave for StitchChunks.

    Where the tagger decodes each token on its own (arg-max, threshold:
    ``batch_decoding.decodes_per_token``), a chunk's labels are its stitched record's, so the
    chunk leaves decoded: a label id and a score a token (5 to 8 bytes) where its probabilities
    were 4 bytes a label (68 for UPOS), which the stitching's GroupByKey encoded, copied and
    decoded again (the largest cost of long records on the local runner, ninth session's
    py-spy profile). Otherwise (BIO Viterbi, CRF) it leaves as probabilities, decoded over the
    stitched record."""

    def __init__(self, spec, probs, lengths, whole):
        self.spec = spec
        self.per_token = decodes_per_token(spec)
        # Fewer bytes again: a byte a label id for any tag set of up to 256 labels.
        self._id_type = np.min_scalar_type(max(len(spec.labels) - 1, 0))
        self._decoded = {}
        chunk_rows = np.flatnonzero(~whole)
        if not self.per_token or probs is None or not len(chunk_rows):
            return
        try:
            found = decode_batch(spec, probs if len(chunk_rows) == len(whole)
                                 else probs[chunk_rows], lengths[chunk_rows], label_ids=True)
        except Exception:  # noqa: BLE001  (each chunk on its own in result())
            return
        self._decoded = dict(zip(chunk_rows.tolist(), found))

    def result(self, rows, i, length, probs, error):
        """Chunk row ``i`` (``length`` tokens, ``probs`` its probabilities, or ``error``) as a
        ChunkResult of the tokens it owns."""
        chunk, num_chunks = rows.chunks[i], rows.num_chunks[i]
        if error:
            return ChunkResult(chunk, num_chunks, None, error)
        keep = slice(rows.keep_starts[i], rows.keep_ends[i])
        if not self.per_token:
            return ChunkResult(chunk, num_chunks, probs[keep].copy())
        decoded = self._decoded.get(i)
        if decoded is None:   # its batch failed (the row ran alone) or failed to decode
            try:
                [decoded] = decode_batch(self.spec, np.asarray(probs)[None], [length],
                                         label_ids=True)
            except Exception as failure:  # noqa: BLE001  (the record's dead letter says why)
                return ChunkResult(chunk, num_chunks, None, f"decoding failed: {failure!r}")
        label_ids, scores = decoded
        return ChunkResult(chunk, num_chunks, labels=label_ids[keep].astype(self._id_type),
                           scores=scores[keep].copy())


class _Rows:
    """The batch's non-tensor columns as Python lists, converted once per batch."""

    def __init__(self, batch):
        column = lambda name: batch.column(name).to_pylist()  # noqa: E731
        self.keys, self.ids, self.fields = column("key"), column("id"), column("fields")
        self.chunks, self.num_chunks = column("chunk"), column("num_chunks")
        self.keep_starts, self.keep_ends = column("keep_start"), column("keep_end")
        self.tokens, self.starts, self.ends = column("tokens"), column("starts"), column("ends")
        self.timestamps = row_timestamps(batch)


def tagged_records_at_own_timestamps(tagged, timestamp=beam.DoFn.TimestampParam,
                                     window=beam.DoFn.WindowParam):
    """``tagged_records_or_dead_letters`` of a tagged batch, each at its record's own
    timestamp where the batch carries them (its ``timestamp`` column: streaming, and
    ``TagText``'s bounded path), else at the batch's ``timestamp``; in ``window`` (or
    ``windows``, a tuple of them)."""
    windows = window if isinstance(window, tuple) else (window,)
    stamps = row_timestamps(tagged) or itertools.repeat(timestamp)
    for record, stamp in zip(tagged_records_or_dead_letters(tagged), stamps):
        if isinstance(record, beam.pvalue.TaggedOutput):
            yield beam.pvalue.TaggedOutput(record.tag, WindowedValue(record.value, stamp,
                                                                     windows))
        else:
            yield WindowedValue(record, stamp, windows)


def tagged_records_or_dead_letters(tagged):
    """The TaggedRecords of a tagged batch (``tagged_batches.tagged_records``). A batch that
    fails is taken row by row, and a row that still fails is a DeadLetter of stage "tag"
    (``TaggedOutput(ERRORS, ...)``), its count moved from tagged records to dead letters."""
    try:
        records = tagged_records(tagged)
    except Exception:  # noqa: BLE001  (then each record on its own, with its dead letter)
        records = None
    if records is not None:
        yield from records
        return
    for row in range(tagged.num_rows):
        try:
            [record] = tagged_records(tagged, [row])
        except Exception as failure:  # noqa: BLE001  (one record must not fail the job)
            counters.RECORDS_TAGGED.dec()
            counters.DEAD_LETTERS.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, DeadLetter(
                _row_value(tagged, "key", row),
                one_line(f"building the result failed: {failure!r}"),
                " ".join(_row_value(tagged, "tokens", row) or ()), "tag"))
        else:
            yield record


def _row_value(tagged, column, row):
    try:
        return tagged.column(column)[row].as_py()
    except Exception:  # noqa: BLE001  (a dead letter without it rather than none)
        return None
