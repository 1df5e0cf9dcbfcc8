"""Two ``beamtagger train`` runs into one ``--out`` at the same time: the second is refused in
one line while the first holds the output (``output_lock``), as ``tag`` refuses a second run
on its prefix. Unheld, the second read the first's training state, resumed from it, and both
rewrote it epoch after epoch."""
import os
import subprocess
import time

import pytest

from beamtagger.tests.train_resume_kill_test import command, write_conllu

pytest.importorskip("tensorflow")


def test_a_second_training_into_the_same_out_is_refused(tiny_tagger, tmp_path, capsys):
    from beamtagger.model.train_state import TrainingState, state_folder
    from beamtagger.pipeline import cli

    train = write_conllu(tmp_path / "train.conllu", 1500, 1)
    dev = write_conllu(tmp_path / "dev.conllu", 100, 2)
    out = tmp_path / "model"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
         os.environ.get("PYTHONPATH", "")])}
    first = subprocess.Popen(command(train, dev, tiny_tagger.store_path, out), env=environment,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        # Once its first epoch's state is written: the second run would resume from it.
        while first.poll() is None and time.monotonic() < deadline and not (
                state_folder(out) / "state.npz").exists():
            time.sleep(0.02)
        assert first.poll() is None, "the first run ended too soon: make its epochs longer"
        epochs_done = TrainingState(state_folder(out))._read().epochs_done
        code = cli.main(command(train, dev, tiny_tagger.store_path, out)[3:])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
        assert (f"error: --out {out} is being written by another beamtagger train run; wait "
                "until it ends, or choose another model directory") in err
        # The refused run neither resumed nor discarded the first's state.
        assert TrainingState(state_folder(out))._read().epochs_done >= epochs_done
        _, stderr = first.communicate(timeout=600)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == 0, stderr[-2000:]
    assert (out / "training_report.json").exists()
    assert sorted(os.listdir(tmp_path)) == ["dev.conllu", "model", "train.conllu"]


def test_a_training_killed_outright_does_not_hold_its_out(tiny_tagger, tmp_path, capsys):
    """The kernel releases a killed run's lock: the folder it leaves blocks nothing."""
    from beamtagger.pipeline import cli

    train = write_conllu(tmp_path / "train.conllu", 60, 1)
    dev = write_conllu(tmp_path / "dev.conllu", 20, 2)
    (tmp_path / ".m.train-lock").mkdir()
    code = cli.main(command(train, dev, tiny_tagger.store_path, tmp_path / "m")[3:])
    assert code == 0, capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["dev.conllu", "m", "train.conllu"]
