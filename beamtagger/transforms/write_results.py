"""WriteResults: TaggedRecords -> files starting with an output prefix (JSON Lines, Parquet,
CoNLL, CoNLL-U, span JSON Lines).

Files are written by Beam's file sinks, so the prefix may be any FileSystems path (``gs://``
on Dataflow) and the job writes ``PREFIX-SSSSS-of-NNNNN.<format>`` shards. Unbounded input is
written a set of files a window and pane (``write_panes``), late records included.

* jsonl: one object per record: ``{"id", passthrough fields..., "tokens": [{"text", "start",
  "end", "label", "score"}]}`` (scores rounded to 4 digits; ``start``/``end`` count code
  points of the record's text, not UTF-8 bytes or UTF-16 units), and with ``entities=True``
  ``"entities": [{"text", "start", "end", "label", "score"}]`` (``records.entity_spans``: an
  entity's text is the record's ``text[start:end]`` with ``keep_text=True``, else its tokens
  with their gaps as spaces).
* spans: an entity tagger's results as annotation tools import them (pre-annotation), one
  object per record: ``{"id", "text", "spans": [{"start", "end", "label", "score"}],
  passthrough fields...}`` (``to_spans_line``), the shape Prodigy and spaCy-style readers
  take and ``span_corpus`` (``train --format spans``) reads back. ``text`` is the record's own
  text with ``keep_text=True``, else its tokens as their offsets place them (each gap as that
  many spaces: CoNLL input's tokens joined by single spaces); the spans are
  ``records.entity_spans`` of it. Written to ``.jsonl`` files, as they are JSON Lines.
* parquet: the explicit schema ``RESULT_SCHEMA`` (passthrough fields as one JSON string column,
  since they differ from record to record), ``ENTITY_RESULT_SCHEMA`` with ``entities=True``
  (an ``entities`` column of the same structs as ``tokens``, an empty list in a record without
  entities, so every file of the run has the one schema). ``field_columns``: the fields named
  there as typed columns of their own after ``id``, out of ``fields`` (``field_columns``).
* conll: two-column CoNLL, not CoNLL-U: ``# id = ...`` then one ``token<TAB>label`` line per
  token, a blank line after each record (records are unordered in Beam output, hence the id
  line). Line breaks and tabs in ids and tokens are written as ``\\n``, ``\\t``, ``\\u2028``...
  escapes, so every record stays one block; ``ReadRecords(input_format="conll")`` reads the
  files back (ids included). A record with a line holding NULs those readers would refuse as
  UTF-16 text, or whose first NUL they would drop (``nul_lines``), is a dead letter of stage
  "format".
* conllu: CoNLL-U (``# sent_id``, ``# text``, ten columns a token), the label in the column
  ``tag_column`` names (``conllu_blocks``); ``ReadRecords(input_format="conllu")`` and
  ``corpus_readers.read_conllu(tag_column=...)`` read the files back. A record CoNLL-U cannot
  hold (no tokens; a form or label with a tab, a line break, whitespace at its ends...) is a
  dead letter of stage "format". Pass-through fields are not written, but with
  ``keep_conllu_lines=True`` a record read with ``ReadRecords(keep_conllu_lines=True)`` is
  written as its input sentence, only the label column replaced (``conllu_kept_lines``).
  ``# text`` is the record's own text with ``keep_text=True``, the spacing in MISC; else the
  forms joined by single spaces or nothing (``conllu_blocks``).

With ``keep_text=True``, records tagged by ``TagText(keep_text=True)`` carry their text in
their pass-through fields (``kept_text``), for CoNLL-U and entities; it is taken out before
anything is written, so every format writes the fields the record came with.

Pass-through values that JSON cannot hold (NaN, Infinity from a lenient JSON reader) are
written as ``null`` in both JSON Lines and Parquet's ``fields`` column. A record that cannot
be formatted (a lone surrogate in a Parquet string, a value with no JSON form) becomes a dead
letter of stage "format" instead of failing the file it would have gone to.
"""
import json
import math
import numbers
import os
import re
from typing import NamedTuple

import apache_beam as beam
import orjson
import pyarrow as pa
from apache_beam.options.value_provider import ValueProvider
from apache_beam.utils.windowed_value import WindowedValue

from beamtagger.corpus_readers import is_json_quoted
from beamtagger.tagging_defaults import check_flag, check_whole_number, path_option, shown
from beamtagger.transforms import counters
# Registers the coder of the tagged batches it takes: a pipeline whose only beamtagger step is
# this one pickled them, copying each whole to encode it and again to sample its size.
from beamtagger.transforms import arrow_batches  # noqa: F401
from beamtagger.transforms.kept_text import split_kept_text
from beamtagger.transforms.nul_lines import nul_line_problem
from beamtagger.transforms.records import (DeadLetter, TaggedRecord, entity_spans, entity_text,
                                           is_output_key, one_line, utf8_safe)

