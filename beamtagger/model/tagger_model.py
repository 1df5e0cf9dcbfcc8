"""The Keras tagger: a masked BiLSTM over word vectors looked up *outside* the model.

Inputs (a dict, as batches and the inference function pass them):

* ``vectors`` (B, T, D) float32 or float16: rows of the embedding store, zeros for OOV words;
* ``lengths`` (B,) int32: real length of each right-padded sentence (>= 1);
* ``extra_ids`` (B, T) int32: row of the small trainable table added to each vector
  (0 adds nothing; special tokens; hashed OOV buckets), see ``features.TokenFeaturizer``;
* ``feature_ids`` (B, T, F) int32: casing / shape / affix ids, one small table per column.

Only ``keras.ops`` inside the layers, so the JAX backend runs the same model. The mask comes
from ``lengths`` (never from zero vectors: an OOV word *is* a zero vector) and is right-padded
with no empty rows, the condition for the cuDNN LSTM kernel on GPU, which also needs the
default tanh/sigmoid activations, ``recurrent_dropout=0``, ``use_bias`` and no unrolling.
The head is a plain ``Dense`` on the 3-D tensor: ``TimeDistributed`` fails for an unknown
time length in Keras 3.15.
"""
import keras
from keras import ops

HEADS = ("softmax", "sigmoid")


@keras.saving.register_keras_serializable(package="beamtagger")
class ExtraRows(keras.layers.Layer):
    """A trainable (rows, D) table; id 0 adds nothing, whatever row 0 holds."""

    def __init__(self, rows, dim, **kwargs):
        super().__init__(**kwargs)
        self.rows = int(rows)
        self.dim = int(dim)

    def build(self, input_shape=None):
        self.table = self.add_weight(shape=(self.rows, self.dim), name="table",
                                     initializer=keras.initializers.RandomUniform(-0.05, 0.05))
        self.built = True

    def call(self, ids):
        used = ops.cast(ops.expand_dims(ids > 0, -1), self.compute_dtype)
        return ops.take(self.table, ids, axis=0) * used

    def get_config(self):
        return {**super().get_config(), "rows": self.rows, "dim": self.dim}


@keras.saving.register_keras_serializable(package="beamtagger")
class FeatureEmbedding(keras.layers.Layer):
    """One small table per feature column, stored as one matrix; output (B, T, F * dim)."""

    def __init__(self, sizes, dim, **kwargs):
        super().__init__(**kwargs)
        self.sizes = [int(size) for size in sizes]
        self.dim = int(dim)
        offsets, total = [], 0
        for size in self.sizes:
            offsets.append(total)
            total += size
        self._offsets = offsets
        self._total = total

    def build(self, input_shape=None):
        self.table = self.add_weight(shape=(self._total, self.dim), name="table",
                                     initializer=keras.initializers.RandomUniform(-0.05, 0.05))
        self.built = True

    def call(self, ids):
        ids = ids + ops.convert_to_tensor(self._offsets, dtype=ids.dtype)
        rows = ops.take(self.table, ids, axis=0)  # (B, T, F, dim)
        shape = ops.shape(ids)
        return ops.reshape(rows, (shape[0], shape[1], len(self.sizes) * self.dim))

    def get_config(self):
        return {**super().get_config(), "sizes": self.sizes, "dim": self.dim}


def length_mask(lengths, max_length):
    """bool (B, T): True for the first ``lengths[b]`` positions of each row."""
    return ops.expand_dims(ops.arange(max_length), 0) < ops.expand_dims(lengths, 1)


@keras.saving.register_keras_serializable(package="beamtagger")
class Tagger(keras.Model):
    """BiLSTM tagger; ``call(inputs, use_mask=False)`` skips the mask for equal-length batches."""

    def __init__(self, dim, num_outputs, num_extra_rows, feature_sizes=(), feature_dim=16,
                 projection=0, units=128, layers=1, dropout=0.25, head="softmax", **kwargs):
        super().__init__(**kwargs)
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, not {head!r}")
        self.dim = int(dim)
        self.num_outputs = int(num_outputs)
        self.num_extra_rows = int(num_extra_rows)
        self.feature_sizes = [int(size) for size in feature_sizes]
        self.feature_dim = int(feature_dim)
        self.projection_size = int(projection)
        self.units = int(units)
        self.num_layers = int(layers)
        self.dropout_rate = float(dropout)
        self.head_kind = head

        self.extra_rows = ExtraRows(self.num_extra_rows, self.dim, name="extra_rows")
        self.features = (FeatureEmbedding(self.feature_sizes, self.feature_dim, name="features")
                         if self.feature_sizes else None)
        self.input_dropout = keras.layers.Dropout(self.dropout_rate, name="input_dropout")
        self.projection = (keras.layers.Dense(self.projection_size, use_bias=False,
                                              name="projection")
                           if self.projection_size else None)
        self.recurrent = [
            keras.layers.Bidirectional(
                keras.layers.LSTM(self.units, return_sequences=True, name=f"lstm_{i}"),
                name=f"bilstm_{i}")
            for i in range(self.num_layers)]
        self.output_dropout = keras.layers.Dropout(self.dropout_rate, name="output_dropout")
        self.head = keras.layers.Dense(self.num_outputs, activation=head, name="head")
        self._build_layers()

    def _build_layers(self):
        # Every weight exists right after __init__, so a freshly constructed model can take
        # weights (load_model, set_weights) without a dummy forward pass.
        self.extra_rows.build()
        width = self.dim
        if self.features is not None:
            self.features.build()
            width += len(self.feature_sizes) * self.feature_dim
        if self.projection is not None:
            self.projection.build((None, None, width))
            width = self.projection_size
        for layer in self.recurrent:
            layer.build((None, None, width))
            width = 2 * self.units
        self.head.build((None, None, width))
        self.built = True

    def call(self, inputs, training=None, use_mask=True):
        vectors = ops.cast(inputs["vectors"], self.compute_dtype)
        x = vectors + self.extra_rows(inputs["extra_ids"])
        if self.features is not None:
            x = ops.concatenate([x, self.features(inputs["feature_ids"])], axis=-1)
        x = self.input_dropout(x, training=training)
        if self.projection is not None:
            x = self.projection(x)
        mask = length_mask(inputs["lengths"], ops.shape(vectors)[1]) if use_mask else None
        for layer in self.recurrent:
            x = layer(x, mask=mask, training=training)
        x = self.output_dropout(x, training=training)
        return self.head(x)

    def get_config(self):
        return {"dim": self.dim, "num_outputs": self.num_outputs,
                "num_extra_rows": self.num_extra_rows, "feature_sizes": self.feature_sizes,
                "feature_dim": self.feature_dim, "projection": self.projection_size,
                "units": self.units, "layers": self.num_layers, "dropout": self.dropout_rate,
                "head": self.head_kind, "name": self.name}

    def build(self, input_shape=None):
        self.built = True

    @classmethod
    def from_config(cls, config):
        return cls(**config)
