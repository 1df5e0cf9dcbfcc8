"""``beamtagger tag``: the files a run writes under ``--output`` PREFIX, before and after it.

The prefix's checks (a name that patterns and Beam's sinks read as one prefix, not a folder,
a bucket or a scheme no file system writes), an earlier run's files there (refused, or with
``--overwrite`` set aside in ``.NAME.tag-replaced`` and put back where the run fails or a
killed run left them), the lock that keeps two runs off one prefix (``output_held``), the
listing of a run's own files, and ``--print-results``, which reads them back.

No Beam import at import time: ``tag_command.run`` imports this before Beam, whose import
starts gRPC's threads (a closed standard stream is refused before them).
"""
import contextlib
import glob
import os
import re
import shutil
import sys

from beamtagger.errors import BeamtaggerError, line_breaks_escaped, no_file_system


def output_files(pattern):
    """The files a pattern of this run's own output names (``result_pattern``) matches,
    sorted. A local one is globbed in its folder alone: Beam's LocalFileSystem.match walks the
    pattern's whole folder tree, so ``--output ~/run`` listed every file under the home folder,
    a listing run several times a launch (11.4 s for ``/usr/run``, 116,824 files, against 5 ms
    globbed, the same files: 2026-12-07). The pattern's ``*`` and ``[0-9]`` mean the same to
    both, and its name part never starts with a wildcard, so glob's hiding of dot files never
    applies."""
    from apache_beam.io.filesystems import FileSystems

    from beamtagger.transforms.worker_resources import is_remote

    if not is_remote(pattern):
        return sorted(glob.glob(pattern))
    return sorted(metadata.path for metadata in FileSystems.match([pattern])[0].metadata_list)


def result_suffix(output_format):
    """The file name suffix of ``output_format``'s results, without its dot ("jsonl" for
    spans, which are JSON Lines)."""
    from beamtagger.transforms.write_results import SUFFIXES

    return SUFFIXES[output_format].lstrip(".")


def result_pattern(output_prefix, suffix):
    """The glob of the shards a sink writes under ``output_prefix`` (and no other run's, such
    as ``PREFIX-2-00000-of-00001``). ``./`` before a prefix with no folder (``--output q``):
    Beam 2.78 matched no file of ``q-[0-9]...`` (``matchable_pattern``), so a rerun there was
    not refused and ``--overwrite`` left the earlier run's shards beside the new ones."""
    from beamtagger.transforms.reading.record_parsers import matchable_pattern
    from beamtagger.transforms.write_results import SHARD_GLOB

    return matchable_pattern(f"{output_prefix}{SHARD_GLOB}[0-9][0-9][0-9][0-9][0-9].{suffix}")


# Characters FileSystems.match (and Beam's sinks, which match PREFIX-*-of-N) read as a pattern.
_GLOB_CHARACTERS = re.compile(r"[*?\[\]]")


def earlier_output_patterns(output_prefix):
    """Glob patterns of the result and error files a run writes under ``output_prefix``."""
    from beamtagger.transforms.write_results import SUFFIXES

    return ([result_pattern(output_prefix, suffix.lstrip("."))
             for suffix in dict.fromkeys(SUFFIXES.values())]
            + [result_pattern(output_prefix + "-errors", "jsonl")])


def earlier_outputs(output_prefix):
    """The files of an earlier run under ``output_prefix`` (a name checked, its folder
    creatable)."""
    from beamtagger.atomic_dirs import check_creatable
    from beamtagger.transforms.worker_resources import is_remote

    _check_output_name(output_prefix)
    if not is_remote(output_prefix):
        check_creatable(output_prefix, "--output")
        _check_listable(output_prefix)
    try:
        return list_outputs(output_prefix)
    except Exception as error:  # noqa: BLE001  (FileSystems raises BeamIOError and others)
        raise BeamtaggerError(f"cannot list --output {output_prefix}: {error}") from None


def _check_listable(output_prefix):
    """BeamtaggerError where the existing folder of a local ``output_prefix`` (creatable:
    ``check_creatable``) is one this user may write in but not list (mode 300, a drop box):
    glob found no earlier run's files there, so a rerun overwrote its results, and a killed
    run's ``beam-temp-*`` folders went unseen."""
    folder = os.path.dirname(os.path.abspath(output_prefix))
    if os.path.isdir(folder) and not os.access(folder, os.R_OK):
        raise BeamtaggerError(f"--output {output_prefix}: cannot list the folder {folder} to "
                              "check for an earlier run's files (this user may write in it, "
                              "not read it); choose an --output in a folder this user may read")


