"""The one exception type users see for bad input, bad files and bad pairings.

The CLI prints a ``BeamtaggerError`` as a one-line message (no stack trace);
anything else escaping is a bug in beamtagger.
"""


class BeamtaggerError(Exception):
    """A problem with the user's input, files or options, with a clear message."""


class InputFormatError(BeamtaggerError):
    """Malformed input at a known place: names the source, the line and the problem."""

    def __init__(self, source, line, problem):
        self.source = str(source)
        self.line = line
        self.problem = problem
        where = f"{self.source}:{line}" if line is not None else self.source
        super().__init__(f"{where}: {problem}")
