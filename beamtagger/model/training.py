"""Training a tagger: labels from the training corpus, bucketed batches through ``keras.fit``,
early stopping on the dev metric, and the model directory.

``fit`` reads a ``tf.data`` generator whose output signature leaves B and T unknown, so the train
step is not retraced per batch length. Measured on 2,000 EWT sentences, 42 batches of 40
distinct widths, 4 epochs: Keras traced ``train_step`` twice in all (at the start), and the same
with a ``keras.utils.PyDataset`` (Keras relaxes the shapes it peeks at); ``model_training_test``
checks it. The generator is kept for its explicit signature and its per-epoch reshuffling.
"""
import dataclasses
import math
import time

import keras
import numpy as np

from beamtagger.errors import BeamtaggerError, JobFailed
from beamtagger.model import batching, evaluation
from beamtagger.model.adversarial import AdversarialTrainer
from beamtagger.model.auxiliary import AuxiliaryTrainer
from beamtagger.model.encoding import describe_unknown_tags, encode_sentences
from beamtagger.model.model_inputs import tensor_specs
from beamtagger.model.features import (DEFAULT_FEATURE_COLUMNS, DEFAULT_SPECIAL_TOKENS,
                                       TokenFeaturizer, build_char_vocab)
from beamtagger.model.tagger_spec import BinaryLabels, TaggerSpec  # noqa: F401 (re-export)
from beamtagger.model.tagger_spec import sentence_hashes, training_form_hashes
from beamtagger.model.train_state import KeepTrainingState, training_fingerprint
from beamtagger.model.trivial_baseline import no_better_than_trivial
from beamtagger.model.viterbi import bio_transitions, is_bio_label_set

NEGATIVE_TAGS = ("O", "0", "no", "false", "False", "N", "n", "-", "_")


@dataclasses.dataclass
class TrainingConfig:
    epochs: int = 30
    units: int = 128
    layers: int = 1
    projection: int = 0
    dropout: float = 0.3
    feature_dim: int = 16
    oov_buckets: int = 1024
    special_tokens: tuple = DEFAULT_SPECIAL_TOKENS
    feature_columns: tuple = DEFAULT_FEATURE_COLUMNS
    word_drop: float = 0.05
    entity_drop: object = None  # share of entity tokens (BIO tags but O) shown as OOV; None:
    #                             word_drop's
    refit: bool = False        # then a new model on train + dev for the best epoch's count
    refit_dev_copies: int = 1  # the refit's training set holds dev this many times
    lowercase: float = 0.0     # share of training sentences shown lower-cased, drawn per epoch
    outside_weight: float = 1.0  # loss weight of "O" (BIO) / negative (binary) tokens
    batch_tokens: int = 2048
    learning_rate: float = 2e-3
    clipnorm: float = 5.0
    ema: float = 0.0  # > 0: score dev with (and keep) the exponential moving average of weights
    seed: int = 1
    patience: int = 4
    lr_decay: float = 1.0      # < 1: multiply the learning rate by this after decay_patience
    decay_patience: int = 2    # ... consecutive epochs without a better dev score
    decay_restore: bool = False  # and go back to the best epoch's weights when it does
    form_buckets: int = 0      # > 0: a hashed lower-cased word-form feature column of this size
    weight_decay: float = 0.0  # decoupled weight decay (AdamW) per step, times the learning rate
    label_smoothing: float = 0.0  # share of each token's target spread over all labels
    aux_weight: float = 1.0    # loss weight of the auxiliary task (train_tagger's aux_sentences)
    adversarial: float = 0.0   # > 0: adversarial training, each token moved this far on average
    viterbi: bool = True
    crf: bool = False          # CRF head (learned transitions) instead of softmax; BIO/tag sets
    char_dim: int = 24         # character embedding size; 0 (or char_filters 0): no char CNN
    char_filters: int = 48
    char_kernel: int = 3
    max_chars: int = 16        # characters per token the CNN sees (first and last of long ones)
    verbose: int = 2


@dataclasses.dataclass
class StartingModel:
    """A saved model a training starts from (``train --init-from``): its ``spec``, its
    ``weights`` (``get_weights`` order) and ``record``, what the new model's report keeps of
    it (its name and digests)."""
    spec: TaggerSpec
    weights: list
    record: dict


def choose_labels(train_sentences, binary=None):
    """(labels, head) for the training corpus; a two-valued tag column trains a sigmoid head."""
    tags = sorted({tag for sentence in train_sentences for tag in sentence.tags})
    if binary is not None:
        return [binary.negative, binary.positive], "sigmoid"
    if len(tags) < 2:
        raise BeamtaggerError(f"the training corpus has {len(tags)} distinct tag(s) {tags}; "
                              "a tagger needs at least two")
    if len(tags) == 2:
        negatives = [tag for tag in tags if tag in NEGATIVE_TAGS]
        negative = negatives[0] if len(negatives) == 1 else tags[0]
        return [negative, next(tag for tag in tags if tag != negative)], "sigmoid"
    return tags, "softmax"