__all__ = ["ENTITY_RESULT_SCHEMA", "FormatResultFn", "OUTPUT_FORMATS", "RESULT_SCHEMA",
           "SHARD_GLOB", "SPAN_LINE_KEYS", "SPAN_LINE_RENAMED_FIELDS", "SUFFIXES", "WriteResults",
           "WrittenResults",
           "exact_shard_glob", "result_schema", "span_line_fields", "to_conll_block",
           "to_json_line", "to_parquet_row", "to_spans_line"]

OUTPUT_FORMATS = ("jsonl", "parquet", "conll", "conllu", "spans")
# Span files are JSON Lines: train's and tag's --format auto read a .jsonl file as them.
SUFFIXES = {"jsonl": ".jsonl", "parquet": ".parquet", "conll": ".conll", "conllu": ".conllu",
            "spans": ".jsonl"}

TOKEN_TYPE = pa.struct([("text", pa.string()), ("start", pa.int32()), ("end", pa.int32()),
                        ("label", pa.string()), ("score", pa.float32())])
RESULT_SCHEMA = pa.schema([("id", pa.string()), ("tokens", pa.list_(TOKEN_TYPE)),
                           ("fields", pa.string())])
# An entity has a token's fields (records.Entity): text, start, end, label, score.
ENTITY_TYPE = TOKEN_TYPE
# Last, so the columns of RESULT_SCHEMA keep their places.
ENTITY_RESULT_SCHEMA = RESULT_SCHEMA.append(pa.field("entities", pa.list_(ENTITY_TYPE)))


def result_schema(entities, field_columns=()):
    """The Parquet files' schema, with the ``entities`` column or without, and the
    ``field_columns`` (FieldColumns) after ``id``."""
    from beamtagger.transforms.field_columns import with_field_columns

    return with_field_columns(ENTITY_RESULT_SCHEMA if entities else RESULT_SCHEMA,
                              field_columns)


ERRORS = "errors"

# The shard part of the files a sink writes (Beam's default template "-SSSSS-of-NNNNN").
SHARD_GLOB = "-" + "[0-9]" * 5 + "-of-"


def exact_shard_glob(write):
    """``write`` (a Beam file-sink transform with the default shard template), its sink made to
    match only its own shard names.

    Before it renames its shards into place, a Beam file sink deletes every file matching
    ``PREFIX-*-of-NNNNN<suffix>``, a pattern that also matches ``PREFIX-errors-...`` (this
    run's dead letters) and ``PREFIX-2-...`` or ``PREFIX-dev-...`` (other runs' files): a run
    writing ``out/run`` removed the results and dead letters of an earlier ``out/run-2``.
    The sink uses the same pattern to see which shards a retried finalisation already renamed;
    five digits are what the template writes."""
    write._sink.shard_name_glob_format = SHARD_GLOB + "%(num_shards)05d"
    return write


class WrittenResults(NamedTuple):
    """What WriteResults returns.

    Args:
      files: the names of the files written.
      errors: DeadLetter, one per record that could not be formatted (stage "format").
    """
    files: beam.PCollection
    errors: beam.PCollection


