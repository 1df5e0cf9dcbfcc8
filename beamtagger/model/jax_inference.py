"""The tagger's forward pass in JAX, for GPUs where TensorFlow is not installed (``runtime="jax"``).

Not Keras on JAX: Keras picks its backend once per process, so a process that already imported
Keras with TensorFlow (or anything else) could not run it. This is a JAX function over the
arrays ``numpy_inference.read_keras_weights`` reads from ``tagger.keras`` (the NumPy runtime's
reader, with its shape checks), computing what ``Tagger.call`` computes at inference;
``tests/model_tagger_test.py`` holds it equal to the Keras model for every model variant.

How it is shaped for a GPU (issue 17; Keras on JAX reached 0.58 of a cuDNN BiLSTM):

* **A fixed grid of shapes** (``shape_grid``): every batch is padded on the host to its grid
  shape (rows and width), and each grid shape is compiled once, ahead of time, per process and
  vector dtype; JAX's persistent cache (``jax_setup``) shares the compiled code between the
  processes of a machine and across runs. ``compiled_shapes`` lists what was compiled and how
  long it took. ``warm_up`` compiles the smallest shape at load, of the program the caller
  says its batches run (vectors of a dtype, or store rows with their table), not a guess.
* **Both directions of a BiLSTM layer in one ``lax.scan``**: the directions' weights are stacked,
  so each step is one batched (2, B, u) x (2, u, 4u) product, and each direction's input
  projection is one product over all B x T tokens before the scan. The backward direction reads
  each row reversed within its own length (a gather before the scan and one after), so neither
  direction needs a mask inside the loop: a right-padded row's real tokens never see its
  padding, which is what the masked Keras layer computes.
* **Or cuDNN's LSTM** (``recurrence="cudnn"``, not offered to users): each BiLSTM layer as one
  ``jax.experimental.rnn.lstm`` call, in case a scan whose every step is an iteration of a
  device-side loop cannot reach issue 17's target (0.75 of a PyTorch cuDNN BiLSTM). Its weights
  are the same, packed once into cuDNN's flat layout (``_cudnn_weights``); it takes each row's
  length, so the backward direction starts at it, as the scan's does. NVIDIA GPUs only, float32
  compute; what it gives is measured by ``bench/gpu_bench.py`` when a GPU is lent, beside the
  scan (not yet measured). Two things may cost it there (jaxlib's ``rnn_kernels.cc``, jax
  0.10-0.11): it copies the lengths to the host and waits for the stream at each call, and it
  runs cuDNN's training mode (a reserve space written for a backward pass never taken). On a
  CPU the tests run the same packed weights through JAX's reference of it (``lstm_ref``).
* **Bytes to the device**: float16 vectors travel as float16 and are cast on the device; the
  id columns travel in the narrowest unsigned type their tables allow (the bundled model's
  char ids in uint8, feature and extra-row ids in uint16: 30 bytes a slot instead of 92; the
  first H200 run, 2026-12-04, copied from pageable host memory at 4.6-4.8 GB/s, which bound the
  float32 rate at 0.39 of a cuDNN BiLSTM's); the
  inputs of the next batch are put on the device (asynchronously) while the current one
  computes: ``predict_async`` returns before the result exists, and the tag stage dispatches
  batch k+1 before it waits for batch k (``transforms/tag.py``). Only the probabilities come
  back (float32 (B, T, L)): BIO Viterbi decoding and the stitching of long records need them.
  ``labels_back`` (measured by ``bench/gpu_bench.py``, not offered to users) decodes on the
  device instead where the decoding is a plain arg-max or threshold, and brings back each slot's
  label and its probability: 5 bytes a slot instead of 4 x L (68 for UPOS).
* **Or store rows instead of vectors** (``ModelInputs.store_rows``, the tag stage's
  ``vectors_at="tag"``): ``device_table`` puts the store's vectors on the device once per
  process (in the vector dtype, a zero row first for "no row": OOV and padding; one table for
  all the models' runners over the same store, ``device_tables``), and the batch
  sends each slot's store row (4 bytes, 2 where the table has at most 65,536 rows) in place of
  its vectors (2-4 x D bytes: 100 at D=50 in float16, 600 at D=300); the gather runs inside
  the compiled function. The table is an argument of that function, not a constant in it, so
  its shape (not its content) is part of the compiled program and of its persistent cache key.
  It costs GPU memory in every worker process, once however many models read it: (rows + 1)
  x D x 2 bytes in float16, 40 MB for GloVe 6B's 400k x 50, 1.3 GB for a 2.2M x 300 store
  (docs/scaling.md).
"""
import functools
import threading
import time

