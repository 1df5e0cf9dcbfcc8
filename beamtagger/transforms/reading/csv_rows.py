"""CSV and TSV files -> records and dead letters, row by row (Python's ``csv`` module; no Beam).

The first row that is not blank is the header: it names the columns. A record is a later row:
its text from the ``text_field`` column, its id from the ``id_field`` column where the header
has one and the row's cell is not empty, else ``<file name>:<line>``, the line where the row
STARTS (a quoted field may run over several lines; an editor opens the file there); its
``source`` is ``<path>:<line>``. The other columns pass through as string fields (CSV has no
types: an empty cell is ""), or only those ``fields`` names, in that order; a column with an
empty name (the unnamed index column of pandas' ``to_csv``) is not carried. Blank lines are no
rows. A header without the text column, without a column ``fields`` names, or naming a column
that is read twice makes the file one dead letter (stage "read") listing its columns, as a
Parquet file's schema does (``parquet_rows.schema_problem``), and what most likely made a
person's header miss the column (a name that differs in case or spaces, one column holding
another delimiter, Excel's ``sep=;`` line where it is not read as one, lines ended by CR
alone); ``beamtagger tag`` refuses it before launch.

Excel's delimiter line: a CSV file whose first line is ``sep=`` and one character (``sep=;``,
``sep=|``, ``sep=`` and a tab; ``sep`` in any case; after a byte-order mark too) is read with
that delimiter, as Excel is reported to open it (no Microsoft page on the line was found; a
user in CPython issue 109644 reports ``SEP=`` read in any case; the first line only is this
reader's choice, as the reports found show it there), and the line is no
header and no row; it keeps its number, so the header is line 2 and ids and sources name the
lines as an editor does. pandas and Python's csv take the line for a header (pandas issue
47303, CPython issue 109644). A ``sep=`` line naming no character, several (``sep=\\t``, the
two characters, named as such), one that cannot be a delimiter, or another than the one
given (``delimiter``: which of the two a person meant is theirs to say) makes the file one dead
letter (stage "read"), refused before launch. TSV has no delimiter line (its delimiter is the
tab): there the line is the header, and the refusal of its missing text column names it; so
is a CSV ``sep=`` line after the first line, or in quotes (``"sep=;"``, as a CSV writer writes
the line as a row).

CSV is RFC 4180: fields quoted with ``"`` may hold the delimiter, line ends and ``""`` for a
quote; CRLF line ends and a UTF-8 byte-order mark (Excel's "CSV UTF-8") are read. TSV is the
IANA text/tab-separated-values format: a row is a line, cells are split at tabs, and quotes
are text: a TSV cell that starts with ``"`` (a quotation in a corpus line) is read as it is,
where CSV quoting, as pandas and Python's csv read TSV by default, would join it with the
lines after it up to the next quote. A tab-separated file written with CSV quoting (pandas'
``to_csv(sep="\\t")``) is read as CSV with the delimiter tab (``delimiter``).

Each row costs itself only: a row of more or fewer cells than the header, invalid UTF-8, a NUL
byte, a quote followed by something other than a delimiter (``"a"b``) is that row's dead
letter (stage "decode"), and the rows after it are read. A quote that is never closed would
swallow the rest of the file into one row (pyarrow's ``open_csv`` and Python's csv in its
default, lenient mode both do so without a word): the row it opens in runs to the end of the
file or past ``MAX_ROW_CHARS``, and is then one dead letter naming the line where it starts
and how many lines it covered, and the lines after that line are read again as rows of their
own. So a reader holds one row at a time, of at most ``MAX_ROW_CHARS`` characters.

Why Python's csv and not ``pyarrow.csv.open_csv`` (faster, streaming): with
``newlines_in_values`` (quoted line ends) pyarrow reports no row positions (its
``invalid_row_handler`` gets ``number`` None), so rows have no start line; it takes an
unclosed quote's rest of the file for one value without a word (pyarrow 25); and a cell that is
not UTF-8 fails its whole batch. Python's csv, fed one line at a time, gives every row's lines
(so its start line), rejects an unclosed quote at the end of the file (``strict``), and lets
each line be decoded on its own.
"""
import csv
import itertools
import re
from typing import NamedTuple, Optional, Tuple

import pyarrow as pa

