"""ReadRecords: files -> records, decoding each record on its own so one bad record costs itself.

Files are matched and opened through Beam's FileSystems (``gs://`` works; compressed files are
decompressed by extension, ``file_lines``) and read as bytes, line by line, keeping line
numbers: a text record's id is "<file name>:<line>", and a dead letter names the file and line
it came from (the file name is its path from the pattern's folder where the pattern reaches
into folders: ``ReadRecords`` says how). Invalid UTF-8, invalid JSON (also nested too deep, numbers too long, lone
surrogates), a missing or non-string text field and malformed CoNLL blocks go to the ``errors``
output (stage "decode"); everything else becomes a record, so ``records read == records +
errors``. A file that breaks off (truncated or corrupt compression) keeps the records before the
break and adds one dead letter (stage "read") naming the line where it broke; the line or
sentence cut there is in that dead letter, never tagged as if whole.

Line numbers need a sequential scan, so each file is read by one worker (the files spread over
the workers first); a Reshuffle right after the read spreads the records (and all later work)
over every worker. Text, JSON Lines, TSV and CSV files over 64 MiB (uncompressed) are the
exception: several workers read them in byte ranges and their records are located by byte
offset (``byte_ranges``; a TSV or CSV range reads the file's header first: ``tsv_ranges``; a
CSV file's ranges start where rows start, found by one scan of the file: ``csv_ranges``). Parquet files are
read row group by row group, each row group by one worker (``parquet_rows``): a row's default id
and source are "<file name>:<row>" and "<path>:<row>". CSV and TSV files read whole are read
row by row (``csv_rows``): a row's default id and source name the line where it starts.
JSON Lines, CSV, TSV and Parquet records carry their other fields (columns), or only those
``fields`` names; Parquet then reads only those columns; with ``partition_fields`` also their
file's Hive partition folders (``year=2024/``: ``partition_fields``).
"""
import os
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.options.value_provider import ValueProvider

from beamtagger.tagging_defaults import (check_flag, check_iterable, check_whole_number,
                                         path_option, shown)
from beamtagger.transforms.blocks import Block, reader_outputs
from beamtagger.transforms.reading import byte_ranges, csv_rows, parquet_rows
from beamtagger.transforms.reading.decoded_lines import UTF8, encoding_problem
from beamtagger.transforms.reading.file_lines import FileLines
from beamtagger.transforms.reading.gathered_blocks import GatherBlocks
from beamtagger.transforms.reading.partition_fields import (PartitionProblem, file_partitions,
                                                            partition_problem, unread_file,
                                                            with_partition_fields)
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.reading.record_parsers import (LINE_FORMATS, matchable_pattern,
                                                          pattern_id_folder,
                                                          read_file_records)
from beamtagger.transforms import counters
from beamtagger.transforms.records import ERRORS, DeadLetter

__all__ = ["FIELD_FORMATS", "INPUT_FORMATS", "ReadRecords", "ReadResult", "fields_problem"]

INPUT_FORMATS = (*LINE_FORMATS, *csv_rows.CSV_FORMATS, "parquet")
# The formats whose records carry fields beside their text.
FIELD_FORMATS = ("jsonl", *csv_rows.CSV_FORMATS, "parquet")


class ReadResult(NamedTuple):
    """What ReadRecords returns.

    Args:
      records: TextRecord (text, jsonl, parquet) or TokenizedRecord (conll, conllu), one per
        record.
      errors: DeadLetter, one per record that could not be decoded or read.
    """
    records: beam.PCollection
    errors: beam.PCollection


