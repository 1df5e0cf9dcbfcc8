"""text_size.text_bytes: a local run's compressed files counted by their text where the size
rule's factor would send a folder of small .gz files to TensorFlow."""
import base64
import bz2
import gzip
import os

import pytest

from beamtagger.runtime_choice import COMPRESSED_TEXT_FACTOR, input_text_bytes
from beamtagger.transforms.reading import text_size

ENOUGH = 4_000


def _listing(folder):
    return sorted((str(path), os.path.getsize(path)) for path in folder.iterdir())


def _small_messages(folder, count, compress=gzip.compress, suffix=".txt.gz"):
    """Messages of 40-70 bytes, each compressed alone (a message a file, as exports are):
    gzip's header and trailer leave them barely smaller, or larger."""
    folder.mkdir()
    text = 0
    for number in range(count):
        message = f"Message {number} arrived from the night shift at {number % 24}h.\n".encode()
        (folder / f"m{number:04d}{suffix}").write_bytes(compress(message))
        text += len(message)
    return text


def test_small_compressed_files_count_their_text_not_the_factor(tmp_path):
    text = _small_messages(tmp_path / "lake", 60)
    files = _listing(tmp_path / "lake")
    assert input_text_bytes(files) > ENOUGH >= text   # the factor alone: over the bound
    assert text_size.text_bytes(files, enough=ENOUGH) == text


def test_plain_files_are_counted_with_them(tmp_path):
    text = _small_messages(tmp_path / "lake", 40, bz2.compress, ".txt.bz2")
    (tmp_path / "lake" / "plain.txt").write_bytes(b"x" * 500)
    assert text_size.text_bytes(_listing(tmp_path / "lake"), enough=ENOUGH) == text + 500


def test_many_files_are_sampled_and_the_ratio_stands_for_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(text_size, "MEASURED_FILES", 10)
    text = _small_messages(tmp_path / "lake", 80)
    files = _listing(tmp_path / "lake")
    assert input_text_bytes(files) > ENOUGH >= text
    assert text_size.text_bytes(files, enough=ENOUGH) == pytest.approx(text, rel=0.05)


def test_the_largest_files_are_counted_whole_beside_the_sample(tmp_path, monkeypatch):
    # Many one-message files (text about 0.75 of their gzip size) and two large exports that
    # compress 50x, listed last: an even sample of all the files missed the exports and took
    # the messages' ratio for theirs, so 46 kB of text counted about 7 kB, under the bound.
    monkeypatch.setattr(text_size, "MEASURED_FILES", 10)
    text = _small_messages(tmp_path / "lake", 100)
    for name in ("zz-export-a.txt.gz", "zz-export-b.txt.gz"):
        export = b"the same line of an export, again and again\n" * 450
        (tmp_path / "lake" / name).write_bytes(gzip.compress(export))
        text += len(export)
    files = _listing(tmp_path / "lake")
    enough = 5 * ENOUGH
    assert input_text_bytes(files) > enough and text > enough
    assert text_size.text_bytes(files, enough=enough) > enough


def test_counting_stops_once_the_text_passes_the_bound(tmp_path, monkeypatch):
    folder = tmp_path / "lake"
    folder.mkdir()
    # Incompressible text (base64 of random bytes, 3/4 bits of entropy a byte: gzip takes it
    # to about 0.76 of its size), in files whose text is well over the bound.
    for number in range(5):
        (folder / f"part{number}.txt.gz").write_bytes(
            gzip.compress(base64.b64encode(os.urandom(3 * ENOUGH))))
    opened = []
    real_text_size = text_size.FileLines.text_size

    def counted(self, limit):
        opened.append(self.path)
        return real_text_size(self, limit)

    monkeypatch.setattr(text_size.FileLines, "text_size", counted)
    files = _listing(folder)
    assert text_size.text_bytes(files, enough=ENOUGH) > ENOUGH
    assert len(opened) == 1   # the first file's text is over the bound: the rest are not read


def test_a_damaged_file_keeps_the_factor(tmp_path):
    text = _small_messages(tmp_path / "lake", 40)
    damaged = tmp_path / "lake" / "cut.txt.gz"
    damaged.write_bytes(gzip.compress(b"a line cut short\n" * 20)[:-12])
    expected = text + COMPRESSED_TEXT_FACTOR * damaged.stat().st_size
    assert text_size.text_bytes(_listing(tmp_path / "lake"), enough=ENOUGH) == expected


def test_remote_files_and_parquet_keep_the_factor_and_nothing_is_read(tmp_path, monkeypatch):
    def refused(self, limit):
        raise AssertionError(f"{self.path} was read")

    monkeypatch.setattr(text_size.FileLines, "text_size", refused)
    remote = [(f"gs://bucket/day/m{number}.txt.gz", 100) for number in range(20)]
    assert text_size.text_bytes(remote, enough=ENOUGH) == input_text_bytes(remote)
    lake = [(str(tmp_path / f"p{number}.parquet"), 100) for number in range(20)]
    assert text_size.text_bytes(lake, "parquet", ENOUGH) == input_text_bytes(lake, "parquet")
    # Under the bound with the factor: nothing to refine.
    small = [(str(tmp_path / "a.txt.gz"), 10)]
    assert text_size.text_bytes(small, enough=ENOUGH) == COMPRESSED_TEXT_FACTOR * 10


def test_a_folder_of_small_gz_files_is_tagged_with_numpy(tmp_path):
    """The command's choice (tag_runtime.choose_runtime) over a folder whose files the factor
    put at 2-4x their text: 1.2 MB compressed, counted 4.8 MB, holding 1.5 MB of text."""
    from beamtagger.model.runtimes import module_installed
    from beamtagger.pipeline.tag_runtime import choose_runtime
    from beamtagger.pipeline.tag_pipeline import TagJob

    folder = tmp_path / "day"
    folder.mkdir()
    for number in range(16):
        (folder / f"export{number}.txt.gz").write_bytes(gzip.compress(
            base64.b64encode(os.urandom(72_000)) + b"\n", compresslevel=1))
    files = _listing(folder)
    assert input_text_bytes(files) > 4_000_000 > text_size.text_bytes(files)
    choice = choose_runtime(TagJob(str(folder / "*.gz"), str(tmp_path / "out"), runtime=None))
    assert choice.runtime == "numpy", choice.reason
    assert "1.5 MB" in choice.reason
    # Where TensorFlow is installed, the factor alone chose it for this folder.
    if module_installed("tensorflow"):
        assert "over 4.0 MB" in _choice_by_the_factor(folder, tmp_path).reason


def _choice_by_the_factor(folder, tmp_path):
    from beamtagger.pipeline.tag_runtime import choose_runtime
    from beamtagger.pipeline.tag_pipeline import TagJob

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text_size, "text_bytes", lambda files, input_format=None:
                      input_text_bytes(files, input_format))
        return choose_runtime(TagJob(str(folder / "*.gz"), str(tmp_path / "out"), runtime=None))
