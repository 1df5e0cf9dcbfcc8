"""Parquet files of odd shapes (``parquet_rows``, no Beam pipeline): thousands of one-row row
groups read at the cost of a few (not once per row group, each parsing a footer that lists
them all), and a row group of large texts decoded a few MiB at a time, not 1,024 rows at once."""
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beamtagger.transforms.reading import parquet_rows
from beamtagger.transforms.reading.parquet_rows import row_group_records, row_groups
from beamtagger.transforms.records import DeadLetter, TextRecord


def test_small_row_groups_in_a_row_are_read_together_every_row_once_in_order(
        tmp_path, monkeypatch):
    path = tmp_path / "tiny-groups.parquet"
    pq.write_table(pa.table({"text": [f"t {row}" for row in range(1, 3001)]}), path,
                   row_group_size=1)
    opened = []
    parquet_file = pq.ParquetFile

    def counted(*args, **kwargs):
        opened.append(args)
        return parquet_file(*args, **kwargs)
    monkeypatch.setattr(pq, "ParquetFile", counted)
    groups = list(row_groups(str(path), "text"))
    records = [record for group in groups for record in row_group_records(group)]
    assert len(opened) == 2, len(opened)   # the listing's footer, then one element's
    assert [(record.id, record.text) for record in records] == [
        (f"tiny-groups.parquet:{row}", f"t {row}") for row in range(1, 3001)]


def test_joined_row_groups_stop_at_the_bound_and_a_damaged_one_costs_its_rows_alone(
        tmp_path, monkeypatch):
    monkeypatch.setattr(parquet_rows, "JOINED_ROWS", 4)
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.table({"text": [f"row {row}" for row in range(1, 11)]}), whole,
                   row_group_size=2)
    groups = list(row_groups(str(whole), "text"))
    assert [(group.index, group.first_row, group.rows, group.count) for group in groups] == [
        (0, 1, 4, 2), (2, 5, 4, 2), (4, 9, 2, 1)]
    damaged = bytearray(whole.read_bytes())
    page = pq.ParquetFile(whole).metadata.row_group(2).column(0).data_page_offset
    damaged[page:page + 16] = b"\xff" * 16
    path = tmp_path / "damaged.parquet"
    path.write_bytes(bytes(damaged))
    items = [item for group in groups for item in row_group_records(group._replace(
        path=str(path)))]
    assert [item.text for item in items if isinstance(item, TextRecord)] == [
        "row 1", "row 2", "row 3", "row 4", "row 7", "row 8", "row 9", "row 10"]
    (letter,) = [item for item in items if isinstance(item, DeadLetter)]
    assert letter.source == f"{path}:5" and letter.reason.startswith(
        "the file cannot be read from row 5 on (row group 2): ")
    assert letter.reason.endswith("; its rows 5 to 6 were not read"), letter.reason


@pytest.mark.parametrize("pairs_fit", [True, False])
def test_joined_row_groups_stop_at_the_byte_bound_too(tmp_path, monkeypatch, pairs_fit):
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.table({"text": [f"row {row:02d}" for row in range(1, 11)]}), path,
                   row_group_size=2)
    metadata = pq.ParquetFile(path).metadata
    (size,) = {metadata.row_group(index).total_byte_size for index in range(5)}
    # Two row groups fill the bound exactly (joined) or pass it by a byte (each alone).
    monkeypatch.setattr(parquet_rows, "JOINED_BYTES", 2 * size - (0 if pairs_fit else 1))
    groups = list(row_groups(str(path), "text"))
    assert [(group.index, group.first_row, group.rows, group.count) for group in groups] == (
        [(0, 1, 4, 2), (2, 5, 4, 2), (4, 9, 2, 1)] if pairs_fit
        else [(index, 2 * index + 1, 2, 1) for index in range(5)])


def test_a_row_group_of_large_texts_is_decoded_a_few_mib_at_a_time(tmp_path):
    path = tmp_path / "large.parquet"
    text = "word " * ((256 << 10) // 5)   # 256 KiB a row, 16 MiB in the row group
    # Zstd makes the column chunk, which pyarrow reads whole (as Python bytes here), tiny.
    pq.write_table(pa.table({"text": [f"{row} {text}" for row in range(64)]}), path,
                   compression="zstd")
    (group,) = row_groups(str(path), "text")
    tracemalloc.start()
    try:
        rows = sum(1 for _ in row_group_records(group))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 64
    assert peak < 8 << 20, f"{peak / 2 ** 20:.1f} MiB of Python objects at once"
