"""``beamtagger tag``'s checks of the first bytes of ``gs://`` inputs (the encoding warning, CSV
headers) fetch about what they read, against the GCS emulator (``gcs_emulated_test``): Beam's
reader fetched its whole 16 MiB buffer at each file's first read, 48 MiB for the warning's
3 x 64 KB and as much again for the headers of 3 CSV files."""
from apache_beam.io.filesystems import FileSystems
from google.cloud.storage import Blob

from beamtagger.pipeline import tag_inputs
from beamtagger.pipeline.tag_pipeline import TagJob
from beamtagger.tests.gcs_emulated_test import BUCKET
from beamtagger.tests.gcs_emulated_test import gcs  # noqa: F401  (fixture)
from beamtagger.transforms.reading.file_lines import FIRST_BYTES_READ_BUFFER

ROW = "Une ligne en français ,1\n"
# Over the reader's buffer, so a file fetched whole shows.
FILE_BYTES = 16 * FIRST_BYTES_READ_BUFFER


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

    tag_inputs._check_first_files(matched, job)
    tag_inputs._check_heads(matched, job)

    # One request a file for its header and one for its first 64 KB, each a buffer (and the
    # byte google-cloud-storage's BlobReader asks past it: its range end is inclusive).
    assert len(fetched) == 6
    assert max(fetched) <= FIRST_BYTES_READ_BUFFER + 1
    (warning,) = capsys.readouterr().err.splitlines()
    assert warning.startswith(f"warning: --input gs://{BUCKET}/exports/c.csv: its byte ")
    assert "read it with --encoding cp1252" in warning


def test_a_tsv_range_on_gs_reads_its_header_in_small_requests(gcs, monkeypatch,  # noqa: F811
                                                                tmp_path):
    # Each range of a big TSV reads the file's header and checks it is still there: through
    # the range's own reader, the seek back to the header fetched a 16 MiB buffer a range.
    from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker

    from beamtagger.transforms.reading.byte_ranges import claimed_lines
    from beamtagger.transforms.reading.tsv_ranges import read_tsv_header

    local = tmp_path / "big.tsv"
    local.write_bytes(("text\tn\n" + ROW.replace(",", "\t") * (FILE_BYTES // len(ROW))).encode())
    gcs.put(local, "exports/big.tsv")
    path = f"gs://{BUCKET}/exports/big.tsv"
    fetched = _fetched(monkeypatch)
    header = read_tsv_header(path)
    assert header.raw == b"text\tn\n" and len(fetched) == 1
    start = FILE_BYTES // 2
    tracker = OffsetRestrictionTracker(OffsetRange(start, start + 100))
    lines = list(claimed_lines(path, tracker, header=header))
    assert lines and all(raw == ROW.replace(",", "\t").encode() for _, raw in lines[1:])
    # The header's check: one small request; the range itself reads from its start.
    assert fetched[1] <= FIRST_BYTES_READ_BUFFER + 1
