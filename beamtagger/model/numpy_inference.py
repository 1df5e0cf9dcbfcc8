"""The tagger's forward pass in NumPy: the same model, without importing TensorFlow or Keras.

``import tensorflow`` costs 2.6-3.6 s on the 2-core bench machine before the first token is
tagged, and loading and tracing even the tiny test model another 0.4 s: most of a pipeline unit
test's start-up (BENCHMARKS.md). ``NumpyTaggerRunner`` reads the weights of ``tagger.keras``
with h5py and computes what ``Tagger.call`` computes at inference (no dropout): the frozen
vectors plus the extra rows, the feature tables, the character CNN, the optional projection,
the masked BiLSTM layers and the head. ``tests/model_tagger_test.py`` holds it equal to the Keras
model for every model option, so a change to the model that is not made here fails there.

Keras 3 names the weights inside ``model.weights.h5`` after the model's attributes
(``extra_rows/vars/0``) and, for layers reached only through the model's layer list, after their
class (``layers/bidirectional_1``, ``layers/dense``). That layout is Keras' own, not a published
format: every array is checked against the shape the model's config implies, and a file that
does not match is refused with a clear error rather than misread.

Most of a pass is the BiLSTM's step loop. Both directions of a layer run in one loop
(``_bilstm``: one batched matmul and about ten elementwise calls a step, where each direction
made about twenty), which took a pass over EWT dev from 0.36 to 0.26 s (0.93x TensorFlow's),
0.85x the time end to end on 1M tokens (``bench/numpy_side_by_side.py``; BENCHMARKS.md, "The
NumPy runtime, faster"); most of what is left is the input and recurrent matrix products, at the
single-core BLAS peak.

The matrix products are small (a batch's rows times one LSTM layer's weights, step by
step), and NumPy's OpenBLAS splits each across all cores by default. With the cores busy (the
Beam stages around the model, another job) its spinning threads stalled a pass over EWT dev from
0.37 s to 20-38 s on the 2-core bench machine, so ``predict`` runs BLAS on one thread
(threadpoolctl, for this call only: the rest of the process keeps its setting). The limit is
process-wide while it holds, and two overlapping limits would restore each other's settings
in the wrong order, so forward passes take turns (``_ONE_BLAS_LIMIT``); each runs on one core
anyway.
"""
import re
import threading
import zipfile

import numpy as np

from beamtagger.errors import BeamtaggerError
from beamtagger.model import keras_archive
from beamtagger.model.model_inputs import check_vector_dtype
from beamtagger.model.tagger_spec import TaggerSpec

_ONE_BLAS_LIMIT = threading.Lock()
_CONTROLLER_MADE = threading.Lock()
_controller = None


def blas_controller():
    """The process's threadpoolctl controller, made on the first call.

    Making one lists the loaded libraries with ``dl_iterate_phdr``, which holds the dynamic
    loader's lock while it calls back into Python for each library, so it needs the GIL; a
    thread importing an extension module holds the GIL in ``dlopen`` and waits for that lock.
    Made in the tag stage's background load while the tokenizer imported spaCy on the main
    thread, the two waited on each other for ever (`tag --input - --output -` hung at about one
    run in two on the lowest admitted releases, 2026-12-07). ``transforms.tag._SharedRunner``
    calls this on its own thread before it starts the load."""
    global _controller
    with _CONTROLLER_MADE:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        return _controller


