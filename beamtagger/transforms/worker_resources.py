"""The model and the embedding store as a worker sees them: defaults, remote copies, one per process.

``model_dir=None`` / ``store_path=None`` mean the bundled model (``DEFAULT_MODEL_DIR``, shipped
inside the package) and the default store (``ensure_default_store()``), resolved *on the
worker*, so a pipeline built on a laptop does not carry laptop paths to Dataflow. A
``bundled_models.BundledModel`` (the entity model, ``bundled-ner``) is resolved there too, to
the folder inside the worker's own installed package (``str`` and ``os.fspath`` give it).

Paths that FileSystems serves but the local disk does not (``gs://...``) are copied once to a
local folder per machine (then memory-mapped from there): every SDK process of a worker VM
reuses the first complete copy, because a copy is built in a temporary folder and renamed into
place atomically. The folder is named by the files' names, sizes and modification times too, so
a model or store saved again at the same path is copied again.

A process holds each copy it uses with a shared ``flock`` on the copy's lock file. Each process
that takes a copy of a path removes the other copies of that path that no process holds, so a
model saved again and again at one path leaves one copy per VM, plus those still in use, not one
per save. Without ``fcntl`` (Windows) nothing is locked and nothing removed.

``local_path`` lists the path at each call and hands out the process's copy of its files as
they are then (a model or store saved again there is staged again), and keeps each copy it
handed out for the process's life: the caller may read it at any time. The process's own readers
hold a use of the copy they read instead (``ModelDirUse``), for as long as they read it: a store
(``open_store``) while the store object lives, a model while ``load_spec`` or ``loaded_runner``
reads it (no runtime reads a model's files after loading), a RunInference handler copy while it
serves the model (``use_model_dir``: each handler copy releases its model's when it switches to
another). A copy no use holds is let go (the process forgets it, drops its lock and removes it
unless another process holds it), except the newest copy of a path that a store or a TagText
model came from, which the process keeps so that its next pipeline does not copy the path
again. So a model or store saved again and again at one path leaves the copies in use plus the
newest, where a notebook or launcher process held one per save for its life; and a streaming
job given a new model every hour (``model_metadata_pcoll``, ``watch_model_pattern``: a new
remote path at each update) keeps the copies in use plus the newest, where it kept one per
update for good and filled its disk. A path asked for again after its copy went is staged again.

A store's use ends when the store is garbage-collected, through ``weakref.finalize``; the
finalizer only queues the use (``queue.SimpleQueue.put``, safe in a finalizer), and the next
call here that takes the lock releases it. A finalizer that took the lock itself could deadlock:
the garbage collector runs finalizers on whatever thread allocates, which may hold the lock.
"""
import contextlib
import errno
import hashlib
import logging
import os
import pathlib
import queue
import shutil
import stat
import tempfile
import threading
import weakref

from beamtagger.bundled_models import BundledModel
from beamtagger.transforms.built_against import (BuiltAgainst, left_out_recorded, recorded_path,
                                                  sha256_of)

# A logger of its own, not the root one: logging.warning() on the root logger sets a handler up
# there (basicConfig) where none is, and the application's own logging.basicConfig(level=...,
# format=...) after it did nothing (a Tagger(runtime="jax") in a script or service).
logger = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:   # Windows: copies are kept
    fcntl = None

__all__ = ["BuiltAgainst", "ModelDirUse", "check_where_built", "is_remote", "load_spec",
           "loaded_runner", "local_model_dir", "local_path", "open_store",
           "record_built_against", "runs_on_this_machine", "use_model_dir"]

