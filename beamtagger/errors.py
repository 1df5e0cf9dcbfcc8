"""The one exception type users see for bad input, bad files and bad pairings.

The CLI prints a ``BeamtaggerError`` as a one-line message (no stack trace) and exits with its
``exit_code``; an ``OSError`` (full disk, read-only folder, I/O error) likewise, with status 1;
anything else escaping is a bug in beamtagger.
"""


# A line of a command's output stays one line, for a log reader or a script that takes standard
# error's last line or the summary's lines: a path holding a line break (an --input or --output
# value, a file name) split it in two. Escaped as Python writes them, so the path can still be
# told apart from one holding a space.
_LINE_BREAKS_ESCAPED = {ord(br): br.encode("unicode_escape").decode("ascii")
                        for br in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def line_breaks_escaped(text):
    """``text`` as one line: each line break written as its Python escape (``\\n``)."""
    return text.translate(_LINE_BREAKS_ESCAPED)


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


def broken_link(path):
    """``"; PATH is a symbolic link to TARGET, which does not exist"`` (or which leads back
    to itself) where ``path`` is such a link on this machine, else "": where a path names
    nothing, saying only that ("no input files match", "does not exist") hid the link
    whose target was moved, deleted or on a disk not mounted."""
    import errno
    import os

    try:
        if not os.path.islink(path):
            return ""
        target = os.readlink(path)
    except (TypeError, ValueError):   # not a path (None), or one holding a NUL
        return ""
    except OSError:   # the link went after islink saw it: it no longer names anything
        return ""
    try:
        os.stat(path)
    except FileNotFoundError:
        return f"; {path} is a symbolic link to {target}, which does not exist"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return f"; {path} is a symbolic link to {target}, which leads back to itself"
    return ""


def out_of_open_files(error):
    """Whether ``error`` says this process (EMFILE) or the whole system (ENFILE) has as many
    files open as it may (pyarrow's OSErrors carry the errno too)."""
    import errno

    return getattr(error, "errno", None) in (errno.EMFILE, errno.ENFILE)


def too_many_open_files(error, path=None):
    """A BeamtaggerError to raise instead of the usual one where ``error`` (an OSError) says this
    process (EMFILE) or the whole system (ENFILE) has as many files open as it may: a limit of
    the machine, not a fault of ``path`` (default: the error's file name), which the readers'
    messages for an unreadable file called damaged or truncated. None for any other error."""
    import errno

    if not out_of_open_files(error):
        return None
    where = f" opening {path or error.filename}" if path or error.filename else ""
    if error.errno == errno.ENFILE:
        return BeamtaggerError(
            f"too many open files (ENFILE){where}: the system has as many files open as it "
            "may (sysctl fs.file-max); close other programs' files or raise that limit, and "
            "run the same command again")
    try:
        import resource

        allowed = f"{resource.getrlimit(resource.RLIMIT_NOFILE)[0]:,}"
    except (ImportError, OSError, ValueError):   # no resource module (Windows)
        allowed = "only a few"
    return BeamtaggerError(
        f"too many open files (EMFILE){where}: this process may have {allowed} open at once "
        "(ulimit -n); raise the limit (ulimit -n 1024, the usual one) and run the same "
        "command again")


def not_readable(error, path=None):
    """A BeamtaggerError to raise instead of the usual one where ``error`` (an OSError) says
    this user may not read ``path`` (default: the error's file name): EACCES or EPERM, a file
    of another user's with mode 600 on a shared server. The model's check called such a
    ``tagger.keras`` damaged and told the user to train it again. None for any other error."""
    import errno

    if getattr(error, "errno", None) not in (errno.EACCES, errno.EPERM):
        return None
    name = errno.errorcode[error.errno]
    return BeamtaggerError(f"cannot read {path or error.filename}: {error.strerror} ({name}): "
                           "this user may not read it; ask its owner for read access, or use "
                           "a copy of your own")


# The apache-beam extra that brings each file system Beam has, where it is not installed.
_FILE_SYSTEM_EXTRAS = {"gs": "gcp", "s3": "aws", "azfs": "azure", "hdfs": "hadoop"}


def no_file_system(path):
    """Why Beam has no file system for ``path``'s scheme here, else None: the schemes this
    installation has, and for a scheme Beam knows, the extra that brings it. Beam's own
    ValueError repeated the path and advised apache-beam[gcp] for any scheme, foo:// too."""
    from apache_beam.io.filesystem import FileSystem
    from apache_beam.io.filesystems import FileSystems

    scheme = FileSystems.get_scheme(path)
    # Beam imports each file system it can (apache_beam.io.filesystems), skipping those whose
    # packages are missing: the ones imported are the ones this process can use.
    registered = {system.scheme() for system in FileSystem.get_all_subclasses()}
    if scheme in registered:
        return None
    here = ", ".join(["local paths"] + [f"{name}://" for name in sorted(registered - {None})])
    extra = _FILE_SYSTEM_EXTRAS.get(scheme)
    if extra is None:
        return f"Beam has no file system for {scheme}:// (this installation has {here})"
    return (f"{scheme}:// needs Beam's {extra} packages, not installed here: pip install "
            f"'apache-beam[{extra}]' (this installation has {here})")
