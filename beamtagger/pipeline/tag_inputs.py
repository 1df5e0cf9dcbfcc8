"""``beamtagger tag``: the input files, found and checked before launch.

Which format ``--input`` is read as (its extension, else the names of the files it matches),
and everything that can be known of its files from here: that the pattern matches files Beam
will read (none it skips, no folder, FIFO or unreadable file), that Parquet, CSV and TSV files
have the columns asked for, that ``--partition-fields`` has key=value folders to carry, and
warnings for a likely other encoding or a file name read as a pattern. A refusal is one
BeamtaggerError line before a Dataflow job is launched to fail on its workers.

Beam is imported inside the functions that use it, as in ``tag_command``, which imports this
module where a run needs it.
"""
import glob
import io
import os
import re
import shlex
import stat
import sys

from beamtagger import runtime_choice
from beamtagger.errors import (BeamtaggerError, broken_link, line_breaks_escaped,
                               no_file_system)


_EXTENSION_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".conll": "conll",
                      ".conllu": "conllu", ".txt": "text", ".csv": "csv", ".tsv": "tsv",
                      ".parquet": "parquet"}
# Parquet files whose footers (CSV and TSV files whose headers) tag reads before launch (each
# a request on gs://); the workers find any other file without the text column, and make it
# one dead letter.
MAX_FILES_CHECKED = 100


def partition_folders_problem(pattern):
    """For ``--partition-fields`` over a local --input that names folders only (``lake``,
    ``lake/*``: Spark and pyarrow read a lake by its folder): the pattern of the files under
    them, else None. Checked before the format: a folder has no extension, so its format is
    text, which was refused as a format the user never chose ("not text")."""
    from beamtagger.transforms.worker_resources import is_remote

    if is_remote(pattern):
        return None
    folders = sorted(glob.glob(pattern, recursive=True))
    if not folders or not all(os.path.isdir(path) for path in folders):
        return None
    base = pattern.rstrip(os.sep)
    for parent, children, names in os.walk(folders[0]):
        children.sort()
        # Spark's _SUCCESS and hidden files are no data.
        data = sorted(name for name in names if not name.startswith(("_", ".")))
        if data:
            depth = os.path.relpath(parent, folders[0]).count(os.sep) + (parent != folders[0])
            files = os.path.join(base, *["*"] * depth, "*" + os.path.splitext(data[0])[1])
            what = "is a folder" if folders == [pattern] else "matches folders only"
            if not depth:
                return (f"--input {pattern} {what}, whose files are in no partition folders "
                        f"(key=value) to carry: tag them without --partition-fields, --input "
                        f"'{files}'")
            return (f"--input {pattern} {what}, not files: match the files in its partition "
                    f"folders with a wildcard for each, --input '{files}'")
    return None


def infer_input_format(pattern, chosen="auto"):
    """``chosen``, else the format the pattern's extension names, else the one the names of the
    files it matches share (``docs/*`` over JSON Lines files was tagged as text, braces and
    quotes included); BeamtaggerError where they name several."""
    if chosen != "auto":
        return chosen
    named = format_of_name(pattern)
    if named is not None:
        return named
    from apache_beam.io.filesystems import FileSystems

    try:
        matched = FileSystems.match([pattern])[0].metadata_list
    except Exception:  # noqa: BLE001  (check_job reports what is wrong with the pattern)
        return "text"
    files_by_format = {}
    for metadata in matched:
        files_by_format.setdefault(format_of_name(metadata.path) or "text", metadata.path)
    if len(files_by_format) > 1:
        described = ", ".join(f"{os.path.basename(path)} as {name}"
                              for name, path in sorted(files_by_format.items()))
        raise BeamtaggerError(f"--input {pattern} matches files of several formats ({described}"
                              f"); tag them in separate runs, or give --input-format")
    return next(iter(files_by_format), "text")


def format_of_name(path):
    """The input format a file name's extension names, or None."""
    name = path.lower()
    # Every compression Beam's FileSystems decompresses by extension (and .gzip, which
    # FileLines reads): "docs.jsonl.zst" is JSON Lines, not text.
    for compressed in runtime_choice.COMPRESSED_SUFFIXES:
        if name.endswith(compressed):
            name = name[:-len(compressed)]
            break
    return _EXTENSION_FORMATS.get(os.path.splitext(name)[1])


