"""Keeping TensorFlow's log lines out of what a user reads, and setting TensorFlow up for the tag
stage (``configure_tensorflow``).

``quiet_tensorflow()`` must run before TensorFlow is imported (in the CLI and in every worker
process): it turns off TensorFlow's own INFO and WARNING lines.

TensorFlow 2.20 also writes start-up lines through absl before any of its settings apply
("WARNING: All log messages before absl::InitializeLog() ...", "oneDNN custom operations are
on ...", and on CPUs without AVX-512 an "E0000 ... oneDNN supports DT_BOOL only ..." when the
tagger first runs); no environment variable silences them (TF_CPP_MIN_LOG_LEVEL=3,
GLOG_minloglevel and ABSL_MIN_LOG_LEVEL were tried). ``filtered_native_stderr()`` puts a pipe
in front of file descriptor 2 for the time of a command and drops exactly those lines; every
other byte goes through, and a line with a carriage return (a progress bar) right away.

The same pipe serves ``held_tracebacks()``: Beam's worker processes (``multi_processing``) print
a failing step's Python traceback straight to their stderr, which is this pipe; while held,
such tracebacks wait, and are dropped when the failure is reported as one line instead
(``pipeline/run_failures.py``), else written out when the hold ends.
"""
import contextlib
import logging
import os
import re
import sys
import threading

_NATIVE_NOISE = re.compile(
    rb"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|^[IWE]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] (?:oneDNN |This TensorFlow binary is optimized"
    rb"|Unable to register cu(?:DNN|FFT|BLAS) factory|computation placer already registered"
    rb"|TF-TRT Warning)")


# The dynamic loader's words where a library does not fit the memory left (ENOMEM).
_NO_MEMORY_TO_LOAD = re.compile(r"failed to map segment from shared object|cannot allocate memory",
                                re.IGNORECASE)

_TRACEBACK_START = b"Traceback (most recent call last):"
_TRACEBACK_CONTINUES = (b"During handling of the above exception",
                        b"The above exception was the direct cause")
_FRAME = b'  File "'
# A traceback's last line: an exception's (dotted) name, alone or before ": message".
_EXCEPTION_LINE = re.compile(rb"(?:[A-Za-z_]\w*\.)*(?=[A-Z])\w*(?:Error|Exception|Interrupt|Exit|"
                             rb"Iteration|Empty|Full)(?::\s|\Z)")
_hold_lock = threading.Lock()
_hold = None            # the _HeldTracebacks of the command running, if any
_original_stderr = None  # fd 2 as it was before the pipe, while filtered_native_stderr runs


class _HeldTracebacks:
    def __init__(self):
        self.lines = []
        self.inside = False
        self.ended = False   # a traceback just ended: the blank lines after it go with it
        self.dropped = False

    def take(self, line):
        """True when ``line`` belongs to a traceback and is held."""
        stripped = line.rstrip(b"\r\n")
        if stripped.endswith(_TRACEBACK_START) or stripped.startswith(_TRACEBACK_CONTINUES):
            self.inside = True
        elif not self.inside:
            if self.ended and _EXCEPTION_LINE.match(stripped):
                pass  # the last line of another traceback interleaved with the one just ended
            elif self.ended and (stripped[:1].isspace() or stripped.startswith(_FRAME)):
                # The tracebacks of several processes (or threads) failing at once interleave
                # line by line: another one's last line ended this one, which goes on.
                self.inside = True
            elif not (self.ended and not stripped):
                self.ended = False
                return False
        elif stripped and not stripped[:1].isspace():
            self.inside = False   # the exception's own line ends the traceback
            self.ended = True
        self.lines.append(line)
        return True

    def drop(self):
        """Discards what was held (the failure was reported another way)."""
        self.dropped = True


@contextlib.contextmanager
def held_tracebacks():
    """Holds Python tracebacks that reach fd 2 (child processes' too) while the body runs; the
    yielded hold's ``drop()`` discards them, else they are written when the body ends."""
    global _hold
    hold = _HeldTracebacks()
    with _hold_lock:
        active = _original_stderr is not None and _hold is None
        if active:
            _hold = hold
    try:
        yield hold
    finally:
        if active:
            sys.stderr.flush()
            with _hold_lock:
                _hold = None
                if not hold.dropped:
                    _write_all(_original_stderr, b"".join(hold.lines))


