"""A stopped training resumed with another --epochs: its epochs done are the first ones of the
new command's run (no epoch depends on the total), so it goes on to the new bound and ends
with the uninterrupted run's weights and report; where they are not (past the new bound, a
refit chosen by a first training that ran to its old bound) it is refused in one line."""
import numpy as np
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.tests.train_resume_state_test import (SCENARIOS, copy_state_after_saves,
                                                      fingerprint, saved_state,
                                                      stop_after_saves, tiny_config, train,
                                                      without_seconds)

pytest.importorskip("tensorflow")


def resume_to(tiny_store, changes, epochs, folder, resumed_line, expected=None):
    """Resumes the state in ``folder`` (of a run of ``changes``) with ``--epochs epochs``: the
    lines that say so, and the weights and report equal to an uninterrupted run of that bound
    (``expected``, that run's (weights, report), where already trained). Returns them."""
    longer = tiny_config(**{**changes, "epochs": epochs})
    if expected is None:
        expected = train(tiny_store, longer, folder.parent / "once")
    expected_weights, expected_report = expected
    lines = []
    weights, report = train(tiny_store, longer, folder, log=lines)
    assert [line for line in lines if line.startswith(("resuming", "--epochs"))] == [
        f"--epochs {epochs} (the state's run: --epochs {changes['epochs']}): its epochs done "
        "are the first of this run's", f"{resumed_line} from the state in {folder}"]
    assert all(np.array_equal(a, b) for a, b in zip(weights, expected_weights))
    assert without_seconds(report) == without_seconds(expected_report)
    return expected


@pytest.mark.slow
def test_a_stopped_and_a_finished_run_go_on_to_a_new_epochs_bound(tiny_tagger, tmp_path,
                                                                 monkeypatch):
    """One run of --epochs 3 with EMA, stopped after its last epoch's state (killed while
    saving; its last state must keep the raw weights that epoch 4 trains on, the averages being
    in the model), its state after epoch 2 copied aside as it was written (what a run stopped
    there leaves, train_resume_state_test's way): both resumed to 5. One stopped run and one
    uninterrupted run of 5 for both: a training's traces are most of its seconds (the finished
    run was resumed to 4 against a run of 4 of its own before)."""
    from beamtagger.embeddings.store import EmbeddingStore

    tiny_store = EmbeddingStore.open(tiny_tagger.store_path)
    changes = dict(ema=0.99, epochs=3)
    after_two, after_three = tmp_path / "two" / "state", tmp_path / "three" / "state"
    with monkeypatch.context() as patch:
        copy_state_after_saves(patch, 2, after_two)
        stop_after_saves(patch, 3)
        with pytest.raises(KeyboardInterrupt):
            train(tiny_store, tiny_config(**changes), after_three)
    once = resume_to(tiny_store, changes, 5, after_two, "resuming the training at epoch 3 of 5")
    resume_to(tiny_store, changes, 5, after_three, "resuming the training at epoch 4 of 5", once)


@pytest.mark.slow
def test_a_run_stopped_in_its_refit_goes_on_to_a_new_epochs_bound(tiny_tagger, tmp_path,
                                                                 early_stop_refit_run):
    """Early-stopped after epoch 3 (--patience 1) and stopped in the refit's first epoch: a run
    of --epochs 6 stops there too and refits the same 2 epochs. The stopped run is conftest's
    ``early_stop_refit_run`` (train_resume_state_test's reference run of the same training),
    its state copied as the refit's first epoch wrote it."""
    import shutil

    from beamtagger.embeddings.store import EmbeddingStore

    tiny_store = EmbeddingStore.open(tiny_tagger.store_path)
    changes = dict(learning_rate=0.3, patience=1, refit=True, ema=0.9, epochs=4)
    assert tiny_config(**changes) == tiny_config(**SCENARIOS["early_stop_refit"][0])
    folder = tmp_path / "state"
    shutil.copytree(early_stop_refit_run.in_refit, folder)
    resume_to(tiny_store, changes, 6, folder, "resuming the refit at epoch 2 of 2")


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