import numpy as np

from beamtagger.errors import BeamtaggerError
from beamtagger.model import device_tables, shape_grid
from beamtagger.model.model_inputs import (FIELD_NAMES, STORE_ROWS, ModelInputs,
                                            check_vector_dtype)
from beamtagger.model.numpy_inference import read_keras_weights
from beamtagger.model.tagger_spec import TaggerSpec

COMPUTE_DTYPES = ("float32", "bfloat16")
# "cudnn_reference": the cuDNN recurrence's packed weights through JAX's reference
# implementation of it (``jax.experimental.rnn.lstm_ref``), which runs anywhere: how the tests
# hold the packing equal to the Keras model on a CPU, where cuDNN's own cannot run.
RECURRENCES = ("scan", "cudnn", "cudnn_reference")


class JaxTaggerRunner:
    """A saved tagger run by JAX; ``predict`` -> float32 (B, T, L), as ``TaggerRunner``'s.

    Args:
      spec: the model's TaggerSpec.
      config, weights: what ``read_keras_weights`` returns.
      compute_dtype: "float32", or "bfloat16" for the matrix products' operands (accumulated in
        float32). Not offered to users: ``bench/gpu_bench.py`` measures what it does to labels.
      precision: ``jax.lax.Precision`` of the matrix products (None: JAX's default, which lets
        a GPU use TF32 for float32 products).
      scan_unroll: LSTM steps per iteration of the recurrence's loop (``lax.scan``'s
        ``unroll``): fewer iterations of a GPU's device-side loop, larger programs to compile.
        Not offered to users either: ``bench/gpu_bench.py`` measures it beside the default.
      labels_back: ``predict_async`` results are ``decode_batch_flat``-ready (label index
        (B, T) uint8/uint16, its probability (B, T) float32), decoded on the device: for specs
        whose decoding is a plain arg-max or threshold (not BIO Viterbi, not a CRF head).
        Not offered to users: ``bench/gpu_bench.py`` measures what the smaller copy back gives.
      recurrence: "scan" (``lax.scan``, any device), or "cudnn": each BiLSTM layer as one call
        of cuDNN's LSTM (``jax.experimental.rnn.lstm``; NVIDIA GPUs only, float32 compute:
        BeamtaggerError at construction elsewhere). Not offered to users:
        ``bench/gpu_bench.py`` measures it beside the scan. "cudnn_reference" is for tests
        (``RECURRENCES``).
    """

    def __init__(self, spec, config, weights, compute_dtype="float32", precision=None,
                 scan_unroll=1, labels_back=False, recurrence="scan"):
        import jax

        if compute_dtype not in COMPUTE_DTYPES:
            raise ValueError(f"compute_dtype must be one of {COMPUTE_DTYPES}, not "
                             f"{compute_dtype!r}")
        if recurrence not in RECURRENCES:
            raise ValueError(f"recurrence must be one of {RECURRENCES}, not {recurrence!r}")
        if recurrence != "scan" and (compute_dtype != "float32" or scan_unroll != 1):
            raise ValueError(f"recurrence={recurrence!r} computes in float32 (cuDNN's LSTM in "
                             f"JAX rejects bfloat16) and has no scan to unroll: "
                             f"compute_dtype={compute_dtype!r}, scan_unroll={scan_unroll}")
        self.spec = spec
        self.config = config
        self.compute_dtype = compute_dtype
        self.precision = precision
        self.recurrence = recurrence
        self.device = _first_device()
        if recurrence == "cudnn":
            _require_cudnn_lstm(self.device)
        self._params = jax.device_put(_params(weights, recurrence), self.device)
        self.labels_back = labels_back
        decode = _device_decoding(spec, len(spec.labels)) if labels_back else None
        forward = functools.partial(
            _forward, head=config["head"], compute_dtype=compute_dtype, precision=precision,
            scan_unroll=scan_unroll, decode=decode, recurrence=recurrence,
            lstm_units=tuple(recurrent.shape[0] for (_, recurrent, _), _ in
                             weights["recurrent"]))
        self._function = jax.jit(forward)
        self._gathering_function = jax.jit(functools.partial(_gathered_forward,
                                                             forward=forward))
        self._id_dtypes = spec.id_dtypes
        self._compiled = {}
        self._compile_seconds = {}
        self._compile_lock = threading.Lock()
        self._tables = {}

    @classmethod
    def load(cls, model_dir, **options):
        spec = TaggerSpec.load(model_dir)
        config, weights = read_keras_weights(spec.model_path)
        return cls(spec, config, weights, **options)

    def warm_up(self, vector_dtype="float32", table=None):
        """Compiles (or loads from the persistent cache) and runs the smallest grid shape of
        the program the batches will run, so a broken accelerator set-up fails here, at load,
        not on the first batch: batches of vectors in ``vector_dtype``, or, with ``table``
        (``device_table``, of that dtype), batches of store rows gathered from it. Told by
        the caller (``worker_resources.loaded_runner``, which knows how the tag stage or the
        handler feeds it), not guessed: float16 on a GPU, float32 on a CPU was guessed
        before, and a run fed store rows, or the other dtype, compiled one shape for nothing
        at every fresh process and its own first shape on its first batch."""
        check_vector_dtype(vector_dtype)
        if table is not None and table.vector_dtype != vector_dtype:
            raise ValueError(f"a warm-up for {vector_dtype} vectors with a table of "
                             f"{table.kind}")
        self.predict(ModelInputs.zeros(self.spec.input_dims, [2, 2], vector_dtype,
                                       store_rows=table is not None), table)

    def predict(self, inputs, table=None):
        """float32 (B, T, L) for a ``ModelInputs`` batch (emission scores for a CRF head)."""
        return self.predict_async(inputs, table).result()

    def device_table(self, store, vector_dtype):
        """The ``StoreTable`` of ``store``'s vectors in ``vector_dtype`` on this runner's
        device, for batches of ``store_rows``: one per process, shared with every other runner
        over the same store object in that dtype on that device (``device_tables``: several
        models in one pass hold one table, not one each), and held by this runner for as long
        as it lives."""
        import jax

        # By name: np.dtype("float16") passes the check (it equals "float16") but hashes
        # apart from it, so it was another key of device_tables and another copy of the table.
        vector_dtype = np.dtype(check_vector_dtype(vector_dtype)).name
        if store.dim != self.spec.input_dims["D"]:
            raise BeamtaggerError(f"the store's vectors have {store.dim} dimensions, the "
                                  f"tagger reads {self.spec.input_dims['D']}")

        def put():
            # Row 0 is "no row" (store row -1: OOV and padding), zeros as the host's gather
            # gives; store row r is table row r + 1.
            host = np.zeros((store.count + 1, store.dim), vector_dtype)
            host[1:] = store.vectors
            return StoreTable(jax.device_put(host, self.device), store.fingerprint,
                              vector_dtype)

        table = device_tables.shared_table(store, vector_dtype, self.device, put)
        with self._compile_lock:
            # Keyed by what the table is of: a store opened again on the same files replaces
            # the entry, so a runner keeps only the tables it was last given.
            self._tables[(store.fingerprint, vector_dtype)] = table
        return table

    def predict_async(self, inputs, table=None):
        """Puts the batch on the device and starts the forward pass; returns a
        ``PendingProbs`` at once (its ``result()`` waits and brings the probabilities back).
        A batch of ``store_rows`` needs the ``table`` (``device_table``) of its store."""
        import jax

        inputs = inputs.checked()
        batch, width = inputs.batch_size, inputs.width
        if inputs.store_rows is None:
            kind, arrays, function_inputs = inputs.vectors.dtype.name, inputs.as_dict(), ()
            names = FIELD_NAMES
        else:
            if table is None:
                raise ValueError("a batch of store rows needs its store's table on the device "
                                 "(JaxTaggerRunner.device_table)")
            table.check_rows(inputs.store_rows)
            kind, function_inputs = table.kind, (table.array,)
            names = (STORE_ROWS.name,) + FIELD_NAMES[1:]
            arrays = {name: getattr(inputs, name) for name in names}
        outputs, start = [], 0
        for rows, grid_width in shape_grid.grid_shapes(batch, width):
            stop = min(batch, start + rows)
            padded = _padded(arrays, start, stop, rows, grid_width, self._id_dtypes, table)
            compiled = self._compiled_for(rows, grid_width, kind, table)
            on_device = jax.device_put(padded, self.device)
            # Compiled ahead of time: JAX refuses to call such a program while jit is
            # disabled (JAX_DISABLE_JIT=1, a debugging switch for the user's own functions).
            with jax.disable_jit(False):
                probs = compiled(self._params, *function_inputs,
                                 *(on_device[name] for name in names))
            for part in (probs if self.labels_back else (probs,)):
                part.copy_to_host_async()
            outputs.append((probs, stop - start))
            start = stop
        return (PendingLabels if self.labels_back else PendingProbs)(outputs, width)

    def computed_slots(self, batch_size, width):
        """Slots the model runs for a (batch_size, width) batch: its grid shapes'."""
        return shape_grid.computed_slots(batch_size, width)

    def tracing_counts(self):
        """{(vector input, rows, width): 1} for every grid shape compiled so far; the vector
        input is the vectors' dtype, or ``StoreTable.kind`` for batches of store rows."""
        return {key: 1 for key in self._compiled}

    def compiled_shapes(self):
        """{(vector input, rows, width): seconds its compilation (or cache load) took}."""
        return dict(self._compile_seconds)

    def _compiled_for(self, rows, width, kind, table=None):
        key = (kind, rows, width)
        compiled = self._compiled.get(key)
        if compiled is not None:
            return compiled
        # The tag stage dispatches from its own thread and retries records from another:
        # compile each shape once, however many threads ask.
        with self._compile_lock:
            if key not in self._compiled:
                started = time.perf_counter()
                self._compiled[key] = self._compile(rows, width, kind, table)
                self._compile_seconds[key] = time.perf_counter() - started
            return self._compiled[key]

    def _compile(self, rows, width, kind, table=None):
        import jax

        dims = self.spec.input_dims
        ids = self._id_dtypes
        shapes = {"vectors": ((rows, width, dims["D"]), kind), "lengths": ((rows,), "int32"),
                  "extra_ids": ((rows, width), ids["extra_ids"]),
                  "feature_ids": ((rows, width, dims["F"]), ids["feature_ids"]),
                  "char_ids": ((rows, width, dims["C"]), ids["char_ids"])}
        function = self._function
        if table is not None:
            # The table's shape and dtype, not its content: one program for any batch of rows.
            del shapes["vectors"]
            shapes = {"table": (table.array.shape, table.array.dtype),
                      "store_rows": ((rows, width), table.row_dtype), **shapes}
            function = self._gathering_function
        arguments = [jax.ShapeDtypeStruct(*shape) for shape in shapes.values()]
        try:
            # Switches a user may set for their own JAX code (JAX_NUMPY_RANK_PROMOTION=raise,
            # JAX_NUMPY_DTYPE_PROMOTION=strict) would refuse the forward pass's broadcasts.
            with jax.disable_jit(False), jax.numpy_rank_promotion("allow"), \
                    jax.numpy_dtype_promotion("standard"):
                return function.lower(self._params, *arguments).compile()
        except Exception as error:  # noqa: BLE001  (XLA raises its own error types)
            raise BeamtaggerError(f"JAX could not compile the tagger for a ({rows}, {width}) "
                                  f"batch on {self.device}: {error}") from None


