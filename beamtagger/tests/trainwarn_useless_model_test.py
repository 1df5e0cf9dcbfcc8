"""``train`` warns when the model it saves is no better on dev than a trivial tagger: an entity
tagger that found no dev entity, a tagger no more accurate than always the most common tag."""
import json

import pytest

from beamtagger.model.trivial_baseline import no_better_than_trivial
from beamtagger.pipeline import cli
from beamtagger.tests.conftest import conll_slice


def test_an_entity_tagger_that_found_no_dev_entity_is_saved_with_a_warning(
        shared_data, subset_store, tmp_path, capsys):
    pytest.importorskip("tensorflow")
    wnut = shared_data / "wnut17"
    train = conll_slice(wnut / "wnut17train.conll", tmp_path / "train.conll", 60)
    dev = conll_slice(wnut / "emerging.dev.conll", tmp_path / "dev.conll", 30)
    out = tmp_path / "m"
    # One epoch of 60 sentences through a 4-unit network learns to tag every token O (the
    # walkthrough's --epochs 3 on 600 sentences found no entity either): O weighs as much as
    # the rest (--outside-weight 1), and the weights scored are the trained ones (--ema 0).
    assert cli.main(["train", "--train", train, "--dev", dev, "--format", "conll",
                     "--embeddings", subset_store, "--out", str(out), "--epochs", "1",
                     "--units", "4", "--char-filters", "0", "--ema", "0", "--outside-weight",
                     "1", "--learning-rate", "0.01", "--batch-tokens", "4096", "--no-refit",
                     "--adversarial", "0"]) == 0
    printed = capsys.readouterr()
    assert "best epoch 1: dev_entity_f1 0.0000" in printed.out
    # The dev slice's one 'I-product' is a tag the 60 training sentences lack: a warning too,
    # prefixed as the others are (it was the one line without).
    assert ("\nwarning: dev: 1 token(s) carry 1 tag(s) the model has no label for, counted as "
            "errors: 'I-product' x1") in printed.out
    warnings = [line for line in printed.err.splitlines() if "trivial tagger" in line]
    assert len(warnings) == 1, printed.err
    assert warnings[0].startswith("warning: the saved model is no better than a trivial tagger: "
                                  "dev entity F1 0.0000 in every one of the 1 epoch(s) run: "
                                  "the model found no entity of dev, as a tagger that tags "
                                  "every token 'O' would. Try: train for more epochs")
    assert "--epochs" in warnings[0]
    report = json.loads((out / "training_report.json").read_text())
    assert "warning: " + report["warning"] == warnings[0]
    assert cli.main(["model", "info", str(out), "--embeddings", subset_store]) == 0
    shown = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("warning:")]
    assert shown == [f"warning:       {report['warning']}"]


def test_a_model_that_learned_is_saved_without_a_warning(upos_model, subset_store, capsys):
    report = json.loads((upos_model / "training_report.json").read_text())
    assert report["best_dev"]["dev_accuracy"] > 0.5 and "warning" not in report
    assert cli.main(["model", "info", str(upos_model), "--embeddings", subset_store]) == 0
    assert "warning" not in capsys.readouterr().out


def test_accuracy_is_trivial_up_to_the_share_of_the_most_common_dev_tag():
    dev_tags = [("NOUN", "VERB", "NOUN"), ("NOUN", "DET")]   # NOUN: 3 of 5 tokens
    assert no_better_than_trivial("accuracy", 0.61, 0.61, dev_tags, 30) is None
    warning = no_better_than_trivial("accuracy", 0.6, 0.6, dev_tags, 30)
    assert "dev accuracy 0.6000 at the best of 30 epoch(s) is no higher than the 0.6000" in warning
    assert "every token 'NOUN'" in warning and "train for more epochs" not in warning


def test_an_entity_tagger_is_trivial_at_f1_0_or_below_tagging_every_token_o():
    dev_tags = [("O", "B-person", "I-person", "O")]   # O: half the tokens
    assert no_better_than_trivial("entity_f1", 0.01, 0.75, dev_tags, 3) is None
    # The walkthrough's --epochs 3 on WNUT-17: one entity found, fewer tokens right than O's.
    warning = no_better_than_trivial("entity_f1", 0.01, 0.5, dev_tags, 3)
    assert ("dev entity F1 0.0100, dev accuracy 0.5000 at the best of 3 epoch(s) is no higher "
            "than the 0.5000") in warning
    assert "every token 'O'" in warning and "train for more epochs" in warning
    warning = no_better_than_trivial("positive_f1", 0.0, 0.9, [("no", "yes", "no")], 3)
    assert "found no positive token of dev" in warning and "every token 'no'" in warning