# The hint applies to each PCollection of a tuple input too (Beam checks every one against it,
# except the tagged batches: see type_check_inputs).
@beam.typehints.with_input_types(TaggedRecord)
class WriteResults(beam.PTransform):
    """Writes TaggedRecords as ``output_format`` under ``output_prefix``; returns
    ``WrittenResults(files, errors)``.

    Takes one PCollection, or several (a tuple, as ``tag_text.TagTextInParts`` gives): each
    is formatted where it is produced and only the formatted rows are merged for the sink. A
    PCollection typed ``pa.RecordBatch`` holds tagged batches (``tagged_batches``, from
    ``TagBatches(output_batches=True)``), formatted column by column into the same files.

    Args:
      output_prefix: files go to ``PREFIX-SSSSS-of-NNNNN.<format>`` (any FileSystems path).
      output_format: "jsonl", "parquet", "conll", "conllu" or "spans" (see the module
        docstring; "spans" for a tagger whose labels are BIO: another's records have none).
      num_shards: how many files (0: the runner decides).
      triggering_frequency: unbounded input: the records go into fixed windows of this many
        seconds of event time (as Beam's file sinks' option of that name puts them), each
        written a set of files. Needed for records in the global window; records in windows
        of their own are written a set of files a window without it. Either way a window's
        files are written when the watermark passes its end, and late records go to files
        of their own (``PREFIX-<window>-<pane>-SSSSS-of-NNNNN``), never dropped
        (``write_panes``).
      tag_column: conllu only: the column the labels go to, "upos", "xpos" or "misc:KEY"
        (default ``conllu_blocks.DEFAULT_TAG_COLUMN``, "misc:Tag"); BeamtaggerError for
        another.
      entities: jsonl and parquet: each record's entities too (``records.entity_spans``), for
        a tagger whose labels are BIO (``TaggerSpec.is_bio``; ``beamtagger tag`` sets it so).
        Off by default, so the files of other taggers stay as they were.
      keep_conllu_lines: conllu only: records read with ``ReadRecords(keep_conllu_lines=True)``
        are written as their input sentences, only the label column replaced
        (``conllu_kept_lines``). Off by default: a pass-through field of the kept lines' name
        from other input (a JSON Lines record's) is then one like any other, not written.
      keep_text: records tagged by ``TagText(keep_text=True)`` carry their own text
        (``kept_text``), which conllu writes in ``# text`` and MISC's spacing, jsonl and
        parquet as each entity's text and spans as the record's ``text``, and which is never
        written as a field. Off by default:
        a field of its name is one like any other.
      field_columns: parquet only: carried fields written as typed columns of their own, after
        ``id`` and out of ``fields``: ``"NAME[:TYPE]"`` strings (or ``field_columns.FieldColumn``),
        TYPE string (the default), int64, float64, bool, date or timestamp (any case; INTEGER,
        FLOAT, BOOLEAN too). The same columns in every file of the run; a record without the field
        has a null there, one whose value does not convert is a dead letter of stage "format"
        (``field_columns``). For records read from CSV or TSV, give
        ``FieldColumn(name, type, empty_is_null=True)``, so that an empty cell is null as
        ``tag`` makes it (a ``"NAME:TYPE"`` string reads ``""`` as a value, which every type
        but string refuses). ValueError for a name
        of the files' own columns (id, tokens, fields, entities) or one named twice, in any
        case (``ID``, ``year`` and ``Year``: one column to DuckDB, BigQuery and Spark), an
        unknown type, or an ``empty_is_null`` other than True or False.
    """

    def __init__(self, output_prefix, output_format="jsonl", num_shards=0,
                 triggering_frequency=None, tag_column=None, entities=False,
                 keep_conllu_lines=False, keep_text=False, field_columns=None):
        from beamtagger.transforms import conllu_blocks
        from beamtagger.transforms.field_columns import field_columns_of

        super().__init__()
        if output_format not in OUTPUT_FORMATS:
            raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, "
                             f"not {output_format!r}")
        if output_format == "conllu":
            tag_column = tag_column or conllu_blocks.DEFAULT_TAG_COLUMN
            conllu_blocks.check_output_tag_column(tag_column)
        elif tag_column is not None:
            raise ValueError(f"tag_column applies to output_format 'conllu' only, not "
                             f"{output_format!r}")
        if entities and output_format not in ENTITY_FORMATS:
            raise ValueError(f"entities applies to output_format {' or '.join(ENTITY_FORMATS)} "
                             f"only, not {output_format!r}")
        if keep_conllu_lines and output_format != "conllu":
            raise ValueError(f"keep_conllu_lines applies to output_format 'conllu' only, not "
                             f"{output_format!r}")
        if field_columns and output_format != "parquet":
            raise ValueError(f"field_columns applies to output_format 'parquet' only, not "
                             f"{output_format!r}")
        self.field_columns = field_columns_of(field_columns or ())
        self.keep_conllu_lines = check_flag("keep_conllu_lines", keep_conllu_lines)
        self.keep_text = check_flag("keep_text", keep_text)
        self.entities = check_flag("entities", entities)
        self.output_prefix = output_prefix_option(output_prefix)
        self.output_format = output_format
        self.tag_column = tag_column
        self.num_shards = check_num_shards(num_shards)
        self.triggering_frequency = check_triggering_frequency(triggering_frequency)

    def type_check_inputs(self, pvalueish):
        # A Union[TaggedRecord, pa.RecordBatch] hint would make Beam build a union schema of
        # the NamedTuple, which cannot describe its free-form ``fields``.
        parts = (pvalueish,) if isinstance(pvalueish, beam.PCollection) else tuple(pvalueish)
        for part in parts:
            if not _holds_tagged_batches(part):
                super().type_check_inputs(part)

    def expand(self, tagged):
        from beamtagger.transforms.write_panes import WritePanes, in_write_windows

        parts = [tagged] if isinstance(tagged, beam.PCollection) else list(tagged)
        formatted = []
        for i, part in enumerate(parts):
            suffix = str(i) if len(parts) > 1 else ""
            part = in_write_windows(part, self.triggering_frequency, f"WindowEvery{suffix}")
            format_fn = (_FormatBatchesFn if _holds_tagged_batches(part) else _FormatRecordsFn)
            formatted.append(part | f"Format{suffix}" >> beam.ParDo(
                format_fn(self.output_format, self.tag_column, self.entities,
                          self.keep_conllu_lines, self.keep_text,
                          self.field_columns)).with_outputs(
                    ERRORS, main="rows"))
        rows = [out.rows for out in formatted]
        if len(parts) == 1:
            errors = formatted[0][ERRORS]
        else:
            errors = tuple(out[ERRORS] for out in formatted) | "MergeErrors" >> beam.Flatten()
        suffix = SUFFIXES[self.output_format]
        if self.output_format == "parquet":   # every part formats to tables
            write = beam.io.WriteToParquetBatched(
                self.output_prefix, result_schema(self.entities, self.field_columns),
                file_name_suffix=suffix,
                num_shards=self.num_shards)
        else:
            write = beam.io.WriteToText(self.output_prefix, file_name_suffix=suffix,
                                        num_shards=self.num_shards)
        write = exact_shard_glob(write)
        bounded = all(part.is_bounded for part in parts)
        if len(parts) > 1 and not self.num_shards and bounded:
            # Written where each part is produced (write_parts: no buffer of every output row
            # on the local runner); only the file names are merged.
            from beamtagger.transforms.write_parts import WriteParts

            return WrittenResults(tuple(rows) | f"Write{self._sink_name()}" >> WriteParts(write),
                                  errors)
        rows = rows[0] if len(rows) == 1 else tuple(rows) | "Merge" >> beam.Flatten()
        return WrittenResults(
            rows | f"Write{self._sink_name()}" >> (write if bounded else WritePanes(write)),
            errors)

    def _sink_name(self):
        return "Parquet" if self.output_format == "parquet" else "Text"