class StoreTable:
    """An embedding store's vectors on a device (``JaxTaggerRunner.device_table``): row 0 zeros
    ("no row"), store row r at row r + 1.

    Attributes:
      array: the (count + 1, D) device array, in the vector dtype.
      fingerprint: the store's.
      vector_dtype: the array's dtype, by name.
      kind: what the runner's compiled shapes name it by: "float16 store rows, 400,001 x 50".
      row_dtype: what the shifted rows travel in: uint16 for up to 65,536 table rows, else
        int32 (4 bytes either way that a uint32 would take).
    """

    def __init__(self, array, fingerprint, vector_dtype):
        self.array = array
        self.fingerprint = fingerprint
        self.vector_dtype = vector_dtype
        count, dim = array.shape
        self.kind = f"{vector_dtype} store rows, {count:,} x {dim}"
        self.row_dtype = "uint16" if count <= 1 << 16 else "int32"

    def check_rows(self, store_rows):
        """IndexError for a row past the table: a device's gather would not fail but fill."""
        if store_rows.size and int(store_rows.max()) >= self.array.shape[0] - 1:
            raise IndexError(f"store rows must lie in [-1, {self.array.shape[0] - 1}), got "
                             f"{int(store_rows.max())}")


def _first_device():
    """The device the runner computes on: JAX's first. BeamtaggerError, one line, where JAX
    cannot start a backend (``JAX_PLATFORMS=cuda`` on a machine without a GPU or without JAX's
    CUDA build fails inside JAX with a bare AssertionError)."""
    import os

    import jax

    try:
        return jax.devices()[0]
    except Exception as error:  # noqa: BLE001  (JAX raises RuntimeError, AssertionError, ...)
        platforms = os.environ.get("JAX_PLATFORMS") or jax.config.jax_platforms
        asked = f" for JAX_PLATFORMS={platforms}" if platforms else ""
        reason = " ".join(f"{type(error).__name__}: {error}".split()).rstrip(": ")
        raise BeamtaggerError(
            f"JAX cannot start a backend here{asked} ({reason}); set JAX_PLATFORMS to a "
            f"platform this machine has (cpu, or cuda with an NVIDIA GPU and "
            f"beamtagger[jax-cuda]), or leave it unset") from None