_LOCK = threading.Lock()
# Remote path -> the copies of it this process staged or took, the newest last.
_LOCAL_COPIES = {}
# Staged folder -> descriptor of its lock file, held shared while the process may read the copy:
# for its life where local_path handed the copy out, else while a use of it is held or it is
# the newest copy of a path in _KEEP_NEWEST.
_HELD_COPIES = {}
# Copies (their copy/ folders) that local_path handed out, kept for the process's life.
_KEPT_FOR_LIFE = set()
# Remote paths whose newest copy the process keeps while no use holds it: those a store or a
# TagText model came from, which the next pipeline of the process asks for again.
_KEEP_NEWEST = set()
# Copy (its copy/ folder) -> the ModelDirUses of it not yet released.
_COPY_USES = {}
# Uses whose holder was garbage-collected (a store), released at the next call under _LOCK.
_RELEASED_USES = queue.SimpleQueue()
# The folder of a copy: the files in copy/, the remote path they come from in source, the lock
# file in lock. Earlier versions' copies held the files themselves, without a record of their
# path: they are named apart (the layout is hashed in) and never removed, as their users
# (processes of an earlier version) take no lock.
_LAYOUT = "copy-source-lock"
_ATTEMPTS = 3
# What flock says on a file system that takes no locks.
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
_STORES_LOCK = threading.Lock()
_STORES = weakref.WeakValueDictionary()   # (store folder, manifest bytes) -> open store
_RUNNERS_LOCK = threading.Lock()
_RUNNERS = weakref.WeakValueDictionary()   # model files' identity -> loaded runner
# Loaded runner -> the feeds ((vector dtype, store fingerprint or None)) it was warmed up for.
_WARMED_FEEDS = weakref.WeakKeyDictionary()


def load_spec(model_dir=None, built_against=BuiltAgainst()):
    """TaggerSpec of ``model_dir`` (the bundled model when None); BeamtaggerError where it is
    not the model ``built_against`` recorded (``BuiltAgainst.check_model``)."""
    from beamtagger.model.tagger_spec import TaggerSpec
    with _model_files(model_dir) as directory:
        built_against.check_model(model_dir, directory)
        return TaggerSpec.load(directory)


def check_where_built(model_dir=None, store_path=None, allow_other_embeddings=False, *,
                      remote=False, pipeline=None) -> BuiltAgainst:
    """BeamtaggerError, where the pipeline is built, for a model directory or store that is
    there and that the workers would fail on: a folder that is not a model (no ``tagger.json``,
    a store given as the model, a corrupt or edited ``tagger.json``), one that is not a store,
    or a store the model cannot read (``TaggerSpec.check_store``): the messages
    ``beamtagger tag`` gives before launch, where a library pipeline failed only when it ran.

    A path that does not exist on this machine may exist on the workers only (in their
    container image): it is left to them. The default store (None) is not imported for this.
    Cheap, so a transform can call it where it is built: ``tagger.json`` and the store's
    manifest are read, the model itself is not (a fraction of a millisecond for the bundled
    model and the 400k-word default store).

    ``remote``: a remote path (``gs://``) is checked too, without copying it
    (``remote_paths``: a listing of its files and its small files, not the model file nor the
    matrix), and a local one beside it is checked again, against it: what TagText, TagBatches
    and TaggerModelHandler do where they are applied, unless given ``validate=False``. Without
    ``remote`` a remote path is not read (a transform is built without network access); with
    it, a call given no remote path reads nothing but a bundled model's ``tagger.json``
    (``BundledModel``: recorded for every worker to compare its own package's copy with; the
    model left out, None, is the UPOS one, so recorded where ``pipeline``'s workers are not
    this machine's, ``built_against.left_out_recorded``), and
    a ``gs://`` one is refused in seconds
    where this machine has no network to Cloud Storage (``cloud_access``), before Beam's
    client is asked (it retried the listing for 120 s, then failed with a ``RetryError``).
    Credentials are not checked, as ``beamtagger tag`` checks them unless ``--no_auth``: a
    library pipeline that reads a public bucket says so nowhere (Beam's ``--no_auth`` does
    not reach its file systems' client, which, finding no credentials, reads anonymously),
    and one that works would be refused; a private bucket read without them fails its
    listing, ``cannot read gs://... where the pipeline is built``.

    ``pipeline``: the pipeline being applied to (with ``remote``). Where its workers are this
    machine's processes (``runs_on_this_machine``), a local path that is not here is refused
    too: no image holds it, and a missing model failed the run at its first bundle, a
    traceback from the workers, after the pipeline had started.

    Returns, with ``remote``, what was checked (``record_built_against``), for the workers
    to find again when they load it (``built_against.py``); without, an empty
    ``BuiltAgainst``.
    """
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.transforms import remote_paths

    workers_here = pipeline is not None and runs_on_this_machine(pipeline)
    if remote:
        # The model left out is the bundled UPOS model, recorded by its task where the workers
        # are elsewhere: theirs is their own package's, which may be another version's.
        model_dir = left_out_recorded(model_dir, workers_here)
    any_remote = any(path is not None and is_remote(path) for path in (model_dir, store_path))
    # A bundled model is in every worker's installed package: recorded wherever they run.
    bundled = isinstance(model_dir, BundledModel)
    if remote and not (any_remote or workers_here or bundled):
        return BuiltAgainst()
    if remote and any_remote:
        _check_cloud_storage_reachable(model_dir, store_path)

    def readable(path):
        if path is None:
            return False
        if is_remote(path):
            return remote
        return workers_here or _exists_here(path)

    model_read, store_read = readable(model_dir), readable(store_path)
    spec = model_sha256 = store_sha256 = None
    if model_read and is_remote(model_dir):
        spec, model_sha256 = remote_paths.checked_model(model_dir)
    elif model_read or (model_dir is None and store_read):
        spec = load_spec(model_dir)   # the bundled model (None) is always here
    if store_read:
        store = (remote_paths.store_summary(store_path) if is_remote(store_path)
                 else EmbeddingStore.open(local_path(store_path)))
        if is_remote(store_path):
            store_sha256 = store.manifest_sha256
        if spec is not None:
            spec.check_store(store, allow_other_fingerprint=allow_other_embeddings,
                             model_location=model_dir if model_read and is_remote(model_dir)
                             else None)
    if not remote:
        return BuiltAgainst()
    # A remote path's files as checked; a local one's read again, after the checks, where the
    # workers read it (record_built_against).
    local = record_built_against(model_dir if model_read and not model_sha256 else None,
                                 store_path if store_read and not store_sha256 else None,
                                 workers_here)
    return BuiltAgainst(model_dir if model_sha256 else local.model_dir,
                        model_sha256 or local.model_sha256,
                        store_path if store_sha256 else local.store_path,
                        store_sha256 or local.store_sha256)