def refuse_earlier_outputs(model_jobs, earlier, killed):
    """BeamtaggerError (without --overwrite) where a prefix of ``model_jobs`` holds the files
    of an earlier run (``earlier``: {name: its prefix's}; ``killed``: {name: that run was
    killed outright}), in one line naming every such model: naming the first alone, a user
    who moved its files away was refused again for the next."""
    holding = [name for name, files in earlier.items() if files]
    if not holding:
        return
    files = [path for name in holding for path in earlier[name]]
    more = f" and {len(files) - 1} more" if len(files) > 1 else ""
    prefixes = [model_jobs[name].output_prefix for name in holding]
    # The sinks publish one after the other: a run killed between them left results that
    # look whole, without their dead letters.
    killed_ones = [name for name in holding if killed[name]]
    killed_said = "" if not killed_ones else ", killed before it ended" + (
        "" if killed_ones == holding else f" (under {_models_named(killed_ones)})") + (
        ": they may be incomplete (shards or its dead letters missing)")
    said = (f"--output {prefixes[0]} already holds" if len(holding) == 1 else
            f"{_models_named(holding)}: --output {_listed(prefixes)} already hold")
    if len(holding) == 1 and holding[0] is not None:
        said = f"model {holding[0]}: {said}"
    raise BeamtaggerError(
        f"{said} the files of an earlier run ({files[0]}{more}){killed_said}; choose another "
        "prefix, or pass --overwrite to remove them first")


def _models_named(names):
    """'model ner', or 'models upos and ner'."""
    return f"model {names[0]}" if len(names) == 1 else f"models {_listed(names)}"


def _listed(words):
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _check_output_name(output_prefix):
    from beamtagger.transforms.dead_letters import ERRORS_SUFFIX

    check_prefix_of_names(output_prefix)
    if output_prefix.endswith(ERRORS_SUFFIX):
        # Its results are named as the dead letters of the prefix without "-errors": a run
        # writing out/run --overwrite removed out/run-errors' results as its own error files.
        stem = output_prefix[:-len(ERRORS_SUFFIX)]
        raise BeamtaggerError(f"--output {output_prefix}: its results would be named as the "
                              f"dead letters of a run writing {stem} ({output_prefix}-00000-of-"
                              "00001.jsonl), and either run would remove the other's; choose a "
                              f"name that does not end in {ERRORS_SUFFIX}")


def _check_output_file_system(output_prefix):
    """BeamtaggerError where Beam has no file system for ``output_prefix``'s scheme: a
    ``file://`` URL, or one of a scheme no installed extra reads, passed every check and failed
    the run with a traceback as it began to write ("Unable to get filesystem from specified
    path")."""
    from apache_beam.io.filesystems import FileSystems

    from beamtagger.transforms.records import one_line

    if output_prefix.startswith("file://"):
        raise BeamtaggerError(f"--output {output_prefix}: Beam writes no file:// URL; give a "
                              "prefix on this machine as a plain path "
                              f"({output_prefix[len('file://'):] or '/'})")
    problem = no_file_system(output_prefix)
    if problem:
        raise BeamtaggerError(f"--output {output_prefix}: {problem}")
    try:
        FileSystems.get_filesystem(output_prefix)
    except Exception as error:  # noqa: BLE001  (an extra's ImportError, a client's error)
        raise BeamtaggerError(one_line(f"--output {output_prefix}: no file system here writes "
                                       f"it: {error}")) from None


def check_prefix_of_names(output_prefix):
    """BeamtaggerError where ``output_prefix`` (``--output`` as given, with several models
    too) holds wildcards, a file name with a backslash, names no file, or is a bucket alone."""
    if "://" in output_prefix:
        _check_output_file_system(output_prefix)
    if _GLOB_CHARACTERS.search(output_prefix):
        # Every file pattern built on it (earlier runs' files, Beam's own clean-up before it
        # publishes) would match other files: --overwrite removed those of other runs.
        raise BeamtaggerError(f"--output {output_prefix}: a prefix cannot hold *, ? or [ ], "
                              "which file patterns read as wildcards")
    if "\\" in os.path.basename(output_prefix):
        # Beam's file patterns read a "*" as no backslash ([^/\\]*, Windows' separator): its
        # sinks wrote the files, found none of them to publish, and failed the run at its end
        # ("src and dst files do not exist", exit 1), local and gs:// alike.
        raise BeamtaggerError(f"--output {output_prefix}: a file name cannot hold \\ here: "
                              "Beam's file patterns take it for a folder separator, so the run "
                              "would fail at its end, its files written but not found to "
                              "publish; separate folders with /")
    if os.path.basename(output_prefix) in ("", ".", ".."):
        # "" and "out/" wrote "-00000-of-00001.jsonl" files, named by their shard alone.
        raise BeamtaggerError(f"--output {output_prefix or repr('')}: give a prefix of file "
                              "names, such as out/run (it writes out/run-00000-of-00001.jsonl), "
                              "not a folder")
    if re.fullmatch(r"gs://[^/]*", output_prefix):
        # Not written beside it: gs://b-00000-of-00001.jsonl names no object, and the listing
        # of an earlier run's files failed on it, a line of 1,500 characters. Here, before the
        # probe of Cloud Storage: offline, the name was sent to connect to the network first.
        raise BeamtaggerError(f"--output {output_prefix} is a bucket, and a prefix of file "
                              "names needs a name inside it; give one such as "
                              f"{output_prefix}/run")