def output_prefix_option(output_prefix):
    """``output_prefix`` as a str (``tagging_defaults.path_option``'s checks), or the
    ``ValueProvider`` it is, where the writer is built: None, a number or bytes failed where it
    was applied, in Beam's words or as "unsupported operand type(s) for +" (WriteDeadLetters).
    Beam's file sinks take a ValueProvider (a classic template's output, known when the job
    runs), as ``ReadRecords``' ``file_pattern`` does."""
    if isinstance(output_prefix, ValueProvider):
        return output_prefix
    if not isinstance(output_prefix, (str, os.PathLike)):
        raise TypeError(f"output_prefix must be a path (a str or os.PathLike) or a "
                        f"ValueProvider, not {type(output_prefix).__name__} "
                        f"{shown(output_prefix)}")
    return path_option("output_prefix", output_prefix, none_allowed=False,
                       give="the prefix of the files to write, such as out/tagged")


def check_num_shards(num_shards):
    """``num_shards`` if a whole number of at least 0 (0: the runner's choice), where the writer
    is built: 1.5 failed inside the running job (randrange's "non-integer stop"), and -1 and
    True ran as other counts without a word."""
    return check_whole_number("num_shards", num_shards, 0)


def check_triggering_frequency(seconds):
    """``seconds`` if None or a whole number of at least 1: Beam's file sinks take it as
    the size of fixed windows, and ignore 0 or less (an unbounded global window is then
    refused with a message naming the option)."""
    if seconds is not None and (not isinstance(seconds, numbers.Integral)
                                or isinstance(seconds, bool) or seconds < 1):
        raise ValueError(f"triggering_frequency must be None or a whole number of seconds of "
                         f"at least 1, not {seconds!r}")
    return seconds


# WriteToParquet's defaults: rows buffered into record batches of 1,000, tables of 64 MiB.
PARQUET_BUFFERS = (64 * 1024 * 1024, 1000)


def _holds_tagged_batches(part):
    return part.element_type == pa.RecordBatch


# The formats that can hold entities: CoNLL and CoNLL-U have the BIO labels themselves.
ENTITY_FORMATS = ("jsonl", "parquet")


