"""A file listed by the run, then replaced by a folder or made unreadable before its reading:
one dead letter of stage read that says so, not "damaged before its first line"."""
import errno
import gzip

import pytest
from apache_beam.io.filesystems import FileSystems

from beamtagger.transforms.reading.file_lines import FileLines, UnreadableInput


def _letter(path, open_raw):
    with pytest.raises(UnreadableInput) as unread:
        list(FileLines(str(path), open_raw))
    letter = unread.value.dead_letter()
    assert letter.stage == "read" and letter.source == f"{path}:1"
    return letter.reason


def test_a_compressed_file_replaced_by_a_folder_says_so(tmp_path):
    path = tmp_path / "msg.txt.gz"
    path.mkdir()   # its writer replaced it by a folder of the same name after the listing
    # Before: "the file is damaged before its first line: IsADirectoryError: ...".
    assert _letter(path, lambda: FileSystems.open(str(path))) == (
        "the file was replaced by a folder after the run listed it, so none of its records "
        "was read")


def test_a_file_made_unreadable_names_the_error_not_damage(tmp_path):
    path = tmp_path / "msg.txt"
    path.write_bytes(gzip.compress(b"The cat sat .\n"))

    def denied():   # chmod 000 after the listing (root, who runs the tests, reads it anyway)
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    assert _letter(path, denied) == (
        f"the file cannot be opened: {path}: Permission denied (EACCES), so none of its "
        "records was read")


@pytest.mark.parametrize("input_format", ["text", "tsv", "csv"])
def test_a_range_of_a_file_gone_after_the_listing_is_a_dead_letter_not_a_failed_run(
        tmp_path, input_format):
    from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker

    from beamtagger.transforms.reading.byte_ranges import range_records
    from beamtagger.transforms.reading.csv_ranges import RowStartTracker

    path = tmp_path / "large.txt"   # listed at 2,000+ bytes, then removed by its writer
    tracker = (RowStartTracker if input_format == "csv" else OffsetRestrictionTracker)(
        OffsetRange(1000, 2000))
    # Before: FileNotFoundError out of the reader, which failed the whole pipeline.
    [letter] = list(range_records(str(path), tracker, input_format))
    assert letter.stage == "read" and letter.source == f"{path}:@1000"
    assert letter.reason == ("the file was removed or renamed after the run listed it, so its "
                             "bytes from 1,000 to 2,000 were not read")
    assert tracker.check_done() is None   # the range is claimed: Beam fails a run on the rest