def check_output_not_a_folder(job, model_jobs):
    """BeamtaggerError where ``job``'s --output (as given) is a folder (``_is_folder``), a
    bucket alone (``gs://b``), or holds wildcards or names no file
    (``check_prefix_of_names``). Beam's sinks take it as a prefix of file names, as
    WriteToText does, and wrote the results beside a folder (``--output ~``:
    /root-00000-of-00001.jsonl), where its user meant them inside. A folder beside which a
    prefix of ``model_jobs`` holds an earlier run's files is taken: the message names the
    first model's files."""
    output_prefix = job.output_prefix
    check_prefix_of_names(output_prefix)   # "out/" and "gs://b" need no listing to refuse
    if not _is_folder(output_prefix) or any(
            _holds_earlier_files(model_job.output_prefix) for model_job in model_jobs.values()):
        # Where an earlier run's files are beside the folder already, the name is the user's
        # (a nightly rerun with --overwrite, written so before this check): they are replaced,
        # or without --overwrite named as any earlier run's are.
        return
    first = next(iter(model_jobs.values()))
    written = f"{first.output_prefix}-00000-of-00001.{result_suffix(first.output_format)}"
    raise BeamtaggerError(
        f"--output {output_prefix} is a folder, and its files would be written beside it "
        f"({written}); give a prefix of file names inside it, such as {output_prefix}/run")


def _is_folder(output_prefix):
    """Whether ``output_prefix`` is a folder. Local: a folder, or a link to one. ``gs://``: a
    prefix with objects under ``PREFIX/`` (one listing, stopped at the first); an empty one is
    no folder there. Other file systems' folders are left to them."""
    from apache_beam.io.filesystems import FileSystems

    from beamtagger.transforms.worker_resources import is_remote

    if not is_remote(output_prefix):
        return os.path.isdir(output_prefix)
    if not output_prefix.startswith("gs://"):
        return False
    try:
        return bool(FileSystems.match([f"{output_prefix}/**"], limits=[1])[0].metadata_list)
    except Exception as error:  # noqa: BLE001  (FileSystems raises BeamIOError and others)
        raise BeamtaggerError(f"cannot list --output {output_prefix}: {error}") from None


def _holds_earlier_files(output_prefix):
    """Whether ``output_prefix`` holds an earlier run's files, or a killed run's set aside
    (which the run puts back after this check). A local prefix is globbed in its folder
    alone: Beam's matching walks the folder's whole tree, all of / for --output ~ (5 walks of
    /usr's 117k files took 10 s)."""
    from beamtagger.transforms.worker_resources import is_remote

    found = (earlier_outputs(output_prefix) if is_remote(output_prefix)
             else any(glob.glob(pattern) for pattern in earlier_output_patterns(output_prefix)))
    return bool(found or _set_aside_files(_replaced_folder(output_prefix)))


@contextlib.contextmanager
def output_held(output_prefix):
    """Holds a local ``output_prefix`` for this run (``output_lock.held``, the folder
    ``.NAME.tag-lock`` beside it): another run writing the same prefix at the same time is
    refused (BeamtaggerError) instead of going ahead. Yields an ``output_lock.Hold``, true
    where a run killed outright had left the lock. Object stores (``gs://``) are not held.

    Both would have found no earlier files, and each run removes the sinks' temporary folders
    it finds beside its prefix (a killed run's): the second removed the first's while it ran,
    which then failed with a traceback and, removing its own files, took the second's temporary
    folders with it; two runs that finished would have replaced or mixed each other's shards."""
    from beamtagger.atomic_dirs import check_creatable
    from beamtagger.pipeline import output_lock
    from beamtagger.transforms.worker_resources import is_remote

    if is_remote(output_prefix):
        yield output_lock.Hold(False)
        return
    _check_output_name(output_prefix)
    check_creatable(output_prefix, "--output")
    _check_listable(output_prefix)
    with output_lock.held(output_prefix, "--output", "tag", "prefix") as hold:
        yield hold


