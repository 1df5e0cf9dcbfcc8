"""The model and store a local ``beamtagger tag`` run was launched with, kept for its workers.

Workers load the model and open the store when their stages are set up, and a stage after a
shuffle is set up only once the stages before it are done: a model saved over ``--model``
(``train --overwrite``, ``model set-threshold``) or a store over ``--embeddings``
(``embeddings import --overwrite``) after the launch's checks was what the workers then read.
Measured before this module (tiny models, 2,000 records, replaced after the checks): the
in-process and the ``multi_processing`` runs both tagged every record with the new model and
exited 0; a new store of other vectors failed the run, its line telling to pass
``--allow-other-embeddings``, and with that flag the run would have looked up the new vectors.

So each local path is pinned before the checks: its files hard-linked into a hidden folder
beside it (``atomic_dirs.linked_copy``: nothing copied, whatever the store's size), which
the run reads instead; every beamtagger writer renames new files into place, so the links
keep the old ones. Where links cannot be made (a folder not writable, another file system)
the model, a few MB, is copied into the temp folder; the store is read where it is, and so is
a model that cannot be copied either (a full disk), with a warning. A ``gs://`` path is staged
once here (``worker_resources.local_path``, held for the process's life) and its local
workers read that copy. After the checks each path is
compared with what was pinned (its files' inodes, sizes and times; a ``gs://`` one's listing),
and a path replaced meanwhile stops the run in one line: the run would otherwise tag with
files other than those checked.

A remote runner's workers read the paths themselves (see docs/dataflow.md): nothing is
pinned for them, and each compares what it loads with what the pipeline was built against
(``transforms.built_against``), so a model or store saved again there fails the job in one
line instead of mixing the two.
"""
import contextlib
import dataclasses
import errno
import os
import pathlib
import shutil
import sys
import tempfile
from typing import Dict, NamedTuple, Optional, Tuple

from beamtagger import atomic_dirs
from beamtagger.errors import BeamtaggerError


class _Pin(NamedTuple):
    what: str                  # "model", "embedding store"
    field: str                 # the TagJob field it replaces
    given: str                 # the path as the user gave it
    read: str                  # what the run reads instead
    files: Optional[Dict[str, Tuple[int, int, int, int]]]  # local: the files when pinned


@dataclasses.dataclass
class LaunchFiles:
    """The pins of one run (``pinned``)."""
    pins: Tuple[_Pin, ...] = ()

    def check_unchanged(self):
        """BeamtaggerError naming a path whose files are no longer those pinned: replaced
        while the run was being checked, so the checks may have read the new files."""
        from beamtagger.transforms import worker_resources

        for pin in self.pins:
            if pin.files is None:
                changed = str(worker_resources.local_path(pin.given)) != pin.read
            else:
                changed = _files(worker_resources.local_path(pin.given)) != pin.files
            if changed:
                raise BeamtaggerError(f"{pin.what} {pin.given} was replaced while this run was "
                                      "being checked (a train, model set-threshold or "
                                      "embeddings import writing it?); nothing was tagged: "
                                      "run again once it is written")

    def job(self, job):
        """``job`` reading the pinned files."""
        return dataclasses.replace(job, **{pin.field: pin.read for pin in self.pins})


@contextlib.contextmanager
def pinned(job, remote):
    """``LaunchFiles`` of ``job``'s model and store as they are now, kept until the block
    ends; none for a remote runner, and none for the bundled model and default store."""
    with contextlib.ExitStack() as kept:
        pins = []
        if not remote:
            for what, field in (("model", "model_dir"), ("embedding store", "store_path")):
                path = getattr(job, field)
                if path is not None:
                    pin = _pin(what, field, str(path), kept)
                    if pin is not None:
                        pins.append(pin)
        yield LaunchFiles(tuple(pins))


def _pin(what, field, given, kept):
    """The ``_Pin`` of ``given``, its files kept until ``kept`` closes; None where nothing is
    pinned."""
    from beamtagger.transforms import worker_resources

    if worker_resources.is_remote(given):
        return _Pin(what, field, given, str(worker_resources.local_path(given)), None)
    local = worker_resources.local_path(given).resolve()   # "." names its copy too
    if not local.is_dir():
        return None   # the checks say what it is
    files = _files(local)
    try:
        copy = kept.enter_context(atomic_dirs.linked_copy(local))
    except OSError as link_error:
        if field != "model_dir":
            # Read in place, without a word: a store in a folder this user may not write (a
            # team's shared one, the usual case here) would warn on every run, and only its
            # owner can replace it (docs/tagging.md says what that does to a run).
            return None
        try:
            copy = pathlib.Path(kept.enter_context(tempfile.TemporaryDirectory(
                prefix="beamtagger-model-", ignore_cleanup_errors=True))) / local.name
            # The files links lead to: a relative one (git-annex's, DVC's) led nowhere there.
            shutil.copytree(local, copy)
        except OSError as copy_error:
            # Read in place, as a store is: a full disk failed the run, which could tag.
            print(f"warning: {what} {given} is read where it is, not pinned for this run: "
                  f"no links beside it ({_reason(link_error)}) nor copy in "
                  f"{tempfile.gettempdir()} ({_reason(copy_error)}); a model saved over it "
                  "before the run ends may be read by its workers", file=sys.stderr,
                  flush=True)
            return None
        copied = _files(local)   # the copy's files are new ones: the model's must not be
    else:
        copied = _files(copy)
    if copied != files:   # a file replaced between the listing and its link or copy
        raise BeamtaggerError(f"{what} {given} was replaced as this run started; nothing "
                              "was tagged: run again once it is written")
    return _Pin(what, field, given, str(copy), files)


def _reason(error):
    """Why an OSError (or ``shutil.copytree``'s list of them) refused a link or copy."""
    if isinstance(error, shutil.Error) and error.args and isinstance(error.args[0], list):
        return error.args[0][0][2]   # (source, destination, why) of its first file
    return f"{error.strerror or error}" + (
        f" ({errno.errorcode[error.errno]})" if error.errno in errno.errorcode else "")


def _files(folder):
    """{path in ``folder``: (inode, size, modification time, device)} of its files: a file
    renamed over one of them (every beamtagger writer's way) is another inode."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            status = os.stat(path, follow_symlinks=False)
            found[os.path.relpath(path, folder)] = (status.st_ino, status.st_size,
                                                     status.st_mtime_ns, status.st_dev)
    return found
