"""Parquet files -> records and dead letters, row group by row group (pyarrow; no Beam pipeline).

A record is a row: its text from the ``text_field`` column, its id from the ``id_field`` column
where the file has one and the row's value is not null (as JSON Lines: strings as they are,
other values as their JSON text), else ``<file name>:<row>``, the row counted from 1 in the
file as lines are; its ``source`` is ``<path>:<row>``. Every other column passes through as a
field, or only the columns ``fields`` names, in that order: then only the text, id and named
columns are read from the file (pyarrow's column projection), so the other columns of a wide
table (images, embeddings, raw pages) cost no reading, decoding or carrying, and a value there
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
workers), and is read in batches of ``ROWS_PER_BATCH`` rows of the columns the records need;
damage inside a row group ends it in one dead letter naming the row where it stopped.
"""
import contextlib
import datetime
import decimal
from collections import Counter
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from beamtagger.errors import out_of_open_files
from beamtagger.transforms.reading.record_parsers import (BadRecord, bad_utf8, file_name,
                                                          json_id, path_text)
from beamtagger.transforms.records import DeadLetter, TextRecord, one_line, raw_text

__all__ = ["ROWS_PER_BATCH", "RowGroup", "file_problem", "row_group_records", "row_groups",
           "schema_problem"]

# Rows decoded at a time: a block's worth (blocks.BLOCK_RECORDS), so a row group of any size
# is held a batch at a time once decoded.
ROWS_PER_BATCH = 1024
# beamtagger's own Parquet output (write_results.RESULT_SCHEMA): tagged tokens, no text.
_OWN_OUTPUT_COLUMNS = {"id", "tokens", "fields"}
_TEXT_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view,
               pa.types.is_binary, pa.types.is_large_binary, pa.types.is_binary_view)


class RowGroup(NamedTuple):
    """One row group of one file: what a reader needs to read it on any worker.

    Args:
      path: the file.
      index: the row group's index in the file.
      first_row: the number of its first row in the file, counted from 1.
      rows: how many rows it holds.
    """
    path: str
    index: int
    first_row: int
    rows: int


@contextlib.contextmanager
def open_parquet(path):
    """A ``pq.ParquetFile`` of ``path`` on any Beam file system (its footer read), closed after.

    Pages that carry a CRC (pyarrow's ``write_page_checksum=True``, parquet-mr's default since
    1.12) are checked as they are read: pyarrow does not by default, and a flipped byte in an
    uncompressed page was tagged as text. A page without one cannot be checked; Snappy, Zstd
    and the other codecs refuse most damage to a compressed page by themselves."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        yield pq.ParquetFile(raw, page_checksum_verification=True)


def schema_problem(schema, text_field, fields=None, id_field=None):
    """Why the records of a file of this Arrow ``schema`` cannot be read, or None.

    ``fields``: the columns carried (None: all of them); then two columns of one name matter
    only where they are read (the text, ``id_field`` and ``fields``)."""
    names = schema.names
    found = ", ".join(names) if names else "none"
    if text_field not in names:
        own = (" (beamtagger's own tagged output: its tokens are tagged already, there is "
               "no text to tag)" if _OWN_OUTPUT_COLUMNS <= set(names) else "")
        return f"no text column {text_field!r}; its columns are {found}{own}"
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
    path = path_text(str(path))
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
        yield DeadLetter(path, f"{problem}; none of its rows was read", "", "read")
        return
    first_row = 1
    for index in range(metadata.num_row_groups):
        rows = metadata.row_group(index).num_rows
        if rows:
            yield RowGroup(path, index, first_row, rows)
        first_row += rows


def row_group_records(group, text_field="text", id_field="id", fields=None):
    """One TextRecord or DeadLetter per row of ``group``; where the file cannot be read on, one
    DeadLetter (stage "read") for the rows from there to the group's end.

    ``fields``: the columns carried, in this order (None: every column but the text and id)."""
    row, last = group.first_row, group.first_row + group.rows - 1
    try:
        with open_parquet(group.path) as parquet:
            schema = parquet.schema_arrow
            problem = schema_problem(schema, text_field, fields, id_field)
            if problem is not None:  # rewritten since its footer was read
                raise ValueError(problem)
            has_id = bool(id_field) and id_field != text_field and id_field in schema.names
            id_column = id_field if has_id else None
            carried = ([name for name in schema.names if name not in (text_field, id_column)]
                       if fields is None else list(fields))
            read = (None if fields is None
                    else [text_field] + ([id_column] if has_id else []) + carried)
            # pyarrow skips a named column the file lacks without a word (pyarrow 25):
            # schema_problem above has made sure every name is there.
            batches = parquet.iter_batches(batch_size=ROWS_PER_BATCH, row_groups=[group.index],
                                           columns=read, use_threads=False)
            for batch in batches:
                yield from _batch_records(batch, group.path, row, text_field, id_column,
                                          carried)
                row += batch.num_rows
        if row <= last:
            raise ValueError(f"the row group ends after {row - group.first_row:,} of its "
                             f"{group.rows:,} rows")
    except Exception as error:  # noqa: BLE001  (pyarrow and every file system differ)
        if out_of_open_files(error):
            raise
        yield DeadLetter(f"{group.path}:{row}", one_line(
            f"the file cannot be read from row {row:,} on (row group {group.index}): "
            f"{type(error).__name__}: {error}; its rows {row:,} to {last:,} were not read"),
            "", "read")


def _batch_records(batch, path, first_row, text_field, id_column, carried):
    """``id_column``: the column of the ids (None: the file has none); ``carried``: the names of
    the columns carried, in order."""
    name = file_name(path)
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
