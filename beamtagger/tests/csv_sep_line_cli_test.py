"""``beamtagger tag`` on a CSV file whose first line is Excel's ``sep=;``: its rows tagged with
ids and dead letters naming the lines as an editor does, and, where --delimiter names another,
a refusal in one line before launch; the same line on ``gs://`` (GCS emulator,
``gcs_emulated_test``), read where tag checks a file's header before launch (its first bytes)
and where the workers read its rows."""
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from beamtagger.tests.gcs_emulated_test import gcs  # noqa: F401  (fixture)
from beamtagger.tests.parquet_input_cli_test import _refusal, _run
from beamtagger.tests.tag_pipeline_test import read_jsonl
from beamtagger.transforms.reading.csv_rows import file_problem, read_csv_records
from beamtagger.transforms.reading.file_lines import FileLines, first_bytes_opener
from beamtagger.transforms.records import TextRecord

EXPORT = b"sep=;\r\nn;text\r\n1;The cat sat , on the mat .\r\n2;too;many\r\n3;I love it .\r\n"


def test_tag_reads_a_file_with_its_sep_line_and_refuses_another_delimiter(tiny_tagger,
                                                                          tmp_path, capsys):
    source = tmp_path / "export.csv"
    source.write_bytes(EXPORT)
    code, out, err = _run(capsys, tiny_tagger, source, tmp_path / "t")
    assert code == 0, err
    assert "records tagged              2" in out and "dead letters                1" in out, out
    rows = read_jsonl(str(tmp_path / "t") + "-[0-9]*.jsonl")
    assert sorted((row["id"], row["n"], len(row["tokens"])) for row in rows) == [
        ("export.csv:3", "1", 8), ("export.csv:5", "3", 4)]
    (letter,) = read_jsonl(str(tmp_path / "t") + "-errors-*.jsonl")
    assert (letter["source"], letter["record"]) == (f"{source}:4", "2;too;many")

    line = _refusal(capsys, tiny_tagger, source, tmp_path, "--delimiter", ",")
    assert line.endswith(f"--input {source}: its first line 'sep=;' is Excel's delimiter line "
                         "naming ';', where the delimiter ',' was given: give none (the line "
                         "sets the file's), or remove the line"), line


def test_a_sep_line_on_gs_is_read_before_launch_and_by_the_workers(gcs, tmp_path):  # noqa: F811
    local = tmp_path / "export.csv"
    local.write_bytes(EXPORT)
    path = gcs.put(local, "exports/export.csv")
    assert file_problem(FileLines(path, first_bytes_opener(path))) is None
    assert file_problem(FileLines(path, first_bytes_opener(path)), delimiter="|").startswith(
        "its first line 'sep=;' is Excel's delimiter line naming ';', where the delimiter '|'")
    records = [item for item in read_csv_records(FileLines(path, lambda: FileSystems.open(
        path, compression_type=CompressionTypes.UNCOMPRESSED))) if isinstance(item, TextRecord)]
    assert [(record.id, record.source) for record in records] == [
        ("export.csv:3", f"{path}:3"), ("export.csv:5", f"{path}:5")]
