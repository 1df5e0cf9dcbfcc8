"""Carried fields as typed Parquet columns: ``WriteResults(field_columns=...)``, ``tag
--field-columns NAME[:TYPE],...``.

Parquet output keeps a record's pass-through fields in one JSON string column, ``fields``, as
they differ from record to record. A field named here becomes a top-level column of its own,
after ``id`` and before ``tokens``, and is taken out of ``fields`` (one place for a value), so
that BigQuery, Spark or DuckDB filter, join and partition by it without parsing JSON.

The type is named, never inferred: every file of a run must have the one schema (an empty
shard too) to read as one dataset, and a type inferred per shard would differ where one
shard's values are all integers and another's are not; one inferred before launch from the
first Parquet file's footer would fit Parquet input only (CSV cells and partition folders are
strings) and still fail on the next file of another type.

Types (``FIELD_TYPES``, named in any case as BigQuery names them, its legacy names
``TYPE_ALIASES`` too) and the values each takes, text in its plain forms only (stricter than
BigQuery's ``CAST``, which also takes hex, "inf" and "nan", and than ZetaSQL, which skips
spaces before digits: docs/tagging.md, "Fields as columns"); anything else makes the record a
dead letter of stage "format" naming the field, the value and the type, never a null or a
rounded value:

- ``string`` (the default): strings as they are; other values as their JSON text, as ids are
  (``record_parsers.json_id``: 5 -> "5", a list -> '[1,2]').
- ``int64``: integers within 64 bits, decimal text of them (CSV cells, partition folders:
  "2024", "-3", "01" -> 1), and floats that are whole numbers (2024.0: pandas writes an integer
  column with gaps as floats). Not booleans, fractions or text such as "1e3" or "1_000".
- ``float64``: numbers and decimal text ("3.5", "-1e-3"), as the nearest float64; an integer
  (or digits-only text) a float64 cannot hold exactly (above 2^53) is refused, not rounded.
- ``bool``: true and false, and their text in any case ("true", "False").
- ``date``: ISO 8601 dates, "YYYY-MM-DD" (how Parquet input's dates are carried). Not a
  timestamp: which day an instant falls on depends on a time zone it would have to pick.
- ``timestamp``: an instant, written as a Parquet timestamp in microseconds, UTC (BigQuery's
  TIMESTAMP: its unit, so nothing is cut on loading; Spark does not read Parquet's nanosecond
  timestamps as timestamps; microseconds reach years 1 to 9999 where nanoseconds stop at 1677
  and 2262). ISO 8601 text "YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]][offset]", the offset "Z",
  "+HH:MM", "+HHMM", "+HH" or "+HH:MM:SS", "t" and "z" in lowercase too, a comma before the
  fraction (how Parquet input's timestamps are carried: with their zone's offset, in seconds
  for a zone's local mean time, or none), converted to UTC; text without an offset is read as
  UTC, as BigQuery reads it (a local time is not guessed). Not a date alone, a fraction with
  nonzero digits past microseconds (a Parquet nanosecond timestamp's, which would be cut), a
  number (epoch seconds, milliseconds or microseconds? BigQuery does not cast INT64 to
  TIMESTAMP either: carry it as ``int64``), hour 24, a leap second (:60) or a time outside
  years 1 to 9999 in UTC; each refusal says which.

A record without the field, or whose field is null, has a null in its column. So does an empty
CSV or TSV cell (``""``, quoted or not) under a type other than ``string``, in a run that reads
CSV or TSV (``FieldColumn.empty_is_null``, which ``run_field_columns`` sets for them): CSV has no
null, and its readers read an empty cell as one (pyarrow.csv's ``null_values``, pandas'
``read_csv``, DuckDB's and BigQuery's CSV loads), where a dead letter lost the records of a
sparse column. A ``""`` in JSON Lines or Parquet is a string a producer wrote, which DuckDB's
``read_json`` and Spark 3's JSON reader refuse under a number type too: still a dead letter.
Whitespace-only cells are not null (pyarrow.csv's rule), and ``string`` keeps ``""``, the
difference between an empty value and a missing one (pyarrow's ``strings_can_be_null=False``).
There is no ``datetime`` (BigQuery's civil DATETIME, no zone): it is refused, saying to use
``timestamp`` or ``string``, as a second type would read the same text without an offset
another way.
"""
import datetime
import math
import re
from typing import NamedTuple

import pyarrow as pa

from beamtagger.transforms.reading.record_parsers import BadRecord, json_id

