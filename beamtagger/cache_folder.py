"""Where beamtagger keeps what it builds once per machine (the default embedding store, the
tiny test tagger, JAX's compiled shapes): ``$BEAMTAGGER_CACHE``, else
``$XDG_CACHE_HOME/beamtagger``, else ``~/.cache/beamtagger``.

Standard library only: the JAX set-up reads it before JAX starts.
"""
import os
import pathlib

from beamtagger.errors import BeamtaggerError

__all__ = ["cache_folder"]


def cache_folder() -> pathlib.Path:
    """``$BEAMTAGGER_CACHE`` (a leading ``~`` the home directory), else
    ``$XDG_CACHE_HOME/beamtagger`` (the XDG base directories, as pip's and Hugging Face's caches
    follow them), else ``~/.cache/beamtagger``.

    ``XDG_CACHE_HOME`` counts only as an absolute path (the XDG specification's rule for a
    relative one), and not where ``~/.cache/beamtagger`` already exists and the XDG folder has
    no ``beamtagger`` yet: a store imported before beamtagger followed XDG stays in use, not
    imported again (84 MB) beside it.

    BeamtaggerError where the path needs a home directory and the process has none."""
    # An empty or blank variable is one not set: as a path it named the working directory (a
    # blank one a folder " " in it), where the default store's 84 MB were imported unasked.
    chosen = (os.environ.get("BEAMTAGGER_CACHE") or "").strip()
    if chosen:
        return _expanded(pathlib.Path(chosen))
    home_cache = pathlib.Path("~", ".cache", "beamtagger")
    xdg = (os.environ.get("XDG_CACHE_HOME") or "").strip()
    if xdg and os.path.isabs(xdg):
        xdg_cache = pathlib.Path(xdg) / "beamtagger"
        if xdg_cache.exists() or not _exists(home_cache):
            return xdg_cache
    return _expanded(home_cache)


def _exists(path):
    try:
        return path.expanduser().exists()
    except (RuntimeError, OSError):   # no home directory, or one this process cannot read
        return False


def _expanded(path):
    try:
        return path.expanduser()
    except RuntimeError:
        # pathlib's "Could not determine home directory." (HOME unset and a user id with no
        # entry in the password database, as in some containers): a traceback before.
        raise BeamtaggerError(f"{path} is in the home directory, and this process has none "
                              "(HOME is not set): set HOME, or BEAMTAGGER_CACHE to a writable "
                              "folder") from None
