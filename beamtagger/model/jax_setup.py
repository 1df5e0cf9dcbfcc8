"""Setting JAX up for the tag stage, once per process, before it starts its backend.

Two process-wide settings, made by ``configure_jax`` (the jax runtime's set-up step,
``model.runtimes``) before ``jax`` is first imported by beamtagger:

* **GPU memory.** JAX preallocates 75% of a GPU's memory when its backend starts, so the
  first of several SDK processes sharing a GPU would take most of it and the others would fail
  to allocate. ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` makes each process take what its
  batches need (the role ``TF_FORCE_GPU_ALLOW_GROWTH`` plays for TensorFlow). A setting the
  user made (``XLA_PYTHON_CLIENT_PREALLOCATE``, ``XLA_PYTHON_CLIENT_MEM_FRACTION`` or
  ``XLA_PYTHON_CLIENT_ALLOCATOR``) is kept. Environment variables only act before the
  backend starts: where JAX already runs in the process, a warning says so.
* **Compiled code on local disk.** JAX's persistent compilation cache, so that every worker
  process of a machine, and the next run, loads the grid's compiled shapes instead of
  compiling them again (1-2 s a shape on an H200, issue 17). Its folder:
  ``$BEAMTAGGER_JAX_CACHE``, else ``$BEAMTAGGER_CACHE/jax-compilation`` (default cache
  ``~/.cache/beamtagger``; an empty variable counts as unset, ``~`` as the home directory);
  ``BEAMTAGGER_JAX_CACHE=off`` turns it off, and a folder the user
  gave JAX itself (``JAX_COMPILATION_CACHE_DIR``) is kept. Every compiled shape is written, not
  only those that took over a second to compile (JAX's default): on a CPU each takes less.
  JAX writes an entry in place and never writes over one that exists, so an entry cut short
  (a process killed while writing it, a disk that filled) would make every later process warn
  and compile that shape again; ``drop_unreadable_entries`` removes such entries when a
  process sets JAX up, once they are 10 s old. Content cannot tell an entry cut short from one
  another process is still writing (both fail to decompress), and neither can the failed
  write: JAX only warns, without the entry's path.
  A folder the process may only read is still read, and one warning says so.
"""
import logging
import os
import pathlib
import tempfile
import time
import warnings

from beamtagger.cache_folder import cache_folder
from beamtagger.errors import BeamtaggerError

# A logger of its own, not the root one: logging.warning() on the root logger sets a handler up
# there (basicConfig) where none is, and the application's own logging.basicConfig(level=...,
# format=...) after it did nothing (a Tagger(runtime="jax") in a script or service).
logger = logging.getLogger(__name__)

_MEMORY_SETTINGS = ("XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION",
                    "XLA_PYTHON_CLIENT_ALLOCATOR")
_CACHE_OFF = ("off", "none", "0", "false")
# The warning named no way out: a user whose home or XDG_CACHE_HOME is not writable saw it in
# every run.
_CACHE_ADVICE = ("; set BEAMTAGGER_JAX_CACHE (or BEAMTAGGER_CACHE) to a folder this user may "
                 "write, or BEAMTAGGER_JAX_CACHE=off")


