"""``train --init-from MODEL``: a fine-tune starts from the model's weights and network, records
where it started, and refuses in one line what it cannot start from (docs/training.md,
"Fine-tuning a model")."""
import json
import pathlib

import numpy as np
import pytest

from beamtagger.pipeline import cli, evaluate_command
from beamtagger.testing import TinyTagger, build_tiny_tagger, cached_tiny_tagger

# Tokens of the tiny store, tags of the tiny model (testing.TINY_LABELS).
_TRAIN = [("the cat sat .", "DET NOUN VERB PUNCT"), ("a dog went home .", "DET NOUN VERB NOUN PUNCT"),
          ("the dogs bark !", "DET NOUN VERB PUNCT"), ("it rained all day .", "NOUN VERB DET NOUN PUNCT")]
_DEV = [("the apple sat .", "DET NOUN VERB PUNCT"), ("a cat went home !", "DET NOUN VERB NOUN PUNCT")]


def _write_conll(path, sentences):
    path.write_text("".join("".join(f"{token}\t{tag}\n" for token, tag in
                                    zip(text.split(), tags.split())) + "\n"
                            for text, tags in sentences), encoding="utf-8")
    return str(path)


@pytest.fixture
def tiny(tmp_path):
    """A tiny untrained tagger (4 units, 4 labels) with a record of 'its' training sentences and
    forms (the tiny builder writes none), its store, and a train and dev corpus in its tags.
    A copy of the cached build: building it imports TensorFlow and Keras, which only the test
    that trains needs."""
    from beamtagger.corpus_readers import Sentence
    from beamtagger.model.tagger_spec import sentence_hashes, training_form_hashes

    built = cached_tiny_tagger(tmp_path / "base")
    base_sentences = [Sentence("s", ("green", "apples"), ("NOUN", "NOUN"), "x", 1)]
    model = pathlib.Path(built.model_dir)
    np.save(model / "training_sentences.npy", sentence_hashes(base_sentences))
    np.save(model / "training_forms.npy", training_form_hashes(["green", "apples"]))
    return {"model": built.model_dir, "store": built.store_path,
            "train": _write_conll(tmp_path / "train.conll", _TRAIN),
            "dev": _write_conll(tmp_path / "dev.conll", _DEV), "tmp": tmp_path}


def _train(tiny, out, *flags):
    return cli.main(["train", "--train", tiny["train"], "--dev", tiny["dev"], "--format", "conll",
                     "--embeddings", tiny["store"], "--out", str(out), "--epochs", "1",
                     "--adversarial", "0", *flags])


def _weights(model_dir, scratch):
    """{name: array} of a model folder's weights, read from its Keras file (no TensorFlow)."""
    import h5py
    import zipfile

    folder = pathlib.Path(scratch) / f"weights-{pathlib.Path(model_dir).name}"
    with zipfile.ZipFile(pathlib.Path(model_dir) / "tagger.keras") as archive:
        archive.extract("model.weights.h5", folder)
    arrays = {}
    with h5py.File(folder / "model.weights.h5") as h5:
        h5.visititems(lambda name, item: arrays.__setitem__(name, item[()])
                      if isinstance(item, h5py.Dataset) else None)
    return arrays


def _assert_same_weights(model_dir, other_dir, scratch):
    base, tuned = _weights(other_dir, scratch), _weights(model_dir, scratch)
    assert base.keys() == tuned.keys()
    for name in base:
        np.testing.assert_allclose(tuned[name], base[name], atol=1e-6, err_msg=name)


