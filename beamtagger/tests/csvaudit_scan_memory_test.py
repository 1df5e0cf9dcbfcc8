"""The scan that finds a large CSV's row starts holds at most a row's bytes, as reading the file
whole does (``csv_rows.MAX_ROW_CHARS``), even on a row that csv.reader would hold whole."""
import tracemalloc

from beamtagger.tests.csv_ranges_read_test import assert_ranges_read_as_whole
from beamtagger.transforms.reading import csv_rows
from beamtagger.transforms.reading.csv_ranges import row_ranges
from apache_beam.io.restriction_trackers import OffsetRange


def test_a_row_of_many_quoted_line_ends_is_not_held_whole_by_the_scan(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_rows, "MAX_ROW_CHARS", 2000)
    # One row to csv.reader: every line end is inside a quoted field, each field short, so
    # neither csv's field limit nor a row's end stops it: 1 MB of fields held as one row.
    content = b'id,text\n1,"x' + b'\n","' + b"a" * 500 * 1 + (b'\n","' + b"a" * 500) * 2000 \
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
