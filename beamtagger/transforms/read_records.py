"""ReadRecords: files -> records, decoding each record on its own so one bad record costs itself.

Files are matched and opened through Beam's FileSystems (``gs://`` works; ``.gz``/``.bz2`` are
decompressed by extension) and read as bytes, line by line, keeping line numbers: a text
record's id is "<file name>:<line>", and a dead letter names the file and line it came from.
Invalid UTF-8, invalid JSON (also nested too deep, numbers too long, lone surrogates), a
missing or non-string text field and malformed CoNLL blocks go to the ``errors`` output (stage
"decode"); everything else becomes a record, so ``records read == records + errors``. A file
that breaks off (truncated or corrupt ``.gz``/``.bz2``) keeps the records before the break and
adds one dead letter (stage "read") naming the line where it broke; the line or sentence cut
there is in that dead letter, never tagged as if whole.

Line numbers need a sequential scan, so each file is read by one worker; a Reshuffle right
after the read spreads the records (and all later work) over every worker. Text and JSON Lines
files over 64 MiB (uncompressed) are the exception: several workers read them in byte ranges
and their records are located by byte offset (``read_text_ranges``).
"""
import bz2
import gzip
import json
import math
import posixpath
from typing import NamedTuple

import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes

from beamtagger.corpus_readers import (conll_comment_id, parse_conll_lines, parse_conllu_lines,
                                       split_conll_comments)
from beamtagger.errors import InputFormatError
from beamtagger.transforms import counters
from beamtagger.transforms.records import (DeadLetter, TextRecord, TokenizedRecord, one_line,
                                           raw_text)

__all__ = ["DamagedInput", "FileLines", "INPUT_FORMATS", "ReadRecords", "ReadResult",
           "read_file_records", "read_path_records"]

INPUT_FORMATS = ("text", "jsonl", "conll", "conllu")
ERRORS = "errors"


class ReadResult(NamedTuple):
    """What ReadRecords returns.

    Args:
      records: TextRecord (text, jsonl) or TokenizedRecord (conll, conllu), one per record.
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
      file_pattern: the files to read (a glob; any Beam file system; ``.gz``/``.bz2`` are
        decompressed).
      input_format: "text" (one record a line), "jsonl" (one JSON object a line, blank lines
        are not records), "conll" (one token a line, an optional tag column is ignored) or
        "conllu" (a sentence's id is its ``sent_id``).
      text_field: the JSON Lines field that holds the text.
      id_field: the JSON Lines field that holds the id, when present; the other fields pass
        through to the output.
      reshuffle: spread the records over the workers after reading (False where there is one).
      split_bytes: text and JSON Lines files larger than this are read in byte ranges by
        several workers (None: ``read_text_ranges.DEFAULT_SPLIT_BYTES``).
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

        streaming = pbegin.pipeline.options.view_as(StandardOptions).streaming
        if self.input_format in read_text_ranges.SPLITTABLE_FORMATS and not streaming:
            # Large uncompressed files in parallel byte ranges (read_text_ranges). Not in a
            # streaming pipeline: Beam's streaming DirectRunner cannot expand a splittable DoFn.
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
        lines = FileLines(path, lambda: readable_file.open(
            compression_type=CompressionTypes.UNCOMPRESSED))
        for item in read_file_records(lines, self.input_format, self.text_field, self.id_field):
            counters.RECORDS_READ.inc()
            if isinstance(item, DeadLetter):
                counters.DEAD_LETTERS.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, item)
            else:
                yield item


class DamagedInput(Exception):
    """A file that cannot be read to its end (corrupt or truncated compression, I/O error).

    ``line``: the last complete line read before the damage (0: none); ``offset``: bytes of
    (decompressed) text read up to there; ``pending``: the lines of the unfinished record
    (CoNLL sentences span lines), filled in by the parser that was holding them.
    """

    def __init__(self, path, line, offset, reason):
        super().__init__(reason)
        self.path, self.line, self.offset, self.reason = path, line, offset, reason
        self.pending = []

    def dead_letter(self):
        where = (f"after line {self.line:,} (byte {self.offset:,} of the text)" if self.line
                 else "before its first line")
        raw = "\n".join(raw_text(line) for _, line in self.pending)
        return DeadLetter(f"{self.path}:{self.line + 1}",
                          f"the file is damaged {where}: {self.reason}; records after this point "
                          "were not read", raw, "read")


# Compressions read with Python's own modules, which raise on a truncated or corrupt stream
# (EOFError, BadGzipFile, zlib.error, OSError) where Beam's CompressedFile ends a truncated .gz
# silently, with its half last line as a whole record.
_DECOMPRESSORS = {".gz": gzip.GzipFile, ".gzip": gzip.GzipFile, ".bz2": bz2.BZ2File}


class FileLines:
    """``(line number, bytes)`` of one file; raises DamagedInput where it cannot go on.

    A line cut by the damage is never returned: the decompressors raise before handing out
    bytes that have no end-of-stream behind them.
    """

    def __init__(self, path, open_raw):
        self.path = str(path)
        self._open_raw = open_raw

    def __iter__(self):
        number, offset = 0, 0
        try:
            with self._open() as handle:
                for raw in iter(handle.readline, b""):
                    number += 1
                    offset += len(raw)
                    yield number, raw
        except DamagedInput:
            raise
        except Exception as error:  # noqa: BLE001  (every decompressor and filesystem differs)
            raise DamagedInput(self.path, number, offset,
                               f"{type(error).__name__}: {error}") from None

    def _open(self):
        raw = self._open_raw()
        decompressor = _DECOMPRESSORS.get(posixpath.splitext(self.path.lower())[1])
        if decompressor is not None:
            return _Closing(decompressor(fileobj=raw) if decompressor is gzip.GzipFile
                            else decompressor(raw), raw)
        if CompressionTypes.detect_compression_type(self.path) != CompressionTypes.UNCOMPRESSED:
            raw.close()
            from apache_beam.io.filesystems import FileSystems
            return FileSystems.open(self.path, compression_type=CompressionTypes.AUTO)
        return raw


class _Closing:
    """A decompressor that closes the raw file under it too."""

    def __init__(self, stream, raw):
        self._stream, self._raw = stream, raw

    def __enter__(self):
        return self._stream

    def __exit__(self, *exc_info):
        self._stream.close()
        self._raw.close()


def read_file_records(lines, input_format="text", text_field="text", id_field="id"):
    """Records and DeadLetters of one file's FileLines; damage becomes one last DeadLetter."""
    try:
        yield from parse_records(lines, lines.path, input_format, text_field, id_field)
    except DamagedInput as damage:
        yield damage.dead_letter()


