"""Adversarial training of a softmax tagger (Miyato et al. 2017; for POS tagging Yasunaga et
al. 2018): each step also trains on the batch with every sentence's token inputs moved a small
step in the direction that raises the loss most, a regulariser that costs training time only.

The perturbation is ``epsilon * sqrt(n) * g / ||g||`` per sentence, ``g`` the loss gradient with
respect to the sentence's token inputs (``Tagger.embed``: store vector plus extra row, feature
embeddings, char CNN output) and ``n`` its length, so a token moves ``epsilon`` on average
(a GloVe 6B 50d vector's norm is about 5). The step uses ``tf.GradientTape``: training runs on
the TensorFlow backend (its batches come from ``tf.data`` already); the model itself does not.
"""
import keras
from keras import ops


class AdversarialTrainer(keras.Model):
    """Trains ``tagger`` (softmax head) on ``loss(batch) + loss(adversarial batch)``. Never saved: save
    ``self.tagger``."""

    def __init__(self, tagger, epsilon, main_loss=None, **kwargs):
        super().__init__(**kwargs)
        if tagger.head_kind != "softmax":
            raise ValueError("adversarial training needs a softmax tagger")
        self.tagger, self.epsilon, self.main_loss = tagger, float(epsilon), main_loss
        self.head_kind = "softmax"
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, inputs, training=None):
        return self.tagger(inputs, training=training)

    def _scores(self, x, inputs):
        hidden = self.tagger.contextualize(x, inputs["lengths"], training=True)
        return self.tagger.head(self.tagger.output_dropout(hidden, training=True))

    def perturbation(self, gradient, lengths):
        """(B, T, W): ``epsilon * sqrt(length) * g / ||g||`` per sentence."""
        norm = ops.sqrt(ops.sum(ops.square(gradient), axis=(1, 2), keepdims=True)) + 1e-12
        scale = ops.sqrt(ops.cast(ops.reshape(lengths, (-1, 1, 1)), gradient.dtype))
        return self.epsilon * scale * gradient / norm

    def train_step(self, data):
        import tensorflow as tf

        inputs, targets, weights = data
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            x = self.tagger.embed(inputs)
            with tf.GradientTape() as probe:
                probe.watch(x)
                loss = self.main_loss(targets, self._scores(x, inputs), weights)
            step = tf.stop_gradient(self.perturbation(probe.gradient(loss, x),
                                                      inputs["lengths"]))
            total = loss + self.main_loss(targets, self._scores(x + step, inputs), weights)
        self.optimizer.apply(tape.gradient(total, variables), variables)
        self.loss_tracker.update_state(total)
        return {"loss": self.loss_tracker.result()}
