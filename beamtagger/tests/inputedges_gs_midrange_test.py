"""A ``gs://`` object deleted or replaced while a reader is inside it, after its first requests
(Beam's reader fetches ``gcs_read_buffer_size_bytes`` a request, 16 MiB by default; 1000 bytes
here, so a 6 KB file takes several): every line comes out exactly once, as a record or inside
the byte span of its range's one dead letter (``byte_ranges.claimed_lines``), or, in a file
read whole, as a record or after the line its dead letter names (``file_lines.FileLines``).

Replaced objects: the storage client asks every request after its first for the generation
that request found (``X-Goog-Generation``; a seek's metadata request does the same), and GCS
answers 404 where that generation is gone, which is read as a deletion. The emulator neither
sends nor honours generations (it serves the new bytes mid-line), so ``_generations_kept``
teaches it GCS's rule for these tests.
"""
import re

import pytest
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.gcp import gcsio
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker

from beamtagger.tests.gcs_emulated_test import gcs  # noqa: F401  (fixture)
from beamtagger.transforms.reading.byte_ranges import range_records
from beamtagger.transforms.reading.file_lines import GONE_REMOTE, FileLines, UnreadableInput

_LINES = [f"line {n:04d}\n" for n in range(600)]   # 10 bytes each: line n at byte 10n
_SIZE = 10 * len(_LINES)
_NOT_READ = re.compile(r"so its bytes from ([\d,]+) to ([\d,]+) were not read$")


@pytest.fixture
def small_requests(monkeypatch):
    # Beam 2.78 reads the constant when a GcsIO is made; 2.77 bound it as GcsIO.open's default
    # argument, so there the file came in one request and nothing changed between requests.
    defaults = gcsio.GcsIO.open.__defaults__ or ()
    monkeypatch.setattr(gcsio.GcsIO.open, "__defaults__", tuple(
        1000 if default == gcsio.DEFAULT_READ_BUFFER_SIZE else default for default in defaults))
    monkeypatch.setattr(gcsio, "DEFAULT_READ_BUFFER_SIZE", 1000)


def _generations_kept(monkeypatch):
    """The emulator's object downloads as GCS answers them: the object's generation in
    ``X-Goog-Generation``, and 404 for a generation it no longer holds."""
    from http import HTTPStatus

    from gcp_storage_emulator import server
    from gcp_storage_emulator.exceptions import NotFound
    from gcp_storage_emulator.handlers import objects

    served = objects.download

    def download(request, response, storage, *args, **kwargs):
        try:
            current = storage.get_file_obj(request.params["bucket_name"],
                                           request.params["object_id"])["generation"]
        except NotFound:
            current = None
        asked = request.query.get("generation", [current])[0]
        if current is None or str(asked) != str(current):
            response.status = HTTPStatus.NOT_FOUND
            return
        response["X-Goog-Generation"] = str(current)
        served(request, response, storage, *args, **kwargs)

    monkeypatch.setattr(objects, "download", download)   # what objects.get calls for alt=media
    for _, handlers in server.HANDLERS:
        for method, handler in handlers.items():
            if handler is served:
                monkeypatch.setitem(handlers, method, download)


def _put(gcs, tmp_path):  # noqa: F811
    local = tmp_path / "f.txt"
    local.write_text("".join(_LINES), encoding="utf-8")
    return gcs.put(local, "in/f.txt")


def _change(gcs, change):  # noqa: F811
    if change == "deleted":
        gcs._bucket.blob("in/f.txt").delete()
    else:
        gcs._bucket.blob("in/f.txt").upload_from_string("".join(_LINES).upper())


def test_a_gs_object_changed_between_a_readers_requests_gives_each_line_once(
        gcs, tmp_path, small_requests, monkeypatch):  # noqa: F811
    # One emulator for the cases: stopping it takes half a second.
    _generations_kept(monkeypatch)
    for change in ("deleted", "replaced"):
        # A range from the file's start, and one from inside it (whose first request is a
        # seek's metadata request, not a download).
        for start in (0, 2005):
            path = _put(gcs, tmp_path)
            tracker = OffsetRestrictionTracker(OffsetRange(start, _SIZE))
            out = []
            for item in range_records(path, tracker, "text"):
                out.append(item)
                if len(out) == 20:   # inside the reader's first 1000 bytes
                    _change(gcs, change)
            records, letters = out[:-1], out[-1:]
            # Before _generations_kept, the emulator served the new bytes mid-line: "LINE 0100".
            assert all(record.text.startswith("line ") for record in records), change
            assert len(records) > 20 and letters[0].stage == "read", (change, out[-2:])
            assert tracker.check_done() is None
            before = [f"f.txt:@{offset}" for offset in range(0, start, 10)]
            _each_line_once(before + [record.id for record in records], letters)

        # A file read whole: its lines up to the change, then the dead letter of the rest.
        path = _put(gcs, tmp_path)
        lines = []
        with pytest.raises(UnreadableInput) as unread:
            for number, line in FileLines(path, lambda: FileSystems.open(path)):
                lines.append((number, line.decode()))
                if number == 20:
                    _change(gcs, change)
        assert lines == list(enumerate(_LINES[:len(lines)], 1)) and len(lines) > 20
        letter = unread.value.dead_letter()
        assert (letter.source, letter.reason) == (
            f"{path}:{len(lines) + 1}", f"{GONE_REMOTE}, so its records after line "
            f"{len(lines)} were not read"), change


def _each_line_once(read, letters):
    """Asserts that every line's start is the offset of one of ``read`` (record ids) or inside
    the byte span of one of ``letters`` (dead letters), and of no two."""
    offsets = [int(record_id.rsplit("@", 1)[1]) for record_id in read]
    for letter in letters:
        start, stop = (int(n.replace(",", "")) for n in _NOT_READ.search(letter.reason).groups())
        assert letter.source.endswith(f"@{start}"), letter
        offsets += [offset for offset in range(start, stop) if offset % 10 == 0]
    assert sorted(offsets) == list(range(0, _SIZE, 10))
