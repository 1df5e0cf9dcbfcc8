"""Reading text, JSON Lines, TSV and CSV files in parallel byte ranges (a splittable DoFn).

A file of more than ``split_bytes`` bytes (uncompressed) is cut into byte ranges of about that
size (an ``OffsetRange`` restriction); the runner hands the ranges to different workers (Beam
puts a shuffle between splitting and reading) and may split them further while they run
(Dataflow's dynamic work rebalancing). A line belongs to the range holding its first byte: a
reader starting inside a line skips to the next line start, and reads past its range's end to
finish its last line, so every line is read exactly once.

Where a record came from: nobody knows line numbers in the middle of a file without reading
what comes before, so records of a split file are located by byte offset,
``<path>:@<offset>`` (``tail -c +<offset + 1> <path> | head -1`` shows the line). Files read
whole (at most ``split_bytes``, or compressed, which cannot be entered in the middle, or in an
encoding whose bytes 0A are not all newlines: UTF-16, UTF-32, ``decoded_lines``) keep
``<path>:<line>``. A file in another encoding whose 0A is always a newline (cp1252, Shift-JIS)
is split as a UTF-8 one: its offsets count the file's bytes, its lines are decoded one by one.
A TSV file's ranges take their columns from its header line (``tsv_ranges``). A CSV file's
ranges start where rows start, found by one scan of the file with Python's csv when the ranges
are made (a quoted field may hold line ends, so no line start is sure to start a row:
``csv_ranges``); a range claims row starts, not line starts, and reads its last row to its end.
"""
import codecs

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.transforms.core import RestrictionProvider

from beamtagger.transforms.blocks import reader_outputs
from beamtagger.transforms.remote_paths import not_found
from beamtagger.transforms.reading.decoded_lines import (UTF8, is_utf8, reads_line_by_line,
                                                         transcoded_line)
from beamtagger.transforms.reading.file_lines import (ENCODING_SAMPLE_BYTES, GONE_REMOTE,
                                                      DamagedInput, FileLines, UnreadableInput,
                                                      first_bytes_opener, is_compressed,
                                                      not_utf8, why_not_opened)
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.reading.csv_ranges import CsvHeaders, RowStartTracker, row_ranges
from beamtagger.transforms.reading.csv_rows import CSV_FORMATS, read_csv_records
from beamtagger.transforms.reading.partition_fields import (PartitionProblem, file_partitions,
                                                            unread_file, with_partition_fields)
from beamtagger.transforms.reading.record_parsers import parse_records, read_file_records
from beamtagger.transforms.reading.tsv_ranges import TsvHeaders, header_range_records

__all__ = ["DEFAULT_SPLIT_BYTES", "ReadRecordsInRanges", "SPLITTABLE_FORMATS", "is_splittable",
           "range_records"]

# Beam's own default for splitting text sources is 64 MiB bundles; a range much smaller than
# that costs more in per-bundle overhead than it gains in parallelism.
DEFAULT_SPLIT_BYTES = 64 << 20
SPLITTABLE_FORMATS = ("text", "jsonl", "tsv", "csv")
_BOM = b"\xef\xbb\xbf"
# A file read whole is the restriction [-1, 0), which no byte range equals: its single claim
# (of -1) covers every line.
_WHOLE = OffsetRange(-1, 0)


def is_splittable(path, size, split_bytes, encoding=UTF8):
    """True for an uncompressed file larger than ``split_bytes`` in an encoding whose bytes 0A
    are all newlines (``decoded_lines.reads_line_by_line``)."""
    return (not is_compressed(path) and size > split_bytes
            and reads_line_by_line(encoding))


