"""``beamtagger tag --summary-json PATH``: the summary as one JSON object, for a script or a
scheduler, which otherwise parsed the printed summary (aligned columns, thousands separators,
words that may change) to learn how many records a night's run read, tagged and lost.

PATH holds the summary of the run that wrote it, or nothing: a file left there by an earlier
run is removed as the run starts, so a run refused, failed or killed leaves no summary that a
script could take for its own; the new one is written whole or not at all (a temporary file
renamed into place).
"""
import json
import os

from beamtagger.errors import BeamtaggerError, JobFailed, os_error_text
from beamtagger.transforms.counters import COUNTER_NAMES

__all__ = ["remove_earlier_summary", "write_summary"]


def remove_earlier_summary(path):
    """Removes the file at ``path`` (an earlier run's summary); refuses, before launch, a
    ``path`` that names a folder or whose folder is missing or cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise BeamtaggerError(f"--summary-json {path}: is a folder; name the file to write")
    if not os.path.isdir(folder):
        raise BeamtaggerError(f"--summary-json {path}: no folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BeamtaggerError(f"--summary-json {path}: cannot write in {folder}")
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as error:
        raise BeamtaggerError(f"--summary-json: cannot remove the earlier summary: "
                              f"{os_error_text(error)}") from None


def write_summary(path, exit_status, counts, seconds, runtime, results, dead_letter_files,
                  not_read_from):
    """Writes the summary of a finished local run to ``path``: ``exit_status`` (0, or 3:
    --max-dead-letters), the counts of the printed summary under their counter names
    (``counters.COUNTER_NAMES``), ``wall_seconds``, the ``runtime``, the result and
    dead-letter files (lists of paths; ``["-"]`` for standard output and standard error) and
    where the first parts of the input not read start."""
    summary = {"exit_status": exit_status,
               **{name: counts.get(name, 0) for name in COUNTER_NAMES},
               "wall_seconds": round(seconds, 3), "runtime": runtime, "results": results,
               "dead_letter_files": dead_letter_files, "not_read_from": list(not_read_from)}
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(summary, out, indent=1)
            out.write("\n")
        os.replace(temporary, path)
    except OSError as error:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise JobFailed(f"cannot write --summary-json {path}: {os_error_text(error)}; the "
                        "results and the dead letters are written") from None