def quiet_tensorflow():
    """TensorFlow's INFO/WARNING lines off (a level the user set is kept); call before import."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def configure_tensorflow(threads=None):
    """Grow GPU memory on demand, and use ``threads`` CPU threads if given; must run before
    TensorFlow first runs an op in this process (the tensorflow runtime's set-up,
    ``model.runtimes``)."""
    from beamtagger.errors import BeamtaggerError

    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    use_keras_tensorflow_backend()
    quiet_tensorflow()
    try:
        import tensorflow as tf
    except ImportError as error:
        if _NO_MEMORY_TO_LOAD.search(str(error)):
            # Installed, but its libraries did not fit the address space left: the
            # advice to install it sent users to reinstall what they had (ulimit -v 2500000).
            raise BeamtaggerError(f"TensorFlow cannot be loaded here ({error}): the process "
                                  "has too little memory for it (a limit such as ulimit -v); "
                                  "raise the limit, or use runtime=\"numpy\"") from None
        raise BeamtaggerError(f"TensorFlow cannot be imported here ({error}): install "
                              "beamtagger[cpu] or [gpu], or use runtime=\"numpy\"") from None
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            logging.warning("TensorFlow already runs in this process: the tagger keeps its "
                            "threads, not the %d asked for", threads)
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # already initialised in this process; TF_FORCE_GPU_ALLOW_GROWTH covers it


def use_keras_tensorflow_backend():
    """Keras on its TensorFlow backend, which the tensorflow runtime runs the model with.

    Keras picks its backend once per process, when first imported, from ``KERAS_BACKEND`` or
    ``~/.keras/keras.json``: a user's ``KERAS_BACKEND=jax`` made the tensorflow runtime (the
    default for inputs over ``runtime_choice.SMALL_INPUT_BYTES``) fail inside JAX with a
    traceback. Where Keras is not imported yet, its backend is set to TensorFlow for this
    process; where it already runs on another, a BeamtaggerError says so (the numpy and jax
    runtimes need no Keras)."""
    from beamtagger.errors import BeamtaggerError

    keras = sys.modules.get("keras")
    if keras is None:
        os.environ["KERAS_BACKEND"] = "tensorflow"
        return
    try:
        backend = keras.backend.backend()
    except AttributeError:   # a partly imported Keras: its import sets the backend later
        return
    if backend != "tensorflow":
        raise BeamtaggerError(
            f"Keras runs on its {backend} backend in this process (KERAS_BACKEND or "
            f"~/.keras/keras.json), and the tensorflow runtime needs its TensorFlow backend: "
            f"use runtime \"numpy\" or \"jax\" (--runtime), or import beamtagger's tagger "
            f"before Keras")


@contextlib.contextmanager
def filtered_native_stderr():
    """Drops TensorFlow's native start-up lines from fd 2 (this process and its children)."""
    if os.environ.get("BEAMTAGGER_TENSORFLOW_LOGS"):
        yield
        return
    try:
        sys.stderr.flush()
        original = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
    except (OSError, ValueError, AttributeError):
        yield  # no file descriptor 2 to filter (an embedding application)
        return
    global _original_stderr
    _original_stderr = original
    pump = threading.Thread(target=_pump, args=(read_end, original), daemon=True,
                            name="beamtagger-stderr-filter")
    pump.start()
    try:
        yield
    finally:
        _original_stderr = None
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(original, 2)  # the pipe's last writer in this process goes away
        pump.join(timeout=2)
        os.close(original)


def _pump(read_end, original):
    pending = b""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            chunk = pipe.read(1 << 16)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            with _hold_lock:
                out = b"".join(line + b"\n" for line in lines if not _NATIVE_NOISE.search(line)
                               and not (_hold is not None and _hold.take(line + b"\n")))
            if b"\r" in pending:  # a progress bar redrawing its line: pass it on now
                out, pending = out + pending, b""
            if out:
                _write_all(original, out)
    if pending and not _NATIVE_NOISE.search(pending):
        _write_all(original, pending)


def _write_all(fd, data):
    while data:
        try:
            data = data[os.write(fd, data):]
        except OSError:
            return
