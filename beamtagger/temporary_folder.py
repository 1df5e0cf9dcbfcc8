"""The folder for temporary files, checked before the work that needs one starts.

Beam makes a folder there for every pipeline (``beam.Pipeline()``'s ``local_tempdir``, whatever
the runner), and TensorFlow's import does too (absl's test module, which TensorFlow imports,
asks for it): with no writable folder among ``TMPDIR``, ``/tmp``, ``/var/tmp``, ``/usr/tmp`` and
the working directory (a container with a read-only root file system, an unprivileged user whose
``TMPDIR`` and ``/tmp`` are not writable), ``tag`` failed after launch as "the run failed in step
(unknown): No usable temporary directory found in [...]", ``evaluate`` blamed the model ("cannot
load tagger model ...") and ``Tagger(runtime="tensorflow")`` raised a traceback from inside
TensorFlow's import. None of them said what to set.

Standard library only: it runs before TensorFlow or Beam is imported.
"""
import os
import tempfile

from beamtagger.errors import BeamtaggerError

__all__ = ["checked_temporary_folder"]

# Where tempfile looks after the variables, on POSIX (the documented order of
# tempfile.gettempdir: TMPDIR, TEMP, TMP, these, then the working directory).
_PLATFORM_FOLDERS = ("/tmp", "/var/tmp", "/usr/tmp")


def checked_temporary_folder(needed_by: str) -> str:
    """``tempfile.gettempdir()``, the folder ``needed_by`` (words for the refusal: "beamtagger
    tag's Beam pipeline") writes its temporary files in; BeamtaggerError naming ``TMPDIR`` where
    no folder tempfile tries is writable (or each is full)."""
    try:
        return tempfile.gettempdir()
    except FileNotFoundError:
        raise BeamtaggerError(f"{needed_by} needs a folder for temporary files, and none of "
                              f"{', '.join(_tried())} is writable (a read-only file system, or "
                              "full): set TMPDIR to a writable folder") from None


def _tried():
    """The folders tempfile tried, in its order, as the user would set or find them."""
    tried = [f"TMPDIR={os.environ['TMPDIR']}" if os.environ.get("TMPDIR")
             else "TMPDIR (not set)"]
    tried += [f"{name}={os.environ[name]}" for name in ("TEMP", "TMP") if os.environ.get(name)]
    tried += _PLATFORM_FOLDERS
    try:
        tried.append(f"the working directory {os.getcwd()}")
    except OSError:   # deleted under the shell: tempfile cannot try it either
        pass
    return tried
