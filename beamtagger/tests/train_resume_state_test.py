"""A training stopped after an epoch resumes from its state (model/train_state.py) to the result
of the run that was never stopped; another training's, another version's or a damaged state is
refused in one line; a state that cannot be written does not stop the training.

Stops are simulated in this process: the state a stop after the chosen epoch leaves is the one
the uninterrupted reference run writes then, copied aside as it is written (a second run
stopped there trained the same epochs again: a training's traces are most of its seconds);
newaudit3_train_epochs_test stops runs with KeyboardInterrupt (Ctrl-C's exception, raised once
a state is written) and train_resume_kill_test kills a real run. Results are compared exactly:
the training of the same seed in one process gives the same weights every time on
TensorFlow's CPU kernels (the resumed run is such a second run), so any difference is the
resume's.
"""
import errno
import json
import os
import pathlib
import shutil

import numpy as np
import pytest

from beamtagger.corpus_readers import Sentence
from beamtagger.errors import BeamtaggerError

pytest.importorskip("tensorflow")

TAGS = {"the": "DET", "a": "DET", "cat": "NOUN", "dog": "NOUN", "sat": "VERB", "went": "VERB",
        "home": "NOUN", "apples": "NOUN", "red": "ADJ", "green": "ADJ", "paris": "PROPN"}


def sentences(count, seed):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        tokens = tuple(rng.choice(sorted(TAGS), size=int(rng.integers(2, 12))))
        out.append(Sentence(f"s{i}", tokens, tuple(TAGS[t] for t in tokens), "x", i + 1))
    return out


@pytest.fixture(scope="module")
def tiny_store(tiny_tagger):
    """The cached tiny tagger's store: the one conftest's ``early_stop_refit_run`` trains on, so
    that its states resume here (the store's fingerprint is part of a state's)."""
    from beamtagger.embeddings.store import EmbeddingStore

    return EmbeddingStore.open(tiny_tagger.store_path)


def tiny_config(**changes):
    from beamtagger.model.training import TrainingConfig

    settings = dict(epochs=4, units=8, feature_dim=2, oov_buckets=8, char_dim=4, char_filters=4,
                    max_chars=8, batch_tokens=64, verbose=0)
    return TrainingConfig(**{**settings, **changes})


