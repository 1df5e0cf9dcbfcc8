"""A ``beamtagger tag`` run that loses a local worker process: one line, exit 1, no files."""
import glob
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from beamtagger.errors import JobFailed
from beamtagger.pipeline import run_failures
from beamtagger.tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "beamtagger" / "data" / "example.txt"


def reported(failure):
    """(the JobFailed line ``reported_failures`` makes of ``failure`` raised in a run, whether
    it removed the run's files)."""
    removed = []
    with pytest.raises(JobFailed) as raised, run_failures.reported_failures(
            "out/r", lambda: removed.append(True)):
        raise failure
    assert raised.value.exit_code == 1
    return str(raised.value), removed == [True]


@pytest.mark.parametrize("failure", [
    # What the FnApiRunner raises where it reads the outputs of a bundle whose worker died.
    RuntimeError("Channel closed prematurely."),
    RuntimeError("Worker subprocess exited with return code 137"),
])
def test_a_lost_worker_process_is_one_line_and_removes_this_runs_files(failure):
    line, removed = reported(failure)
    assert removed
    assert line.startswith("a worker process of the run stopped before the run was done "
                           "(killed, or out of memory); no result or error file of this run "
                           "was kept"), line


def test_a_worker_container_that_did_not_start_is_one_line():
    # --runner=PortableRunner --job_endpoint=embed without --environment_type=LOOPBACK: the
    # job service runs "docker run", and reports its failure in the failed job's text.
    failure = RuntimeError(
        "Pipeline job-1 failed in state FAILED: Traceback (most recent call last):\n  File "
        "\"x.py\", line 1, in start\nsubprocess.CalledProcessError: Command '['docker', 'run', "
        "'-d', '--network=host', 'apache/beam_python3.11_sdk:2.77.0', '--id=worker_0']' "
        "returned non-zero exit status 125.")
    with pytest.raises(JobFailed) as raised, run_failures.reported_failures("out/r",
                                                                          lambda: None):
        raise failure
    assert str(raised.value) == (
        "the runner could not start its SDK worker container (docker run "
        "apache/beam_python3.11_sdk:2.77.0 failed with exit 125); without Docker and the image, "
        "run the workers in this process with --environment_type=LOOPBACK")


def _raised_from(cause):
    try:
        raise RuntimeError("the pipeline failed") from cause
    except RuntimeError as error:
        return error


@pytest.mark.parametrize("cause, shown", [
    (socket.gaierror(-2, "Name or service not known"), "(name lookup)"),
    (ConnectionRefusedError(111, "Connection refused"), "(ECONNREFUSED)"),
])
def test_a_service_the_run_cannot_reach_is_named_as_such(cause, shown):
    # Was "the run failed in step (unknown): Name or service not known (-2)", read as a fault
    # of the input (a Dataflow submission without network).
    line = run_failures.describe(_raised_from(cause), "out/r")
    assert line.startswith("the run could not reach a service it needs: ") and shown in line
    assert "Check the network" in line


def test_other_failures_are_not_taken_for_a_lost_worker():
    assert not run_failures.worker_lost(ValueError("a bug"))
    with pytest.raises(ValueError), run_failures.reported_failures("out/r", lambda: None):
        raise ValueError("a bug")


def _fail_in_a_thread():
    thread = threading.Thread(target=lambda: 1 / 0, name="runner-thread")
    thread.start()
    thread.join()


def test_runner_thread_failures_are_held_and_dropped_when_the_run_is_one_line(monkeypatch):
    # A lost worker process fails every runner thread that talks to it; their tracebacks,
    # written at once by threading's hook, interleaved and came before the one line.
    shown = []
    monkeypatch.setattr(threading, "excepthook", shown.append)
    with pytest.raises(JobFailed), run_failures.worker_logs_held():
        _fail_in_a_thread()
        raise JobFailed("one line")
    assert shown == [] and threading.excepthook == shown.append


def test_runner_thread_failures_are_shown_when_the_run_is_not_reported_as_one_line(
        monkeypatch):
    shown = []
    monkeypatch.setattr(threading, "excepthook", shown.append)
    with pytest.raises(ValueError), run_failures.worker_logs_held():
        _fail_in_a_thread()
        assert shown == []  # held while the run lasts
        raise ValueError("a bug")
    assert [type(failure.exc_value) for failure in shown] == [ZeroDivisionError]
    with run_failures.worker_logs_held():
        _fail_in_a_thread()
    assert [failure.thread.name for failure in shown] == ["runner-thread", "runner-thread"]


