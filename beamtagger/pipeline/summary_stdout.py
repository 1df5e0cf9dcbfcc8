"""Standard output for what ``beamtagger tag`` prints where its results go to files (the runtime
line, files put back, the summary, ``--print-results``): a reader that has gone away no longer
decides the run's outcome.

Those lines tell what the files hold; they are not the results. A reader gone before them
(``tag ... | head -1``, which kept the runtime line, or a logger the output was piped to that
died) made the first print fail: the run exited 141 (SIGPIPE's status) and wrote
no ``--summary-json``, so a scheduler saw a failed night without counts where every result
and dead letter was written. With ``--output -`` the results themselves go to standard output
(``ordered_stdout``), and a reader gone there still ends the run with 141.
"""
import contextlib
import errno
import os
import stat
import sys

__all__ = ["reader_may_leave"]


class _ReaderMayLeave:
    """``sys.stdout`` whose writes and flushes, once its reader has gone, go to /dev/null."""

    def __init__(self, stream):
        self._stream = stream
        self.left = False

    def write(self, text):
        if not self.left:
            try:
                return self._stream.write(text)
            except OSError as error:
                self._gone_or_raise(error)
        return len(text)

    def flush(self):
        if not self.left:
            try:
                self._stream.flush()
            except OSError as error:
                self._gone_or_raise(error)

    def _gone_or_raise(self, error):
        """The reader gone: a pipe's (EPIPE), or a terminal's that hung up (EIO on a character
        device: an ssh session closed under a run whose SIGHUP is ignored, ``setsid``, which
        failed a run that was done, exit 1 without its --summary-json). Any other fault (a
        full disk, /dev/full, EIO of a disk) is raised."""
        if not (isinstance(error, BrokenPipeError)
                or error.errno == errno.EIO and _character_device(self._stream)):
            raise error
        self._gone()

    def _gone(self):
        self.left = True
        # The failed text may still be in the stream's buffer: the flush at exit writes it to
        # /dev/null, not to the closed pipe again (exit 141 there, console_main).
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        except (OSError, ValueError):   # no descriptor of its own: nothing to flush at exit
            pass
        finally:
            os.close(devnull)

    def __getattr__(self, name):   # encoding, errors, isatty...: the stream's own
        return getattr(self._stream, name)


def _character_device(stream):
    try:
        return stat.S_ISCHR(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):   # no descriptor of its own
        return False


@contextlib.contextmanager
def reader_may_leave():
    """Within the block, ``print`` and ``sys.stdout.write`` never fail for standard output's
    reader having gone: the rest of what is printed is dropped. Flushed at the block's end, so
    that a reader leaving after the last line is found here, not at exit."""
    stream = sys.stdout
    kept = sys.stdout = _ReaderMayLeave(stream)
    try:
        yield
        # Any other fault (a full disk, /dev/full) keeps the text buffered, and the flush at
        # exit (console_main) names it: raised here too, it was said twice.
        with contextlib.suppress(OSError):
            kept.flush()
    finally:
        sys.stdout = stream
