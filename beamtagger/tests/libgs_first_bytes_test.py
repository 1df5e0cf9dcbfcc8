"""``beamtagger tag``'s checks of the first bytes of ``gs://`` inputs (the encoding warning, CSV
headers) fetch about what they read, against the GCS emulator (``gcs_emulated_test``): Beam's
reader fetched its whole 16 MiB buffer at each file's first read, 48 MiB for the warning's
3 x 64 KB and as much again for the headers of 3 CSV files."""
from apache_beam.io.filesystems import FileSystems
from google.cloud.storage import Blob

from beamtagger.pipeline import tag_command
from beamtagger.pipeline.tag_pipeline import TagJob
from beamtagger.tests.gcs_emulated_test import BUCKET
from beamtagger.tests.gcs_emulated_test import gcs  # noqa: F401  (fixture)

ROW = "Une ligne en français ,1\n"
# Over the reader's buffer, so a file fetched whole shows.
FILE_BYTES = 16 * tag_command.FIRST_BYTES_READ_BUFFER


def _fetched(monkeypatch):
    """The sizes of the downloads Beam's gs:// reader makes from now on."""
    sizes = []
    download = Blob.download_as_bytes

    def counted(blob, *args, **kwargs):
        data = download(blob, *args, **kwargs)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(Blob, "download_as_bytes", counted)
    return sizes


def test_the_first_bytes_checks_fetch_about_what_they_read(gcs, monkeypatch, tmp_path,  # noqa: F811
                                                           capsys):
    rows = ROW * (FILE_BYTES // len(ROW))
    for name, data in [("a.csv", ("text,n\n" + rows).encode()),
                       ("b.csv", ("text,n\n" + rows).encode()),
                       ("c.csv", ("text,n\n" + rows).encode("cp1252"))]:
        local = tmp_path / name
        local.write_bytes(data)
        gcs.put(local, f"exports/{name}")
    matched = FileSystems.match([f"gs://{BUCKET}/exports/*.csv"])[0].metadata_list
    job = TagJob(f"gs://{BUCKET}/exports/*.csv", str(tmp_path / "run"), input_format="csv")
    fetched = _fetched(monkeypatch)

    tag_command._check_first_files(matched, job)
    tag_command._warn_of_other_encoding(matched, job)

    # One request a file for its header and one for its first 64 KB, each a buffer (and the
    # byte google-cloud-storage's BlobReader asks past it: its range end is inclusive).
    assert len(fetched) == 6
    assert max(fetched) <= tag_command.FIRST_BYTES_READ_BUFFER + 1
    (warning,) = capsys.readouterr().err.splitlines()
    assert warning.startswith(f"warning: --input gs://{BUCKET}/exports/c.csv: its byte ")
    assert "read it with --encoding cp1252" in warning