class ReadRecordsInRanges(beam.DoFn, RestrictionProvider):
    """FileMetadata -> records and dead letters (``record_parsers.parse_records``) of every line
    (CSV: row) it claims; the DoFn is its own restriction provider (byte ranges of
    ``split_bytes``; CSV: ending where rows start, ``csv_ranges``).

    Args:
      input_format: "text", "jsonl", "tsv" or "csv" (``SPLITTABLE_FORMATS``).
      layout: what makes a record of a line (``RecordLayout``).
      split_bytes: uncompressed files larger than this are read in ranges of about this size.
      blocks: yield lists of records (``blocks.in_blocks``) instead of single records.
      delimiter: "csv" only: the one character between cells (None: "," or the file's Excel
        ``sep=`` line's, ``csv_rows``).
    """

    def __init__(self, input_format, layout=RecordLayout(), split_bytes=DEFAULT_SPLIT_BYTES,
                 blocks=False, delimiter=None):
        if input_format not in SPLITTABLE_FORMATS:
            raise ValueError(f"byte ranges split only {SPLITTABLE_FORMATS}, not {input_format!r}")
        if split_bytes < 1:
            raise ValueError(f"split_bytes must be at least 1, not {split_bytes}")
        self.input_format = input_format
        self.layout = layout
        self.split_bytes = split_bytes
        self.blocks = blocks
        self.delimiter = delimiter
        self._headers = None  # per DoFn instance (a worker's), made where it runs

    def process(self, metadata, tracker=beam.DoFn.RestrictionParam()):
        path = metadata.path
        try:
            partitions, layout = file_partitions(path, self.layout)
        except PartitionProblem as problem:
            # One dead letter for the file, from the range that starts it.
            first = tracker.current_restriction().start <= 0
            _claim_the_rest(tracker)
            if first:
                yield from reader_outputs([unread_file(path, problem)], self.blocks)
            return
        items = self._items(path, tracker, layout)
        if partitions:
            items = with_partition_fields(items, partitions, self.layout.fields)
        # Blocks may gather lines across claims: whatever this call yields belongs to the
        # restriction it has claimed, however the runner splits the rest off.
        yield from reader_outputs(items, self.blocks)

    def _items(self, path, tracker, layout):
        if tracker.current_restriction() == _WHOLE:
            if not tracker.try_claim(-1):
                return ()
            # Whole files go through FileLines, which turns a damaged compressed
            # stream into one dead letter instead of a silently cut last line.
            lines = FileLines(path, lambda: FileSystems.open(
                path, compression_type=CompressionTypes.UNCOMPRESSED), layout.encoding)
            if self.input_format in CSV_FORMATS:
                return read_csv_records(lines, self.input_format, layout, self.delimiter)
            return read_file_records(lines, self.input_format, layout)
        if self._headers is None:
            self._headers = _range_headers(self.input_format, self.delimiter)
        return range_records(path, tracker, self.input_format, layout, self._headers,
                             self.delimiter)

    # RestrictionProvider
    def initial_restriction(self, metadata):
        if is_splittable(metadata.path, metadata.size_in_bytes, self.split_bytes,
                         self.layout.encoding):
            return OffsetRange(0, metadata.size_in_bytes)
        return _WHOLE

    def create_tracker(self, restriction):
        if self.input_format == "csv":
            return RowStartTracker(restriction)
        return OffsetRestrictionTracker(restriction)

    def split(self, metadata, restriction):
        if restriction == _WHOLE:
            yield restriction
            return
        if self.input_format == "csv":
            try:
                layout = file_partitions(metadata.path, self.layout)[1]
            except PartitionProblem:  # one dead letter, from one range (process)
                yield restriction
                return
            # One scan of the file (csv_ranges), on the worker that lists it.
            yield from row_ranges(metadata.path, restriction, self.split_bytes, layout,
                                  self.delimiter)
            return
        yield from restriction.split(self.split_bytes)

    def restriction_size(self, metadata, restriction):
        return metadata.size_in_bytes if restriction == _WHOLE else restriction.size()


def _range_headers(input_format, delimiter=None):
    """What keeps the headers of a format's files for their ranges (``tsv_ranges``)."""
    return CsvHeaders(delimiter) if input_format == "csv" else TsvHeaders()


def range_records(path, tracker, input_format, layout=RecordLayout(), headers=None,
                  delimiter=None):
    """Records and DeadLetters (``record_parsers.parse_records``, or TSV or CSV rows under the
    file's header: ``tsv_ranges``, its header from ``headers``, a TsvHeaders or CsvHeaders)
    made as ``layout`` says of the lines (CSV: rows) of a byte range that the tracker lets
    this reader claim; a file in UTF-16 or UTF-32, or that ends before the range does,
    becomes one dead letter. A CSV range must start where a row starts (``csv_ranges``)."""
    try:
        if input_format in CSV_FORMATS:
            try:
                found = (headers or _range_headers(input_format, delimiter)).of(path, layout)
            except Exception as error:  # noqa: BLE001  (_not_opened raises again all but a few)
                raise _not_opened(path, tracker, error) from None
            if input_format == "tsv":
                lines = claimed_lines(path, tracker, layout.encoding, found)
                yield from header_range_records(lines, tracker, found, path, layout)
                return
            tracker = _RowClaims(tracker, path)
            lines = claimed_lines(path, tracker, layout.encoding, found, claim_each_line=False)
            yield from header_range_records(lines, tracker, found, path, layout, "csv",
                                            tracker.starts_row)
            _claim_the_rest(tracker)
            return
        yield from parse_records(claimed_lines(path, tracker, layout.encoding), path,
                                 input_format, layout.text_field, layout.id_field,
                                 fields=layout.fields, id_folder=layout.id_folder,
                                 encoding=layout.encoding)
    except DamagedInput as damage:
        yield damage.dead_letter()