def record_built_against(model_dir, store_path, workers_here):
    """The ``BuiltAgainst`` of ``model_dir`` and ``store_path`` as they are now: the SHA-256
    of a remote one's small file (``tagger.json``, ``manifest.json``), of a bundled model's
    named by its task (``BundledModel``: each worker reads its own package's, which must be
    this one) and of a local one's where ``workers_here`` (a local path elsewhere is one in the
    workers' image, which this machine's file does not describe); None (nothing compared) for
    the others, the bundled UPOS model left out (None) and the default store.

    Read apart from the checks (after ``check_where_built``'s of a local path): a path
    replaced in between is recorded as replaced, and every worker reads that one or fails;
    none mixes it with the files checked. ``beamtagger tag`` records before its checks, which
    compare what they read with it (``launch_files``)."""
    from beamtagger.embeddings.store import MANIFEST_FILE, MANIFEST_MAX_BYTES
    from beamtagger.model.keras_archive import MAX_JSON_BYTES
    from beamtagger.model.tagger_spec import SPEC_FILE
    from beamtagger.transforms import remote_paths

    def sha256(path, name, limit):
        if path is None or not (is_remote(path) or workers_here
                                or isinstance(path, BundledModel)):
            return None
        if is_remote(path):
            return sha256_of(remote_paths.read_small_file(f"{str(path).rstrip('/')}/{name}"))
        try:
            return sha256_of(_at_most(local_path(path) / name, limit))
        except OSError:
            return None   # not there: the workers' load says so

    model_sha256 = sha256(model_dir, SPEC_FILE, MAX_JSON_BYTES)
    store_sha256 = sha256(store_path, MANIFEST_FILE, MANIFEST_MAX_BYTES)
    return BuiltAgainst(None if model_sha256 is None else recorded_path(model_dir),
                        model_sha256, None if store_sha256 is None else str(store_path),
                        store_sha256)