def _worker_processes(parent):
    """The Python worker processes below ``parent`` (Beam starts each through a shell)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().split(b"\0")
        except OSError:
            continue
        worker = b"apache_beam.runners.worker.sdk_worker_main" in command
        if worker and b"python" in os.path.basename(command[0]):
            shell = _parent_of(pid)
            if parent in (shell, _parent_of(shell)):
                found.append(int(pid))
    return found


def _parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, TypeError):
        return None


@pytest.mark.slow
def test_a_worker_process_killed_mid_run_is_one_line_and_a_rerun_completes(tiny_tagger,
                                                                          tmp_path):
    if not os.path.isdir("/proc"):
        pytest.skip("needs /proc to find the worker processes")
    source = tmp_path / "many.txt"
    source.write_text(EXAMPLE.read_text(encoding="utf-8") * 6000, encoding="utf-8")
    prefix = str(tmp_path / "out")
    command = [sys.executable, "-m", "beamtagger", "tag", "--input", str(source),
               "--output", prefix, "--runtime", "numpy", "--model", tiny_tagger.model_dir,
               "--embeddings", tiny_tagger.store_path, "--progress-every", "0",
               "--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           cwd=REPO_ROOT)
    deadline = time.monotonic() + 120
    victim = None
    while victim is None and run.poll() is None and time.monotonic() < deadline:
        workers = _worker_processes(run.pid)
        # Once results are being written, the workers are in the middle of the run.
        if len(workers) == 2 and glob.glob(str(tmp_path / "beam-temp-out-*" / "*")):
            victim = workers[0]
            os.kill(victim, signal.SIGKILL)
        time.sleep(0.05)
    out, err = run.communicate(timeout=300)
    if victim is None:
        pytest.skip("the run ended before a worker could be killed in the middle of it")
    assert run.returncode == 1, err[-3000:]
    assert "Traceback" not in err and "Exception in thread" not in err, err[-3000:]
    assert err.strip().splitlines()[-1].startswith(
        "beamtagger tag: error: a worker process of the run stopped before the run was done")
    assert "records tagged" not in out
    assert glob.glob(prefix + "-*") == [] and glob.glob(str(tmp_path / "beam-temp-*")) == []

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "records tagged         72,000" in rerun.stdout, rerun.stdout


def test_the_start_up_warnings_of_every_local_worker_are_not_printed():
    # A multi_processing run that went well printed 4 such WARNING lines of Beam's.
    import logging

    from beamtagger.pipeline.run_failures import _HeldRecords

    def record(message, name="apache_beam.runners.portability.local_job_service",
               level=logging.WARNING):
        return logging.LogRecord(name, level, "f.py", 1, message, None, None)

    noise = ['Worker: severity: WARN message: "No semi_persistent_directory found:  User '
             'registered objects ..."',
             "Worker: severity: WARN message: \"Discarding unparseable args: [\\'--pipeline_"
             "type_check\\', \\'--direct_runner_use_stacked_bundle\\']\""]
    kept = ["Worker: severity: WARN message: \"Discarding unparseable args: [\\'--my_typo\\']\"",
            "Worker: severity: WARN message: \"Some other warning\""]
    held = _HeldRecords()
    assert [held.filter(record(m)) for m in noise + kept] == [False, False, True, True]
    assert held.filter(record(noise[0], name="root")) is True   # only the job service's


def test_prism_that_cannot_be_downloaded_is_one_line_naming_the_way_round(
        monkeypatch, tiny_tagger, tmp_path, capsys):
    # Beam's own PrismRunner, which downloads Prism's binary from GitHub on its first run;
    # the download fails as it does offline. Before, this read "the run could not reach a
    # service it needs: Name or service not known", with no word of Prism.
    from urllib.error import URLError

    from apache_beam.runners.portability import prism_runner

    from beamtagger.pipeline import cli

    def offline(url, *args, **kwargs):
        raise URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))

    monkeypatch.delattr(prism_runner.PrismRunner, "run_pipeline")   # conftest's stand-in
    monkeypatch.setattr(prism_runner.PrismJobServer, "BIN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(prism_runner, "urlopen", offline)
    prefix = str(tmp_path / "tagged")
    code = cli.main(["tag", "--progress-every", "0", "--input", str(EXAMPLE), "--output",
                     prefix, "--model", tiny_tagger.model_dir, "--embeddings",
                     tiny_tagger.store_path, "--runner=PrismRunner"])
    err = capsys.readouterr().err
    assert code == 1
    line, = [line for line in err.splitlines() if line.startswith("beamtagger tag: error:")]
    assert line.startswith("beamtagger tag: error: --runner=PrismRunner could not start Prism: "
                           "Unable to fetch remote prism binary at https://"), line
    assert line.endswith("Give a Prism binary with --prism_location=PATH, or leave out "
                         "--runner to run on Beam's in-process runner"), line
    assert glob.glob(prefix + "*") == []
