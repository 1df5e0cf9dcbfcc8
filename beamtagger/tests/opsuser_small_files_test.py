"""Many small files (a message a file): their records reach the tagging stages in full blocks,
every record once, as one large file's do (reading.gathered_blocks)."""
import gzip

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import GlobalWindow, IntervalWindow
from apache_beam.utils.windowed_value import WindowedValue

from beamtagger.transforms.blocks import BLOCK_RECORDS, Block
from beamtagger.transforms.reading import ReadRecords, gathered_blocks
from beamtagger.transforms.records import TextRecord


def _lake(root, files):
    """``files`` files of 1-3 lines in YYYY/MM/DD folders, every tenth gzipped, every
    seventh empty; returns the texts they hold."""
    texts = []
    for n in range(files):
        folder = root / "2026" / "12" / f"{1 + n % 3:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"message {n} line {k}" for k in range(1 + n % 3)] if n % 7 else []
        texts += lines
        body = "".join(line + "\n" for line in lines).encode()
        if n % 10 == 0:
            (folder / f"m{n}.txt.gz").write_bytes(gzip.compress(body))
        else:
            (folder / f"m{n}.txt").write_bytes(body)
    return texts


def test_records_of_300_small_files_come_in_full_blocks_each_record_once(tmp_path):
    texts = _lake(tmp_path / "lake", 300)
    with TestPipeline() as pipeline:
        read = pipeline | ReadRecords(str(tmp_path / "lake" / "**"), blocks=True)
        # Before, each file was a block of its own: 300 blocks of 0-3 records.
        assert_that(read.records | beam.Map(len), equal_to([len(texts)]), label="one block")
        assert_that(read.records | beam.FlatMap(lambda block: [r.text for r in block]),
                    equal_to(texts), label="every record once")
        assert_that(read.errors, equal_to([]), label="no dead letters")


def _gathered(elements):
    """What _GatherBlocksFn outputs for ``elements`` ((block, window) pairs) in one bundle:
    (block, window) pairs."""
    gather = gathered_blocks._GatherBlocksFn()
    gather.start_bundle()
    out = []
    for block, window in elements:
        out += list(gather.process(Block(block), window))
    out += list(gather.finish_bundle())
    return [(list(value.value), value.windows[0]) if isinstance(value, WindowedValue)
            else (list(value), "as it came") for value in out]


def _records(prefix, count, text="x"):
    return [TextRecord(f"{prefix}{n}", text, f"{prefix}:{n}") for n in range(count)]


def test_gathered_blocks_hold_at_most_the_block_bound_in_order_and_a_full_block_passes():
    window = GlobalWindow()
    small = [_records(f"f{n}-", 3) for n in range(400)]   # 1,200 records
    full = _records("big-", BLOCK_RECORDS)
    out = _gathered([(block, window) for block in small[:300]] + [(full, window)]
                    + [(block, window) for block in small[300:]])
    # The full block passes at once; the small ones fill a block up to 1,023 records (the
    # next 3 would not fit) and the 177 left go out at the bundle's end.
    assert [len(block) for block, _ in out] == [BLOCK_RECORDS, 1023, 177]
    assert out[0] == (full, "as it came")
    assert [record for block, _ in out[1:] for record in block] == [
        record for block in small for record in block]


def test_blocks_of_different_windows_are_never_gathered_together():
    early, late = IntervalWindow(0, 10), IntervalWindow(10, 20)
    out = _gathered([(_records("a", 2), early), (_records("b", 2), late),
                     (_records("c", 2), early)])
    assert sorted((len(block), window) for block, window in out) == [(2, late), (4, early)]
    assert all(window == early for block, window in out if block[0].id.startswith(("a", "c")))


def test_a_gathered_block_ends_before_the_character_bound(monkeypatch):
    monkeypatch.setattr(gathered_blocks, "BLOCK_CHARACTERS", 1000)
    window = GlobalWindow()
    # record_size counts a record's characters and 16 a record: 116 a record here.
    out = _gathered([(_records(f"f{n}-", 2, "y" * 100), window) for n in range(10)])
    assert [len(block) for block, _ in out] == [8, 8, 4]


def test_a_file_gone_between_listing_and_reading_is_one_unread_part_that_says_so(tmp_path):
    from apache_beam.io.filesystems import FileSystems

    from beamtagger.transforms.reading.file_lines import FileLines, UnreadableInput

    path = str(tmp_path / "2026" / "msg1.txt")   # listed, then renamed away by its writer
    with pytest.raises(UnreadableInput) as gone:
        list(FileLines(path, lambda: FileSystems.open(path)))
    letter = gone.value.dead_letter()
    # Before: "the file is damaged before its first line: FileNotFoundError: ...".
    assert letter.stage == "read" and letter.source == f"{path}:1"
    assert letter.reason == ("the file was removed or renamed after the run listed it, so "
                             "none of its records was read")
