"""A stopped training resumed with another --epochs: its epochs done are the first ones of the
new command's run (no epoch depends on the total), so it goes on to the new bound and ends
with the uninterrupted run's weights and report; where they are not (past the new bound, a
refit chosen by a first training that ran to its old bound) it is refused in one line."""
import numpy as np
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.tests.train_resume_state_test import (fingerprint, saved_state,
                                                      stop_after_saves, tiny_config, train,
                                                      without_seconds)

pytest.importorskip("tensorflow")


@pytest.mark.slow
@pytest.mark.parametrize("changes, stop_after, epochs, resumed_line", [
    # Stopped after epoch 2 of 3, resumed to 5.
    (dict(ema=0.99, epochs=3), 2, 5, "resuming the training at epoch 3 of 5"),
    # Finished its 3 epochs (killed while saving), extended to 4; with EMA, whose last epoch's
    # state must keep the raw weights that epoch 4 trains on (the averages are in the model).
    (dict(epochs=3, ema=0.99), 3, 4, "resuming the training at epoch 4 of 4"),
    # Early-stopped after epoch 3 (--patience 1) and stopped in the refit's first epoch: a run
    # of --epochs 6 stops there too and refits the same 2 epochs.
    (dict(learning_rate=0.3, patience=1, refit=True, ema=0.9, epochs=4), 4, 6,
     "resuming the refit at epoch 2 of 2"),
])
def test_a_resumed_run_goes_on_to_a_new_epochs_bound(changes, stop_after, epochs, resumed_line,
                                                     tiny_tagger, tmp_path, monkeypatch):
    from beamtagger.embeddings.store import EmbeddingStore

    tiny_store = EmbeddingStore.open(tiny_tagger.store_path)
    longer = tiny_config(**{**changes, "epochs": epochs})
    expected_weights, expected_report = train(tiny_store, longer, tmp_path / "once")
    folder = tmp_path / "state"
    with monkeypatch.context() as patch:
        stop_after_saves(patch, stop_after)
        with pytest.raises(KeyboardInterrupt):
            train(tiny_store, tiny_config(**changes), folder)
    lines = []
    weights, report = train(tiny_store, longer, folder, log=lines)
    assert [line for line in lines if line.startswith(("resuming", "--epochs"))] == [
        f"--epochs {epochs} (the state's run: --epochs {changes['epochs']}): its epochs done "
        "are the first of this run's", f"{resumed_line} from the state in {folder}"]
    assert all(np.array_equal(a, b) for a, b in zip(weights, expected_weights))
    assert without_seconds(report) == without_seconds(expected_report)


def test_a_state_past_the_new_bound_is_refused(tmp_path):
    from beamtagger.model.train_state import TrainingState

    saved_state(tmp_path / "state", fingerprint(), epochs_done=3)
    with pytest.raises(BeamtaggerError) as refused:
        TrainingState(tmp_path / "state").resume(fingerprint(config={"epochs": 2}))
    assert str(refused.value) == (
        f"the training state in {tmp_path / 'state'} is of a run of --epochs 4: it has trained "
        "3 epochs, more than --epochs 2; rerun with --epochs 4 to resume it, or add --restart "
        "to discard it and start over")
    # Other differences are named as before, --epochs among them.
    with pytest.raises(BeamtaggerError, match=r"differs in --epochs 2 \(the state's run: "
                                              r"--epochs 4\), --units 16"):
        TrainingState(tmp_path / "state").resume(fingerprint(config={"epochs": 2, "units": 16}))


def test_a_refit_after_a_first_training_that_ran_to_its_bound_is_refused(tmp_path):
    from beamtagger.model.train_state import TrainingState

    state = TrainingState(tmp_path / "state", log=lambda line: None)
    assert state.resume(fingerprint()) is None
    first_report = {"epochs": [{"epoch": i} for i in range(1, 5)], "config": {"epochs": 4}}
    assert state.save({"phase": "refit", "epochs_done": 1, "epochs_total": 3, "stopped": False,
                       "history": [], "first_report": first_report}, {"model": [np.arange(3.)]})
    with pytest.raises(BeamtaggerError) as refused:
        TrainingState(tmp_path / "state").resume(fingerprint(config={"epochs": 8}))
    assert "its refit trains the best of the first training's 4 epochs, which --epochs 8 " \
           "would not have ended at; rerun with --epochs 4" in str(refused.value)