def _require_cudnn_lstm(device):
    """BeamtaggerError, one line, where ``jax.experimental.rnn.lstm`` cannot run on ``device``:
    it has a lowering for CUDA (and ROCm, whose MIOpen orders the gates otherwise) only, and
    on a CPU JAX fails inside its tracing (jax 0.10: an AttributeError of jaxlib's gpu_rnn).
    Its shape function asks cuDNN for the sizes of its buffers, so evaluating it on the GPU
    finds a CUDA build of JAX without cuDNN's RNN kernels before the first batch."""
    import jax
    from jax.experimental import rnn

    version = getattr(getattr(device, "client", None), "platform_version", "") or ""
    if device.platform != "gpu" or "rocm" in version.lower():
        reason = f"this device is {device.platform} ({device})"
    else:
        reason = None
        f32 = functools.partial(jax.ShapeDtypeStruct, dtype="float32")
        try:
            jax.eval_shape(functools.partial(
                rnn.lstm, input_size=1, hidden_size=1, num_layers=1, dropout=0.0,
                bidirectional=True), f32((1, 1, 1)), f32((2, 1, 1)), f32((2, 1, 1)),
                f32((rnn.get_num_params_in_lstm(1, 1, 1, True),)),
                jax.ShapeDtypeStruct((1,), "int32"))
        except Exception as error:  # noqa: BLE001  (jaxlib raises its own error types)
            reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
    if reason:
        raise BeamtaggerError(
            f"recurrence='cudnn' runs cuDNN's LSTM (jax.experimental.rnn.lstm), which needs an "
            f"NVIDIA GPU and JAX's CUDA build, and {reason}; use recurrence='scan'") from None


