"""CSV input on ``gs://`` through Beam's GCS file system against the GCS emulator
(``gcs_emulated_test``): a gzipped CSV's header checked before launch and its rows tagged with
ids from their start lines; a header without the text column found on the bucket."""
import gzip
import json

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from beamtagger.tests.gcs_emulated_test import BUCKET, _tag
from beamtagger.tests.gcs_emulated_test import gcs, staged_copies  # noqa: F401  (fixtures)
from beamtagger.transforms.reading.csv_rows import file_problem
from beamtagger.transforms.reading.file_lines import FileLines


def test_beamtagger_tag_reads_a_gzipped_csv_on_gs(gcs, staged_copies, tiny_tagger, tmp_path,  # noqa: F811
                                                  capsys):
    local = tmp_path / "export.csv.gz"
    local.write_bytes(gzip.compress(b'text,n\n"Two\nlines .",1\nOne line .,2\nbad,row,3\n'))
    path = gcs.put(local, "exports/export.csv.gz")
    code, out, err = _tag(capsys, "--input", f"gs://{BUCKET}/exports/*.csv.gz", "--output",
                          f"gs://{BUCKET}/tagged/run", "--model", tiny_tagger.model_dir,
                          "--embeddings", tiny_tagger.store_path, "--runtime", "numpy")
    assert code == 0, err
    names = gcs.names("tagged/")
    (results,) = [name for name in names if "-errors-" not in name]
    rows = [json.loads(line) for line in gcs.text(results).splitlines()]
    assert sorted((row["id"], row["n"]) for row in rows) == [
        ("export.csv.gz:2", "1"), ("export.csv.gz:4", "2")]
    (errors,) = [name for name in names if "-errors-" in name]
    (letter,) = [json.loads(line) for line in gcs.text(errors).splitlines()]
    assert letter["source"] == f"{path}:5" and letter["reason"].endswith("got 3")

    other = tmp_path / "other.csv"
    other.write_bytes(b"body,n\nhello,1\n")
    path = gcs.put(other, "exports/other.csv")
    lines = FileLines(path, lambda: FileSystems.open(
        path, compression_type=CompressionTypes.UNCOMPRESSED))
    assert file_problem(lines).startswith("no text column 'text'; its columns are body, n")