def check_input(job):
    """BeamtaggerError where ``job``'s input cannot be read as asked; else its files'
    metadata."""
    from apache_beam.io.filesystems import FileSystems

    if job.input_pattern.startswith("file://"):
        # Beam has no file system for file:// ("Unable to get filesystem from specified path").
        raise BeamtaggerError(f"--input {job.input_pattern}: Beam reads no file:// URL; give "
                              "files on this machine as a plain path or pattern "
                              f"({job.input_pattern[len('file://'):] or '/'})")
    problem = no_file_system(job.input_pattern) if "://" in job.input_pattern else None
    if problem:
        raise BeamtaggerError(f"--input {job.input_pattern}: {problem}")
    _check_folders_searchable(job.input_pattern)
    try:
        matched = FileSystems.match([job.input_pattern])[0].metadata_list
    except Exception as error:  # noqa: BLE001  (FileSystems raises BeamIOError and others)
        raise BeamtaggerError(f"cannot list input {job.input_pattern}: {error}") from None
    _check_no_name_skipped(job.input_pattern, matched)
    if not matched:
        raise BeamtaggerError(f"no input files match {job.input_pattern}"
                              + (broken_link(job.input_pattern)
                                 or _glob_characters_hint(job.input_pattern)
                                 or _folders_only_hint(job.input_pattern)))
    for metadata in matched:
        _check_readable(metadata.path, job.input_pattern)
    _check_partition_folders(matched, job)
    _check_first_files(matched, job)
    _check_field_columns_found(matched, job)
    _check_heads(matched, job)
    _warn_of_a_name_read_as_a_pattern(matched, job)
    return matched


def _check_folders_searchable(pattern):
    """BeamtaggerError naming the first folder a local ``pattern`` reaches that this user may
    not search (or, where a wildcard matches names in it, list): Beam's matching passes over
    it without a word (``folder_access``). Refused as an unreadable file among the matches
    is."""
    from beamtagger.pipeline import folder_access
    from beamtagger.transforms.worker_resources import is_remote

    problem = None if is_remote(pattern) else folder_access.refusal(pattern)
    if problem:
        raise BeamtaggerError(f"--input {pattern}: {problem}")


def _glob_characters_hint(pattern):
    """For a pattern that names an existing file whose name holds ``[ ]``, ``*`` or ``?``: how
    to write it (``a[1].txt`` matches only ``a1.txt``), else ""."""
    from beamtagger.transforms.worker_resources import is_remote

    if is_remote(pattern) or not os.path.isfile(pattern):
        return ""
    return (f"; a file of that name is there, but [ ] * ? are pattern characters: write it as "
            f"--input {shlex.quote(glob.escape(pattern))}")


def _warn_of_a_name_read_as_a_pattern(matched, job):
    """Warns where ``--input`` names an existing file whose name holds ``*``, ``?`` or
    ``[ ]`` and, read as the pattern it is, matches other files too (``what?.txt`` matches
    ``whats.txt``): all of them are tagged, which a user who meant the one file was not told."""
    from beamtagger.transforms.reading.record_parsers import has_wildcard
    from beamtagger.transforms.worker_resources import is_remote

    pattern = job.input_pattern
    if (job.stdin_spool is not None or is_remote(pattern) or len(matched) < 2
            or not has_wildcard(os.path.basename(pattern)) or not os.path.isfile(pattern)):
        return
    same = os.path.normpath(pattern)
    others = sorted(m.path for m in matched if os.path.normpath(m.path) != same)
    print(line_breaks_escaped(
        f"warning: --input {pattern} is the name of a file, and as a pattern it also matches "
        f"{len(others):,} other file{'' if len(others) == 1 else 's'} ({others[0]}"
        f"{', ...' if len(others) > 1 else ''}): all are tagged; for that file alone write "
        f"--input {shlex.quote(glob.escape(pattern))}"), file=sys.stderr, flush=True)


def _folders_only_hint(pattern):
    """For a local pattern that matches folders only (a Hive-partitioned dataset's
    ``ds/*``, whose files are in ``ds/year=2024/``): how to name the files in them, else ""."""
    from beamtagger.transforms.worker_resources import is_remote

    if is_remote(pattern):
        return ""
    folders = sorted(path for path in glob.glob(pattern) if os.path.isdir(path))
    if not folders:
        return ""
    shown = ", ".join(folders[:2]) + (", ..." if len(folders) > 2 else "")
    return (f"; it matches only folders ({shown}): name the files in them, e.g. --input "
            f"'{pattern.rstrip(os.sep)}{os.sep}*'")


