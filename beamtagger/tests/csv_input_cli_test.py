"""``beamtagger tag`` on CSV and TSV input end to end: rows tagged as the same JSON Lines are,
columns carried as strings, bad rows in the errors with the line they start on; a header
without the text column and a bad --delimiter refused in one line before launch; ``ReadRecords``
over several files, spread or in blocks, every row once; the format from .csv/.tsv names."""
import json
import re

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.tests.docs_examples_test import default_store  # noqa: F401  (fixture)
from beamtagger.tests.parquet_input_cli_test import _labels, _refusal, _run
from beamtagger.tests.tag_pipeline_test import read_jsonl
from beamtagger.transforms.reading import ReadRecords

TEXTS = ["The cat sat on the mat .", "Paris is in France , she said .", "", "I love café ."]


def test_csv_rows_are_tagged_as_the_same_json_lines_are_bad_rows_dead_letters(
        tiny_tagger, tmp_path, capsys):
    source = tmp_path / "docs.csv"
    source.write_bytes(b'doc;body;n\r\nd1;The cat sat on the mat .;1\r\n'
                       b';"Paris is in France ; she\r\nsaid .";2\r\nd3;;3\r\nd4;too;many;cells\r\n'
                       b'd5;I love caf\xc3\xa9 .;5\r\n')
    code, out, err = _run(capsys, tiny_tagger, source, tmp_path / "c", "--text-field", "body",
                          "--id-field", "doc", "--delimiter", ";")
    assert code == 0, err
    assert "records read                5" in out and "dead letters                1" in out, out
    rows = read_jsonl(str(tmp_path / "c") + "-[0-9]*.jsonl")
    assert sorted((row["id"], row["n"]) for row in rows) == [
        ("d1", "1"), ("d3", "3"), ("d5", "5"), ("docs.csv:3", "2")]
    (letter,) = read_jsonl(str(tmp_path / "c") + "-errors-*.jsonl")
    assert letter == {"source": f"{source}:6", "stage": "decode", "record": "d4;too;many;cells",
                      "reason": "expected 3 cells (the header's columns), got 4"}

    same = tmp_path / "docs.jsonl"
    texts = ["The cat sat on the mat .", "Paris is in France ; she\r\nsaid .", "", "I love café ."]
    same.write_text("".join(json.dumps({"doc": i, "body": t}) + "\n" for i, t in zip(
        ["d1", "docs.csv:3", "d3", "d5"], texts)), encoding="utf-8")
    code, _, err = _run(capsys, tiny_tagger, same, tmp_path / "j", "--text-field", "body",
                        "--id-field", "doc")
    assert code == 0, err
    assert _labels(rows) == _labels(read_jsonl(str(tmp_path / "j") + "-[0-9]*.jsonl"))


def test_a_text_over_max_record_chars_is_a_tokenize_dead_letter_at_its_row(tiny_tagger,
                                                                           tmp_path, capsys):
    source = tmp_path / "long.csv"
    source.write_text('text\n"' + "word " * 20 + '\nmore"\nshort\n', encoding="utf-8")
    code, out, err = _run(capsys, tiny_tagger, source, tmp_path / "m", "--max-record-chars", "50")
    assert code == 0, err
    assert [row["id"] for row in read_jsonl(str(tmp_path / "m") + "-[0-9]*.jsonl")] == [
        "long.csv:4"]
    (letter,) = read_jsonl(str(tmp_path / "m") + "-errors-*.jsonl")
    assert (letter["source"], letter["stage"]) == (f"{source}:2", "tokenize"), letter


def test_a_header_without_the_text_column_and_a_bad_delimiter_are_refused(tiny_tagger,
                                                                         tmp_path, capsys):
    (tmp_path / "a.tsv").write_text("text\tn\nhello\t1\n", encoding="utf-8")
    (tmp_path / "b.tsv").write_text("1\tThe cat sat .\tNOUN\n", encoding="utf-8")
    line = _refusal(capsys, tiny_tagger, tmp_path / "*.tsv", tmp_path)
    assert line.endswith(f"--input {tmp_path / 'b.tsv'}: no text column 'text'; its columns "
                         "are 1, The cat sat ., NOUN (the first row of a CSV or TSV file must "
                         "name the columns)"), line
    line = _refusal(capsys, tiny_tagger, tmp_path / "a.tsv", tmp_path, "--delimiter", ";")
    assert line.endswith("--delimiter: a delimiter applies to csv input only (tsv's is the "
                         "tab), not tsv"), line


@pytest.mark.parametrize("pattern,expected", [
    ("exports/*.csv", "csv"), ("dump.csv.gz", "csv"), ("corpus.TSV.zst", "tsv")])
def test_the_input_format_is_csv_or_tsv_by_the_extension(pattern, expected):
    from beamtagger.pipeline.tag_inputs import infer_input_format

    assert infer_input_format(pattern) == expected


def test_read_records_reads_every_row_of_every_file_once_spread_or_in_blocks(tmp_path):
    for number in range(3):
        rows = "".join(f'{number}-{i},"row {i}\nof file {number}"\n' for i in range(50))
        (tmp_path / f"part-{number}.csv").write_text("id,text\n" + rows, encoding="utf-8")
    expected = sorted(f"{number}-{i}" for number in range(3) for i in range(50))
    for blocks in (False, True):
        with beam.Pipeline() as pipeline:
            read = pipeline | ReadRecords(str(tmp_path / "part-*.csv"), "csv", blocks=blocks)
            records = (read.records | beam.FlatMap(lambda block: block) if blocks
                       else read.records)
            ids = records | "Ids" >> beam.Map(lambda record: record.id)
            assert_that(ids, equal_to(expected))
            assert_that(read.errors, equal_to([]), label="NoErrors")


def test_readme_csv_command(default_store, tmp_path, run_command):  # noqa: F811  (the fixture)
    from beamtagger.tests.docs_examples_test import commands_run_by

    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "orders.csv").write_text(
        '\ufeffbody,customer\r\n"Beam tags this, row by row.",Ann\r\nA row.,Bo\r\n',
        encoding="utf-8")
    (command,) = commands_run_by("csv_input_cli_test.test_readme_csv_command:")
    printed = run_command(command, tmp_path)
    assert re.search(r"^records tagged +2$", printed, re.M), printed
    rows = read_jsonl(str(tmp_path / "out" / "exports-[0-9]*.jsonl"))
    assert sorted((row["id"], row["customer"]) for row in rows) == [
        ("orders.csv:2", "Ann"), ("orders.csv:3", "Bo")]
