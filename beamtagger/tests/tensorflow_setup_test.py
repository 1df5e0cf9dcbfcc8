"""TensorFlow's native start-up lines are dropped from the CLI's stderr; nothing else is."""
import subprocess
import sys

SCRIPT = r'''
import os, sys
from beamtagger.tensorflow_setup import filtered_native_stderr
with filtered_native_stderr():
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written "
                b"to STDERR\n")
    os.write(2, b"I0000 00:00:1796135673.859686   11650 port.cc:153] oneDNN custom operations "
                b"are on. You may see slightly different numerical results\n")
    os.write(2, b"kept 1\nE0000 00:00:1796135680.254145   11650 util.cc:131] oneDNN supports "
                b"DT_BOOL only on platforms with AVX-512.\n")
    os.write(2, b"E0000 00:00:1.5   7 other.cc:1] a real error\n")
    print("kept 2", file=sys.stderr, flush=True)
    os.write(2, b"progress 50%\r")
    os.write(2, b"no newline at the end")
print("after", file=sys.stderr)
'''


def test_native_start_up_lines_are_dropped_and_everything_else_kept():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, timeout=60)
    assert result.returncode == 0
    assert result.stderr.decode() == ("kept 1\nE0000 00:00:1.5   7 other.cc:1] a real error\n"
                                      "kept 2\nprogress 50%\rno newline at the endafter\n")


def run_python(script, **env):
    import os
    import textwrap

    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **env})


def test_the_tensorflow_runtime_runs_whatever_keras_backend_the_environment_names(tiny_tagger):
    """KERAS_BACKEND=jax in the user's environment made the tensorflow runtime (the default
    for inputs over 1 MB) fail inside JAX with a traceback; it runs on Keras' TensorFlow
    backend, and where Keras already runs on another in the process, one line says so."""
    script = f"""
        import numpy as np
        from beamtagger.errors import BeamtaggerError
        from beamtagger.model import runtimes
        from beamtagger.model.model_inputs import ModelInputs
        if {{keras_first}}:
            import keras
        try:
            runner = runtimes.load_runner("tensorflow", {tiny_tagger.model_dir!r})
        except BeamtaggerError as error:
            print("refused:", error)
            raise SystemExit(0)
        reference = runtimes.load_runner("numpy", {tiny_tagger.model_dir!r})
        inputs = ModelInputs.zeros(runner.spec.input_dims, [3, 5])
        inputs.vectors[:] = np.random.default_rng(0).normal(size=inputs.vectors.shape)
        got, expected = runner.predict(inputs), reference.predict(inputs)
        real = np.arange(5)[None, :] < inputs.lengths[:, None]
        np.testing.assert_allclose(got[real], expected[real], atol=2e-5)
        import keras
        print("ran on", keras.backend.backend())
        """
    done = run_python(script.format(keras_first=False), KERAS_BACKEND="jax")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[-1] == "ran on tensorflow"
    done = run_python(script.format(keras_first=True), KERAS_BACKEND="numpy")
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = done.stdout.splitlines()
    assert line.startswith("refused: Keras runs on its numpy backend in this process")


HELD_SCRIPT = r'''
import os, sys, time
from beamtagger.tensorflow_setup import filtered_native_stderr, held_tracebacks
# Two worker processes hit by the same Ctrl-C write their tracebacks into the pipe at once:
# their lines interleave.
A = [b"Traceback (most recent call last):", b'  File "/a.py", line 1, in wait',
     b"    gotit = waiter.acquire(True, timeout)", b"            ^^^^^^^^^^^^^",
     b"KeyboardInterrupt"]
B = [b"Traceback (most recent call last):", b'  File "/b.py", line 9, in run',
     b"    self._target()", b"grpc.RpcError"]
lines = [A[0], B[0], A[1], B[1], B[2], B[3], A[2], A[3], A[4], b"", b"kept"]
with filtered_native_stderr():
    with held_tracebacks() as hold:
        for line in lines:
            os.write(2, line + b"\n")
        time.sleep(0.5)  # the filter's thread reads the pipe
        if sys.argv[1] == "drop":
            hold.drop()
'''


def test_interleaved_tracebacks_are_held_whole():
    # Ctrl-C with --direct_running_mode=multi_processing printed the lines of one worker's
    # traceback that came after another worker's last line, above "beamtagger: interrupted".
    dropped = subprocess.run([sys.executable, "-c", HELD_SCRIPT, "drop"], capture_output=True,
                             timeout=60)
    assert dropped.returncode == 0
    assert dropped.stderr.decode() == "kept\n"
    shown = subprocess.run([sys.executable, "-c", HELD_SCRIPT, "keep"], capture_output=True,
                           timeout=60)
    assert sorted(shown.stderr.decode().splitlines()) == sorted(
        line.decode() for line in (
            b"Traceback (most recent call last):", b'  File "/b.py", line 9, in run',
            b"Traceback (most recent call last):", b'  File "/a.py", line 1, in wait',
            b"    self._target()", b"grpc.RpcError", b"    gotit = waiter.acquire(True, timeout)",
            b"            ^^^^^^^^^^^^^", b"KeyboardInterrupt", b"", b"kept"))
