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
keep the old ones. A file the run reads that is a symbolic link (a model folder put together
from links, git-annex's, DVC's) is pinned as the file it leads to, as the loaders open it:
pinned as the link, a file saved again at its target was what the workers read (and, before,
the link's copy was a new inode, so every run with one stopped as "replaced as this run
started"). Only the files the loaders open are followed (``_read``), so a folder from someone
else cannot make the pin link or copy other files; one that leads nowhere, or to a folder or
a FIFO, stops the run before its checks in one line. Where links cannot be made (a folder not
writable, another file system) the model, a few MB, is copied into this user's staging
folder (``atomic_dirs.held_copy``: removed by the next run once its process is gone, where a
temp folder's copy outlived a killed run for good); the store is read where it is, and so is
a model that cannot be copied either (a full disk), with a warning. A ``gs://`` path is staged
once here (``worker_resources.local_path``, held for the process's life) and its local
workers read that copy. After the checks each path is
compared with what was pinned (its files' inodes, sizes and times; a ``gs://`` one's listing),
and a path replaced meanwhile stops the run in one line: the run would otherwise tag with
files other than those checked.

A remote runner's workers read the paths themselves (see docs/dataflow.md): nothing is
pinned for them, and each compares what it loads with what the pipeline was built against
(``transforms.built_against``), so a model or store saved again there fails the job in one
line instead of mixing the two. What it is built against is what the checks read: the SHA-256
of ``tagger.json`` and ``manifest.json`` recorded before them (``LaunchFiles.checked``), which
the checks compare what they read with, and which are read again after them. Recorded when
the pipeline was built instead, a ``gs://`` model saved again between the checks and the build
was recorded as the new one: its workers tagged with a model that was never checked.
"""
import contextlib
import dataclasses
import errno
import os
import shutil
import sys
from typing import Dict, NamedTuple, Optional, Tuple

from beamtagger import atomic_dirs
from beamtagger.errors import BeamtaggerError, not_readable
from beamtagger.transforms.built_against import (BuiltAgainst, ReplacedSinceBuilt,
                                                  left_out_recorded, recorded_path)


# (what the run calls it, its TagJob and BuiltAgainst field, its digest's BuiltAgainst field)
_PATHS = (("model", "model_dir", "model_sha256"), ("embedding store", "store_path", "store_sha256"))


def _read(field):
    """The names of the files the run's loaders open in the folder of the TagJob ``field``,
    and ``model info`` and ``evaluate`` the report: their symbolic links are followed."""
    if field == "model_dir":
        from beamtagger.model import tagger_spec as model
        return (model.SPEC_FILE, model.MODEL_FILE, model.REPORT_FILE, model.FORMS_FILE,
                model.ENTITIES_FILE, model.SENTENCES_FILE)
    from beamtagger.embeddings import store
    return (store.MANIFEST_FILE, store.VECTORS_FILE, store.VOCAB_FILE)


class _Pin(NamedTuple):
    what: str                  # "model", "embedding store"
    field: str                 # the TagJob field it replaces
    given: str                 # the path as the user gave it
    read: str                  # what the run reads instead
    files: Optional[Dict[str, Optional[Tuple[int, int, int, int]]]]  # local: when pinned


@dataclasses.dataclass
class LaunchFiles:
    """The pins of one run (``pinned``) and ``checked``: the SHA-256 of the ``tagger.json``
    and ``manifest.json`` the run reads (a pinned copy's, or the path's where it is read
    where given), by the paths as given, recorded before the checks, for the checks to
    compare what they read with (``checking``) and the pipeline's workers too (``job``)."""
    pins: Tuple[_Pin, ...] = ()
    checked: BuiltAgainst = BuiltAgainst()
    workers_here: bool = True

    @contextlib.contextmanager
    def checking(self):
        """Yields ``checked`` to the checks (``load_spec``, ``open_store``): a file they read
        other than the one recorded (``ReplacedSinceBuilt``) refuses the run as
        ``check_unchanged`` does, before anything is launched."""
        try:
            yield self.checked
        except ReplacedSinceBuilt as replaced:
            raise _replaced_while_checked(replaced.what, replaced.path) from None

    def check_unchanged(self):
        """BeamtaggerError naming a path whose files are no longer those pinned, or, read
        where given, whose recorded file is no longer the one recorded: replaced while the
        run was being checked, so the checks may have read the new files."""
        from beamtagger.transforms import worker_resources

        for pin in self.pins:
            if pin.files is None:
                changed = str(worker_resources.local_path(pin.given)) != pin.read
            else:
                changed = _files(worker_resources.local_path(pin.given),
                                 _read(pin.field)) != pin.files
            if changed:
                raise _replaced_while_checked(pin.what, pin.given)
        pinned_fields = {pin.field for pin in self.pins}
        for what, field, digest in _PATHS:
            given = getattr(self.checked, field)
            if given is not None and field not in pinned_fields and (
                    _sha256(given, field, self.workers_here) != getattr(self.checked, digest)):
                raise _replaced_while_checked(what, given)

    def job(self, job):
        """``job`` reading the pinned files, its pipeline built against what was checked."""
        read = {pin.field: pin.read for pin in self.pins}
        # A pinned copy holds the bytes recorded: its workers compare what they load there.
        built = self.checked._replace(**{field: path for field, path in read.items()
                                         if getattr(self.checked, field) is not None})
        return dataclasses.replace(job, built_against=built, **read)

    def with_store_of(self, first):
        """These pins (a model's, ``pinned(store=False)``) with the store ``first`` pinned
        and recorded: each model's workers compare the one store the run reads."""
        return dataclasses.replace(
            self, pins=self.pins + tuple(pin for pin in first.pins if pin.field == "store_path"),
            checked=self.checked._replace(store_path=first.checked.store_path,
                                          store_sha256=first.checked.store_sha256))


@contextlib.contextmanager
def pinned(job, remote, store=True, *, workers_here=None):
    """``LaunchFiles`` of ``job``'s model and store as they are now, kept until the block
    ends; none pinned for a remote runner, and none for the bundled model and default store
    (the bundled model left out is recorded by its task where the workers are not this
    machine's processes: ``workers_here`` false, by default for a remote runner; a portable
    runner's containers hold a package of their own too). ``store=False``: the model only
    (the other models of a run of several, whose store is pinned with the first:
    ``with_store_of``)."""
    workers_here = not remote if workers_here is None else workers_here
    paths = _PATHS if store else _PATHS[:1]
    with contextlib.ExitStack() as kept:
        pins = []
        if not remote:
            for what, field, _ in paths:
                path = getattr(job, field)
                if path is not None:
                    pin = _pin(what, field, str(path), kept)
                    if pin is not None:
                        pins.append(pin)
        read = {pin.field: pin.read for pin in pins}
        checked = {}
        for _, field, digest in paths:
            given = getattr(job, field)
            if field == "model_dir":
                # No --model where the workers are elsewhere: the bundled UPOS model of each
                # worker's own package, recorded by its task as --model bundled-ner is.
                given = left_out_recorded(given, workers_here)
            sha256 = _sha256(read.get(field, given), field, not remote)
            checked.update({field: None if sha256 is None else recorded_path(given),
                            digest: sha256})
        yield LaunchFiles(tuple(pins), BuiltAgainst(**checked), workers_here=not remote)


def _sha256(path, field, workers_here):
    """The SHA-256 of the small file the run compares of ``path`` (the TagJob ``field``);
    None where none is compared (``record_built_against``) or it cannot be read: the checks
    say why."""
    from beamtagger.transforms import worker_resources

    model_dir, store_path = (path, None) if field == "model_dir" else (None, path)
    try:
        recorded = worker_resources.record_built_against(model_dir, store_path, workers_here)
    except BeamtaggerError:
        return None
    return recorded.model_sha256 if field == "model_dir" else recorded.store_sha256


def _replaced_while_checked(what, given):
    return BeamtaggerError(f"{what} {given} was replaced while this run was being checked "
                           "(a train, model set-threshold or embeddings import writing it?); "
                           "nothing was tagged: run again once it is written")


def _pin(what, field, given, kept):
    """The ``_Pin`` of ``given``, its files kept until ``kept`` closes; None where nothing is
    pinned."""
    from beamtagger.transforms import worker_resources

    if worker_resources.is_remote(given):
        return _Pin(what, field, given, str(worker_resources.local_path(given)), None)
    local = worker_resources.local_path(given).resolve()   # "." names its copy too
    if not local.is_dir():
        return None   # the checks say what it is
    follow = _read(field)
    refusal = _unreadable(local, follow)
    if refusal is not None:
        raise BeamtaggerError(f"{what} {given}: {refusal}; nothing was tagged")
    files = _files(local, follow)
    try:
        copy = kept.enter_context(atomic_dirs.linked_copy(local, follow=follow))
    except BeamtaggerError as link:   # a file it reads is a link to nothing, or not to a file
        raise BeamtaggerError(f"{what} {given} cannot be read: {link}; nothing was tagged") \
            from None
    except OSError as link_error:
        if field != "model_dir":
            # Read in place, without a word: a store in a folder this user may not write (a
            # team's shared one, the usual case here) would warn on every run, and only its
            # owner can replace it (docs/tagging.md says what that does to a run).
            return None
        # In this user's staging folder, not a temp folder of its own: the copy a killed run
        # leaves there is removed by the next run that copies or stages there.
        where = "the staging folder"   # its refusal names it
        try:
            where = root = worker_resources.staging_root()
            # The files links lead to: a relative one (git-annex's, DVC's) led nowhere there.
            copy = kept.enter_context(atomic_dirs.held_copy(local, root, follow=follow))
        except (OSError, BeamtaggerError) as copy_error:
            # Read in place, as a store is: a full disk failed the run, which could tag.
            print(f"warning: {what} {given} is read where it is, not pinned for this run: "
                  f"no links beside it ({_reason(link_error)}) nor copy in {where} "
                  f"({_reason(copy_error)}); a model saved over it before the run ends may be "
                  "read by its workers", file=sys.stderr, flush=True)
            return None
        copied = _files(local, follow)   # the copy's files are new ones: the model's must not be
    else:
        copied = _files(copy, follow)
    if copied != files:   # a file replaced between the listing and its link or copy
        raise BeamtaggerError(f"{what} {given} was replaced as this run started; nothing "
                              "was tagged: run again once it is written")
    return _Pin(what, field, given, str(copy), files)


def _unreadable(folder, names):
    """``not_readable``'s refusal where this user may not read a file of ``names`` in
    ``folder`` (another user's model, mode 700 or 600: the folder is named where it may not
    be listed either), else None. Neither the links nor the copy below could be made of such a
    folder, and the run said only that it was not pinned; the first read then failed, exit 1,
    a line naming a file (or called tagger.keras damaged: train it again). A folder that may
    be searched but not listed (mode 711), its files readable, is read by name, not refused:
    the loaders open every file by name."""
    try:
        with os.scandir(folder):
            pass
    except OSError as error:
        not_listed = error
    else:
        not_listed = None
    try:
        for name in names:
            with contextlib.suppress(FileNotFoundError):   # the checks say
                # O_NONBLOCK: a link to a FIFO (refused below) would wait here for a writer.
                os.close(os.open(folder / name, os.O_RDONLY | os.O_NONBLOCK))
    except OSError as error:
        return not_readable(not_listed or error)
    return None


def _reason(error):
    """Why an OSError (or ``shutil.copytree``'s list of them) refused a link or copy."""
    if isinstance(error, BeamtaggerError):
        return str(error)   # the staging folder's refusal
    if isinstance(error, shutil.Error) and error.args and isinstance(error.args[0], list):
        return error.args[0][0][2]   # (source, destination, why) of its first file
    return f"{error.strerror or error}" + (
        f" ({errno.errorcode[error.errno]})" if error.errno in errno.errorcode else "")


def _files(folder, follow):
    """{path in ``folder``: (inode, size, modification time, device)} of its files: a file
    renamed over one of them (every beamtagger writer's way) is another inode. A link named
    in ``follow`` is the file it leads to (None where it leads to none); other links, and the
    pinned folder's ``.gitignore``, no reader opens."""
    found = {}
    for root, _, names in os.walk(folder):
        below = os.path.relpath(root, folder)
        for name in names:
            path = os.path.join(root, name)
            relative = name if below == os.curdir else os.path.join(below, name)
            followed = relative in follow
            if relative == atomic_dirs.PINNED_GITIGNORE or (
                    not followed and os.path.islink(path)):
                continue
            try:
                status = os.stat(path, follow_symlinks=followed)
            except OSError:
                found[relative] = None
                continue
            found[relative] = (status.st_ino, status.st_size, status.st_mtime_ns, status.st_dev)
    return found
