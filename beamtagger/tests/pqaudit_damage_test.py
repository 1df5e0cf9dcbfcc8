"""Parquet input against damaged and changing files (``parquet_rows``, no Beam pipeline): a
page whose checksum fails, a file rewritten or removed between listing its row groups and
reading them; each costs its rows one dead letter naming them, never a row tagged wrong, lost
without a word or read twice."""
import pyarrow as pa
import pyarrow.parquet as pq

from beamtagger.transforms.reading.parquet_rows import row_group_records, row_groups
from beamtagger.transforms.records import DeadLetter, TextRecord

TEXTS = [f"row number {row} of the file" for row in range(1, 101)]


def _read(groups):
    return [item for group in groups for item in (
        [group] if isinstance(group, DeadLetter) else row_group_records(group))]


def test_a_flipped_byte_in_a_page_with_a_checksum_is_a_dead_letter_not_a_changed_text(tmp_path):
    path = tmp_path / "flipped.parquet"
    pq.write_table(pa.table({"text": TEXTS}), path, compression="none", use_dictionary=False,
                   write_page_checksum=True)
    damaged = bytearray(path.read_bytes())
    damaged[damaged.index(b"row number 50 ") + 4] ^= 0x20   # "row Number 50": still UTF-8
    path.write_bytes(bytes(damaged))
    items = _read(row_groups(str(path), "text"))
    assert not [item for item in items if isinstance(item, TextRecord)], items[:3]
    (letter,) = items
    assert letter.source == f"{path}:1" and letter.stage == "read"
    assert "CRC checksum verification failed" in letter.reason, letter.reason
    assert letter.reason.endswith("its rows 1 to 100 were not read"), letter.reason


def test_a_file_rewritten_after_its_row_groups_were_listed_reads_no_row_twice_or_misnumbered(
        tmp_path, monkeypatch):
    import beamtagger.transforms.reading.parquet_rows as parquet_rows

    monkeypatch.setattr(parquet_rows, "JOINED_ROWS", 30, raising=False)  # four elements
    path = tmp_path / "rewritten.parquet"
    pq.write_table(pa.table({"text": TEXTS}), path, row_group_size=30)
    groups = list(row_groups(str(path), "text"))
    assert [(group.first_row, group.rows) for group in groups] == [
        (1, 30), (31, 30), (61, 30), (91, 10)]
    pq.write_table(pa.table({"text": TEXTS}), path, row_group_size=20)
    items = _read(groups)
    for record in (item for item in items if isinstance(item, TextRecord)):
        assert record.text == f"row number {record.source.rsplit(':', 1)[1]} of the file"
    letters = [item for item in items if isinstance(item, DeadLetter)]
    assert [letter.source for letter in letters] == [f"{path}:{row}" for row in (1, 31, 61, 91)]
    assert letters[1].reason == (
        "the file cannot be read from row 31 on (row group 1): ValueError: the file has "
        "changed since its row groups were listed: row group 1 holds rows 21 to 40 now, not "
        "31 to 60; its rows 31 to 60 were not read")
    path.unlink()
    (letter,) = _read(groups[3:])
    assert letter.reason.startswith("the file cannot be read from row 91 on (row group 3): "
                                    "FileNotFoundError: "), letter.reason
    assert letter.reason.endswith("; its rows 91 to 100 were not read"), letter.reason


def test_a_file_rewritten_into_fewer_row_groups_names_what_it_holds_now(tmp_path, monkeypatch):
    import beamtagger.transforms.reading.parquet_rows as parquet_rows

    monkeypatch.setattr(parquet_rows, "JOINED_ROWS", 60)   # two row groups an element
    path = tmp_path / "rewritten.parquet"
    pq.write_table(pa.table({"text": TEXTS}), path, row_group_size=30)
    groups = list(row_groups(str(path), "text"))
    assert [(group.index, group.count) for group in groups] == [(0, 2), (2, 2)]
    pq.write_table(pa.table({"text": TEXTS}), path, row_group_size=50)
    letters = _read(groups)
    assert [letter.reason for letter in letters] == [
        "the file cannot be read from row 1 on (row group 0): ValueError: the file has changed "
        "since its row groups were listed: row group 0 to 1 holds rows 1 to 100 now, not 1 to "
        "60; its rows 1 to 60 were not read",
        "the file cannot be read from row 61 on (row group 2): ValueError: the file has changed "
        "since its row groups were listed: it holds 2 row groups now, not 4 or more; its rows "
        "61 to 100 were not read"]


def test_a_row_group_that_gives_fewer_rows_than_its_footer_says_names_the_rest(
        tmp_path, monkeypatch):
    path = tmp_path / "short.parquet"
    pq.write_table(pa.table({"text": TEXTS[:10]}), path)
    iter_batches = pq.ParquetFile.iter_batches

    def one_row_short(self, *args, **kwargs):
        for batch in iter_batches(self, *args, **kwargs):
            yield batch.slice(0, 9)   # the reader stops a row before the footer's count
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", one_row_short)
    *records, letter = _read(row_groups(str(path), "text"))
    assert [record.text for record in records] == TEXTS[:9]
    assert letter == DeadLetter(
        f"{path}:10", "the file cannot be read from row 10 on (row group 0): ValueError: the "
        "row group ends after 9 of its 10 rows; its rows 10 to 10 were not read", "", "read")
