"""File names holding line breaks, or bytes that are not UTF-8, in the ``embeddings`` commands'
output and in partition-fields refusals: written as ``tag`` writes them (odd_names_test), a
line break escaped (``errors.line_breaks_escaped``) and a byte that is not UTF-8 as ``\\xNN``
(``records.path_text``), so each line stays one line and names the file a shell finds again."""
import os

import pytest

from beamtagger.pipeline import cli
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.reading.partition_fields import PartitionProblem, file_partitions


def _embeddings(capsys, *argv):
    code = cli.main(["embeddings", *map(str, argv)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out.splitlines()


def test_import_and_info_name_a_store_and_source_holding_line_breaks_on_one_line(
        tmp_path, capsys):
    # Before: "store:         .../st" and "ore" on a line of its own; the source's likewise.
    source = tmp_path / "vec\ntors.txt"
    source.write_text("the 0.1 0.2\ncat 0.3 0.4\n", encoding="utf-8")
    store = tmp_path / "st\nore"
    lines = _embeddings(capsys, "import", source, "--out", store, "--quiet")
    assert lines[0].startswith("imported 2 vectors of dimension 2 (float32) into "
                               f"{tmp_path}/st\\nore in "), lines
    assert lines[1] == f"  source:        {tmp_path}/vec\\ntors.txt (glove)", lines
    lines = _embeddings(capsys, "info", store)
    assert lines[0] == f"store:         {tmp_path}/st\\nore", lines
    assert f"source:        {tmp_path}/vec\\ntors.txt (glove)" in lines, lines
    assert all(line.split(":")[0].strip() for line in lines), lines   # each a "name:" line


def test_coverage_names_corpus_files_holding_line_breaks_on_one_line(tmp_path, capsys,
                                                                     tiny_tagger):
    folder = tmp_path / "c\norpus"
    folder.mkdir()
    (folder / "a\nb.txt").write_text("Hello there .\n", encoding="utf-8")
    lines = _embeddings(capsys, "coverage", tiny_tagger.store_path, folder / "a\nb.txt")
    # Before: "corpus: .../c", "orpus/a", "b.txt (text, ...), 1 line".
    assert lines[0].startswith(f"corpus: {tmp_path}/c\\norpus/a\\nb.txt (text, "), lines
    assert lines[1].startswith(f"store:  {tiny_tagger.store_path} ("), lines
    with open(os.fsencode(folder) + b"/caf\xe9.txt", "wb") as latin1:
        latin1.write(b"Good bye .\n")
    lines = _embeddings(capsys, "coverage", tiny_tagger.store_path, f"{folder}/*.txt")
    assert lines[0] == f"corpus: {tmp_path}/c\\norpus/*.txt: 2 files (text, from each file's " \
                       "content), 2 lines", lines
    assert lines[1] == (f"files:  {tmp_path}/c\\norpus/a\\nb.txt, "
                        f"{tmp_path}/c\\norpus/caf\\xe9.txt"), lines


def test_a_partition_folder_that_is_not_utf8_is_named_by_its_bytes_on_one_line():
    # Before: "its folder 'k=\ufffd\\n'": the byte 0xE9 (as Python names the folder: U+DCE9)
    # read as U+FFFD, which names no folder (and names k=\xe9 and k=\xe8 alike).
    # partition_fields_reading_test has the byte alone.
    layout = RecordLayout(id_folder="lake/", partition_fields=True)
    with pytest.raises(PartitionProblem) as refusal:
        file_partitions("lake/k=\udce9\n/x.jsonl", layout)
    assert str(refusal.value) == ("its folder 'k=\\xe9\\n' is not UTF-8 text (or its "
                                  "%-escapes are not), so it cannot be a field")