class PendingProbs:
    """The probabilities of a dispatched batch; ``result()`` waits for them (float32 (B, T, L))."""

    def __init__(self, outputs, width):
        self._outputs = outputs
        self._width = width

    def result(self):
        parts = [np.asarray(probs)[:rows, :self._width] for probs, rows in self._outputs]
        # A copy: writable, contiguous, and free of the padded rows and columns.
        return np.array(parts[0]) if len(parts) == 1 else np.concatenate(parts, axis=0)


class PendingLabels(PendingProbs):
    """A ``labels_back`` batch: ``result()`` -> (label index (B, T), its probability (B, T))."""

    def result(self):
        labels, scores = ([np.asarray(part[k])[:rows, :self._width]
                           for part, rows in self._outputs] for k in (0, 1))
        return tuple(np.array(p[0]) if len(p) == 1 else np.concatenate(p, axis=0)
                     for p in (labels, scores))


def _device_decoding(spec, labels):
    """What the device computes of ``spec.decode`` for ``labels_back``: ("argmax", index dtype)
    or ("threshold", t, index dtype); ValueError where only the host decodes (BIO Viterbi, CRF,
    or a decoder ``batch_decoding`` does not know)."""
    from beamtagger.model import batch_decoding

    if not batch_decoding.decodes_per_token(spec):
        raise ValueError("labels_back needs a plain arg-max or threshold decoding, not "
                         f"{spec.head} with {spec.decoding}")
    dtype = "uint8" if labels <= 1 << 8 else "uint16"
    if spec.head == "sigmoid":
        return ("threshold", float(spec.decoding.get("threshold", 0.5)), dtype)
    return ("argmax", dtype)