from beamtagger.line_ends import CR_LINES as _CR_LINES
from beamtagger.text_encodings import wide_line
from beamtagger.transforms.reading.decoded_lines import UTF8, shown_line, undecodable
from beamtagger.transforms.reading.file_lines import DamagedInput, FileLines
from beamtagger.transforms.reading.parquet_rows import schema_problem
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.reading.record_parsers import file_name, path_text
from beamtagger.transforms.records import DeadLetter, TextRecord, one_line

__all__ = ["CSV_FORMATS", "MAX_ROW_CHARS", "Head", "Header", "allow_fields_of_a_row", "csv_head",
           "csv_records", "delimiter_problem", "file_problem", "first_row_lines", "header_names",
           "header_records", "read_csv_records", "read_path_csv_records", "tsv_header"]

CSV_FORMATS = ("csv", "tsv")
# A row is held whole until it ends: this bounds what an unclosed quote makes a reader hold
# (and read twice, once as the dead letter and once as the rows after its first line). Above
# tagging_defaults.MAX_RECORD_CHARS (10M), so a text the tagger takes is never cut here.
MAX_ROW_CHARS = 64 << 20
_BOM = b"\xef\xbb\xbf"
# What a header of one column holds where the file's delimiter is another (Excel's ';').
_DELIMITERS = ",;\t|"
_SEP_LINE_START = b"sep="
_EXCEL_SEP_LINE = re.compile("sep=.*", re.IGNORECASE | re.DOTALL)
_new_record = tuple.__new__


def _line_name(number):
    """A line as a reason names it: by its number, or, in a byte range (``"@<byte>"``,
    ``byte_ranges``), by the byte it starts at."""
    if isinstance(number, str):
        return f"the line at byte {int(number[1:]):,}"
    return f"line {number:,}"


def allow_fields_of_a_row():
    """Lets Python's csv read a field as long as a row may be: MAX_ROW_CHARS bounds a row
    before csv's field limit would (131,072 characters by default, which a long article
    passes). The limit is the csv module's, for the whole process: it is only ever raised."""
    if csv.field_size_limit() < MAX_ROW_CHARS:
        csv.field_size_limit(MAX_ROW_CHARS)


def _lines_span(first, last):
    """Lines ``first`` to ``last`` as a reason names them (``_line_name``)."""
    if isinstance(first, str):
        return f"at bytes {int(first[1:]):,} to {int(last[1:]):,}"
    return f"{first:,} to {last:,}"


def delimiter_problem(input_format, delimiter):
    """Why ``delimiter`` cannot separate the cells of ``input_format`` files, or None (None:
    the format's own, "," or tab)."""
    if delimiter is None:
        return None
    if input_format != "csv":
        return f"a delimiter applies to csv input only (tsv's is the tab), not {input_format}"
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        return f"the delimiter must be one character, not {delimiter!r}"
    if delimiter in '"\r\n' or delimiter.isalnum():
        return f"{delimiter!r} cannot be a delimiter (quotes, line ends, letters and digits)"
    return None


def _delimiter(input_format, delimiter):
    return delimiter or ("\t" if input_format == "tsv" else ",")


class _SepLine(NamedTuple):
    """What a file's first line says of its delimiter: the lines to read as rows (the line
    itself left out where it is Excel's ``sep=`` line), the delimiter to split them at (the
    line's, else the one asked for, None: the format's), why the file cannot be read (None:
    it can) and the line as its dead letter shows it (``raw``, without a byte-order mark)."""
    lines: object
    delimiter: Optional[str]
    problem: Optional[str] = None
    raw: bytes = b""


def _sep_line(numbered_lines, input_format, delimiter):
    """The _SepLine of a file's ``(number, bytes)`` lines (the module docstring says how)."""
    lines = iter(numbered_lines)
    if input_format != "csv":
        return _SepLine(lines, delimiter)
    first = next(lines, None)
    if first is None:
        return _SepLine(lines, delimiter)
    number, raw = first
    text = raw[len(_BOM):] if raw.startswith(_BOM) else raw
    if number != 1 or text[:len(_SEP_LINE_START)].lower() != _SEP_LINE_START:
        return _SepLine(itertools.chain([first], lines), delimiter)
    named = text[len(_SEP_LINE_START):].rstrip(b"\r\n").decode("utf-8", "surrogateescape")
    problem = _sep_line_problem(text.rstrip(b"\r\n").decode("utf-8", "surrogateescape"),
                                named, delimiter)
    # The line as its dead letter shows it: without the byte-order mark, as a row's lines.
    return _SepLine(lines, delimiter if problem else named, problem, text)


