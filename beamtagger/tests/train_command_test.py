"""``beamtagger train`` end to end on small slices of real EWT and WNUT-17 data."""
import json
import zipfile

import pytest

from beamtagger.pipeline import cli
from beamtagger.tests.conftest import conll_slice

pytest.importorskip("tensorflow")


def test_train_writes_a_small_self_describing_model(upos_model, subset_store, capsys):
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.saving import keras_file_arrays

    assert sorted(p.name for p in upos_model.iterdir()) == [
        "tagger.json", "tagger.keras", "training_forms.npy", "training_report.json",
        "training_sentences.npy"]
    # 300 training sentences of 8 bytes each: no dev among them (no --refit).
    assert (upos_model / "training_sentences.npy").stat().st_size <= 128 + 8 * 300
    spec = json.loads((upos_model / "tagger.json").read_text())
    assert len(spec["featurizer"]["char_vocab"]) > 40 and spec["featurizer"]["max_chars"] == 16
    assert spec["model_config"]["char_filters"] == 48
    store = EmbeddingStore.open(subset_store)
    assert spec["binding"] == {"fingerprint": store.fingerprint, "dim": 50,
                               "normalization": list(store.normalization)}
    assert spec["head"] == "softmax" and "NOUN" in spec["labels"] and spec["tag_column"] == "upos"
    assert spec["model_config"]["projection"] == 24
    report = json.loads((upos_model / "training_report.json").read_text())
    assert [epoch["epoch"] for epoch in report["epochs"]] == [1, 2, 3, 4]
    assert all(0 < epoch["dev_accuracy"] <= 1 and epoch["loss"] > 0 for epoch in report["epochs"])
    arrays = keras_file_arrays(upos_model / "tagger.keras")
    assert not [name for name in arrays if "optimizer" in name]
    assert max(shape[0] for shape in arrays.values()) < store.count  # no vocabulary table
    with zipfile.ZipFile(upos_model / "tagger.keras") as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]


def test_binary_mode_trains_a_sigmoid_head(shared_data, subset_store, tmp_path, ewt_slices,
                                           capsys):
    wnut = shared_data / "wnut17"
    train = conll_slice(wnut / "wnut17train.conll", tmp_path / "train.conll", 150)
    dev = conll_slice(wnut / "emerging.dev.conll", tmp_path / "dev.conll", 40)
    out = tmp_path / "binary"
    code = cli.main(["train", "--train", train, "--dev", dev, "--format", "conll",
                     "--embeddings", subset_store, "--out", str(out), "--epochs", "1",
                     "--units", "8", "--binary-label", "B-*", "I-*"])
    assert code == 0
    spec = json.loads((out / "tagger.json").read_text())
    assert spec["head"] == "sigmoid" and spec["labels"] == ["no", "yes"]
    assert spec["binary_labels"]["patterns"] == ["B-*", "I-*"]
    assert spec["model_config"]["num_outputs"] == 1
    report = json.loads((out / "training_report.json").read_text())
    assert "dev_positive_f1" in report["epochs"][0]
    # evaluate: every tag maps to yes or no, so a corpus of another task (UPOS) was scored
    # with no word said; it is now named in a warning.
    capsys.readouterr()
    common = ["evaluate", "--model", str(out), "--embeddings", subset_store]
    assert cli.main([*common, "--data", dev, "--format", "conll"]) == 0
    err = capsys.readouterr().err
    # Its own dev, which the refit (entity preset) trained on: said, sentence by sentence
    # (training_sentences.npy), but no tag is unknown.
    assert "no tag of" not in err, err
    assert "40 of the 40 sentences scored (100.0%) are sentences" in err, err
    assert (out / "training_sentences.npy").is_file()
    assert cli.main([*common, "--data", ewt_slices[1]]) == 0
    err = capsys.readouterr().err
    assert "no tag of" in err and "positive patterns (B-*, I-*)" in err and "'ADJ'" in err, err


