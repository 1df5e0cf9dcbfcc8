"""The Keras tagger: a masked BiLSTM over word vectors looked up *outside* the model.

Inputs (a dict, as batches and the inference function pass them):

* ``vectors`` (B, T, D) float32 or float16: rows of the embedding store, zeros for OOV words;
* ``lengths`` (B,) int32: real length of each right-padded sentence (>= 1);
* ``extra_ids`` (B, T) int32: row of the small trainable table added to each vector
  (0 adds nothing; special tokens; hashed OOV buckets), see ``features.TokenFeaturizer``;
* ``feature_ids`` (B, T, F) int32: casing / shape / affix ids, one small table per column;
* ``char_ids`` (B, T, C) int32: character ids per token (``model_inputs.FIELDS`` is the list).

A character CNN (``CharEncoder``: char embedding, one Conv1D, max-pool over the token's
characters) reads ``char_ids`` and its output is concatenated with the word vector before the
BiLSTM. With ``head="crf"`` the head emits per-label scores and ``CrfTransitions`` holds the
learned start / transition / end scores; the loss is the CRF's negative log-likelihood
(forward algorithm), decoding is Viterbi (``viterbi.best_path``, NumPy, in ``TaggerSpec``).

Only ``keras.ops`` inside the layers, so the JAX backend runs the same model. The mask comes
from ``lengths`` (never from zero vectors: an OOV word *is* a zero vector) and is right-padded
with no empty rows, the condition for the cuDNN LSTM kernel on GPU, which also needs the
default tanh/sigmoid activations, ``recurrent_dropout=0``, ``use_bias`` and no unrolling.
The head is a plain ``Dense`` on the 3-D tensor: ``TimeDistributed`` fails for an unknown
time length in Keras 3.15.
"""
import keras
from keras import ops

HEADS = ("softmax", "sigmoid", "crf")
# A forbidden CRF transition's score: finite (so 0 * penalty stays 0 and no NaN appears in the
# forward algorithm's gradients) but far below any learned score.
FORBIDDEN = -1e4


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


@keras.saving.register_keras_serializable(package="beamtagger")
class CharEncoder(keras.layers.Layer):
    """(B, T, C) char ids -> (B, T, filters): embedding, Conv1D (relu), max over characters.

    Padding characters (id 0) are zeroed before the convolution and before the max; relu
    outputs are >= 0, so an empty token (all padding) encodes as zeros and padding never wins.
    """

    def __init__(self, vocab_size, dim, filters, kernel=3, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.dim = int(vocab_size), int(dim)
        self.filters, self.kernel = int(filters), int(kernel)
        self.conv = keras.layers.Conv1D(self.filters, self.kernel, padding="same",
                                        activation="relu", name="char_conv")

    def build(self, input_shape=None):
        self.table = self.add_weight(shape=(self.vocab_size, self.dim), name="table",
                                     initializer=keras.initializers.RandomUniform(-0.1, 0.1))
        self.conv.build((None, None, self.dim))
        self.built = True

    def call(self, char_ids):
        shape = ops.shape(char_ids)
        flat = ops.reshape(char_ids, (-1, shape[2]))
        real = ops.cast(ops.expand_dims(flat > 0, -1), self.compute_dtype)
        # Zeroed padding looks like the convolution's own zero padding at the token's edges.
        x = self.conv(ops.take(self.table, flat, axis=0) * real)  # (B*T, C, filters)
        x = x * real
        return ops.reshape(ops.max(x, axis=1), (shape[0], shape[1], self.filters))

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim,
                "filters": self.filters, "kernel": self.kernel}


