"""``ReadRecords(partition_fields=True)`` on ``gs://`` through Beam's GCS file system against the
GCS emulator (``gcs_emulated_test``): the folders of a bucket's object names are fields, of
files read whole and in byte ranges alike."""
from beamtagger.tests.gcs_emulated_test import BUCKET
from beamtagger.tests.gcs_emulated_test import gcs  # noqa: F401  (fixture)
from beamtagger.tests.partition_fields_reading_test import _collect


def test_a_gs_lake_carries_its_folders_read_whole_and_in_byte_ranges(gcs, tmp_path):  # noqa: F811
    local = tmp_path / "part-0.jsonl"
    local.write_text('{"text": "one"}\n{"text": "two", "n": 2}\n', encoding="utf-8")
    gcs.put(local, "lake/dt=2024-01-01/lang=en/part-0.jsonl")
    for split_bytes, places in ((None, ("1", "2")), (8, ("@0", "@16"))):
        records, errors = _collect(f"gs://{BUCKET}/lake/*/*/*.jsonl", "jsonl",
                                   split_bytes=split_bytes)
        assert errors == [] and records == [
            (f"dt=2024-01-01/lang=en/part-0.jsonl:{places[0]}", "one",
             {"dt": "2024-01-01", "lang": "en"}),
            (f"dt=2024-01-01/lang=en/part-0.jsonl:{places[1]}", "two",
             {"n": 2, "dt": "2024-01-01", "lang": "en"})]
