"""Directories published whole (embedding stores, model directories).

A directory is built under a hidden name beside its target (``.NAME.importing-PID-RANDOM``) and
renamed into place, so readers see all of it or none of it, and a killed run never leaves half
a store or a 0-byte ``tagger.keras`` beside an old ``tagger.json``. Replacing an existing
directory renames the old one aside first (``.NAME.replaced-PID-RANDOM``) and removes it after.

A killed run leaves its hidden folder behind; the next run that writes into the same parent
folder removes every such folder whose process is gone, or that is older than a day (the PID
may belong to another machine on a shared disk). A folder of its own PID that the process did
not name is a dead process's: in containers every run can be PID 1. An old directory left aside by a replacement
that was killed between its two renames is put back when nothing took its place; the
destination check does this, so a run learns that its destination is taken before its work.

A run that reads a directory for a long time keeps it as it found it with ``linked_copy``: a
hidden folder of hard links beside it (``.NAME.pinned-PID-RANDOM``), which a replacement
(renamed into place, as above) does not touch; held with a shared ``flock`` while it is read,
so that none is removed under a live run whatever its age, and removed like the others once
its process is gone. Where no links can be made beside it, ``held_copy`` copies it into a
folder of the caller's (this user's staging folder), named, held and removed the same way.
A pinned folder is made under another hidden name (``.NAME.pinning-PID-RANDOM``), held, and
only then renamed to its pinned name: a run in another container, PID 1 as well, removed a
pinned folder it took for a dead run's in the moment between making and holding it. It holds
a ``.gitignore`` of ``*`` (as pytest's cache folder does), so that ``git status`` does not
list it for a model or store kept in a git checkout.

A destination that is a symbolic link is refused: renaming into place replaces the link
itself, never writes into the directory it points to.
"""
import contextlib
import errno
import os
import pathlib
import re
import shutil
import stat
import time
import uuid

from beamtagger.errors import BeamtaggerError, JobFailed, broken_link, os_error_text

_HIDDEN = re.compile(r"\.(?P<name>.+)\.(?P<kind>importing|saving|staging|removing|replaced|"
                     r"pinned|pinning)"
                     r"-(?P<pid>\d+)-[0-9a-f]{8}\Z")
_ABANDONED_AFTER_SECS = 24 * 3600
# The hidden folders this process named: one of its PID that it did not name is a dead
# process's, as in containers, where every run can be PID 1.
_NAMED_HERE = set()
# In a pinned folder: git lists none of its files, nor the folder, in a checkout.
PINNED_GITIGNORE = ".gitignore"
_GITIGNORE_TEXT = "# Made by beamtagger: a run's pinned copy, removed with the run.\n*\n"


def _hidden_name(out, kind):
    name = f".{out.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    _NAMED_HERE.add(name)
    return out.parent / name


def nearest_existing_ancestor(path):
    """The nearest folder above ``path`` (absolute) that exists to this user: a folder below
    one this user may not search (another user's, mode 700) does not, whether or not it is
    there. os.path.exists, not Path.exists, which raises there: a PermissionError, exit 1."""
    ancestor = pathlib.Path(path).parent
    while not os.path.exists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    return ancestor


def check_creatable(path, what="output"):
    """BeamtaggerError unless ``path`` (a local file or folder to create) can be created:
    its nearest existing ancestor must be a writable folder."""
    path = pathlib.Path(path).expanduser().absolute()
    ancestor = nearest_existing_ancestor(path)
    if not ancestor.is_dir():
        raise BeamtaggerError(f"{what} {path} cannot be created: {ancestor} is a file, "
                              "not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise BeamtaggerError(f"{what} {path} cannot be created: the folder {ancestor} is not "
                              "writable")


def check_destination(path, overwrite, what, marker_file, label):
    """BeamtaggerError unless ``what`` (e.g. "a tagger model") may be published at ``path``: a
    path to create, an empty folder, or, with ``overwrite``, an earlier one (recognised by its
    ``marker_file``; any other non-empty folder is never replaced). ``label`` names the path
    in the error when it cannot be created. First puts back (or removes) what killed runs left
    beside ``path``."""
    path = pathlib.Path(path).expanduser().absolute()
    # First: in a folder this user may not search, is_symlink's lstat raised PermissionError.
    check_creatable(path, label)
    if path.is_symlink():
        raise BeamtaggerError(f"{path} is a symbolic link (to {os.readlink(path)}); give the "
                              "directory it points to, or a new path: the result is renamed "
                              "into place, which would replace the link")
    clean_abandoned(path.parent)
    if not path.exists():
        return
    if not path.is_dir():
        raise BeamtaggerError(f"{path} exists and is not a directory")
    if not any(path.iterdir()):
        return
    if not overwrite:
        raise BeamtaggerError(f"{path} already exists; choose another directory or replace "
                              "it with --overwrite")
    if not (path / marker_file).exists():
        raise BeamtaggerError(f"{path} is a non-empty directory that is not {what}; refusing "
                              "to replace it")


