"""CSV files read in byte ranges that start where rows start, found by one scan of the file.

A quoted field may hold line ends, so a line start is not sure to start a row, and whether it
does depends on every quote before it: a quote-parity count of the bytes is fast but wrong for
Python's csv, which reads a quote inside an unquoted field (``a,5" screen,b``) as text, and
for this reader's stray and unclosed quotes (``csv_rows``: a row they break is a dead letter
of its first line, and the lines after it are read again). So ``row_ranges``, the restriction
provider's initial split (``byte_ranges.ReadRecordsInRanges.split``, on the worker that lists
the file, before Beam's shuffle spreads the ranges), runs Python's csv over the file once,
from its header's end, and ends each range where the first row starting at or after its
nominal end (every ``split_bytes``) starts: what every range reads is then what reading the
file whole reads there. The scan keeps nothing of the rows: ``csv.reader`` over the file's
lines, counting each row's bytes): 2.4% of the CPU of the one-worker
Beam read stage it spreads, about 40% of ``csv_rows`` reading the file whole without Beam
(BENCHMARKS.md, "One large CSV read in byte ranges"). Where that reader fails on a row, or a
row holds more bytes than ``csv_rows.MAX_ROW_CHARS`` lets a row hold characters, the row is
read again as the whole file's reading reads it (``csv_rows.first_row_lines``), and the scan
goes on after it: the scan holds at most a row, as reading the file whole does.

A range claims the start of each row (``csv_rows.header_records``' ``starts_row``) and reads
its last row to its end, past the range's stop; Beam's dynamic splitting of a running range
is refused (``RowStartTracker``): a row start after the split point is known only where the
reading reaches it. Rows are located by byte offset, as TSV rows in ranges are
(``tsv_ranges``): a record without an id is ``<file name>:@<byte>``, the byte where its row
starts; the header's and Excel's ``sep=`` line's dead letters name their lines,
``<path>:<line>``, as reading the file whole does. A file whose rows cannot be read (no text
column, a ``sep=`` line naming no delimiter...), or not in the encoding it is read in (UTF-16
read as UTF-8), is one range: its one dead letter. Files that cannot be split (compressed, at
most ``split_bytes``, in an encoding whose bytes 0A or 22 may be part of another character:
UTF-16, UTF-32) are read whole (``byte_ranges.is_splittable``).
"""
import csv
import functools

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker

from beamtagger.text_encodings import ENCODING_SAMPLE_BYTES, other_encoding
from beamtagger.transforms.reading import csv_rows
from beamtagger.transforms.reading.decoded_lines import UTF8, is_utf8, transcoded_line
from beamtagger.transforms.reading.file_lines import first_bytes_opener
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.reading.tsv_ranges import KeptHeaders, RangeHeader
from beamtagger.transforms.remote_paths import not_found

__all__ = ["CsvHeaders", "RowStartTracker", "read_csv_header", "row_ranges"]

# A line in another encoding than UTF-8 reads as up to 3 characters a byte where its bytes do
# not decode (``decoded_lines``: U+DC00 + byte, 3 bytes of UTF-8 read back as 3 escapes).
_CHARS_PER_BYTE_TRANSCODED = 3


def read_csv_header(path, layout=RecordLayout(), delimiter=None):
    """The RangeHeader of an uncompressed CSV file in an encoding that reads line by line:
    from its first byte (an Excel ``sep=`` line, blank lines) to its header row's end, read
    as ``csv_rows.csv_records`` reads it (a row of at most ``csv_rows.MAX_ROW_CHARS``)."""
    with first_bytes_opener(path)() as handle:
        lines = _CountedLines(handle, layout.encoding)
        head = csv_rows.csv_head(lines, path, layout, delimiter)
        if head.header is None:
            return RangeHeader(lines.position, lines.position, b"", None, head.delimiter)
        handle.seek(0)
        return RangeHeader(0, lines.position, handle.read(lines.position), head.header,
                           head.delimiter)


class CsvHeaders(KeptHeaders):
    """The RangeHeaders of the CSV files a worker reads ranges of (``read_csv_header``),
    their rows split at ``delimiter`` (None: "," or their ``sep=`` line's)."""

    def __init__(self, delimiter=None):
        super().__init__(functools.partial(_read_header, delimiter=delimiter))


def _read_header(path, layout, delimiter):
    return read_csv_header(path, layout, delimiter)


