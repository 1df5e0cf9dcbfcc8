"""The model and the embedding store as a worker sees them: defaults, remote copies, one per process.

``model_dir=None`` / ``store_path=None`` mean the bundled model (``DEFAULT_MODEL_DIR``, shipped
inside the package) and the default store (``ensure_default_store()``), resolved *on the
worker*, so a pipeline built on a laptop does not carry laptop paths to Dataflow.

Paths that FileSystems serves but the local disk does not (``gs://...``) are copied once to a
local folder per machine (then memory-mapped from there): every SDK process of a worker VM
reuses the first complete copy, because a copy is built in a temporary folder and renamed into
place atomically. The folder is named by the files' names, sizes and modification times too, so
a model or store saved again at the same path is copied again.

A process keeps every copy it uses for its life (``local_path`` hands out one copy of a path per
process), and says so with a shared ``flock`` on the copy's lock file. Each process that takes a
copy of a path removes the other copies of that path that no process holds, so a model saved
again and again at one path leaves one copy per VM, plus those still in use, not one per save.
Without ``fcntl`` (Windows) nothing is locked and nothing removed.
"""
import errno
import hashlib
import logging
import os
import pathlib
import shutil
import tempfile
import threading
import weakref

try:
    import fcntl
except ImportError:   # Windows: copies are kept
    fcntl = None

__all__ = ["check_where_built", "is_remote", "load_spec", "loaded_runner", "local_model_dir",
           "local_path", "open_store"]

_LOCK = threading.Lock()
_LOCAL_COPIES = {}
# Staged folder -> descriptor of its lock file, held shared for the process's life: the process
# may read the copy until it ends, since local_path hands out the same copy of a path until then.
_HELD_COPIES = {}
# The folder of a copy: the files in copy/, the remote path they come from in source, the lock
# file in lock. Earlier versions' copies held the files themselves, without a record of their
# path: they are named apart (the layout is hashed in) and never removed, as their users
# (processes of an earlier version) take no lock.
_LAYOUT = "copy-source-lock"
_ATTEMPTS = 3
# What flock says on a file system that takes no locks.
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
_RUNNERS_LOCK = threading.Lock()
_RUNNERS = weakref.WeakValueDictionary()   # model files' identity -> warmed-up TaggerRunner


def load_spec(model_dir=None):
    """TaggerSpec of ``model_dir`` (the bundled model when None)."""
    from beamtagger.model.tagger_spec import TaggerSpec
    return TaggerSpec.load(local_model_dir(model_dir))


def check_where_built(model_dir=None, store_path=None, allow_other_embeddings=False):
    """BeamtaggerError, where the pipeline is built, for a model directory or store that is
    there and that the workers would fail on: a folder that is not a model (no ``tagger.json``,
    a store given as the model, a corrupt or edited ``tagger.json``), one that is not a store,
    or a store the model cannot read (``TaggerSpec.check_store``): the messages
    ``beamtagger tag`` gives before launch, where a library pipeline failed only when it ran.

    Only a path that exists on this machine is checked: one that does not may exist on the
    workers only (in their container image), and a remote one (``gs://``) is read by them;
    both are checked where they are read, on the workers (``beamtagger tag`` checks remote
    ones before launch too, on a copy). The default store (None) is not imported for this.
    Cheap, so a transform can call it where it is built: ``tagger.json`` and the store's
    manifest are read, the model itself is not (a fraction of a millisecond for the bundled
    model and the 400k-word default store).
    """
    from beamtagger.embeddings.store import EmbeddingStore

    model_here = model_dir is not None and _exists_here(model_dir)
    store_here = store_path is not None and _exists_here(store_path)
    # The bundled model (None) is always here, and a store is checked against it.
    spec = load_spec(model_dir) if model_here or (model_dir is None and store_here) else None
    if store_here:
        store = EmbeddingStore.open(local_path(store_path))
        if spec is not None:
            spec.check_store(store, allow_other_fingerprint=allow_other_embeddings)


def _exists_here(path):
    return not is_remote(path) and os.path.lexists(local_path(path))


def local_model_dir(model_dir=None):
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR
    return DEFAULT_MODEL_DIR if model_dir is None else local_path(model_dir)


