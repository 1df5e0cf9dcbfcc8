"""FileLines: one file's ``(line number, bytes)``, ending in DamagedInput where it cannot go on.

``.gz`` and ``.bz2`` are read with Python's own decompressors, which raise on a truncated or
corrupt stream where Beam's reader ends a truncated ``.gz`` silently with its half last line.
"""
import bz2
import gzip
import posixpath

from apache_beam.io.filesystem import CompressionTypes

from beamtagger.transforms.records import DeadLetter, raw_text

__all__ = ["DamagedInput", "FileLines", "is_compressed"]


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


def is_compressed(path):
    """Whether FileLines decompresses ``path``: by its extension, as Beam's FileSystems, and
    ``.gzip``, which Beam does not know (read as bytes, a large one was cut into byte ranges of
    compressed data and its lines tagged as text)."""
    return (_extension(path) in _DECOMPRESSORS
            or CompressionTypes.detect_compression_type(path) != CompressionTypes.UNCOMPRESSED)


def _extension(path):
    return posixpath.splitext(str(path).lower())[1]


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
        decompressor = _DECOMPRESSORS.get(_extension(self.path))
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
