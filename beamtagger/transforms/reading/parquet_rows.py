"""Parquet files -> records and dead letters, row group by row group (pyarrow; no Beam pipeline).

A record is a row: its text from the ``text_field`` column, its id from the ``id_field`` column
where the file has one and the row's value is not null (as JSON Lines: strings as they are,
other values as their JSON text), else ``<file name>:<row>`` (``record_parsers.file_name``: the
path from the input pattern's folder where the pattern reaches into folders), the row counted
from 1 in the file as lines are; its ``source`` is ``<path>:<row>``. Every other column passes
through as a field (but an unnamed pandas index, ``_pandas_unnamed_index``), or only the columns ``fields``
names, in that order: then only the text, id and named columns are read from the file
(pyarrow's column projection), so the other columns of a wide table (images, embeddings, raw
pages) cost no reading, decoding or carrying, and a value there
that JSON cannot hold costs nothing. A named column missing makes the file one dead letter, as
a missing text column does. Carried values are converted to what JSON holds (as a JSON Lines
record's fields): timestamps, dates, times as ISO 8601 text, durations and decimals as their
text, binary values as UTF-8 text, map entries as ``[key, value]`` lists; lists and structs as
lists and objects of the same.

Why not Beam's ``ReadFromParquetBatched``: it gives tables of rows without the file or row they
came from (no stable default id), reads a whole row group into memory at once, and a file that
is not Parquet, or is corrupt, raises inside the source and fails the job. Here a file's footer
is read first (``row_groups``: a file that cannot be read becomes one dead letter naming it),
each row group becomes its own element (so the row groups of one large file spread over the
workers; small ones in a row are joined up to ``JOINED_ROWS`` rows), and is read in batches of
at most ``ROWS_PER_BATCH`` rows (fewer where they are large) of the columns the records need;
damage inside a row group, or a file rewritten since its row groups were listed, ends it in one
dead letter naming the row where it stopped.
"""
import contextlib
import datetime
import decimal
import json
import re
from collections import Counter
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from beamtagger.errors import out_of_open_files
from beamtagger.transforms.blocks import BLOCK_CHARACTERS
from beamtagger.transforms.reading.record_parsers import (BadRecord, bad_utf8, file_name,
                                                          json_id, path_text)
from beamtagger.transforms.records import DeadLetter, TextRecord, one_line, raw_text

__all__ = ["ROWS_PER_BATCH", "RowGroup", "file_problem", "row_group_records", "row_groups",
           "schema_problem"]

# Rows decoded at a time: a block's worth (blocks.BLOCK_RECORDS and, from the row group's
# uncompressed size, about blocks.BLOCK_CHARACTERS), so a row group of any size is held a batch
# at a time once decoded. Counted in rows alone, a batch of 1,024 texts of 1 MB held 2 GB
# (Arrow's copy and Python's) where a JSON Lines file of the same held a 4 MiB block.
ROWS_PER_BATCH = 1024
# Consecutive row groups read as one element up to these sizes: every element opens the file
# and parses its footer, which lists every row group, so 20,000 row groups of one row cost 12 ms
# each to read (3.4 ms at 5,000; 2-core Xeon, 2026-12-06): reading such a file took time that grew
# with the square of its row groups. Larger row groups stay elements of their own and spread.
JOINED_ROWS = 65_536
JOINED_BYTES = 64 << 20
# beamtagger's own Parquet output (write_results.RESULT_SCHEMA): tagged tokens, no text.
_OWN_OUTPUT_COLUMNS = {"id", "tokens", "fields"}
_PANDAS_UNNAMED_INDEX = re.compile(r"__index_level_\d+__")
_TEXT_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view,
               pa.types.is_binary, pa.types.is_large_binary, pa.types.is_binary_view)


class RowGroup(NamedTuple):
    """One row group of one file, or several small ones in a row: what a reader needs to read
    them on any worker.

    Args:
      path: the file.
      index: the (first) row group's index in the file.
      first_row: the number of its first row in the file, counted from 1.
      rows: how many rows it holds (they hold).
      count: how many row groups, from ``index`` on (``row_groups`` joins small ones).
    """
    path: str
    index: int
    first_row: int
    rows: int
    count: int = 1



