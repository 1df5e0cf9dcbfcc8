"""With --ema, the model a training without dev ends with (the refit's) is the averaged one, as
the epoch the first training chose was (docs/training.md, "Refit")."""
import numpy as np
import pytest

pytest.importorskip("tensorflow")


def _fit(callbacks, use_ema=True):
    """A small Dense model fitted 2 epochs of 4 steps with Adam (EMA momentum 0.5): its weights."""
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.1, use_ema=use_ema, ema_momentum=0.5),
                  loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    model.fit(x, x[:, :2] * 3.0, batch_size=2, epochs=2, shuffle=False, verbose=0,
              callbacks=callbacks)
    return model.get_weights()


def test_the_swap_ends_fit_with_the_averaged_weights_as_keras_own_ema_does():
    """Keras's Adam(use_ema=True) alone ends ``fit`` with the averages; the swap, which puts
    them in the model at each epoch's end, must end with them too, not with the raw weights
    (it did: ``fit`` copied the optimizer's slots, the raw weights since the swap, over the
    model before ``on_train_end``)."""
    from beamtagger.model.training import ResumableSwapEMAWeights

    averaged, raw = _fit([]), _fit([], use_ema=False)
    assert not np.allclose(averaged[0], raw[0], atol=1e-3)   # the averages are not the raw ones
    for swapped, expected in zip(_fit([ResumableSwapEMAWeights()]), averaged):
        np.testing.assert_allclose(swapped, expected, atol=1e-6)
