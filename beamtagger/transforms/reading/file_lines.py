"""FileLines: one file's ``(line number, bytes)``, ending in DamagedInput where it cannot go on.

Compressed files are read with decompressors that raise on a truncated or corrupt stream, where
Beam's reader ends a truncated file silently: a ``.gz`` or ``.deflate`` with its half last line
as a whole record, an ``.xz`` at the last block it decoded, a ``.zst`` with no line at all.
"""
import bz2
import gzip
import io
import itertools
import lzma
import posixpath
import zlib

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from beamtagger.errors import os_error_text, out_of_open_files
from beamtagger.text_encodings import ENCODING_SAMPLE_BYTES, other_encoding
from beamtagger.transforms.reading.decoded_lines import (UTF8, WrongEncoding, is_utf8,
                                                         reads_line_by_line, transcoded_line,
                                                         transcoded_lines)
from beamtagger.transforms.records import DeadLetter, path_text, raw_text
from beamtagger.transforms.remote_paths import not_found

__all__ = ["DamagedInput", "FIRST_BYTES_READ_BUFFER", "FileLines", "GONE_REMOTE",
           "UnreadableInput", "first_bytes_opener", "is_compressed", "not_utf8"]

# A listed gs:// object no longer there (``remote_paths.not_found``): deleted, renamed (copied
# and deleted), or replaced while read (Beam's reader asks for the generation its first
# request found).
GONE_REMOTE = "the file was removed, renamed or replaced after the run listed it"


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
        return DeadLetter(path_text(f"{self.path}:{self.line + 1}"),
                          f"the file is damaged {where}: {self.reason}; records after this point "
                          "were not read", raw, "read")


class UnreadableInput(DamagedInput):
    """The rest of a file, from ``source`` on, that cannot be read as records; its dead letter
    says ``reason`` as the reader words it."""

    def __init__(self, path, source, reason, stage="read"):
        super().__init__(path, 0, 0, reason)
        self.source, self.stage = source, stage

    def dead_letter(self):
        raw = "\n".join(raw_text(line) for _, line in self.pending)
        return DeadLetter(path_text(self.source), self.reason, raw, self.stage)


def not_utf8(path, source, head, encoding=UTF8):
    """UnreadableInput (stage "read": none of the file is read, so its records are unknown,
    ``counters.UNREAD_PARTS``) for a file whose first bytes ``head`` (up to
    ENCODING_SAMPLE_BYTES) are UTF-16 or UTF-32 (``text_encodings``), not ``encoding`` (one
    that ``decoded_lines.reads_line_by_line``), else None."""
    found = other_encoding(head)
    if found is None:
        return None
    read_as = "UTF-8" if is_utf8(encoding) else encoding
    return UnreadableInput(path, source, found.reason(", so none of its lines was read",
                                                      read_as=read_as))


def _zstd_decompressor():
    import zstandard  # Beam's own dependency, imported by Beam only where it reads a .zst

    # Beam's window limit (2 GiB, python-zstandard issue 157), so what Beam reads reads here.
    return zstandard.ZstdDecompressor(max_window_size=1 << 31).decompressobj()


class _CheckedStream(io.RawIOBase):
    """The decompressed bytes of ``raw``, whose streams (one or several, concatenated) must all
    end: EOFError where the file stops inside one. For the compressions whose Python file
    objects do not exist (zstandard) or read concatenated streams as one (zlib)."""

    def __init__(self, raw, new_decompressor):
        super().__init__()
        self._chunks = self._decompressed(raw, new_decompressor)
        self._chunk, self._used = memoryview(b""), 0

    @staticmethod
    def _decompressed(raw, new_decompressor):
        decompressor, fed = new_decompressor(), False
        while True:
            compressed = raw.read(1 << 16)
            if not compressed:
                if fed and not decompressor.eof:
                    raise EOFError("the file ends inside a compressed stream (cut short)")
                return
            while compressed:
                if decompressor.eof:  # the next of concatenated streams
                    decompressor = new_decompressor()
                fed = True
                yield decompressor.decompress(compressed)
                compressed = decompressor.unused_data if decompressor.eof else b""

    def readable(self):
        return True

    def readinto(self, buffer):
        while self._used == len(self._chunk):
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._chunk, self._used = memoryview(chunk), 0
        size = min(len(buffer), len(self._chunk) - self._used)
        buffer[:size] = self._chunk[self._used:self._used + size]
        self._used += size
        return size