def read_path_records(path, input_format="text", text_field="text", id_field="id"):
    """``read_file_records`` of a local file (no Beam pipeline needed)."""
    return read_file_records(FileLines(path, lambda: open(path, "rb")), input_format,
                             text_field, id_field)


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
            yield DeadLetter(source, _bad_utf8(raw, error), raw_text(raw), "decode")
            continue
        yield TextRecord(f"{name}:{number}", text, source)


# Deeper JSON is refused: the output writers and Beam's coders recurse per level (orjson stops
# at 255, Python's json and pickle at the interpreter's recursion limit).
MAX_JSON_NESTING = 100


class _BadRecord(ValueError):
    """A record that is read but cannot be tagged; the message is the dead letter's reason."""


def jsonl_records(numbered_lines, path, text_field="text", id_field="id"):
    """One TextRecord per JSON object line: text from ``text_field``, the rest passes through.

    Every non-blank line yields exactly one TextRecord or DeadLetter, whatever its bytes.
    """
    name = _file_name(path)
    for number, raw in numbered_lines:
        raw = _strip_newline(raw, number)
        if not raw.strip():
            continue
        source = f"{path}:{number}"
        try:
            yield _json_record(raw, f"{name}:{number}", source, text_field, id_field)
        except _BadRecord as bad:
            yield DeadLetter(source, str(bad), raw_text(raw), "decode")
        except Exception as error:  # noqa: BLE001  (one record's failure must not fail the job)
            yield DeadLetter(source, one_line(f"cannot read the record: {error!r}"),
                             raw_text(raw), "decode")