class FormatResultFn(beam.DoFn):
    """TaggedRecord -> what the sink writes (a line, a CoNLL or CoNLL-U block, a Parquet row
    dict; ``tag --output -`` writes the same, in input order: pipeline/ordered_stdout.py).
    ``tag_column``: where CoNLL-U puts the labels; ``entities``: JSON Lines and Parquet
    write each record's entities too; ``keep_conllu_lines``: CoNLL-U writes back the kept
    lines of records read with them; ``keep_text``: records carry their own text
    (``kept_text``), taken out of their fields here; ``field_columns``: Parquet writes these
    fields (FieldColumns) as columns of their own."""

    def __init__(self, output_format, tag_column=None, entities=False, keep_conllu_lines=False,
                 keep_text=False, field_columns=()):
        from beamtagger.transforms.conllu_blocks import DEFAULT_TAG_COLUMN

        self.output_format = output_format
        self.tag_column = tag_column or DEFAULT_TAG_COLUMN
        self.entities = entities
        self.keep_conllu_lines = keep_conllu_lines
        self.keep_text = keep_text
        self.field_columns = tuple(field_columns)

    def setup(self):
        from beamtagger.transforms.conllu_blocks import conllu_block

        self._null_counters = [counters.field_column_nulls(column.name)
                               for column in self.field_columns]

        self.format_record = {
            "jsonl": lambda record, text: to_json_line(record, self.entities, text),
            "conll": lambda record, text: to_conll_block(record),
            "parquet": lambda record, text: to_parquet_row(record, self.entities, text,
                                                           self.field_columns),
            "conllu": lambda record, text: conllu_block(record, self.tag_column,
                                                        self.keep_conllu_lines, text),
            "spans": lambda record, text: to_spans_line(record, text),
        }[self.output_format]

    def process(self, record):
        try:
            _check_token_columns(record)
            text = None
            if self.keep_text:
                text, fields = split_kept_text(record.fields)
                record = record._replace(fields=fields)
            yield self.format_record(record, text)
        except Exception as error:  # noqa: BLE001  (one record's failure must not fail the job)
            yield _dead_letter(record, error)


def _check_token_columns(record):
    """Raises where a record's per-token tuples differ in length: the formatters zip them, so
    a record of two tokens and one label was written with one token."""
    count = len(record.tokens)
    if not (len(record.starts) == len(record.ends) == len(record.labels)
            == len(record.scores) == count):   # the message only where they differ: per record
        raise ValueError("its per-token tuples differ in length: " + ", ".join(
            f"{len(getattr(record, name))} {name}"
            for name in ("tokens", "starts", "ends", "labels", "scores")))


def _dead_letter(record, error):
    counters.RECORDS_TAGGED.dec()
    counters.DEAD_LETTERS.inc()
    try:
        tokens = " ".join(map(str, getattr(record, "tokens", ())))
    except Exception:  # noqa: BLE001  (the dead letter without its tokens rather than none)
        tokens = ""
    return beam.pvalue.TaggedOutput(ERRORS, DeadLetter(
        str(getattr(record, "source", "") or getattr(record, "id", "")),
        one_line(f"cannot write the result: {error}"), tokens, "format"))


# JSON Lines, CoNLL, CoNLL-U and spans: tagged batches are formatted together once they hold this many
# tokens. A batch costs the formatting a few dozen Arrow calls whatever its size (tens of µs each
# on a 2-core machine), and the tag stage's batches hold 6,000 tokens on average (case G, issue
# 18).
FORMAT_TOKENS = 65536
# The groups of all windows wait together up to this many tokens; past it every window's group
# is formatted at once, so input spread over many windows is not held until the bundle ends.
WAITING_TOKENS = 4 * FORMAT_TOKENS


