"""A flag tagger's --outside-weight W is the weight of its positive class inverted: the loss
train minimises with W on the 'no' tokens equals the loss with 1/W on the 'yes' tokens (the
loss is divided by the tokens' summed weight), so train has no second flag for it, and its
--help says so."""
import argparse

import numpy as np
import pytest

from beamtagger.pipeline.train_command import add_arguments

pytest.importorskip("tensorflow")


def test_outside_weight_w_trains_as_a_yes_weight_of_one_over_w():
    import keras

    from beamtagger.model.training import outside_label_weights, tagger_loss

    rng = np.random.default_rng(0)
    targets = (rng.random((3, 7)) < 0.2).astype("int32")    # 1: yes
    probabilities = rng.uniform(0.05, 0.95, (3, 7, 1)).astype("float32")
    padding = np.ones((3, 7), dtype="float32")
    padding[1, 5:] = 0
    loss = tagger_loss("sigmoid")
    weights = outside_label_weights(["no", "yes"], "sigmoid", 0.1)
    assert weights.tolist() == pytest.approx([0.1, 1.0])
    as_trained = loss(targets[..., None], probabilities, padding * weights[targets])
    yes_weighted = loss(targets[..., None], probabilities,
                        padding * np.array([1.0, 10.0], dtype="float32")[targets])
    unweighted = loss(targets[..., None], probabilities, padding)
    assert float(keras.ops.convert_to_numpy(as_trained)) == pytest.approx(
        float(keras.ops.convert_to_numpy(yes_weighted)), rel=1e-6)
    assert float(keras.ops.convert_to_numpy(as_trained)) != pytest.approx(
        float(keras.ops.convert_to_numpy(unweighted)), rel=1e-3)


def test_help_says_what_outside_weight_is_to_a_flag_tagger():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    text = " ".join(next(action.help for action in parser._actions
                         if action.dest == "outside_weight").split())
    assert ("a flag tagger (--binary-label): the 'no' tokens' weight against 'yes' at 1, the "
            "same training as a 'yes' weight of 1/W") in text
    assert "below 1 trades precision for recall" in text