def _checked(new_decompressor):
    return lambda raw: io.BufferedReader(_CheckedStream(raw, new_decompressor), 1 << 16)


# Every compression Beam's FileSystems reads by extension (and .gzip), read with decompressors
# that raise on a truncated or corrupt stream (EOFError, BadGzipFile, zlib.error, LZMAError,
# ZstdError, OSError).
_DECOMPRESSORS = {".gz": lambda raw: gzip.GzipFile(fileobj=raw),
                  ".gzip": lambda raw: gzip.GzipFile(fileobj=raw),
                  ".bz2": bz2.BZ2File, ".xz": lzma.LZMAFile, ".lzma": lzma.LZMAFile,
                  # zlib's header, as Beam reads and writes .deflate
                  ".deflate": _checked(zlib.decompressobj),
                  ".zst": _checked(_zstd_decompressor), ".zstd": _checked(_zstd_decompressor)}


def is_compressed(path):
    """Whether FileLines decompresses ``path``: by its extension, as Beam's FileSystems, and
    ``.gzip``, which Beam does not know (read as bytes, a large one was cut into byte ranges of
    compressed data and its lines tagged as text)."""
    return (_extension(path) in _DECOMPRESSORS
            or CompressionTypes.detect_compression_type(path) != CompressionTypes.UNCOMPRESSED)


def _extension(path):
    return posixpath.splitext(str(path).lower())[1]


class FileLines:
    """``(line number, bytes)`` of one file, UTF-8 whatever ``encoding`` it is in
    (``decoded_lines``); raises DamagedInput where it cannot go on.

    A line cut by the damage is never returned: the decompressors raise before handing out
    bytes that have no end-of-stream behind them.
    """

    def __init__(self, path, open_raw, encoding=UTF8):
        self.path = str(path)
        self._open_raw = open_raw
        self.encoding = encoding

    def __iter__(self):
        number, offset = 0, 0
        encoding = self.encoding
        line_by_line = reads_line_by_line(encoding)
        transcode = line_by_line and not is_utf8(encoding)
        try:
            try:
                raw = self._open_raw()
            except OSError as error:
                # Listed, then gone, replaced by a folder or made unreadable before its
                # reading: read as damaged, each was called "damaged before its first line".
                unopened = why_not_opened(error)
                if unopened is None:
                    raise
                raise UnreadableInput(self.path, f"{self.path}:1",
                                      f"{unopened}, so none of its records was read") from None
            with self._open(raw) as handle:
                lines = (iter(handle.readline, b"") if line_by_line
                         else transcoded_lines(handle, encoding))
                head, stopped_by = _first_lines(lines)
                if not head:
                    _check_not_empty(self.path, raw)
                if line_by_line:  # a stream decoder reads UTF-16 as what it is
                    other_encoding = not_utf8(self.path, f"{self.path}:1", b"".join(head),
                                              encoding)
                    if other_encoding is not None:
                        raise other_encoding
                for line in head if stopped_by else itertools.chain(head, lines):
                    number += 1
                    offset += len(line)
                    yield number, transcoded_line(line, encoding) if transcode else line
                if stopped_by is not None:
                    raise stopped_by
        except DamagedInput:
            raise
        except WrongEncoding as wrong:
            raise UnreadableInput(self.path, f"{self.path}:1", str(wrong)) from None
        except Exception as error:  # noqa: BLE001  (every decompressor and filesystem differs)
            if out_of_open_files(error):
                # A limit of the machine, not of this file: its records would be dead letters
                # of a run that exits 0, "damaged before its first line". The run fails instead,
                # and run_failures names the limit.
                raise
            if not_found(error):
                # Beam's gs:// reader raises the storage client's 404 (at 2.77's open, at
                # 2.78's first read), which read "damaged before its first line: NotFound".
                read = (f"its records after line {number:,} were not read" if number
                        else "none of its records was read")
                raise UnreadableInput(self.path, f"{self.path}:{number + 1}",
                                      f"{GONE_REMOTE}, so {read}") from None
            raise DamagedInput(self.path, number, offset,
                               f"{type(error).__name__}: {error}") from None

    def head(self, size):
        """Up to ``size`` first bytes of the file's text (decompressed, not decoded), b""
        where it cannot be read (its reading makes that a dead letter)."""
        try:
            with self._open(self._open_raw()) as handle:
                return handle.read(size)
        except Exception:  # noqa: BLE001  (every decompressor and filesystem differs)
            return b""

    def text_size(self, limit):
        """Bytes of the file's text (decompressed, not decoded), counted up to the first
        block past ``limit``; None where it cannot be read to its end."""
        size = 0
        try:
            with self._open(self._open_raw()) as handle:
                for block in iter(lambda: handle.read(1 << 16), b""):
                    size += len(block)
                    if size > limit:
                        break
        except Exception:  # noqa: BLE001  (every decompressor and filesystem differs)
            return None
        return size

    def _open(self, raw):
        decompressed = _DECOMPRESSORS.get(_extension(self.path))
        if decompressed is not None:
            return _Closing(decompressed(raw), raw)
        if CompressionTypes.detect_compression_type(self.path) != CompressionTypes.UNCOMPRESSED:
            raw.close()
            from apache_beam.io.filesystems import FileSystems
            return FileSystems.open(self.path, compression_type=CompressionTypes.AUTO)
        return raw