def list_outputs(output_prefix):
    """The result and error files under ``output_prefix``, sorted."""
    return sorted(path for pattern in earlier_output_patterns(output_prefix)
                  for path in output_files(pattern))


@contextlib.contextmanager
def earlier_outputs_replaced(output_prefix, earlier):
    """``--overwrite``: an earlier run's files (``earlier``) make way for this run's, and come
    back where this run fails or is interrupted. Deleted up front, a rerun that failed, or that
    Ctrl-C stopped, lost both runs' results.

    They are moved into ``.NAME.tag-replaced`` beside the prefix and deleted once the run is
    done; a run killed outright leaves them there, and the next run on the prefix puts them
    back (``put_back_replaced_outputs``). On an object store (``gs://``) a move is a copy
    inside the store and a delete, of each file: no bytes pass through this machine."""
    from beamtagger.transforms.worker_resources import is_remote

    if not earlier:
        yield
        return
    aside = _replaced_folder(output_prefix)
    if not is_remote(aside):
        os.mkdir(aside)   # the prefix is held (output_held): a folder there is no other run's
    try:
        set_aside = _moved(earlier, aside)
    except BaseException as error:  # noqa: BLE001  (FileSystems raises BeamIOError and others)
        # Those moved before the fault or the signal (Ctrl-C, SIGTERM, SIGHUP: a copy and a
        # delete a file on gs://) go back: left split, the next run called the earlier files
        # still at the prefix the killed run's own, and said to delete the folder they were in.
        _put_back(aside, _set_aside_files(aside) or [])
        if not isinstance(error, Exception):
            raise
        raise BeamtaggerError(f"cannot set aside the earlier run's files under --output "
                              f"{output_prefix} (--overwrite): {error}") from None
    try:
        yield
    except BaseException:
        # This run's own files are gone by now (reported_failures removes them first).
        _put_back(aside, set_aside)
        raise
    if is_remote(aside):
        from apache_beam.io.filesystems import FileSystems

        FileSystems.delete(set_aside)   # an object store has no folder to remove
    else:
        shutil.rmtree(aside, ignore_errors=True)


def put_back_replaced_outputs(output_prefix, *, model=None):
    """Puts back the files of an earlier run that a run killed outright was replacing
    (``earlier_outputs_replaced``). Where that run had published files of its own, which could
    be part of its results only, neither set is touched: BeamtaggerError says what to do.
    How many files were put back; the line saying so names ``model``, one of several whose
    prefix this is (None: the one model)."""
    aside = _replaced_folder(output_prefix)
    set_aside = _set_aside_files(aside)
    if set_aside is None:
        return 0
    present = list_outputs(output_prefix)
    if present:
        raise BeamtaggerError(
            f"--output {output_prefix}: a run killed while it replaced an earlier run's files "
            f"left those in {aside}, and {len(present)} file(s) of its own beside them, maybe "
            f"not all; keep one set: delete {aside}, or delete the others and move its files "
            "back")
    count = _put_back(aside, set_aside)
    print(f"put back         {count} file(s) of an earlier run that a killed run was replacing"
          + ("" if model is None else f" (model {model}: {output_prefix})"), flush=True)
    return count


def _replaced_folder(output_prefix):
    return _beside_prefix(output_prefix, "tag-replaced")


def _beside_prefix(output_prefix, kind):
    """The hidden folder ``.NAME.KIND`` beside a prefix ``.../NAME`` (on an object store, the
    name its files are listed under)."""
    from apache_beam.io.filesystems import FileSystems

    from beamtagger.transforms.worker_resources import is_remote

    folder, name = FileSystems.split(output_prefix if is_remote(output_prefix)
                                     else os.path.abspath(output_prefix))
    return FileSystems.join(folder, f".{name}.{kind}")


def _set_aside_files(aside):
    """The files in ``aside``; None where it is no folder (on an object store: holds none)."""
    from apache_beam.io.filesystems import FileSystems

    from beamtagger.transforms.worker_resources import is_remote

    if not is_remote(aside):
        # Beside a prefix in a shared folder (--output /tmp/out), anyone can place a link there:
        # followed, another folder's files were moved into the shared one (audit, 2026-12-06).
        if os.path.islink(aside):
            raise BeamtaggerError(f"{aside} is a symbolic link, not a folder a tag run set files "
                                  "aside in (placed by someone else?); remove it, or choose an "
                                  "--output in a folder only you can write")
        return ([os.path.join(aside, name) for name in os.listdir(aside)]
                if os.path.isdir(aside) else None)
    pattern = FileSystems.join(aside, "*")
    return [metadata.path for metadata in FileSystems.match([pattern])[0].metadata_list] or None


