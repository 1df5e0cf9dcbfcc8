"""A machine's limits reached by a run (memory, threads, open files): one line that names the
limit, never a traceback, and no file of the failed run left."""
import builtins
import errno
import json
import re

import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline import local_runner, run_failures
from beamtagger.tests.run_failures_test import reported
from beamtagger.tests.env_paths_and_streams_test import (_beamtagger, _one_line_refusal,
                                                         _tiny_options)
from beamtagger.transforms.reading.file_lines import FileLines


@pytest.mark.parametrize("failure", [
    # What Beam raised, with a traceback, under `ulimit -v 2000000` (the numpy runtime): its
    # text sink starts a thread pool to finalize the shards.
    RuntimeError("can't start new thread [while running 'WriteResults/WriteText/FinalizeWrite']"),
    MemoryError(),
])
def test_a_run_out_of_memory_or_threads_is_one_line_and_removes_its_files(failure):
    line, removed = reported(failure)
    assert removed
    assert line.startswith("the run ran out of memory or threads"), line
    assert "ulimit -v" in line and "no result or error file of this run was kept" in line
    assert "\n" not in line


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


def _open_files_limited(soft, hard):
    return f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))"


def test_too_few_open_files_for_the_workers_asked_is_refused_before_launch(tiny_tagger, text_in,
                                                                           tmp_path):
    # `ulimit -n 20` (soft and hard) with 4 worker processes (or 24 with 2): 20 s of gRPC's
    # "File descriptor limit reached. Retrying.", then "a worker process ... stopped (killed,
    # or out of memory) ... Run the same command again", exit 1.
    def refusal(limit):
        done = _beamtagger("tag", "--input", str(text_in), "--output",
                           str(tmp_path / "out" / "r"), *_tiny_options(tiny_tagger),
                           "--direct_running_mode=multi_processing", "--direct_num_workers=4",
                           child_setup=_open_files_limited(limit, limit))
        err = _one_line_refusal(done)
        assert err.startswith("beamtagger tag: error: too many open files for 4 worker "
                              "processes"), err
        assert "ulimit -n" in err, err
        assert not list((tmp_path / "out").glob("r*"))
        return err

    # How many descriptors the process holds when it checks differs between venvs and releases
    # (8 here, 9 with IPython 8.0, one more where the stderr filter's stand-in watches its
    # relay; two are the run's holds on its pinned model and store), and a fixed limit that left
    # room for one worker on one of them left none on the next. The first refusal says what
    # the run needs for 4 workers; a limit with room for 2 of them (and 2 to spare either way)
    # must then be met with the advice of 2.
    needed = int(re.search(r"needs about (\d+) open", refusal(23)).group(1))
    per_worker = local_runner._DESCRIPTORS_PER_WORKER
    err = refusal(needed - 4 * per_worker + 2 * per_worker + 2)
    assert "--direct_num_workers=2" in err, err


def test_a_soft_limit_too_low_for_the_workers_is_raised_to_what_they_need(tiny_tagger, text_in,
                                                                          tmp_path):
    # `ulimit -Sn 16`: the hard limit allows what the workers need, so the run raises its own.
    done = _beamtagger("tag", "--input", str(text_in), "--output", str(tmp_path / "out" / "r"),
                       *_tiny_options(tiny_tagger), "--direct_running_mode=multi_processing",
                       "--direct_num_workers=2",
                       child_setup=_open_files_limited(16, 4096))
    assert done.returncode == 0, done.stderr
    (results,) = (tmp_path / "out").glob("r-0*.jsonl")
    assert [json.loads(line)["id"] for line in results.read_text().splitlines()] == [
        "in.txt:1", "in.txt:2"]


def test_a_store_opened_with_too_few_file_descriptors_is_not_called_damaged(tiny_tagger):
    # `ulimit -n 6`: "vectors.npy: unreadable or truncated matrix: [Errno 24] Too many open
    # files", which sent the user to import a whole store again.
    done = _beamtagger("embeddings", "info", tiny_tagger.store_path,
                       child_setup=_open_files_limited(6, 6))
    err = done.stderr.decode()
    assert done.returncode != 0 and len(err.strip().splitlines()) == 1, err
    assert "too many open files (EMFILE)" in err and "ulimit -n" in err
    assert "truncated" not in err and "damaged" not in err and "unreadable" not in err


def test_an_input_file_opened_with_too_few_file_descriptors_fails_the_run(tmp_path):
    # Its records were dead letters ("the file is damaged before its first line") of a run
    # that exited 0; the error now fails the run, which run_failures words as below.
    def no_descriptor_left():
        raise OSError(errno.EMFILE, "Too many open files")

    with pytest.raises(OSError) as raised:
        list(FileLines(tmp_path / "in.txt", no_descriptor_left))
    assert raised.value.errno == errno.EMFILE
    line = run_failures.describe(RuntimeError(
        "OSError: [Errno 24] Too many open files [while running 'ReadRecords/Read']"), "out/r")
    assert "ulimit -n" in line and "Fix the cause" not in line