def why_not_opened(error):
    """What an OSError of opening a listed file says of it, or None where it is a limit of
    the machine (out of open files: the run fails, and run_failures names the limit)."""
    if isinstance(error, FileNotFoundError):
        return "the file was removed or renamed after the run listed it"
    if isinstance(error, IsADirectoryError):
        return "the file was replaced by a folder after the run listed it"
    if out_of_open_files(error):
        return None
    return f"the file cannot be opened: {os_error_text(error)}"


def _first_lines(lines):
    """The lines holding the first ENCODING_SAMPLE_BYTES bytes (or all, where there are fewer)
    and the error that stopped the reading before that, or None: the lines read before damage
    still come out, as they did before the sample was taken."""
    head, size = [], 0
    try:
        for line in lines:
            head.append(line)
            size += len(line)
            if size >= ENCODING_SAMPLE_BYTES:
                break
    except Exception as error:  # noqa: BLE001  (raised again once the lines before are out)
        return head, error
    return head, None


def _check_not_empty(path, raw):
    """Raises UnreadableInput (stage "read") where ``path`` is compressed and ``raw``, its
    compressed bytes, gave none: a file cut before its first byte (its writer killed).

    Every compression read here writes a header even for no text (gzip 20 bytes, bzip2 14, xz 32,
    lzma 23, zlib 8, zstd 9 or more; Beam's WriteToText of no records too), so a 0-byte one is
    never whole. gzip and the zlib and zstd readers took it for an empty text (0 records, no
    dead letter), bzip2 and xz for a cut one.
    """
    if _extension(path) not in _DECOMPRESSORS:
        return
    try:
        empty = raw.tell() == 0
    except (AttributeError, OSError, ValueError):  # a file system whose files cannot tell
        return
    if empty:
        raise UnreadableInput(
            path, f"{path}:1", f"the file is empty (0 bytes), but a {_extension(path)} file "
            "holds a header even when its text is empty: it was cut before its first byte "
            "(was its writer killed?), so none of its records was read")


class _Closing:
    """A decompressor that closes the raw file under it too."""

    def __init__(self, stream, raw):
        self._stream, self._raw = stream, raw

    def __enter__(self):
        return self._stream

    def __exit__(self, *exc_info):
        self._stream.close()
        self._raw.close()


# What Beam's gs:// reader fetches a request where only the first bytes of a file are read:
# its default buffer (16 MiB, fetched whole at the first read) made tag's encoding warning fetch
# 48 MiB for its 3 x 64 KB, CSV headers 48 MiB more (3 files of 40 MB, GCS emulator), and each
# byte range of a TSV or CSV file 16 MiB for its header check.
FIRST_BYTES_READ_BUFFER = 64 << 10


def first_bytes_opener(path):
    """What opens ``path``'s raw bytes where only its first bytes (or a few) are read: a
    ``gs://`` object through Beam's reader fetching FIRST_BYTES_READ_BUFFER a request, any
    other path as ``FileSystems.open`` does, uncompressed."""
    if not str(path).startswith("gs://"):
        return lambda: FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    from apache_beam.io.gcp.gcsio import GcsIO

    # GcsIO's options where none are given, as FileSystems' before a pipeline is built (the
    # command line's) and on a worker (its environment's credentials).
    return lambda: GcsIO().open(path, "rb", read_buffer_size=FIRST_BYTES_READ_BUFFER)