def claimed_lines(path, tracker, encoding=UTF8, header=None, claim_each_line=True):
    """``("@<byte offset>", line)`` of every line of a byte range whose first byte the tracker
    lets this reader claim, as UTF-8 (``encoding``: the file's, one that
    ``decoded_lines.reads_line_by_line``). Raises UnreadableInput for a file in UTF-16 or
    UTF-32 (from its first range; the others read nothing), for a file that ends inside the
    range (it was cut or rewritten since it was listed), for one that no longer holds the
    bytes of ``header`` (a ``tsv_ranges.RangeHeader``, read before) where they were, and for
    one that cannot be opened or is gone from its remote file system (``_not_opened``) since
    it was listed. ``claim_each_line`` False: every line from the range's start to the file's
    end, their reader claiming what it reads (CSV rows); the file's end is claimed."""
    transcode = not is_utf8(encoding)
    restriction = tracker.current_restriction()
    position = read_to = restriction.start  # read_to: the first byte not handed out yet
    try:
        opened = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    except Exception as error:  # noqa: BLE001  (_not_opened raises again all but a few)
        raise _not_opened(path, tracker, error) from None
    try:
        with opened as handle:
            if header is not None and header.raw:
                _check_header(path, header, tracker)
            first_line = position
            if position > 0:
                # The line holding byte start - 1 belongs to the range before (or ends right
                # there, and this range starts on a line start).
                handle.seek(position - 1)
                skipped = handle.readline()
                if not skipped:
                    # The file now ends before this range: the range holding its new end says
                    # so.
                    _claim_the_rest(tracker)
                    return
                position += len(skipped) - 1
                first_line = position
            while not claim_each_line or tracker.try_claim(position):
                raw = handle.readline()
                if not raw:
                    if not claim_each_line and position >= tracker.current_restriction().stop:
                        return
                    # A range ends at most at the file's size when it was listed: a claimed
                    # position with nothing there means the file got shorter. Without the
                    # claim of the rest, Beam failed the whole run on the unclaimed range.
                    _claim_the_rest(tracker)
                    raise UnreadableInput(
                        path, f"{path}:@{position}",
                        f"the file ends at byte {position:,}, before the end it had when the "
                        f"run listed it (it was cut or rewritten while being read); its lines "
                        f"after byte {position:,} were not read")
                start, position = position, position + len(raw)
                if start == first_line and _not_utf8_file(path, handle, start, position,
                                                          tracker, encoding):
                    return
                if transcode:
                    raw = transcoded_line(raw, encoding)
                if start == 0 and raw.startswith(_BOM):
                    raw = raw[len(_BOM):]  # what record_parsers strips on line 1 of a whole file
                yield f"@{start}", raw
                read_to = position
    except Exception as error:  # noqa: BLE001  (each file system raises its own)
        if not not_found(error):
            raise   # an OSError of a read (EIO) fails the bundle, which Beam retries
        raise _not_opened(path, tracker, error, read_to) from None


def _not_opened(path, tracker, error, read_to=None):
    """The UnreadableInput of a range whose file could not be opened (``error``), its rest
    claimed: an OSError as ``why_not_opened`` words it, a remote object not found
    (``remote_paths.not_found``: Beam's gs:// reader raises the storage client's errors, at
    the open or the first read) as a local file removed; ``read_to``: where the reading
    stopped, past the range's start. ``error`` itself where it is a limit of the machine (out
    of open files) or any other error. A file removed, replaced or made unreadable after the
    run listed it failed the whole run here, where a file read whole is a dead letter."""
    if isinstance(error, OSError):
        unopened = why_not_opened(error)
    else:
        unopened = GONE_REMOTE if not_found(error) else None
    if unopened is None:
        return error
    start, stop = tracker.current_restriction().start, tracker.current_restriction().stop
    start = start if read_to is None else read_to
    _claim_the_rest(tracker)
    lost = (f"its bytes from {start:,} to {stop:,} were not read" if start < stop
            else f"its last row was not read past byte {start:,}")
    return UnreadableInput(path, f"{path}:@{start}", f"{unopened}, so {lost}")


