"""Keeping TensorFlow's log lines out of what a user reads, and setting TensorFlow up for the tag
stage (``configure_tensorflow``).

``quiet_tensorflow()`` must run before TensorFlow is imported (in the CLI and in every worker
process): it turns off TensorFlow's own INFO and WARNING lines.

TensorFlow 2.20 also writes start-up lines through absl before any of its settings apply
("WARNING: All log messages before absl::InitializeLog() ...", "oneDNN custom operations are
on ...", and on CPUs without AVX-512 an "E0000 ... oneDNN supports DT_BOOL only ..." when the
tagger first runs); no environment variable silences them (TF_CPP_MIN_LOG_LEVEL=3,
GLOG_minloglevel and ABSL_MIN_LOG_LEVEL were tried). ``filtered_native_stderr()`` puts a pipe
in front of file descriptor 2 for the time of a command, read by a process of its own
(``stderr_relay``, which says why not a thread), that drops exactly those lines; every other
byte goes through, a line with a carriage return (a progress bar) right away, and the last
lines of a command that dies without unwinding (TensorFlow's abort) too.

The same pipe serves ``held_tracebacks()``: Beam's worker processes (``multi_processing``) print
a failing step's Python traceback straight to their stderr, which is this pipe; while held,
such tracebacks wait, and are dropped when the failure is reported as one line instead
(``pipeline/run_failures.py``), else written out when the hold ends or the command dies.
"""
import contextlib
import logging
import os
import re
import select
import signal
import sys
import threading
import time

from beamtagger import stderr_relay

# The dynamic loader's words where a library does not fit the memory left (ENOMEM).
_NO_MEMORY_TO_LOAD = re.compile(r"failed to map segment from shared object|cannot allocate memory",
                                re.IGNORECASE)

# The relay is a module of this package run as a script of its own, found on a path added after
# the standard library's (none of its names may hide a standard module), so that its compiled
# form in __pycache__ serves it.
_RELAY_CODE = ("import sys; sys.path.append(sys.argv[1]); import stderr_relay; "
               "stderr_relay.main(sys.argv[1:])")
# How long a command's end waits for the relay to write what came before it.
_RELAY_END_SECONDS = 2
_hold_lock = threading.Lock()
# A logger of its own, not the root one (as jax_setup's): logging.warning() on the root logger
# sets a handler up there, and the application's own logging.basicConfig() after it did nothing.
_logger = logging.getLogger(__name__)
_relay_token = None   # the markers' token of the relay reading fd 2, while one runs
# Whether the original fd 2 is a terminal, while the relay's pipe stands in front of it.
_original_stderr_terminal = None
_holding = False      # whether the relay holds tracebacks for a held_tracebacks() now


class _Hold:
    def __init__(self):
        self.dropped = False

    def drop(self):
        """Discards what was held (the failure was reported another way)."""
        self.dropped = True


@contextlib.contextmanager
def held_tracebacks():
    """Holds Python tracebacks that reach fd 2 (child processes' too) while the body runs; the
    yielded hold's ``drop()`` discards them, else they are written when the body ends (or when
    this process dies while they are held)."""
    global _holding
    hold = _Hold()
    with _hold_lock:
        token = _relay_token if not _holding else None
        _holding = _holding or token is not None
    if token is not None:
        _tell_relay(token, stderr_relay.HOLD)
    try:
        yield hold
    finally:
        if token is not None:
            _tell_relay(token, stderr_relay.DROP if hold.dropped else stderr_relay.RELEASE)
            with _hold_lock:
                _holding = False


