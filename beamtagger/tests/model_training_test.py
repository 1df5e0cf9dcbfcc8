"""Batching, encoding and the training loop on tiny data (the CLI tests cover real slices)."""
import numpy as np
import pytest

from beamtagger.corpus_readers import Sentence
from beamtagger.model import batching
from beamtagger.model.encoding import encode_sentences
from beamtagger.model.features import TokenFeaturizer

WORDS = "the a cat dog sat ran on under mat rug and quickly".split()
TAGS = {"the": "DET", "a": "DET", "cat": "NOUN", "dog": "NOUN", "sat": "VERB", "ran": "VERB",
        "on": "ADP", "under": "ADP", "mat": "NOUN", "rug": "NOUN", "and": "CCONJ",
        "quickly": "ADV", "Zorblat": "PROPN"}


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    from beamtagger.embeddings.importers import import_embeddings
    from beamtagger.embeddings.store import EmbeddingStore

    folder = tmp_path_factory.mktemp("tiny-store")
    rng = np.random.default_rng(0)
    lines = [" ".join([word, *(f"{x:.4f}" for x in rng.normal(size=8))]) for word in WORDS]
    (folder / "vectors.txt").write_text("\n".join(lines) + "\n")
    import_embeddings(folder / "vectors.txt", folder / "store")
    return EmbeddingStore.open(folder / "store")


def sentences(count, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        tokens = tuple(rng.choice(WORDS + ["Zorblat"], size=int(rng.integers(1, 25))))
        out.append(Sentence(f"s{i}", tokens, tuple(TAGS[t] for t in tokens), "synthetic", i + 1))
    return out


def test_token_budget_batches_cover_everything_once_within_budget():
    lengths = np.random.default_rng(1).integers(1, 60, size=500)
    batches = batching.token_budget_batches(lengths, 256, np.random.default_rng(2))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(500))
    for batch in batches:
        assert len(batch) * lengths[batch].max() <= 256
    again = batching.token_budget_batches(lengths, 256, np.random.default_rng(2))
    other = batching.token_budget_batches(lengths, 256, np.random.default_rng(3))
    assert all((a == b).all() for a, b in zip(batches, again))
    assert any(len(a) != len(b) or (a != b).any() for a, b in zip(batches, other))
    # The cut points depend only on the sorted lengths, so every epoch has as many batches.
    assert len(other) == len(batches)


def test_sentence_longer_than_budget_gets_its_own_batch():
    batches = batching.token_budget_batches(np.array([3, 300, 4]), 100)
    assert sorted(len(b) for b in batches) == [1, 2]


def test_pad_batch_and_word_drop(tiny_store):
    featurizer = TokenFeaturizer(oov_buckets=16)
    labels = sorted(set(TAGS.values()))
    corpus = encode_sentences(sentences(40), tiny_store, featurizer,
                              {label: i for i, label in enumerate(labels)})
    indices = np.arange(40)
    inputs, targets, weights = batching.pad_batch(corpus, indices, tiny_store)
    width = corpus.lengths.max()
    assert inputs.vectors.shape == (40, width, 8) and inputs.vectors.dtype == np.float32
    assert (weights.sum(1) == corpus.lengths).all()
    padding = weights == 0
    assert not inputs.vectors[padding].any() and not inputs.extra_ids[padding].any()
    dropped, _, _ = batching.pad_batch(corpus, indices, tiny_store, drop_rate=0.5,
                                       rng=np.random.default_rng(0))
    turned = (inputs.vectors != dropped.vectors).any(-1)
    assert turned.sum() > 50 and not turned[padding].any()
    assert not dropped.vectors[turned].any()          # dropped words look OOV ...
    assert (dropped.extra_ids[turned] > 0).all()       # ... and get their hashed row
    fixed, _, _ = batching.pad_batch(corpus, indices, tiny_store, pad_to=128)
    assert fixed.vectors.shape[1] == 128 and fixed.char_ids.shape[1] == 128


