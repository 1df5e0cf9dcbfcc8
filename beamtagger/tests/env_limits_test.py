"""A machine's limits reached by a run (memory, threads): one line that names the limit, never
a traceback, and no file of the failed run left."""
import builtins

import pytest

from beamtagger.errors import BeamtaggerError, JobFailed
from beamtagger.pipeline import run_failures


@pytest.mark.parametrize("failure", [
    # What Beam raised, with a traceback, under `ulimit -v 2000000` (the numpy runtime): its
    # text sink starts a thread pool to finalize the shards.
    RuntimeError("can't start new thread [while running 'WriteResults/WriteText/FinalizeWrite']"),
    MemoryError(),
])
def test_a_run_out_of_memory_or_threads_is_one_line_and_removes_its_files(failure):
    removed = []
    with pytest.raises(JobFailed) as raised, run_failures.reported_failures(
            "out/r", lambda: removed.append(True)):
        raise failure
    assert removed == [True]
    line = str(raised.value)
    assert line.startswith("the run ran out of memory or threads"), line
    assert "ulimit -v" in line and "no result or error file of this run was kept" in line
    assert "\n" not in line and raised.value.exit_code == 1


def test_tensorflow_that_does_not_fit_the_memory_left_is_not_called_missing(monkeypatch):
    # `ulimit -v 2500000`: the loader cannot map TensorFlow's library, and the advice was to
    # install beamtagger[cpu], which was installed.
    from beamtagger import tensorflow_setup

    real_import = builtins.__import__

    def no_memory_for_tensorflow(name, *args, **kwargs):
        if name == "tensorflow":
            raise ImportError("libtensorflow_cc.so.2: failed to map segment from shared object")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_memory_for_tensorflow)
    with pytest.raises(BeamtaggerError) as raised:
        tensorflow_setup.configure_tensorflow()
    assert "too little memory" in str(raised.value) and "ulimit -v" in str(raised.value)
    assert "install" not in str(raised.value)
