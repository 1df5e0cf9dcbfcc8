"""CSV byte ranges audited: the scan that finds a large CSV's row starts holds at most a row,
as reading the file whole does (``csv_rows.MAX_ROW_CHARS``), even one csv.reader would hold
whole; the comparison with whole reading keeps a header's dead letter at its line."""
import tracemalloc

from apache_beam.io.restriction_trackers import OffsetRange

from beamtagger.tests.csv_ranges_read_test import assert_ranges_read_as_whole
from beamtagger.transforms.reading import csv_rows
from beamtagger.transforms.reading.csv_ranges import row_ranges


def test_a_row_of_many_quoted_line_ends_is_not_held_whole_by_the_scan(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_rows, "MAX_ROW_CHARS", 2000)
    # One row to csv.reader: every line end is inside a quoted field, each field short, so
    # neither csv's field limit nor a row's end stops it: 1 MB of fields held as one row.
    content = b'id,text\n1,"x' + b'\n","' + b"a" * 500 + (b'\n","' + b"a" * 500) * 2000 \
        + b'"\n2,after\n'
    path = tmp_path / "fields.csv"
    path.write_bytes(content)
    tracemalloc.start()
    try:
        row_ranges(str(path), OffsetRange(0, len(content)), len(content) // 2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200_000, f"{peak:,} bytes"
    assert_ranges_read_as_whole(path, content, [len(content) // 2, 300_000])


def test_the_whole_reading_compared_keeps_a_header_dead_letter_at_its_line(tmp_path):
    # The comparison's own helper (located_rows) gave the header's dead letter a byte
    # (PATH:@0) where the ranges keep its line (PATH:1), so no test could compare such a file.
    content = b"id,body\n1,some text\n2,more\n"
    path = tmp_path / "no_text.csv"
    path.write_bytes(content)
    letter, = assert_ranges_read_as_whole(path, content, [1, 5, 9])
    assert letter.source == f"{path}:1" and letter.stage == "read"