def test_label_drop_rates_drop_the_words_of_chosen_labels_only(tiny_store):
    from beamtagger.model.training import TrainingConfig, label_drop_rates

    featurizer = TokenFeaturizer(oov_buckets=16)
    labels = ["B-thing", "I-thing", "O"]
    bio = [Sentence(f"s{i}", ("the", "cat", "sat", "on", "a", "mat"),
                    ("O", "B-thing", "O", "O", "B-thing", "I-thing"), "x", i) for i in range(30)]
    corpus = encode_sentences(bio, tiny_store, featurizer,
                              {label: i for i, label in enumerate(labels)})
    rates = label_drop_rates(labels, "softmax", TrainingConfig(word_drop=0.0, entity_drop=1.0))
    assert rates.tolist() == [1.0, 1.0, 0.0]
    assert label_drop_rates(labels, "softmax", TrainingConfig()) is None  # word drop everywhere
    assert label_drop_rates(["NOUN", "O", "VERB"], "softmax",
                            TrainingConfig(entity_drop=1.0)) is None  # not a BIO label set
    indices = np.arange(30)
    clean, targets, _ = batching.pad_batch(corpus, indices, tiny_store)
    dropped, _, _ = batching.pad_batch(corpus, indices, tiny_store, rng=np.random.default_rng(0),
                                       label_drop_rates=rates)
    entity = targets != labels.index("O")
    assert not dropped.vectors[entity].any() and clean.vectors[entity].any()
    assert (dropped.vectors[~entity] == clean.vectors[~entity]).all()
    assert (dropped.extra_ids[entity] > 0).all()  # dropped words get their hashed OOV row
    # Rates equal to word_drop everywhere draw the same tokens as plain word drop.
    same = np.full(3, 0.3)
    a, _, _ = batching.pad_batch(corpus, indices, tiny_store, drop_rate=0.3,
                                 rng=np.random.default_rng(5))
    b, _, _ = batching.pad_batch(corpus, indices, tiny_store, drop_rate=0.3,
                                 rng=np.random.default_rng(5), label_drop_rates=same)
    assert (a.vectors == b.vectors).all() and (a.extra_ids == b.extra_ids).all()


@pytest.mark.slow
def test_fit_does_not_retrace_per_batch_length(tiny_store):
    from beamtagger.model.training import (TrainingConfig, choose_labels, compile_tagger,
                                           training_dataset)
    from beamtagger.model.tagger_model import Tagger

    train = sentences(120)
    labels, head = choose_labels(train)
    featurizer = TokenFeaturizer(oov_buckets=16)
    corpus = encode_sentences(train, tiny_store, featurizer,
                              {label: i for i, label in enumerate(labels)})
    config = TrainingConfig(batch_tokens=64, units=8)
    model = Tagger(dim=8, num_outputs=len(labels), num_extra_rows=featurizer.num_extra_rows,
                   feature_sizes=featurizer.feature_sizes, units=8)
    compile_tagger(model, config)
    traces = []
    step = model.train_step
    model.train_step = lambda data: traces.append(1) or step(data)  # runs once per trace
    dims = {"D": 8, "F": featurizer.num_feature_columns, "C": featurizer.char_width}
    dataset = training_dataset(corpus, tiny_store, config, dims)
    widths = {int(corpus.lengths[b].max()) for b in batching.token_budget_batches(
        corpus.lengths, config.batch_tokens)}
    model.fit(dataset, epochs=2, verbose=0, shuffle=False)
    assert len(widths) > 10
    # Measured: Keras traces its step function twice at the start, then never again.
    assert len(traces) <= 2


def test_lowercase_shows_a_share_of_sentences_lower_cased_anew_each_epoch(tiny_store):
    import dataclasses

    pytest.importorskip("tensorflow")
    from beamtagger.model.training import TrainingConfig, training_dataset

    featurizer = TokenFeaturizer(oov_buckets=16)
    cased = [dataclasses.replace(s, tokens=tuple(t.capitalize() for t in s.tokens))
             for s in sentences(60)]
    labels = sorted(set(TAGS.values()))
    index = {label: i for i, label in enumerate(labels)}
    corpus = encode_sentences(cased, tiny_store, featurizer, index)
    lowered = encode_sentences([dataclasses.replace(s, tokens=tuple(t.lower() for t in s.tokens))
                                for s in cased], tiny_store, featurizer, index)
    dims = {"D": 8, "F": featurizer.num_feature_columns, "C": featurizer.char_width}
    lower_casing = 1  # CASING_CLASSES.index("lower")

    def lower_shares(config, lowered):
        dataset = training_dataset(corpus, tiny_store, config, dims, lowered=lowered)
        shares = []
        for _ in range(2):  # one pass of the dataset is one epoch
            real = lower = 0
            for inputs, _, weights in dataset:
                casing = inputs["feature_ids"].numpy()[..., 0][weights.numpy() > 0]
                real, lower = real + casing.size, lower + int((casing == lower_casing).sum())
            shares.append(lower / real)
        return shares

    assert lower_shares(TrainingConfig(batch_tokens=128, word_drop=0.0), None) == [0.0, 0.0]
    first, second = lower_shares(TrainingConfig(batch_tokens=128, word_drop=0.0, lowercase=0.5),
                                 lowered)
    assert 0.3 < first < 0.7 and 0.3 < second < 0.7 and first != second


