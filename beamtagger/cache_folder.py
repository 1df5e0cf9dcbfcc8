"""Where beamtagger keeps what it builds once per machine (the default embedding store, the
tiny test tagger, JAX's compiled shapes): ``$BEAMTAGGER_CACHE``, else ``~/.cache/beamtagger``.

Standard library only: the JAX set-up reads it before JAX starts.
"""
import os
import pathlib

from beamtagger.errors import BeamtaggerError

__all__ = ["cache_folder"]


def cache_folder() -> pathlib.Path:
    """``$BEAMTAGGER_CACHE`` (a leading ``~`` the home directory), else ``~/.cache/beamtagger``.

    BeamtaggerError where the path needs a home directory and the process has none."""
    # An empty or blank variable is one not set: as a path it named the working directory (a
    # blank one a folder " " in it), where the default store's 84 MB were imported unasked.
    chosen = (os.environ.get("BEAMTAGGER_CACHE") or "").strip()
    path = pathlib.Path(chosen or os.path.join("~", ".cache", "beamtagger"))
    try:
        return path.expanduser()
    except RuntimeError:
        # pathlib's "Could not determine home directory." (HOME unset and a user id with no
        # entry in the password database, as in some containers): a traceback before.
        raise BeamtaggerError(f"{path} is in the home directory, and this process has none "
                              "(HOME is not set): set HOME, or BEAMTAGGER_CACHE to a writable "
                              "folder") from None
