"""The one exception type users see for bad input, bad files and bad pairings.

The CLI prints a ``BeamtaggerError`` as a one-line message (no stack trace) and exits with its
``exit_code``; an ``OSError`` (full disk, read-only folder, I/O error) likewise, with status 1;
anything else escaping is a bug in beamtagger.
"""


class BeamtaggerError(Exception):
    """A problem with the user's input, files or options, with a clear message."""

    exit_code = 2   # refused: nothing was started


class JobFailed(BeamtaggerError):
    """A run that started and could not finish (a full disk, an I/O error while writing); its
    partial output was removed."""

    exit_code = 1


class InputFormatError(BeamtaggerError):
    """Malformed input at a known place: names the source, the line and the problem."""

    def __init__(self, source, line, problem):
        self.source = str(source)
        self.line = line
        self.problem = problem
        where = f"{self.source}:{line}" if line is not None else self.source
        super().__init__(f"{where}: {problem}")


def os_error_text(error):
    """``PATH: reason (ENOSPC)`` for an OSError, the way file tools report one."""
    import errno

    where = f"{error.filename}: " if error.filename else ""
    name = errno.errorcode.get(error.errno, "") if error.errno else ""
    return f"{where}{error.strerror or error}" + (f" ({name})" if name else "")
