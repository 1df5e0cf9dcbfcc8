"""``train_tagger(..., threads=N)``: the Python training API takes the thread count that
``beamtagger train --threads N`` takes (docs/training.md, "Reproducibility"), with the same
default and meaning, records it in the report (``"threads"``) and gives it to its training
state, which refuses a resume on another count.

TensorFlow's count is set once a process: these tests train with the count this process runs
on (none given) and check that another is refused; that the count decides the weights was
measured with whole trainings in new processes (training_threads' docstring).
"""
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.model import training_threads

pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def store(tiny_tagger):
    from beamtagger.embeddings.store import EmbeddingStore

    return EmbeddingStore.open(tiny_tagger.store_path)


def _train(store, folder, **options):
    from beamtagger.model.train_state import TrainingState
    from beamtagger.model.training import train_tagger
    from beamtagger.tests.train_resume_state_test import sentences, tiny_config

    state = options.pop("state", None) or TrainingState(folder, log=lambda line: None)
    # No character CNN, one batch: the training's traces are most of its seconds.
    _, _, report = train_tagger(sentences(12, 1), sentences(4, 2), store,
                                tiny_config(epochs=1, char_dim=0, batch_tokens=1024),
                                log=lambda line: None, state=state, **options)
    return report, state


def test_train_tagger_records_the_count_it_trains_on_in_its_report_and_state(store, tmp_path):
    from beamtagger.model.train_state import TrainingState

    # Before: no "threads" in the report, and a state the Python API saved held no count, so a
    # resume on another machine's (another default) went on with other weights.
    report, state = _train(store, tmp_path / "state")
    count = training_threads.set_training_threads(None)   # what this process runs on
    assert report["threads"] == count
    # The state on disk holds it: the same training resumed on another count is refused.
    fingerprint = dict(state.fingerprint)
    fingerprint["options"] = {name: value for name, value in fingerprint["options"].items()
                              if name != "threads"}
    with pytest.raises(BeamtaggerError, match=rf"it differs in --threads {count + 1} \(the "
                       rf"state's run: --threads {count}\)"):
        TrainingState(tmp_path / "state", threads=count + 1).resume(fingerprint)


def test_a_count_tensorflow_can_no_longer_take_is_refused_before_training(store, tmp_path):
    import tensorflow as tf

    float(tf.reduce_sum(tf.ones([2])))   # TensorFlow runs: its thread pools are made
    running = tf.config.threading.get_intra_op_parallelism_threads()
    other = running + 1 if running else 4096
    with pytest.raises(BeamtaggerError, match=f"^threads={other}: TensorFlow already runs in "
                       "this process with .* train in a new process$"):
        _train(store, tmp_path / "state", threads=other)
    assert not (tmp_path / "state").exists()   # refused before its first epoch


@pytest.mark.parametrize("threads", [0, 4097, 1.5, True, "2"])
def test_a_count_out_of_the_clis_range_is_refused_naming_threads(threads, store, tmp_path):
    # train --threads takes 1 to 4,096.
    with pytest.raises(ValueError, match="^threads must be a whole number of TensorFlow "
                       "threads from 1 to 4,096, not "):
        _train(store, tmp_path / "state", threads=threads)


def test_a_state_made_for_another_count_is_refused(store, tmp_path):
    from beamtagger.model.train_state import TrainingState

    count = training_threads.set_training_threads(None)
    state = TrainingState(tmp_path / "state", threads=count + 1)
    with pytest.raises(BeamtaggerError, match=f"state {tmp_path / 'state'} is for "
                       f"{count + 1} thread.*this training runs on {count}"):
        _train(store, tmp_path / "state", state=state)


def test_a_state_made_for_another_count_is_refused_before_the_count_is_set(
        store, tmp_path, monkeypatch):
    from beamtagger.model.train_state import TrainingState

    # Before, threads=3 was set in TensorFlow and then refused for the state's 2: the process
    # kept 3 threads for good, so the same call with threads=2 could no longer run here.
    set_counts = []
    monkeypatch.setattr(training_threads, "set_training_threads",
                        lambda threads, **options: set_counts.append(threads) or threads)
    state = TrainingState(tmp_path / "state", threads=2)
    with pytest.raises(BeamtaggerError, match="is for 2 thread.*this training runs on 3"):
        _train(store, tmp_path / "state", state=state, threads=3)
    assert set_counts == []