def test_a_fine_tune_no_epoch_beats_writes_its_start_and_records_it(tiny, capsys,
                                                                    monkeypatch):
    """On a dev the starting model tags wholly right, no epoch can beat it. The start is scored
    before epoch 1 (the "Epoch 0" line). The run, killed once its one epoch's state is written
    and run again, does not score the weights it resumes with (epoch 1's, at a rate that moves
    every weight) as the start: it writes the start's weights, taken when training began, so
    they are the model's (a model built anew, seed 1, has others: the tiny one is seed 7);
    --refit's 0 epochs train nothing; the last line, the report and model info say so, and
    where it started."""
    from beamtagger.corpus_readers import Sentence
    from beamtagger.model.tagger_spec import TaggerSpec, sentence_hashes
    from beamtagger.model.train_state import TrainingState

    pytest.importorskip("tensorflow")
    fitted = [(text, " ".join(TinyTagger(tiny["model"], tiny["store"]).labels(text)))
              for text, _ in _DEV]
    tiny = {**tiny, "dev": _write_conll(tiny["tmp"] / "fitted.conll", fitted)}
    real_save = TrainingState.save

    def save_then_ctrl_c(self, meta, arrays):
        real_save(self, meta, arrays)
        raise KeyboardInterrupt

    out = tiny["tmp"] / "tuned"
    flags = ["--init-from", tiny["model"], "--learning-rate", "0.5", "--refit"]
    with monkeypatch.context() as patch:
        patch.setattr(TrainingState, "save", save_then_ctrl_c)
        assert _train(tiny, out, *flags) == 130
    printed = capsys.readouterr().out
    assert f"fine-tuning {tiny['model']}: its network, 4 labels and weights" in printed
    assert "Epoch 0/1 (the starting model, before training) - dev_accuracy: 1.0000\n" in printed

    assert _train(tiny, out, *flags) == 0
    printed = capsys.readouterr().out
    assert "resuming the training after its last epoch (1 of 1)" in printed
    assert "Epoch 0/" not in printed
    assert "no refit: no epoch beat the starting model on dev; its weights are kept" in printed
    assert "refit: a new model" not in printed and printed.count("\ntrain: ") == 1
    last = printed.splitlines()[-1]
    assert last.startswith(f"no epoch beat the starting model {tiny['model']} on --dev "
                           "(dev_accuracy 1.0000 before training; its best of 1 epoch(s), "
                           "epoch 1, "), last
    assert f"), so no refit: wrote its weights to {out} (" in last, last
    _assert_same_weights(out, tiny["model"], tiny["tmp"])
    text = "the dog went home with a green apple ."
    assert (TinyTagger(str(out), tiny["store"]).labels(text)
            == TinyTagger(tiny["model"], tiny["store"]).labels(text))

    base_json = json.loads((pathlib.Path(tiny["model"]) / "tagger.json").read_text())
    spec = json.loads((out / "tagger.json").read_text())
    assert spec["labels"] == base_json["labels"]
    assert spec["featurizer"] == base_json["featurizer"]   # its char ids, not this corpus's
    report = json.loads((out / "training_report.json").read_text())
    assert report["best_epoch"] == 0 and report["best_dev"] == {"dev_accuracy": 1.0}
    assert report["starting_model"] == {"dev_accuracy": 1.0, "kept": True}
    assert "refit" not in report and [e["epoch"] for e in report["epochs"]] == [1]
    record = report["init_from"]
    assert record["model"] == tiny["model"] and record["labels"] == 4
    assert record["tagger_json_sha256"] == base_json["content_sha256"]
    assert record["model_file_sha256"] == base_json["model_file"]["sha256"]
    # The network kept is the starting one, which has seen its own sentences and forms only
    # (a fine-tune that beats it records both: test_what_the_network_saw_is_both_models).
    loaded = TaggerSpec.load(out)
    assert loaded.training_sentences.tolist() == sentence_hashes(
        [Sentence("s", ("green", "apples"), ("NOUN", "NOUN"), "x", 1)]).tolist()
    assert loaded.seen_in_training(["apples", "cat", "paris"]).tolist() == [True, False, False]
    # evaluate's warning of a sentence seen in training names the starting model as a source
    # (the warning alone: evaluate's run would trace a TensorFlow predict for it)
    assert (f"or the training of {tiny['model']}, which it was fine-tuned from with --init-from"
            in evaluate_command.seen_sentences_warning(out, 1, 3))
    assert "fine-tuned" not in evaluate_command.seen_sentences_warning(tiny["model"], 1, 3)

    assert cli.main(["model", "info", str(out), "--embeddings", tiny["store"]]) == 0
    info = capsys.readouterr().out.splitlines()
    line = next(line for line in info if line.startswith("started from:"))
    assert tiny["model"] in line and base_json["content_sha256"][:12] in line
    assert next(line for line in info if line.startswith("its dev score:")).endswith(
        "accuracy 100.00% before training; no epoch of 1 beat it, so this model has its weights")
    assert cli.main(["model", "info", str(out), "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["training"]["init_from"] == record
    assert described["training"]["starting_model"] == report["starting_model"]


def _other_store(tiny):
    return cached_tiny_tagger(tiny["tmp"] / "other", seed=8).store_path


def _old_format(tiny):
    path = pathlib.Path(tiny["model"]) / "tagger.json"
    path.write_text(path.read_text().replace('"format_version": 1', '"format_version": 0'))
    return tiny["model"]


def _damaged(tiny):
    path = pathlib.Path(tiny["model"]) / "tagger.keras"
    path.write_bytes(path.read_bytes()[:1000])
    return tiny["model"]


@pytest.mark.parametrize("flags, message", [
    (["--units", "64"], "--units 64 conflicts with --init-from MODEL, whose network has --units 4"),
    (["--crf"], "--crf conflicts with --init-from MODEL, whose network has --no-crf"),
    (["--char-filters", "48"], "whose network has --char-filters 4"),
    (["--binary-label", "NOUN"], "whose network has no --binary-label"),
    (["--embeddings", _other_store], "pass --allow-other-embeddings"),
    (["--train", "UNKNOWN"], "2 of its tags ('ADJ' x2, 'X' x1; 3 tokens) are not labels of "
     "--init-from MODEL, whose 4 labels a fine-tune keeps"),
])
def test_what_a_fine_tune_cannot_start_from_is_refused_in_one_line(tiny, flags, message,
                                                                    capsys):
    flags = [flag(tiny) if callable(flag) else flag for flag in flags]
    if flags[:2] == ["--train", "UNKNOWN"]:
        flags[1] = _write_conll(tiny["tmp"] / "unknown.conll", _TRAIN + [
            ("green red apples .", "ADJ ADJ NOUN X")])
    out = tiny["tmp"] / "tuned"
    assert _train(tiny, out, "--init-from", tiny["model"], *flags) == 2
    err = capsys.readouterr().err
    assert message.replace("MODEL", tiny["model"]) in err and err.count("\n") == 1, err
    assert not out.exists()


@pytest.mark.parametrize("model, message", [
    (lambda tiny: str(tiny["tmp"] / "none"), "model directory {tmp}/none does not exist"),
    (lambda tiny: tiny["store"], "is not a tagger model: tagger.json is missing"),
    (_old_format, "format_version 0 is not supported"),
    (_damaged, "tagger.keras is damaged"),
    (lambda tiny: "gs://bucket/model", "train takes paths on this machine, not URLs"),
])
def test_a_model_that_cannot_be_read_is_refused_before_training(tiny, model, message, capsys):
    given = model(tiny)
    out = tiny["tmp"] / "tuned"
    assert _train(tiny, out, "--init-from", given) == 2
    err = capsys.readouterr().err
    assert f"--init-from {given}: " in err and message.format(tmp=tiny["tmp"]) in err, err
    assert err.count("\n") == 1 and not out.exists()


def test_the_model_written_by_this_run_or_another_is_refused(tiny, capsys):
    from beamtagger.pipeline import output_lock

    assert _train(tiny, tiny["model"], "--init-from", tiny["model"], "--overwrite") == 2
    assert (f"--init-from {tiny['model']} is --out: the fine-tuned model would replace the "
            "one it starts from") in capsys.readouterr().err
    with output_lock.held(tiny["model"], "--out", "train", "model directory"):
        assert _train(tiny, tiny["tmp"] / "tuned", "--init-from", tiny["model"]) == 2
    assert "a beamtagger train run is writing that model" in capsys.readouterr().err
    assert _train(tiny, tiny["tmp"] / "tuned", "--allow-other-embeddings") == 2
    assert "--allow-other-embeddings applies with --init-from only" in capsys.readouterr().err


def test_a_killed_fine_tune_resumes_only_from_the_same_starting_model():
    """The state's fingerprint holds the starting model's digests: the same command resumes,
    a start from another model (or the folder trained again since) is named as the
    difference, and a training from random weights keeps the fingerprint it had."""
    from beamtagger.model.train_state import describe_difference, training_fingerprint
    from beamtagger.model.training import TrainingConfig

    def fingerprint(record):
        return training_fingerprint(TrainingConfig(), [], [], None, {}, None, "upos", record)

    first = {"tagger_json_sha256": "a" * 64, "model_file_sha256": "b" * 64, "model": "m"}
    again = {**first, "model_file_sha256": "c" * 64}
    assert fingerprint(first) == fingerprint(dict(first, path="elsewhere"))
    assert describe_difference(fingerprint(first), fingerprint(again)).startswith(
        "--init-from (the model it starts from, by its digests)")
    assert "init_from" not in fingerprint(None)


def test_a_fine_tune_learns_at_the_presets_rate_unless_told(tiny, capsys):
    """No rate of its own: 5e-4 scored higher on one held-out genre and 2e-3 on another
    (docs/quality.md). Stopped before training by the store refusal, which comes after."""
    other = _other_store(tiny)
    out = tiny["tmp"] / "tuned"
    assert _train(tiny, out, "--init-from", tiny["model"], "--embeddings", other) == 2
    printed = capsys.readouterr().out
    assert "fine-tuning: --learning-rate" not in printed
    assert "--learning-rate 0.002 " in printed   # the preset's line, as for any training


def test_bundled_is_refused_beside_a_folder_of_that_name(tiny, capsys, monkeypatch):
    """'bundled' took the bundled model while a folder ./bundled was there, which the user may
    have meant; ./bundled names the folder, as tag --model NAME=./bundled does."""
    monkeypatch.chdir(tiny["tmp"])
    (tiny["tmp"] / "bundled").mkdir()
    out = tiny["tmp"] / "tuned"
    assert _train(tiny, out, "--init-from", "bundled") == 2
    err = capsys.readouterr().err
    assert (f"--init-from bundled is ambiguous here: it names the bundled UPOS model, and "
            f"{tiny['tmp'] / 'bundled'} is here too; write --init-from ./bundled for that "
            "folder, or --init-from ") in err and err.count("\n") == 1, err
    assert _train(tiny, out, "--init-from", "./bundled") == 2
    assert ("--init-from ./bundled: bundled is not a tagger model"
            in capsys.readouterr().err)
    assert not out.exists()


def test_the_bundled_model_is_refused_as_out_too(tiny, capsys):
    """--out naming the bundled model's folder (with --overwrite) replaced it with the
    fine-tune started from it; 'bundled' was not compared with --out."""
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR

    files = {path.name: path.read_bytes() for path in DEFAULT_MODEL_DIR.iterdir()}
    assert _train(tiny, DEFAULT_MODEL_DIR, "--init-from", "bundled", "--overwrite") == 2
    err = capsys.readouterr().err
    assert "--init-from bundled is --out: the fine-tuned model would replace" in err, err
    assert {path.name: path.read_bytes() for path in DEFAULT_MODEL_DIR.iterdir()} == files


def test_a_flag_taggers_threshold_is_chosen_again_not_kept(tiny, capsys):
    """A threshold set on the starting model was chosen on its weights' probabilities: the
    fine-tune flags at 0.5, as after any training (and as model info says dev chose its epoch
    at), and says so. The run is stopped by the store refusal, after the note."""
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.training import StartingModel, TrainingConfig, \
        build_from_starting_model
    from beamtagger.pipeline import init_from

    flags = build_tiny_tagger(tiny["tmp"] / "flags", binary_label=("NOUN",))
    assert cli.main(["model", "set-threshold", flags.model_dir, "0.8"]) == 0
    assert _train(tiny, tiny["tmp"] / "tuned", "--init-from", flags.model_dir, "--embeddings",
                  _other_store(tiny)) == 2
    assert (f"the threshold 0.8 set on {flags.model_dir} is not kept (chosen for its weights"
            in capsys.readouterr().out)

    opened = init_from.open_starting_model(flags.model_dir, tiny["tmp"] / "tuned")
    assert opened.spec.decoding["threshold"] == 0.8
    starting = StartingModel(opened.spec, init_from.load_weights(opened), opened.record)
    _, spec = build_from_starting_model(starting, EmbeddingStore.open(flags.store_path),
                                        TrainingConfig(dropout=0.3))
    assert spec.decoding["threshold"] == 0.5
    assert spec.binary_labels.patterns == ("NOUN",)


def test_what_the_network_saw_is_both_models(tiny):
    """A fine-tune's hash files are the union of its starting model's and its own training's
    (where an epoch beat the start; else the start's alone, as the first test shows):
    evaluate's unseen forms and seen-sentence warning are about the network."""
    from beamtagger.corpus_readers import Sentence
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.tagger_spec import sentence_hashes, training_form_hashes
    from beamtagger.model.training import StartingModel, TrainingConfig, \
        build_from_starting_model
    from beamtagger.pipeline import init_from

    opened = init_from.open_starting_model(tiny["model"], tiny["tmp"] / "tuned")
    starting = StartingModel(opened.spec, init_from.load_weights(opened), opened.record)
    tuned = [Sentence("t", ("the", "cat"), ("DET", "NOUN"), "x", 1)]
    _, spec = build_from_starting_model(
        starting, EmbeddingStore.open(tiny["store"]), TrainingConfig(),
        training_sentences=sentence_hashes(tuned),
        training_forms=training_form_hashes(["the", "cat"]))
    base = [Sentence("s", ("green", "apples"), ("NOUN", "NOUN"), "x", 1)]
    assert sorted(spec.training_sentences.tolist()) == sorted(
        sentence_hashes(base).tolist() + sentence_hashes(tuned).tolist())
    assert spec.seen_in_training(["apples", "cat", "paris"]).tolist() == [True, True, False]


def test_patience_counts_epochs_not_the_start(monkeypatch):
    """EWT reviews, seed 1, 2e-3 (docs/quality.md): the start scored 95.63% on the tuning
    sentences, epochs 1-4 at most that, epoch 5 95.68%. Patience 4 counted from the start
    stopped after epoch 4 and kept the start (held out: 93.77% against the fine-tune's
    94.63%); counted between epochs, as in any training, epoch 5 runs and is kept. Where no
    epoch beats the start its weights go back in. Scores scripted: no TensorFlow run."""
    from beamtagger.model.training import DevEvaluation

    class Weights:   # what DevEvaluation asks of the Keras model
        stop_training, weights = False, ["start"]
        optimizer = type("Adam", (), {"learning_rate": 2e-3})()

        def get_weights(self):
            return list(self.weights)

        def set_weights(self, weights):
            self.weights = list(weights)

    def run(start, scores, patience=4):
        model, scored = Weights(), iter([start, *scores])
        monkeypatch.setattr(DevEvaluation, "_score", lambda self: (
            "accuracy", next(scored), {"accuracy": 0.0}))
        runner = type("Runner", (), {"spec": type("Spec", (), {"head": "softmax"})})()
        callback = DevEvaluation(runner, None, None, patience, [], log=lambda line: None,
                                 score_start=True)
        callback.set_model(model)
        callback.on_train_begin()
        for epoch, _ in enumerate(scores):
            model.weights = [f"epoch {epoch + 1}"]
            callback.on_epoch_end(epoch)
            if model.stop_training:
                break
        callback.on_train_end()
        return callback, model.weights

    callback, weights = run(0.9563, [0.9554, 0.9551, 0.9554, 0.9563, 0.9568, 0.9568])
    assert (callback.best_epoch, weights) == (5, ["epoch 5"]) and not callback.start_kept
    callback, weights = run(0.9563, [0.9554, 0.9551, 0.9554, 0.9563, 0.9560], patience=3)
    assert (callback.best_epoch, callback.best, weights) == (0, 0.9563, ["start"])
    assert callback.start_kept
