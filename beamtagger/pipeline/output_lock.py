"""An output held by one run at a time: ``tag``'s ``--output`` prefix, ``train``'s and
``embeddings import``'s ``--out``.

Two runs writing one output at the same time each found no earlier files (or, for ``train``,
the same training state) and went ahead: they removed, replaced or mixed each other's files.
The hold is an advisory lock (``flock``) on an empty folder ``.NAME.COMMAND-lock`` beside the
output, which the kernel releases when its process ends, however it ends: a killed run never
blocks the next. A folder, not a file: an input pattern over the output folder (``out/*``)
matches files only, and a lock file was read as a record. File systems without ``flock`` on
folders (NFS), and Windows (no ``fcntl``), are not held.

A short change to an output that a run holding it would lose (``model set-threshold`` on a
model that ``train --overwrite`` is replacing) is refused while that run holds it
(``not_held``).
"""
import contextlib
import os

from beamtagger.errors import BeamtaggerError, os_error_text


class Hold:
    """What ``held`` yields: true where a run killed outright had left its lock folder.

    ``mark_stays``: set by a holder for which that run's files are still the output's
    (``tag``'s, not put back): where the block ends in an exception (a refusal, a failure, a
    signal) the folder is left as it was found. Removed there, the next run took the files a
    killed run had published, maybe part of them only, for a whole earlier run's: ``tag``
    called them maybe incomplete once, then, after that refusal, an earlier run's files."""

    def __init__(self, left_by_a_killed_run):
        self.left_by_a_killed_run = left_by_a_killed_run
        self.mark_stays = False

    def __bool__(self):
        return self.left_by_a_killed_run


@contextlib.contextmanager
def held(output, option, command, alternative):
    """Holds the local ``output`` (a path) for this ``beamtagger COMMAND`` run; yields a
    ``Hold``, true where a run killed outright had left its lock. Another run holding it:
    BeamtaggerError naming ``option`` (e.g. ``--out``) and what to choose instead
    (``alternative``). The output's
    missing parent folders are created, and removed again if they are empty at the end."""
    folder = os.path.dirname(os.path.abspath(output))
    lock_path = _lock_path(output, command)
    busy = (f"{option} {output} is being written by another beamtagger {command} run; wait "
            f"until it ends, or choose another {alternative}")
    created = []
    try:
        _create_folders(folder, created)
        lock, left_by_a_killed_run = _locked(lock_path, busy)
    except BaseException as error:
        _remove_empty(created)
        if isinstance(error, OSError):
            raise BeamtaggerError(f"cannot write {option} {output}: "
                                  f"{os_error_text(error)}") from None
        raise
    hold = Hold(left_by_a_killed_run)
    ended = False
    try:
        yield hold
        ended = True
    finally:
        _released(lock, lock_path, remove=ended or not hold.mark_stays)
        _remove_empty(created)  # a run refused or failed leaves no empty folder of its own


@contextlib.contextmanager
def not_held(output, command, busy):
    """BeamtaggerError(``busy``) while another ``beamtagger COMMAND`` run holds ``output``
    (``held``); else holds its lock shared until the block ends, so that no such run starts
    in the meantime (one that tries is refused as busy), while other short changes may share
    it. The lock folder is made where missing, as a run that ended cleanly removed its own:
    found missing and left so, it held nothing, and a training started meanwhile went ahead.
    Where the lock folder cannot be made (its parent is read-only) or locked (a file system
    without ``flock``), no run can hold the output either, and it is changed unheld."""
    lock_path = _lock_path(output, command)
    try:
        lock, _ = _locked(lock_path, busy, shared=True)
    except OSError:
        lock = None
    try:
        yield
    finally:
        _released(lock, lock_path)


def _lock_path(output, command):
    folder, name = os.path.split(os.path.abspath(output))
    return os.path.join(folder, f".{name}.{command.replace(' ', '-')}-lock")


def _locked(path, busy, shared=False):
    """(the folder at ``path``, created if missing, open and locked by this process, or None
    where the file system cannot lock it; whether a run killed outright had left the folder);
    BeamtaggerError(``busy``) when another process holds it (exclusively, where ``shared``)."""
    fcntl = _fcntl()
    if fcntl is None:   # Windows: no flock; the output is not held, as on NFS
        return None, False

    while True:
        try:
            os.mkdir(path)
            found = False
        except FileExistsError:
            found = True   # unlocked below: its run ended without removing it, i.e. killed
        lock = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(lock, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            raise BeamtaggerError(busy) from None
        except OSError:
            os.close(lock)
            with contextlib.suppress(OSError):
                os.rmdir(path)
            return None, False
        # The run that held it removes the folder as it ends: a lock taken on the folder it
        # removed holds nothing, as a third run would lock the new folder at that path.
        try:
            same = os.stat(path).st_ino == os.fstat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return lock, found
        os.close(lock)


def _released(lock, path, remove=True):
    """Removes the lock folder at ``path`` (where ``remove``) and closes ``lock`` (None:
    nothing held). The folder goes first, while still locked (see ``_locked``), and only by
    the last of the processes sharing it: one that removed it under another's shared lock let
    a run start while that other still wrote."""
    if lock is None:
        return
    if remove:
        with contextlib.suppress(OSError):
            _fcntl().flock(lock, _fcntl().LOCK_EX | _fcntl().LOCK_NB)
            os.rmdir(path)
    os.close(lock)


def _fcntl():
    try:
        import fcntl
    except ImportError:
        return None
    return fcntl


def _create_folders(folder, created):
    """Creates ``folder`` and its missing parents, appending each it created to ``created``."""
    missing = []
    while not os.path.isdir(folder) and folder != os.path.dirname(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:
            continue  # another process made it
        created.append(path)


def _remove_empty(folders):
    for path in reversed(folders):
        try:
            os.rmdir(path)
        except OSError:
            return  # not empty: it holds this run's results, or another run's files
