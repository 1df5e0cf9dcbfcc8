"""ReadRecords: files -> records, decoding each record on its own so one bad record costs itself.

Files are matched and opened through Beam's FileSystems (``gs://`` works; ``.gz``/``.bz2`` are
decompressed by extension) and read as bytes, line by line, keeping line numbers: a text
record's id is "<file name>:<line>", and a dead letter names the file and line it came from.
Invalid UTF-8, invalid JSON, a missing or non-string text field and malformed CoNLL blocks go
to the ``errors`` output; everything else becomes a record, so
``records read == records + errors``.

Line numbers need a sequential scan, so each file is read by one worker; a Reshuffle right
after the read spreads the records (and all later work) over every worker. Text and JSON Lines
files over 64 MiB (uncompressed) are the exception: several workers read them in byte ranges
and their records are located by byte offset (``read_text_ranges``).
"""
import json
import posixpath
from typing import NamedTuple

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes

from beamtagger.corpus_readers import parse_conll_lines, parse_conllu_lines
from beamtagger.errors import InputFormatError
from beamtagger.transforms import counters
from beamtagger.transforms.records import DeadLetter, TextRecord, TokenizedRecord, raw_text

INPUT_FORMATS = ("text", "jsonl", "conll", "conllu")
ERRORS = "errors"


class ReadResult(NamedTuple):
    records: beam.PCollection   # TextRecord (text, jsonl) or TokenizedRecord (conll, conllu)
    errors: beam.PCollection    # DeadLetter


class ReadRecords(beam.PTransform):
    """Reads every file matching ``file_pattern`` into records plus dead letters.

    ``input_format``: "text" (one record a line), "jsonl" (one JSON object a line; the text is
    in ``text_field``, the id in ``id_field`` when present, other fields pass through; blank
    lines are not records), "conll" (one token a line, an optional tag column is ignored) or
    "conllu" (a sentence's id is its ``sent_id``). Returns ``ReadResult(records, errors)``.
    """

    def __init__(self, file_pattern, input_format="text", text_field="text", id_field="id",
                 reshuffle=True, split_bytes=None):
        super().__init__()
        if input_format not in INPUT_FORMATS:
            raise ValueError(f"input_format must be one of {INPUT_FORMATS}, not {input_format!r}")
        self.file_pattern = file_pattern
        self.input_format = input_format
        self.text_field = text_field
        self.id_field = id_field
        self.reshuffle = reshuffle
        self.split_bytes = split_bytes  # None: read_text_ranges.DEFAULT_SPLIT_BYTES

    def expand(self, pbegin):
        from beamtagger.transforms import read_text_ranges

        if self.input_format in read_text_ranges.SPLITTABLE_FORMATS:
            # Large uncompressed files in parallel byte ranges (read_text_ranges).
            read = (pbegin
                    | "MatchFiles" >> fileio.MatchFiles(self.file_pattern)
                    | "ReadRanges" >> beam.ParDo(read_text_ranges.ReadRecordsInRanges(
                        self.input_format, self.text_field, self.id_field,
                        self.split_bytes or read_text_ranges.DEFAULT_SPLIT_BYTES)
                    ).with_outputs(ERRORS, main="records"))
            return ReadResult(read.records | "SpreadOverWorkers" >> beam.Reshuffle()
                              if self.reshuffle else read.records, read[ERRORS])
        read = (
            pbegin
            | "MatchFiles" >> fileio.MatchFiles(self.file_pattern)
            | "OpenFiles" >> fileio.ReadMatches()
            | "ReadLines" >> beam.ParDo(
                _ReadFileRecords(self.input_format, self.text_field, self.id_field)
            ).with_outputs(ERRORS, main="records"))
        records = read.records
        if self.reshuffle:
            records = records | "SpreadOverWorkers" >> beam.Reshuffle()
        return ReadResult(records, read[ERRORS])


class _ReadFileRecords(beam.DoFn):
    def __init__(self, input_format, text_field, id_field):
        self.input_format = input_format
        self.text_field = text_field
        self.id_field = id_field

    def process(self, readable_file):
        path = readable_file.metadata.path
        with readable_file.open(compression_type=CompressionTypes.AUTO) as handle:
            lines = enumerate(iter(handle.readline, b""), start=1)
            for item in parse_records(lines, path, self.input_format, self.text_field,
                                      self.id_field):
                counters.RECORDS_READ.inc()
                if isinstance(item, DeadLetter):
                    counters.DEAD_LETTERS.inc()
                    yield beam.pvalue.TaggedOutput(ERRORS, item)
                else:
                    yield item