def _sep_line_problem(line, named, delimiter):
    """Why Excel's delimiter ``line``, naming ``named``, cannot set the delimiter of a file
    read with ``delimiter`` (None: the one the line names), or None."""
    shown = _shown_sep_line(line)
    if not named:
        return f"its first line {shown} is Excel's delimiter line naming no delimiter"
    if "\r" in named:
        return f"its first line {shown} holds a CR: {_CR_LINES}"
    if named == "\\t":
        return (f"its first line {shown} is Excel's delimiter line naming the two characters "
                "'\\t': a tab delimiter is written as the tab character itself (sep= and a tab)")
    if len(named) > 1:
        # Not delimiter_problem's wording, which repeats what it names: a first line that only
        # starts as Excel's may be a whole file's length.
        return (f"its first line {shown} is Excel's delimiter line naming {len(named):,} "
                "characters, where a delimiter is one")
    problem = delimiter_problem("csv", named)
    if problem is not None:
        return f"its first line {shown} is Excel's delimiter line, but {problem}"
    if delimiter is not None and named != delimiter:
        return (f"its first line {shown} is Excel's delimiter line naming {named!r}, where the "
                f"delimiter {delimiter!r} was given: give none (the line sets the file's), "
                "or remove the line")
    return None


def _csv_error(error):
    """What the csv module's ``error`` means, in the words of a file rather than of Python's
    ``open`` (whose newline mode it names)."""
    if str(error).startswith("new-line character seen in unquoted field"):
        return f"a CR inside an unquoted field; {_CR_LINES}"
    return str(error)


class _Row(NamedTuple):
    """One row as read: its lines (``(number, bytes)``), its cells, and why it is no record
    (None where it may be one)."""
    lines: Tuple
    cells: list
    problem: Optional[str] = None

    @property
    def line(self):
        return self.lines[0][0]

    def raw(self, encoding=UTF8):
        """The row's lines as read, bytes that did not decode in ``encoding`` as escapes."""
        return "".join(shown_line(raw, encoding) for _, raw in self.lines).rstrip("\r\n")


class _TooLong(Exception):
    """Raised into the csv reader when a row grows past MAX_ROW_CHARS."""


