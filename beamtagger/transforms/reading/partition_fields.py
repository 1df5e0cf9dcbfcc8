"""Hive partition values as fields: ``ds/year=2024/month=01/part-0.parquet`` -> ``year``,
``month`` (no Beam).

Spark, Hive and pyarrow (``write_dataset(partitioning="hive")``) keep the columns a table is
partitioned by in its folder names only. With
``RecordLayout.partition_fields`` every ``key=value`` folder of a file's path between the
pattern's fixed folder (``record_parsers.pattern_id_folder``: the folders before its first
wildcard) and the file's name becomes a field of each of its records. The fixed folders are
the same for every record of a run (the user wrote them), and a pattern whose only wildcards
are in the file name has no folder between: ``partition_problem`` refuses it, rather than
carrying nothing.

Values are the folder's text, URL-decoded as Hive and Spark write them (``%2F``, ``%3D``,
``%25``...; keys too; pyarrow escapes values only and decodes both); Hive's
``__HIVE_DEFAULT_PARTITION__`` (a null value) is null;
``key=`` is the empty string. They stay strings: Spark and pyarrow infer types, and so read
``month=01`` as the integer 1, which loses the zero that a date's text had (and a value that
is a number in one folder and not in another changes type between files). A folder is split at
its first ``=`` (``a=b=c``: ``a`` is ``"b=c"``), as both do; a folder without one is no
partition and is skipped (pyarrow's rule). Keys differing between files are carried as each
file's path has them, as JSON Lines records carry the fields each has.

Refused, as the file's one dead letter (``beamtagger tag`` refuses before launch, from the
listing): a folder with an empty key (``=2024``) or a key holding a line end or another
character that does not print, a key twice in one path, a key that is the text or id field,
and a name that is not UTF-8 (raw, or once URL-decoded). A record holding a field of a
partition key's name keeps it where it is the folder's value (the JSON text of a number
compared: ``2024`` and ``year=2024``); where the two differ the record is a dead letter naming
both, since Spark and pyarrow take the folder's and lose the file's without a word.
"""
import urllib.parse

from beamtagger.transforms.reading.record_parsers import (BadRecord, has_wildcard,
                                                          json_id, path_from_folder, path_text,
                                                          pattern_id_folder)
from beamtagger.transforms.records import DeadLetter, TextRecord, path_on_one_line

__all__ = ["HIVE_NULL", "PartitionProblem", "file_partitions", "partition_problem",
           "unread_file", "with_partition_fields"]

_new_record = tuple.__new__
# What Hive, Spark and pyarrow name the folder of a null partition value.
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


class PartitionProblem(ValueError):
    """Why a file's folders cannot be read as partition fields; the message says which."""


def partition_problem(input_format, file_pattern, field_formats):
    """Why records of ``input_format`` read by ``file_pattern`` cannot carry partition fields,
    or None: only the folders a wildcard of the pattern matches are carried (those before it
    are the same for every record), so its fixed folder must be known when the pipeline is
    built."""
    if input_format not in field_formats:
        return (f"only {', '.join(field_formats[:-1])} and {field_formats[-1]} records carry "
                f"fields, not {input_format} (its default ids name the partition folders)")
    if not isinstance(file_pattern, str):
        return ("the pattern is a ValueProvider, known only when the pipeline runs, so the "
                "folder the partition folders follow (the one before its first wildcard) is "
                "not known when it is built: give the pattern as a string")
    if pattern_id_folder(file_pattern) is None:
        what = ("'s wildcards are in its file name only" if has_wildcard(file_pattern)
                else " has no wildcard, so it names one file")
        return (f"the pattern{what}: its folders are the same for every record and none "
                "is carried; match the partition folders with wildcards (ds/*/*/*.parquet, "
                "ds/**; ds/year=202[4]/*.parquet carries year for 2024 alone)")
    return None


