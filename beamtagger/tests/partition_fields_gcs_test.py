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


def _media_links_quoted_as_gcs_does(monkeypatch):
    """The emulator's mediaLink holds the object name unquoted, which its own download handler
    then decodes ("%20" -> " ", "%2F" -> "/": the other object, or a 404); GCS quotes the name
    there. Beam 2.77's reader reloads the object's metadata as it opens, so it downloaded from
    that link for whole files too; 2.78's only for byte ranges."""
    from urllib.parse import quote

    from gcp_storage_emulator.handlers import objects

    made = objects._make_object_resource

    def quoted(base_url, bucket_name, object_name, *args, **kwargs):
        resource = made(base_url, bucket_name, object_name, *args, **kwargs)
        resource["mediaLink"] = resource["mediaLink"].replace(
            f"/o/{object_name}?", f"/o/{quote(object_name, safe='')}?", 1)
        return resource

    monkeypatch.setattr(objects, "_make_object_resource", quoted)


def test_escaped_object_names_read_whole_are_their_own_objects(gcs, tmp_path,  # noqa: F811
                                                               monkeypatch):
    # "c=a b" and "c=a%20b" are two objects: each read as itself, both values "a b". Read
    # whole alone: byte ranges take the same names through the same listing, at a second
    # pipeline's cost.
    _media_links_quoted_as_gcs_does(monkeypatch)
    local = tmp_path / "p.jsonl"
    for text, folder in (("space", "c=a b"), ("escaped", "c=a%20b"), ("slash", "c=x%2Fy")):
        local.write_text(f'{{"text": "{text}"}}\n', encoding="utf-8")
        gcs.put(local, f"esc/{folder}/p.jsonl")
    records, errors = _collect(f"gs://{BUCKET}/esc/*/*.jsonl", "jsonl")
    assert errors == [] and records == [
        ("c=a b/p.jsonl:1", "space", {"c": "a b"}),
        ("c=a%20b/p.jsonl:1", "escaped", {"c": "a b"}),
        ("c=x%2Fy/p.jsonl:1", "slash", {"c": "x/y"})]