def _padded(arrays, start, stop, rows, width, id_dtypes, table=None):
    """{field: array of the grid shape}: rows ``start:stop`` of the batch, zero-padded (padding
    rows have length 0), id columns in ``id_dtypes``. A slice already of the grid shape and type
    is passed as it is (no copy). Store rows travel shifted by one, in the ``table``'s row
    dtype, so that the zero padding reads the table's zero row, as -1 does."""
    padded = {}
    for name, array in arrays.items():
        part = array[start:stop]
        dtype = id_dtypes.get(name, part.dtype)
        if name == STORE_ROWS.name:
            part, dtype = (part + 1).astype(table.row_dtype), table.row_dtype
        if name == "lengths":
            shape = (rows,)
        else:
            shape = (rows, width) + part.shape[2:]
        if part.shape == shape:
            padded[name] = part.astype(dtype, copy=False)
            continue
        out = np.zeros(shape, dtype)
        if name == "lengths":
            out[:len(part)] = part
        else:
            out[:part.shape[0], :part.shape[1]] = part
        padded[name] = out
    return padded


def _params(weights, recurrence="scan"):
    """The arrays the forward pass reads, the BiLSTM directions stacked (index 0 forward); for
    the cuDNN recurrence, each layer's in cuDNN's flat layout (``_cudnn_weights``)."""
    params = {name: np.asarray(weights[name]) for name in
              ("extra_rows", "features", "feature_offsets", "char_table", "char_kernel",
               "char_bias", "projection") if name in weights}
    params["head"] = tuple(weights["head"])
    params["recurrent"] = [tuple(np.stack(parts) for parts in zip(forward, backward))
                           for forward, backward in weights["recurrent"]]
    if recurrence != "scan":
        params["recurrent"] = [_cudnn_weights(*layer) for layer in params["recurrent"]]
    return params


def _cudnn_weights(kernel, recurrent, bias):
    """One Bidirectional(LSTM) layer (directions stacked, index 0 forward) as the flat float32
    vector ``jax.experimental.rnn.lstm`` takes: W_ih (4u, w) and W_hh (4u, u) of the forward
    direction, then of the backward one, then b_ih and b_hh of each in the same order (its
    module docstring; ``unpack_lstm_weights`` reads it back). The rows of each are in cuDNN's
    gate order i, f, g, o, which is Keras's i, f, c, o: no reordering (``swap_lstm_gates`` is
    for MIOpen's i, f, o, g). cuDNN adds two bias vectors where Keras has one: b_hh is zeros."""
    matrices = [part for direction in (0, 1)
                for part in (kernel[direction].T, recurrent[direction].T)]
    biases = [part for direction in (0, 1)
              for part in (bias[direction], np.zeros_like(bias[direction]))]
    return np.concatenate([np.ravel(part) for part in matrices + biases]).astype(np.float32)


