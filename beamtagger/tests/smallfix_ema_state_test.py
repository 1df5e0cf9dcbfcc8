"""A training state written before 2026-12-06 (ddb36c8) by an --ema run after its last epoch
holds the averaged weights where the raw ones should be: resumed with a larger --epochs it
would train on from the averages, a model other than the command's uninterrupted one. Such a
state is refused in one line; every other old state resumes as before."""
import json

import numpy as np
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.tests.train_resume_state_test import fingerprint

pytest.importorskip("tensorflow")


def state_written(folder, config, epochs_done, stopped=False, old=False):
    """The state of a first training after ``epochs_done`` epochs of ``config``'s, as the code
    of today writes it, or (``old``) as the code before ddb36c8 did."""
    from beamtagger.model.train_state import TrainingState

    state = TrainingState(folder, log=lambda line: None)
    assert state.resume(fingerprint(config=config)) is None
    assert state.save({"phase": "first", "epochs_done": epochs_done,
                       "epochs_total": config["epochs"], "stopped": stopped, "history": []},
                      {"model": [np.arange(3.0)]})
    if old:
        # The old TrainingState.save wrote {format, beamtagger, fingerprint, **meta} with the
        # same meta keys (KeepTrainingState.on_epoch_end is unchanged) and arrays; today's
        # adds one key after those, so the description without it is the old one, key for
        # key in the same order, and the arrays are the same.
        with np.load(state.path) as stored:
            arrays = {name: stored[name] for name in stored.files}
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        assert meta.pop("last_epoch_keeps_raw_weights") is True
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        with open(state.path, "wb") as stream:
            np.savez(stream, **arrays)
    return folder


def resumed(folder, config):
    from beamtagger.model.train_state import TrainingState

    lines = []
    snapshot = TrainingState(folder, log=lines.append).resume(fingerprint(config=config))
    return snapshot, lines


def test_an_old_ema_state_of_a_finished_run_is_not_extended(tmp_path):
    folder = state_written(tmp_path / "state", {"ema": 0.99, "epochs": 3}, 3, old=True)
    with pytest.raises(BeamtaggerError) as refused:
        resumed(folder, {"ema": 0.99, "epochs": 4})
    message = str(refused.value)
    assert "\n" not in message
    assert message == (
        f"the training state in {folder} is of an --ema run that finished its --epochs 3, "
        "written by a beamtagger of before 2026-12-06 that kept the averaged weights in place "
        "of the raw ones the next epochs train on; rerun with --epochs 3 to end that run, or "
        "add --restart to discard it and start over")


@pytest.mark.parametrize("config, epochs_done, stopped, epochs, resumed_line", [
    # Resumed with the same --epochs: no epoch trains from it, the model is its averages.
    ({"ema": 0.99, "epochs": 3}, 3, False, 3, "resuming the training after its last epoch"),
    # An unfinished run: Keras's swap copied the averages only at the fit's last epoch.
    ({"ema": 0.99, "epochs": 3}, 2, False, 5, "resuming the training at epoch 3 of 5"),
    # Without --ema there are no averages.
    ({"epochs": 3}, 3, False, 4, "resuming the training at epoch 4 of 4"),
    # Early-stopped at its last epoch: a longer run stops there too and trains no more.
    ({"ema": 0.99, "epochs": 3, "patience": 1}, 3, True, 4,
     "resuming the training after its last epoch"),
])
def test_other_old_states_resume_as_before(config, epochs_done, stopped, epochs, resumed_line,
                                           tmp_path):
    folder = state_written(tmp_path / "state", config, epochs_done, stopped, old=True)
    snapshot, lines = resumed(folder, {**config, "epochs": epochs})
    assert snapshot.epochs_done == epochs_done
    assert lines[-1].startswith(resumed_line), lines


def test_a_new_ema_state_of_a_finished_run_is_extended(tmp_path):
    folder = state_written(tmp_path / "state", {"ema": 0.99, "epochs": 3}, 3)
    snapshot, lines = resumed(folder, {"ema": 0.99, "epochs": 4})
    assert snapshot.meta["last_epoch_keeps_raw_weights"] is True
    assert lines[-1].startswith("resuming the training at epoch 4 of 4"), lines