class _Rows:
    """The rows of one file's ``(number, bytes)`` lines, each with the lines it covers."""

    def __init__(self, numbered_lines, input_format, delimiter=None, encoding=UTF8,
                 starts_row=None):
        self._lines = iter(numbered_lines)
        # Asked with the number of each row's first line before the row is read: False ends
        # the rows there (a byte range whose next row belongs to the range after it).
        self._starts_row = starts_row
        self._encoding = encoding
        self._again = []  # lines to read again (after an unclosed quote), last first
        self._pending = []  # the lines of the row being read
        self._problem = None  # why the row being read is no record (its bytes)
        self._chars = 0
        self._ended = False
        self._delimiter = _delimiter(input_format, delimiter)
        self._quoted = input_format == "csv"

    def __iter__(self):
        try:
            yield from self._csv_rows() if self._quoted else self._tsv_rows()
        except DamagedInput as damage:
            damage.pending = list(self._pending)
            raise

    def _tsv_rows(self):
        while not self._ended:
            try:
                for text in self._texts():
                    cells = text.rstrip("\r\n")
                    yield self._row(cells.split(self._delimiter) if cells else [])
            except _TooLong:  # one line: the lines after it are rows
                yield self._too_long()

    def _csv_rows(self):
        allow_fields_of_a_row()
        while not self._ended or self._again:
            reader = csv.reader(self._texts(), delimiter=self._delimiter, strict=True)
            try:
                for cells in reader:
                    yield self._row(cells)
                return
            except _TooLong:
                if len(self._pending) == 1:
                    yield self._too_long()
                else:
                    yield self._read_again(f"a quoted field is not closed within "
                                           f"{MAX_ROW_CHARS:,} characters")
            except csv.Error as error:
                if self._ended:  # strict: the end of the file inside a quoted field
                    yield self._read_again("a quoted field is never closed: the row runs to "
                                           "the end of the file")
                elif len(self._pending) > 1:
                    # A quote that spans lines and then is no field's end ("a"b) was most
                    # likely a stray one at a field's start: the lines it took are rows.
                    yield self._read_again(one_line(f"not a CSV row ({_csv_error(error)})"))
                else:
                    yield self._row([], one_line(f"not a CSV row: {_csv_error(error)}"))

    def _too_long(self):
        return self._row([], f"the row holds more than {MAX_ROW_CHARS:,} characters")

    def _read_again(self, reason):
        """The dead letter of a row of several lines that a stray or unclosed quote made: it
        names the first line only, and the lines after it are read again as rows."""
        lines = self._pending
        self._again.extend(reversed(lines[1:]))
        self._pending = lines[:1]
        self._ended = False
        return self._row([], f"{reason}, over the {len(lines):,} lines "
                             f"{_lines_span(lines[0][0], lines[-1][0])}; the lines after "
                             f"{_line_name(lines[0][0])} are read as rows again")

    def _row(self, cells, problem=None):
        row = _Row(tuple(self._pending), cells, problem or self._problem)
        self._pending, self._problem, self._chars = [], None, 0
        return row

    def _texts(self):
        """The text of each line, adding it to the row being read; a line that did not decode
        (is not UTF-8) or holds a NUL makes the row a dead letter, and is read on (as
        surrogate escapes)."""
        while True:
            if self._again:
                number, raw = self._again.pop()
            else:
                try:
                    number, raw = next(self._lines)
                except StopIteration:
                    self._ended = True
                    return
                if number == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM):]  # Excel's "CSV UTF-8"
            if (not self._pending and self._starts_row is not None
                    and not self._starts_row(number)):
                self._ended = True
                return
            self._pending.append((number, raw))
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                self._problem = self._problem or (f"{_line_name(number)}: "
                                                  f"{undecodable(raw, error, self._encoding)}")
                text = raw.decode("utf-8", "surrogateescape")
            if text.startswith("\x00") and len(self._pending) == 1 and "\x00" not in text[1:]:
                # The second byte of a UTF-16LE line's newline (0A 00), left at the start of the
                # row after it: that row was a second dead letter.
                text = text[1:]
            if "\x00" in text:
                wide = wide_line(raw.rstrip(b"\r\n"))
                self._problem = self._problem or (
                    f"{_line_name(number)} holds a NUL byte (is the file binary, or in another "
                    "encoding?)" if wide is None else f"{_line_name(number)} {wide}")
            self._chars += len(text)
            if self._chars > MAX_ROW_CHARS:
                raise _TooLong()
            yield text


class _Columns(NamedTuple):
    """Where a header puts what a record needs: cell indexes of the text, the id (None: none)
    and the carried fields (``(name, index)`` pairs)."""
    count: int
    text: int
    id: Optional[int]
    carried: Tuple


def _columns(header, layout, input_format, delimiter):
    """The _Columns of a header row's names (its cells), or why its rows cannot be read
    (str)."""
    named = [name for name in header.cells if name]
    found = pa.schema([(name, pa.string()) for name in named])
    problem = schema_problem(found, layout.text_field, layout.fields, layout.id_field)
    if problem is not None:
        hint = _header_hint(header, named, layout, input_format, delimiter)
        return f"{problem} ({hint})" if hint else problem
    index = {name: position for position, name in enumerate(header.cells) if name}
    id_index = index.get(layout.id_field) if layout.id_field else None
    if id_index == index[layout.text_field]:
        id_index = None
    carried = (layout.fields if layout.fields is not None
               else [name for name in named if name not in (layout.text_field, layout.id_field)])
    return _Columns(len(header.cells), index[layout.text_field], id_index,
                    tuple((name, index[name]) for name in carried))


def _shown_sep_line(line):
    """A line that starts as Excel's delimiter line, as a reason quotes it (a header that
    only starts so may be long)."""
    return repr(line if len(line) <= 40 else line[:37] + "...")


