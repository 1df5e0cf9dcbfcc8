"""What makes a training repeatable (docs/training.md, "Reproducibility"): the weights depend on
TensorFlow's intra-op thread count, so ``train --threads N`` sets it, is refused where it cannot
take effect, and training_report.json records the count a training ran on.

That the same seed trains the same weights twice on one count is what train_resume_state_test
compares exactly (a resumed run is a second training of the same seed); that the count, not the
cores or the load, decides was measured with whole trainings in new processes (too slow here:
TensorFlow's count is set once a process), as the docs give.
"""
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.model import training_threads
from beamtagger.pipeline import cli


@pytest.mark.parametrize("count", ["0", "5000"])
def test_a_thread_count_out_of_range_is_refused_before_any_data_is_read(count, tmp_path,
                                                                         capsys):
    code = cli.main(["train", "--train", str(tmp_path / "train.conllu"), "--dev",
                     str(tmp_path / "dev.conllu"), "--out", str(tmp_path / "m"),
                     "--threads", count])
    err = capsys.readouterr().err
    assert code == 2 and f"--threads must be in [1, 4096], not {count}" in err, err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "m").exists()


def test_a_count_tensorflow_can_no_longer_take_is_refused_not_ignored():
    tf = pytest.importorskip("tensorflow")
    float(tf.reduce_sum(tf.ones([2])))   # TensorFlow runs: its thread pools are made
    running = tf.config.threading.get_intra_op_parallelism_threads()
    other = running + 1 if running else 4096
    with pytest.raises(BeamtaggerError, match=f"--threads {other}: TensorFlow already runs in "
                       "this process with .* train in a new process"):
        training_threads.set_training_threads(other)
    assert tf.config.threading.get_intra_op_parallelism_threads() == running


def test_the_count_without_threads_is_the_one_tensorflow_takes(monkeypatch):
    import os

    monkeypatch.setitem(__import__("sys").modules, "tensorflow", None)   # not running here
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "3")
    assert training_threads.set_training_threads(None) == 3
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert training_threads.set_training_threads(None) == cores


def test_a_state_resumed_on_another_thread_count_is_refused_naming_it(tmp_path):
    import numpy as np

    from beamtagger.model.train_state import TrainingState

    fingerprint = {"train": "t", "dev": "d", "aux": None, "store": {}, "binary": None,
                   "tag_column": None, "options": {"seed": 1, "epochs": 4}}
    first = TrainingState(tmp_path / "state", threads=2)
    assert first.resume(fingerprint) is None
    assert first.save({"phase": "first", "epochs_done": 1, "epochs_total": 4, "stopped": False,
                       "history": []}, {"model": [np.arange(3.0)]})
    with pytest.raises(BeamtaggerError, match=r"it differs in --threads 1 \(the state's run: "
                       r"--threads 2\)"):
        TrainingState(tmp_path / "state", threads=1).resume(fingerprint)
    assert TrainingState(tmp_path / "state", threads=2).resume(fingerprint).epochs_done == 1


def test_train_gives_the_state_the_count_it_trains_on(ewt_slices, subset_store, tmp_path,
                                                      monkeypatch):
    from beamtagger.model import train_state, training

    counts = []

    class Recorded(train_state.TrainingState):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            counts.append(self.threads)

    def stopped(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_state, "TrainingState", Recorded)
    monkeypatch.setattr(training, "train_tagger", stopped)
    monkeypatch.setattr(training_threads, "set_training_threads", lambda threads: threads or 7)
    for extra, count in (([], 7), (["--threads", "3"], 3)):
        train, dev = ewt_slices
        cli.main(["train", "--train", train, "--dev", dev, "--embeddings", subset_store,
                  "--out", str(tmp_path / "m"), "--epochs", "1", *extra])   # "interrupted"
        assert counts.pop() == count


def test_a_state_that_recorded_no_thread_count_is_refused_in_words(tmp_path):
    # A state saved before train recorded the count (the same version number, 0.1.0): the
    # line read "--threads 2 (the state's run: --threads None)", a flag no command takes.
    from beamtagger.model.train_state import describe_difference

    assert describe_difference({"options": {"seed": 1}},
                               {"options": {"seed": 1, "threads": 2}}) == (
        "--threads 2 (the state's run recorded no --threads: an earlier beamtagger's)")