def test_two_valued_tag_column_trains_a_sigmoid_head():
    from beamtagger.model.training import choose_labels

    two = [Sentence("s", ("a", "b"), ("1", "0"), "x", 1)]
    assert choose_labels(two) == (["0", "1"], "sigmoid")
    many = sentences(5)
    labels, head = choose_labels(many)
    assert head == "softmax" and labels == sorted(labels)


def test_word_drop_blanks_the_form_column_of_dropped_words_only(tiny_store):
    columns = (("casing", 10), ("suffix3", 50), ("form", 64))
    featurizer = TokenFeaturizer(oov_buckets=16, feature_columns=columns)
    assert featurizer.form_column == 2
    corpus = encode_sentences(sentences(40), tiny_store, featurizer)
    assert corpus.form_column == 2
    indices = np.arange(40)
    kept, _, _ = batching.pad_batch(corpus, indices, tiny_store)
    dropped, _, _ = batching.pad_batch(corpus, indices, tiny_store, drop_rate=0.5,
                                       rng=np.random.default_rng(0))
    real = np.arange(kept.width)[None, :] < kept.lengths[:, None]
    turned = (kept.vectors != dropped.vectors).any(-1)
    assert turned.sum() > 50
    assert (dropped.feature_ids[turned, 2] == 0).all()          # "no form" for dropped words
    assert (kept.feature_ids[real, 2] > 0).all()
    untouched = real & ~turned
    assert (dropped.feature_ids[untouched] == kept.feature_ids[untouched]).all()
    assert (dropped.feature_ids[turned, :2] == kept.feature_ids[turned, :2]).all()


class _ScriptedDev:
    """Stands in for ``evaluation.evaluate_corpus``: returns the next scripted dev accuracy."""

    def __init__(self, scores):
        self.scores = list(scores)

    def __call__(self, runner, corpus, store):
        return {"accuracy": self.scores.pop(0)}


def _run_dev_evaluation(monkeypatch, scores, **schedule):
    import types

    import keras

    from beamtagger.model import evaluation
    from beamtagger.model.training import DevEvaluation

    monkeypatch.setattr(evaluation, "evaluate_corpus", _ScriptedDev(scores))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    runner = types.SimpleNamespace(spec=types.SimpleNamespace(head="softmax"))
    history, printed = [], []
    callback = DevEvaluation(runner, None, None, history=history, log=printed.append,
                             **schedule)
    callback.set_model(model)
    for epoch in range(len(scores)):
        # Each "epoch" moves the weights, so a restore is visible.
        model.set_weights([np.full_like(w, epoch + 1) for w in model.get_weights()])
        callback.on_epoch_end(epoch, {"loss": 1.0})
        if model.stop_training:
            break
    return callback, model, history, printed


def test_learning_rate_halves_after_each_run_of_bad_epochs(monkeypatch):
    scores = [0.90, 0.91, 0.90, 0.905, 0.90, 0.92, 0.91, 0.91, 0.91, 0.91, 0.91, 0.91]
    callback, model, history, printed = _run_dev_evaluation(
        monkeypatch, scores, patience=6, lr_decay=0.5, decay_patience=2)
    rates = [entry["learning_rate"] for entry in history]
    # Bad epochs 3-4 halve it (after epoch 4), epoch 6 is the best, then 8 and 10 halve again,
    # and the sixth bad epoch in a row (12) stops training.
    assert rates == pytest.approx([0.01] * 4 + [0.005] * 4 + [0.0025] * 2 + [0.00125] * 2)
    assert model.stop_training and len(history) == 12 and callback.best_epoch == 6
    assert len(printed) == 3 and "learning rate 0.005" in printed[0]
    # Without restore the weights stay those of the last epoch.
    assert model.get_weights()[0].flat[0] == 12