class _CountedLines:
    """``(number, bytes)`` of a file's lines from its first, as ``file_lines.FileLines`` gives
    them (UTF-8), and ``position``: the byte where the line after the last one given starts."""

    def __init__(self, handle, encoding):
        self._handle, self._encoding = handle, encoding
        self.position = 0

    def __iter__(self):
        transcode = not is_utf8(self._encoding)
        for number, raw in enumerate(iter(self._handle.readline, b""), 1):
            self.position += len(raw)
            yield number, transcoded_line(raw, self._encoding) if transcode else raw


def row_ranges(path, restriction, split_bytes, layout=RecordLayout(), delimiter=None):
    """OffsetRanges covering ``restriction`` (an OffsetRange of the file ``path``), each
    ending where the first row that starts at or after every ``split_bytes`` starts (the
    module docstring says how); ``[restriction]`` where the file is no rows (a header that
    cannot be read, another encoding, a file that cannot be opened or is gone from its remote
    file system: its reading says why)."""
    start, stop = restriction.start, restriction.stop
    try:
        found = read_csv_header(path, layout, delimiter)
        if found.header is None or found.header.dead_letter is not None:
            return [restriction]
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            if other_encoding(handle.read(ENCODING_SAMPLE_BYTES)) is not None:
                return [restriction]
            ends = _row_starts(handle, found.end, range(start + split_bytes, stop, split_bytes),
                               found.delimiter, layout.encoding)
    except Exception as error:  # noqa: BLE001  (each file system raises its own)
        if not isinstance(error, OSError) and not not_found(error):
            raise
        return [restriction]
    bounds = [start, *sorted({end for end in ends if start < end < stop}), stop]
    return [OffsetRange(first, last) for first, last in zip(bounds, bounds[1:])]


def _row_starts(handle, position, targets, delimiter, encoding=UTF8):
    """For each byte offset of ``targets`` (increasing), the first byte at or after it where a
    row of the file ``handle`` starts, reading its rows from ``position`` (a row's start)."""
    csv_rows.allow_fields_of_a_row()
    decode = (functools.partial(str, encoding=UTF8, errors="surrogateescape")
              if is_utf8(encoding) else functools.partial(_transcoded_text, encoding=encoding))
    longest = csv_rows.MAX_ROW_CHARS // (1 if is_utf8(encoding) else _CHARS_PER_BYTE_TRANSCODED)
    starts, pending = [], iter(targets)
    target = next(pending, None)
    held = 0  # bytes of the row being read, which csv.reader holds

    def texts():
        nonlocal held
        for raw in iter(handle.readline, b""):
            held += len(raw)
            if held > longest:
                # May be more characters than a row holds: read as csv_rows does. Checked
                # line by line, as a row of many short quoted fields over many lines passes
                # csv's field limit and would be held whole (1.2 MB for a 1 MB row).
                raise _LongRow()
            yield decode(raw)

    while target is not None:
        handle.seek(position)
        held = 0
        try:
            for _ in csv.reader(texts(), delimiter=delimiter, strict=True):
                position += held
                held = 0
                while target is not None and position >= target:
                    starts.append(position)
                    target = next(pending, None)
                if target is None:
                    return starts
            return starts
        except (csv.Error, _LongRow):
            pass
        position = _after_row(handle, position, delimiter, encoding)
        while target is not None and position >= target:
            starts.append(position)
            target = next(pending, None)
    return starts


class _LongRow(Exception):
    """Raised into the scan's csv.reader when a row may hold more than MAX_ROW_CHARS."""


def _transcoded_text(raw, encoding):
    """A line in ``encoding`` as ``csv_rows`` reads it (after ``decoded_lines``)."""
    return transcoded_line(raw, encoding).decode(UTF8, "surrogateescape")


def _after_row(handle, position, delimiter, encoding):
    """Where the row after the one that starts at ``position`` starts, as ``csv_rows`` reads
    the rows (``first_row_lines``)."""
    handle.seek(position)
    starts = [position]  # of each line read, and of the line after the last

    def lines():
        transcode = not is_utf8(encoding)
        for raw in iter(handle.readline, b""):
            starts.append(starts[-1] + len(raw))
            yield f"@{starts[-2]}", transcoded_line(raw, encoding) if transcode else raw

    return starts[csv_rows.first_row_lines(lines(), delimiter, encoding)]


class RowStartTracker(OffsetRestrictionTracker):
    """An OffsetRestrictionTracker of a CSV byte range, whose claims are row starts: never
    split while its range is read, as a split point would start a range mid-row (a row start
    after it is known only where the reading reaches it). Its ranges are about
    ``split_bytes`` from the start (``row_ranges``)."""

    def try_split(self, fraction_of_remainder):
        return None