@pytest.fixture(scope="module")
def entity_model(shared_data, subset_store, tmp_path_factory):
    """A CRF entity tagger trained on 120 WNUT-17 sentences with the entity preset (its refit on
    train + dev), its dev 30 more: (exit code, stdout, model folder, dev file). Read by the
    preset test and, as the model whose training entities are every dev entity's, by
    test_seen_entities_of_another_model."""
    import contextlib
    import io

    wnut = shared_data / "wnut17"
    folder = tmp_path_factory.mktemp("entity-model")
    train = conll_slice(wnut / "wnut17train.conll", folder / "train.conll", 120)
    dev = conll_slice(wnut / "emerging.dev.conll", folder / "dev.conll", 30)
    out = folder / "entities"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli.main(["train", "--train", train, "--dev", dev, "--format", "conll",
                         "--embeddings", subset_store, "--out", str(out), "--epochs", "1",
                         "--units", "8", "--crf", "--batch-tokens", "300"])
    return code, printed.getvalue(), out, dev


def test_bio_tags_get_the_entity_preset_and_flags_override_it(entity_model):
    import numpy as np

    from beamtagger.model.tagger_spec import TaggerSpec

    code, printed, out, _ = entity_model
    assert code == 0
    assert "preset 'entity' (BIO tag set detected)" in printed
    assert "--outside-weight 0.1" in printed and "--batch-tokens" not in printed.split("\n")[0]
    report = json.loads((out / "training_report.json").read_text())
    assert report["config"]["batch_tokens"] == 300 and report["config"]["crf"] is True
    spec = TaggerSpec.load(out)
    assert spec.head == "crf" and spec.decoding["viterbi"] is False
    transitions = np.array(spec.decoding["crf"]["transitions"])
    assert transitions.shape == (len(spec.labels),) * 2 and np.abs(transitions).max() > 0
    labels, scores = spec.decode(np.zeros((3, len(spec.labels))), 3)
    assert not [label for label in labels[:1] if label.startswith("I-")]  # BIO constraint
    assert ((scores > 0) & (scores <= 1)).all()  # marginal probabilities