def _gathered_forward(params, table, store_rows, *inputs, forward):
    """``forward`` over the vectors of ``store_rows`` (shifted by one: 0 is the zero row) taken
    from ``table`` on the device."""
    import jax.numpy as jnp

    return forward(params, jnp.take(table, store_rows.astype(jnp.int32), axis=0), *inputs)


def _forward(params, vectors, lengths, extra_ids, feature_ids, char_ids, *, head,
             compute_dtype, precision, scan_unroll=1, decode=None, recurrence="scan",
             lstm_units=()):
    """``Tagger.call`` at inference over one grid-shaped batch -> float32 (B, T, L); with
    ``decode`` (``_device_decoding``), (label index (B, T), its probability (B, T)) instead."""
    import jax
    import jax.numpy as jnp

    dot = functools.partial(_dot, compute_dtype=compute_dtype, precision=precision)
    # The ids arrive in their narrowest types (TaggerSpec.id_dtypes); index arithmetic in int32.
    extra_ids, feature_ids, char_ids = (ids.astype(jnp.int32)
                                        for ids in (extra_ids, feature_ids, char_ids))
    batch, width = extra_ids.shape
    used = (extra_ids > 0)[..., None].astype(jnp.float32)
    x = vectors.astype(jnp.float32) + jnp.take(params["extra_rows"], extra_ids, axis=0) * used
    parts = [x]
    if "features" in params:
        rows = jnp.take(params["features"], feature_ids + params["feature_offsets"], axis=0)
        parts.append(rows.reshape(batch, width, -1))
    if "char_table" in params:
        parts.append(_char_encoding(params, char_ids, dot))
    x = jnp.concatenate(parts, axis=-1) if len(parts) > 1 else x
    if "projection" in params:
        x = dot("btw,wp->btp", x, params["projection"])
    if recurrence == "scan":
        positions = jnp.arange(width)[None, :]
        real = positions < lengths[:, None]
        # Each row's real tokens reversed, its padding left in place: the backward direction's
        # input order; the same index puts its outputs back (it is its own inverse).
        reverse = jnp.where(real, lengths[:, None] - 1 - positions, positions)
        for kernel, recurrent, bias in params["recurrent"]:
            x = _bidirectional_lstm(x, reverse, kernel, recurrent, bias, dot, scan_unroll)
    else:
        # The grid's padding rows have length 0; JAX's own cuDNN tests use lengths >= 1 only,
        # so they run one step instead (their outputs are cut off like any padding's).
        sequence_lengths = jnp.maximum(lengths, 1).astype(jnp.int32)
        lstm = _cudnn_lstm if recurrence == "cudnn" else _reference_lstm
        for weights, units in zip(params["recurrent"], lstm_units):
            state = jnp.zeros((2, batch, units), jnp.float32)
            x, _, _ = lstm(x, state, state, weights, sequence_lengths,
                           input_size=x.shape[-1], hidden_size=units, precision=precision)
    kernel, bias = params["head"]
    scores = dot("btw,wl->btl", x, kernel) + bias
    if head == "softmax":
        probs = jax.nn.softmax(scores, axis=-1)
    elif head == "sigmoid":
        probability = jax.nn.sigmoid(scores)
        probs = jnp.concatenate([1.0 - probability, probability], axis=-1)
    else:
        return scores
    if decode is None:
        return probs
    # batch_decoding's rules: the first of equal maxima (jnp.argmax's too), or the threshold.
    if decode[0] == "threshold":
        labels = (probs[..., 1] >= decode[1]).astype(jnp.int32)
    else:
        labels = jnp.argmax(probs, axis=-1)
    chosen = jnp.take_along_axis(probs, labels[..., None], axis=-1)[..., 0]
    return labels.astype(decode[-1]), chosen