# Applied to the pipeline itself (PBegin), so there is no input type to declare; the output is
# TextRecord or TokenizedRecord, which are left undeclared like every NamedTuple output (see
# docs/design.md: Beam would give them a schema coder that cannot hold ``fields``).
class ReadRecords(beam.PTransform):
    """Reads every file matching ``file_pattern`` into records plus dead letters; returns
    ``ReadResult(records, errors)``.

    Args:
      file_pattern: the files to read (a glob; any Beam file system; ``.gz``, ``.bz2``, ``.zst``,
        ``.xz``... are decompressed). A record without an id is "<file name>:<line>" (CoNLL,
        CoNLL-U: of its first token; CSV, TSV: of the row's start; Parquet: "<file name>:<row>";
        a text, JSON Lines, TSV or CSV file read in byte ranges: "<file name>:@<byte offset>"), the file
        name being its path from the folder before the pattern's first wildcard where a folder
        holds one or it is ``**`` (``logs/*/part-*.jsonl``: "2024-01/part-00000.jsonl:3"),
        else its base name (``in/*.txt``: "doc1.txt:3").
      input_format: "text" (one record a line), "jsonl" (one JSON object a line, blank lines
        are not records), "conll" (one token a line, an optional tag column is ignored),
        "conllu" (a sentence's id is its ``sent_id``), "csv" or "tsv" (one record a row after
        the header row, ``csv_rows``) or "parquet" (one record a row, ``parquet_rows``).
      text_field: the JSON Lines field or CSV, TSV or Parquet column that holds the text.
      id_field: the JSON Lines field or CSV, TSV or Parquet column that holds the id, when
        present; the other fields (columns) pass through to the output.
      fields: "jsonl", "csv", "tsv" and "parquet" only: the names of the only fields (columns)
        that pass through, in this order (``()``: none; None: all). Parquet reads only the
        text, id and these columns from the file; a Parquet, CSV or TSV file without one of
        them is one dead letter (stage "read"). A JSON Lines record without one is carried
        without it.
      reshuffle: spread the records over the workers after reading (False where there is one).
      split_bytes: text, JSON Lines, TSV and CSV files larger than this are read in byte
        ranges by several workers (None: ``byte_ranges.DEFAULT_SPLIT_BYTES``).
      blocks: ``records`` holds lists of records (``blocks.in_blocks``) instead of single
        records: what ``beamtagger tag`` passes to ``TagTextInParts(blocks=True)``.
      delimiter: "csv" only: the one character between cells (None: ",";
        ``csv_rows.delimiter_problem`` says which are refused).
      partition_fields: "jsonl", "csv", "tsv" and "parquet" only: each record carries the
        ``key=value`` folders of its file's path after the pattern's fixed folder (Hive's
        partitions: ``ds/*/*/*.parquet`` reading ``ds/year=2024/month=01/part-0.parquet``
        gives ``year`` "2024" and ``month`` "01") as fields after its own, URL-decoded strings
        (``__HIVE_DEFAULT_PARTITION__``: null); ``fields`` may name them
        (``partition_fields`` says what is refused and why). False: the folders are only in
        the default ids.
      keep_conllu_lines: "conllu" only: each record's fields hold its sentence's lines as read
        (``conllu_kept_lines.KEPT_LINES_FIELD``), which ``WriteResults(output_format="conllu",
        keep_conllu_lines=True)`` writes back with only the label column replaced; they cost the record its sentence's
        text a second time (``beamtagger tag`` keeps them when it writes CoNLL-U).
    """

    def __init__(self, file_pattern, input_format="text", text_field="text", id_field="id",
                 reshuffle=True, split_bytes=None, blocks=False, keep_conllu_lines=False,
                 fields=None, delimiter=None, encoding=UTF8, partition_fields=False):
        super().__init__()
        if input_format not in INPUT_FORMATS:
            raise ValueError(f"input_format must be one of {INPUT_FORMATS}, not {input_format!r}")
        problem = encoding_problem(input_format, encoding)
        if problem is not None:
            raise ValueError(f"encoding: {problem}")
        problem = csv_rows.delimiter_problem(input_format, delimiter)
        if problem is not None:
            raise ValueError(f"delimiter: {problem}")
        if isinstance(fields, str):  # "a,b" would be the fields "a", ",", "b"
            raise ValueError(f"fields: must be a list of names, not the string {fields!r}")
        fields = None if fields is None else check_iterable("fields", fields, "names")
        problem = fields_problem(fields, input_format, text_field, id_field)
        if problem is not None:
            raise ValueError(f"fields: {problem}")
        if keep_conllu_lines and input_format != "conllu":
            raise ValueError(f"keep_conllu_lines applies to input_format 'conllu' only, not "
                             f"{input_format!r}")
        if not isinstance(file_pattern, ValueProvider):
            # None, bytes or a number failed where the pipeline ran, as a TypeCheckError of
            # Beam's MatchFiles ("requires PCollections of type str").
            if not isinstance(file_pattern, (str, os.PathLike)):
                raise TypeError(f"file_pattern must be a glob (a str or os.PathLike), not "
                                f"{type(file_pattern).__name__} {shown(file_pattern)}")
            file_pattern = path_option("file_pattern", file_pattern, none_allowed=False,
                                       give="a glob of the files to read, such as in/*.txt")
        self.file_pattern = file_pattern = matchable_pattern(file_pattern)
        self.input_format = input_format
        self.text_field = text_field
        self.id_field = id_field
        self.reshuffle = check_flag("reshuffle", reshuffle)
        # None: byte_ranges.DEFAULT_SPLIT_BYTES. A float, 0 or a negative number was taken and
        # failed in the workers that split the files.
        self.split_bytes = (None if split_bytes is None
                            else check_whole_number("split_bytes", split_bytes, 1))
        self.blocks = check_flag("blocks", blocks)
        self.keep_conllu_lines = check_flag("keep_conllu_lines", keep_conllu_lines)
        self.fields = fields
        self.delimiter = delimiter
        # A ValueProvider is known only at run time: its files keep their base names.
        self.id_folder = (pattern_id_folder(file_pattern) if isinstance(file_pattern, str)
                          else None)
        self.encoding = encoding
        if partition_fields:
            problem = partition_problem(input_format, file_pattern, FIELD_FORMATS)
            if problem is not None:
                raise ValueError(f"partition_fields: {problem}")
        self.partition_fields = check_flag("partition_fields", partition_fields)
        self.layout = RecordLayout(text_field, id_field, fields, self.id_folder, encoding,
                                   partition_fields)

    def expand(self, pbegin):
        if self.input_format == "parquet":
            return self._read_parquet(pbegin)
        streaming = pbegin.pipeline.options.view_as(StandardOptions).streaming
        if self.input_format in byte_ranges.SPLITTABLE_FORMATS and not streaming:
            # Large uncompressed files in parallel byte ranges (byte_ranges). Not in a
            # streaming pipeline: Beam's streaming DirectRunner cannot expand a splittable DoFn.
            read = (pbegin
                    | "MatchFiles" >> fileio.MatchFiles(self.file_pattern)
                    | "ReadRanges" >> beam.ParDo(byte_ranges.ReadRecordsInRanges(
                        self.input_format, self.layout,
                        self.split_bytes or byte_ranges.DEFAULT_SPLIT_BYTES, self.blocks,
                        self.delimiter)
                    ).with_output_types(self._record_type()).with_outputs(ERRORS, main="records"))
            return ReadResult(self._spread(read.records), read[ERRORS])
        files = (pbegin
                 | "MatchFiles" >> fileio.MatchFiles(self.file_pattern)
                 | "OpenFiles" >> fileio.ReadMatches())
        if self.reshuffle:
            # The file list comes from one element (the pattern): fused with the reading, as
            # runners fuse a ParDo with its input, one worker read every file in turn. The
            # byte-range read above is a splittable DoFn, whose restrictions the runner spreads.
            files = files | "SpreadFiles" >> beam.Reshuffle()
        read = (
            files
            | "ReadLines" >> beam.ParDo(
                _ReadFileRecords(self.input_format, self.layout, self.blocks,
                                 self.split_bytes or byte_ranges.DEFAULT_SPLIT_BYTES,
                                 self.keep_conllu_lines, self.delimiter)
            ).with_output_types(self._record_type()).with_outputs(ERRORS, main="records"))
        return ReadResult(self._spread(read.records), read[ERRORS])

    def _read_parquet(self, pbegin):
        # Footers first, then each row group on its own: the row groups of one large file
        # spread over the workers, as byte ranges of a large text file do.
        groups = (pbegin
                  | "MatchFiles" >> fileio.MatchFiles(self.file_pattern)
                  | "ListRowGroups" >> beam.ParDo(_ListRowGroups(self.layout)).with_outputs(ERRORS, main="groups"))
        row_groups = groups.groups
        if self.reshuffle:
            row_groups = row_groups | "SpreadRowGroups" >> beam.Reshuffle()
        read = (row_groups
                | "ReadRowGroups" >> beam.ParDo(_ReadRowGroup(self.layout, self.blocks)).with_output_types(self._record_type()).with_outputs(ERRORS, main="records"))
        # A row group may hold many gigabytes of text: its records spread like a file's.
        records = self._spread(read.records)
        errors = (groups[ERRORS], read[ERRORS]) | "ReadErrors" >> beam.Flatten()
        return ReadResult(records, errors)

    def _spread(self, records):
        """The records read, their blocks of small files gathered into full ones (before the
        shuffle, which then moves as few elements as one large file gives), spread over the
        workers where ``reshuffle``."""
        if self.blocks:
            records = records | "GatherBlocks" >> GatherBlocks()
        if self.reshuffle:
            records = records | "SpreadOverWorkers" >> beam.Reshuffle()
        return records

    def _record_type(self):
        # Records stay undeclared (see above); blocks are Blocks, carried by BlockCoder.
        return Block if self.blocks else Any