class NumpyTaggerRunner:
    """A saved tagger run in NumPy; ``predict`` -> float32 (B, T, L), as ``TaggerRunner``'s."""

    def __init__(self, spec, config, weights):
        self.spec = spec
        self.config = config
        self._weights = weights
        self._layers = [_BiLSTM(forward, backward) for forward, backward in weights["recurrent"]]
        self._blas = blas_controller()

    @classmethod
    def load(cls, model_dir):
        spec = TaggerSpec.load(model_dir)
        config, weights = read_keras_weights(spec.model_path)
        return cls(spec, config, weights)

    def warm_up(self, vector_dtype="float32"):
        """Nothing to trace or compile (its float16 vectors are cast to float32 as they come);
        here so every runner can be used alike."""
        check_vector_dtype(vector_dtype)

    def tracing_counts(self):
        """Always empty: nothing is traced (``TaggerRunner``'s counts its traced functions)."""
        return {}

    def computed_slots(self, batch_size, width):
        """Slots the model runs for a (batch_size, width) batch: the batch's own."""
        return batch_size * width

    def predict(self, inputs):
        """float32 (B, T, L) for a ``ModelInputs`` batch (emission scores for a CRF head)."""
        inputs = inputs.checked()
        with _ONE_BLAS_LIMIT, self._blas.limit(limits=1, user_api="blas"):
            return self._forward(inputs)

    def _forward(self, inputs):
        config, weights = self.config, self._weights
        x = inputs.vectors.astype(np.float32) + _rows(weights["extra_rows"], inputs.extra_ids)
        parts = [x]
        if "features" in weights:
            # (B, T, F, dim): each column's ids shifted to its rows of the one table
            rows = weights["features"].take(inputs.feature_ids + weights["feature_offsets"], 0)
            parts.append(rows.reshape(rows.shape[0], rows.shape[1], -1))
        if "char_table" in weights:
            parts.append(_char_encoding(weights, inputs.char_ids))
        x = np.concatenate(parts, axis=-1) if len(parts) > 1 else x
        if "projection" in weights:
            x = x @ weights["projection"]
        for layer in self._layers:
            x = _bilstm(x, inputs.lengths, layer)
        kernel, bias = weights["head"]
        scores = x @ kernel + bias
        head = config["head"]
        if head == "softmax":
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
        elif head == "sigmoid":
            probability = _sigmoid(scores)
            scores = np.concatenate([1.0 - probability, probability], axis=-1)
        return scores.astype(np.float32, copy=False)


def _rows(table, ids):
    """ExtraRows: row ``ids`` of ``table``; id 0 adds nothing, whatever row 0 holds."""
    # take, not table[ids]: fancy indexing of a 2-D table goes element by element.
    return table.take(ids, axis=0) * (ids > 0)[..., None]


def _sigmoid(x):
    # tanh form: no overflow warning for large negative x, and as fast as exp here.
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def _char_encoding(weights, char_ids):
    """CharEncoder: embedding, Conv1D ("same" padding, relu), max over each token's chars.

    Computed from ``_char_kernel_tables``: the convolution's term for kernel offset ``k`` at a
    char is row ``id`` of ``char_table @ kernel[k]``, so the layer is a few gathers from
    tables of (vocabulary, filters) and sums. The chars axis goes first, so the max over
    chars is elementwise over contiguous (tokens, filters) slabs. Embedding each char and
    multiplying windows by the kernel cost 3.9 core-microseconds a token for a 2x2 kernel
    (fancy indexing, stacks of tiny matmuls, a reduction over the middle axis).

    The bias and relu come after the max, on (tokens, filters): adding a constant and relu
    keep the order of the values (rounding too), so the max of them is them of the max. A
    padding char (Keras gives 0 there, below any relu) reads -inf from the centre offset's
    table and so never wins the max; a token of padding only comes out relu(-inf) = 0.
    """
    tables, bias = _char_kernel_tables(weights), weights["char_bias"]
    batch, width, chars = char_ids.shape
    size = len(tables)
    ids = np.zeros((chars + size - 1, batch * width), dtype=char_ids.dtype)
    ids[_centre(size):_centre(size) + chars] = char_ids.reshape(-1, chars).T
    out = tables[0].take(ids[:chars], axis=0)                            # (C, N, filters)
    for k in range(1, size):
        out += tables[k].take(ids[k:k + chars], axis=0)
    out = out.max(axis=0)
    out += bias
    np.maximum(out, 0.0, out=out)
    return out.reshape(batch, width, -1)


def _centre(size):
    """The kernel offset that reads the char itself: "same" padding puts the odd extra column
    after, as Keras does."""
    return (size - 1) // 2


def _char_kernel_tables(weights):
    """``char_table @ kernel[k]`` for each kernel offset k, made once. Row 0 (padding) is zero,
    the conv's zero padding, except in the centre offset's table: -inf, so that a padding
    char's window is never the max (``_char_encoding``)."""
    tables = weights.get("char_kernel_tables")
    if tables is None:
        table = weights["char_table"].copy()
        table[0] = 0.0
        tables = [np.ascontiguousarray(table @ kernel, dtype=np.float32)
                  for kernel in weights["char_kernel"]]
        tables[_centre(len(tables))][0] = -np.inf
        weights["char_kernel_tables"] = tables
    return tables