def _header_hint(header, named, layout, input_format, delimiter):
    """What most likely made a header lack the text column or a carried one (the names
    ``named``), as a person misreads it in the refusal's list of columns, or None."""
    line = header.raw()
    if _EXCEL_SEP_LINE.fullmatch(line):
        if input_format == "tsv":
            return (f"the line {_shown_sep_line(line)} is Excel's delimiter line, which TSV "
                    "files do not have: remove it, or read the file as CSV, whose first such "
                    "line sets the delimiter")
        return (f"the line {_shown_sep_line(line)} is Excel's delimiter line, read as one "
                "only as the file's first line: remove the lines before it")
    if len(header.cells) == 1 and _EXCEL_SEP_LINE.fullmatch(header.cells[0]):
        # A CSV writer asked to write the line as a row quotes it (it holds the delimiter).
        return (f"the line {_shown_sep_line(line)} is Excel's delimiter line in quotes, read "
                "as one only without them: remove the quotes")
    if "\r" in line:
        return f"the header holds a CR: {_CR_LINES}"
    wanted = [name for name in (layout.text_field, *(layout.fields or ())) if name not in named]
    for name in named:
        for missing in wanted:
            if name.strip().casefold() == missing.casefold():
                return f"its column {name!r} is not {missing!r}: case and spaces count"
    if len(header.cells) == 1:
        found = max(_DELIMITERS, key=header.cells[0].count)
        if found != delimiter and found in header.cells[0]:
            return (f"the header is one column holding {found!r}: is that the delimiter, not "
                    f"{delimiter!r}?")
    if layout.text_field not in named:
        return "the first row of a CSV or TSV file must name the columns"
    return None


def _rows(numbered_lines, input_format, delimiter, encoding=UTF8, starts_row=None):
    """The file's rows but blank lines."""
    return (row for row in _Rows(numbered_lines, input_format, delimiter, encoding, starts_row)
            if row.cells or row.problem)


def _header_columns(header, layout, input_format, delimiter):
    """The _Columns of a header row, or why its file's rows cannot be read (str)."""
    if header.problem is not None:
        return f"the header row: {header.problem}"
    return _columns(header, layout, input_format, _delimiter(input_format, delimiter))


class Header(NamedTuple):
    """A file's header row: the line it is on (``number``, or ``"@<byte>"`` in a byte range)
    and its _Columns, or, where its rows cannot be read as the layout asks, the file's one
    DeadLetter (``columns`` None)."""
    line: object
    columns: Optional[_Columns]
    dead_letter: Optional[DeadLetter] = None


def _header(row, path, input_format, layout, delimiter):
    columns = _header_columns(row, layout, input_format, delimiter)
    if isinstance(columns, str):
        return Header(row.line, None, DeadLetter(
            f"{path}:{row.line}", f"{columns}; none of its rows was read",
            row.raw(layout.encoding), "read"))
    return Header(row.line, columns)


class Head(NamedTuple):
    """What comes before a CSV or TSV file's rows: the delimiter they are split at (Excel's
    ``sep=`` line's, the one given or the format's) and their Header (None: the file has no
    row)."""
    delimiter: str
    header: Optional[Header]


def _head(numbered_lines, path, input_format, layout, delimiter):
    """The Head of a file's ``(number, bytes)`` lines, and its rows after the header."""
    lines, delimiter, problem, raw = _sep_line(numbered_lines, input_format, delimiter)
    delimiter = _delimiter(input_format, delimiter)
    if problem is not None:
        return Head(delimiter, Header(1, None, DeadLetter(
            f"{path}:1", f"{problem}; none of its rows was read",
            shown_line(raw, layout.encoding).rstrip("\r\n"), "read"))), iter(())
    rows = _rows(lines, input_format, delimiter, layout.encoding)
    first = next(rows, None)
    if first is None:
        return Head(delimiter, None), rows
    return Head(delimiter, _header(first, path, input_format, layout, delimiter)), rows


def csv_records(numbered_lines, path, input_format="csv", layout=RecordLayout(),
                delimiter=None):
    """One TextRecord or DeadLetter per row of ``(number, bytes)`` lines of one file (the
    module docstring says how); a header that cannot be read as ``layout`` asks makes the file
    one DeadLetter (stage "read"). Raises DamagedInput (its ``pending`` the row being read)
    where the lines do."""
    head, rows = _head(numbered_lines, path_text(str(path)), input_format, layout, delimiter)
    if head.header is None:
        return
    if head.header.dead_letter is not None:
        yield head.header.dead_letter
        return
    yield from _row_records(head.header.columns, rows, str(path), layout)