def _check_header(path, header, tracker):
    """Raises UnreadableInput where the file no longer holds ``header``'s bytes: its rows
    would be read under another header's column names. Read apart from the range's own reading
    (``first_bytes_opener``): on gs:// a seek back to the header made Beam's reader fetch its
    16 MiB buffer there, once a range."""
    with first_bytes_opener(path)() as check:
        check.seek(header.start)
        if check.read(len(header.raw)) == header.raw:
            return
    start, stop = tracker.current_restriction().start, tracker.current_restriction().stop
    _claim_the_rest(tracker)
    raise UnreadableInput(
        path, f"{path}:@{start}",
        f"the file's header line (byte {header.start:,}) is not what this worker read there "
        f"before (the file was rewritten while read): its rows from byte {start:,} to "
        f"{stop:,} were not read, rather than read under other columns' names")


def _not_utf8_file(path, handle, start, resume, tracker, encoding=UTF8):
    """Whether the file is in UTF-16 or UTF-32, not ``encoding`` (``file_lines.not_utf8``, from
    its first ENCODING_SAMPLE_BYTES): raised as its one dead letter from its first range, True
    (nothing to read) in the others. Those read the file's first bytes only where their own
    first ENCODING_SAMPLE_BYTES (from ``start``, their first line's) hold a NUL or are not UTF-8
    (are not UTF-8 is no sign in a file read as cp1252), as UTF-16 and UTF-32 do (a read from
    the start of a file on GCS fetches 16 MiB). Their first
    line alone did not tell: a range starts after a byte 0A, which in UTF-16 is not only a
    newline's (上, U+4E0A, is 0A 4E), and Chinese UTF-16 split there began with lines such as
    "Nwm" (上海), which were tagged."""
    handle.seek(start)
    sample = handle.read(ENCODING_SAMPLE_BYTES)
    if start > 0:
        if b"\x00" not in sample and (not is_utf8(encoding) or _starts_utf8(sample)):
            handle.seek(resume)
            return False
        handle.seek(0)
        sample = handle.read(ENCODING_SAMPLE_BYTES)
    other_encoding = not_utf8(path, f"{path}:@0", sample, encoding)
    if other_encoding is None:
        handle.seek(resume)
        return False
    _claim_the_rest(tracker)
    if start == 0:
        raise other_encoding
    return True


def _starts_utf8(sample):
    """Whether ``sample`` is UTF-8 up to a character its end may cut."""
    try:
        codecs.utf_8_decode(sample, "strict", False)
    except UnicodeDecodeError:
        return False
    return True


class _RowClaims:
    """A CSV range's tracker, claimed at each row's start (``starts_row``, given the row's
    ``"@<byte>"``) and then to its end, which rows read again after an unclosed quote (lines
    before the end, ``csv_rows``) or a header that ends the reading may have claimed first."""

    def __init__(self, tracker, path):
        self._tracker = tracker
        self._path = path
        self._last = None

    def current_restriction(self):
        return self._tracker.current_restriction()

    def try_claim(self, position):
        if self._last is not None and position <= self._last:
            return False
        self._last = position
        return self._tracker.try_claim(position)

    def starts_row(self, locator):
        position = int(locator[1:])
        already_read = self._last is not None and position <= self._last
        if self.try_claim(position) or already_read:
            return not already_read
        stop = self._tracker.current_restriction().stop
        if position != stop:
            # The scan ended this range where a row started, and the next range starts there:
            # a row that now runs past it means the file was rewritten since the scan, so the
            # next range starts inside a row and reads its lines as rows of their own. Said,
            # where it would otherwise pass as records and dead letters of a sound file.
            raise UnreadableInput(
                self._path, f"{self._path}:@{stop}",
                f"the file was rewritten while read: its ranges were cut where rows started "
                f"when the run scanned it, and the row before byte {stop:,} now runs to byte "
                f"{position:,}, so the rows read from byte {stop:,} on may be cut in the wrong "
                f"places")
        return False


def _claim_the_rest(tracker):
    """Ends a range early: Beam requires every range to be claimed to its end (check_done)."""
    tracker.try_claim(tracker.current_restriction().stop)
