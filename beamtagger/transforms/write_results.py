"""WriteResults: TaggedRecords -> files starting with an output prefix (JSON Lines, Parquet, CoNLL).

Files are written by Beam's file sinks, so the prefix may be any FileSystems path (``gs://``
on Dataflow) and the job writes ``PREFIX-SSSSS-of-NNNNN.<format>`` shards.

* jsonl: one object per record: ``{"id", passthrough fields..., "tokens": [{"text", "start",
  "end", "label", "score"}]}`` (scores rounded to 4 digits).
* parquet: the explicit schema ``RESULT_SCHEMA`` (passthrough fields as one JSON string column,
  since they differ from record to record).
* conll: ``# id = ...`` then one ``token<TAB>label`` line per token, a blank line after each
  record (records are unordered in Beam output, hence the id line). Line breaks and tabs in
  ids and tokens are written as ``\\n``, ``\\t``, ``\\u2028``... escapes, so every record stays
  one block; ``ReadRecords(input_format="conll")`` reads the files back (ids included).

Pass-through values that JSON cannot hold (NaN, Infinity from a lenient JSON reader) are
written as ``null`` in both JSON Lines and Parquet's ``fields`` column. A record that cannot
be formatted (a lone surrogate in a Parquet string, a value with no JSON form) becomes a dead
letter of stage "format" instead of failing the file it would have gone to.
"""
import json
import math
import re
from typing import NamedTuple

import apache_beam as beam
import orjson
import pyarrow as pa

from beamtagger.transforms import counters
from beamtagger.transforms.records import DeadLetter, TaggedRecord, one_line, utf8_safe

__all__ = ["OUTPUT_FORMATS", "RESULT_SCHEMA", "SUFFIXES", "WriteResults", "WrittenResults",
           "to_conll_block", "to_json_line", "to_parquet_row"]

OUTPUT_FORMATS = ("jsonl", "parquet", "conll")
SUFFIXES = {"jsonl": ".jsonl", "parquet": ".parquet", "conll": ".conll"}

TOKEN_TYPE = pa.struct([("text", pa.string()), ("start", pa.int32()), ("end", pa.int32()),
                        ("label", pa.string()), ("score", pa.float32())])
RESULT_SCHEMA = pa.schema([("id", pa.string()), ("tokens", pa.list_(TOKEN_TYPE)),
                           ("fields", pa.string())])


ERRORS = "errors"


class WrittenResults(NamedTuple):
    """What WriteResults returns.

    Args:
      files: the names of the files written.
      errors: DeadLetter, one per record that could not be formatted (stage "format").
    """
    files: beam.PCollection
    errors: beam.PCollection


# The hint applies to each PCollection of a tuple input too (Beam checks every one against it).
@beam.typehints.with_input_types(TaggedRecord)
class WriteResults(beam.PTransform):
    """Writes TaggedRecords as ``output_format`` under ``output_prefix``; returns
    ``WrittenResults(files, errors)``.

    Takes one PCollection, or several (a tuple, as ``tag_text.TagTextInParts`` gives): each
    is formatted where it is produced and only the formatted rows are merged for the sink.

    Args:
      output_prefix: files go to ``PREFIX-SSSSS-of-NNNNN.<format>`` (any FileSystems path).
      output_format: "jsonl", "parquet" or "conll" (see the module docstring).
      num_shards: how many files (0: the runner decides).
    """

    def __init__(self, output_prefix, output_format="jsonl", num_shards=0):
        super().__init__()
        if output_format not in OUTPUT_FORMATS:
            raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, "
                             f"not {output_format!r}")
        self.output_prefix = output_prefix
        self.output_format = output_format
        self.num_shards = num_shards

    def expand(self, tagged):
        format_record = {"jsonl": to_json_line, "conll": to_conll_block,
                         "parquet": to_parquet_row}[self.output_format]
        parts = [tagged] if isinstance(tagged, beam.PCollection) else list(tagged)
        formatted = [part | (f"Format{i}" if len(parts) > 1 else "Format") >> beam.ParDo(
            _FormatFn(format_record)).with_outputs(ERRORS, main="rows")
            for i, part in enumerate(parts)]
        rows = [out.rows for out in formatted]
        if len(parts) == 1:
            errors = formatted[0][ERRORS]
        else:
            errors = tuple(out[ERRORS] for out in formatted) | "MergeErrors" >> beam.Flatten()
        if len(parts) > 1 and not self.num_shards and all(part.is_bounded for part in parts):
            # Written where each part is produced (write_parts: no buffer of every output row
            # on the local runner); only the file names are merged.
            return WrittenResults(
                _write_parts(rows, self.output_prefix, self.output_format), errors)
        rows = rows[0] if len(rows) == 1 else tuple(rows) | "Merge" >> beam.Flatten()
        suffix = SUFFIXES[self.output_format]
        if self.output_format == "parquet":
            files = rows | "WriteParquet" >> beam.io.WriteToParquet(
                self.output_prefix, RESULT_SCHEMA, file_name_suffix=suffix,
                num_shards=self.num_shards)
        else:
            files = rows | "WriteText" >> beam.io.WriteToText(
                self.output_prefix, file_name_suffix=suffix, num_shards=self.num_shards)
        return WrittenResults(files, errors)