def loaded_runner(model_dir=None, runtime="tensorflow", threads=None):
    """The warmed-up runner of ``model_dir`` for ``runtime`` (``model.runtimes``: TensorFlow's
    ``TaggerRunner``, the NumPy or the JAX runner), shared within the process while anyone
    holds it. ``threads``: TensorFlow's threads, given to the runtime's process set-up.

    Loading imports the framework, reads the model and traces or compiles its function (0.4-0.6
    s for the tiny test model with TensorFlow, more for real ones); a process that builds several
    pipelines, or a RunInference handler beside TagText, would pay it once for each. The key is
    the runtime, the model directory and its files' identity (``tagger.json``'s bytes, which
    hold ``tagger.keras``'s SHA-256, and ``tagger.keras``'s size and modification time), so a
    model saved over the old one in the same local folder is loaded afresh. A remote model
    (``gs://``) is staged once per process (``local_path``): one saved over it is seen by
    processes started after, not by this one.
    """
    from beamtagger.model import runtimes

    directory = pathlib.Path(local_model_dir(model_dir)).resolve()
    identity = model_identity(directory)
    key = None if identity is None else (runtime, identity)  # None: the load says what is missing
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key) if key is not None else None
        if runner is None:
            runner = runtimes.load_runner(runtime, directory, threads)
            runner.warm_up()
            if key is not None:
                _RUNNERS[key] = runner
        return runner


def model_identity(directory):
    """What tells a model directory's files apart from those saved over them later: the path,
    ``tagger.json``'s bytes (which hold ``tagger.keras``'s SHA-256), ``tagger.keras``'s size and
    modification time; None where they cannot be read."""
    from beamtagger.model.tagger_spec import SPEC_FILE

    directory = pathlib.Path(directory)
    try:
        stat = (directory / "tagger.keras").stat()
        return (str(directory), (directory / SPEC_FILE).read_bytes(), stat.st_size,
                stat.st_mtime_ns)
    except OSError:
        return None


def open_store(store_path=None):
    """The memory-mapped EmbeddingStore at ``store_path`` (the default store when None)."""
    from beamtagger.embeddings.default import open_store as open_local_store
    return open_local_store(None if store_path is None else local_path(store_path))


def is_remote(path):
    return "://" in str(path) and not str(path).startswith("file://")


def local_path(path):
    """``path`` itself when local; else a local copy of the remote file or folder it names."""
    path = str(path)
    if not is_remote(path):
        return pathlib.Path(path[len("file://"):] if path.startswith("file://") else path)
    with _LOCK:
        if path not in _LOCAL_COPIES:
            _LOCAL_COPIES[path] = _copy_to_local(path)
        return _LOCAL_COPIES[path]


def _copy_to_local(path):
    from apache_beam.io.filesystems import FileSystems

    from beamtagger.errors import BeamtaggerError

    prefix = path.rstrip("/")
    try:
        matched = FileSystems.match([prefix + "/**"])[0].metadata_list
    except ValueError as error:
        # No file system for the scheme in this process (gs:// without Beam's GCP packages):
        # Beam's message names what to install; it escaped as a traceback.
        raise BeamtaggerError(f"cannot read {path}: {error}") from None
    if not matched:
        raise BeamtaggerError(f"{path}: nothing found there")
    # Named by the files' names, sizes and times as well as the path: named by the path alone,
    # a model saved again there was served from the first copy by every later run on the
    # machine (the copy outlives the process).
    listing = sorted((metadata.path, metadata.size_in_bytes, metadata.last_updated_in_seconds)
                     for metadata in matched)
    root = pathlib.Path(os.environ.get("BEAMTAGGER_STAGING", tempfile.gettempdir()),
                        "beamtagger-staged")
    staged = root / hashlib.sha256(repr((_LAYOUT, path, listing)).encode()).hexdigest()[:16]
    # Another process may remove the copy between finding it and locking it (it was not in
    # use then, and a newer copy of the path had just been made): it is staged afresh.
    for _ in range(_ATTEMPTS):
        if _hold(staged) or _stage(staged, prefix, matched):
            _remove_unused_copies(root, prefix, keep=staged)
            return staged / "copy"
    raise BeamtaggerError(f"cannot stage {path}: its copy in {root} was removed by another "
                          f"process each of {_ATTEMPTS} times")


