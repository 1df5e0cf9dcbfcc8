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
