"""A second tagging task learned only during training (e.g. the XPOS column while the tagger
learns UPOS), sharing the tagger's BiLSTM.

The auxiliary head is a ``Dense`` beside the tagger's own head; ``AuxiliaryTrainer`` trains both
and the saved model is the inner ``Tagger`` alone, so tagging costs exactly what it did. The finer
task's labels (50 Penn Treebank tags against 17 UPOS tags on EWT) supervise distinctions that
the coarse ones lump together, the multi-task set-up of joint UPOS/XPOS taggers (UDPipe 2).
"""
import keras
from keras import ops


class AuxiliaryTrainer(keras.Model):
    """Trains ``tagger`` (softmax head) and an auxiliary softmax head on its BiLSTM output.

    Targets are (B, T, 2) int32: the tagger's label and the auxiliary label (-1: no auxiliary
    label, no auxiliary loss). The loss is the tagger's loss plus ``aux_weight`` times the mean
    auxiliary cross-entropy over the real tokens. Never saved: save ``self.tagger``.
    """

    def __init__(self, tagger, num_aux_labels, aux_weight=1.0, main_loss=None, **kwargs):
        super().__init__(**kwargs)
        if tagger.head_kind != "softmax":
            raise ValueError("an auxiliary task needs a softmax tagger")
        self.tagger = tagger
        self.head_kind = "softmax"
        self.aux_weight = float(aux_weight)
        self.main_loss = main_loss
        self.aux_head = keras.layers.Dense(int(num_aux_labels), activation="softmax",
                                           name="aux_head")
        self.aux_head.build((None, None, 2 * tagger.units))
        self.built = True

    def call(self, inputs, training=None):
        x = self.tagger.output_dropout(self.tagger.encode(inputs, training=training),
                                       training=training)
        return ops.concatenate([self.tagger.head(x), self.aux_head(x)], axis=-1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        size = self.tagger.num_outputs
        main, aux = y_pred[..., :size], y_pred[..., size:]
        targets, aux_targets = y[..., 0], y[..., 1]
        loss = self.main_loss(targets, main, sample_weight)
        known = ops.cast((aux_targets >= 0) & (sample_weight > 0), "float32")
        aux_loss = keras.losses.sparse_categorical_crossentropy(ops.maximum(aux_targets, 0), aux)
        return loss + self.aux_weight * ops.sum(aux_loss * known) / ops.maximum(
            ops.sum(known), 1.0)
