"""Running a saved tagger on padded batches through one traced TensorFlow function.

Measured on this project (Keras 3.15, TF 2.21 CPU): ``model.predict`` per bucket costs ~50 ms of
overhead per call and eager calls are ~10x slower, while a ``tf.function`` whose input signature
leaves B and T unknown traces once and then serves every bucket length. A batch whose sentences
all have the batch's length runs a second traced path without a mask (no masking work at all).
"""
import threading

import numpy as np

from beamtagger.errors import BeamtaggerError
from beamtagger.model.tagger_spec import TaggerSpec

_DTYPES = ("float32", "float16")


class TaggerRunner:
    """A Keras tagger plus its spec; ``predict`` -> float32 (B, T, L) label probabilities.

    For a sigmoid head L == 2: column 0 is 1 - p, column 1 is p, so ``spec.decode`` and
    per-token scores treat both heads alike.
    """

    def __init__(self, spec, model):
        self.spec = spec
        self.model = model
        self._functions = {}
        self._functions_lock = threading.Lock()

    @classmethod
    def load(cls, model_dir):
        spec = TaggerSpec.load(model_dir)
        return cls(spec, load_keras_model(spec.model_path))

    def predict(self, vectors, lengths, extra_ids, feature_ids):
        vectors = np.asarray(vectors)
        lengths = np.asarray(lengths, dtype=np.int32)
        batch, time = vectors.shape[:2]
        if vectors.dtype.name not in _DTYPES:
            vectors = vectors.astype(np.float32)
        if lengths.shape != (batch,) or batch == 0:
            raise ValueError(f"lengths has shape {lengths.shape}, expected ({batch},) with B > 0")
        if lengths.min() < 1 or lengths.max() > time:
            # cuDNN needs right-padded masks with no empty rows.
            raise ValueError(f"lengths must lie in [1, {time}], "
                             f"got {lengths.min()}..{lengths.max()}")
        full = bool(lengths.min() == time)
        function = self._function(vectors.dtype.name, masked=not full)
        probs = function(vectors, lengths, np.asarray(extra_ids, dtype=np.int32),
                         np.asarray(feature_ids, dtype=np.int32))
        return probs.numpy()

    def warm_up(self):
        """Traces the full-batch path on a tiny batch, so the first real batch does not wait for
        tracing. Only that one: token-budget buckets are exact lengths up to 64 tokens, so most
        runs, and every short one, never need the masked path, whose trace took 2.2 s where the
        full path's took 0.9 s (bundled model, shared 2-core machine; bench/startup_bench.py).
        The masked path is traced when its first batch comes."""
        dim, columns = self.spec.binding["dim"], self.spec.featurizer.num_feature_columns
        for lengths in ([2, 2],):
            self.predict(np.zeros((2, 2, dim), np.float32), lengths, np.zeros((2, 2), np.int32),
                         np.zeros((2, 2, columns), np.int32))

    def tracing_counts(self):
        """{(dtype, masked): number of traces} of the inference functions built so far."""
        return {key: fn.experimental_get_tracing_count() for key, fn in self._functions.items()}

    def _function(self, dtype, masked):
        key = (dtype, masked)
        # Beam's tag stage predicts on a helper thread while its own thread may retry records
        # one by one: build each function once, however many threads ask.
        with self._functions_lock:
            if key not in self._functions:
                self._functions[key] = self._trace(dtype, masked)
            return self._functions[key]

    def _trace(self, dtype, masked):
        import tensorflow as tf

        dim = self.spec.binding["dim"]
        columns = self.spec.featurizer.num_feature_columns
        sigmoid = self.spec.head == "sigmoid"
        model = self.model

        @tf.function(input_signature=[
            tf.TensorSpec([None, None, dim], dtype, name="vectors"),
            tf.TensorSpec([None], tf.int32, name="lengths"),
            tf.TensorSpec([None, None], tf.int32, name="extra_ids"),
            tf.TensorSpec([None, None, columns], tf.int32, name="feature_ids")])
        def run(vectors, lengths, extra_ids, feature_ids):
            inputs = {"vectors": vectors, "lengths": lengths, "extra_ids": extra_ids,
                      "feature_ids": feature_ids}
            probs = tf.cast(model(inputs, training=False, use_mask=masked), tf.float32)
            if sigmoid:
                probs = tf.concat([1.0 - probs, probs], axis=-1)
            return probs

        return run


def load_keras_model(path):
    """Load ``tagger.keras`` without compiling (no optimizer); BeamtaggerError if unreadable."""
    import keras

    from beamtagger.model import tagger_model  # noqa: F401  (registers the custom classes)

    try:
        return keras.saving.load_model(str(path), compile=False)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BeamtaggerError(f"cannot load tagger model {path}: {error}") from None
