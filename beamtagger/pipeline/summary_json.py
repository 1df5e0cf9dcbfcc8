"""``beamtagger tag --summary-json PATH``: the summary as one JSON object, for a script or a
scheduler, which otherwise parsed the printed summary (aligned columns, thousands separators,
words that may change) to learn how many records a night's run read, tagged and lost.

PATH holds the summary of the run that wrote it, or nothing: a file left there by an earlier
run is removed as the run starts, so a run refused, failed or killed leaves no summary that a
script could take for its own; the new one is written whole or not at all (a temporary file
renamed into place).
"""
import fnmatch
import json
import os
import stat

from beamtagger.errors import BeamtaggerError, JobFailed, os_error_text

__all__ = ["remove_earlier_summary", "write_models_summary", "write_summary"]

# A summary listing --num-shards' most (99,999) result files is under 10 MB.
_LARGEST_SUMMARY = 16 << 20


def remove_earlier_summary(path, output_patterns=()):
    """Removes the earlier run's summary at ``path``; refuses, before launch, a ``path`` that
    is not a local file's name this run can write and replace, and a file there that is not
    a summary: the removal at the start and the rename at the end would take it away
    (``output_patterns``: the globs of this run's result and error files, which the summary
    replaced once the run was done; ``-``, which named a file ``-``; a FIFO or a symbolic
    link, which became a regular file beside an earlier summary left where it pointed)."""
    from beamtagger.transforms.worker_resources import is_remote

    if path == "-" or is_remote(path):
        raise BeamtaggerError(f"--summary-json {path}: name a local file to write (the "
                              "summary is printed on standard output as well)")
    if not path or path.endswith(("/", os.sep)):
        # abspath drops a trailing /: the checks below passed, and the run failed at its end
        # writing the summary, its results written (found by fuzzing).
        raise BeamtaggerError(f"--summary-json {path}: names no file; name the file to write")
    if os.path.isdir(path):
        raise BeamtaggerError(f"--summary-json {path}: is a folder; name the file to write")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        hidden = _unsearchable_ancestor(folder)
        if hidden is not None:
            # "no folder F" where F may well exist: it is in another user's folder (mode 700).
            raise BeamtaggerError(f"--summary-json {path}: cannot write in {folder}: this "
                                  f"user may not search the folder {hidden}")
        raise BeamtaggerError(f"--summary-json {path}: no folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BeamtaggerError(f"--summary-json {path}: cannot write in {folder}")
    if any(fnmatch.fnmatchcase(os.path.abspath(path), os.path.abspath(pattern))
           for pattern in output_patterns):
        raise BeamtaggerError(f"--summary-json {path}: is the name of one of this run's "
                              "result or error files; name a file outside --output's")
    not_a_summary = _not_a_summary(path)
    if not_a_summary:
        raise BeamtaggerError(f"--summary-json {path}: {not_a_summary}; only an earlier "
                              "summary is replaced: remove it or name another file")
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as error:
        raise BeamtaggerError(f"--summary-json: cannot remove the earlier summary: "
                              f"{os_error_text(error)}") from None


def _unsearchable_ancestor(folder):
    """The nearest folder above ``folder`` that exists to this user, where this user may not
    search it (so cannot tell whether ``folder`` exists); else None."""
    from beamtagger.atomic_dirs import nearest_existing_ancestor

    ancestor = nearest_existing_ancestor(folder)
    if ancestor.is_dir() and not os.access(ancestor, os.X_OK):
        return str(ancestor)
    return None


def _not_a_summary(path):
    """What the file at ``path`` is where it is not an earlier summary (or an empty file), or
    None: an input or result file named by mistake was deleted as the run started."""
    if os.path.islink(path):
        return f"is a symbolic link to {os.readlink(path)}"
    if not os.path.lexists(path):
        return None
    if not stat.S_ISREG(os.stat(path).st_mode):
        return "is not a regular file (a FIFO, a device or a socket)"
    try:
        with open(path, "rb") as held:
            text = held.read(_LARGEST_SUMMARY + 1)
    except OSError as error:
        return f"cannot be read: {os_error_text(error)}"
    if not text:
        return None
    try:
        summary = json.loads(text) if len(text) <= _LARGEST_SUMMARY else None
    except ValueError:   # a JSON Lines result file, text, Parquet...
        summary = None
    if isinstance(summary, dict) and "exit_status" in summary:
        return None
    return "is not an earlier beamtagger summary"


def write_summary(path, exit_status, counts, seconds, runtime, results, dead_letter_files,
                  not_read_from, threshold=None):
    """Writes the summary of a finished local run to ``path``: ``exit_status`` (0, or 3:
    --max-dead-letters), the counts of the printed summary under their counter names
    (``counters.COUNTER_NAMES``) and its OOV line's share and note (``_counts``),
    ``wall_seconds``, the ``runtime``, the result and
    dead-letter files (lists of paths; ``["-"]`` for standard output and standard error),
    where the first parts of the input not read start, and the ``threshold`` a flag tagger
    tagged at, ``{"value": 0.7, "set_by": "--threshold"}`` (or ``"model"``: its own), null
    for other taggers."""
    _write(path, {"exit_status": exit_status, **_counts(counts),
                  "wall_seconds": round(seconds, 3), "runtime": runtime, "results": results,
                  "dead_letter_files": dead_letter_files, "not_read_from": list(not_read_from),
                  "threshold": threshold})


# A model's own in a pass of several: null at the top, each model's under "models".
MODEL_KEYS = ("records_tagged", "dead_letters", "results", "dead_letter_files", "threshold")


def write_models_summary(path, exit_status, seconds, runtime, models):
    """Writes the summary of a finished local run of several models to ``path``: the keys of
    ``write_summary``'s, those that hold for every model (records read, tokens, batches...,
    ``not_read_from``) as there, those of a model's own (``MODEL_KEYS``) null, and
    ``models``: {name: {"model": its directory (null: the bundled model), and every key
    ``write_summary`` writes for that model's files alone, ``exit_status`` 3 where that model
    alone is past --max-dead-letters or tagged none, ``wall_seconds`` and ``runtime`` the
    run's}}: a script reads a model's part as it reads a one-model summary (without those two
    it failed on the keys of the one-model summary it was written for).
    ``models``: {name: (model_dir, exit status, counts, results, dead-letter files, not read
    from, threshold)}, in the run's order."""
    first = next(iter(models.values()))
    wall_seconds = round(seconds, 3)
    summary = {"exit_status": exit_status, **_counts(first[2]),
               "wall_seconds": wall_seconds, "runtime": runtime, "results": None,
               "dead_letter_files": None, "not_read_from": list(first[5]), "threshold": None}
    summary.update(dict.fromkeys(MODEL_KEYS))
    summary["models"] = {
        name: {"model": model_dir, "exit_status": status, **_counts(counts),
               "wall_seconds": wall_seconds, "runtime": runtime,
               "results": results, "dead_letter_files": dead_letter_files,
               "not_read_from": list(not_read_from), "threshold": threshold}
        for name, (model_dir, status, counts, results, dead_letter_files, not_read_from,
                   threshold) in models.items()}
    _write(path, summary)


def _counts(counts):
    """The counts under their counter names, then the printed OOV line's share
    (``oov_share``: of batched tokens, 0.0 where none was batched) and whether its note that
    the store covers little of the text was printed (``oov_note``): a script had to rebuild
    both from two counts and the note's thresholds."""
    # Here, not at the top: tag_command imports this module, and `model info` imports
    # tag_command, which must not import Beam (a second of start-up each).
    from beamtagger.transforms import counters

    found = {name: counts.get(name, 0) for name in counters.COUNTER_NAMES}
    return {**found, "oov_share": round(counters.oov_share(found), 4),
            "oov_note": counters.oov_note_due(found)}


def _write(path, summary):
    """``summary`` to ``path``, whole or not at all."""
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