def _stage(staged, prefix, matched):
    """Copies ``matched`` (the files below ``prefix``) into the new folder ``staged``, holding
    it from the start; False if another process published it first."""
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    from beamtagger import atomic_dirs

    # Named after this process, so the next copy beside it removes what a killed one left.
    building = atomic_dirs.building_dir(staged, "staging")
    descriptor = None
    try:
        for metadata in matched:
            relative = metadata.path[len(prefix):].lstrip("/")
            destination = building / "copy" / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            # UNCOMPRESSED: a staged .gz must stay a .gz, not be inflated on the way.
            with FileSystems.open(metadata.path, compression_type=CompressionTypes.UNCOMPRESSED
                                  ) as source, open(destination, "wb") as out:
                while chunk := source.read(1 << 24):
                    out.write(chunk)
        (building / "source").write_bytes(os.fsencode(prefix))
        descriptor = os.open(building / "lock", os.O_RDONLY | os.O_CREAT, 0o644)
        # Taken before the rename: no moment where the published copy looks unused.
        _lock_shared(descriptor)
        os.rename(building, staged)
    except BaseException as error:
        if descriptor is not None:
            os.close(descriptor)
        shutil.rmtree(building, ignore_errors=True)
        if isinstance(error, OSError) and staged.exists():
            return False   # another process finished first
        raise
    _HELD_COPIES[staged] = descriptor
    return True


def _hold(staged):
    """True if ``staged`` is a published copy, which the process then holds for its life."""
    if staged in _HELD_COPIES:
        return True
    if fcntl is None:
        return (staged / "copy").is_dir()
    try:
        descriptor = os.open(staged / "lock", os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        # Waits only while another process sets the copy aside to remove it.
        held = not _lock_shared(descriptor) or _is_lock_of(descriptor, staged)
    except BaseException:
        os.close(descriptor)
        raise
    if not held:   # removed while this process waited
        os.close(descriptor)
        return False
    _HELD_COPIES[staged] = descriptor
    return True


def _lock_shared(descriptor):
    """A shared flock on ``descriptor``; False, without one, where there is no fcntl or the
    staging folder's file system takes no locks (ENOLCK and the like: some network file
    systems). An unlocked copy is still used; it only looks unused to the others' clean-up,
    which then cannot take its exclusive lock either and removes nothing there."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH)
    except OSError as error:
        if error.errno not in _NO_LOCKS:
            raise
        return False
    return True


def _is_lock_of(descriptor, staged):
    try:
        published = os.stat(staged / "lock")
    except OSError:
        return False
    opened = os.fstat(descriptor)
    return (published.st_dev, published.st_ino) == (opened.st_dev, opened.st_ino)


def _remove_unused_copies(root, source, keep):
    """Removes the copies of ``source`` in ``root``, other than ``keep``, that no process
    holds. A failure only logs: the copy the caller asked for is there."""
    if fcntl is None:
        return
    try:
        entries = list(os.scandir(root))
    except OSError as error:
        logging.warning("beamtagger: old staged copies of %s not removed: %s", source, error)
        return
    for entry in entries:
        if entry.name.startswith(".") or entry.name == keep.name:
            continue   # folders being built or removed, and the copy just taken
        copy = pathlib.Path(entry.path)
        try:
            if (copy / "source").read_bytes() != os.fsencode(source):
                continue
        except OSError:
            continue   # not a copy of this layout
        try:
            _remove_if_unused(copy)
        except OSError as error:
            logging.warning("beamtagger: old staged copy %s of %s not removed: %s", copy,
                            source, error)


def _remove_if_unused(copy):
    from beamtagger import atomic_dirs

    descriptor = os.open(copy / "lock", os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return   # a process uses it
        except OSError as error:
            if error.errno in _NO_LOCKS:
                return   # no locks here: whether a process uses it cannot be known
            raise
        if _is_lock_of(descriptor, copy):
            # Renamed aside under the lock: a process that takes the lock after finds no copy
            # and stages its own, rather than reading one being deleted.
            atomic_dirs.remove(copy)
    finally:
        os.close(descriptor)