class _FormatBatchesFn(FormatResultFn):
    """Tagged batches -> the text of all their records (JSON Lines, CoNLL, CoNLL-U: batches of
    one window together up to ``FORMAT_TOKENS`` tokens, one element, so the sink writes it in
    one call) or one Parquet table of them (buffered into row groups of ``PARQUET_BUFFERS[0]``
    bytes, as WriteToParquet buffers rows). Records the columns do not reproduce, and every
    record of batches the columns fail on, take ``FormatResultFn``'s path."""

    def start_bundle(self):
        self._tables, self._table_bytes = {}, {}
        self._batches, self._batch_tokens = {}, {}
        self._waiting_tokens = 0
        self._earliest = {}   # window -> the earliest timestamp of its inputs in the bundle

    def process(self, tagged, window=beam.DoFn.WindowParam,
                timestamp=beam.DoFn.TimestampParam):
        self._note(window, timestamp)
        if self.output_format == "parquet":
            yield from self._format(tagged, window)
            return
        self._batches.setdefault(window, []).append(tagged)
        # flatten(), not .values: a sliced batch's values are its parent's.
        count = len(tagged.column("tokens").flatten())
        self._batch_tokens[window] = tokens = self._batch_tokens.get(window, 0) + count
        self._waiting_tokens += count
        if tokens >= FORMAT_TOKENS:
            yield from self._format(self._take_batches(window), window)
        elif self._waiting_tokens >= WAITING_TOKENS:
            for other in list(self._batches):
                yield from self._stamped(self._format(self._take_batches(other), other), other)

    def _take_batches(self, window):
        self._waiting_tokens -= self._batch_tokens.pop(window)
        batches = self._batches.pop(window)
        return batches[0] if len(batches) == 1 else pa.concat_batches(batches)

    def _format(self, tagged, window, records=None):
        """``records``: the records ``tagged`` was made of, for the rows the columns leave out
        (else they are read back from ``tagged``)."""
        from beamtagger.transforms import tagged_batches

        try:
            # The rows left out are made into records of ``tagged`` as it came, kept texts in.
            texts, without_texts = (tagged_batches.kept_texts(tagged) if self.keep_text
                                    else (None, tagged))
            if self.output_format == "parquet":
                left_out = []
                table = tagged_batches.parquet_table(without_texts, self.entities, texts,
                                                     self.field_columns, left_out)
            elif self.output_format == "conllu":
                text, left_out = tagged_batches.conllu_text(without_texts, self.tag_column,
                                                            self.keep_conllu_lines, texts)
            elif self.output_format == "jsonl":
                text, left_out = tagged_batches.json_lines_text(without_texts, self.entities,
                                                                texts)
            elif self.output_format == "spans":
                text, left_out = tagged_batches.span_lines_text(without_texts, texts)
            else:
                text, left_out = tagged_batches.conll_text(without_texts)
        except Exception:  # noqa: BLE001  (then each record on its own, with its dead letter)
            table, text, left_out = None, "", list(range(tagged.num_rows))
        if left_out:
            yield from self._one_by_one(
                [records[row] for row in left_out] if records is not None
                else tagged_batches.tagged_records(tagged, left_out), window)
        if self.output_format != "parquet":
            if text:
                yield text
        elif table is not None and table.num_rows:
            yield from self._buffered(table, window)

    def _one_by_one(self, records, window):
        """Each record through ``FormatResultFn``: a Parquet row becomes a table of one row here,
        as the sink takes tables only (a row Arrow refuses is a dead letter)."""
        for record in records:
            for output in super().process(record):
                if self.output_format != "parquet" or isinstance(output,
                                                                 beam.pvalue.TaggedOutput):
                    yield output
                    continue
                try:
                    table = pa.Table.from_pylist([output], schema=result_schema(
                        self.entities, self.field_columns))
                except Exception as error:  # noqa: BLE001
                    yield _dead_letter(record, error)
                else:
                    yield from self._buffered(table, window)

    def _buffered(self, table, window):
        if self.field_columns:   # for the run summary: a column null in every record
            counters.FIELD_COLUMN_ROWS.inc(table.num_rows)
            for column, nulls in zip(self.field_columns, self._null_counters):
                nulls.inc(table.column(column.name).null_count)
        self._tables.setdefault(window, []).append(table)
        self._table_bytes[window] = self._table_bytes.get(window, 0) + table.nbytes
        if self._table_bytes[window] >= PARQUET_BUFFERS[0]:
            yield self._take(window)

    def _take(self, window):
        del self._table_bytes[window]
        return pa.concat_tables(self._tables.pop(window))

    def finish_bundle(self):
        for window in list(self._batches):
            yield from self._stamped(self._format(self._take_batches(window), window), window)
        for window in list(self._tables):
            yield from self._stamped([self._take(window)], window)

    def _note(self, window, timestamp):
        earliest = self._earliest.get(window)
        if earliest is None or timestamp < earliest:
            self._earliest[window] = timestamp

    def _stamped(self, outputs, window):
        """Outputs (main or tagged) made of inputs held over from earlier elements, in
        ``window``, stamped with the earliest timestamp of its inputs in the bundle: in the
        window, and never behind the watermark where they were not. (The window's end, which
        they had, is the end of time for the global window: a streaming sink writing every
        ``triggering_frequency`` seconds put them in a window it could not name, an
        OverflowError.)"""
        stamp = (self._earliest.get(window, window.max_timestamp()), (window,))
        for output in outputs:
            yield (beam.pvalue.TaggedOutput(output.tag, WindowedValue(output.value, *stamp))
                   if isinstance(output, beam.pvalue.TaggedOutput)
                   else WindowedValue(output, *stamp))