# Runners whose workers run on the machine that builds the pipeline: the DirectRunner (which
# hands batch pipelines to Prism in loopback) and the runners it falls back on, and any
# portable runner told --environment_type=LOOPBACK. Not Prism named alone, nor the
# InteractiveRunner: their workers may run in containers, which see none of this machine's files.
_RUNNERS_HERE = ("", "DirectRunner", "SwitchingDirectRunner", "BundleBasedDirectRunner",
                 "FnApiRunner", "TestDirectRunner")
# The DirectRunner's Prism starts its workers in the environment the options name; these two
# may be elsewhere (a container whose image holds the model, a worker pool), so a path missing
# here is left to them. The FnApiRunner and BundleBasedDirectRunner run every worker in this
# process whatever is named.
_ENVIRONMENTS_ELSEWHERE = ("DOCKER", "EXTERNAL")
_RUNNERS_OF_PRISM = ("", "DirectRunner", "SwitchingDirectRunner", "TestDirectRunner")


def runs_on_this_machine(pipeline):
    """Whether ``pipeline``'s workers run on this machine, reading its files."""
    return workers_on_this_machine(pipeline.options, pipeline.runner)


def workers_on_this_machine(options, runner=None):
    """Whether the workers of a pipeline of ``options`` run on this machine, reading its
    files; ``runner``: the pipeline's runner object, where the options name none."""
    from apache_beam.options.pipeline_options import PortableOptions

    from beamtagger.worker_threads import runner_name, runner_of

    environment = (options.view_as(PortableOptions).environment_type or "").upper()
    if environment == "LOOPBACK":
        return True
    runner = runner_name(runner_of(options, runner))
    if environment in _ENVIRONMENTS_ELSEWHERE and runner in _RUNNERS_OF_PRISM:
        return False
    return runner in _RUNNERS_HERE


def _check_cloud_storage_reachable(*paths):
    from beamtagger.cloud_access import unreachable_cloud_storage
    from beamtagger.errors import BeamtaggerError

    problem = unreachable_cloud_storage(paths)
    if problem:
        raise BeamtaggerError(f"{problem}; or pass validate=False to leave the check to the "
                              "workers")


def _exists_here(path):
    return not is_remote(path) and os.path.lexists(local_path(path))


def local_model_dir(model_dir=None):
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR
    return DEFAULT_MODEL_DIR if model_dir is None else local_path(model_dir)


@contextlib.contextmanager
def _model_files(model_dir):
    """The local directory of ``model_dir`` while the block reads it: a remote model's copy is
    held by a use for that long, and its path's newest copy kept after."""
    if model_dir is None or not is_remote(model_dir):
        yield local_model_dir(model_dir)
        return
    use = _take_use(str(model_dir), keep_newest=True)
    try:
        yield use.directory
    finally:
        use.release()


def loaded_runner(model_dir=None, runtime="tensorflow", threads=None, *,
                  vector_dtype="float32", store=None, built_against=BuiltAgainst()):
    """The runner of ``model_dir`` for ``runtime`` (``model.runtimes``: TensorFlow's
    ``TaggerRunner``, the NumPy or the JAX runner), shared within the process while anyone
    holds it, warmed up for the batches its caller will feed it: vectors in ``vector_dtype``,
    or, with ``store`` (the tag stage's ``vectors_at="tag"``), store rows of ``store``
    gathered in ``vector_dtype`` (the runner fed by them, ``runtimes.fed_by_store_rows``, is
    returned then). ``threads``: TensorFlow's threads, given to the runtime's process set-up.

    Warmed up for what it will run, not for a guess: each program (TensorFlow's trace per
    vector dtype, JAX's per vector dtype or store table) costs a trace or an XLA compile (1-2
    s a shape on a GPU), and one warmed up for nothing was paid by every fresh process while
    the program used was compiled on the first batch. A runner shared by stages fed
    differently is warmed up once for each feed. The warm-up runs a tiny batch, so a broken
    set-up (JAX's device, its compilation, the store's table on the device) fails here, at
    load, and the tag stage's run with it, not on the first batch, which the stage would
    retry record by record, every record a dead letter.

    Loading imports the framework, reads the model and traces or compiles its function (0.4-0.6
    s for the tiny test model with TensorFlow, more for real ones); a process that builds several
    pipelines, or a RunInference handler beside TagText, would pay it once for each. The key is
    the runtime, the model directory and its files' identity (``tagger.json``'s bytes, which
    hold ``tagger.keras``'s SHA-256, and ``tagger.keras``'s size and modification time), so a
    model saved over the old one in the same local folder is loaded afresh. A remote model
    (``gs://``) is staged by ``local_path``, again where its files changed, so one saved over it
    is loaded afresh by the next pipeline of the process too. A caller that lets the copy go once loaded
    (TaggerModelHandler, at a model update) passes the directory of a ``use_model_dir``
    instead. A remote ``model_dir``'s copy is held while the runner loads: nothing reads the
    model's files once its runner is loaded, and an older copy of the path goes once unused.
    ``built_against``: BeamtaggerError, before the load, where ``model_dir`` is not the model
    the pipeline recorded where it was built (``BuiltAgainst.check_model``).
    """
    with _model_files(model_dir) as local:
        built_against.check_model(model_dir, local)
        return _loaded_runner(pathlib.Path(local).resolve(), runtime, threads, vector_dtype,
                              store)