def file_partitions(path, layout):
    """``(values, layout)`` for the file ``path``: its partition values (key -> str or None;
    none where ``layout.partition_fields`` is off), and ``layout`` for its reader, the keys
    taken out of ``layout.fields``: the folder gives them, and a Parquet, CSV or TSV file
    without a column ``fields`` names is refused (a column of a key's name that ``fields``
    names is not read: the folder's value is the one asked for). Raises PartitionProblem."""
    if not layout.partition_fields:
        return {}, layout
    values = _partition_values(path, layout.id_folder)
    for key in values:
        if key in (layout.text_field, layout.id_field):
            what = "text" if key == layout.text_field else "id"
            raise PartitionProblem(f"its folder names the partition key {key!r}, the {what} "
                                   f"field: a record's {what} cannot be a folder's value")
    if layout.fields is not None and values:
        layout = layout._replace(fields=tuple(name for name in layout.fields
                                              if name not in values))
    return values, layout


def unread_file(path, problem):
    """The one DeadLetter (stage "read") of a file whose folders are refused (``problem``)."""
    return DeadLetter(path_text(str(path)), f"{problem}; none of its records was read", "",
                      "read")


def _partition_values(path, id_folder):
    folders = path_from_folder(str(path), id_folder).split("/")[:-1]
    values = {}
    for folder in folders:
        if "=" not in folder:
            continue
        raw_key, _, raw_value = folder.partition("=")
        key, value = _decoded(raw_key, folder), _decoded(raw_value, folder)
        if not key:
            raise PartitionProblem(f"its folder {folder!r} has no partition key before '='")
        if not key.isprintable():
            raise PartitionProblem(f"its folder {folder!r} names the partition key {key!r}, "
                                   "which holds a character that does not print")
        if key in values:
            raise PartitionProblem(f"the partition key {key!r} names two of its folders")
        values[key] = None if value == HIVE_NULL else value
    return values


def _decoded(text, folder):
    try:
        text.encode("utf-8")  # a name not valid in the file system's: lone surrogates
        return urllib.parse.unquote(text, errors="strict")
    except UnicodeError:
        # Its bytes that are not UTF-8 as \xNN, as the file's dead letter's source names them:
        # U+FFFD named no folder, and gave two such folders one name.
        shown = path_on_one_line(folder)
        raise PartitionProblem(f"its folder '{shown}' is not UTF-8 text (or its %-escapes "
                               "are not), so it cannot be a field") from None


def with_partition_fields(items, values, fields=None):
    """``items`` (records and DeadLetters of one file), each record's fields holding the
    file's partition ``values`` too: after its own (``fields`` None) or in ``fields``' order.
    A record whose own field of a key's name differs from the folder's value is a DeadLetter."""
    # ``items`` itself without partition values: every run without --partition-fields reads
    # through here, and a generator in between cost each record a step more.
    return _with_values(items, values, fields) if values else items


def _with_values(items, values, fields):
    for item in items:
        if type(item) is not TextRecord:
            yield item
            continue
        record_id, text, source, own = item
        if not own:
            merged = dict(values)
        elif own.keys().isdisjoint(values):
            merged = {**own, **values}
        else:
            clash = next((key for key in values if key in own
                          and not _same_value(own[key], values[key])), None)
            if clash is not None:
                yield DeadLetter(source, f"its field {clash!r} is {own[clash]!r}, but its "
                                 f"folder says {clash}={values[clash]!r}", text, "decode")
                continue
            merged = {**values, **own}
            merged = {key: merged[key] for key in (*own, *values) if key in merged}
        if fields is not None:
            merged = {name: merged[name] for name in fields if name in merged}
        # tuple.__new__: a NamedTuple's _replace cost 1 µs a record, about as much as the rest
        # of this loop (200,000 JSON Lines records read side by side, 2026-12-06).
        yield _new_record(TextRecord, (record_id, text, source, merged or None))


def _same_value(own, folder_value):
    if own is None or folder_value is None:
        return own is folder_value
    if isinstance(own, str):
        return own == folder_value
    try:
        return json_id(own) == folder_value
    except BadRecord:  # NaN and the infinities have no JSON text
        return False