class _FormatRecordsFn(_FormatBatchesFn):
    """TaggedRecords -> what ``_FormatBatchesFn`` makes of tagged batches: a window's records
    are gathered until they hold ``FORMAT_TOKENS`` tokens (or the bundle ends) and formatted
    column by column as one tagged batch (``tagged_batches.tagged_batch_of_tagged_records``).
    Records that batch cannot hold as they are, and the rows the columns leave out, take
    ``FormatResultFn``'s path, so every file is what ``FormatResultFn`` alone would write.

    A user's TagText -> WriteResults: 0.41-0.43 core-µs a token where the record by record
    ``to_json_line`` took 0.67-0.69 (bench/records_bench.py, EWT sentences, 2-core machine)."""

    def setup(self):
        super().setup()
        self._label_names = []

    def start_bundle(self):
        super().start_bundle()
        self._records, self._record_tokens = {}, {}

    def process(self, record, window=beam.DoFn.WindowParam,
                timestamp=beam.DoFn.TimestampParam):
        self._note(window, timestamp)
        self._records.setdefault(window, []).append(record)
        count = _token_count(record)
        self._record_tokens[window] = tokens = self._record_tokens.get(window, 0) + count
        self._waiting_tokens += count
        if tokens >= FORMAT_TOKENS:
            yield from self._format_records(window)
        elif self._waiting_tokens >= WAITING_TOKENS:
            for other in list(self._records):
                yield from self._stamped(self._format_records(other), other)

    def _format_records(self, window):
        from beamtagger.transforms import tagged_batches

        self._waiting_tokens -= self._record_tokens.pop(window)
        records = self._records.pop(window)
        try:
            tagged, kept, left_out = tagged_batches.tagged_batch_of_tagged_records(
                records, self._label_names)
        except Exception:  # noqa: BLE001  (a value no column holds: each record on its own)
            tagged, kept, left_out = None, [], records
        yield from self._one_by_one(left_out, window)
        if tagged is not None and tagged.num_rows:
            yield from self._format(tagged, window, kept)

    def finish_bundle(self):
        for window in list(self._records):
            yield from self._stamped(self._format_records(window), window)
        yield from super().finish_bundle()


def _token_count(record):
    try:
        return len(record.tokens)
    except Exception:  # noqa: BLE001  (not a record: FormatResultFn makes it a dead letter)
        return 1


def to_json_line(record, entities=False, text=None):
    """The record as one line of compact UTF-8 JSON (with its entities: ``entities``;
    ``text``: the record's own text, for the entities' texts).

    orjson, because formatting was the largest cost after the model and the tokenizer:
    2.7x faster than ``json.dumps`` on EWT-sized records (1.77 -> 0.65 s per 1M tokens). It
    refuses what JSON input can still hold (integers beyond 64 bits in passthrough fields,
    lone surrogates from a ``"\\ud800"`` escape): those records take ``json.dumps`` with ASCII
    escapes, which writes both and stays encodable as UTF-8.
    """
    out = record.to_json_dict(entities=entities, text=text)
    try:
        return orjson.dumps(out).decode("utf-8")
    except TypeError:
        return _json_dumps(out, ensure_ascii=True)


# The keys of a span line before its pass-through fields (``to_spans_line``).
SPAN_LINE_KEYS = ("id", "text", "spans")
# Pass-through fields a span line renames ``input_<name>``: its own keys, and Prodigy's
# "answer", a verdict on an earlier annotation of the text, not on these predictions: kept as
# it was, a Prodigy export tagged again would come back "reject"ed, and train's spans reader
# leaves such a line out.
SPAN_LINE_RENAMED_FIELDS = SPAN_LINE_KEYS + ("answer",)


def to_spans_line(record, text=None):
    """The record as one line of span JSON: ``{"id", "text", "spans": [{"start", "end",
    "label", "score"}], passthrough fields...}`` (``text``: the record's own text, else its
    tokens as their offsets place them), orjson first as in ``to_json_line``.

    A passthrough field named like one of ``SPAN_LINE_RENAMED_FIELDS`` (``id``, ``text``,
    ``spans`` in any case) is written as ``input_<name>``, as ``TaggedRecord.to_json_dict``
    renames ``id`` and ``tokens``."""
    if text is None:
        text = placed_tokens_text(record)
    out = {"id": record.id, "text": text,
           "spans": [{"start": entity.start, "end": entity.end, "label": entity.label,
                      "score": round(float(entity.score), 4)}
                     for entity in entity_spans(record, text)]}
    out.update(span_line_fields(record.fields))
    try:
        return orjson.dumps(out).decode("utf-8")
    except TypeError:
        return _json_dumps(out, ensure_ascii=True)


def placed_tokens_text(record):
    """The record's tokens as their offsets place them, from offset 0 (each gap, and the
    space before the first token, as that many spaces): the text CoNLL input's offsets index,
    and the text of a record whose own text was not kept, every offset still pointing at its
    token."""
    if not record.tokens:
        return ""
    return " " * max(0, record.starts[0]) + entity_text(
        record.tokens, record.starts, record.ends, 0, len(record.tokens))