def test_decay_can_restore_the_best_weights_and_is_off_by_default(monkeypatch):
    scores = [0.90, 0.91, 0.90, 0.90]
    _, model, history, printed = _run_dev_evaluation(
        monkeypatch, scores, patience=6, lr_decay=0.5, decay_patience=2, decay_restore=True)
    # Epoch 4 is the second bad one in a row: the rate halves and epoch 2's weights come back.
    assert model.get_weights()[0].flat[0] == 2 and not model.stop_training
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005)
    assert "back to epoch 2's weights" in printed[0]
    _, model, history, printed = _run_dev_evaluation(monkeypatch, scores + [0.9], patience=3)
    assert [entry["learning_rate"] for entry in history] == pytest.approx([0.01] * 5)
    assert model.stop_training and len(history) == 5 and not printed


def test_label_smoothing_is_the_cross_entropy_against_a_smoothed_target():
    from beamtagger.model.training import tagger_loss

    gold = np.array([[1, 0, 2]])
    probs = np.array([[[0.2, 0.7, 0.1], [0.5, 0.25, 0.25], [0.3, 0.3, 0.4]]], dtype="float32")
    weights = np.array([[1.0, 1.0, 0.0]], dtype="float32")  # the third token is padding
    expected = []
    for label, p in zip(gold[0][:2], probs[0][:2]):
        target = np.full(3, 0.1 / 3)
        target[label] += 0.9
        expected.append(-(target * np.log(p)).sum())
    assert float(tagger_loss("softmax", 0.1)(gold, probs, weights)) == pytest.approx(
        np.mean(expected), rel=1e-5)
    assert float(tagger_loss("softmax")(gold, probs, weights)) == pytest.approx(
        -np.log([0.7, 0.5]).mean(), rel=1e-5)


def test_weight_decay_reaches_the_optimizer():
    from beamtagger.model.tagger_model import Tagger
    from beamtagger.model.training import TrainingConfig, compile_tagger

    model = Tagger(dim=4, num_outputs=3, num_extra_rows=2, units=4)
    assert compile_tagger(model, TrainingConfig()).optimizer.weight_decay is None
    model = Tagger(dim=4, num_outputs=3, num_extra_rows=2, units=4)
    assert compile_tagger(model, TrainingConfig(weight_decay=0.05)).optimizer.weight_decay == 0.05


def test_auxiliary_loss_adds_the_second_task_on_real_tokens_only():
    from beamtagger.model.auxiliary import AuxiliaryTrainer
    from beamtagger.model.tagger_model import Tagger
    from beamtagger.model.training import tagger_loss

    tagger = Tagger(dim=4, num_outputs=3, num_extra_rows=2, units=4)
    trainer = AuxiliaryTrainer(tagger, 2, aux_weight=0.5, main_loss=tagger_loss("softmax"))
    main = np.array([[[0.2, 0.7, 0.1], [0.5, 0.25, 0.25], [0.3, 0.3, 0.4]]], dtype="float32")
    aux = np.array([[[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]]], dtype="float32")
    targets = np.array([[[1, 0], [0, -1], [2, 1]]], dtype="int32")  # token 2: no aux tag
    weights = np.array([[1.0, 1.0, 0.0]], dtype="float32")            # token 3: padding
    loss = trainer.compute_loss(y=targets, y_pred=np.concatenate([main, aux], -1),
                                sample_weight=weights)
    expected = -np.log([0.7, 0.5]).mean() + 0.5 * -np.log(0.9)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_auxiliary_task_trains_beside_the_tagger_and_is_not_saved(tiny_store, tmp_path):
    import dataclasses

    from beamtagger.errors import BeamtaggerError
    from beamtagger.model.saving import save_model_dir
    from beamtagger.model.training import TrainingConfig, auxiliary_targets, train_tagger

    train = sentences(60)
    # A finer tag set: nouns split by their first letter.
    aux = [dataclasses.replace(s, tags=tuple(tag + (":" + token[0] if tag == "NOUN" else "")
                                             for token, tag in zip(s.tokens, s.tags)))
           for s in train]
    labels, targets = auxiliary_targets(train, aux)
    assert "NOUN:c" in labels and len(targets) == 60 and targets[0].dtype == np.int32
    with pytest.raises(BeamtaggerError, match="do not line up"):
        auxiliary_targets(train, aux[1:])
    config = TrainingConfig(epochs=2, units=8, batch_tokens=128, char_filters=0, verbose=0)
    printed = []
    model, spec, report = train_tagger(train, sentences(10, seed=1), tiny_store, config,
                                       log=printed.append, aux_sentences=aux)
    assert any("auxiliary task" in line for line in printed)
    assert report["auxiliary_labels"] == labels
    plain, _, plain_report = train_tagger(train, sentences(10, seed=1), tiny_store, config,
                                          log=printed.append)
    # The saved tagger has exactly the weights of one trained without the second task.
    assert [w.shape for w in model.get_weights()] == [w.shape for w in plain.get_weights()]
    assert report["parameters"] == plain_report["parameters"]
    assert report["epochs"][-1]["loss"] != plain_report["epochs"][-1]["loss"]
    save_model_dir(model, spec, report, tmp_path / "m")