__all__ = ["FIELD_TYPES", "FieldColumn", "RESERVED_NAMES", "TYPE_ALIASES",
           "field_column_values", "field_columns_of", "run_field_columns", "with_field_columns"]

FIELD_TYPES = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(),
               "bool": pa.bool_(), "date": pa.date32(),
               "timestamp": pa.timestamp("us", tz="UTC")}
# BigQuery's legacy names of the types, the ones its REST schema (TableFieldSchema.type)
# lists first; any case is taken.
TYPE_ALIASES = {"integer": "int64", "float": "float64", "boolean": "bool"}
# Names of a civil date and time, no zone (BigQuery's, Spark's), refused with the types that
# carry one.
_CIVIL_TYPES = ("datetime", "timestamp_ntz")
# The result files' own columns (write_results.result_schema).
RESERVED_NAMES = ("id", "tokens", "fields", "entities")

_ID_FIELD_HINT = (": its values are the id column already, as text; to have it as a typed "
                  "column, leave --id-field out (the records then get default ids, file:row "
                  "or file:line)")
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# RFC 3339 allows a lowercase t and z, ISO 8601 a comma before the fraction; an offset in
# seconds is how Python writes a zone's local mean time (Europe/Amsterdam until 1937,
# +00:19:32), which a Parquet column with a zone gives for its early values.
_TIMESTAMP_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ](?P<hour>[0-9]{2}):[0-9]{2}"
                             r"(:(?P<second>[0-9]{2})([.,](?P<fraction>[0-9]+))?)?"
                             r"([Zz]|[+-][0-9]{2}(:[0-5][0-9](:[0-5][0-9])?|[0-5][0-9])?)?")
# Later CPythons' fromisoformat read hour 24 as the next day's midnight where 3.11's refuses it:
# refused here on every version, saying how to write it.
_END_OF_DAY_HOUR = "24"
_LEAP_SECOND = "60"
_MICROSECOND_DIGITS = 6
_INT64_END = 2 ** 63
_FLOAT64_EXACT = 2 ** 53
# A refusal shows the value cut at this many characters: it is a dead letter's one line.
_SHOWN_CHARS = 100


class FieldColumn(NamedTuple):
    """One carried field written as a column of its own: its name and a ``FIELD_TYPES`` key;
    ``empty_is_null``: its values are CSV or TSV cells, so an empty one is null under a type
    other than ``string``."""
    name: str
    type: str = "string"
    empty_is_null: bool = False


def field_columns_of(specs):
    """``specs`` (``"NAME[:TYPE]"`` strings, FieldColumns or tuples of their parts) as a tuple
    of FieldColumns; ValueError for an unknown type, an empty name, a name twice, one of
    ``RESERVED_NAMES``, an ``empty_is_null`` other than True or False, or a spec of none of
    these shapes.

    The last ``:`` separates the type, so a name holding one is written with its type:
    ``dc:title:string``."""
    if isinstance(specs, str):
        raise ValueError(f"field_columns must be a list of NAME[:TYPE], not the string "
                         f"{specs!r}")
    columns = []
    for spec in specs:
        if isinstance(spec, str):
            name, colon, type_ = spec.rpartition(":")
            spec = FieldColumn(name, type_) if colon else FieldColumn(spec)
        elif not isinstance(spec, FieldColumn):
            try:
                spec = FieldColumn(*spec)
            except TypeError:   # 4 parts, or no sequence
                raise ValueError(f"{spec!r} is no field column: give \"NAME[:TYPE]\" or "
                                 f"FieldColumn(name, type, empty_is_null)") from None
        name, type_, empty_is_null = spec
        # A truthy "no" would have read an empty cell as null: the opposite of what it says.
        if not isinstance(empty_is_null, bool):
            raise ValueError(f"field {name!r}: empty_is_null must be True or False, not "
                             f"{empty_is_null!r}")
        if isinstance(type_, str):   # BigQuery's spelling, STRING or INT64, is the one known
            type_ = TYPE_ALIASES.get(type_.lower(), type_.lower())
        if not isinstance(name, str) or not name:
            raise ValueError(f"an empty field name in {spec!r}")
        if type_ in _CIVIL_TYPES:
            raise ValueError(f"field {name!r}: no type {spec[1]!r} (a date and time without "
                             f"a zone): name it {name}:timestamp, which reads text without an "
                             f"offset as UTC, or {name}:string to keep the text as it is")
        if type_ not in FIELD_TYPES:
            raise ValueError(f"field {name!r}: no type {spec[1]!r}; the types are "
                             f"{', '.join(FIELD_TYPES)} (any case; integer, float and "
                             f"boolean as BigQuery's legacy names)")
        # In any case: DuckDB reads a column "ID" beside "id" as "ID_1" and ``SELECT ID``
        # gives "id"; BigQuery and Spark (by default) take column names in any case too.
        if name.lower() in RESERVED_NAMES:
            in_any_case = ("" if name in RESERVED_NAMES else
                           ", and readers take column names in any case (DuckDB, BigQuery, "
                           "Spark)")
            raise ValueError(f"field {name!r} cannot be a column: the result files have a "
                             f"column {name.lower()!r} of their own "
                             f"({', '.join(RESERVED_NAMES)}){in_any_case}")
        for column in columns:
            if column.name == name:
                raise ValueError(f"field {name!r} is named twice")
            if column.name.lower() == name.lower():
                raise ValueError(f"field {name!r} is named twice ({column.name!r}, {name!r}: "
                                 f"readers that take column names in any case, DuckDB, "
                                 f"BigQuery, Spark, would read one column)")
        columns.append(FieldColumn(name, type_, empty_is_null))
    return tuple(columns)


