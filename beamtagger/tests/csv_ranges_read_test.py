"""CSV files read in byte ranges: exactly the rows, ids, fields and dead letters of reading the
file whole (located by byte), wherever the ranges would cut."""
import re

import apache_beam as beam
import pytest
from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.restriction_trackers import OffsetRange
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.tests.tsvranges_read_test import all_ranges, line_starts, located_by_byte
from beamtagger.transforms.reading import ReadRecords, byte_ranges, csv_rows
from beamtagger.transforms.reading.csv_ranges import RowStartTracker
from beamtagger.transforms.reading.csv_rows import read_path_csv_records
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.records import DeadLetter, TextRecord

# A byte-order mark, blank lines, CRLF; quoted fields holding CRLF, LF, "" and the delimiter;
# a stray quote inside an unquoted field (a quote-parity scan takes it for a field's start);
# a quote followed by text on one line and over two (read again line by line); a CR inside an
# unquoted field; a row that is not UTF-8; too many cells; no id; an unclosed quote near the
# end (the lines after it read again as rows).
HOSTILE = (b'\xef\xbb\xbf\r\n\nid,text,lang\r\n\r\n'
           b'r1,"He said\r\n""hi"", then\nleft, right",en\r\n'
           b'r2,a 5" screen,en\n'
           b'r3,"a"b,en\n'
           b'r4,"spans\ntwo lines"x,en\n'
           b'r5,x\rcr,en\n'
           b'r6,\xff bad,de\n'
           b'r7,too,many,cells\n'
           b',no id,fr\n'
           b'r9,"""quoted start"" and, comma",en\n'
           b'r10,"',  # opens a field the next line closes
           b'continued",en\n'
           b'r11,"never closed,en\n'
           b'r12,after it,en\n'
           b'r13,last,en')
HOSTILE = b"".join(HOSTILE)
_READ_AGAIN = re.compile(r"over the ([\d,]+) lines ([\d,]+) to ([\d,]+); the lines after line "
                         r"([\d,]+) are")


def located_rows(items, content):
    """``located_by_byte`` of a CSV file read whole: a row read again after a quote names its
    lines by byte too; the header's and ``sep=`` line's dead letters keep their line."""
    starts = line_starts(content)

    def at_bytes(found):
        count, first, last, _ = (int(group.replace(",", "")) for group in found.groups())
        return (f"over the {count:,} lines at bytes {starts[first - 1]:,} to "
                f"{starts[last - 1]:,}; the lines after the line at byte "
                f"{starts[first - 1]:,} are")

    kept = {id(item) for item in items if isinstance(item, DeadLetter) and item.stage == "read"}
    located = located_by_byte(items, content)
    return [original if id(original) in kept else
            item._replace(reason=_READ_AGAIN.sub(at_bytes, item.reason))
            if isinstance(item, DeadLetter) else item
            for original, item in zip(items, located)]


def assert_ranges_read_as_whole(path, content, split_bytes_list, layout=RecordLayout(),
                                delimiter=None):
    whole = list(read_path_csv_records(path, "csv", layout, delimiter))
    for split_bytes in split_bytes_list:
        found = all_ranges(path, split_bytes, layout, input_format="csv", delimiter=delimiter)
        assert found == located_rows(whole, content), split_bytes
    return whole


def test_every_row_is_read_once_as_whole_reading_reads_it_wherever_the_ranges_would_cut(
        tmp_path):
    path = tmp_path / "hostile.csv"
    path.write_bytes(HOSTILE)
    # Every split_bytes: each range's nominal end falls once on every byte of the file.
    whole = assert_ranges_read_as_whole(path, HOSTILE, range(1, len(HOSTILE) + 2))
    assert [item.id if isinstance(item, TextRecord) else item.source.rsplit(":", 1)[1]
            for item in whole] == ["r1", "r2", "9", "10", "11", "12", "13", "14",
                                   "hostile.csv:15", "r9", "r10", "18", "r12", "r13"]
    assert whole[0].text == 'He said\r\n"hi", then\nleft, right'
    assert whole[1].text == 'a 5" screen'