class DevEvaluation(keras.callbacks.Callback):
    """Score dev after each epoch, keep the best weights, stop after ``patience`` bad epochs.

    With ``lr_decay`` < 1 the learning rate is multiplied by ``lr_decay`` after every
    ``decay_patience`` consecutive bad epochs (reduce on plateau; on EWT it gained nothing over
    the fixed rate, docs/quality.md), and with ``decay_restore`` training continues from the
    best epoch's weights rather than from the last ones.

    With ``score_start`` (a fine-tune) the weights in place when training begins are scored
    first, as epoch 0 (``start``), and put back at the end where no epoch beat them (then
    ``best_epoch`` is 0): without it a fine-tune wrote its best epoch even where every epoch
    scored below its start (WNUT-17, docs/quality.md). Unlike Keras' ``EarlyStopping``
    ``baseline``, the start does not count in ``patience``, which counts epochs without a
    better epoch as in any training: counted from the start, on EWT reviews (seed 1) it stopped
    a fine-tune after epoch 4, all four within 0.1 point below the start, before its epoch 5
    beat it, and wrote the start, 0.86 points below that fine-tune on held-out text
    (docs/quality.md). So a fine-tune whose best epoch beats its start runs and ends as before.
    A resumed run (``restore_state``) takes the start from the state, as the weights in place
    then are an epoch's.
    """

    def __init__(self, runner, corpus, store, patience, history, lr_decay=1.0,
                 decay_patience=2, decay_restore=False, log=print, seconds=None,
                 score_start=False):
        super().__init__()
        self.runner, self.corpus, self.store = runner, corpus, store
        self.crf_scores = None
        self.patience, self.history = patience, history
        self.lr_decay, self.decay_patience = float(lr_decay), int(decay_patience)
        self.decay_restore, self.log = bool(decay_restore), log
        self.best, self.best_epoch, self.best_weights, self.wait = -1.0, None, None, 0
        self.score_start, self.restored = bool(score_start), False
        # The start's {dev_<metric>, dev_accuracy}, primary score, weights and CRF scores.
        self.start, self.start_score, self.start_weights, self.start_crf_scores = (
            None, None, None, None)
        started = time.perf_counter()
        self.seconds = seconds or (lambda: time.perf_counter() - started)

    def _score(self):
        """(primary metric's name, its value, the dev metrics) of the weights in place."""
        if self.runner.spec.head == "crf":
            self.runner.spec.set_crf(*self.model.crf_scores())
        metrics = evaluation.evaluate_corpus(self.runner, self.corpus, self.store)
        return (*evaluation.primary_metric(metrics), metrics)

    def on_train_begin(self, logs=None):
        if not self.score_start or self.restored:
            return
        name, value, metrics = self._score()
        self.start = {f"dev_{name}": value, "dev_accuracy": metrics["accuracy"]}
        self.start_score, self.start_weights = value, self.model.get_weights()
        if self.runner.spec.head == "crf":
            self.start_crf_scores = self.model.crf_scores()
        # As Keras prints an epoch's line, so that the epochs read against it.
        self.log(f"Epoch 0/{(self.params or {}).get('epochs', '?')} (the starting model, "
                 f"before training) - dev_{name}: {value:.4f}")

    @property
    def start_kept(self):
        """Whether the start was scored and no epoch beat it (a tie keeps the start)."""
        return self.start_score is not None and not (
            self.best_epoch is not None and self.best > self.start_score)

    def on_epoch_end(self, epoch, logs=None):
        name, value, metrics = self._score()
        logs = logs if logs is not None else {}
        logs[f"dev_{name}"] = value  # the progress bar prints it
        self.history.append({"epoch": epoch + 1, "loss": float(logs.get("loss", "nan")),
                             f"dev_{name}": value, "dev_accuracy": metrics["accuracy"],
                             "learning_rate": self.learning_rate,
                             "seconds": round(self.seconds(), 1)})
        if value > self.best:
            self.best, self.best_epoch, self.wait = value, epoch + 1, 0
            self.best_weights = self.model.get_weights()
            if self.runner.spec.head == "crf":
                self.crf_scores = self.model.crf_scores()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.model.stop_training = True
            elif self.lr_decay < 1 and self.wait % self.decay_patience == 0:
                self.decay(epoch + 1)

    def saved_state(self):
        """(JSON values, {group: [arrays]}): what the later epochs need of this callback."""
        return ({"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                 "start": self.start, "start_score": self.start_score},
                {"best_weights": self.best_weights or [],
                 "best_crf_scores": list(self.crf_scores or []),
                 "start_weights": self.start_weights or [],
                 "start_crf_scores": list(self.start_crf_scores or [])})

    def restore_state(self, values, arrays):
        self.best, self.best_epoch, self.wait = values["best"], values["best_epoch"], values["wait"]
        # A state saved before the start was scored has none: it resumes as it was begun.
        self.start, self.start_score = values.get("start"), values.get("start_score")
        self.start_weights = arrays.get("start_weights") or None
        start_crf_scores = arrays.get("start_crf_scores")
        self.start_crf_scores = tuple(start_crf_scores) if start_crf_scores else None
        self.restored = True
        self.best_weights = arrays.get("best_weights") or None
        crf_scores = arrays.get("best_crf_scores")
        self.crf_scores = tuple(crf_scores) if crf_scores else None

    @property
    def learning_rate(self):
        return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def decay(self, epoch):
        rate = self.learning_rate * self.lr_decay
        self.model.optimizer.learning_rate.assign(rate)
        if self.decay_restore and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        self.log(f"epoch {epoch}: {self.wait} epochs without a better dev score, learning rate "
                 f"{rate:.3g}" + (f", back to epoch {self.best_epoch}'s weights"
                                  if self.decay_restore else ""))

    def on_train_end(self, logs=None):
        if self.start_kept:
            self.best, self.best_epoch = self.start_score, 0
            self.best_weights, self.crf_scores = self.start_weights, self.start_crf_scores
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        if self.crf_scores is not None:
            self.runner.spec.set_crf(*self.crf_scores)


class RecordLoss(keras.callbacks.Callback):
    """Appends each epoch's mean loss to ``history`` (the refit's report, which has no dev)."""

    def __init__(self, history):
        super().__init__()
        self.history = history

    def on_epoch_end(self, epoch, logs=None):
        self.history.append({"epoch": epoch + 1, "loss": float((logs or {}).get("loss", "nan"))})


class ResumableSwapEMAWeights(keras.callbacks.SwapEMAWeights):
    """Keras's ``SwapEMAWeights(swap_on_epoch=True)`` (the averaged weights in the model at each
    epoch's end, the raw ones back at the next epoch's start), except that the averages are
    copied over the raw weights the optimizer holds at the end of ``fit`` (an early-stopped
    one too; the optimizer is not saved with the model), not at the end of its last epoch.

    Keras's copies them before ``KeepTrainingState`` saves the last epoch: that state held the
    averages twice and no raw weights, and a run resumed from it with a larger ``--epochs``
    trained its next epoch from the averages where the uninterrupted run goes on from the raw
    weights, and ended with other weights.

    The last epoch's averages are kept aside: ``fit`` calls the optimizer's
    ``finalize_variable_values`` before any ``on_train_end``, and it copies the optimizer's
    "averages" (the raw weights since the swap) over the model. Without the copy a training
    without dev (the refit) ended with the last step's raw weights: fine-tuning bundled-ner
    on 300 WNUT-17 sentences, its refit scored 4.0-5.6 F1 below the epoch it refit (2 seeds),
    0.1 below with the averages (docs/quality.md, "Fine-tuning on a new genre"). With dev,
    ``DevEvaluation`` put the best epoch's averages back after.
    """

    def __init__(self):
        super().__init__(swap_on_epoch=True)
        self._last_averages = None

    def on_train_begin(self, logs=None):
        if self._ema_weights_in_model:   # resumed from a state saved at an epoch's end
            self._keep_averages()

    def on_epoch_end(self, epoch, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True
            self._keep_averages()

    def on_train_end(self, logs=None):
        if self._ema_weights_in_model:
            for variable, average in zip(self._averaged_variables(), self._last_averages):
                variable.assign(average)
            self._finalize_ema_values()

    def _keep_averages(self):
        self._last_averages = [keras.ops.convert_to_numpy(variable)
                               for variable in self._averaged_variables()]

    def _averaged_variables(self):
        return self.model.optimizer._trainable_variables


class TrainingDiverged(JobFailed):
    """The loss turned NaN or infinite (``StopOnNonFiniteLoss``)."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Fail the run (``TrainingDiverged``) at the end of the first epoch whose loss is NaN or infinite.

    Weights that gave such a loss are NaN themselves, or soon are, and every later epoch starts
    from them: Keras trains on to the last epoch, and a NaN model tags every token with its
    first label. Checked once an epoch, from the mean Keras already computed, so training never
    waits on a per-batch read of the loss.
    """

    def __init__(self, stage=""):
        super().__init__()
        self.stage = stage

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingDiverged(f"training diverged: the loss was {float(loss)} in epoch {epoch + 1}"
                            f"{self.stage}; nothing was saved (a lower --learning-rate may "
                            "keep it finite)")


class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Sparse cross-entropy against a smoothed target: ``1 - smoothing`` on the gold label and
    ``smoothing`` spread evenly over all labels (Keras' sparse loss has no label smoothing)."""

    def __init__(self, smoothing):
        super().__init__(name="smoothed_crossentropy", reduction="mean_with_sample_weight")
        self.smoothing = float(smoothing)

    def call(self, y_true, y_pred):
        gold = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
        uniform = -keras.ops.mean(keras.ops.log(keras.ops.clip(y_pred, 1e-7, 1.0)), axis=-1)
        return (1 - self.smoothing) * gold + self.smoothing * uniform


def tagger_loss(head, label_smoothing=0.0):
    """Per-token loss averaged over real tokens only.

    "mean_with_sample_weight" divides by the sum of the weights (the padding mask); the default
    "sum_over_batch_size" would divide by B * T, so the loss would shrink with padding.
    """
    if head == "sigmoid":
        return keras.losses.BinaryCrossentropy(reduction="mean_with_sample_weight",
                                               label_smoothing=label_smoothing)
    if label_smoothing > 0:
        return SmoothedSparseCrossentropy(label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")


def compile_tagger(model, config):
    optimizer = keras.optimizers.Adam(config.learning_rate, clipnorm=config.clipnorm,
                                      weight_decay=config.weight_decay or None,
                                      use_ema=config.ema > 0,
                                      ema_momentum=config.ema if config.ema > 0 else 0.99)
    # The CRF head's loss is Tagger.compute_loss; the two trainers compute theirs from main_loss.
    loss = tagger_loss(model.head_kind, config.label_smoothing)
    if isinstance(model, (AuxiliaryTrainer, AdversarialTrainer)):
        model.main_loss, loss = loss, None
    model.compile(optimizer=optimizer, loss=None if model.head_kind == "crf" else loss)
    return model


def _signature(input_dims, with_aux=False):
    import tensorflow as tf

    inputs = {name: tf.TensorSpec(shape, dtype)
              for name, (shape, dtype) in tensor_specs(input_dims).items()}
    targets = tf.TensorSpec([None, None, 2] if with_aux else [None, None], tf.int32)
    return (inputs, targets, tf.TensorSpec([None, None], tf.float32))


def outside_label_weights(labels, head, outside_weight):
    """(L,) loss weights: ``outside_weight`` for the O / negative label, 1 for the others.

    WNUT-17 is 92% O tokens; a weight below 1 trades precision for recall.
    """
    weights = np.ones(len(labels), dtype=np.float32)
    if head == "sigmoid":
        weights[0] = outside_weight
    elif "O" in labels and is_bio_label_set(labels):
        weights[labels.index("O")] = outside_weight
    return weights


def label_drop_rates(labels, head, config):
    """(L,) word-drop share per gold label: ``entity_drop`` for the entity labels of a BIO
    label set, ``word_drop`` for the others; None when that is ``word_drop`` everywhere."""
    if config.entity_drop is None or head == "sigmoid" or not is_bio_label_set(labels):
        return None
    return np.array([config.word_drop if label == "O" else config.entity_drop
                     for label in labels], dtype=np.float64)


def training_dataset(corpus, store, config, input_dims, label_weights=None, aux_targets=None,
                     drop_rates=None, lowered=None, first_epoch=0):
    """A tf.data.Dataset of (inputs, targets, weights), reshuffled batches every epoch.

    Each epoch's streams (order, word drop, lower-casing) are seeded by ``(config.seed,
    epoch)``; ``first_epoch``: the epoch the first pass over the dataset is (a resumed run's).

    With ``lowered`` (``corpus`` encoded from lower-cased tokens) each epoch shows a share
    ``config.lowercase`` of the sentences lower-cased, drawn from a stream of its own.

    With ``aux_targets`` (int32 (T,) auxiliary label ids per sentence, -1: none) the targets are
    (B, T, 2): the label and the auxiliary label (-1 on padding).
    """
    import tensorflow as tf

    epochs_started = [first_epoch]
    batch_count = len(batching.token_budget_batches(corpus.lengths, config.batch_tokens))

    def generate():
        rng = np.random.default_rng([config.seed, epochs_started[0]])
        shown = corpus
        if lowered is not None:
            flip = np.random.default_rng([config.seed, epochs_started[0], 1]).random(
                len(corpus)) < config.lowercase
            shown = dataclasses.replace(corpus, **{
                field: [(lowered if f else corpus).__dict__[field][i] for i, f in enumerate(flip)]
                for field in ("rows", "token_inputs", "oov_extra_ids")})
        epochs_started[0] += 1
        for indices in batching.token_budget_batches(corpus.lengths, config.batch_tokens, rng):
            inputs, targets, weights = batching.pad_batch(
                shown, indices, store, drop_rate=config.word_drop, rng=rng,
                label_weights=label_weights, label_drop_rates=drop_rates)
            if aux_targets is not None:
                aux = np.full(targets.shape, -1, dtype=np.int32)
                for b, i in enumerate(indices):
                    aux[b, :len(aux_targets[i])] = aux_targets[i]
                targets = np.stack([targets, aux], axis=-1)
            yield inputs.as_dict(), targets, weights

    dataset = tf.data.Dataset.from_generator(
        generate, output_signature=_signature(input_dims, aux_targets is not None))
    return dataset.apply(tf.data.experimental.assert_cardinality(batch_count)).prefetch(2)


def _union(starting_hashes, hashes):
    """The sorted hashes of both (what the starting model had trained on, and this training);
    ``hashes`` alone where the starting model recorded none, or None where neither did."""
    if starting_hashes is None or hashes is None:
        return hashes
    return np.union1d(starting_hashes, hashes.astype(starting_hashes.dtype))


def build_from_starting_model(starting, store, config, tag_column=None, training_forms=None,
                              training_entities=None, training_sentences=None):
    """The tagger ``starting`` is (its network, labels, featurizer and decoding) with its
    weights, and its spec bound to ``store``: a fine-tune's start. Only the dropout, which
    shapes no weight, is ``config``'s. A flag tagger's threshold is 0.5 again, as after any
    training: one set since (``model set-threshold``) was chosen on the starting weights'
    probabilities, which the fine-tune moves; dev chooses the epoch at 0.5, as ``model info``
    says it did. The hashes of what the network trained on are the
    union of the starting model's and this training's: ``evaluate``'s unseen forms and
    entities and its "sentences seen in training" warning are about the network, which has
    seen both."""
    from beamtagger.model.tagger_model import Tagger

    keras.utils.set_random_seed(config.seed)   # the dropout's streams, as build_tagger's
    base = starting.spec
    model_config = {**base.model_config, "dropout": config.dropout}
    model = Tagger(**model_config)
    model.set_weights(starting.weights)
    spec = TaggerSpec(
        labels=base.labels, head=base.head, featurizer=base.featurizer,
        binding=TaggerSpec.binding_of(store), model_config=model_config,
        decoding={**base.decoding, "threshold": 0.5}, bucketing={"batch_tokens": config.batch_tokens},
        tag_column=tag_column if tag_column is not None else base.tag_column,
        binary_labels=base.binary_labels,
        training_forms=_union(base.training_forms, training_forms),
        training_entities=_union(base.training_entities, training_entities),
        training_sentences=_union(base.training_sentences, training_sentences))
    return model, spec


def build_tagger(labels, head, store, config, featurizer=None, tag_column=None, binary=None,
                 training_forms=None, training_entities=None, training_sentences=None):
    """A new, untrained tagger for ``labels`` over ``store``'s vectors, and its spec.

    Weights are initialised from ``config.seed``. ``train_tagger`` builds its model here, and so
    does ``beamtagger.testing`` (an untrained model for users' pipeline tests).
    """
    from beamtagger.model.tagger_model import Tagger

    featurizer = featurizer or TokenFeaturizer(config.special_tokens, config.oov_buckets,
                                               config.feature_columns)
    keras.utils.set_random_seed(config.seed)
    model_config = {"dim": store.dim, "num_outputs": 1 if head == "sigmoid" else len(labels),
                    "num_extra_rows": featurizer.num_extra_rows,
                    "feature_sizes": featurizer.feature_sizes, "feature_dim": config.feature_dim,
                    "projection": config.projection, "units": config.units,
                    "layers": config.layers, "dropout": config.dropout, "head": head,
                    "name": "tagger"}
    if featurizer.max_chars > 0 and config.char_dim > 0 and config.char_filters > 0:
        model_config.update(char_vocab_size=featurizer.char_vocab_size, char_dim=config.char_dim,
                            char_filters=config.char_filters, char_kernel=config.char_kernel)
    bio = is_bio_label_set(labels)
    if head == "crf" and bio:
        allowed_start, allowed = bio_transitions(labels)
        model_config.update(crf_allowed_start=allowed_start.tolist(), crf_allowed=allowed.tolist())
    model = Tagger(**model_config)
    spec = TaggerSpec(
        labels=labels, head=head, featurizer=featurizer, binding=TaggerSpec.binding_of(store),
        model_config=model_config,
        decoding={"viterbi": bool(config.viterbi and bio and head == "softmax"),
                  "threshold": 0.5},
        bucketing={"batch_tokens": config.batch_tokens},
        tag_column=tag_column, binary_labels=binary, training_forms=training_forms,
        training_entities=training_entities, training_sentences=training_sentences)
    return model, spec


def auxiliary_targets(train_sentences, aux_sentences):
    """(aux labels, int32 (T,) label ids per training sentence) from ``aux_sentences``: the
    training corpus read again with another tag column, sentence for sentence (sentences
    without tokens left out, as ``encode_sentences`` leaves them out)."""
    train_sentences = [sentence for sentence in train_sentences if len(sentence.tokens)]
    aux_sentences = [sentence for sentence in aux_sentences if len(sentence.tokens)]
    if len(aux_sentences) != len(train_sentences) or any(
            a.tokens != t.tokens for a, t in zip(aux_sentences, train_sentences)):
        raise BeamtaggerError("the auxiliary tags do not line up with the training sentences")
    labels = sorted({tag for sentence in aux_sentences for tag in sentence.tags
                     if tag is not None})
    index = {label: i for i, label in enumerate(labels)}
    # A tag of None (the refit's dev sentences): no auxiliary label, no auxiliary loss.
    return labels, [np.array([index.get(tag, -1) for tag in sentence.tags], dtype=np.int32)
                    for sentence in aux_sentences]


def train_tagger(train_sentences, dev_sentences, store, config=None, binary=None,
                 tag_column=None, log=print, aux_sentences=None, state=None, starting=None,
                 *, threads=None):
    """Train on ``train_sentences``, early-stop on ``dev_sentences``; with ``config.refit``,
    then train a new model on train + dev for the number of epochs that scored best on dev.

    ``aux_sentences`` (optional): the training sentences with other tags (e.g. XPOS), learned
    as a training-only second task by a softmax tagger (``auxiliary.AuxiliaryTrainer``).

    The refit is what the epoch count was chosen for, trained on more data, and closer to text
    like dev's: WNUT-17's dev comes from other sources than its training tweets, and a model
    that learned from part of dev scored higher on dev's other part (docs/quality.md). Its
    report keeps the first run's dev scores (the refit model has seen dev) under the same keys,
    and the refit under "refit".

    ``state`` (optional, a ``train_state.TrainingState``) is written after every epoch, and
    what it holds of an earlier run of the same training (killed before its model was written)
    is resumed: the result is the uninterrupted run's. A state of another training is refused
    (BeamtaggerError) before any epoch.

    ``starting`` (optional, a ``StartingModel``): fine-tune that model rather than train a new
    one; its labels, head and network are kept (``config``'s network sizes must be its:
    ``train --init-from`` takes them from it), the refit starts from it too, and the report
    records it (``init_from``). It is scored on dev before epoch 1 (``DevEvaluation``'s
    ``score_start``); where no epoch beats it, its weights are the result (``best_epoch`` 0,
    the report's ``starting_model`` ``kept``) and there is no refit.

    ``threads`` (optional, 1 to 4,096): TensorFlow's CPU threads (intra- and inter-op), as
    ``train --threads``: the weights depend on the count, not on the cores or the load
    (``training_threads``). By default every core this process may run on. Set before
    TensorFlow runs its first op in this process (a count it can no longer take is refused:
    train in a new process). The count trained on is the report's ``"threads"``, and is
    ``state``'s (a state made for another count is refused), so a resume on another count is
    refused as the CLI's is.

    Returns ``(model, spec, report)``; ``save_model_dir`` writes them.
    """
    threads = _training_threads(threads, state)
    config = config or TrainingConfig()
    train_sentences = list(train_sentences)
    dev_sentences = list(dev_sentences)
    aux_sentences = list(aux_sentences) if aux_sentences is not None else None
    snapshot = None
    if state is not None:
        snapshot = state.resume(training_fingerprint(
            config, train_sentences, dev_sentences, aux_sentences, TaggerSpec.binding_of(store),
            binary, tag_column, starting.record if starting is not None else None))
    if binary is not None:
        train_sentences = binary.map_sentences(train_sentences)
        dev_sentences = binary.map_sentences(dev_sentences)
    if starting is not None:
        labels, head = list(starting.spec.labels), starting.spec.head
    else:
        labels, head = choose_labels(train_sentences, binary)
    if head == "sigmoid":
        config = sigmoid_head_config(config, log)
    if starting is None and config.crf and head == "softmax":
        head = "crf"
    elif starting is None and config.crf:
        log(f"two labels: a {head} head, no CRF")
    if snapshot is not None and snapshot.phase == "refit":
        report = snapshot.meta["first_report"]
        report["config"]["epochs"] = config.epochs   # the state's run may have had another
    else:
        model, spec, report = _train(train_sentences, dev_sentences, labels, head, store,
                                     config, binary, tag_column, log, aux_sentences, state,
                                     snapshot, starting=starting)
        snapshot = None
    # The weights depend on it (training_threads): what an auditor repeats the run with.
    report["threads"] = threads
    if snapshot is None and not config.refit:   # the first training was all
        return model, spec, report
    epochs = report["best_epoch"]
    if epochs == 0:
        # No epoch beat the starting model: the refit's count is 0, and 0 epochs from the
        # start are the start, which the first training has put back.
        log("no refit: no epoch beat the starting model on dev; its weights are kept")
        return model, spec, report
    copies = config.refit_dev_copies
    refit_dev = dev_sentences * copies
    log(f"refit: a new model on train + dev{f' x {copies}' if copies != 1 else ''} "
        f"({len(train_sentences) + len(refit_dev)} sentences) for {epochs} epoch(s), the best "
        f"epoch on dev")
    if aux_sentences is not None:
        # Dev's sentences carry no auxiliary tags: no auxiliary loss on them.
        aux_sentences = aux_sentences + [
            dataclasses.replace(s, tags=(None,) * len(s.tokens)) for s in refit_dev]
    model, spec, refit = _train(train_sentences + refit_dev, None, labels, head, store,
                                dataclasses.replace(config, epochs=epochs), binary, tag_column,
                                log, aux_sentences, state, snapshot, first_report=report,
                                starting=starting)
    report["refit"] = {"epochs": epochs, "train": refit["train"], "history": refit["epochs"],
                       "seconds": refit["seconds"]}
    # The model saved is the refit's, whose character table holds dev's characters too.
    report["parameters"] = refit["parameters"]
    report["seconds"] = round(report["seconds"] + refit["seconds"], 1)
    return model, spec, report


def _training_threads(threads, state):
    """The TensorFlow thread count a ``train_tagger`` call trains on, set where given (as
    ``train --threads``), and given to ``state``. Before, the Python API recorded no count:
    its report held none, and its state none, so a training resumed on a machine of another
    core count went on with other weights, unsaid."""
    from beamtagger.model.training_threads import MAX_TRAINING_THREADS, set_training_threads
    from beamtagger.tagging_defaults import check_whole_number

    if threads is not None:
        check_whole_number("threads", threads, 1, MAX_TRAINING_THREADS, " of TensorFlow threads")
        # Refused before TensorFlow's count is set: set, it stays for the whole process, and
        # the caller's next training here (one with the state's count) could not get its own.
        _check_state_threads(state, threads)
    count = set_training_threads(threads, option="threads=")
    if state is not None:
        _check_state_threads(state, count)
        state.threads = count
    return count


def _check_state_threads(state, count):
    """BeamtaggerError where ``state`` was made for another thread count than ``count``."""
    if state is not None and state.threads is not None and state.threads != count:
        raise BeamtaggerError(f"the training state {state.folder} is for {state.threads} "
                              f"thread(s), but this training runs on {count}: make it "
                              f"with threads={count}, or none (train_tagger gives it its "
                              "count)")


def sigmoid_head_config(config, log=print):
    """``config`` as a sigmoid head trains: less adversarial training (``AdversarialTrainer``
    takes softmax heads only) and entity drop, each with a line saying so, so that the report
    holds what the run did. A flag of WNUT-17's product and company tokens scored lower with
    either, 3 seeds of 3 (adversarial training through a local change; docs/quality.md).
    ``train`` leaves both out of a flag tagger's preset and refuses them given."""
    if config.adversarial > 0:
        log("no adversarial training with a sigmoid head")
        config = dataclasses.replace(config, adversarial=0.0)
    if config.entity_drop is not None:
        log("no entity drop with a sigmoid head")
        config = dataclasses.replace(config, entity_drop=None)
    return config


def _train(train_sentences, dev_sentences, labels, head, store, config, binary, tag_column, log,
           aux_sentences, state=None, snapshot=None, first_report=None, starting=None):
    """One model trained on ``train_sentences``: early stopping on ``dev_sentences``, or
    ``config.epochs`` epochs when ``dev_sentences`` is None (the refit, ``first_report`` the
    first training's). Saved to ``state`` after each epoch, resumed from ``snapshot``.
    Starts from ``starting``'s network and weights where given."""
    from beamtagger.model.inference import TaggerRunner

    use_chars = config.char_dim > 0 and config.char_filters > 0 and config.max_chars > 0
    char_vocab = (build_char_vocab(t for s in train_sentences for t in s.tokens)
                  if use_chars else "")
    feature_columns = tuple(config.feature_columns)
    if config.form_buckets > 0:
        feature_columns += (("form", config.form_buckets),)
    featurizer = TokenFeaturizer(config.special_tokens, config.oov_buckets, feature_columns,
                                 char_vocab=char_vocab,
                                 max_chars=config.max_chars if use_chars else 0)
    if starting is not None:
        # Its character ids are its embedding rows: a vocabulary rebuilt from this corpus
        # would give them to other characters.
        featurizer = starting.spec.featurizer
    label_index = {label: i for i, label in enumerate(labels)}
    # A resumed run's clock goes on from the killed run's seconds.
    started = time.perf_counter() - (snapshot.meta["seconds"] if snapshot is not None else 0.0)

    def seconds():
        return time.perf_counter() - started
    train = encode_sentences(train_sentences, store, featurizer, label_index, source="train")
    dev = None
    if dev_sentences is not None:
        dev = encode_sentences(dev_sentences, store, featurizer, label_index, source="dev")
        if dev.unknown_tags:
            log("warning: " + describe_unknown_tags(dev.unknown_tags, "dev"))
    if train.unknown_tags:  # the refit's dev part: tags unknown to train carry no loss
        log("warning: " + describe_unknown_tags(train.unknown_tags, "train + dev")
            + " (no loss)")
    log(f"train: {len(train)} sentences, {train.num_tokens} tokens, "
        f"{sum(int((r < 0).sum()) for r in train.rows)} OOV"
        + (f"; dev: {len(dev)} sentences, {dev.num_tokens} tokens" if dev is not None else "")
        + f"; {len(labels)} labels, {head} head "
        f"(encoded in {time.perf_counter() - started:.1f} s)")
    is_bio = head != "sigmoid" and is_bio_label_set(labels)
    trained_on = {
        "training_forms": training_form_hashes(t for s in train_sentences for t in s.tokens),
        "training_entities": (evaluation.training_entity_hashes(train_sentences) if is_bio
                              else None),
        "training_sentences": sentence_hashes(train_sentences)}
    if starting is not None:
        model, spec = build_from_starting_model(starting, store, config, tag_column,
                                                **trained_on)
    else:
        model, spec = build_tagger(labels, head, store, config, featurizer, tag_column, binary,
                                   **trained_on)
    trained, aux_targets, aux_labels = model, None, []
    if aux_sentences is not None and binary is None:
        aux_labels, aux_targets = auxiliary_targets(train_sentences, list(aux_sentences))
        if head != "softmax" or len(aux_labels) < 2:
            log(f"no auxiliary task ({head} head, {len(aux_labels)} auxiliary tag(s))")
            aux_targets, aux_labels = None, []
        else:
            trained = AuxiliaryTrainer(model, len(aux_labels), config.aux_weight)
            log(f"auxiliary task: {len(aux_labels)} tags, loss weight {config.aux_weight} "
                "(training only)")
    if config.adversarial > 0:
        if head != "softmax" or trained is not model:
            # The preset's default, so other settings turn it off rather than fail; measured
            # with softmax heads only.
            log("no adversarial training with " + (f"a {head} head" if head != "softmax"
                                                   else "an auxiliary task"))
        else:
            trained = AdversarialTrainer(model, config.adversarial)
    compile_tagger(trained, config)
    history = []
    label_weights = outside_label_weights(labels, head, config.outside_weight)
    lowered = None
    if config.lowercase > 0:
        lowered = encode_sentences(
            [dataclasses.replace(s, tokens=tuple(t.lower() for t in s.tokens))
             for s in train_sentences], store, featurizer, label_index, source="train")
    # With EMA, the swap puts the averaged weights in place at each epoch's end, before
    # DevEvaluation scores them and keeps the best (and after the refit's last epoch).
    swap_ema = ResumableSwapEMAWeights() if config.ema > 0 else None
    callbacks = [swap_ema] if swap_ema is not None else []
    # Before DevEvaluation, which would score (and might keep) the diverged weights.
    callbacks.append(StopOnNonFiniteLoss("" if dev is not None else " of the refit"))
    callback = None
    if dev is not None:
        callback = DevEvaluation(TaggerRunner(spec, model), dev, store, config.patience, history,
                                 lr_decay=config.lr_decay, decay_patience=config.decay_patience,
                                 decay_restore=config.decay_restore, log=log, seconds=seconds,
                                 score_start=starting is not None)
        callbacks.append(callback)
    else:
        callbacks.append(RecordLoss(history))
    first_epoch, epochs = 0, config.epochs
    if state is not None:
        keeper = KeepTrainingState(state, "first" if dev is not None else "refit",
                                   config.epochs, history, callback, swap_ema, first_report,
                                   seconds)
        callbacks.append(keeper)  # last: the state holds what the others did at the epoch's end
        if snapshot is not None:
            first_epoch, epochs = keeper.restore(trained, snapshot)
    dataset = training_dataset(train, store, config, spec.input_dims, label_weights,
                               aux_targets, label_drop_rates(labels, head, config), lowered,
                               first_epoch)
    if head == "sigmoid":
        dataset = dataset.map(lambda x, y, w: (x, y[..., None], w))
    trained.fit(dataset, initial_epoch=first_epoch, epochs=epochs, callbacks=callbacks,
                verbose=config.verbose, shuffle=False)
    if dev is None and head == "crf":
        spec.set_crf(*model.crf_scores())
    report = {
        "train": {"sentences": len(train), "tokens": train.num_tokens},
        "config": {k: (list(v) if isinstance(v, tuple) else v)
                   for k, v in dataclasses.asdict(config).items()},
        "store": {"path": str(store.path), **TaggerSpec.binding_of(store)},
        "epochs": history,
        "auxiliary_labels": aux_labels,
        "seconds": round(seconds(), 1),
        "parameters": int(sum(int(np.prod(w.shape)) for w in model.weights)),
    }
    if starting is not None:
        report["init_from"] = starting.record
    if dev is not None:
        metric_name = evaluation.primary_metric_name(head, is_bio)
        report.update({
            "dev": {"sentences": len(dev), "tokens": dev.num_tokens,
                    "unknown_tags": {tag: count for tag, (_, count) in dev.unknown_tags.items()}},
            "best_epoch": callback.best_epoch,
            "best_dev": {f"dev_{metric_name}": callback.best}})
        kept = callback.start_kept
        if callback.start is not None:
            report["starting_model"] = {**callback.start, "kept": kept}
        if kept:
            # The network saved is the starting one, which never learned from this --train.
            for name in ("training_forms", "training_entities", "training_sentences"):
                setattr(spec, name, getattr(starting.spec, name))
        best_accuracy = (callback.start["dev_accuracy"] if kept else
                         next(epoch["dev_accuracy"] for epoch in history
                              if epoch["epoch"] == callback.best_epoch))
        warning = no_better_than_trivial(metric_name, callback.best, best_accuracy,
                                         [sentence.tags for sentence in dev_sentences],
                                         len(history),
                                         positive_label=labels[1] if head == "sigmoid" else None)
        if warning:
            report["warning"] = warning
    return model, spec, report
