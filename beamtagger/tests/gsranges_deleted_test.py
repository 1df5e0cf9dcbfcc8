"""A ``gs://`` file read in byte ranges (``byte_ranges``) that is deleted or rewritten after the
run listed it, against the GCS emulator (``gcs_emulated_test``): each range is a dead letter,
as a local file's is (``audit2_file_lines_test``), where Beam's reader raised the storage
client's NotFound (no OSError: at the open on Beam 2.77, at the first read on 2.78) and Beam
failed the whole run on it."""
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker

from beamtagger.tests.gcs_emulated_test import BUCKET
from beamtagger.tests.gcs_emulated_test import gcs  # noqa: F401  (fixture)
from beamtagger.tests.partition_fields_reading_test import _collect
from beamtagger.transforms.reading import byte_ranges
from beamtagger.transforms.reading.byte_ranges import range_records
from beamtagger.transforms.reading.csv_ranges import RowStartTracker, row_ranges

_CONTENT = {"text": "one\ntwo\nthree\nfour\n", "jsonl": '{"text": "one"}\n{"text": "two"}\n',
            "tsv": "text\tn\none\t1\ntwo\t2\nthree\t3\n", "csv": "text,n\none,1\ntwo,2\nthree,3\n"}
_GONE = "the file was removed, renamed or replaced after the run listed it, so its bytes from"


def _put(gcs, tmp_path, input_format):  # noqa: F811
    local = tmp_path / f"f.{input_format}"
    local.write_text(_CONTENT[input_format], encoding="utf-8")
    return gcs.put(local, f"in/f.{input_format}")


def test_a_range_of_a_gs_object_deleted_after_the_listing_is_a_dead_letter(
        gcs, tmp_path):  # noqa: F811
    # One emulator for the cases: stopping it takes half a second.
    for input_format in _CONTENT:
        path = _put(gcs, tmp_path, input_format)
        gcs._bucket.blob(f"in/f.{input_format}").delete()
        # A range after the first: TSV and CSV read the file's header from its start first.
        tracker = (RowStartTracker if input_format == "csv" else OffsetRestrictionTracker)(
            OffsetRange(8, 16))
        # Before: google.api_core.exceptions.NotFound out of the reader.
        [letter] = list(range_records(path, tracker, input_format))
        assert (letter.source, letter.reason, letter.stage) == (
            f"{path}:@8", f"{_GONE} 8 to 16 were not read", "read"), input_format
        assert tracker.check_done() is None   # claimed: Beam fails a run on the rest

    # Before: NotFound out of the CSV scan, in the runner's split of the restriction; the
    # range left whole, its reading says what happened.
    assert row_ranges(path, OffsetRange(0, 27), 8) == [OffsetRange(0, 27)]

    # Rewritten before its reader's first request, an object is read as it is then (the
    # emulator, as GCS, serves the new generation): cut short, as a local file. GCS answers a
    # reader that already read the old generation with NotFound, the dead letter above.
    path = _put(gcs, tmp_path, "text")
    gcs.cut_short("in/f.text", 10)
    tracker = OffsetRestrictionTracker(OffsetRange(8, 19))
    read = list(range_records(path, tracker, "text"))
    assert [item.text for item in read[:-1]] == ["th"]
    assert (read[-1].source, read[-1].stage) == (f"{path}:@10", "read")
    assert read[-1].reason.startswith("the file ends at byte 10, before the end it had when")
    assert tracker.check_done() is None


def test_a_run_whose_gs_csv_is_deleted_between_listing_and_reading_ends_in_a_dead_letter(
        gcs, tmp_path, monkeypatch):  # noqa: F811
    path = _put(gcs, tmp_path, "csv")
    listed = byte_ranges.ReadRecordsInRanges.initial_restriction

    def deleted_once_listed(self, metadata):
        restriction = listed(self, metadata)
        gcs._bucket.blob("in/f.csv").delete()
        return restriction

    monkeypatch.setattr(byte_ranges.ReadRecordsInRanges, "initial_restriction",
                        deleted_once_listed)
    # Before: the pipeline failed (Beam's bundle retries, then the job).
    records, errors = _collect(f"gs://{BUCKET}/in/*.csv", "csv", partition_fields=False,
                               split_bytes=8)
    assert records == [] and errors == [
        (f"{path}:@0", f"{_GONE} 0 to 27 were not read", "read")]


def test_a_gs_file_read_whole_and_deleted_after_the_listing_says_so(gcs, tmp_path):  # noqa: F811
    from beamtagger.transforms.reading.file_lines import FileLines, first_bytes_opener

    path = _put(gcs, tmp_path, "text")
    gcs._bucket.blob("in/f.text").delete()
    # Before: "the file is damaged before its first line: NotFound: 404 ...".
    try:
        list(FileLines(path, first_bytes_opener(path)))
    except byte_ranges.UnreadableInput as unread:
        letter = unread.dead_letter()
    assert (letter.source, letter.reason, letter.stage) == (
        f"{path}:1", "the file was removed, renamed or replaced after the run listed it, so "
        "none of its records was read", "read")