def quiet_tensorflow():
    """TensorFlow's INFO/WARNING lines off (a level the user set is kept); call before import."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def keras_home_outside_the_working_directory():
    """``KERAS_HOME`` set to Keras 3's own fallback, ``/tmp/.keras``, where this process has no
    home directory (HOME unset and a user id with no entry in the password database, as
    ``docker run --user 12345`` with ``env -i`` gives) and the user set none. TensorFlow's
    import reads its legacy Keras settings from ``os.path.expanduser("~")``, which is ``"~"``
    then, and made a folder ``~/.keras`` in the working directory of every such run (TensorFlow
    2.21, ``tensorflow/python/keras/backend.py``); Keras 3 falls back to ``/tmp`` there itself.
    Call before TensorFlow is imported."""
    if "KERAS_HOME" not in os.environ and os.path.expanduser("~") == "~":
        os.environ["KERAS_HOME"] = os.path.join("/tmp", ".keras")


def configure_tensorflow(threads=None):
    """Grow GPU memory on demand, and use ``threads`` CPU threads if given; must run before
    TensorFlow first runs an op in this process (the tensorflow runtime's set-up,
    ``model.runtimes``)."""
    from beamtagger.errors import BeamtaggerError
    from beamtagger.temporary_folder import checked_temporary_folder

    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    use_keras_tensorflow_backend()
    quiet_tensorflow()
    keras_home_outside_the_working_directory()
    if "tensorflow" not in sys.modules:
        # Its import fails without one, as a FileNotFoundError from inside absl's test module.
        checked_temporary_folder("TensorFlow")
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
            _logger.warning("TensorFlow already runs in this process: the tagger keeps its "
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
    # A frozen application's sys.executable is the application, not an interpreter to run the
    # relay with.
    if (os.environ.get("BEAMTAGGER_TENSORFLOW_LOGS") or os.name != "posix"
            or getattr(sys, "frozen", False)):
        yield
        return
    started = _start_relay()
    if started is None:
        yield  # no file descriptor 2 to filter (an embedding application), or no process
        return
    global _relay_token, _original_stderr_terminal
    relay, original, token, stand_in = started
    _relay_token = token
    _original_stderr_terminal = os.isatty(original)
    try:
        yield
    finally:
        _original_stderr_terminal = None
        with _hold_lock:
            _relay_token = None
        _tell_relay(token, stderr_relay.END)
        os.dup2(original, 2)  # this process's last writer of the pipe goes away
        os.close(original)
        # The caller's own last lines (the one-line error) go straight to the original fd 2:
        # after what the relay has. It ends at the END marker, worker processes still holding
        # the pipe or not.
        reaped = _reaped_within(relay, _RELAY_END_SECONDS)
        if stand_in is not None:
            stand_in.finish(reaped)


def stderr_is_terminal() -> bool:
    """Whether what this process writes to stderr reaches a terminal: the original fd 2's,
    while ``filtered_native_stderr`` runs, since ``sys.stderr`` is then the relay's pipe and
    says False on any terminal (``embeddings import`` never drew its progress bar)."""
    if _original_stderr_terminal is not None:
        return _original_stderr_terminal
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError, OSError):   # None (closed at start), or closed since
        return False


def _start_relay():
    """The relay process (``stderr_relay``) reading a pipe that is now fd 2, the original
    fd 2, and the markers' token; None where that cannot be.

    A new interpreter, not a fork of this one: a fork took over this process's threads' locks
    (held by threads that are not there) and its inheritable descriptors, and pytest or a
    notebook call ``main()`` from a process with threads running. Starting it costs this
    process 0.3 ms (posix_spawn; a fork 0.4 ms, then 2,200 more page faults copying what the
    command went on to touch, measured over a tag run's next imports); the interpreter's start,
    12-14 ms of CPU (``re``'s import the most of it), runs beside the command, whose first
    writes wait in the pipe meanwhile. Its own process group: a Ctrl-C at the terminal stops
    the command, whose last lines still come through it. SIGTTOU blocked in it: that group is
    not the terminal's foreground one, and with ``stty tostop`` the terminal stopped it at its
    first write, so every line of the command was lost and its end waited 2 s
    (``review28_stderr_relay_test``).

    The read end stays open here too, watched by a ``_StandIn`` where ``os.waitid`` can wait
    for the relay's exit without reaping it: a relay that dies before the command's end (its
    interpreter failed to start, the OOM killer) made every later write to stderr a
    BrokenPipeError (a warning's print raised it, and the command ended in its traceback); the
    pipe is then read and filtered by a thread here, which, like the thread before the relay,
    cannot show the last lines of a death without unwinding."""
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    try:
        original = os.dup(2)
    except OSError:
        return None
    token = os.urandom(8).hex().encode("ascii")
    try:
        read_end, write_end = os.pipe()
    except OSError:
        os.close(original)
        return None
    try:
        relay = os.posix_spawn(
            sys.executable, [sys.executable, "-I", "-S", "-c", _RELAY_CODE,
                             os.path.dirname(os.path.abspath(stderr_relay.__file__)),
                             token.decode("ascii"), str(os.getpid())], os.environ,
            file_actions=[(os.POSIX_SPAWN_DUP2, read_end, 0),
                          (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                          (os.POSIX_SPAWN_DUP2, original, 2)], setpgroup=0,
            setsigmask={signal.SIGTTOU})
    except (OSError, ValueError):   # no interpreter to start (sys.executable ""), no process
        for descriptor in (original, read_end, write_end):
            os.close(descriptor)
        return None
    stand_in = _StandIn.start(relay, token, read_end, original)
    if stand_in is None:
        os.close(read_end)
    os.dup2(write_end, 2)
    os.close(write_end)
    return relay, original, token, stand_in


class _StandIn:
    """Reads the stderr pipe in this process where the relay exits before the command's END
    (its exit status not 0): the pipe's read end is held here, so a write to fd 2 never meets
    a pipe without a reader (EPIPE), and what is written after the relay's death still reaches
    the original stderr, filtered as the relay filters it (``stderr_relay.run``)."""

    def __init__(self, relay, token, read_end, out):
        self._relay, self._token = relay, token
        self._read_end, self._out = read_end, out
        self._lock = threading.Lock()
        self._finished = self._reaped = self._exited = False
        self._thread = threading.Thread(target=self._watch, name="beamtagger-stderr-stand-in",
                                        daemon=True)

    @classmethod
    def start(cls, relay, token, read_end, original):
        """A started stand-in, or None where it cannot watch (no ``os.waitid``: macOS)."""
        if not hasattr(os, "waitid"):
            return None
        try:
            out = os.dup(original)
        except OSError:
            return None
        stand_in = cls(relay, token, read_end, out)
        try:
            stand_in._thread.start()
        except RuntimeError:   # no thread to start
            os.close(out)
            return None
        return stand_in

    def _watch(self):
        try:
            try:
                # WNOWAIT: the command's end reaps it (_reaped_within), as without a stand-in.
                exited = os.waitid(os.P_PID, self._relay, os.WEXITED | os.WNOWAIT)
            except ChildProcessError:
                exited = None
            # Exit status 0 is the relay's end at the END marker (the pipe's end cannot come
            # first: this process's fd 2 writes into it until then).
            if exited is not None and (exited.si_code, exited.si_status) != (os.CLD_EXITED, 0):
                # Until the END marker (or this process's last writer of the pipe gone).
                stderr_relay.run(self._token, None, pipe=self._read_end, out=self._out)
            with self._lock:
                self._exited = True
                reap = self._finished and not self._reaped
            if reap:
                _reap(self._relay)
        finally:
            os.close(self._read_end)
            os.close(self._out)

    def finish(self, reaped):
        """After the END marker: lets the stand-in end (it reaps the relay where ``reaped`` is
        False) and waits for it, as for the relay, where it relays."""
        with self._lock:
            self._finished, self._reaped = True, reaped
            reap = self._exited and not reaped
        if reap:   # it exited between the end's wait and now
            _reap(self._relay)
        if reaped:
            self._thread.join(_RELAY_END_SECONDS)


def _reap(relay):
    """The relay's exit status taken where the command's end gave up waiting for it (a stderr
    nobody read for 2 s): no zombie left in a notebook that runs ``main()`` again and again."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(relay, os.WNOHANG)


def _tell_relay(token, command):
    """Writes ``command``'s marker to fd 2 after what this process has written there."""
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    stderr_relay.write_all(2, stderr_relay.marker(token, command))


def _reaped_within(pid, seconds):
    """Waits up to ``seconds`` for the child ``pid`` to exit; whether it did. On Linux (5.3 and
    later) a pidfd wakes this at the exit itself; elsewhere it looks every millisecond."""
    try:
        exited = os.pidfd_open(pid)
    except (AttributeError, OSError):
        exited = None
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    return True
            except ChildProcessError:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if exited is not None:
                select.select([exited], [], [], left)
            else:
                time.sleep(min(left, 0.001))
    finally:
        if exited is not None:
            os.close(exited)
