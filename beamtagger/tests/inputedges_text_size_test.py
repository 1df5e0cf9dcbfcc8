"""text_size.text_bytes at launch on compressed files that decode to little or nothing: the
compressed bytes it reads are bounded (``compressed_read_budget``), where a file of zeros named
``.xz`` (xz's stream padding) was read to its end, 58 ms a MB; honest files at the bound still
count their text."""
import gzip
import lzma
import os

from beamtagger.runtime_choice import COMPRESSED_TEXT_FACTOR
from beamtagger.transforms.reading import text_size

ENOUGH = 4_000


def _reads_counted(monkeypatch):
    """The bytes that text_bytes reads of its files, in all."""
    read = [0]
    opened = text_size.first_bytes_opener

    def counting_opener(path):
        open_raw = opened(path)

        def counted():
            raw = open_raw()
            real_read = raw.read

            def read_some(size=-1):
                data = real_read(size)
                read[0] += len(data)
                return data
            raw.read = read_some
            return raw
        return counted

    monkeypatch.setattr(text_size, "first_bytes_opener", counting_opener)
    return read


def test_zeros_named_xz_are_read_only_to_the_budget_and_keep_the_factor(tmp_path, monkeypatch):
    zeros = tmp_path / "zeros.xz"
    zeros.write_bytes(bytes(1 << 20))
    honest = tmp_path / "a.txt.xz"
    honest.write_bytes(lzma.compress(b"A line of text.\n" * 20))
    files = [(str(zeros), 1 << 20), (str(honest), os.path.getsize(honest))]
    read = _reads_counted(monkeypatch)
    # Before: all 1,048,576 bytes read, to find the stream cut short at its end.
    assert text_size.text_bytes(files, enough=ENOUGH) == COMPRESSED_TEXT_FACTOR * sum(
        size for _, size in files)
    assert 0 < read[0] <= text_size.compressed_read_budget(ENOUGH, files=2) < 20_000


def test_honest_files_at_the_bound_count_their_text(tmp_path, monkeypatch):
    # Random bytes compress to more than themselves: the worst honest case for the budget.
    under = tmp_path / "under"
    under.mkdir()
    listing, text = [], 0
    for number, size in enumerate((2_000, 1_900, 50, 30)):
        path = under / f"f{number}.gz"
        path.write_bytes(gzip.compress(os.urandom(size)))
        listing.append((str(path), os.path.getsize(path)))
        text += size
    assert sum(size for _, size in listing) > text   # compressed larger than the text
    assert text_size.text_bytes(listing, enough=ENOUGH) == text

    over = tmp_path / "over.gz"
    over.write_bytes(gzip.compress(os.urandom(ENOUGH + 100)))
    counted = text_size.text_bytes(listing + [(str(over), os.path.getsize(over))], enough=ENOUGH)
    assert counted > ENOUGH