def csv_head(numbered_lines, path, layout=RecordLayout(), delimiter=None):
    """The Head of CSV ``(number, bytes)`` lines from the file's first: what a byte range of
    the file needs to read its rows (``csv_ranges``)."""
    return _head(numbered_lines, path_text(str(path)), "csv", layout, delimiter)[0]


def tsv_header(numbered_lines, path, layout=RecordLayout()):
    """The Header of the first row of TSV ``(number, bytes)`` lines that is not blank, or None
    where there is none."""
    first = next(_rows(numbered_lines, "tsv", None, layout.encoding), None)
    return None if first is None else _header(first, path_text(str(path)), "tsv", layout, None)


def header_records(header, numbered_lines, path, layout=RecordLayout(), input_format="tsv",
                   delimiter=None, starts_row=None):
    """``csv_records`` of lines that come after the rows of ``header`` (one without a dead
    letter), from a line where a row starts: a byte range of a file whose header another read
    found. ``starts_row``: asked with each row's first line number before the row is read,
    False ends the rows there (``_Rows``)."""
    yield from _row_records(header.columns,
                            _rows(numbered_lines, input_format, delimiter, layout.encoding,
                                  starts_row), str(path), layout)


def first_row_lines(numbered_lines, delimiter, encoding=UTF8):
    """How many of CSV ``(number, bytes)`` lines, the first of which starts a row, that row
    covers as ``csv_records`` reads it (0: there is none). A row that a stray or unclosed quote
    or MAX_ROW_CHARS makes a dead letter covers its first line only: the lines after it are
    read again as rows."""
    row = next(iter(_Rows(numbered_lines, "csv", delimiter, encoding)), None)
    return 0 if row is None else len(row.lines)


def _row_records(columns, rows, path, layout):
    encoding = layout.encoding
    # Named from the path as Python names the file (file_name), in sources as path_text writes it.
    name, path = file_name(path, layout.id_folder), path_text(path)
    for row in rows:
        source = f"{path}:{row.line}"
        cells = row.cells
        if row.problem is None and len(cells) != columns.count:
            row = row._replace(problem=f"expected {columns.count:,} cells (the header's "
                                       f"columns), got {len(cells):,}")
        if row.problem is not None:
            yield DeadLetter(source, row.problem, row.raw(encoding), "decode")
            continue
        record_id = cells[columns.id] if columns.id is not None else ""
        fields = {field: cells[index] for field, index in columns.carried}
        yield _new_record(TextRecord, (record_id or f"{name}:{row.line}", cells[columns.text],
                                       source, fields or None))


def read_csv_records(lines, input_format="csv", layout=RecordLayout(), delimiter=None):
    """``csv_records`` of one file's FileLines; damage becomes one last DeadLetter."""
    try:
        yield from csv_records(lines, lines.path, input_format, layout, delimiter)
    except DamagedInput as damage:
        yield damage.dead_letter()


def read_path_csv_records(path, input_format="csv", layout=RecordLayout(), delimiter=None):
    """``read_csv_records`` of a local file (no Beam pipeline needed)."""
    return read_csv_records(FileLines(path, lambda: open(path, "rb"), layout.encoding),
                            input_format, layout, delimiter)


def file_problem(lines, input_format="csv", layout=RecordLayout(), delimiter=None):
    """Why the rows of a file (its FileLines) cannot be read as ``layout`` asks, from its
    header alone (no text column, another encoding, damage before the header ends...), or
    None; a file without a header (empty) has no rows and no problem."""
    try:
        lines, delimiter, problem, _ = _sep_line(lines, input_format, delimiter)
        if problem is not None:
            return problem
        header = next(_rows(lines, input_format, delimiter, layout.encoding), None)
    except DamagedInput as damage:
        return damage.dead_letter().reason
    if header is None:
        return None
    columns = _header_columns(header, layout, input_format, delimiter)
    return columns if isinstance(columns, str) else None


def header_names(lines, input_format="csv", delimiter=None, encoding=UTF8):
    """The column names of a file's (its FileLines') header row; none where it has no header
    or one that cannot be read (``file_problem`` says why)."""
    try:
        lines, delimiter, problem, _ = _sep_line(lines, input_format, delimiter)
        header = None if problem else next(_rows(lines, input_format, delimiter, encoding), None)
    except DamagedInput:
        return []
    return [] if header is None or header.problem else [name for name in header.cells if name]