@contextlib.contextmanager
def open_parquet(path):
    """A ``pq.ParquetFile`` of ``path`` on any Beam file system (its footer read), closed after.

    Pages that carry a CRC (pyarrow's ``write_page_checksum=True``, parquet-mr's default since
    1.12) are checked as they are read: pyarrow does not by default, and a flipped byte in an
    uncompressed page was tagged as text. A page without one cannot be checked; Snappy, Zstd
    and the other codecs refuse most damage to a compressed page by themselves."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        yield pq.ParquetFile(raw, page_checksum_verification=True)


# The names a refusal lists, each cut at a length: it is one line before launch and a dead
# letter's reason, where a wide table's header or a CSV's first row of data (a paragraph) made
# one of 1.4 MB (100,000 columns).
_LISTED_COLUMNS = 10
_LISTED_NAME_CHARS = 100


def _column_list(names):
    """The first of ``names`` as a refusal lists them, and how many there are where that is
    not all."""
    if not names:
        return "none"
    listed = ", ".join(map(_listed_name, names[:_LISTED_COLUMNS]))
    return (listed if len(names) <= _LISTED_COLUMNS
            else f"{listed}, ... ({len(names):,} columns)")


def _listed_name(name):
    """A column's name as a refusal lists it: quoted where spaces around it or a character that
    does not print (a line end) would not show, cut where long."""
    if len(name) > _LISTED_NAME_CHARS:
        name = name[:_LISTED_NAME_CHARS - 3] + "..."
    return name if name.isprintable() and name == name.strip() else repr(name)


def schema_problem(schema, text_field, fields=None, id_field=None):
    """Why the records of a file of this Arrow ``schema`` cannot be read, or None.

    ``fields``: the columns carried (None: all of them); then two columns of one name matter
    only where they are read (the text, ``id_field`` and ``fields``)."""
    names = schema.names
    found = _column_list(names)
    if text_field not in names:
        own = (" (beamtagger's own tagged output: its tokens are tagged already, there is "
               "no text to tag)" if _OWN_OUTPUT_COLUMNS <= set(names) else "")
        return (f"no text column {text_field!r}; its columns are {found}{own}"
                f"{_nested(schema, text_field)}")
    if fields is not None:
        missing = [name for name in fields if name not in names]
        if missing:
            return (f"no column {', '.join(map(repr, missing))} of the fields to carry; its "
                    f"columns are {found}")
    read = set(names) if fields is None else {text_field, id_field, *fields}
    repeated = sorted(name for name, count in Counter(names).items()
                      if count > 1 and name in read)
    if repeated:
        return (f"column names must be unique (each becomes a field of the record), but "
                f"{', '.join(map(repr, repeated))} appears more than once")
    text_type = schema.field(text_field).type
    if not _is_text_type(text_type):
        return (f"text column {text_field!r} is {text_type}, not text (string, large_string, "
                "dictionary-encoded strings, or binary holding UTF-8)")
    return None


def _nested(schema, text_field):
    """For a text field named like ``a.b`` where ``a`` is a struct column: that only a top-level
    column is read as the text (a name may hold dots itself, so ``a.b`` is never a path)."""
    parent = text_field.split(".")[0]
    if (parent == text_field or schema.names.count(parent) != 1
            or not pa.types.is_struct(schema.field(parent).type)):
        return ""
    return (f" ({parent!r} is a struct: a text inside one is not read; write it to a column "
            f"of its own, e.g. with pyarrow's Table.flatten())")


def file_problem(path, text_field, fields=None, id_field=None):
    """Why ``path``'s records cannot be read (not Parquet, damaged footer, no text column, no
    column ``fields`` names...), read from its footer alone, or None."""
    try:
        with open_parquet(path) as parquet:
            schema = parquet.schema_arrow
    except Exception as error:  # noqa: BLE001  (pyarrow and every file system differ)
        if out_of_open_files(error):
            raise
        return _unreadable(error)
    return schema_problem(schema, text_field, fields, id_field)


def row_groups(path, text_field, fields=None, id_field=None):
    """The RowGroups of ``path``, from its footer; one DeadLetter (stage "read") instead where
    the file cannot be read as records (``file_problem``). A file of zero rows has none."""
    # Opened by its own name; named in sources and ids as path_text writes it (a name that
    # is not UTF-8, opened as written there, was "No such file": none of its rows was read).
    path = str(path)
    try:
        with open_parquet(path) as parquet:
            metadata = parquet.metadata
        problem = schema_problem(metadata.schema.to_arrow_schema(), text_field, fields,
                                 id_field)
    except Exception as error:  # noqa: BLE001  (pyarrow and every file system differ)
        if out_of_open_files(error):
            raise  # a limit of the machine, not of this file (file_lines.FileLines)
        problem = _unreadable(error)
    if problem is not None:
        yield DeadLetter(path_text(path), f"{problem}; none of its rows was read", "", "read")
        return
    start, first_row, rows, size = 0, 1, 0, 0
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        if index > start and (rows + group.num_rows > JOINED_ROWS
                              or size + group.total_byte_size > JOINED_BYTES):
            if rows:
                yield RowGroup(path, start, first_row, rows, index - start)
            start, first_row, rows, size = index, first_row + rows, 0, 0
        rows += group.num_rows
        size += group.total_byte_size
    if rows:
        yield RowGroup(path, start, first_row, rows, metadata.num_row_groups - start)


def row_group_records(group, text_field="text", id_field="id", fields=None, id_folder=None):
    """One TextRecord or DeadLetter per row of ``group``; where a row group cannot be read on,
    one DeadLetter (stage "read") for its rows from there to its end, and the next row group of
    ``group`` is read (``group`` may join several, ``row_groups``).

    ``fields``: the columns carried, in this order (None: every column but the text and id).
    ``id_folder``: the folder default ids name the file from (``record_parsers.file_name``)."""
    row, index = group.first_row, group.index
    shown = path_text(group.path)
    name = file_name(group.path, id_folder)
    try:
        with open_parquet(group.path) as parquet:
            metadata = parquet.metadata
            _check_unchanged(metadata, group)
            schema = parquet.schema_arrow
            problem = schema_problem(schema, text_field, fields, id_field)
            if problem is not None:  # rewritten since its footer was read
                raise ValueError(problem)
            has_id = bool(id_field) and id_field != text_field and id_field in schema.names
            id_column = id_field if has_id else None
            if fields is None:
                unnamed_index = _pandas_unnamed_index(schema)
                carried = [name for name in schema.names
                           if name not in (text_field, id_column) and name not in unnamed_index]
            else:
                unnamed_index, carried = set(), list(fields)
            # pyarrow skips a named column the file lacks without a word (pyarrow 25):
            # schema_problem above has made sure every name is there.
            read = (None if fields is None and not unnamed_index
                    else [text_field] + ([id_column] if has_id else []) + carried)
            for index in range(group.index, group.index + group.count):
                rows = metadata.row_group(index).num_rows
                yield from _one_row_group_records(parquet, shown, name, index, row, rows,
                                                  read, text_field, id_column, carried)
                row += rows
    except Exception as error:  # noqa: BLE001  (pyarrow and every file system differ)
        if out_of_open_files(error):
            raise
        yield _unread_rows(shown, index, row, group.first_row + group.rows - 1, error)


def _one_row_group_records(parquet, path, name, index, first_row, rows, read, text_field,
                           id_column, carried):
    """The records of the row group ``index`` of ``parquet`` (the file ``path``, ``name`` in
    default ids), its first row ``first_row``; the rows of it that cannot be read, one
    DeadLetter."""
    row, last = first_row, first_row + rows - 1
    try:
        metadata = parquet.metadata.row_group(index)
        # A batch of about BLOCK_CHARACTERS decoded (ROWS_PER_BATCH above says why).
        batch_rows = max(1, min(ROWS_PER_BATCH,
                                BLOCK_CHARACTERS * rows // max(metadata.total_byte_size, 1)))
        for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[index],
                                          columns=read, use_threads=False):
            yield from _batch_records(batch, path, name, row, text_field, id_column, carried)
            row += batch.num_rows
        if row <= last:
            raise ValueError(f"the row group ends after {row - first_row:,} of its {rows:,} "
                             "rows")
    except Exception as error:  # noqa: BLE001  (pyarrow and every file system differ)
        if out_of_open_files(error):
            raise
        yield _unread_rows(path, index, row, last, error)


def _pandas_unnamed_index(schema):
    """The columns in which pandas stored a DataFrame's unnamed index (``__index_level_0__``...),
    from the file's pandas metadata: row labels, not data, and there or not by how the frame
    was built (a default RangeIndex is not stored), so not carried unless ``fields`` names
    them. A named index is a column like any other (``id`` gives the records their ids)."""
    try:
        index_columns = json.loads((schema.metadata or {})[b"pandas"])["index_columns"]
    except (KeyError, TypeError, ValueError):
        return set()
    return {name for name in index_columns
            if isinstance(name, str) and _PANDAS_UNNAMED_INDEX.fullmatch(name)}


def _unread_rows(path, index, row, last, error):
    return DeadLetter(f"{path}:{row}", one_line(
        f"the file cannot be read from row {row:,} on (row group {index}): "
        f"{type(error).__name__}: {error}; its rows {row:,} to {last:,} were not read"),
        "", "read")


def _check_unchanged(metadata, group):
    """ValueError where the file no longer holds ``group`` where its row groups were listed
    (it was rewritten since): its rows would be numbered wrong, read twice or not at all."""
    end = group.index + group.count
    if metadata.num_row_groups < end:
        raise ValueError(f"the file has changed since its row groups were listed: it holds "
                         f"{metadata.num_row_groups:,} row groups now, not {end:,} or more")
    first_row = 1 + sum(metadata.row_group(index).num_rows for index in range(group.index))
    rows = sum(metadata.row_group(index).num_rows for index in range(group.index, end))
    if (first_row, rows) != (group.first_row, group.rows):
        joined = "" if group.count == 1 else f" to {end - 1}"
        raise ValueError(f"the file has changed since its row groups were listed: row group "
                         f"{group.index}{joined} holds rows {first_row:,} to "
                         f"{first_row + rows - 1:,} now, not {group.first_row:,} to "
                         f"{group.first_row + group.rows - 1:,}")


def _batch_records(batch, path, name, first_row, text_field, id_column, carried):
    """``name``: the file's in default ids; ``id_column``: the column of the ids (None: the file
    has none); ``carried``: the names of the columns carried, in order."""
    texts = batch.column(text_field).to_pylist()
    ids = None if id_column is None else _Column(id_column, batch.column(id_column))
    carried = [_Column(column, batch.column(column)) for column in carried]
    for offset, text in enumerate(texts):
        row = first_row + offset
        source = f"{path}:{row}"
        try:
            if text is None:
                raise BadRecord(f"text column {text_field!r} is null")
            if isinstance(text, bytes):
                text = _utf8(text, f"text column {text_field!r}")
            record_id = None if ids is None else ids.value(offset)
            fields = {column.name: column.value(offset) for column in carried}
            yield TextRecord(f"{name}:{row}" if record_id is None else json_id(record_id),
                             text, source, fields or None)
        except BadRecord as bad:
            yield DeadLetter(source, str(bad), _as_text(text), "decode")
        except Exception as error:  # noqa: BLE001  (one row's failure must not fail the job)
            yield DeadLetter(source, one_line(f"cannot read the row: {error!r}"), _as_text(text),
                             "decode")


class _Column:
    """One column of a batch, its values as JSON holds them (the module docstring says how),
    converted row by row where ``to_pylist`` does not give them so: a value that cannot be
    (binary that is not UTF-8) is its row's own dead letter."""

    def __init__(self, name, array):
        self.name = name
        self._values = array.to_pylist()
        self._native = _json_native(array.type)

    def value(self, offset):
        value = self._values[offset]
        return value if self._native else _json_value(value, f"column {self.name!r}")