def with_field_columns(schema, columns):
    """``schema`` (``write_results.result_schema``) with ``columns`` after ``id``: after the
    record's name, before its tokens, as a table's own columns are read."""
    for offset, column in enumerate(columns, start=1):
        schema = schema.insert(offset, pa.field(column.name, FIELD_TYPES[column.type]))
    return schema


def field_column_values(fields, columns):
    """(the values of ``columns`` in ``fields``, a record's pass-through fields or None,
    converted to their types, None where missing; the fields left, None where none are).
    ValueError naming the field, the value and the type where one does not convert."""
    if not columns or not fields:
        return (None,) * len(columns), fields or None
    rest = dict(fields)
    values = tuple(_converted(rest.pop(column.name, None), column) for column in columns)
    return values, rest or None


def _converted(value, column):
    if value is None or (column.empty_is_null and value == "" and column.type != "string"):
        return None
    converted = _CONVERTERS[column.type](value)
    if converted is None:
        raise ValueError(f"field {column.name!r}: {_shown(value)} is not {column.type}"
                         f"{_why_not(value, column.type)}")
    return converted


def _as_string(value):
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json_id(value)
        except (BadRecord, TypeError, ValueError):
            return None
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:   # a lone surrogate, which a Parquet string cannot hold
            return None
    return text