def building_dir(out, kind):
    """A new hidden folder beside ``out`` to build it in; cleans abandoned ones first."""
    out = pathlib.Path(out)
    check_creatable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    return _hidden_folder(out, kind)


def _hidden_folder(out, kind):
    """A new hidden folder beside ``out``, abandoned ones cleaned first; OSError where it
    cannot be made."""
    clean_abandoned(out.parent)
    building = _hidden_name(out, kind)
    building.mkdir()
    return building


@contextlib.contextmanager
def linked_copy(path, *, follow=()):
    """A new hidden folder beside the directory ``path`` holding a hard link to each of its
    files (``.NAME.pinned-PID-RANDOM``), kept until the block ends: the files as they are now,
    whatever is later renamed into ``path``'s place or over a file in it, at no cost in disk
    or time whatever their size. OSError where links cannot be made (another file system, a
    folder not writable, ``fs.protected_hardlinks`` on another user's files).

    ``follow``: the names in ``path`` (the files its reader opens) whose symbolic link is
    pinned as the file it leads to (``_followed_links``); any other link is kept as the link.

    The folder is named from ``path`` resolved: ``.`` or ``m/..`` has no name of its own, and
    the links were made inside the folder being linked. It is held (``_held_in_use``) while
    the block runs, so that no ``clean_abandoned`` removes it under its reader, however long
    that runs."""
    path = pathlib.Path(path).resolve()
    # Not building_dir: its refusal of a folder not writable is an output's, where this is
    # an OSError like any other failure to link.
    with _held_copy(path, path, os.link, follow) as copy:
        yield copy


@contextlib.contextmanager
def held_copy(path, folder, *, follow=()):
    """A new hidden folder in ``folder`` holding a copy of the directory ``path``'s files
    (``.NAME.pinned-PID-RANDOM``; the files links named in ``follow`` lead to, copied), kept
    and held as ``linked_copy``'s until the block ends: for a directory beside which no links
    can be made. ``folder`` is one whose hidden folders are cleaned (``clean_abandoned``): the
    copy a killed process leaves there is removed by the next process that copies or stages
    there, where one in the temp folder (a ``TemporaryDirectory``) stayed for good. OSError
    where it cannot be made."""
    path = pathlib.Path(path).resolve()
    with _held_copy(path, pathlib.Path(folder) / path.name, shutil.copy2, follow) as held:
        yield held


@contextlib.contextmanager
def _held_copy(path, beside, place, follow):
    """``path``'s files placed by ``place`` (a link or a copy) in a new pinned folder beside
    ``beside``, held (``_held_in_use``) until the block ends, then removed."""
    followed = _followed_links(path, follow)
    making = _hidden_folder(beside, "pinning")
    copy = _hidden_name(beside, "pinned")
    try:
        with _held_in_use(making):
            _write_new(making / PINNED_GITIGNORE, _GITIGNORE_TEXT.encode())
            os.rename(making, copy)   # held already: no clean takes it for a dead run's
            # Links kept as links, not followed: a link to a folder (to ``/``, or back up to
            # this one) was copied without end, a FIFO's copy waited for good, and no file
            # that no reader opens is linked or read. Its own .gitignore replaced by this one.
            shutil.copytree(path, copy, symlinks=True, copy_function=place, dirs_exist_ok=True,
                            ignore=lambda folder, names: (
                                {*followed, PINNED_GITIGNORE} & set(names)
                                if os.fspath(folder) == os.fspath(path) else ()))
            for name in followed:
                # The file itself: os.link(follow_symlinks=True) calls link(2), which links
                # the symbolic link on Linux before Python 3.14 (CPython gh-81793).
                place(os.path.realpath(path / name), copy / name)
            # copytree gave it the times of ``path``: a model written days ago would look
            # abandoned (``_abandoned``) to the next run beside it, which removed it at once.
            os.utime(copy)
            yield copy
    finally:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.rmtree(making, ignore_errors=True)   # where the rename failed


def _write_new(path, data):
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(descriptor, data)
    finally:
        os.close(descriptor)


def _followed_links(path, names):
    """The names in ``names`` that are symbolic links in the directory ``path`` to a file;
    BeamtaggerError where such a link leads to nothing, back to itself, or to something
    other than a file (a folder, a FIFO, a device): its reader could not open it, or, for an
    optional file (``training_forms.npy``), took it for absent without a word."""
    followed = []
    for name in names:
        link = path / name
        if not link.is_symlink():
            continue
        try:
            mode = os.stat(link).st_mode
        except OSError as error:
            raise BeamtaggerError(broken_link(link)[2:] or f"{link}: {os_error_text(error)}") \
                from None
        if not stat.S_ISREG(mode):
            raise BeamtaggerError(f"{link} is a symbolic link to {os.readlink(link)}, which is "
                                  "not a file")
        followed.append(name)
    return followed