def _loaded_runner(directory, runtime, threads, vector_dtype, store):
    from beamtagger.model import runtimes

    identity = model_identity(directory)
    key = None if identity is None else (runtime, identity)  # None: the load says what is missing
    feed = (vector_dtype, None if store is None else store.fingerprint)
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key) if key is not None else None
        if runner is None:
            runner = runtimes.load_runner(runtime, directory, threads)
        warmed = _WARMED_FEEDS.setdefault(runner, set())
        if feed in warmed:
            fed = runner if store is None else runtimes.fed_by_store_rows(runner, store,
                                                                          vector_dtype)
        else:
            fed = runtimes.warmed_up_for(runner, vector_dtype, store)
            warmed.add(feed)
        # Kept once warmed up: a runner whose first warm-up failed is loaded again next time.
        if key is not None:
            _RUNNERS[key] = runner
        return fed


def model_identity(directory):
    """What tells a model directory's files apart from those saved over them later: the path,
    ``tagger.json``'s bytes (which hold ``tagger.keras``'s SHA-256), ``tagger.keras``'s size and
    modification time; None where they cannot be read."""
    from beamtagger.model.keras_archive import MAX_JSON_BYTES
    from beamtagger.model.tagger_spec import SPEC_FILE

    directory = pathlib.Path(directory)
    try:
        weights = (directory / "tagger.keras").stat()
        spec = _at_most(directory / SPEC_FILE, MAX_JSON_BYTES)
    except OSError:
        return None
    # One larger than any tagger.json train writes is refused by the load that follows.
    return None if spec is None else (str(directory), spec, weights.st_size,
                                      weights.st_mtime_ns)


def _at_most(path, limit):
    """``path``'s bytes, or None where it holds more than ``limit``: a key read whole from a
    file someone else wrote took its size in memory (a 1 GB manifest: 1.28 GB in `tag`)
    before the check that refuses it."""
    with open(path, "rb") as stream:
        content = stream.read(limit + 1)
    return content if len(content) <= limit else None


class ModelDirUse:
    """A use of a model directory (``use_model_dir``) or of a remote path's copy:
    ``directory`` is where to read it, until ``release``. Held by a RunInference handler copy
    for the model it serves, by a store for the copy it is opened from.

    Args:
      model_dir: the model directory or remote path as given (None: the bundled model).
      directory: its local directory (a staged copy for a remote one).
    """

    def __init__(self, model_dir, directory):
        self.model_dir = model_dir
        self.directory = directory

    def release(self):
        """Ends this use (again: nothing). The last use of a copy lets it go, unless
        ``local_path`` handed it out or it is its path's newest copy kept for the next
        pipeline (see the module's docstring): this process forgets it, drops its lock, and
        removes it if no other process holds it; a later use stages the path again."""
        with _LOCK:
            _release_collected()
            _end_use(self)


def use_model_dir(model_dir=None):
    """A ``ModelDirUse`` of ``model_dir``: its local directory (the bundled model for None, a
    staged copy for a remote path), which stays until the use is released."""
    if model_dir is None or not is_remote(model_dir):
        return ModelDirUse(model_dir, local_model_dir(model_dir))
    return _take_use(str(model_dir), keep_newest=False)