class _BiLSTM:
    """One BiLSTM layer's weights as ``_bilstm`` runs them: both directions stacked, (2, ...).

    The gate columns go from Keras' (i, f, c, o) to (i, f, o, c), so the three sigmoid gates
    are one contiguous slab, and those columns are halved: sigmoid(z) = 0.5 * (tanh(z / 2) + 1),
    and a product or sum of halved terms is exactly half of the unhalved one (a power of two),
    so one ``tanh`` over all four gates gives the bits two ``tanh`` calls a gate gave.
    """

    def __init__(self, forward, backward):
        units = forward[1].shape[0]

        def packed(array):
            gates = [array[..., k * units:(k + 1) * units] for k in (0, 1, 3, 2)]
            return np.concatenate([0.5 * gate for gate in gates[:3]] + gates[3:], axis=-1)

        self.units = units
        self.kernel, self.recurrent, bias = (
            np.ascontiguousarray(np.stack([packed(forward[k]), packed(backward[k])]),
                                 dtype=np.float32) for k in range(3))
        self.bias = bias[:, None, None, :]   # broadcast over (steps, batch)


def _bilstm(x, lengths, layer):
    """A masked Keras BiLSTM over right-padded rows: (B, T, 2u), forward then backward.

    Both directions run in one step loop: the backward direction reads each row's real tokens
    reversed (padding stays at the end), which makes it a forward pass that starts at the row's
    last real token, as the masked Keras layer does; each step then costs one batched matmul of
    (2, B, u) by (2, u, 4u) and a few elementwise calls on (2, B, ...) arrays, not two
    directions' worth of small NumPy calls (their fixed cost was most of a pass: the tag stage's
    buckets are mostly a few rows wide). A padded step keeps the state, so the forward output
    there repeats the row's last one and the backward output is zero, as before.
    """
    batch, steps, width = x.shape
    units = layer.units
    shortest = int(lengths.min())
    # Row-major token numbers in the order each direction reads them, time-major: (2, T, B).
    position = np.arange(steps)
    forward_order = position[:, None] + steps * np.arange(batch)[None, :]
    reversed_position = np.where(position[None, :] < lengths[:, None],
                                 lengths[:, None] - 1 - position[None, :], position[None, :])
    backward_order = reversed_position.T + steps * np.arange(batch)[None, :]
    order = np.stack([forward_order, backward_order])
    gates_in = np.matmul(x.reshape(batch * steps, width).take(order.reshape(2, -1), axis=0),
                         layer.kernel).reshape(2, steps, batch, 4 * units)
    gates_in += layer.bias
    out = np.empty((2, steps, batch, units), np.float32)    # h of each direction and step
    c = np.zeros((2, batch, units), np.float32)
    z = np.empty((2, batch, 4 * units), np.float32)
    scratch = np.empty((2, batch, units), np.float32)
    sigmoids, i, f, o, candidate = (z[..., :3 * units], z[..., :units],
                                    z[..., units:2 * units], z[..., 2 * units:3 * units],
                                    z[..., 3 * units:])
    for t in range(steps):
        if t == 0:
            np.copyto(z, gates_in[:, 0])   # h starts at zero
        else:
            np.matmul(out[:, t - 1], layer.recurrent, out=z)
            z += gates_in[:, t]
        np.tanh(z, out=z)
        sigmoids *= 0.5
        sigmoids += 0.5
        if t < shortest:   # every row's token t is real
            c *= f
            np.multiply(i, candidate, out=scratch)
            c += scratch
            np.tanh(c, out=scratch)
            np.multiply(o, scratch, out=out[:, t])
        else:
            real = (lengths > t)[None, :, None]
            np.copyto(c, f * c + i * candidate, where=real)
            np.copyto(out[:, t], o * np.tanh(c))
            if not real.all():
                np.copyto(out[:, t], out[:, t - 1], where=~real)
    del gates_in, z, c, scratch   # the largest arrays: gone before the result is made
    # Back to (B, T) order: the backward direction's step j of a row holds its token
    # reversed_position[j] (an involution), and its padding steps are zero.
    states = out.reshape(2 * steps * batch, units)
    row = np.arange(batch)[:, None]
    result = states.take(np.stack([position[None, :] * batch + row,
                                   (steps + reversed_position) * batch + row], axis=-1),
                         axis=0).reshape(batch, steps, 2 * units)
    if shortest < steps:
        result[..., units:][position[None, :] >= lengths[:, None]] = 0.0
    return result


