"""A stop (Ctrl-C, SIGTERM, SIGHUP) that comes once ``tag``'s files are published: the run is
done, so the stop leaves its status and ``--summary-json`` as they are.

The CLI turns those signals into KeyboardInterrupt wherever the command is (cli.py), which
until the files are published removes them, as a stopped run's are. After that, between the
run's end and the summary, and as the output's lock and pinned files were let go, it ended the
command with 130 or 143 (which say no file of the run was kept) while every file was kept, and
with no summary, or with one saying 0: Ctrl-C 20-50 ms after the errors file was renamed into
place did so in 4 of 6 tries. Held here, the stop is heard once the command is done: one line
says so, and the status is the run's.
"""
import contextlib
import signal

__all__ = ["StopsAfterPublishing"]

_STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopsAfterPublishing:
    """``hold()`` as the run's files are published, ``heard()`` around what a stop may cut
    short (the summary's printing), ``release()`` once the command is done; ``received``:
    the stops that came while held."""

    def __init__(self):
        self.received = []
        self._previous = {}

    def hold(self):
        for signum in _STOPS:
            handler = signal.getsignal(signum)
            # Only the command's own handlers: a signal ignored (nohup) or left to Python's
            # default stays so.
            if not callable(handler) or signum in self._previous:
                continue
            try:
                self._previous[signum] = signal.signal(signum, self._note)
            except ValueError:   # not the main thread (a library caller's): not ours
                return

    def release(self):
        while self._previous:
            signum, handler = self._previous.popitem()
            signal.signal(signum, handler)

    @contextlib.contextmanager
    def heard(self):
        """The command's own handlers, within: a stop raises there as anywhere in a run."""
        self.release()
        try:
            yield
        finally:
            self.hold()

    def _note(self, signum, frame):
        if signum == signal.SIGTERM and signal.SIGTERM in self.received:
            # A second SIGTERM ends the process at once, as it does anywhere else in a run.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)
        self.received.append(signum)