def configure_jax(threads=None):
    """Memory and compilation-cache settings; ``threads`` is TensorFlow's knob and unused here.
    ImportError (named ``jax``) where JAX is not installed."""
    del threads
    if not any(name in os.environ for name in _MEMORY_SETTINGS):
        os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    started = _backend_started()
    import jax

    if started:
        logger.warning("beamtagger: JAX already runs in this process, so its GPU memory "
                       "settings stay as they were (set XLA_PYTHON_CLIENT_PREALLOCATE=false "
                       "before JAX starts if several processes share a GPU)")
    try:
        folder = compilation_cache_dir()
    except (BeamtaggerError, RuntimeError) as error:   # RuntimeError: pathlib finds no home
        logger.warning("beamtagger: no JAX compilation cache (%s): every process compiles "
                       "its shapes%s", error, _CACHE_ADVICE)
        return
    if folder is not None and not jax.config.jax_compilation_cache_dir:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            logger.warning("beamtagger: no JAX compilation cache (%s): every process "
                           "compiles its shapes%s", error, _CACHE_ADVICE)
            return
        jax.config.update("jax_compilation_cache_dir", str(folder))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        if not _writable(folder):
            # A cache this process may only read (one baked into a worker image, say) is still
            # read; JAX would warn, two lines a shape, at every shape it compiles and cannot keep.
            warnings.filterwarnings("ignore", category=UserWarning,
                                    message="Error writing persistent compilation cache entry")
            logger.warning("beamtagger: the JAX compilation cache %s is read-only here: the "
                           "shapes it holds are read, the others compiled in each process "
                           "and not kept", folder)
            return
        removed = drop_unreadable_entries(folder)
        if removed:
            logger.warning("beamtagger: removed %d unreadable entries from the JAX "
                           "compilation cache %s (written by a process that was killed?); "
                           "their shapes compile again once", removed, folder)


# An entry this recent may still be being written by another process: checked by the first
# process to set JAX up after that. JAX writes an entry in one write() (48 KB at most for the
# tiny and bundled models' grid on a CPU), so 10 s leaves slow disks ample time; at 120 s every
# run in the two minutes after a full disk cut one warned again. Removing one that is still
# being written costs only that entry: its writer goes on into the unlinked file, and the
# shape compiles again once.
_WRITING_GRACE_SECS = 10
_CHECKED_MARK = ".beamtagger-checked"


def drop_unreadable_entries(folder, grace_secs=_WRITING_GRACE_SECS):
    """Removes the compiled shapes in the cache ``folder`` that do not decompress; the number
    removed. Only entries written since the last check (a mark file's time) and before the
    last ``grace_secs`` are read, so a process start reads each entry about once. 0 where
    this JAX keeps its entries in another format (nothing is removed then)."""
    try:
        from jax._src.compilation_cache import decompress_executable
    except ImportError:
        return 0
    folder = pathlib.Path(folder)
    mark = folder / _CHECKED_MARK
    try:
        checked_until = mark.stat().st_mtime
    except OSError:
        checked_until = 0.0
    until = time.time() - grace_secs
    removed = 0
    for entry in folder.glob("*-cache"):
        try:
            written = entry.stat().st_mtime
            if not checked_until < written <= until:
                continue
            decompress_executable(entry.read_bytes())
        except OSError:
            continue   # gone meanwhile (another process), or unreadable to us: not ours to judge
        except Exception:  # noqa: BLE001  (zstd and zlib raise their own error types)
            try:
                entry.unlink()
                removed += 1
            except OSError:
                pass
    try:
        mark.touch()
        os.utime(mark, (until, until))
    except OSError:
        pass
    return removed


def _writable(folder):
    try:
        handle, path = tempfile.mkstemp(dir=folder, prefix=".beamtagger-write-check-")
    except OSError:
        return False
    os.close(handle)
    try:
        os.unlink(path)
    except OSError:
        pass
    return True


def compilation_cache_dir():
    """The folder of the persistent compilation cache beamtagger sets up (None: off)."""
    # An empty (or blank) variable is one not set, as for BEAMTAGGER_CACHE everywhere: taken as
    # a path it would be the working directory, and the compiled shapes would land there. A
    # leading ``~`` is the home directory, as in the default store's and the tiny tagger's paths.
    chosen = (os.environ.get("BEAMTAGGER_JAX_CACHE") or "").strip()
    if chosen:
        return None if chosen.lower() in _CACHE_OFF else pathlib.Path(chosen).expanduser()
    return cache_folder() / "jax-compilation"


def _backend_started():
    """Whether JAX has started a backend in this process (its environment settings are read
    then); False where JAX is not imported yet."""
    import sys

    if "jax" not in sys.modules:
        return False
    try:
        from jax._src import xla_bridge
        return bool(getattr(xla_bridge, "_backends", None))
    except ImportError:   # a JAX without this private module: assume the worst
        return True
