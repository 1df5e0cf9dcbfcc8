"""The CLI's stderr filter loses no line: a process of its own reads the pipe on fd 2, so what a
command wrote before it died without unwinding (TensorFlow's abort during its import on a CPU
without the instructions it was built for, SIGKILL, ``os._exit``) reaches the user."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from beamtagger.stderr_relay import HOLD, RELEASE, Relay, marker
from beamtagger.tests.conftest import prepared_child

TENSORFLOWS_LAST_WORDS = (b"The TensorFlow library was compiled to use AVX instructions, but "
                          b"these aren't available on your machine.\n")
NOISE = (b"WARNING: All log messages before absl::InitializeLog() is called are written to "
         b"STDERR\nI0000 00:00:1796135673.859686   11650 port.cc:153] oneDNN custom operations "
         b"are on. You may see slightly different numerical results\n")


def _run(script, *args, child_setup=None, **options):
    command = [sys.executable, "-c", textwrap.dedent(script), *args]
    if child_setup is not None:
        command = prepared_child(command, child_setup)
    return subprocess.run(command, timeout=60, **{"capture_output": True, **options})


DYING = """
    import os, signal, sys
    from beamtagger.tensorflow_setup import filtered_native_stderr
    with filtered_native_stderr():
        os.write(2, {noise!r} + {line!r} + b"and a line not ended")
        death = sys.argv[1]
        if death == "abort":
            os.abort()
        elif death == "exit":
            os._exit(3)
        os.kill(os.getpid(), signal.SIGKILL)
    """


@pytest.mark.parametrize("death, status", [("abort", -signal.SIGABRT), ("exit", 3),
                                           ("kill", -signal.SIGKILL)])
def test_the_last_lines_of_a_process_that_dies_without_unwinding_are_written(death, status):
    # The thread that read the pipe died with the process: TensorFlow's one line before its
    # abort never showed (exit 134, nothing on stderr, 5 of 5 runs).
    done = _run(DYING.format(noise=NOISE, line=TENSORFLOWS_LAST_WORDS), death)
    assert done.returncode == status
    assert done.stderr == TENSORFLOWS_LAST_WORDS + b"and a line not ended"


HELD_THEN_DEAD = """
    import os
    from beamtagger.tensorflow_setup import filtered_native_stderr, held_tracebacks
    with filtered_native_stderr():
        os.write(2, b"before\\n")
        with held_tracebacks() as hold:
            os.write(2, b"Traceback (most recent call last):\\n  File \\"/w.py\\", line 1\\n"
                        b"ValueError: the worker's\\n")
            os.write(2, b"not a traceback\\n")
            os.abort()
    """


def test_a_traceback_held_when_the_process_dies_is_written():
    # No one-line report came to stand for it.
    done = _run(HELD_THEN_DEAD)
    assert done.returncode == -signal.SIGABRT
    assert done.stderr.decode() == ("before\nnot a traceback\nTraceback (most recent call "
                                    "last):\n  File \"/w.py\", line 1\nValueError: the worker's\n")


ORDERED = """
    import os, subprocess, sys
    from beamtagger.tensorflow_setup import filtered_native_stderr, held_tracebacks
    with filtered_native_stderr():
        os.write(2, {noise!r})
        # A worker process writes into the same pipe: 64 pipes' worth, more than the pipe holds.
        subprocess.run([sys.executable, "-c", "import os\\nfor n in range(40000): "
                        "os.write(2, b'worker %05d ' % n + b'.' * 90 + b'\\\\n')"], check=True)
        with held_tracebacks() as hold:
            os.write(2, b"Traceback (most recent call last):\\n  File \\"/w.py\\", line 1\\n"
                        b"ValueError: dropped\\n")
            hold.drop()
        with held_tracebacks():
            os.write(2, b"Traceback (most recent call last):\\nKeyError: kept\\n")
        os.write(2, b"progress 50%\\r")
    print("the command's last line", file=sys.stderr)
    """


def test_noise_is_dropped_and_the_commands_last_line_comes_after_everything_before_it():
    done = _run(ORDERED.format(noise=NOISE))
    assert done.returncode == 0
    expected = b"".join(b"worker %05d " % n + b"." * 90 + b"\n" for n in range(40000))
    assert done.stderr == (expected + b"Traceback (most recent call last):\nKeyError: kept\n"
                           b"progress 50%\rthe command's last line\n")


OUTLIVED = """
    import subprocess, sys, time
    from beamtagger.tensorflow_setup import filtered_native_stderr
    with filtered_native_stderr():
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                  stdout=subprocess.DEVNULL)
        print(worker.pid, flush=True)
        print("written", file=sys.stderr)
    print("ended", file=sys.stderr)
    """


def test_a_worker_process_that_outlives_the_command_does_not_hold_its_end():
    started = time.monotonic()
    done = _run(OUTLIVED)
    took = time.monotonic() - started
    os.kill(int(done.stdout), signal.SIGKILL)
    assert done.returncode == 0
    assert done.stderr == b"written\nended\n"
    assert took < 30, took


def test_the_real_case_tensorflow_aborting_at_its_import_in_tag(tiny_tagger, text_in, tmp_path):
    # What TensorFlow's import does on a CPU without AVX: its one line, then abort().
    shim = tmp_path / "shim" / "tensorflow"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(f"import os\nos.write(2, {TENSORFLOWS_LAST_WORDS!r})\n"
                                      "os.abort()\n")
    done = subprocess.run(
        [sys.executable, "-m", "beamtagger", "tag", "--input", str(text_in), "--output",
         str(tmp_path / "out" / "r"), "--model", tiny_tagger.model_dir, "--embeddings",
         tiny_tagger.store_path, "--runtime", "tensorflow", "--progress-every", "0"],
        capture_output=True, timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(tmp_path / "shim"), *filter(None, [os.environ.get("PYTHONPATH")])])})
    assert done.returncode == -signal.SIGABRT, done.stderr[-3000:]
    assert TENSORFLOWS_LAST_WORDS in done.stderr


def test_a_marker_cut_across_two_reads_still_applies():
    # A write of up to PIPE_BUF bytes stays whole in the pipe, but a read may end inside it.
    token = b"0123456789abcdef"
    stream = (b"half a li" + marker(token, HOLD) + b"ne\nTraceback (most recent call last):\n"
              b"KeyError: k\n" + marker(token, RELEASE) + b"after\n")
    for cut in range(1, len(stream)):
        written = []
        relay = Relay(token, written.append)
        relay.feed(stream[:cut])
        relay.feed(stream[cut:])
        relay.finish()
        assert b"".join(written) == (b"half a line\nTraceback (most recent call last):\n"
                                     b"KeyError: k\nafter\n"), cut


UNFILTERED = """
    import os, sys
    from beamtagger.tensorflow_setup import filtered_native_stderr
    with filtered_native_stderr():
        if sys.argv[1] == "stderr":
            os.write(2, {noise!r})
        print("ran", flush=True)
    """


def test_the_filter_is_off_where_asked_and_where_there_is_no_stderr():
    shown = _run(UNFILTERED.format(noise=NOISE), "stderr",
                 env={**os.environ, "BEAMTAGGER_TENSORFLOW_LOGS": "1"})
    assert shown.returncode == 0 and shown.stderr == NOISE
    # An embedding application with fd 2 closed: the command runs, unfiltered.
    closed = _run(UNFILTERED.format(noise=NOISE), "none", child_setup="os.close(2)")
    assert closed.returncode == 0 and closed.stdout == b"ran\n"