def _check_no_name_skipped(pattern, matched):
    """BeamtaggerError where a local file the pattern would match is one Beam's matching
    skips: Beam reads a backslash in a name as a folder separator (Windows'), so its ``*``
    does not match ``a\\b``, and the file's records were lost without a word, exit 0; nor does
    it list the files in a symbolic link to a folder (a partition linked into a lake).

    The files are listed as Beam lists them (every file under the pattern's folder, hidden ones
    too, symlinked folders not followed) and matched with Beam's own pattern, its ``*`` taking
    the backslash. Python's glob, used before, hid ``.a\\b`` as hidden (lost all the same) and
    followed two symlinks to a parent folder down without end under ``**``. It costs a second
    listing of the pattern's folder, which Beam's own matching has just made."""
    from apache_beam.io.filesystem import FileSystem

    from beamtagger.transforms.worker_resources import is_remote

    if is_remote(pattern) or not glob.has_magic(pattern):
        return
    # Beam's FileSystem.match: the folder of the part before the first pattern character.
    folder = os.path.dirname(re.match(r"[^[*?]*", pattern).group(0))
    beams_star = r"[^/\\]*"
    without_backslash_rule = re.compile(
        FileSystem.translate_pattern(pattern).replace(beams_star, "[^/]*")).match
    listed = {metadata.path for metadata in matched}
    read = None  # the real paths of the listed files, once a link is seen
    for parent, folders, names in os.walk(folder):
        for name in names:
            path = os.path.join(parent, name)
            if "\\" in path and path not in listed and without_backslash_rule(path):
                raise BeamtaggerError(
                    f"--input {pattern} matches {path}, which Beam's file matching skips: it "
                    "takes the backslash in the name for a folder separator, so its * does not "
                    "match it; rename the file (or match it with ** instead of *)")
        for name in folders:
            link = os.path.join(parent, name)
            if not os.path.islink(link):
                continue
            if read is None:
                read = {os.path.realpath(path) for path in listed}
            path = _file_missed_in(link, pattern, without_backslash_rule, read)
            if path:
                raise BeamtaggerError(
                    f"--input {pattern} matches {path}, but {link} is a symbolic link to a "
                    "folder, which Beam's file matching does not follow: its files would not "
                    "be read; name the folder it links to in --input (or copy it in)")


def _file_missed_in(link, pattern, rule, read):
    """The first file under the symbolic link ``link`` to a folder that ``pattern`` (its
    regular expression ``rule``) matches and that is not read by another path (its real path
    not in ``read``: a link to a folder the pattern also reaches loses nothing), or None. The
    folders a pattern without ``**`` cannot reach are not listed (a link to / under
    ``ds/*/*.parquet`` lists two levels)."""
    # Without **, the files it matches are pattern.count("/") folders deep, as Beam's * and ?
    # match no "/".
    last_level = None if "**" in pattern else pattern.count("/") - link.count("/") - 1
    for parent, folders, names in os.walk(link):
        for name in names:
            path = os.path.join(parent, name)
            if rule(path) and os.path.realpath(path) not in read:
                return path
        if last_level is not None and parent.count("/") - link.count("/") >= last_level:
            folders.clear()
    return None


def _check_readable(path, pattern):
    from beamtagger.transforms.worker_resources import is_remote

    if is_remote(path):
        return
    if os.path.isdir(path):
        raise BeamtaggerError(f"--input {pattern} is a directory; to tag the files in it, "
                              f"use --input '{pattern.rstrip(os.sep)}{os.sep}*'")
    special = _not_regular_file(path)
    if special:
        # Its open waits for a writer, and the run opens each input file several times.
        raise BeamtaggerError(f"--input {path} is {special}, where a run opens its input "
                              "files more than once; pipe it in "
                              f"as --input - (beamtagger tag --input - < {path}) or copy it "
                              "to a file")
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as error:
        raise BeamtaggerError(f"cannot read input file {path}: {error.strerror or error}") from None


