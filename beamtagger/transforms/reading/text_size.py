"""How many bytes of text a local run's input holds, its compressed files read where the
runtime choice hinges on them.

``runtime_choice.input_text_bytes`` counts a compressed file at COMPRESSED_TEXT_FACTOR times
its size, from the listing alone. Small files compress far less than that (a 150-byte message
gzips to about 130 bytes: gzip's header and trailer), so a folder of a day's small ``.gz``
exports counted as 4x went to TensorFlow, whose start-up alone took longer than NumPy took for
the whole folder. Where the factor puts the input over the small-input bound, the local
compressed files are decompressed and counted instead: all of them, or the largest half of
MEASURED_FILES and an even sample of the others, whose ratio of text to compressed bytes
stands for the ones not read, the counting
stopped as soon as the text passes the bound. Remote files (``gs://``) keep the factor: a
request a file at launch costs more than the choice saves, and Parquet keeps it too (its
column chunks are encoded, not text).

The compressed bytes read at launch are bounded too (``compressed_read_budget``, in all and so
in each file): text never compresses to much more than itself, so honest files pass the bound
in text before they reach it in compressed bytes, where a corrupt or hostile one (20 MB of
zeros named ``.xz``: xz's stream padding, decoded as no text at all) was read to its end
(58 ms a MB); now 5 MB at most (0.21x the time for those 20 MB, 4 rounds side by side). A
budget spent keeps the factor, as a file that cannot be read does; either one's reading in the
pipeline makes it a dead letter ("the file is damaged before its first line"), as for any
damaged compressed file, not a refusal at launch.
"""
import io
import os
import stat
from typing import Iterable, Optional

from beamtagger.runtime_choice import (COMPRESSED_TEXT_FACTOR, SMALL_INPUT_BYTES,
                                       input_text_bytes)
from beamtagger.transforms.reading.file_lines import FileLines, first_bytes_opener, is_compressed

__all__ = ["MEASURED_FILES", "compressed_read_budget", "text_bytes"]

# Compressed files decompressed at most at launch: 256 small files open and decompress in about
# 0.05 s here; the largest 128 are counted exactly and an even sample of 128 stands for the rest.
MEASURED_FILES = 256
# Compressed bytes allowed a file above its text: its framing (gzip 18 bytes and its name, xz 60
# or so, bzip2 and zstd less). Text that compresses to more than itself (random bytes) grows by
# under 1/64 (bzip2 about 0.5%, the others 0.1% or less).
_FRAMING_BYTES = 4 << 10


def compressed_read_budget(enough: int = SMALL_INPUT_BYTES, files: int = 1) -> int:
    """The compressed bytes ``text_bytes`` reads at most, in all of its ``files`` (those it
    decompresses): where honest text compressed that much has passed ``enough``."""
    return enough + enough // 64 + _FRAMING_BYTES * files


def text_bytes(files: Iterable, input_format: Optional[str] = None,
               enough: int = SMALL_INPUT_BYTES) -> int:
    """``input_text_bytes`` of ``files`` ((path, size) pairs), with local compressed files
    counted by decompressing them where the factor alone would put the total over ``enough``
    (at most ``enough`` + 64 KiB of text read a file, and ``compressed_read_budget``
    compressed bytes in all; a file that cannot be read keeps the factor, and its reading
    makes it a dead letter; a budget spent keeps the factor for all)."""
    files = [(str(path), int(size or 0)) for path, size in files]
    estimate = input_text_bytes(files, input_format)
    if estimate <= enough or input_format == "parquet":
        return estimate
    # Sorted: the even sample is the same files whatever order the filesystem lists them in.
    local = sorted((path, size) for path, size in files
                   if is_compressed(path) and "://" not in path)
    if not local:
        return estimate
    local_paths = {path for path, _ in local}
    counted = input_text_bytes([(path, size) for path, size in files if path not in local_paths])
    if counted > enough:
        return estimate
    exact, sampled, rest = _measured(local)
    in_sample = set(sampled)
    text, sampled_text, sampled_size = 0, 0, 0
    budget = _ReadBudget(compressed_read_budget(enough, len(exact) + len(sampled)))
    for path, size in exact + sampled:
        measured = (FileLines(path, budget.opener(path)).text_size(enough - counted - text)
                    if _regular_file(path) else None)
        if budget.spent:
            return max(estimate, counted + text)
        if measured is None:
            measured = size * COMPRESSED_TEXT_FACTOR
        text += measured
        if counted + text > enough:
            return max(estimate, counted + text)
        if (path, size) in in_sample:
            sampled_text, sampled_size = sampled_text + measured, sampled_size + size
    if not rest:
        return counted + text
    ratio = sampled_text / sampled_size if sampled_size else COMPRESSED_TEXT_FACTOR
    return counted + (text - sampled_text) + round(ratio * sum(size for _, size in rest))


def _measured(local):
    """(files counted exactly, an even sample of the rest, the rest) of ``local`` (sorted by
    path): all of them where they are at most MEASURED_FILES; else the largest half of
    MEASURED_FILES exactly, the sample's ratio standing for the rest. A few large exports
    among many one-message files hold most of the text and compress several times better, so
    an even sample of all, which missed them, took the small files' ratio (about 1) for
    theirs."""
    if len(local) <= MEASURED_FILES:
        return local, [], []
    largest = MEASURED_FILES // 2
    by_size = sorted(local, key=lambda item: (-item[1], item[0]))
    rest = sorted(by_size[largest:])
    count = MEASURED_FILES - largest
    return by_size[:largest], [rest[index * len(rest) // count] for index in range(count)], rest


def _regular_file(path):
    """Whether ``path`` is a regular file: a FIFO named x.gz blocks its open until something
    writes to it, and /dev/zero linked as x.xz decompresses as empty streams forever, so
    either hung the launch. Like a file that cannot be read, they keep the factor."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


class _ReadBudget:
    """Compressed bytes still to be read at launch, shared by the files' readers
    (``opener``): a reader past it raises, and ``spent`` says so."""

    def __init__(self, left):
        self.left, self.spent = left, False

    def opener(self, path):
        open_raw = first_bytes_opener(path)
        return lambda: _BudgetedReader(open_raw(), self)


class _BudgetedReader(io.RawIOBase):
    """``raw``'s bytes, up to what ``budget`` has left."""

    def __init__(self, raw, budget):
        super().__init__()
        self._raw, self._budget = raw, budget

    def readable(self):
        return True

    def readinto(self, buffer):
        if self._budget.left <= 0:
            self._budget.spent = True
            raise OSError("the compressed bytes read at launch reached their bound")
        data = self._raw.read(min(len(buffer), self._budget.left))
        self._budget.left -= len(data)
        buffer[:len(data)] = data
        return len(data)

    def close(self):
        self._raw.close()
        super().close()
