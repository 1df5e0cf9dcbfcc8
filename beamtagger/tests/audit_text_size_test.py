"""text_size.text_bytes at launch, attacked (audit of this session's compressed-size count): a
FIFO or a device named like a compressed file must not hang the launch, and the sample must
not depend on the order the filesystem lists the files in."""
import gzip
import os
import threading

from beamtagger.runtime_choice import COMPRESSED_TEXT_FACTOR
from beamtagger.transforms.reading import text_size

ENOUGH = 4_000
# A launch that reads a few small files takes milliseconds; a FIFO with no writer or
# /dev/zero read as an .xz stream never ends.
LAUNCH_SECONDS = 5


def _gzipped_messages(folder, count):
    folder.mkdir(exist_ok=True)
    listing = []
    for number in range(count):
        path = folder / f"m{number:05d}.txt.gz"
        path.write_bytes(gzip.compress(f"Message {number} of the night shift.\n".encode()))
        listing.append((str(path), os.path.getsize(path)))
    return listing


def _text_bytes_or_hung(files):
    """text_bytes(files) run on a thread, None where it has not returned in LAUNCH_SECONDS."""
    result = []
    worker = threading.Thread(target=lambda: result.append(
        text_size.text_bytes(files, enough=ENOUGH)), daemon=True)
    worker.start()
    worker.join(LAUNCH_SECONDS)
    return result[0] if result else None


def test_a_fifo_named_gz_keeps_the_factor_without_being_opened(tmp_path):
    files = _gzipped_messages(tmp_path / "lake", 120)
    fifo = tmp_path / "lake" / "pipe.gz"
    os.mkfifo(fifo)
    try:
        counted = _text_bytes_or_hung(files + [(str(fifo), 0)])
    finally:
        # Lets a reader blocked on the FIFO's open (the bug) go on, so no thread stays stuck.
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)) if counted is None else None
    assert counted == text_size.text_bytes(files, enough=ENOUGH)


def test_a_device_named_xz_keeps_the_factor_without_being_read(tmp_path):
    # lzma reads /dev/zero as empty .lzma streams one after another, forever.
    files = _gzipped_messages(tmp_path / "lake", 120)
    device = tmp_path / "lake" / "zero.xz"
    device.symlink_to("/dev/zero")
    counted = _text_bytes_or_hung(files + [(str(device), 10)])
    assert counted == text_size.text_bytes(files, enough=ENOUGH) + 10 * COMPRESSED_TEXT_FACTOR


def test_the_sample_does_not_depend_on_the_listing_order(tmp_path, monkeypatch):
    monkeypatch.setattr(text_size, "MEASURED_FILES", 8)
    files = _gzipped_messages(tmp_path / "lake", 40)
    # Every fifth file holds a far longer message: the even sample of the listing sorted by
    # name measures only those, of the listing reversed none of them.
    for path, _ in files[::5]:
        with open(path, "wb") as handle:
            handle.write(gzip.compress(b"A much longer message, repeated. " * 30 + b"\n"))
    files = [(path, os.path.getsize(path)) for path, _ in files]
    assert text_size.text_bytes(files, enough=ENOUGH) == text_size.text_bytes(files[::-1],
                                                                              enough=ENOUGH)
