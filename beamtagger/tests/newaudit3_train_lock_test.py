"""Two ``beamtagger train`` runs into one ``--out`` at the same time: the second is refused in
one line while the first holds the output (``output_lock``), as ``tag`` refuses a second run
on its prefix. Unheld, the second read the first's training state, resumed from it, and both
rewrote it epoch after epoch.

The refusal of a second run while a first trains is checked in train_resume_kill_test, during
its uninterrupted training (refuse_a_second_run_while_the_first_trains): a training of its own
here cost CI about 25 s."""
import os

import pytest

from beamtagger.tests.train_resume_kill_test import command, write_conllu

pytest.importorskip("tensorflow")


def test_a_training_killed_outright_does_not_hold_its_out(tiny_tagger, tmp_path, capsys):
    """The kernel releases a killed run's lock: the folder it leaves blocks nothing."""
    from beamtagger.pipeline import cli

    train = write_conllu(tmp_path / "train.conllu", 60, 1)
    dev = write_conllu(tmp_path / "dev.conllu", 20, 2)
    (tmp_path / ".m.train-lock").mkdir()
    code = cli.main(command(train, dev, tiny_tagger.store_path, tmp_path / "m")[3:])
    assert code == 0, capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["dev.conllu", "m", "train.conllu"]