def _dot(subscripts, x, y, compute_dtype, precision):
    import jax.numpy as jnp

    # bfloat16 operands give a bfloat16 product (GPUs accumulate it in float32 inside the
    # kernel); asking XLA for a float32 result instead fails on CPUs (no BF16 x BF16 = F32 dot
    # there, jax 0.10).
    product = jnp.einsum(subscripts, x.astype(compute_dtype), y.astype(compute_dtype),
                         precision=precision)
    return product.astype(jnp.float32)


def _char_encoding(params, char_ids, dot):
    """CharEncoder: embedding, Conv1D ("same" padding, relu), max over each token's chars."""
    import jax.numpy as jnp

    table, kernel, bias = params["char_table"], params["char_kernel"], params["char_bias"]
    batch, width, chars = char_ids.shape
    flat = char_ids.reshape(-1, chars)
    real = (flat > 0)[..., None].astype(jnp.float32)
    x = jnp.take(table, flat, axis=0) * real                              # (N, C, dim)
    size = kernel.shape[0]
    before = (size - 1) // 2   # "same" padding puts the odd extra column after, as Keras does
    padded = jnp.pad(x, ((0, 0), (before, size - 1 - before), (0, 0)))
    out = bias + sum(dot("ncd,df->ncf", padded[:, k:k + chars], kernel[k]) for k in range(size))
    out = jnp.maximum(out, 0.0) * real
    return out.max(axis=1).reshape(batch, width, -1)


def _cudnn_lstm(x, h, c, weights, sequence_lengths, *, input_size, hidden_size, precision):
    """One Bidirectional(LSTM) layer by cuDNN -> (B, T, 2u), (h, c) of each direction. Each
    row's backward direction starts at its own length, as the masked Keras layer's does; the
    outputs past a row's length are zeros."""
    from jax.experimental import rnn

    return rnn.lstm(x, h, c, weights, sequence_lengths, input_size=input_size,
                    hidden_size=hidden_size, num_layers=1, dropout=0.0, bidirectional=True,
                    precision=precision)


def _reference_lstm(x, h, c, weights, sequence_lengths, *, input_size, hidden_size,
                    precision):
    """``_cudnn_lstm`` by JAX's reference implementation of it, from the same flat weights."""
    from jax.experimental import rnn

    del precision   # lstm_ref takes none: its products use JAX's default
    unpacked = rnn.unpack_lstm_weights(weights, input_size, hidden_size, 1, True)
    return rnn.lstm_ref(x, h, c, *unpacked, sequence_lengths, input_size=input_size,
                        hidden_size=hidden_size, num_layers=1, dropout=0.0, bidirectional=True)


def _bidirectional_lstm(x, reverse, kernel, recurrent, bias, dot, scan_unroll=1):
    """One Bidirectional(LSTM) layer (Keras gates i, f, c, o) -> (B, T, 2u)."""
    import jax
    import jax.numpy as jnp

    backward_input = jnp.take_along_axis(x, reverse[..., None], axis=1)
    # (2, T, B, 4u): both directions' input projections, time-major for the scan.
    projected = dot("dbtw,dwg->dtbg", jnp.stack([x, backward_input]), kernel) + bias[:, None,
                                                                                    None, :]
    units = recurrent.shape[1]
    state = jnp.zeros((2, x.shape[0], units), jnp.float32)

    def step(carry, z):
        h, c = carry
        z = z + dot("dbu,dug->dbg", h, recurrent)
        i, f, g, o = jnp.split(z, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    _, outputs = jax.lax.scan(step, (state, state), jnp.swapaxes(projected, 0, 1),
                              unroll=scan_unroll)
    outputs = jnp.transpose(outputs, (1, 2, 0, 3))                         # (2, B, T, u)
    backward = jnp.take_along_axis(outputs[1], reverse[..., None], axis=1)
    return jnp.concatenate([outputs[0], backward], axis=-1)