def span_line_fields(fields):
    """A record's passthrough fields as a span line writes them after ``SPAN_LINE_KEYS``:
    one of ``SPAN_LINE_RENAMED_FIELDS``, or of ``SPAN_LINE_KEYS`` in another case (``ID``,
    ``Text``: ``records.is_output_key``), prefixed with ``input_`` (more while the name is
    taken)."""
    if not fields:
        return {}

    def taken(key):
        return key in SPAN_LINE_RENAMED_FIELDS or is_output_key(key, SPAN_LINE_KEYS)

    out = {key: value for key, value in fields.items() if not taken(key)}
    for key, value in fields.items():
        if taken(key):
            while taken(key) or key in out:
                key = "input_" + key
            out[key] = value
    return out


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


def to_parquet_row(record, entities=False, text=None, field_columns=()):
    """The record as a row of ``result_schema(entities, field_columns)`` (``text``: as in
    ``to_json_line``); ValueError naming the field where a field column's value does not
    convert (``field_columns.field_column_values``)."""
    from beamtagger.transforms.field_columns import field_column_values

    strings = record.id + "".join(record.tokens) + "".join(record.labels)
    try:
        strings.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"a lone surrogate (\\u{ord(strings[error.start]):04x}) cannot be "
                         "written to Parquet") from None
    values, fields = field_column_values(record.fields, field_columns)
    return {
        "id": record.id,
        **{column.name: value for column, value in zip(field_columns, values)},
        "tokens": [{"text": t, "start": s, "end": e, "label": label, "score": p}
                   for t, s, e, label, p in zip(record.tokens, record.starts, record.ends,
                                                record.labels, record.scores)],
        "fields": fields_json(fields),
        **({"entities": [entity._asdict() for entity in entity_spans(record, text)]}
           if entities else {}),
    }


# Characters that end a line for some reader (str.splitlines), and the tab that ends a column.
LINE_BREAK_OR_TAB = "[\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
_LINE_UNSAFE = re.compile(LINE_BREAK_OR_TAB)


def line_safe(text):
    """``text`` on one line and in one column: line breaks and tabs as JSON-style escapes, lone
    surrogates as ``\\udXXX``."""
    text = utf8_safe(text)
    if _LINE_UNSAFE.search(text) is None:
        return text
    return _LINE_UNSAFE.sub(lambda match: json.dumps(match.group())[1:-1], text)


def conll_id_line(record_id, key="id"):
    """``# <key> = <id>``: the id as it is, or, where it could not be read back as it is (a
    line break or tab, a lone surrogate, or quotes around it; for CoNLL-U's ``sent_id``, which
    its readers strip, whitespace at its ends or no id at all), as a JSON string on one line,
    which the CoNLL and CoNLL-U readers (``corpus_readers``) decode. Escapes alone could not
    be told apart from backslashes in an id (a Windows path), which stay as they are."""
    if not isinstance(record_id, str):
        return f"# {key} = {line_safe(record_id)}"
    if (_LINE_UNSAFE.search(record_id) is None and _is_utf8((record_id,))
            and not is_json_quoted(record_id)
            and (key != "sent_id" or (record_id and record_id.strip() == record_id))):
        return f"# {key} = {record_id}"
    return f"# {key} = " + line_safe(json.dumps(record_id, ensure_ascii=False))


def to_conll_block(record):
    """``# id = ...`` and ``token<TAB>label`` lines; WriteToText's newline ends the block.
    ValueError where a line holding a NUL would not read back as written (``nul_lines``)."""
    tokens, labels = record.tokens, record.labels
    if (_LINE_UNSAFE.search(" ".join(tokens)) or _LINE_UNSAFE.search(" ".join(labels))
            or not _is_utf8(tokens)):
        tokens, labels = [line_safe(t) for t in tokens], [line_safe(t) for t in labels]
    lines = [conll_id_line(record.id)]
    lines.extend(f"{token}\t{label}" for token, label in zip(tokens, labels))
    block = "\n".join(lines) + "\n"
    if "\x00" in block:
        found = nul_line_problem(lines)
        if found is not None:
            index, problem = found
            where = (f"token {index} {record.tokens[index - 1]!r} with the label "
                     f"{record.labels[index - 1]!r}" if index else f"its id line {lines[0]!r}")
            raise ValueError(f"CoNLL cannot hold {where}: {problem}")
    return block


def _is_utf8(texts):
    try:
        "".join(texts).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False