def _json_record(raw, default_id, source, text_field, id_field):
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _BadRecord(_bad_utf8(raw, error)) from None
    try:
        value = json.loads(line)
    except RecursionError:
        raise _BadRecord("invalid JSON: nested too deeply to read") from None
    except ValueError as error:  # JSONDecodeError, and integers beyond Python's digit limit
        raise _BadRecord(one_line(f"invalid JSON: {error}")) from None
    if not isinstance(value, dict):
        raise _BadRecord(f"expected a JSON object, found {_json_type(value)}")
    if line.count("[") + line.count("{") > MAX_JSON_NESTING:  # cheap test before the walk
        _check_nesting(value)
    if "\\u" in line:  # only an escape can produce a lone surrogate
        _check_surrogates(value)
    if text_field not in value:
        raise _BadRecord(f"missing text field {text_field!r}")
    text = value.pop(text_field)
    if not isinstance(text, str):
        raise _BadRecord(f"text field {text_field!r} is null" if text is None else
                         f"text field {text_field!r} is a {_json_type(text)}, not a string")
    record_id = value.pop(id_field, None) if id_field else None
    return TextRecord(default_id if record_id is None else json_id(record_id), text, source,
                      value or None)


def json_id(value) -> str:
    """A JSON id as the output's string id: strings as they are, anything else as its JSON text
    (``5`` -> "5", ``{"a": 1}`` -> '{"a":1}')."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # what json.dumps writes, without building an encoder per record
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _BadRecord(f"the id is {value}, which is not JSON")
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _check_nesting(value):
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_NESTING:
            raise _BadRecord(f"JSON nested more than {MAX_JSON_NESTING} levels deep")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _check_surrogates(value):
    """A lone surrogate (``"\\ud800"``) is not text: no UTF-8 writer can write it back out."""
    stack = [("", value)]
    while stack:
        field, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                _check_string(field or key, key)
                stack.append((field or key, child))
        elif isinstance(item, list):
            stack.extend((field, child) for child in item)
        elif isinstance(item, str):
            _check_string(field, item)


def _check_string(field, text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = text[error.start]
        raise _BadRecord(f"field {field!r} holds a lone surrogate (\\u{ord(bad):04x}), which is "
                         "not valid Unicode text") from None


def _json_type(value):
    return {bool: "boolean", int: "number", float: "number", list: "list",
            dict: "object"}.get(type(value), type(value).__name__)


def tokenized_records(numbered_lines, path, input_format):
    """TokenizedRecords from CoNLL / CoNLL-U, one per sentence; a malformed sentence -> DeadLetter.

    Lines are grouped into blank-line separated blocks here and each block is parsed on its
    own by the corpus readers, so one bad block costs only its own sentence. If the file is
    damaged, the sentence being read there is reported with the damage, not tagged half.
    """
    block = []
    try:
        for number, raw in numbered_lines:
            raw = _strip_newline(raw, number)
            if raw.strip() and not (input_format == "conll" and raw.startswith(b"-DOCSTART-")):
                block.append((number, raw))
                continue
            yield from _block_records(block, path, input_format)
            block = []
    except DamagedInput as damage:
        damage.pending = block
        raise
    yield from _block_records(block, path, input_format)


def _block_records(block, path, input_format):
    if not block:
        return
    try:
        if input_format == "conllu":
            sentences = list(parse_conllu_lines(block, path))
        else:
            sentences = _conll_block_sentences(block, path)
    except InputFormatError as error:
        raw = "\n".join(raw_text(line) for _, line in block)
        yield DeadLetter(f"{path}:{block[0][0]}", one_line(str(error)), raw, "decode")
        return
    except Exception as error:  # noqa: BLE001  (one sentence's failure must not fail the job)
        raw = "\n".join(raw_text(line) for _, line in block)
        yield DeadLetter(f"{path}:{block[0][0]}", one_line(f"cannot read the sentence: {error!r}"),
                         raw, "decode")
        return
    for sentence in sentences:
        yield TokenizedRecord.from_tokens(sentence.sent_id, sentence.tokens,
                                          source=f"{path}:{sentence.line}")


def _conll_block_sentences(block, path):
    """A CoNLL block's sentence; leading comment lines (beamtagger's own ``# id = ...``) are
    skipped, and a block of comments only is an empty record when it names an id."""
    comments, tokens = split_conll_comments(block)
    sent_id = conll_comment_id(comments, path)
    if not tokens:
        if sent_id is None:
            return []
        return [_TokenOnly(sent_id, (), block[0][0])]
    if _is_token_only(tokens):
        sentence = _token_only_sentence(tokens, path)
    else:
        sentence = next(iter(parse_conll_lines(tokens, path)))
    if sent_id is not None:
        sentence = _TokenOnly(sent_id, tuple(sentence.tokens), sentence.line)
    return [sentence]


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