def _not_regular_file(path):
    """What ``path`` is where it is no regular file (a FIFO, a device, a socket), else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None   # the open says why
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), whose bytes can be read once"
    return "a socket, not a file" if stat.S_ISSOCK(mode) else "a device, not a file"


def _check_first_files(matched, job):
    """BeamtaggerError for the first of the first MAX_FILES_CHECKED files (by path) whose
    records cannot be read: Parquet files by their footers, CSV and TSV files by their
    headers; the other formats have nothing a file says of all its records."""
    problem_of = _file_problem(job)
    if problem_of is None:
        return
    for metadata in sorted(matched, key=lambda m: m.path)[:MAX_FILES_CHECKED]:
        problem = problem_of(metadata.path)
        if problem is not None:
            raise BeamtaggerError(f"--input {metadata.path}: {problem}")


def _check_field_columns_found(matched, job):
    """BeamtaggerError for a --field-columns name that none of the first MAX_FILES_CHECKED
    Parquet, CSV or TSV files (by path) has as a column or partition key: without --fields
    nothing else refuses it, and its column would be null in every record (a misspelling).
    Their footers or headers are read a second time: only when --field-columns is given."""
    if not job.field_columns or job.fields is not None or _file_problem(job) is None:
        return
    from beamtagger.transforms.reading.partition_fields import file_partitions

    layout, wanted, found = _record_layout(job), {c.name for c in job.field_columns}, set()
    checked = sorted(metadata.path for metadata in matched)[:MAX_FILES_CHECKED]
    for path in checked:
        found.update(file_partitions(path, layout)[0], _column_names(path, job))
        if wanted <= found:
            return
    missing = [column.name for column in job.field_columns if column.name not in found]
    shown = ", ".join(map(repr, sorted(found - {job.text_field, job.id_field}))) or "none"
    files = "its first file" if len(checked) == 1 else f"its first {len(checked):,} files"
    raise BeamtaggerError(
        f"--field-columns: no column {', '.join(map(repr, missing))} in {files} (nor a "
        f"partition key): its column would be null in every record; the fields they carry "
        f"are {shown}")


def _column_names(path, job):
    """The column names of the Parquet, CSV or TSV file ``path`` (_check_first_files found
    it readable)."""
    if job.input_format == "parquet":
        from beamtagger.transforms.reading.parquet_rows import open_parquet

        with open_parquet(path) as parquet:
            return parquet.schema_arrow.names
    from beamtagger.transforms.reading.csv_rows import header_names
    from beamtagger.transforms.reading.file_lines import FileLines, first_bytes_opener

    return header_names(FileLines(path, first_bytes_opener(path), job.encoding),
                        job.input_format, job.delimiter, job.encoding)


def _check_partition_folders(matched, job):
    """BeamtaggerError for the first file (by path) whose folders --partition-fields cannot
    carry, or where no file is in a key=value folder (a flat folder read through ``**``: the
    option carried nothing without a word): known from the listing alone, so every file is
    checked."""
    if not job.partition_fields:
        return
    from beamtagger.transforms.reading.partition_fields import PartitionProblem, file_partitions
    from beamtagger.transforms.reading.record_parsers import path_text, pattern_id_folder

    layout, carried = _record_layout(job), False
    for path in sorted(metadata.path for metadata in matched):
        try:
            carried = bool(file_partitions(path, layout)[0]) or carried
        except PartitionProblem as problem:
            raise BeamtaggerError(f"--partition-fields: --input {path_text(path)}: "
                                  f"{problem}") from None
    if matched and not carried:
        raise BeamtaggerError(
            f"--partition-fields: no file --input {job.input_pattern} matches "
            f"({len(matched):,}) is in a key=value folder after "
            f"{pattern_id_folder(job.input_pattern).rstrip('/')}/, so there is nothing to "
            "carry: leave "
            "--partition-fields out, or match the partition folders (ds/*/*/*.parquet)")


def _record_layout(job):
    from beamtagger.transforms.reading.record_layout import RecordLayout
    from beamtagger.transforms.reading.record_parsers import pattern_id_folder

    return RecordLayout(job.text_field, job.id_field, job.fields,
                        pattern_id_folder(job.input_pattern), job.encoding, job.partition_fields)


def _file_problem(job):
    """The function that says why a file of ``job``'s input format cannot be read, or None
    (the columns a file's partition folders give are not looked for in it)."""
    if job.input_format not in ("parquet", "csv", "tsv"):
        return None
    from beamtagger.transforms.reading.partition_fields import file_partitions

    layout = _record_layout(job)
    if job.input_format == "parquet":
        from beamtagger.transforms.reading import parquet_rows

        def parquet_problem(path):
            read = file_partitions(path, layout)[1]
            return parquet_rows.file_problem(path, read.text_field, read.fields, read.id_field)
        return parquet_problem
    from beamtagger.transforms.reading import csv_rows
    from beamtagger.transforms.reading.file_lines import FileLines, first_bytes_opener

    return lambda path: csv_rows.file_problem(FileLines(path, first_bytes_opener(path),
                                                        job.encoding), job.input_format,
                                              file_partitions(path, layout)[1], job.delimiter)


# Files whose first bytes tag reads for a sign of another encoding than UTF-8, and how many:
# a few requests on gs://, and a CSV saved by Excel shows its first accented letter early.
FILES_CHECKED_FOR_ENCODING = 3
ENCODING_CHECK_BYTES = 64 << 10


def _check_heads(matched, job):
    """Reads the first bytes of the first FILES_CHECKED_FOR_ENCODING files (by path) once, for
    two checks: BeamtaggerError for the first whose lines end in CR alone (``_cr_line_ends``),
    and one warning for the first in another encoding than the one it is read in
    (``_encoding_warning``). Refused among many files too, where a UTF-16 file among them is
    only warned of: its reading makes it one dead letter, where a file of CR line ends was
    tagged as one record of all its lines, exit 0."""
    from beamtagger.transforms.reading.decoded_lines import is_utf8

    if job.input_format == "parquet":
        return
    from beamtagger.transforms.reading.file_lines import FileLines, first_bytes_opener

    why_not_as_read, warned = _encoding_warning(job), False
    for metadata in sorted(matched, key=lambda m: m.path)[:FILES_CHECKED_FOR_ENCODING]:
        path = metadata.path
        head = FileLines(path, first_bytes_opener(path)).head(ENCODING_CHECK_BYTES)
        problem = _cr_line_ends(head, job.encoding)
        if problem is not None:
            raise BeamtaggerError(_as_given(f"--input {path}: {problem}", job))
        found = None if warned or why_not_as_read is None else why_not_as_read(head)
        if found is not None:
            read_as = "UTF-8" if is_utf8(job.encoding) else job.encoding
            warning = f"warning: --input {path}: {found}; tagging it as {read_as}"
            print(line_breaks_escaped(_as_given(warning, job)), file=sys.stderr, flush=True)
            warned = True


def _as_given(line, job):
    """``line`` naming the input as the user gave it: standard input, not the copy's path, a
    file the run removes (``stdin_spool``)."""
    if job.stdin_spool is None:
        return line
    from beamtagger.pipeline.stdin_spool import shown_as_stdin

    return shown_as_stdin(line, job.stdin_spool)


def _encoding_warning(job):
    """What says why a file's first bytes are most likely in another encoding than
    ``job.encoding``, or None where nothing does: read as UTF-8 (the default), they are
    UTF-16 or UTF-32 or are not UTF-8 but read as cp1252 (``text_encodings.likely_encoding``);
    read in another encoding that keeps ASCII, they are UTF-8 (``text_encodings.utf8_read_as``).
    Not a refusal: a few bytes that are not UTF-8 in a large UTF-8 corpus are the dead letters
    of their lines."""
    from beamtagger.transforms.reading.decoded_lines import is_utf8, reads_line_by_line

    if is_utf8(job.encoding):
        from beamtagger.text_encodings import likely_encoding

        return likely_encoding
    if not reads_line_by_line(job.encoding):
        return None
    from beamtagger.text_encodings import utf8_read_as

    return lambda head: utf8_read_as(head, job.encoding)


def _cr_line_ends(head, encoding):
    """``line_ends.cr_line_ends`` of a file's first bytes ``head`` read in ``encoding``: as they
    are where every byte 0A is a newline, else transcoded as its reader transcodes them
    (UTF-16LE's CR is 0D 00); None where its reader makes the file one dead letter for being in
    another encoding (``file_lines.not_utf8``, ``decoded_lines.WrongEncoding``), which says
    what to do first."""
    from beamtagger.line_ends import cr_line_ends
    from beamtagger.text_encodings import other_encoding
    from beamtagger.transforms.reading.decoded_lines import (WrongEncoding, reads_line_by_line,
                                                             transcoded_lines)

    if reads_line_by_line(encoding):
        if b"\r" in head and other_encoding(head) is not None:
            return None
        return cr_line_ends(head)
    try:
        text = b"".join(transcoded_lines(io.BytesIO(head), encoding))
    except WrongEncoding:
        return None
    return cr_line_ends(text, size=len(head))