class _FormatFn(beam.DoFn):
    def __init__(self, format_record):
        self.format_record = format_record

    def process(self, record):
        try:
            yield self.format_record(record)
        except Exception as error:  # noqa: BLE001  (one record's failure must not fail the job)
            counters.RECORDS_TAGGED.dec()
            counters.DEAD_LETTERS.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, DeadLetter(
                str(getattr(record, "source", "") or getattr(record, "id", "")),
                one_line(f"cannot write the result: {error}"),
                " ".join(map(str, getattr(record, "tokens", ()))), "format"))


def _write_parts(rows, output_prefix, output_format):
    from apache_beam.io.parquetio import _RowDictionariesToArrowTable

    from beamtagger.transforms.write_parts import WriteParts

    suffix = SUFFIXES[output_format]
    if output_format == "parquet":
        write = beam.io.WriteToParquet(output_prefix, RESULT_SCHEMA, file_name_suffix=suffix)
        convert = _RowDictionariesToArrowTable(RESULT_SCHEMA, write._row_group_buffer_size,
                                               write._record_batch_size)
        return tuple(rows) | "WriteParquet" >> WriteParts(write, convert)
    write = beam.io.WriteToText(output_prefix, file_name_suffix=suffix)
    return tuple(rows) | "WriteText" >> WriteParts(write)


def to_json_line(record):
    """The record as one line of compact UTF-8 JSON.

    orjson, because formatting was the largest cost after the model and the tokenizer:
    2.7x faster than ``json.dumps`` on EWT-sized records (1.77 -> 0.65 s per 1M tokens). It
    refuses what JSON input can still hold (integers beyond 64 bits in passthrough fields,
    lone surrogates from a ``"\\ud800"`` escape): those records take ``json.dumps`` with ASCII
    escapes, which writes both and stays encodable as UTF-8.
    """
    out = record.to_json_dict()
    try:
        return orjson.dumps(out).decode("utf-8")
    except TypeError:
        return _json_dumps(out, ensure_ascii=True)


def fields_json(fields):
    """Pass-through fields as JSON text for Parquet's ``fields`` column (None when empty)."""
    if not fields:
        return None
    try:
        return orjson.dumps(fields).decode("utf-8")
    except TypeError:
        return _json_dumps(fields, ensure_ascii=True)


def _json_dumps(value, ensure_ascii):
    """``json.dumps`` that writes NaN and Infinity as null, as orjson does (they are not JSON)."""
    try:
        return json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), ensure_ascii=ensure_ascii, allow_nan=False)


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def to_parquet_row(record):
    strings = record.id + "".join(record.tokens) + "".join(record.labels)
    try:
        strings.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"a lone surrogate (\\u{ord(strings[error.start]):04x}) cannot be "
                         "written to Parquet") from None
    return {
        "id": record.id,
        "tokens": [{"text": t, "start": s, "end": e, "label": label, "score": p}
                   for t, s, e, label, p in zip(record.tokens, record.starts, record.ends,
                                                record.labels, record.scores)],
        "fields": fields_json(record.fields),
    }


# Characters that end a line for some reader (str.splitlines), and the tab that ends a column.
_LINE_UNSAFE = re.compile("[\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def line_safe(text):
    """``text`` on one line and in one column: line breaks and tabs as JSON-style escapes, lone
    surrogates as ``\\udXXX``."""
    text = utf8_safe(text)
    if _LINE_UNSAFE.search(text) is None:
        return text
    return _LINE_UNSAFE.sub(lambda match: json.dumps(match.group())[1:-1], text)


def to_conll_block(record):
    """``# id = ...`` and ``token<TAB>label`` lines; WriteToText's newline ends the block."""
    tokens, labels = record.tokens, record.labels
    if (_LINE_UNSAFE.search(" ".join(tokens)) or _LINE_UNSAFE.search(" ".join(labels))
            or not _is_utf8(tokens)):
        tokens, labels = [line_safe(t) for t in tokens], [line_safe(t) for t in labels]
    lines = [f"# id = {line_safe(record.id)}"]
    lines.extend(f"{token}\t{label}" for token, label in zip(tokens, labels))
    return "\n".join(lines) + "\n"


def _is_utf8(texts):
    try:
        "".join(texts).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False
