"""Running a saved tagger on padded batches through one traced TensorFlow function.

Measured on this project (Keras 3.15, TF 2.21 CPU): ``model.predict`` per bucket costs ~50 ms of
overhead per call and eager calls are ~10x slower, while a ``tf.function`` whose input signature
leaves B and T unknown traces once and then serves every bucket length. A batch whose sentences
all have the batch's length runs a second traced path without a mask (no masking work at all).
"""
import threading


from beamtagger.errors import BeamtaggerError
from beamtagger.model.model_inputs import ModelInputs, tensor_specs
from beamtagger.model.tagger_spec import TaggerSpec


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

    def predict(self, inputs):
        """float32 (B, T, L) for a ``ModelInputs`` batch (emission scores for a CRF head)."""
        # The Arrow batches' narrow ids widened on the host, for the one int32 signature that
        # training, evaluation and warm-up use too: 0.02 ms for a (256, 32) batch of the bundled
        # model, whose predict takes 52 ms either way (a narrow signature with tf.cast inside
        # measured the same, and meant a second trace; timed 2026-12-06 on 2 shared cores).
        # tf.function converts NumPy arrays to its signature's type itself, but refuses
        # tensors of another: the cast here does not lean on that.
        inputs = inputs.checked().with_int32_ids()
        full = bool(inputs.lengths.min() == inputs.width)
        function = self._function(inputs.vectors.dtype.name, masked=not full)
        return function(inputs.as_dict()).numpy()

    def warm_up(self, vector_dtype="float32"):
        """Traces the full-batch path for vectors in ``vector_dtype`` on a tiny batch, so the
        first real batch does not wait for tracing. Only that dtype (float16 and float32 are
        two traces: ``_function``'s key): the one the batches carry
        (``worker_resources.loaded_runner``). Only that path: token-budget buckets are exact
        lengths up to 64 tokens, so most runs, and every short one, never need the masked
        path, whose trace took 2.2 s where the full path's took 0.9 s (bundled model, shared
        2-core machine; bench/startup_bench.py). The masked path is traced when its first
        batch comes."""
        self.predict(ModelInputs.zeros(self.spec.input_dims, [2, 2], vector_dtype))

    def computed_slots(self, batch_size, width):
        """Slots the model runs for a (batch_size, width) batch: the batch's own."""
        return batch_size * width

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

        sigmoid = self.spec.head == "sigmoid"
        model = self.model
        signature = {name: tf.TensorSpec(shape, dtype_name, name=name)
                     for name, (shape, dtype_name) in tensor_specs(self.spec.input_dims,
                                                                   dtype).items()}

        # No AutoGraph: the model has no Python control flow on tensors, and converting it
        # cost a third of the first trace.
        @tf.function(input_signature=[signature], autograph=False)
        def run(inputs):
            probs = tf.cast(model(inputs, training=False, use_mask=masked), tf.float32)
            if sigmoid:
                probs = tf.concat([1.0 - probs, probs], axis=-1)
            return probs

        return run


def load_keras_model(path):
    """Load ``tagger.keras`` without compiling (no optimizer); BeamtaggerError if unreadable.

    The file is checked first as the NumPy runtime reads it (``keras_archive``), so what Keras
    is handed is beamtagger's Tagger with weights stored in full, whatever Keras' own safe mode
    catches; Keras loads it in safe mode (the default), never with unsafe deserialization."""
    import zipfile

    from beamtagger.model.numpy_inference import check_keras_weights

    try:
        check_keras_weights(path)
        import keras

        from beamtagger.model import tagger_model  # noqa: F401  (registers the custom classes)

        return keras.saving.load_model(str(path), compile=False, safe_mode=True)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        raise BeamtaggerError(f"cannot load tagger model {path}: {error}") from None