def parse_records(numbered_lines, path, input_format="text", text_field="text", id_field="id"):
    """Records and DeadLetters from ``(line_number, bytes)`` pairs of one file (no Beam needed)."""
    path = str(path)
    if input_format == "text":
        return text_records(numbered_lines, path)
    if input_format == "jsonl":
        return jsonl_records(numbered_lines, path, text_field, id_field)
    if input_format in ("conll", "conllu"):
        return tokenized_records(numbered_lines, path, input_format)
    raise ValueError(f"input_format must be one of {INPUT_FORMATS}, not {input_format!r}")


def text_records(numbered_lines, path):
    """One TextRecord a line (blank lines too: they become records without tokens)."""
    name = _file_name(path)
    for number, raw in numbered_lines:
        raw = _strip_newline(raw, number)
        source = f"{path}:{number}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            yield DeadLetter(source, _bad_utf8(raw, error), raw_text(raw), "read")
            continue
        yield TextRecord(f"{name}:{number}", text, source)


def jsonl_records(numbered_lines, path, text_field="text", id_field="id"):
    """One TextRecord per JSON object line: text from ``text_field``, the rest passes through."""
    name = _file_name(path)
    for number, raw in numbered_lines:
        raw = _strip_newline(raw, number)
        if not raw.strip():
            continue
        source = f"{path}:{number}"
        try:
            value = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            yield DeadLetter(source, _bad_utf8(raw, error), raw_text(raw), "read")
            continue
        except json.JSONDecodeError as error:
            yield DeadLetter(source, f"invalid JSON: {error}", raw_text(raw), "read")
            continue
        if not isinstance(value, dict):
            yield DeadLetter(source, f"expected a JSON object, found {type(value).__name__}",
                             raw_text(raw), "read")
            continue
        text = value.pop(text_field, None)
        if not isinstance(text, str):
            problem = (f"missing text field {text_field!r}" if text is None else
                       f"text field {text_field!r} is a {type(text).__name__}, not a string")
            yield DeadLetter(source, problem, raw_text(raw), "read")
            continue
        record_id = value.pop(id_field, None) if id_field else None
        record_id = f"{name}:{number}" if record_id is None else str(record_id)
        yield TextRecord(record_id, text, source, value or None)


def tokenized_records(numbered_lines, path, input_format):
    """TokenizedRecords from CoNLL / CoNLL-U, one per sentence; a malformed sentence -> DeadLetter.

    Lines are grouped into blank-line separated blocks here and each block is parsed on its
    own by the corpus readers, so one bad block costs only its own sentence.
    """
    block = []
    for number, raw in numbered_lines:
        raw = _strip_newline(raw, number)
        if raw.strip() and not (input_format == "conll" and raw.startswith(b"-DOCSTART-")):
            block.append((number, raw))
            continue
        yield from _block_records(block, path, input_format)
        block = []
    yield from _block_records(block, path, input_format)


def _block_records(block, path, input_format):
    if not block:
        return
    try:
        if input_format == "conllu":
            sentences = list(parse_conllu_lines(block, path))
        elif _is_token_only(block):
            sentences = [_token_only_sentence(block, path)]
        else:
            sentences = list(parse_conll_lines(block, path))
    except InputFormatError as error:
        raw = "\n".join(raw_text(line) for _, line in block)
        yield DeadLetter(f"{path}:{block[0][0]}", str(error), raw, "read")
        return
    for sentence in sentences:
        yield TokenizedRecord.from_tokens(sentence.sent_id, sentence.tokens,
                                          source=f"{path}:{sentence.line}")


class _TokenOnly(NamedTuple):
    sent_id: str
    tokens: tuple
    line: int


def _is_token_only(block):
    """A CoNLL block with one column (tokens, no tags): unlabelled input to tag."""
    return all(len(line.split()) == 1 and b"\t" not in line for _, line in block)


def _token_only_sentence(block, path):
    tokens = []
    for number, raw in block:
        try:
            tokens.append(raw.decode("utf-8").strip())
        except UnicodeDecodeError as error:
            raise InputFormatError(path, number, _bad_utf8(raw, error)) from None
    first = block[0][0]
    return _TokenOnly(f"{_file_name(path)}:{first}", tuple(tokens), first)


def _strip_newline(raw, number):
    raw = raw.rstrip(b"\r\n")
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # UTF-8 byte-order mark written by some Windows editors
    return raw


def _bad_utf8(raw, error):
    return f"not valid UTF-8 (byte {error.start}: {raw[error.start:error.start + 1]!r})"


def _file_name(path):
    return posixpath.basename(path.replace("\\", "/"))