class _ReadFileRecords(beam.DoFn):
    """One file, read whole. A text, JSON Lines, TSV or CSV file that a batch run reads in byte
    ranges (over ``split_bytes``: a streaming pipeline reads it here) keeps the same record ids and
    dead-letter sources, located by byte offset, so they do not depend on the runner."""

    def __init__(self, input_format, layout, blocks=False,
                 split_bytes=byte_ranges.DEFAULT_SPLIT_BYTES, keep_conllu_lines=False,
                 delimiter=None):
        self.input_format = input_format
        self.layout = layout
        self.blocks = blocks
        self.split_bytes = split_bytes
        self.keep_conllu_lines = keep_conllu_lines
        self.delimiter = delimiter

    def process(self, readable_file):
        metadata = readable_file.metadata
        path = metadata.path
        try:
            partitions, layout = file_partitions(path, self.layout)
        except PartitionProblem as problem:
            yield from reader_outputs([unread_file(path, problem)], self.blocks)
            return
        if (self.input_format in byte_ranges.SPLITTABLE_FORMATS and byte_ranges.is_splittable(
                path, metadata.size_in_bytes, self.split_bytes, layout.encoding)):
            # The whole file as one byte range: the lines and locators the ranges give.
            tracker = OffsetRestrictionTracker(OffsetRange(0, metadata.size_in_bytes))
            items = byte_ranges.range_records(path, tracker, self.input_format, layout,
                                              delimiter=self.delimiter)
        else:
            lines = FileLines(path, lambda: readable_file.open(
                compression_type=CompressionTypes.UNCOMPRESSED), layout.encoding)
            if self.input_format in csv_rows.CSV_FORMATS:
                items = csv_rows.read_csv_records(lines, self.input_format, layout,
                                                  self.delimiter)
            else:
                items = read_file_records(lines, self.input_format, layout,
                                          self.keep_conllu_lines)
        if partitions:
            items = with_partition_fields(items, partitions, self.layout.fields)
        yield from reader_outputs(items, self.blocks)