@pytest.mark.parametrize("problem, make_args, message", [
    ("empty training file", lambda tmp, dev: ["--train", str(tmp / "empty.conllu"), "--dev", dev],
     "holds no sentences"),
    ("missing dev file", lambda tmp, dev: ["--train", dev, "--dev", str(tmp / "nope.conllu")],
     "does not exist"),
])
def test_bad_input_is_one_clear_line(problem, make_args, message, ewt_slices, subset_store,
                                     tmp_path, capsys):
    (tmp_path / "empty.conllu").write_text("")
    code = cli.main(["train", *make_args(tmp_path, ewt_slices[1]), "--embeddings", subset_store,
                     "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2, problem
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_dev_corpus_none_of_whose_tags_train_knows_is_refused_before_training(
        ewt_slices, subset_store, tmp_path, capsys):
    # An untagged dev (UPOS "_"): it trained to the end of its patience on a dev accuracy of 0
    # every epoch, and saved the first epoch's model with exit 0.
    untagged = tmp_path / "untagged.conllu"
    lines = open(ewt_slices[1], encoding="utf-8").read().split("\n")
    untagged.write_text("\n".join(
        "\t".join(fields[:3] + ["_"] + fields[4:]) if len(fields) == 10 else line
        for line, fields in ((line, line.split("\t")) for line in lines)), encoding="utf-8")
    out = tmp_path / "m"
    code = cli.main(["train", "--train", ewt_slices[0], "--dev", str(untagged),
                     "--embeddings", subset_store, "--out", str(out), "--epochs", "1",
                     "--units", "8"])
    printed = capsys.readouterr()
    assert code == 2 and "Epoch" not in printed.out and not out.exists()
    assert printed.err.strip() == (
        f"beamtagger train: error: dev corpus {untagged} (tag column upos): none of its tags is "
        "a tag of the training corpus ('_'; the training corpus's: ADJ, ADP, ADV, AUX, CCONJ, "
        "DET, INTJ, NOUN ...): a corpus of another task, or another --tag-column?")


def test_an_existing_model_directory_is_refused_before_training(upos_model, ewt_slices,
                                                               subset_store, capsys):
    before = (upos_model / "tagger.keras").read_bytes()
    code = cli.main(["train", "--train", ewt_slices[0], "--dev", ewt_slices[1],
                     "--embeddings", subset_store, "--out", str(upos_model)])
    err = capsys.readouterr().err
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert (upos_model / "tagger.keras").read_bytes() == before


def test_a_missing_corpus_is_refused_before_tensorflow_is_imported(tmp_path):
    # The one-line error waited 4-8 s for TensorFlow's import, which training's module does.
    import subprocess
    import sys

    script = ("import sys; from beamtagger.pipeline import cli; code = cli.main(['train', "
              f"'--train', {str(tmp_path / 'missing.conllu')!r}, '--dev', "
              f"{str(tmp_path / 'dev.conllu')!r}, '--out', {str(tmp_path / 'm')!r}]); "
              "print(code, 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.split() == ["2", "False"], (done.stdout, done.stderr)
    assert "training corpus" in done.stderr and "missing.conllu does not exist" in done.stderr


def test_unknown_format_is_refused_by_the_parser(ewt_slices, capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--train", ewt_slices[0], "--dev", ewt_slices[1], "--format", "tsv",
                  "--out", "x"])
    assert "invalid choice: 'tsv'" in capsys.readouterr().err


def test_preset_detection_by_tag_set():
    from beamtagger.corpus_readers import Sentence
    from beamtagger.model.viterbi import is_bio_label_set
    from beamtagger.pipeline.train_command import detect_preset

    def corpus(*tags):
        return [Sentence("s", ("w",) * len(tags), tags, "x", 1)]

    cases = {("O", "B-per", "I-per"): "entity",
             ("O", "S-loc", "B-per", "E-per"): "tags",   # BIOES: no Viterbi, entity F1, ...
             ("O", "U-loc", "B-per", "L-per"): "tags",   # BILOU
             ("NOUN", "VERB", "DET"): "tags",
             ("O", "I-per"): "tags",                     # no entity ever begins
             ("B-NP", "I-NP", "X"): "tags",              # not all tags are prefixed
             ("O", "B-per", "I-per", "B-"): "tags"}      # malformed: not BIO
    for tags, preset in cases.items():
        assert detect_preset(corpus(*tags)) == preset, tags
        # The entity preset's settings work only where the model code sees BIO.
        assert (preset == "entity") == is_bio_label_set(tags), tags


@pytest.mark.parametrize("tags, why", [
    (("O", "S-loc", "B-per", "E-per"), "E-, S- tags: a scheme other than BIO, trained as "
                                        "plain tags without Viterbi decoding or entity scores"),
    (("O", "I-per"), "I- tags without any B- tag: not BIO, trained as plain tags"),
    (("NOUN", "VERB"), "plain tag set detected"),
])
def test_the_preset_line_says_when_prefixed_tags_train_as_plain_tags(tags, why):
    import argparse

    from beamtagger.corpus_readers import Sentence
    from beamtagger.pipeline.train_command import add_arguments, apply_preset

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    printed, warned = [], []
    args = parser.parse_args(["--train", "t", "--dev", "d", "--out", "o"])
    apply_preset(args, [Sentence("s", ("w",) * len(tags), tags, "x", 1)], log=printed.append,
                 warn=warned.append)
    assert printed[0].startswith(f"preset 'tags' ({why}")
    assert warned == []
    args = parser.parse_args(["--train", "t", "--dev", "d", "--out", "o", "--preset", "entity"])
    apply_preset(args, [Sentence("s", ("w",) * len(tags), tags, "x", 1)], log=printed.append)
    assert "asked for; the tag set is not BIO, so Viterbi decoding, entity scores" in printed[1]


def test_malformed_entity_tags_are_named_in_a_warning(shared_data, ewt_slices, tmp_path,
                                                      capsys):
    import argparse

    from beamtagger.corpus_readers import read_corpus
    from beamtagger.pipeline.train_command import add_arguments, apply_preset

    lines = open(shared_data / "wnut17" / "wnut17train.conll", encoding="utf-8").readlines()
    broken = [i for i, line in enumerate(lines) if line.endswith("\tB-person\n")][:3]
    lines[broken[0]] = lines[broken[0]].replace("B-person", "B-")
    lines[broken[1]] = lines[broken[1]].replace("B-person", "b-person")
    lines[broken[2]] = lines[broken[2]].replace("B-person", "b-person")
    corpus = tmp_path / "train.conll"
    corpus.write_text("".join(lines), encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--train", "t", "--dev", "d", "--out", "o"])
    assert apply_preset(args, list(read_corpus(corpus, "conll"))) == "tags"
    out, err = capsys.readouterr()
    assert "preset 'tags' (malformed entity tags, trained as plain tags" in out
    assert err.startswith("warning: malformed entity tags in the training corpus: 'B-' x1 (first "
                          f"in the sentence at {corpus}:"), err
    assert "'b-person' x2" in err and len(err.strip().splitlines()) == 1
    args = parser.parse_args(["--train", "t", "--dev", "d", "--out", "o"])
    apply_preset(args, list(read_corpus(ewt_slices[0], "conllu")))
    assert capsys.readouterr().err == ""   # plain tags are not malformed entity tags


def test_presets_fill_only_the_flags_left_unset():
    import argparse

    from beamtagger.corpus_readers import Sentence
    from beamtagger.pipeline.train_command import add_arguments, apply_preset

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    upos = [Sentence("s", ("w", "v"), ("NOUN", "VERB"), "x", 1)]
    printed = []
    args = parser.parse_args(["--train", "t", "--dev", "d", "--out", "o", "--ema", "0.5"])
    assert apply_preset(args, upos, log=printed.append) == "tags"
    assert (args.units, args.ema, args.patience) == (128, 0.5, 4)
    assert args.adversarial == 0.5 and "--adversarial 0.5" in printed[0]
    assert args.refit is False and "--no-refit" in printed[0]
    assert "--units 128" in printed[0] and "--ema" not in printed[0]
    assert args.entity_drop is None and "--entity-drop" not in printed[0]  # word-drop's share
    assert args.char_filters == 48  # the bundled UPOS model's network, whatever "entity" uses
    args = parser.parse_args(["--train", "t", "--dev", "d", "--out", "o", "--units", "64"])
    apply_preset(args, [Sentence("s", ("w",), ("B-per",), "x", 1)], log=printed.append)
    assert (args.units, args.outside_weight) == (64, 0.1)
    assert args.adversarial == 0.5  # issue 20: higher on the held-out part of WNUT-17 dev
    assert args.refit is True and "--refit" in printed[1]
    assert args.entity_drop == 0.3 and "--entity-drop 0.3" in printed[1]
    args = parser.parse_args(["--train", "t", "--dev", "d", "--out", "o", "--no-refit"])
    apply_preset(args, [Sentence("s", ("w",), ("B-per",), "x", 1)], log=printed.append)
    assert args.refit is False and "refit" not in printed[2]
    assert args.units == 192 and "--units 192" in printed[2]  # wider than "tags" (issue 20)
    assert args.char_filters == 48


def test_the_tags_preset_is_the_bundled_models_training_config():
    """Presets may change for entities; plain tag sets must still train the bundled UPOS model's
    network with its settings (its README command has no tuning flags)."""
    import argparse

    from beamtagger.corpus_readers import Sentence
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR
    from beamtagger.pipeline.train_command import add_arguments, apply_preset

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--train", "t", "--dev", "d", "--out", "o"])
    apply_preset(args, [Sentence("s", ("w",), ("NOUN",), "x", 1)], log=lambda line: None)
    bundled = json.loads((DEFAULT_MODEL_DIR / "training_report.json").read_text())["config"]
    shared = sorted(set(bundled) & set(vars(args)))
    assert {"units", "char_filters", "batch_tokens", "dropout", "adversarial"} <= set(shared)
    assert {key: getattr(args, key) for key in shared} == {key: bundled[key] for key in shared}


@pytest.mark.parametrize("flags, message", [
    (["--lr-decay", "0"], "--lr-decay must be in (0, 1]"),
    (["--lr-decay", "1.5"], "--lr-decay must be in (0, 1]"),
    (["--lr-decay", "0.5", "--decay-patience", "0"], "--decay-patience must be at least 1"),
    (["--decay-restore", "--ema", "0.99"], "--decay-restore does not combine with --ema"),
    (["--form-buckets", "1"], "--form-buckets must be 0 (none) or at least 2"),
    (["--weight-decay", "-1"], "--weight-decay must be >= 0"),
    (["--adversarial", "-0.5"], "--adversarial must be >= 0"),
    (["--label-smoothing", "1"], "--label-smoothing must be in [0, 1)"),
    (["--char-kernel", "0"], "--char-kernel must be in [1, 32], not 0"),
])
def test_bad_schedule_and_form_flags_are_refused_before_training(flags, message, ewt_slices,
                                                                 subset_store, tmp_path, capsys):
    code = cli.main(["train", "--train", ewt_slices[0], "--dev", ewt_slices[1],
                     "--embeddings", subset_store, "--out", str(tmp_path / "m"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("flags, message", [
    (["--learning-rate", "nan"], "--learning-rate must be positive, not nan"),
    (["--learning-rate", "0"], "--learning-rate must be positive, not 0.0"),
    (["--learning-rate", "-1"], "--learning-rate must be positive, not -1.0"),
    (["--outside-weight", "nan"], "--outside-weight must be positive, not nan"),
    (["--word-drop", "2"], "--word-drop must be in [0, 1], not 2.0"),
    (["--limit", "-5"], "--limit must be at least 0, not -5"),
    (["--dropout", "1.5"], "--dropout must be in [0, 1), not 1.5"),
    (["--dropout", "-0.1"], "--dropout must be in [0, 1), not -0.1"),
    (["--dropout", "nan"], "--dropout must be in [0, 1), not nan"),
    (["--projection", "-4"], "--projection must be in [0, 4096], not -4"),
    (["--seed", "-1"], "--seed must be in [0, 4294967295], not -1"),
    (["--adversarial", "inf"], "--adversarial must be >= 0, not inf"),
    (["--weight-decay", "nan"], "--weight-decay must be >= 0, not nan"),
    (["--oov-buckets", "-1"], "--oov-buckets must be in [0, 1000000], not -1"),
    # Sizes that failed deep in TensorFlow: a segmentation fault, out of memory, minutes
    # before the first epoch (found by the train audit).
    (["--char-dim", "100000"], "--char-dim must be in [0, 1024], not 100000"),
    (["--max-chars", "100000"], "--max-chars must be in [0, 256], not 100000"),
    (["--oov-buckets", "100000000"], "--oov-buckets must be in [0, 1000000], not 100000000"),
    (["--form-buckets", "1000000000"], "--form-buckets must be in [0, 1000000], not 1000000000"),
    (["--layers", "50"], "--layers must be in [1, 16], not 50"),
    (["--units", "100000"], "--units must be in [1, 4096], not 100000"),
    (["--aux-weight", "0"], "--aux-weight must be positive, not 0.0"),
])
def test_out_of_range_options_are_refused_before_any_data_is_read(flags, message, tmp_path,
                                                                  capsys):
    # Corpora that do not exist: an option checked only after reading them would be reported
    # as a missing file instead.
    code = cli.main(["train", "--train", str(tmp_path / "train.conllu"), "--dev",
                     str(tmp_path / "dev.conllu"), "--out", str(tmp_path / "m"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_every_preset_value_passes_the_option_checks():
    """``check_options`` skips the flags left unset, which a preset fills later."""
    import argparse

    from beamtagger.corpus_readers import Sentence
    from beamtagger.pipeline.train_command import (PRESETS, add_arguments, apply_preset,
                                                   check_options)

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    for name in PRESETS:
        args = parser.parse_args(["--train", "t", "--dev", "d", "--out", "o", "--preset", name])
        apply_preset(args, [Sentence("s", ("w",), ("NOUN",), "x", 1)], log=lambda line: None)
        check_options(args)


@pytest.mark.parametrize("patterns, message", [
    (["X-*"], "--binary-label 'X-*' matches no tag of the training corpus (ADJ, ADP,"),
    (["NOUN", "verb"], "--binary-label 'verb' matches no tag"),
    (["*"], "match every tag of the training corpus"),
])
def test_binary_label_patterns_that_split_no_tags_are_refused(patterns, message, ewt_slices,
                                                              subset_store, tmp_path, capsys):
    code = cli.main(["train", "--train", ewt_slices[0], "--dev", ewt_slices[1],
                     "--embeddings", subset_store, "--out", str(tmp_path / "m"),
                     "--binary-label", *patterns])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "m").exists()


def test_a_diverging_loss_stops_training_and_saves_nothing(ewt_slices, subset_store, tmp_path,
                                                          capsys):
    # 1e30 is a valid learning rate that makes the first epoch's loss NaN.
    code = cli.main(["train", "--train", ewt_slices[0], "--dev", ewt_slices[1],
                     "--embeddings", subset_store, "--out", str(tmp_path / "m"),
                     "--learning-rate", "1e30", "--epochs", "3", "--units", "8",
                     "--char-filters", "4", "--adversarial", "0"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "training diverged: the loss was nan in epoch 1; nothing was saved" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_refit_on_train_and_dev_and_a_held_out_part_of_dev(shared_data, subset_store, tmp_path,
                                                           capsys):
    """``--dev-sentences`` chooses the epoch on part of dev, ``--refit`` trains a new model on
    train + that part, and ``evaluate --sentences`` scores the other part, seen and unseen."""
    import numpy as np

    from beamtagger.corpus_readers import read_corpus
    from beamtagger.model import evaluation
    from beamtagger.model.tagger_spec import TaggerSpec

    wnut = shared_data / "wnut17"
    train = conll_slice(wnut / "wnut17train.conll", tmp_path / "train.conll", 100)
    dev = conll_slice(wnut / "emerging.dev.conll", tmp_path / "dev.conll", 60)
    out = tmp_path / "refit"
    # The entity preset's adversarial step is no part of the refit: it traced a second graph
    # for both models, over half of this test's seconds (23.5 s of CPU against 8.9 without).
    code = cli.main(["train", "--train", train, "--dev", dev, "--format", "conll",
                     "--embeddings", subset_store, "--out", str(out), "--epochs", "2",
                     "--units", "8", "--refit", "--entity-drop", "0.5", "--dev-sentences", ":25",
                     "--char-kernel", "5", "--refit-dev-copies", "2", "--adversarial", "0"])
    assert code == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "training_report.json").read_text())
    assert report["dev"]["sentences"] == 25 and report["train"]["sentences"] == 100
    assert report["config"]["entity_drop"] == 0.5 and report["config"]["refit"] is True
    assert report["config"]["char_kernel"] == 5
    refit = report["refit"]
    # The dev part twice over (--refit-dev-copies 2): 100 + 2 x 25.
    assert refit["train"]["sentences"] == 150 and refit["epochs"] == report["best_epoch"]
    assert len(refit["history"]) == refit["epochs"] and "refit on train + dev x 2" in printed
    # The saved model is the refit's: its training corpus includes the dev part.
    train_part = list(read_corpus(train, "conll")) + list(read_corpus(dev, "conll"))[:25]
    spec = TaggerSpec.load(out)
    assert np.array_equal(spec.training_entities,
                          evaluation.training_entity_hashes(train_part))
    assert spec.seen_in_training(list(train_part[-1].tokens)).all()
    # The count is the written model's, the refit's, whose character table holds the dev
    # part's characters too (it was the first training's, short of those rows).
    from beamtagger.tests.train_init_from_test import _weights
    written = sum(int(array.size) for array in _weights(out, tmp_path).values())
    assert report["parameters"] == written and f"{written} parameters)" in printed
    code = cli.main(["evaluate", "--model", str(out), "--embeddings", subset_store, "--data", dev,
                     "--format", "conll", "--sentences", "25:", "--json"])
    metrics = json.loads(capsys.readouterr().out)
    assert code == 0 and metrics["sentences"] == 35
    entities = metrics["entities"]
    assert entities["seen"]["support"] + entities["unseen"]["support"] == entities["support"]
    code = cli.main(["evaluate", "--model", str(out), "--embeddings", subset_store, "--data", dev,
                     "--format", "conll", "--sentences", "25:"])
    assert code == 0 and "unseen in training" in capsys.readouterr().out


@pytest.mark.parametrize("flags, message", [
    (["--entity-drop", "1.5"], "--entity-drop must be in [0, 1]"),
    (["--refit-dev-copies", "0"], "--refit-dev-copies must be in [1, 1000], not 0"),
    (["--refit-dev-copies", "2"], "add --refit"),   # EWT: the tags preset, no refit
    (["--dev-sentences", "5"], "expected START:END"),
    (["--dev-sentences", "900:"], "select none of the 60"),
    (["--dev-sentences", "9" * 5000 + ":"], "select none of the 60"),   # int()'s digit limit
    # Found by fuzzing: an OverflowError traceback once the first training was done.
    (["--refit", "--epochs", "1", "--refit-dev-copies", "9223372036854775808"],
     "--refit-dev-copies must be in [1, 1000]"),
])
def test_bad_refit_flags_are_refused_before_training(flags, message, ewt_slices, subset_store,
                                                     tmp_path, capsys):
    code = cli.main(["train", "--train", ewt_slices[0], "--dev", ewt_slices[1],
                     "--embeddings", subset_store, "--out", str(tmp_path / "m"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_seen_entities_of_another_model(upos_model, entity_model, shared_data, subset_store,
                                        tmp_path, capsys):
    """``evaluate --seen-entities-of`` scores with another model's training entities, and a
    model without them is refused before any tagging."""
    # The entity preset's refit trained ``everything`` on train + the whole of this dev: its
    # training entities hold every dev entity (a model of its own, trained on dev, before).
    code, _, everything, dev = entity_model
    assert code == 0
    train = conll_slice(shared_data / "wnut17" / "wnut17train.conll", tmp_path / "train.conll",
                        60)
    out = tmp_path / "ner"
    # The entity preset's refit (dev copies added to train) and adversarial step would add
    # about 20 s a model here; the training entities are what this test needs.
    quick = ["--epochs", "1", "--units", "8", "--no-refit", "--adversarial", "0"]
    assert cli.main(["train", "--train", train, "--dev", dev, "--format", "conll",
                     "--embeddings", subset_store, "--out", str(out), *quick]) == 0
    capsys.readouterr()
    args = ["evaluate", "--model", str(out), "--embeddings", subset_store, "--data", dev,
            "--format", "conll", "--json"]
    assert cli.main([*args, "--seen-entities-of", str(everything)]) == 0
    entities = json.loads(capsys.readouterr().out)["entities"]
    assert entities["unseen"]["support"] == 0 and entities["seen"]["support"] > 0
    assert cli.main([*args, "--seen-entities-of", str(upos_model)]) == 2
    assert "keeps no training entities" in capsys.readouterr().err