def read_keras_weights(path):
    """(the Tagger's config, {name: arrays}) from a ``tagger.keras`` file, without Keras.
    Only the weights the config names are read, once ``keras_archive`` found the file safe to
    read and their shapes fit the config."""
    try:
        with keras_archive.opened_weights(path) as (config, datasets):
            return config, _read(_tagger_weights(config, datasets))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise BeamtaggerError(f"cannot read tagger model {path} for the NumPy runtime: "
                              f"{error}") from None


def check_keras_weights(path):
    """ValueError, OSError, KeyError or zipfile.BadZipFile unless ``tagger.keras`` at ``path``
    passes what ``read_keras_weights`` checks, reading no weight: the TensorFlow runtime's check
    before Keras builds the layers its config sizes."""
    with keras_archive.opened_weights(path, in_memory=False) as (config, datasets):
        _tagger_weights(config, datasets)


def _read(weights):
    """``_tagger_weights``' structure with each HDF5 dataset read as a float32 array."""
    if isinstance(weights, dict):
        return {name: _read(value) for name, value in weights.items()}
    if isinstance(weights, (list, tuple)):
        return type(weights)(map(_read, weights))
    if isinstance(weights, np.ndarray):
        return weights
    return np.asarray(weights[()], np.float32)


def _natural(name):
    """bidirectional < bidirectional_1 < bidirectional_2 (Keras' order of creation)."""
    match = re.fullmatch(r"(.*?)(?:_(\d+))?", name)
    return match.group(1), int(match.group(2) or 0)


def _tagger_weights(config, arrays):
    def take(name, shape):
        if name not in arrays:
            raise ValueError(f"weight {name} is missing")
        array = arrays[name]
        if tuple(array.shape) != tuple(shape):
            raise ValueError(f"weight {name} has shape {array.shape}, the config implies "
                             f"{tuple(shape)}")
        return array

    dim, units = config["dim"], config["units"]
    weights = {"extra_rows": take("extra_rows/vars/0", (config["num_extra_rows"], dim))}
    width = dim
    sizes = config.get("feature_sizes") or []
    if sizes:
        weights["features"] = take("features/vars/0", (sum(sizes), config["feature_dim"]))
        # Each column's rows start where the previous column's end (FeatureEmbedding's layout).
        weights["feature_offsets"] = np.cumsum([0] + sizes[:-1]).astype(np.int32)
        width += len(sizes) * config["feature_dim"]
    if config.get("char_filters") and config.get("char_vocab_size"):
        filters = config["char_filters"]
        weights["char_table"] = take("chars/vars/0",
                                     (config["char_vocab_size"], config["char_dim"]))
        weights["char_kernel"] = take("chars/conv/vars/0",
                                      (config["char_kernel"], config["char_dim"], filters))
        weights["char_bias"] = take("chars/conv/vars/1", (filters,))
        width += filters
    # Layers reached only through the model's layer list sit under "layers/<class name>[_n]".
    listed = sorted({name.split("/")[1] for name in arrays if name.startswith("layers/")},
                    key=_natural)
    if config.get("projection"):
        (dense,) = [name for name in listed if _natural(name)[0] == "dense"] or [None]
        if dense is None:
            raise ValueError("the projection's weights are missing")
        weights["projection"] = take(f"layers/{dense}/vars/0", (width, config["projection"]))
        width = config["projection"]
    recurrent = [name for name in listed if _natural(name)[0] == "bidirectional"]
    if len(recurrent) != config["layers"]:
        raise ValueError(f"{len(recurrent)} BiLSTM layers stored, the config has "
                         f"{config['layers']}")
    weights["recurrent"] = []
    for name in recurrent:
        directions = []
        for direction in ("forward_layer", "backward_layer"):
            prefix = f"layers/{name}/{direction}/cell/vars"
            directions.append((take(f"{prefix}/0", (width, 4 * units)),
                               take(f"{prefix}/1", (units, 4 * units)),
                               take(f"{prefix}/2", (4 * units,))))
        weights["recurrent"].append(tuple(directions))
        width = 2 * units
    outputs = config["num_outputs"]
    weights["head"] = (take("head/vars/0", (width, outputs)), take("head/vars/1", (outputs,)))
    return weights
