"""TSV (and CSV) files read in byte ranges: the header each range needs, read once per file per
worker.

A TSV row is one line (quotes are text, ``csv_rows``), so a TSV file splits at line starts as
a text file does (``byte_ranges``); a CSV file does not (a quoted field may hold line ends).
What a range that does not start the file lacks is the header: the file's first line that is
not blank names the columns. ``TsvHeaders`` reads it from the file's start once per file in
each worker (a DoFn instance), at most ``csv_rows.MAX_ROW_CHARS`` bytes of it, as csv_rows
bounds a row; every range then checks, on its own open file, that the header's bytes are still
there, so a file rewritten with other columns after a worker read its header is a dead letter
for that worker's later ranges, never rows under the wrong column names. Rows are located by
byte offset as text lines in ranges are: a record without an id is ``<file name>:@<byte>``,
its ``source`` ``<path>:@<byte>``; the header's own dead letter (no text column...) names its
line, ``<path>:<line>``, as a file read whole does. CSV ranges (``csv_ranges``) keep their
headers and read their rows here too, each range starting where a row starts.
"""
import collections
from typing import NamedTuple, Optional

from beamtagger.transforms.reading import csv_rows
from beamtagger.transforms.reading.decoded_lines import is_utf8, transcoded_line
from beamtagger.transforms.reading.file_lines import first_bytes_opener
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.reading.record_parsers import path_text
from beamtagger.transforms.records import DeadLetter, raw_text

__all__ = ["KeptHeaders", "RangeHeader", "TsvHeaders", "header_range_records",
           "read_tsv_header"]

_BOM = b"\xef\xbb\xbf"
# Headers kept by one worker: a pattern of many large TSV files has each file's ranges spread
# over the workers in no order, and a header costs a read from the file's start.
_KEPT_HEADERS = 64


class RangeHeader(NamedTuple):
    """Where a TSV or CSV file's header is (from ``start``, its rows from ``end``), its bytes as
    they are in the file, what it says (``csv_rows.Header``; None: the file has no line that is
    not blank, so no rows) and the delimiter of its rows (None: the tab)."""
    start: int
    end: int
    raw: bytes
    header: Optional[csv_rows.Header]
    delimiter: Optional[str] = None


def read_tsv_header(path, layout=RecordLayout()):
    """The RangeHeader of an uncompressed TSV file in an encoding that reads line by line,
    reading at most ``csv_rows.MAX_ROW_CHARS`` bytes of its header line."""
    transcode = not is_utf8(layout.encoding)
    with first_bytes_opener(path)() as handle:
        number = position = 0
        while True:
            raw = handle.readline(csv_rows.MAX_ROW_CHARS + 1)
            if not raw:
                return RangeHeader(position, position, b"", None)
            number += 1
            start, position = position, position + len(raw)
            if len(raw) > csv_rows.MAX_ROW_CHARS:
                # Cut by the bound: read as a row, the cut line would be a header of the
                # wrong columns.
                return RangeHeader(start, position, raw, csv_rows.Header(number, None, DeadLetter(
                    f"{path_text(str(path))}:{number}",
                    f"the header row holds more than {csv_rows.MAX_ROW_CHARS:,} bytes; none "
                    "of its rows was read", raw_text(raw[:1000]), "read")))
            line = transcoded_line(raw, layout.encoding) if transcode else raw
            if number == 1 and line.startswith(_BOM):
                line = line[len(_BOM):]
            header = csv_rows.tsv_header([(number, line)], path, layout)
            if header is not None:
                return RangeHeader(start, position, raw, header)


class KeptHeaders:
    """The RangeHeader of each file a worker reads ranges of, read once (the last
    ``_KEPT_HEADERS`` files) by ``read_header(path, layout)``."""

    def __init__(self, read_header):
        self._read_header = read_header
        self._kept = collections.OrderedDict()

    def of(self, path, layout):
        key = (path, layout)
        found = self._kept.get(key)
        if found is None:
            found = self._kept[key] = self._read_header(path, layout)
            if len(self._kept) > _KEPT_HEADERS:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(key)
        return found


class TsvHeaders(KeptHeaders):
    """The RangeHeaders of the TSV files a worker reads ranges of (``read_tsv_header``)."""

    def __init__(self):
        super().__init__(read_tsv_header)


def header_range_records(lines, tracker, found, path, layout=RecordLayout(),
                         input_format="tsv", starts_row=None):
    """Records and DeadLetters of the rows of a byte range's ``("@<byte>", line)`` ``lines``
    (``byte_ranges.claimed_lines``, which checked that the file still holds ``found``'s header
    bytes) under the header ``found``, a RangeHeader: lines up to the header's end are no
    rows; a header that makes the file one dead letter yields it from the range that claims
    the header's line, and the other ranges read nothing. ``starts_row``: what claims each
    row's start where the lines are not claimed one by one (CSV: ``csv_rows.header_records``)."""
    header = found.header
    if header is not None and header.dead_letter is not None:
        for locator, _ in lines:
            if int(locator[1:]) >= found.start:
                if int(locator[1:]) == found.start:
                    yield header.dead_letter
                # The rest of the range holds rows no header names: Beam requires every
                # range to be claimed to its end.
                tracker.try_claim(tracker.current_restriction().stop)
                return
        return
    rows = ((locator, raw) for locator, raw in lines if int(locator[1:]) >= found.end)
    if header is None:
        yield from _rows_without_header(rows, tracker, path)
        return
    yield from csv_rows.header_records(header, rows, path, layout, input_format, found.delimiter,
                                       starts_row)


def _rows_without_header(lines, tracker, path):
    """Nothing for blank lines; a line that is not blank, in a file that was blank to its end
    when its header was read, was written since: one dead letter, not rows without columns."""
    for locator, raw in lines:
        if raw.strip(b"\r\n"):
            tracker.try_claim(tracker.current_restriction().stop)
            yield DeadLetter(f"{path_text(str(path))}:{locator}",
                             "the file had no header (only blank lines) when this worker read "
                             "it, and holds rows now (it was rewritten while read): the rows "
                             "of this range were not read", raw_text(raw), "read")
            return