def _held_in_use(folder):
    """A shared ``flock`` on ``folder`` until the block ends (``held_folder``): ``_in_use``
    tells a live run's folder from a killed one's where its age and PID cannot (a run longer
    than a day; PID 1 in each container sharing the disk)."""
    return held_folder(folder)


@contextlib.contextmanager
def held_folder(folder, exclusive=False):
    """A ``flock`` on the folder itself (shared, or ``exclusive``: waiting for the others)
    until the block ends, which leaves no file behind and which the kernel drops when the
    process ends, however it ends. Nothing is held where the folder cannot be opened or
    locked (Windows, some network file systems)."""
    try:
        import fcntl
        descriptor = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(descriptor, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(descriptor)


def _in_use(folder):
    """Whether a process holds ``folder`` (``_held_in_use``); False where that cannot be told."""
    try:
        import fcntl
        descriptor = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)
    return False


def remove(path):
    """Removes the directory ``path`` whole: renamed to a hidden name first, so readers see all
    of it or none of it, and what a kill leaves the next clean of its folder removes."""
    path = pathlib.Path(path)
    removing = _hidden_name(path, "removing")
    os.rename(path, removing)
    shutil.rmtree(removing, ignore_errors=True)


# Errors that say the destination cannot take the data, whatever was being written.
_DESTINATION_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


@contextlib.contextmanager
def published(out, kind, overwrite, describe, check=None):
    """Yields a new hidden folder beside ``out`` to build it in, then ``check()`` (if given)
    and ``publish``. If the body or the publishing fails, the folder is removed and ``out``
    is left as it was; a full or read-only destination becomes a one-line ``JobFailed``."""
    building = building_dir(out, kind)
    try:
        yield building
        if check is not None:
            check()
        publish(building, out, overwrite, describe)
    except BaseException as error:
        shutil.rmtree(building, ignore_errors=True)
        if isinstance(error, OSError) and error.errno in _DESTINATION_FULL:
            raise JobFailed(f"cannot write {describe} to {out}: {os_error_text(error)}; "
                            "nothing was saved") from None
        raise


def publish(building, out, overwrite, describe="a directory"):
    """Renames ``building`` to ``out``; an existing ``out`` is replaced only with ``overwrite``."""
    out = pathlib.Path(out)
    try:
        os.rename(building, out)
    except OSError:
        if not overwrite or out.is_symlink() or not out.is_dir():
            raise BeamtaggerError(f"{out} appeared while writing {describe}; it was not saved")
        replaced = _hidden_name(out, "replaced")
        os.rename(out, replaced)
        try:
            os.rename(building, out)
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            # Another run published between the two renames: its result stays, and the old
            # one set aside here is older than both.
            shutil.rmtree(replaced, ignore_errors=True)
            raise BeamtaggerError(f"{out} was written by another run while this one wrote "
                                  f"{describe}; this one was not saved") from None
        shutil.rmtree(replaced, ignore_errors=True)
    fsync_directory(out.parent)


def clean_abandoned(parent):
    """Removes the hidden build folders in ``parent`` that no running process owns, and puts
    back a replaced directory that nothing took the place of; returns the names removed.

    A replaced entry may be a symbolic link: earlier versions replaced a destination that was
    a link to a directory, and left the link aside for good."""
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        match = _HIDDEN.match(entry.name)
        link = match is not None and match.group("kind") == "replaced" and entry.is_symlink()
        if (not match or not (link or entry.is_dir(follow_symlinks=False))
                or not _abandoned(entry, match)):
            continue
        target = pathlib.Path(parent) / match.group("name")
        if match.group("kind") == "replaced" and not target.exists():
            try:
                os.rename(entry.path, target)  # the replacement never arrived: put it back
                continue
            except OSError:
                pass
        if link:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
        else:
            shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.name)
    return removed


def _abandoned(entry, match):
    if match.group("kind") == "pinned" and _in_use(entry.path):
        return False
    pid = int(match.group("pid"))
    try:
        if time.time() - entry.stat(follow_symlinks=False).st_mtime > _ABANDONED_AFTER_SECS:
            return True
    except OSError:
        return False
    if match.group("kind") == "pinning":
        # Renamed to a pinned name once held, microseconds after it was made: one left
        # behind (a kill in between) is an empty folder, removed after a day.
        return False
    if pid == os.getpid():
        return entry.name not in _NAMED_HERE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists, owned by someone else
    return False


def fsync_directory(path):
    """Syncs ``path``'s entries (a rename into it) to disk, where the file system can: a crash
    after a rename that was not synced may bring back the old name. Best effort: a folder that
    cannot be opened or synced (some network file systems) is left as it is."""
    try:
        directory = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)
