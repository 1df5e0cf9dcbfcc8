"""A yes/no flag tagger's preset line, and its training report, list only what its training
does: adversarial training (softmax heads only) and entity drop (lower F1 on a WNUT-17 flag)
are left out, and refused in one line when given."""
import argparse

import pytest

from beamtagger.corpus_readers import Sentence
from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline.train_command import add_arguments, apply_preset, check_options

WNUT_LIKE = [Sentence("s", ("Apple", "sells", "iPhones", "in", "Paris"),
                      ("B-corporation", "O", "B-product", "O", "B-location"), "x", 1)]


def _args(*flags):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["--train", "t", "--dev", "d", "--out", "o", *flags])


def test_a_flag_tagger_s_preset_line_leaves_adversarial_training_and_entity_drop_out():
    printed = []
    args = _args("--binary-label", "*-product", "*-corporation")
    assert apply_preset(args, WNUT_LIKE, log=printed.append) == "entity"
    # Before: "... --adversarial 0.5 --entity-drop 0.3", then "no adversarial training with a
    # sigmoid head", and the entity drop ignored.
    assert (args.adversarial, args.entity_drop) == (0.0, None)
    assert "--adversarial" not in printed[0] and "--entity-drop" not in printed[0]
    assert ("a yes/no flag tagger (sigmoid head): no adversarial training, no entity drop"
            in printed[0])
    assert "--outside-weight 0.1" in printed[0] and "--refit" in printed[0]


@pytest.mark.parametrize("option, why", [
    ("--adversarial", "adversarial training is implemented for softmax taggers only, and "
                      "tried on a flag of WNUT-17's product and company tokens it scored lower "
                      "(3 seeds of 3, docs/quality.md)"),
    ("--entity-drop", "entity drop scored lower on a flag of WNUT-17's product and company "
                      "tokens (3 seeds of 3, with and without the refit, docs/quality.md)")])
def test_either_given_to_a_flag_tagger_is_refused_before_any_data_is_read(option, why):
    with pytest.raises(BeamtaggerError) as refused:
        check_options(_args("--binary-label", "*-product", option, "0.5"))
    assert str(refused.value) == (
        f"{option} 0.5: {why}, and --binary-label trains a yes/no flag tagger (a sigmoid "
        f"head): leave {option} out")
    check_options(_args(option, "0.5"))   # a softmax tagger's


def test_adversarial_0_given_to_a_flag_tagger_is_what_it_runs_with():
    args = _args("--binary-label", "*-product", "--adversarial", "0")
    check_options(args)
    apply_preset(args, WNUT_LIKE, log=lambda line: None)
    assert args.adversarial == 0.0


def test_a_softmax_tagger_keeps_the_preset_s_adversarial_training_and_entity_drop():
    printed = []
    args = _args()
    apply_preset(args, WNUT_LIKE, log=printed.append)
    assert (args.adversarial, args.entity_drop) == (0.5, 0.3)
    assert "--adversarial 0.5" in printed[0] and "--entity-drop 0.3" in printed[0]
    assert "flag tagger" not in printed[0]


def test_a_sigmoid_head_s_report_holds_neither():
    # Also a tag set of two tags, which trains a sigmoid head without --binary-label.
    pytest.importorskip("tensorflow")
    from beamtagger.model.training import TrainingConfig, sigmoid_head_config

    printed = []
    config = sigmoid_head_config(TrainingConfig(adversarial=0.5, entity_drop=0.3),
                                 printed.append)
    assert (config.adversarial, config.entity_drop) == (0.0, None)
    assert printed == ["no adversarial training with a sigmoid head",
                       "no entity drop with a sigmoid head"]
    unchanged = TrainingConfig(word_drop=0.1)
    assert sigmoid_head_config(unchanged, printed.append) == unchanged and len(printed) == 2