def _moved(paths, folder):
    """Moves the files at ``paths`` into ``folder``; their new paths."""
    from apache_beam.io.filesystems import FileSystems

    destinations = [FileSystems.join(folder, FileSystems.split(path)[1]) for path in paths]
    if destinations:   # FileSystems finds the file system by the first path
        FileSystems.rename(list(paths), destinations)
    return destinations


def _put_back(aside, set_aside):
    """Moves the files ``set_aside`` in ``aside`` back beside it; how many."""
    from apache_beam.io.filesystems import FileSystems

    from beamtagger.transforms.worker_resources import is_remote

    _moved(set_aside, FileSystems.split(aside)[0])
    if not is_remote(aside):
        os.rmdir(aside)
    return len(set_aside)


def remove_earlier_outputs(output_prefix, earlier):
    """Deletes an earlier run's files (``--overwrite``) and the temporary folders a killed
    run's file sinks left beside the prefix."""
    from apache_beam.io.filesystems import FileSystems

    from beamtagger.transforms.worker_resources import is_remote

    if earlier:
        FileSystems.delete(earlier)
    folder, name = FileSystems.split(output_prefix if is_remote(output_prefix)
                                     else os.path.abspath(output_prefix))
    # The results' sink and the errors' sink (PREFIX-errors) each have one.
    temporary = re.compile(r"beam-temp-" + re.escape(name) + r"(?:-errors)?-[0-9a-f]{32}\Z")
    if is_remote(output_prefix):
        # Object stores have no folders to remove, only the files under their names.
        pattern = FileSystems.join(folder, f"beam-temp-{name}-*", "**")
        left = [metadata.path for metadata in FileSystems.match([pattern])[0].metadata_list
                if temporary.match(FileSystems.split(FileSystems.split(metadata.path)[0])[1])]
        if left:
            FileSystems.delete(left)
        return
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        if temporary.match(entry):
            shutil.rmtree(os.path.join(folder, entry), ignore_errors=True)


def print_results(output_prefix, output_format):
    """Prints every tagged record as ``id: token/LABEL ...``, and its entities below it as
    ``  entities: [text]/TYPE, ...`` where it has any (read back from the output files; CoNLL
    and CoNLL-U files as they are; span lines, which hold no tokens, as ``id: text``, each run
    of whitespace in the text a space)."""
    import json

    import pyarrow.parquet as pq
    from apache_beam.io.filesystems import FileSystems

    for path in output_files(result_pattern(output_prefix, result_suffix(output_format))):
        with FileSystems.open(path) as handle:
            if output_format in ("conll", "conllu"):
                sys.stdout.write(handle.read().decode("utf-8"))
                continue
            if output_format == "parquet":
                rows = pq.read_table(handle).to_pylist()
            else:
                # Split at "\n" only: a JSON string may hold U+2028 or U+0085 as they are,
                # and str.splitlines() cut a line there.
                rows = [json.loads(line) for line in handle.read().split(b"\n") if line]
        for row in sorted(rows, key=lambda row: _natural_key(row["id"])):
            # An id holding a line break (a file name's, a JSON id's) as its escape: the
            # listing keeps one line a record, and the id stays told apart from others.
            shown_id = line_breaks_escaped(row["id"])
            if output_format == "spans":
                print(f"{shown_id}: {_on_one_line(row['text'])}")
                entities = [{**span, "text": row["text"][span["start"]:span["end"]]}
                            for span in row["spans"]]
            else:
                print(f"{shown_id}: " + " ".join(f"{t['text']}/{t['label']}"
                                                 for t in row["tokens"]))
                entities = row.get("entities")
            if entities:
                print("  entities: " + ", ".join(f"[{_on_one_line(e['text'])}]/{e['label']}"
                                                 for e in entities))


def _on_one_line(text):
    """``text`` with each run of whitespace a space: a record's own line ends (a CSV cell's,
    a JSON escape's, between an entity's tokens) would cut the listing's one line a record,
    and a lone carriage return overwrite it on a terminal."""
    return " ".join(text.split())


def _natural_key(text):
    """"a.txt:10" after "a.txt:9": digit runs compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", text)]