@keras.saving.register_keras_serializable(package="beamtagger")
class CrfTransitions(keras.layers.Layer):
    """Learned start (L,), transition (L, L) and end (L,) scores of a linear-chain CRF.

    ``allowed_start`` / ``allowed`` (optional, BIO label sets) fix forbidden starts and
    transitions at FORBIDDEN; they are constants, not weights.
    """

    def __init__(self, size, allowed_start=None, allowed=None, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.allowed_start = None if allowed_start is None else [bool(x) for x in allowed_start]
        self.allowed = None if allowed is None else [[bool(x) for x in row] for row in allowed]

    def build(self, input_shape=None):
        zeros = keras.initializers.Zeros()
        self.start = self.add_weight(shape=(self.size,), name="start", initializer=zeros)
        self.transitions = self.add_weight(shape=(self.size, self.size), name="transitions",
                                           initializer=zeros)
        self.end = self.add_weight(shape=(self.size,), name="end", initializer=zeros)
        self.built = True

    def scores(self):
        """(start, transitions, end) with the fixed constraints applied."""
        start, transitions = self.start, self.transitions
        if self.allowed is not None:
            transitions = transitions + ops.convert_to_tensor(
                [[0.0 if ok else FORBIDDEN for ok in row] for row in self.allowed])
            start = start + ops.convert_to_tensor(
                [0.0 if ok else FORBIDDEN for ok in self.allowed_start])
        return start, transitions, self.end

    def get_config(self):
        return {**super().get_config(), "size": self.size, "allowed_start": self.allowed_start,
                "allowed": self.allowed}


def crf_negative_log_likelihood(emissions, tags, mask, start, transitions, end):
    """(B,) -log p(tags | emissions) of a linear-chain CRF; the forward algorithm in keras.ops.

    emissions (B, T, L) float, tags (B, T) int, mask (B, T) bool right-padded with >= 1 real
    token per row.
    """
    size = ops.shape(emissions)[-1]
    tags = ops.cast(tags, "int32")
    maskf = ops.cast(mask, emissions.dtype)
    emitted = ops.squeeze(ops.take_along_axis(emissions, ops.expand_dims(tags, -1), axis=-1), -1)
    gold = ops.sum(emitted * maskf, axis=1) + ops.take(start, tags[:, 0])
    pair_scores = ops.take(ops.reshape(transitions, (-1,)), tags[:, :-1] * size + tags[:, 1:])
    gold = gold + ops.sum(pair_scores * maskf[:, 1:], axis=1)
    last = ops.cast(ops.sum(maskf, axis=1), "int32") - 1
    last_tags = ops.squeeze(ops.take_along_axis(tags, ops.expand_dims(last, 1), axis=1), 1)
    gold = gold + ops.take(end, last_tags)

    def step(alpha, inputs):
        emission, real = inputs[:, :-1], inputs[:, -1:] > 0
        following = ops.logsumexp(ops.expand_dims(alpha, 2) + transitions, axis=1) + emission
        alpha = ops.where(real, following, alpha)
        # Keras' TF scan needs a per-step output shaped like the carry (None breaks graph mode).
        return alpha, alpha

    alpha0 = ops.expand_dims(start, 0) + emissions[:, 0]
    # One scanned tensor (emissions and the mask as one more column): Keras 3.15's TF scan
    # fails on several scanned tensors whose length is unknown when tracing.
    steps = ops.concatenate([emissions[:, 1:], ops.expand_dims(maskf[:, 1:], -1)], axis=-1)
    alpha, _ = ops.scan(step, alpha0, ops.transpose(steps, (1, 0, 2)))
    return ops.logsumexp(alpha + ops.expand_dims(end, 0), axis=1) - gold


def length_mask(lengths, max_length):
    """bool (B, T): True for the first ``lengths[b]`` positions of each row."""
    return ops.expand_dims(ops.arange(max_length), 0) < ops.expand_dims(lengths, 1)


@keras.saving.register_keras_serializable(package="beamtagger")
class Tagger(keras.Model):
    """BiLSTM tagger; ``call(inputs, use_mask=False)`` skips the mask for equal-length batches."""

    def __init__(self, dim, num_outputs, num_extra_rows, feature_sizes=(), feature_dim=16,
                 projection=0, units=128, layers=1, dropout=0.25, head="softmax",
                 char_vocab_size=0, char_dim=0, char_filters=0, char_kernel=3,
                 crf_allowed_start=None, crf_allowed=None, crf_token_loss=True, **kwargs):
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
        self.char_vocab_size, self.char_dim = int(char_vocab_size), int(char_dim)
        self.char_filters, self.char_kernel = int(char_filters), int(char_kernel)
        self.crf_allowed_start, self.crf_allowed = crf_allowed_start, crf_allowed
        self.crf_token_loss = bool(crf_token_loss)

        self.chars = (CharEncoder(self.char_vocab_size, self.char_dim, self.char_filters,
                                  self.char_kernel, name="chars")
                      if self.char_filters and self.char_vocab_size else None)
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
        self.head = keras.layers.Dense(self.num_outputs,
                                       activation=None if head == "crf" else head, name="head")
        self.crf = (CrfTransitions(self.num_outputs, crf_allowed_start, crf_allowed, name="crf")
                    if head == "crf" else None)
        self._build_layers()

    def _build_layers(self):
        # Every weight exists right after __init__, so a freshly constructed model can take
        # weights (load_model, set_weights) without a dummy forward pass.
        self.extra_rows.build()
        width = self.dim
        if self.features is not None:
            self.features.build()
            width += len(self.feature_sizes) * self.feature_dim
        if self.chars is not None:
            self.chars.build()
            width += self.char_filters
        if self.projection is not None:
            self.projection.build((None, None, width))
            width = self.projection_size
        for layer in self.recurrent:
            layer.build((None, None, width))
            width = 2 * self.units
        self.head.build((None, None, width))
        if self.crf is not None:
            self.crf.build()
        self.built = True

    def call(self, inputs, training=None, use_mask=True):
        x = self.encode(inputs, training=training, use_mask=use_mask)
        x = self.output_dropout(x, training=training)
        return self.head(x)

    def encode(self, inputs, training=None, use_mask=True):
        """(B, T, 2 * units): the last BiLSTM layer's output, before dropout and the head
        (``AuxiliaryTrainer`` puts a second, training-only head on it)."""
        return self.contextualize(self.embed(inputs), inputs["lengths"], training=training,
                                  use_mask=use_mask)

    def embed(self, inputs):
        """(B, T, W): each token's input to the BiLSTM before dropout: the store vector plus
        its extra row, the feature embeddings and the char CNN's output
        (``AdversarialTrainer`` perturbs it)."""
        vectors = ops.cast(inputs["vectors"], self.compute_dtype)
        x = vectors + self.extra_rows(inputs["extra_ids"])
        if self.features is not None:
            x = ops.concatenate([x, self.features(inputs["feature_ids"])], axis=-1)
        if self.chars is not None:
            x = ops.concatenate([x, self.chars(inputs["char_ids"])], axis=-1)
        return x

    def contextualize(self, x, lengths, training=None, use_mask=True):
        """The BiLSTM layers over ``embed``'s output."""
        x = self.input_dropout(x, training=training)
        if self.projection is not None:
            x = self.projection(x)
        mask = length_mask(lengths, ops.shape(x)[1]) if use_mask else None
        for layer in self.recurrent:
            x = layer(x, mask=mask, training=training)
        return x

    def get_config(self):
        return {"dim": self.dim, "num_outputs": self.num_outputs,
                "num_extra_rows": self.num_extra_rows, "feature_sizes": self.feature_sizes,
                "feature_dim": self.feature_dim, "projection": self.projection_size,
                "units": self.units, "layers": self.num_layers, "dropout": self.dropout_rate,
                "head": self.head_kind, "char_vocab_size": self.char_vocab_size,
                "char_dim": self.char_dim, "char_filters": self.char_filters,
                "char_kernel": self.char_kernel, "crf_allowed_start": self.crf_allowed_start,
                "crf_allowed": self.crf_allowed, "crf_token_loss": self.crf_token_loss,
                "name": self.name}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The CRF head's loss: negative log-likelihood per real token, plus the per-token
        cross-entropy of softmax(emissions) under the sample weights (which carry the O
        weight: without it the CRF lost recall on WNUT-17, docs/quality.md); other heads:
        the compiled loss."""
        if self.crf is None:
            return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                        training=training)
        emissions = ops.cast(y_pred, "float32")
        mask = length_mask(x["lengths"], ops.shape(emissions)[1])
        start, transitions, end = self.crf.scores()
        nll = crf_negative_log_likelihood(emissions, y, mask, start, transitions, end)
        loss = ops.sum(nll) / ops.cast(ops.sum(x["lengths"]), "float32")
        if sample_weight is not None and self.crf_token_loss:
            token = keras.losses.sparse_categorical_crossentropy(y, emissions, from_logits=True)
            weights = ops.cast(sample_weight, "float32")
            loss = loss + ops.sum(token * weights) / ops.maximum(ops.sum(weights), 1e-6)
        return loss

    def crf_scores(self):
        """The learned (start, transitions, end) as NumPy arrays, without the constraints."""
        return tuple(ops.convert_to_numpy(w) for w in
                     (self.crf.start, self.crf.transitions, self.crf.end))

    def build(self, input_shape=None):
        self.built = True

    @classmethod
    def from_config(cls, config):
        return cls(**config)