def _json_native(data_type):
    """Whether ``to_pylist`` gives this type's values as JSON holds them already."""
    if pa.types.is_dictionary(data_type):
        return _json_native(data_type.value_type)
    if (pa.types.is_list(data_type) or pa.types.is_large_list(data_type)
            or pa.types.is_fixed_size_list(data_type) or pa.types.is_list_view(data_type)
            or pa.types.is_large_list_view(data_type)):
        return _json_native(data_type.value_type)
    if pa.types.is_struct(data_type):
        return all(_json_native(field.type) for field in data_type)
    return (pa.types.is_null(data_type) or pa.types.is_boolean(data_type)
            or pa.types.is_integer(data_type) or pa.types.is_floating(data_type)
            or pa.types.is_string(data_type) or pa.types.is_large_string(data_type)
            or pa.types.is_string_view(data_type))


def _json_value(value, where):
    if isinstance(value, dict):
        return {key: _json_value(item, where) for key, item in value.items()}
    if isinstance(value, (list, tuple)):  # a map's entries are (key, value) tuples
        return [_json_value(item, where) for item in value]
    if isinstance(value, bytes):
        return _utf8(value, where)
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, (datetime.timedelta, decimal.Decimal)):
        return str(value)
    if hasattr(value, "isoformat"):  # pandas' Timestamp, for nanosecond timestamps
        return value.isoformat()
    return value


def _utf8(raw, where):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRecord(f"{where}: {bad_utf8(raw, error)}") from None


def _as_text(value):
    if isinstance(value, bytes):
        return raw_text(value)
    return value if isinstance(value, str) else ""


def _is_text_type(data_type):
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return any(is_type(data_type) for is_type in _TEXT_TYPES)


def _unreadable(error):
    return one_line(f"not a readable Parquet file ({type(error).__name__}: {error})")