def _take_use(path, keep_newest):
    """A ``ModelDirUse`` of the remote ``path``'s copy as its files are now; with
    ``keep_newest``, the path's newest copy stays held once unused."""
    with _LOCK:
        _release_collected()
        use = ModelDirUse(path, _staged_copy(path))
        _COPY_USES.setdefault(use.directory, []).append(use)
        if keep_newest:
            _KEEP_NEWEST.add(path)
        _let_unused_copies_go(path)
        return use


def _end_use(use):
    """Under ``_LOCK``."""
    uses = _COPY_USES.get(use.directory)
    if uses is None or use not in uses:
        return
    uses.remove(use)
    if not uses:
        del _COPY_USES[use.directory]
        _let_unused_copies_go(str(use.model_dir))


def _release_collected():
    """Ends the uses whose holders were garbage-collected since the last call; under
    ``_LOCK``."""
    while True:
        try:
            use = _RELEASED_USES.get_nowait()
        except queue.Empty:
            return
        _end_use(use)


def _let_unused_copies_go(path):
    """Lets go of the copies of ``path`` that no use holds, but those ``local_path`` handed out
    and the newest where the path is in ``_KEEP_NEWEST``; under ``_LOCK``."""
    copies = _LOCAL_COPIES.get(path, [])
    newest = copies[-1] if copies and path in _KEEP_NEWEST else None
    kept = [copy for copy in copies
            if copy in _COPY_USES or copy in _KEPT_FOR_LIFE or copy == newest]
    for copy in copies:
        if copy not in kept:
            _let_staged_go(path, copy.parent)
    if kept:
        _LOCAL_COPIES[path] = kept
    else:
        _LOCAL_COPIES.pop(path, None)


def _let_staged_go(path, staged):
    descriptor = _HELD_COPIES.pop(staged, None)
    if descriptor is not None:
        os.close(descriptor)
    if fcntl is None:
        return
    try:
        _remove_if_unused(staged)
    except FileNotFoundError:
        pass   # another process, staging a newer copy of the path, removed it first
    except OSError as error:
        logger.warning("beamtagger: staged copy %s of %s, no longer used, not removed: %s",
                       staged, path, error)


def open_store(store_path=None, built_against=BuiltAgainst()):
    """The memory-mapped EmbeddingStore at ``store_path`` (the default store when None),
    shared within the process while anyone holds it: a RunInference model held through Beam's
    ``MultiProcessShared`` (``large_model``, ``model_copies``) is never released by Beam, and
    each model update's ``load_model`` mapped the store once more (one mapping and its pages
    per update, for the process's life). A store saved again (another manifest) is opened
    afresh. A remote store's copy is held while the store object lives (it reads its
    vocabulary when first asked, and is pickled as its path). ``built_against``:
    BeamtaggerError where ``store_path`` is not the store the pipeline recorded where it was
    built (``BuiltAgainst.check_store``)."""
    from beamtagger.embeddings.default import default_store_path
    from beamtagger.embeddings.default import open_store as open_local_store
    if store_path is None or not is_remote(store_path):
        folder = default_store_path() if store_path is None else local_path(store_path)
        built_against.check_store(store_path, folder)
        return _shared_store(folder, lambda: open_local_store(
            None if store_path is None else folder))[0]
    use = _take_use(str(store_path), keep_newest=True)
    try:
        built_against.check_store(store_path, use.directory)
        store, opened = _shared_store(use.directory, lambda: open_local_store(use.directory))
    except BaseException:
        use.release()
        raise
    if not opened:   # the shared store holds a use of its own
        use.release()
        return store
    # Queued only: a finalizer runs on whatever thread the collector interrupts, which may
    # hold _LOCK (not reentrant), so it must not take it.
    weakref.finalize(store, _RELEASED_USES.put, use)
    return store