def _as_int64(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if _INTEGER_TEXT.fullmatch(value) is None:
            return None
        value = int(value)
    elif isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            return None
        value = int(value)
    if not isinstance(value, int):
        return None
    return value if -_INT64_END <= value < _INT64_END else None


def _as_float64(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if _DECIMAL_TEXT.fullmatch(value) is None:
            return None
        if _INTEGER_TEXT.fullmatch(value) is not None:
            value = int(value)
        else:
            number = float(value)
            return number if math.isfinite(number) else None
    if isinstance(value, int):
        return float(value) if abs(value) <= _FLOAT64_EXACT else None
    return value if isinstance(value, float) else None


def _as_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _as_date(value):
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = value.isoformat()   # a record built in Python: the text Parquet input gives
    if not isinstance(value, str) or _DATE_TEXT.fullmatch(value) is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:   # 2024-02-30
        return None


def _as_timestamp(value):
    text, parts = _timestamp_text(value)
    if parts is None:
        return None
    hour, fraction = parts.group("hour", "fraction")
    if hour == _END_OF_DAY_HOUR or (fraction is not None and len(fraction) > _MICROSECOND_DIGITS
                                    and fraction[_MICROSECOND_DIGITS:].strip("0")):
        return None
    try:
        # The pattern admits only forms fromisoformat reads as written, but for the digits
        # past microseconds (zeros here), which it drops. It is C: 1.0 µs a value with the
        # pattern, where building the datetime from the pattern's groups took 2.9 (timeit).
        moment = datetime.datetime.fromisoformat(text)
        if moment.tzinfo is None:   # no offset: UTC, as BigQuery reads it
            return moment.replace(tzinfo=datetime.timezone.utc)
        return moment.astimezone(datetime.timezone.utc)
    except (ValueError, OverflowError):   # 25:00, 2024-02-30, +24:00, a year 0 in UTC
        return None


def _timestamp_text(value):
    """(``value`` as the text fromisoformat reads, its ``_TIMESTAMP_TEXT`` match or None)."""
    if isinstance(value, datetime.datetime):   # pandas' Timestamp too: its nanoseconds shown
        value = value.isoformat()
    parts = _TIMESTAMP_TEXT.fullmatch(value) if isinstance(value, str) else None
    if parts is not None and (value[10] == "t" or value[-1] == "z"):
        value = value.upper()   # fromisoformat reads T and Z only; the rest is digits
    return value, parts


_CONVERTERS = {"string": _as_string, "int64": _as_int64, "float64": _as_float64,
               "bool": _as_bool, "date": _as_date, "timestamp": _as_timestamp}


def _why_not(value, type_):
    """What the refusal adds where the value alone would not say why."""
    integer = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and _INTEGER_TEXT.fullmatch(value) is not None)
    if type_ == "int64" and integer:
        return " (beyond 64 bits)"
    if type_ == "float64" and integer:
        return " (an integer above 2^53, which float64 would round: use int64 or string)"
    if type_ == "string":
        return " (a lone surrogate, or a value with no JSON text)"
    if type_ == "date" and (isinstance(value, datetime.datetime) or (
            isinstance(value, str) and _DATE_TEXT.match(value))):
        return " (a timestamp, whose day depends on a time zone: name it :timestamp, or " \
               "carry it as string)"
    if type_ == "timestamp":
        return _why_not_timestamp(value)
    if type_ == "float64" and isinstance(value, str) and _DECIMAL_TEXT.fullmatch(
            value.replace(",", ".", 1)):
        return " (a decimal comma: carry it as string)"
    return ""


def _why_not_timestamp(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (" (a number: epoch seconds, milliseconds or microseconds? carry it as int64; "
                "BigQuery's TIMESTAMP_SECONDS and TIMESTAMP_MILLIS read it)")
    text, parts = _timestamp_text(value)
    if isinstance(text, str) and _DATE_TEXT.fullmatch(text):
        return " (a date without a time of day: name it :date, or carry it as string)"
    if parts is None:
        return (" (not ISO 8601 text such as 2024-01-05T11:00:00Z or 2024-01-05 "
                "11:00:00.5+01:00, no spaces around it: carry it as string)")
    if (parts["fraction"] or "")[_MICROSECOND_DIGITS:].strip("0"):
        return (" (finer than microseconds, which the timestamp column would cut: carry it "
                "as string)")
    if parts["hour"] == _END_OF_DAY_HOUR:
        return " (hour 24, the end of the day: write it as 00:00 of the next day)"
    if parts["second"] == _LEAP_SECOND:
        return (" (a leap second, which a Parquet timestamp, counting seconds as POSIX time "
                "does, cannot hold: carry it as string)")
    try:
        datetime.datetime.fromisoformat(text)
    except ValueError:   # 25:00, 2024-02-30, an offset past 23:59
        return " (no such date, time of day or offset)"
    return " (outside the years 1 to 9999 once converted to UTC)"


def _shown(value):
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS - 3] + "..."


def run_field_columns(specs, output_format, input_format, fields=None, text_field="text",
                      id_field="id"):
    """``tag --field-columns``' FieldColumns (``specs``: its comma-separated parts), checked
    against the run's other options before launch, ``empty_is_null`` where ``input_format`` is
    CSV or TSV; ValueError saying what is wrong."""
    from beamtagger.transforms.reading.csv_rows import CSV_FORMATS
    from beamtagger.transforms.reading.read_records import FIELD_FORMATS

    columns = field_columns_of(specs)
    if not columns:
        return columns
    if output_format != "parquet":
        why = {"jsonl": "JSON Lines writes every carried field under its own name already",
               "conll": "CoNLL writes no carried fields",
               "conllu": "CoNLL-U writes no carried fields"}.get(output_format, "")
        raise ValueError(f"applies to --output-format parquet only, not {output_format}"
                         + (f" ({why})" if why else ""))
    if input_format not in FIELD_FORMATS:
        raise ValueError(f"only {', '.join(FIELD_FORMATS[:-1])} and {FIELD_FORMATS[-1]} "
                         f"records carry fields, not {input_format}")
    for column in columns:
        for option, name in (("--text-field", text_field), ("--id-field", id_field)):
            if column.name == name:
                raise ValueError(f"field {name!r} is the {option}, never a carried field"
                                 + (_ID_FIELD_HINT if option == "--id-field" else ""))
        if fields is not None and column.name not in fields:
            raise ValueError(f"field {column.name!r} is not one --fields carries "
                             f"({', '.join(fields) or 'none'}): its column would be null "
                             f"in every record")
    # CSV has no null: a run's values are cells or folder names, so "" is how a gap is written.
    if input_format in CSV_FORMATS:
        columns = tuple(column._replace(empty_is_null=True) for column in columns)
    return columns
