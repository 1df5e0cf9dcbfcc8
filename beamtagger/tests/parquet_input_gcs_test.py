"""Parquet input on ``gs://`` through Beam's GCS file system against the GCS emulator
(``gcs_emulated_test``): footers and row groups read by ranged reads, a file cut short on the
bucket refused before launch, and a file cut after the check one dead letter on the worker."""
import pyarrow as pa
import pyarrow.parquet as pq

from beamtagger.tests.gcs_emulated_test import BUCKET, _tag
from beamtagger.tests.gcs_emulated_test import gcs, staged_copies  # noqa: F401  (fixtures)
from beamtagger.transforms.reading.parquet_rows import file_problem, row_group_records, row_groups

TEXTS = [f"Row {i} of the lake ." for i in range(1, 8)]


def _lake_file(tmp_path):
    path = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"text": TEXTS, "n": list(range(1, 8))}), path, row_group_size=3)
    return path


def test_beamtagger_tag_reads_parquet_on_gs(gcs, staged_copies, tiny_tagger, tmp_path,  # noqa: F811
                                            capsys):
    import json

    gcs.put(_lake_file(tmp_path), "lake/part-0.parquet")
    code, out, err = _tag(capsys, "--input", f"gs://{BUCKET}/lake/*.parquet", "--output",
                          f"gs://{BUCKET}/tagged/run", "--model", tiny_tagger.model_dir,
                          "--embeddings", tiny_tagger.store_path, "--runtime", "numpy")
    assert code == 0, err
    (name,) = [name for name in gcs.names("tagged/") if "-errors-" not in name]
    rows = [json.loads(line) for line in gcs.text(name).splitlines()]
    assert sorted((row["id"], row["n"]) for row in rows) == sorted(
        (f"part-0.parquet:{n}", n) for n in range(1, 8))


def test_a_gs_file_cut_short_is_refused_before_launch_or_one_dead_letter_after(
        gcs, tiny_tagger, tmp_path, capsys, monkeypatch):  # noqa: F811
    from beamtagger.transforms.reading import parquet_rows

    monkeypatch.setattr(parquet_rows, "JOINED_ROWS", 3)   # the row groups read one by one
    path = gcs.put(_lake_file(tmp_path), "lake/cut.parquet")
    groups = list(row_groups(path, "text"))
    assert [group.first_row for group in groups] == [1, 4, 7]
    gcs.cut_short("lake/cut.parquet", 200)
    assert file_problem(path, "text").startswith("not a readable Parquet file")
    code, _, err = _tag(capsys, "--input", path, "--output", f"gs://{BUCKET}/tagged/cut",
                        "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    assert code == 2 and err.strip().endswith(
        f"--input {path}: not a readable Parquet file (ArrowInvalid: Parquet magic bytes not "
        "found in footer. Either the file is corrupted or this is not a parquet file.)"), err
    # Cut between the listing of its row groups and their reading (a worker's view).
    (letter,) = row_group_records(groups[1])
    assert letter.source == f"{path}:4" and letter.stage == "read"
    assert letter.reason.endswith("its rows 4 to 6 were not read")