class _ListRowGroups(beam.DoFn):
    """FileMetadata -> the file's ``parquet_rows.RowGroup``s, or one dead letter (tagged
    ``ERRORS``) for a file whose rows cannot be read."""

    def __init__(self, layout):
        self.layout = layout

    def process(self, metadata):
        try:
            layout = file_partitions(metadata.path, self.layout)[1]
            items = parquet_rows.row_groups(metadata.path, layout.text_field, layout.fields,
                                            layout.id_field)
        except PartitionProblem as problem:
            items = [unread_file(metadata.path, problem)]
        for item in items:
            if isinstance(item, DeadLetter):
                # Counted as a record read, as the dead letter of a damaged text file is; each
                # is a file not read (stage "read").
                counters.RECORDS_READ.inc()
                counters.DEAD_LETTERS.inc()
                counters.UNREAD_PARTS.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, item)
            else:
                yield item


class _ReadRowGroup(beam.DoFn):
    """A ``parquet_rows.RowGroup`` -> its records and dead letters."""

    def __init__(self, layout, blocks=False):
        self.layout = layout
        self.blocks = blocks

    def process(self, group):
        # The listing (_ListRowGroups) has refused a file whose folders raise here.
        partitions, layout = file_partitions(group.path, self.layout)
        items = parquet_rows.row_group_records(group, layout.text_field, layout.id_field,
                                               layout.fields, layout.id_folder)
        if partitions:
            items = with_partition_fields(items, partitions, self.layout.fields)
        yield from reader_outputs(items, self.blocks)


def fields_problem(fields, input_format, text_field="text", id_field="id"):
    """Why ``fields`` (names, or None: all) cannot be the fields carried from ``input_format``
    records, or None; the text is the record's text and the id its id, never carried too."""
    if fields is None:
        return None
    if input_format not in FIELD_FORMATS:
        return (f"only {', '.join(FIELD_FORMATS[:-1])} and {FIELD_FORMATS[-1]} records carry "
                f"fields, not {input_format}")
    for name in fields:
        if not isinstance(name, str) or not name:
            return f"{name!r} is not a field name"
    repeated = sorted({name for name in fields if fields.count(name) > 1})
    if repeated:
        return f"{', '.join(map(repr, repeated))} named more than once"
    for name, what in ((text_field, "text"), (id_field, "id")):
        if name and name in fields:
            return f"{name!r} is the {what} field: the record's {what}, never carried beside it"
    return None