def test_a_row_longer_than_a_row_may_be_is_read_as_whole_reading_reads_it(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setattr(csv_rows, "MAX_ROW_CHARS", 40)
    # Row 6: 74 bytes over two lines, but 40 characters (é is 2 bytes): a row, not too long.
    content = (b"id,text\n1,short\n2,\"" + b"quoted\n" * 8 + b"\"\n3," + b"y" * 50
               + b"\n4,\"open " + b"z" * 45 + b"\n5,after\n6,\"" + "é".encode() * 17 + b"\n"
               + "é".encode() * 17 + b"\"\n7,end\n"
               # Row 8 is one row to csv.reader, but too long here: its lines are read again,
               # and its last line's quote then opens a field that ends on "9,after"'s line, so
               # that line starts no row.
               + b"8,\"" + b"a" * 40 + b"\n,\"\" q\n\"\n9,after\"\n10,end\n")
    path = tmp_path / "long.csv"
    path.write_bytes(content)
    whole = assert_ranges_read_as_whole(path, content, range(1, len(content) + 2, 3))
    assert sum("more than 40 characters" in getattr(item, "reason", "") for item in whole) == 3
    assert sum("not closed within 40 characters" in getattr(item, "reason", "")
               for item in whole) == 2
    assert [record.text for record in whole if isinstance(record, TextRecord)][-3:] == [
        "é" * 17 + "\n" + "é" * 17, "end", "end"]
    assert whole[-2].reason == "expected 2 cells (the header's columns), got 1"
    assert whole[-2].record == '"\n9,after"'  # a row of two lines, from row 8's last


@pytest.mark.parametrize("split_bytes", [1, 2, 5, 9, 17, 1000])
def test_excel_sep_line_and_cp1252_in_ranges(tmp_path, split_bytes):
    content = ("sep=;\r\nlang;text;id\r\nfr;\"café;\r\ncrème\";a\r\nde;Über;b\r\n\r\n"
               "es;\"año \"\"x\"\"\";c\r\n").encode("cp1252")
    path = tmp_path / "excel.csv"
    path.write_bytes(content)
    layout = RecordLayout(encoding="cp1252")
    assert_ranges_read_as_whole(path, content, [split_bytes], layout)
    assert [(r.id, r.text, r.fields) for r in all_ranges(path, split_bytes, layout,
                                                         input_format="csv")] == [
        ("a", "café;\r\ncrème", {"lang": "fr"}), ("b", "Über", {"lang": "de"}),
        ("c", 'año "x"', {"lang": "es"})]


@pytest.mark.parametrize("content", [b"id,text\n", b"id,text", b"\n\n", b"sep=;\nid;text\r\n",
                                     b"\xef\xbb\xbfid,text\n\n\n"])
@pytest.mark.parametrize("split_bytes", [1, 3, 100])
def test_a_header_only_or_blank_file_is_no_record(tmp_path, content, split_bytes):
    path = tmp_path / "h.csv"
    path.write_bytes(content)
    assert all_ranges(path, split_bytes, input_format="csv") == []


@pytest.mark.parametrize("content, line", [(b"\nid,body\n" + b"1,some text\n" * 5, 2),
                                           (b"sep=\nid,text\n" + b"1,some text\n" * 5, 1)])
@pytest.mark.parametrize("split_bytes", [1, 13, 1000])
def test_a_header_or_sep_line_that_cannot_be_read_is_one_dead_letter_at_its_line(
        tmp_path, content, line, split_bytes):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    letter, = all_ranges(path, split_bytes, input_format="csv")
    assert letter == next(read_path_csv_records(path, "csv"))
    assert letter.source == f"{path}:{line}" and letter.stage == "read"


def test_a_given_delimiter_splits_the_rows_of_every_range(tmp_path):
    content = b'text|id\n"a|b\nc"|1\nplain|2\n'
    path = tmp_path / "pipes.csv"
    path.write_bytes(content)
    assert_ranges_read_as_whole(path, content, [1, 4, 11, 100], delimiter="|")


def test_a_csv_range_is_not_split_while_it_runs_as_no_split_point_is_known_to_start_a_row():
    tracker = RowStartTracker(OffsetRange(0, 100))
    assert tracker.try_claim(10)
    assert tracker.try_split(0.5) is None and tracker.try_split(0) is None
    assert tracker.current_restriction() == OffsetRange(0, 100)


def test_read_records_splits_a_csv_over_the_threshold_and_keeps_small_ones_whole(
        tmp_path, monkeypatch):
    monkeypatch.setattr(byte_ranges, "DEFAULT_SPLIT_BYTES", 64)
    (tmp_path / "big.csv").write_bytes(HOSTILE)
    (tmp_path / "small.csv").write_bytes(b"text\nshort\n")
    (tmp_path / "wide.utf16.csv").write_bytes(("text\n" * 30).encode("utf-16"))
    located = located_rows(list(read_path_csv_records(tmp_path / "big.csv")), HOSTILE)
    with beam.Pipeline() as p:
        read = p | ReadRecords(str(tmp_path / "*.csv"), "csv", reshuffle=False)
        assert_that(read.records | beam.Map(lambda record: record.id), equal_to(
            [r.id for r in located if isinstance(r, TextRecord)] + ["small.csv:2"]))
        assert_that(read.errors | beam.Map(lambda letter: letter.source), equal_to(
            [d.source for d in located if isinstance(d, DeadLetter)]
            + [f"{tmp_path / 'wide.utf16.csv'}:@0"]), label="errors")


def test_a_streaming_pipeline_locates_the_rows_of_a_large_csv_as_a_batch_one(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(HOSTILE)
    whole = located_rows(list(read_path_csv_records(path, "csv")), HOSTILE)
    for streaming in (False, True):
        options = beam.options.pipeline_options.PipelineOptions(
            ["--streaming"] if streaming else [])
        p = beam.Pipeline(options=options)
        read = p | ReadRecords(str(path), "csv", reshuffle=False, split_bytes=16)
        assert_that(read.records, equal_to([r for r in whole if isinstance(r, TextRecord)]))
        assert_that(read.errors, equal_to([d for d in whole if isinstance(d, DeadLetter)]),
                    label="errors")
        p.run().wait_until_finish()


def test_a_csv_rewritten_after_its_scan_says_so_where_a_range_ends_inside_a_row(tmp_path):
    # The scan cut the ranges at row starts; the file is then rewritten to the same size with
    # its rows shifted, so a range's last row now runs past its end, where the next range
    # starts reading: that next range would read a quoted field's second line as a row.
    rows = b"".join(b'%d,"row %d\nsecond line"\n' % (n, n) for n in range(6))
    before = b"id,text\n" + rows
    after = (b"id,text\n" + b'7,"abcdefghi"\n' + rows)[:len(before)]
    path = tmp_path / "tickets.csv"
    path.write_bytes(before)
    read = byte_ranges.ReadRecordsInRanges("csv", split_bytes=30)
    metadata = FileMetadata(str(path), len(before))
    ranges = list(read.split(metadata, OffsetRange(0, len(before))))
    assert len(ranges) > 2
    path.write_bytes(after)
    headers, items = byte_ranges._range_headers("csv"), []
    for restriction in ranges:
        tracker = read.create_tracker(restriction)
        items.extend(byte_ranges.range_records(str(path), tracker, "csv", RecordLayout(),
                                               headers))
        tracker.check_done()
    rewritten = [item for item in items if isinstance(item, DeadLetter)
                 and "rewritten while read" in item.reason]
    assert [letter.source for letter in rewritten] == [
        f"{path}:@{restriction.stop}" for restriction in ranges[:-1]]
    assert {letter.stage for letter in rewritten} == {"read"}


def test_no_range_of_an_unchanged_csv_reports_a_rewrite(tmp_path):
    rows = b"".join(b'%d,"row %d\nsecond line"\n' % (n, n) for n in range(6))
    path = tmp_path / "tickets.csv"
    path.write_bytes(b"id,text\n" + rows + b'9,"unclosed\n')
    for split_bytes in (1, 7, 30):
        items = all_ranges(path, split_bytes, input_format="csv")
        assert not any(isinstance(item, DeadLetter) and "rewritten" in item.reason
                       for item in items)
