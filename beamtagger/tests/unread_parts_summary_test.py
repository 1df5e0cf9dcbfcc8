"""Dead letters of stage "read" stand for a file or the rest of one, not for one record: the
summary counts them apart and names where they start, and --max-dead-letters never passes one
but at 100%."""
import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beamtagger.pipeline import tag_inputs
from beamtagger.pipeline.tag_summary import dead_letter_limit
from beamtagger.tests.conftest import run_tag_command
from beamtagger.transforms.counters import dead_letters_meaning

TEXTS = ["The cat sat .", "A dog ran .", "x" * 50, "Birds fly ."]


@pytest.fixture
def refused_on_the_workers(tmp_path, monkeypatch):
    """A Parquet folder whose second file (by path) has no text column: past the files checked
    before launch, as the 101st file would be, so the workers make it one dead letter."""
    folder = tmp_path / "lake"
    folder.mkdir()
    pq.write_table(pa.table({"text": TEXTS}), folder / "a.parquet")
    pq.write_table(pa.table({"body": [f"row {n} ." for n in range(1000)]}),
                   folder / "b.parquet")
    monkeypatch.setattr(tag_inputs, "MAX_FILES_CHECKED", 1)
    return folder


def _tag(capsys, tiny_tagger, input_pattern, output, *options):
    return run_tag_command(capsys, "--input", input_pattern, "--output", str(output),
                           "--model", tiny_tagger.model_dir, "--embeddings",
                           tiny_tagger.store_path, "--max-record-chars", "20", *options)


@pytest.mark.parametrize("limit, code", [(None, 0), ("50%", 3), ("100%", 0)])
def test_a_parquet_file_refused_on_the_workers_is_a_part_not_read_not_a_record(
        capsys, tmp_path, tiny_tagger, refused_on_the_workers, limit, code):
    got, out, err = _tag(capsys, tiny_tagger, str(refused_on_the_workers / "*.parquet"),
                         tmp_path / "run", *(["--max-dead-letters", limit] if limit else []))
    assert got == code, err
    lines = out.splitlines()
    assert "dead letters                2" in lines
    assert ("                 (1 record could not be tagged; 1 part of the input was not read: "
            "a file or the rest of one, its records unknown)") in lines
    assert f"not read from    {refused_on_the_workers / 'b.parquet'}" in lines
    if code:
        # The file's 1,000 rows would be 1 of 5 records read (20%), within the limit.
        assert err.strip().splitlines()[-1] == (
            f"beamtagger tag: 1 part of the input was not read "
            f"({refused_on_the_workers / 'b.parquet'}), records unknown: more than "
            "--max-dead-letters 50% can allow; 1 of the 4 records read could not be tagged "
            "(25%); the results and the dead letters are written")


def _damaged_gzip(path, lines):
    whole = gzip.compress("".join(f"{line}\n" for line in lines).encode("utf-8"))
    path.write_bytes(whole[:len(whole) * 2 // 3])
    return path


def test_damaged_gzip_files_are_named_up_to_three_and_exceed_a_count_limit(
        capsys, tmp_path, tiny_tagger):
    folder = tmp_path / "in"
    folder.mkdir()
    text = [f"line {n} ." for n in range(400)]
    for name in "dcba":
        _damaged_gzip(folder / f"{name}.txt.gz", text)
    got, out, err = _tag(capsys, tiny_tagger, str(folder / "*.txt.gz"), tmp_path / "run",
                         "--max-dead-letters", "10")
    assert got == 3, err
    lines = out.splitlines()
    assert ("                 (4 parts of the input were not read: each a file or the rest of "
            "one, their records unknown)") in lines
    # The first three in input order, each where its file broke, whatever the errors file's.
    at = [f"{folder / name}.txt.gz:262" for name in "abc"]
    assert [line for line in lines if line.startswith("not read from")] == [
        f"not read from    {source}" for source in at], out
    assert "                 (and 1 more: the dead letters of stage read)" in lines
    assert err.strip().splitlines()[-1] == (
        f"beamtagger tag: 4 parts of the input were not read ({', '.join(at)} and 1 more), "
        "records unknown: more than --max-dead-letters 10 can allow; 0 of the 1,044 records "
        "read could not be tagged (0%); the results and the dead letters are written")


@pytest.mark.parametrize("limit, dead, read, unread, exceeded", [
    ("1000", 1, 10, 1, True), ("99.9%", 1, 10, 1, True), ("100%", 5, 5, 5, False),
    ("100%", 4, 5, 1, False), ("50%", 3, 5, 0, True), ("50%", 2, 4, 0, False)])
def test_a_part_not_read_passes_no_limit_but_100_percent(limit, dead, read, unread, exceeded):
    assert dead_letter_limit(limit).exceeded(dead, read, unread) is exceeded


def test_the_meaning_counts_records_and_parts_apart():
    counts = {"dead_letters": 3, "unread_parts": 0}
    assert dead_letters_meaning(counts) == "(3 records could not be tagged)"
    assert dead_letters_meaning({"dead_letters": 1, "unread_parts": 1}) == (
        "(1 part of the input was not read: a file or the rest of one, its records unknown)")