def without_seconds(report):
    """The report as training_report.json holds it, less its clock readings."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "seconds"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return strip(json.loads(json.dumps(report)))


def train(store, config, folder, aux=False, restart=False, log=None):
    from beamtagger.model.train_state import TrainingState
    from beamtagger.model.training import train_tagger

    lines = [] if log is None else log
    train_sentences = sentences(80, 1)
    aux_sentences = [Sentence(s.sent_id, s.tokens, tuple(t[:1] for t in s.tags), s.source, s.line)
                     for s in train_sentences] if aux else None
    state = TrainingState(folder, restart=restart, log=lines.append)
    model, _, report = train_tagger(train_sentences, sentences(20, 2), store, config,
                                    log=lines.append, aux_sentences=aux_sentences, state=state)
    return model.get_weights(), report


def after_the_save(monkeypatch, count, then):
    """Call ``then(state)`` once the ``count``-th state is written."""
    from beamtagger.model.train_state import TrainingState

    real_save, saved = TrainingState.save, []

    def save(self, meta, arrays):
        written = real_save(self, meta, arrays)
        saved.append(meta["epochs_done"])
        if len(saved) == count:
            then(self)
        return written

    monkeypatch.setattr(TrainingState, "save", save)


def stop_after_saves(monkeypatch, count):
    """Raise KeyboardInterrupt once the ``count``-th state is written."""
    def interrupt(state):
        raise KeyboardInterrupt

    after_the_save(monkeypatch, count, interrupt)


def copy_state_after_saves(monkeypatch, count, into):
    """Copy the state folder to ``into`` once the ``count``-th state is written: what a run
    stopped right then leaves."""
    after_the_save(monkeypatch, count, lambda state: shutil.copytree(state.folder, into))


SCENARIOS = {
    # EMA (the swap of averaged and raw weights) and adversarial steps, stopped mid-way.
    "ema_adversarial": (dict(ema=0.99, adversarial=0.5), False, 2),
    # A learning-rate decay with a restore of the best weights after epoch 4 (the rate halves
    # there), stopped before it.
    "decay_restore": (dict(learning_rate=0.3, lr_decay=0.5, decay_patience=1, patience=2,
                           decay_restore=True), False, 2),
    # Early stopping after epoch 3 (best epoch 2), stopped after that epoch's state: the resumed
    # run trains no epoch, restores the best weights and refits.
    "early_stop_refit": (dict(learning_rate=0.3, patience=1, refit=True, ema=0.9), False, 3),
    # Stopped in the refit (after its first epoch), with an auxiliary task, lower-casing and
    # word drop (streams drawn per epoch).
    "in_the_refit": (dict(refit=True, lowercase=0.3, word_drop=0.2), True, 5),
}


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_stopped_training_resumes_to_the_uninterrupted_result(scenario, tiny_store, tmp_path,
                                                                 monkeypatch, request):
    changes, aux, stop_after = SCENARIOS[scenario]
    config = tiny_config(**changes)
    folder = tmp_path / "state"
    if scenario == "early_stop_refit":   # run once for newaudit3_train_epochs_test too
        run = request.getfixturevalue("early_stop_refit_run")
        shutil.copytree(run.after_first, folder)
        expected_weights, expected_report = run.weights, run.report
    else:
        with monkeypatch.context() as patch:
            copy_state_after_saves(patch, stop_after, folder)
            expected_weights, expected_report = train(tiny_store, config, tmp_path / "once", aux)
    assert folder.is_dir()
    history = expected_report["epochs"]
    if scenario == "decay_restore":
        assert [e["learning_rate"] for e in history] == pytest.approx([0.3] * 3 + [0.15])
    if scenario == "early_stop_refit":
        assert len(history) == 3 and expected_report["refit"]["epochs"] == 2

    lines = []
    weights, report = train(tiny_store, config, folder, aux, log=lines)

    phase = "the refit" if scenario == "in_the_refit" else "the training"
    resumed = [line for line in lines if line.startswith("resuming")]
    if scenario == "early_stop_refit":
        assert resumed == [f"resuming {phase} after its last epoch (3 of 4) from the state in "
                           f"{folder}"]
    else:
        done = stop_after - 4 if phase == "the refit" else stop_after
        assert resumed == [f"resuming {phase} at epoch {done + 1} of 4 from the state in "
                           f"{folder}"]
    assert len(weights) == len(expected_weights)
    assert all(np.array_equal(a, b) for a, b in zip(weights, expected_weights))
    assert without_seconds(report) == without_seconds(expected_report)


def fingerprint(**changes):
    from beamtagger.model.train_state import training_fingerprint

    config = tiny_config(**changes.pop("config", {}))
    parts = dict(train_sentences=sentences(10, 1), dev_sentences=sentences(5, 2),
                 aux_sentences=None, store_binding={"fingerprint": "abc", "dim": 8,
                                                    "normalization": ["lower"]},
                 binary=None, tag_column="upos")
    parts.update(changes)
    return training_fingerprint(config, **parts)


def saved_state(folder, fingerprint_, epochs_done=1):
    from beamtagger.model.train_state import TrainingState

    state = TrainingState(folder, log=lambda line: None)
    assert state.resume(fingerprint_) is None
    assert state.save({"phase": "first", "epochs_done": epochs_done, "epochs_total": 4,
                       "stopped": False, "history": []}, {"model": [np.arange(3.0)]})
    return state


@pytest.mark.parametrize("changes, named", [
    ({"config": {"units": 16}}, "--units 16 (the state's run: --units 8)"),
    ({"config": {"refit": True}}, "--refit (the state's run: --no-refit)"),
    ({"config": {"viterbi": False}}, "--no-viterbi (the state's run: (no --no-viterbi))"),
    ({"train_sentences": sentences(9, 1)}, "the training corpus (--train, --limit)"),
    ({"dev_sentences": sentences(5, 3)}, "the dev corpus (--dev, --dev-sentences)"),
    ({"store_binding": {"fingerprint": "abd", "dim": 8, "normalization": ["lower"]}},
     "the embedding store (--embeddings)"),
    ({"tag_column": "xpos"}, "--tag-column"),
])
def test_another_trainings_state_is_refused_naming_what_differs(changes, named, tmp_path):
    from beamtagger.model.train_state import TrainingState

    saved_state(tmp_path / "state", fingerprint())
    with pytest.raises(BeamtaggerError) as refused:
        TrainingState(tmp_path / "state").resume(fingerprint(**changes))
    message = str(refused.value)
    assert "\n" not in message and f"it differs in {named};" in message
    assert message.endswith("add --restart to discard it and start over")
    # The same training resumes it, whatever prints it makes (--verbose is not an option of
    # the training), and --restart discards it.
    snapshot = TrainingState(tmp_path / "state").resume(fingerprint(config={"verbose": 1}))
    assert snapshot.epochs_done == 1 and snapshot.arrays["model"][0].tolist() == [0, 1, 2]
    lines = []
    state = TrainingState(tmp_path / "state", restart=True, log=lines.append)
    assert state.resume(fingerprint(**changes)) is None
    assert not (tmp_path / "state").exists()
    assert lines == [f"discarded the training state in {tmp_path / 'state'} (--restart)"]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "no_description"])
def test_a_damaged_state_is_one_line_and_restart_starts_over(damage, tmp_path):
    from beamtagger.model.train_state import TrainingState

    state = saved_state(tmp_path / "state", fingerprint())
    if damage == "garbage":
        state.path.write_bytes(b"not a state")
    elif damage == "truncated":
        state.path.write_bytes(state.path.read_bytes()[:-40])
    else:
        np.savez(state.path, **{"model/0": np.zeros(2)})
    with pytest.raises(BeamtaggerError, match=r"^the training state .*state\.npz is unreadable "
                       r"\(.+\); add --restart to discard it and start over$"):
        TrainingState(tmp_path / "state").resume(fingerprint())
    assert TrainingState(tmp_path / "state", restart=True,
                         log=lambda line: None).resume(fingerprint()) is None


def test_another_versions_state_is_refused(tmp_path, monkeypatch):
    from beamtagger.model import train_state

    saved_state(tmp_path / "state", fingerprint())
    monkeypatch.setattr(train_state, "__version__", "9.9")
    with pytest.raises(BeamtaggerError, match=r"was written by beamtagger 0\.\d+\.\d+\S*, this is "
                       r"9\.9; add --restart to discard it and start over$"):
        train_state.TrainingState(tmp_path / "state").resume(fingerprint())


def test_a_kill_while_writing_leaves_the_previous_state(tmp_path, monkeypatch):
    from beamtagger.model import train_state

    state = saved_state(tmp_path / "state", fingerprint(), epochs_done=1)

    def killed_mid_write(stream, **arrays):
        stream.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(train_state.np, "savez", killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        state.save({"phase": "first", "epochs_done": 2, "epochs_total": 4, "stopped": False,
                    "history": []}, {"model": [np.arange(3.0)]})
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == [
        "state.npz", f"state.npz.writing-{os.getpid()}"]
    snapshot = train_state.TrainingState(tmp_path / "state",
                                         log=lambda line: None).resume(fingerprint())
    assert snapshot.epochs_done == 1
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["state.npz"]


def test_a_full_disk_skips_the_states_write_and_training_goes_on(tiny_store, tmp_path,
                                                                  monkeypatch):
    from beamtagger.model import train_state

    real_savez, writes = train_state.np.savez, []

    def full_after_one(stream, **arrays):
        writes.append(1)
        if len(writes) > 1:
            stream.write(b"PK\x03\x04 some of it")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_savez(stream, **arrays)

    monkeypatch.setattr(train_state.np, "savez", full_after_one)
    lines = []
    folder = tmp_path / "state"
    _, report = train(tiny_store, tiny_config(epochs=3), folder, log=lines)
    assert len(report["epochs"]) == 3 and len(writes) == 3
    warnings = [line for line in lines if line.startswith("warning:")]
    assert warnings == [
        f"warning: could not write the training state after epoch {epoch} to {folder}: No space "
        "left on device (ENOSPC); training goes on (its state after epoch 1 is kept, a killed "
        "run resumes from there)" for epoch in (2, 3)]
    monkeypatch.undo()
    # No partial file is left, and the state kept is epoch 1's, whole.
    assert [p.name for p in folder.iterdir()] == ["state.npz"]
    meta = train_state.TrainingState(folder)._read().meta
    assert meta["epochs_done"] == 1


def test_the_state_folder_is_hidden_beside_the_model_directory(tmp_path):
    from beamtagger.model.train_state import state_folder

    assert state_folder(tmp_path / "models" / "upos") == tmp_path / "models" / ".upos.train-state"
    assert state_folder(pathlib.Path("upos/")).name == ".upos.train-state"