def _shared_store(folder, open_it):
    """(the process's open store of ``folder``, whether this call opened it): one while
    anyone holds it, by the folder and its manifest's bytes."""
    from beamtagger.embeddings.store import MANIFEST_FILE, MANIFEST_MAX_BYTES

    try:
        manifest = _at_most(pathlib.Path(folder) / MANIFEST_FILE, MANIFEST_MAX_BYTES)
        key = (str(pathlib.Path(folder).resolve()), manifest)
    except OSError:
        return open_it(), True   # the open says what is missing, or imports the default
    if manifest is None:
        return open_it(), True   # the open refuses a manifest that large
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is not None:
            return store, False
        store = open_it()
        _STORES[key] = store
        return store, True


class OpenedStore:
    """An EmbeddingStore opened once per worker process through ``apache_beam.utils.shared``,
    whose ``Shared.acquire`` needs a weak-referenceable object (a NumPy memmap is not always
    one). Every stage that reads the store (AttachVectors, and TagBatches gathering store
    rows) holds it so, and the OS pages its vectors in once per machine."""

    def __init__(self, store):
        self.store = store


def acquire_store(shared_handle, store_path=None, built_against=BuiltAgainst()):
    """The process's ``OpenedStore`` of ``store_path`` from ``shared_handle`` (a
    ``shared.Shared``), opened on first use (``open_store``: checked against ``built_against``)."""
    return shared_handle.acquire(lambda: OpenedStore(open_store(store_path, built_against)))


def is_remote(path):
    return "://" in str(path) and not str(path).startswith("file://")


def local_path(path):
    """``path`` itself when local; else a local copy of the remote file or folder it names."""
    path = str(path)
    if not is_remote(path):
        # "~/models/ner" as the store, saving and importing read it (a model given so was
        # "does not exist" where its store, given the same way, was found).
        return pathlib.Path(path[len("file://"):] if path.startswith("file://")
                            else path).expanduser()
    with _LOCK:
        _release_collected()
        copy = _staged_copy(path)
        _KEPT_FOR_LIFE.add(copy)
        return copy


def _staged_copy(path):
    """The process's copy of the remote ``path`` as its files are now, staged if it has none;
    under ``_LOCK``.

    The path is listed at each call (one listing; nothing is copied while its files' names,
    sizes and times are those of a copy the process holds): kept by path alone, a model or
    store saved again there was served from the first copy for the rest of the process, so a
    second ``beamtagger tag`` run or pipeline in one process (a notebook, a launcher) tagged
    with the old model and checked the old files before launch. Its earlier copies stay
    held until the caller lets them go (``_let_unused_copies_go``): a store may still be
    memory-mapped from one."""
    copy = _copy_to_local(path)
    copies = _LOCAL_COPIES.setdefault(path, [])
    if copy in copies:
        copies.remove(copy)
    copies.append(copy)   # the newest last, where the path's files came back to an earlier copy's
    return copy


def _copy_to_local(path):
    from apache_beam.io.filesystems import FileSystems

    from beamtagger.errors import BeamtaggerError, no_file_system

    prefix = path.rstrip("/")
    try:
        matched = FileSystems.match([prefix + "/**"])[0].metadata_list
    except ValueError as error:
        # No file system for the scheme in this process (gs:// without Beam's GCP packages):
        # it escaped as a traceback.
        raise BeamtaggerError(f"cannot read {path}: {no_file_system(path) or error}") from None
    if not matched:
        raise BeamtaggerError(f"{path}: nothing found there")
    # Named by the files' names, sizes and times as well as the path: named by the path alone,
    # a model saved again there was served from the first copy by every later run on the
    # machine (the copy outlives the process).
    listing = sorted((metadata.path, metadata.size_in_bytes, metadata.last_updated_in_seconds)
                     for metadata in matched)
    root = staging_root()
    staged = root / hashlib.sha256(repr((_LAYOUT, path, listing)).encode()).hexdigest()[:16]
    # Another process may remove the copy between finding it and locking it (it was not in
    # use then, and a newer copy of the path had just been made): it is staged afresh.
    for _ in range(_ATTEMPTS):
        if _hold(staged) or _stage(staged, prefix, matched):
            _remove_unused_copies(root, prefix, keep=staged)
            return staged / "copy"
    raise BeamtaggerError(f"cannot stage {path}: its copy in {root} was removed by another "
                          f"process each of {_ATTEMPTS} times")