def test_adversarial_step_moves_each_sentence_epsilon_per_token_on_average():
    from beamtagger.model.adversarial import AdversarialTrainer
    from beamtagger.model.tagger_model import Tagger

    trainer = AdversarialTrainer(Tagger(dim=4, num_outputs=3, num_extra_rows=2, units=4), 0.5)
    gradient = np.random.default_rng(0).normal(size=(2, 5, 7)).astype("float32")
    gradient[1, 3:] = 0  # the second sentence has 3 tokens
    step = np.asarray(trainer.perturbation(gradient, np.array([5, 3])))
    norms = np.linalg.norm(step.reshape(2, -1), axis=1)
    assert norms == pytest.approx([0.5 * np.sqrt(5), 0.5 * np.sqrt(3)], rel=1e-5)
    # The step points along the gradient.
    cosine = (step[0] * gradient[0]).sum() / norms[0] / np.linalg.norm(gradient[0])
    assert cosine == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_adversarial_training_learns_and_saves_the_plain_tagger(tiny_store):
    import dataclasses

    from beamtagger.model.training import TrainingConfig, train_tagger

    config = TrainingConfig(epochs=3, units=8, batch_tokens=128, char_filters=0, verbose=0,
                            adversarial=0.5)
    model, spec, report = train_tagger(sentences(80), sentences(10, seed=1), tiny_store, config,
                                       log=lambda line: None)
    losses = [epoch["loss"] for epoch in report["epochs"]]
    assert losses[-1] < losses[0]
    assert type(model).__name__ == "Tagger" and report["config"]["adversarial"] == 0.5
    # The tags preset's default: other heads train without it rather than fail.
    two = [dataclasses.replace(s, tags=tuple("N" if t == "NOUN" else "x" for t in s.tags))
           for s in sentences(40)]
    printed = []
    _, spec, _ = train_tagger(two, two[:5], tiny_store, dataclasses.replace(config, epochs=1),
                              log=printed.append)
    assert spec.head == "sigmoid" and "no adversarial training with a sigmoid head" in printed


def test_an_epoch_with_a_non_finite_loss_fails_the_run():
    from beamtagger.errors import JobFailed
    from beamtagger.model.training import StopOnNonFiniteLoss

    check = StopOnNonFiniteLoss(" of the refit")
    check.on_epoch_end(0, {"loss": 0.7})
    check.on_epoch_end(1, {})
    for loss in (float("nan"), float("inf")):
        with pytest.raises(JobFailed, match=f"the loss was {loss} in epoch 3 of the refit; "
                                            "nothing was saved"):
            check.on_epoch_end(2, {"loss": loss})


def test_a_model_with_a_non_finite_weight_is_never_saved(tmp_path):
    from beamtagger.errors import JobFailed
    from beamtagger.model.saving import save_model_dir
    from beamtagger.tests.model_tagger_test import make_model

    model, spec = make_model()
    weights = model.get_weights()
    weights[3][0] = np.nan
    model.set_weights(weights)
    with pytest.raises(JobFailed, match=r"hold NaN or infinity \(1 of \d+ arrays, e.g. "):
        save_model_dir(model, spec, {}, tmp_path / "m")
    assert list(tmp_path.iterdir()) == []
