"""``beamtagger train`` killed for real (SIGKILL, as the OOM killer or a preempted VM) after an
epoch's state is written: a rerun of the same command resumes there and writes the model and
report an uninterrupted run writes; a rerun with another flag is refused in one line.

While the uninterrupted run trains, a second run into its ``--out`` is refused in one line
(``output_lock``, newaudit3_train_lock_test's concern): that run is the one such a check needs,
and a training of its own cost CI about 25 s."""
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from beamtagger.tests.train_resume_state_test import sentences, without_seconds

pytest.importorskip("tensorflow")


def write_conllu(path, count, seed):
    blocks = []
    for sentence in sentences(count, seed):
        blocks.append("".join(f"{i}\t{token}\t_\t{tag}\t_\t_\t_\t_\t_\t_\n"
                              for i, (token, tag) in enumerate(zip(sentence.tokens,
                                                                   sentence.tags), 1)))
    path.write_text("\n".join(blocks) + "\n", encoding="utf-8")
    return str(path)


# Without the tags preset's adversarial step (train_resume_state_test resumes one): each of
# the three runs traced its second graph, 15 s of a run's 45 to its first epoch's state on a
# busy machine, and its epochs took 2 s against 1. Two more epochs keep the time left after the
# first epoch's state, in which the second run is refused and the kill lands, at 5 s.
EPOCHS = 6


def command(train, dev, store, out, *extra):
    return [sys.executable, "-m", "beamtagger", "train", "--train", train, "--dev", dev,
            "--embeddings", store, "--out", str(out), "--epochs", str(EPOCHS), "--units", "8",
            "--char-filters", "4", "--char-dim", "4", "--max-chars", "8", "--oov-buckets", "8",
            "--batch-tokens", "256", "--seed", "3", "--adversarial", "0", *extra]


def model_arrays(model_dir):
    import h5py

    with zipfile.ZipFile(model_dir / "tagger.keras") as archive:
        archive.extract("model.weights.h5", model_dir.parent / f"{model_dir.name}-weights")
    arrays = {}
    with h5py.File(model_dir.parent / f"{model_dir.name}-weights" / "model.weights.h5") as h5:
        h5.visititems(lambda name, item: arrays.__setitem__(name, item[()])
                      if isinstance(item, h5py.Dataset) else None)
    return arrays


def training_environment():
    """The environment of a ``beamtagger train`` child: this checkout first on its path."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
         os.environ.get("PYTHONPATH", "")])}


def refuse_a_second_run_while_the_first_trains(first, train, dev, store, out, capsys):
    """Once ``first`` (training into ``out``) has written its first epoch's state, from which a
    second run would resume: a second run into ``out`` is refused in one line."""
    from beamtagger.model.train_state import TrainingState, state_folder
    from beamtagger.pipeline import cli

    deadline = time.monotonic() + 300
    while first.poll() is None and time.monotonic() < deadline and not (
            state_folder(out) / "state.npz").exists():
        time.sleep(0.02)
    assert first.poll() is None, "the first run ended too soon: make its epochs longer"
    epochs_done = TrainingState(state_folder(out))._read().epochs_done
    code = cli.main(command(train, dev, store, out)[3:])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert (f"error: --out {out} is being written by another beamtagger train run; wait "
            "until it ends, or choose another model directory") in err
    # The refused run neither resumed nor discarded the first's state.
    assert TrainingState(state_folder(out))._read().epochs_done >= epochs_done


@pytest.mark.slow
def test_a_second_run_is_refused_and_a_killed_run_resumes_to_the_uninterrupted_model(
        tiny_tagger, tmp_path, capsys):
    from beamtagger.model.train_state import TrainingState, state_folder
    from beamtagger.pipeline import cli

    train = write_conllu(tmp_path / "train.conllu", 1500, 1)
    dev = write_conllu(tmp_path / "dev.conllu", 100, 2)
    store = tiny_tagger.store_path
    environment = training_environment()

    first = subprocess.Popen(command(train, dev, store, tmp_path / "once"), env=environment,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        refuse_a_second_run_while_the_first_trains(first, train, dev, store, tmp_path / "once",
                                                   capsys)
        _, stderr = first.communicate(timeout=600)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == 0, stderr[-2000:]
    assert (tmp_path / "once" / "training_report.json").exists()
    assert sorted(os.listdir(tmp_path)) == ["dev.conllu", "once", "train.conllu"]

    out = tmp_path / "model"
    folder = state_folder(out)
    killed = subprocess.Popen(command(train, dev, store, out), env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = None
    try:
        deadline = time.monotonic() + 300
        while killed.poll() is None and time.monotonic() < deadline:
            if (folder / "state.npz").exists():
                done = TrainingState(folder)._read().epochs_done
                if done >= 1:
                    break
            time.sleep(0.02)
        killed.send_signal(signal.SIGKILL)
    finally:
        killed.kill()
        killed.wait()
    assert killed.returncode == -signal.SIGKILL and done is not None and done < EPOCHS, (
        "the run ended before the kill: make its epochs longer")
    assert not out.exists()

    # Another flag: refused in one line before any training, the state left as it was.
    code = cli.main(command(train, dev, store, out, "--units", "16")[3:])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and "Traceback" not in err
    assert (f"error: the training state in {folder} is another training's: it differs in "
            "--units 16 (the state's run: --units 8); rerun the command that wrote it to resume "
            "it, or add --restart to discard it and start over") in err
    assert (folder / "state.npz").exists()

    resumed = subprocess.run(command(train, dev, store, out), env=environment,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # The kill may land after a later epoch's state was written; the resume line names it.
    lines = [line for line in resumed.stdout.splitlines() if line.startswith("resuming")]
    assert len(lines) == 1 and lines[0].startswith("resuming the training at epoch ")
    assert lines[0].endswith(f" of {EPOCHS} from the state in {folder}")
    assert int(lines[0].split()[5]) >= done + 1
    assert not folder.exists()

    expected, got = model_arrays(tmp_path / "once"), model_arrays(out)
    assert sorted(got) == sorted(expected)
    assert all(np.array_equal(got[name], expected[name]) for name in expected)
    report = json.loads((out / "training_report.json").read_text())
    assert without_seconds(report) == without_seconds(
        json.loads((tmp_path / "once" / "training_report.json").read_text()))


def test_a_diverged_training_discards_its_state(tiny_tagger, tmp_path, capsys, monkeypatch):
    """Resumed, the same command would diverge again, and a lower --learning-rate is another
    training that the kept state would refuse: the state goes with the failed run."""
    from beamtagger.model import training
    from beamtagger.model.train_state import state_folder
    from beamtagger.pipeline import cli

    states_seen = []

    def diverge_in_epoch_2(callback, epoch, logs=None):
        if epoch == 1:
            states_seen.append(state_folder(tmp_path / "m").exists())
            raise training.TrainingDiverged("training diverged: the loss was nan in epoch 2")

    monkeypatch.setattr(training.StopOnNonFiniteLoss, "on_epoch_end", diverge_in_epoch_2)
    train = write_conllu(tmp_path / "train.conllu", 60, 1)
    dev = write_conllu(tmp_path / "dev.conllu", 20, 2)
    code = cli.main(command(train, dev, tiny_tagger.store_path, tmp_path / "m")[3:])
    err = capsys.readouterr().err
    assert code == 1 and "training diverged" in err and "Traceback" not in err, err
    assert states_seen == [True]   # epoch 1's state was there when epoch 2 diverged
    assert not state_folder(tmp_path / "m").exists() and not (tmp_path / "m").exists()