def staging_folder_name():
    """The name of this user's folder of staged copies, in ``BEAMTAGGER_STAGING`` or the temp
    dir."""
    return f"beamtagger-staged-{os.getuid()}" if hasattr(os, "getuid") else "beamtagger-staged"


def staging_root():
    """The folder of this user's staged copies, made private where it is new; BeamtaggerError
    where another user owns it or can write in it. A shared temp dir's ``beamtagger-staged``,
    one name for every user, let another user block every staging there or plant a "copy"
    under the name a listing hashes to (its path, sizes and times are no secret), which the
    runs then loaded as the model or store. The name carries the user id, in
    ``BEAMTAGGER_STAGING`` too: users sharing a larger disk there got one folder, and the
    first user's refused every other."""
    from beamtagger.errors import BeamtaggerError

    uid = os.getuid() if hasattr(os, "getuid") else None
    root = pathlib.Path(os.environ.get("BEAMTAGGER_STAGING") or tempfile.gettempdir(),
                        staging_folder_name())
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = os.lstat(root)
    except OSError as error:
        raise BeamtaggerError(f"cannot make the staging folder {root}: "
                              f"{error.strerror or error}") from None
    if uid is None:
        return root
    if not stat.S_ISDIR(status.st_mode):
        problem = "is no folder (a link or a file)"
    elif status.st_uid != uid:
        problem = f"belongs to another user (uid {status.st_uid})"
    elif status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = "is writable by other users"
    else:
        return root
    raise BeamtaggerError(f"staging folder {root} {problem}: a copy there could have been "
                          "put there by someone else; remove it, or set BEAMTAGGER_STAGING "
                          "to a folder of your own")


def _stage(staged, prefix, matched):
    """Copies ``matched`` (the files below ``prefix``) into the new folder ``staged``, holding
    it from the start; False if another process published it first."""
    from beamtagger import atomic_dirs

    # Named after this process, so the next copy beside it removes what a killed one left.
    building = atomic_dirs.building_dir(staged, "staging")
    descriptor = None
    try:
        for metadata in matched:
            relative = metadata.path[len(prefix):].lstrip("/")
            destination = building / "copy" / relative
            if not relative or relative.endswith("/"):
                # GCS has no folders: an empty object named "folder/" (the Cloud console's,
                # TensorFlow's gfile.makedirs) stands for one. Copied as a file, it took the
                # name of the folder the files below it needed.
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with _open_listed(metadata.path) as source, open(destination, "wb") as out:
                while chunk := _read_listed(source, metadata.path):
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


def _open_listed(path):
    """The listed file ``path``, open to read; BeamtaggerError where the file system's error
    is no OSError. Beam 2.77's gs:// reader asks for the object's metadata as it opens (2.78's
    opens without a request): an object deleted since the listing raised the storage
    client's NotFound here on 2.77, a traceback."""
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    try:
        # UNCOMPRESSED: a staged .gz must stay a .gz, not be inflated on the way.
        return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    except OSError:
        raise   # the CLI names it as it is (a full disk, exit status 1)
    except Exception as error:  # noqa: BLE001  (each file system raises its own)
        raise _listed_unreadable(path, error) from None


def _read_listed(source, path):
    """The next chunk of the listed file ``path`` open as ``source``; BeamtaggerError where it
    cannot be read. Beam 2.78's gs:// reader opens without a request: an object deleted since
    the listing raised the storage client's InvalidResponse (no OSError) here, a traceback."""
    try:
        return source.read(1 << 24)
    except Exception as error:  # noqa: BLE001  (each file system raises its own)
        raise _listed_unreadable(path, error) from None


def _listed_unreadable(path, error):
    from beamtagger.errors import BeamtaggerError

    # One line: Beam's and the storage client's errors may spread over several.
    return BeamtaggerError(f"cannot read {path}, listed a moment before: "
                           f"{' '.join(str(error).split())}")


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
        logger.warning("beamtagger: old staged copies of %s not removed: %s", source, error)
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
            logger.warning("beamtagger: old staged copy %s of %s not removed: %s", copy,
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
