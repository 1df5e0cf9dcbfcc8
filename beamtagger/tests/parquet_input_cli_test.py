"""``beamtagger tag`` on Parquet input end to end: ``.parquet`` read as Parquet, rows tagged as
the same text in JSON Lines is, columns carried, every row in the results or the errors once;
files it cannot read refused in one line before launch, its own Parquet output included; and
``ReadRecords`` over several files and row groups, spread over workers, in blocks or not."""
import glob
import json
import re

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.tests.conftest import run_tag_command as tag
from beamtagger.tests.docs_examples_test import default_store  # noqa: F401  (fixture)
from beamtagger.tests.tag_pipeline_test import read_jsonl
from beamtagger.transforms.reading import ReadRecords

TEXTS = ["The cat sat on the mat .", "Paris is in France .", "", "I 😀 love café .",
         "a b c d e f g h i j k l m n o p"]


def _run(capsys, tiny_tagger, source, prefix, *more):
    return tag(capsys, "--input", str(source), "--output", str(prefix), "--model",
               tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path, *more)


def _labels(rows):
    return {row["id"]: [token["label"] for token in row["tokens"]] for row in rows}


def test_parquet_rows_are_tagged_as_the_same_json_lines_are_and_carry_their_columns(
        tiny_tagger, tmp_path, capsys):
    source = tmp_path / "docs.parquet"
    pq.write_table(pa.table({
        "doc": ["d0", None, "d2", "d3", "d4", "d5"],
        "body": TEXTS[:3] + [None] + TEXTS[3:],
        "lang": pa.array(["en", "en", "en", "en", "en", "xx"]).dictionary_encode(),
        "tags": [["a"], [], None, ["b"], ["c", "d"], []],
    }), source, row_group_size=4)
    code, out, err = _run(capsys, tiny_tagger, source, tmp_path / "p", "--text-field", "body",
                          "--id-field", "doc")
    assert code == 0, err
    assert "records read                6" in out and "dead letters                1" in out, out
    rows = read_jsonl(str(tmp_path / "p") + "-[0-9]*.jsonl")
    assert sorted(row["id"] for row in rows) == ["d0", "d2", "d4", "d5", "docs.parquet:2"]
    by_id = {row["id"]: row for row in rows}
    assert by_id["d0"]["lang"] == "en" and by_id["d0"]["tags"] == ["a"]
    assert by_id["d2"]["tags"] is None and by_id["d5"]["lang"] == "xx"
    (letter,) = read_jsonl(str(tmp_path / "p") + "-errors-*.jsonl")
    assert letter == {"source": f"{source}:4", "stage": "decode",
                      "reason": "text column 'body' is null", "record": ""}

    same = tmp_path / "docs.jsonl"
    ids = ["d0", "docs.parquet:2", "d2", "d4", "d5"]
    same.write_text("".join(json.dumps({"doc": i, "body": t}) + "\n" for i, t in zip(ids, TEXTS)),
                    encoding="utf-8")
    code, _, err = _run(capsys, tiny_tagger, same, tmp_path / "j", "--text-field", "body",
                        "--id-field", "doc")
    assert code == 0, err
    assert _labels(rows) == _labels(read_jsonl(str(tmp_path / "j") + "-[0-9]*.jsonl"))


def _refusal(capsys, tiny_tagger, source, tmp_path, *more):
    code, _, err = _run(capsys, tiny_tagger, source, tmp_path / "out" / "r", *more)
    assert code == 2, err
    (line,) = err.strip().splitlines()   # one line, no traceback
    assert not glob.glob(str(tmp_path / "out" / "r*"))
    return line


@pytest.mark.parametrize("name,content,message", [
    ("notes.parquet", b"plain text, not Parquet\n", "not a readable Parquet file (ArrowInvalid: "),
    ("empty.parquet", b"", "Parquet file size is 0 bytes"),
])
def test_a_file_that_is_not_parquet_is_refused_before_launch(tiny_tagger, tmp_path, capsys, name,
                                                             content, message):
    source = tmp_path / name
    source.write_bytes(content)
    line = _refusal(capsys, tiny_tagger, source, tmp_path)
    assert line.startswith(f"beamtagger tag: error: --input {source}: ") and message in line, line


def test_a_truncated_file_among_good_ones_is_refused_naming_it(tiny_tagger, tmp_path, capsys):
    pq.write_table(pa.table({"text": TEXTS}), tmp_path / "a.parquet")
    (tmp_path / "b.parquet").write_bytes((tmp_path / "a.parquet").read_bytes()[:-20])
    line = _refusal(capsys, tiny_tagger, tmp_path / "*.parquet", tmp_path)
    assert f"--input {tmp_path / 'b.parquet'}: not a readable Parquet file" in line, line


def test_a_missing_or_integer_text_column_is_refused_naming_the_columns(tiny_tagger, tmp_path,
                                                                       capsys):
    source = tmp_path / "t.parquet"
    pq.write_table(pa.table({"body": TEXTS, "n": list(range(len(TEXTS)))}), source)
    line = _refusal(capsys, tiny_tagger, source, tmp_path)
    assert line.endswith(f"--input {source}: no text column 'text'; its columns are body, n")
    line = _refusal(capsys, tiny_tagger, source, tmp_path, "--text-field", "n")
    assert line.endswith("text column 'n' is int64, not text (string, large_string, "
                         "dictionary-encoded strings, or binary holding UTF-8)"), line


def test_its_own_parquet_output_read_back_is_refused_as_tagged_already(tiny_tagger, tmp_path,
                                                                       capsys):
    source = tmp_path / "in.txt"
    source.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    code, _, err = _run(capsys, tiny_tagger, source, tmp_path / "first", "--output-format",
                        "parquet", "--num-shards", "1")
    assert code == 0, err
    (output,) = glob.glob(str(tmp_path / "first-0*.parquet"))
    line = _refusal(capsys, tiny_tagger, output, tmp_path)
    assert line.endswith("no text column 'text'; its columns are id, tokens, fields "
                         "(beamtagger's own tagged output: its tokens are tagged already, there "
                         "is no text to tag)"), line


def test_the_input_format_is_parquet_by_the_extension_alone():
    from beamtagger.pipeline.tag_inputs import infer_input_format

    assert infer_input_format("lake/part-*.parquet") == "parquet"
    assert infer_input_format("lake/*.parquet", "text") == "text"


def test_read_records_reads_every_row_of_every_file_once_spread_or_in_blocks(tmp_path):
    rows = 0
    for number in range(3):
        count = 700 * (number + 1)
        pq.write_table(pa.table({"text": [f"file {number} row {i}" for i in range(count)]}),
                       tmp_path / f"part-{number}.parquet", row_group_size=500)
        rows += count
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), tmp_path / "part-none.parquet")
    (tmp_path / "part-bad.parquet").write_bytes(b"PAR1 but not really")
    expected = sorted(f"part-{n}.parquet:{i}" for n in range(3) for i in range(1, 700 * (n + 1) + 1))
    for blocks in (False, True):
        with beam.Pipeline() as pipeline:
            read = pipeline | ReadRecords(str(tmp_path / "part-*.parquet"), "parquet",
                                          reshuffle=True, blocks=blocks)
            records = (read.records | beam.FlatMap(lambda block: block) if blocks
                       else read.records)
            ids = records | "Ids" >> beam.Map(lambda record: record.id)
            assert_that(ids, equal_to(expected))
            assert_that(read.errors | beam.Map(lambda letter: (letter.source, letter.stage)),
                        equal_to([(str(tmp_path / "part-bad.parquet"), "read")]),
                        label="OneDeadLetter")
    assert len(expected) == rows


@pytest.mark.slow
def test_readme_parquet_command(default_store, tmp_path, run_command):  # noqa: F811  (the fixture)
    from beamtagger.tests.docs_examples_test import commands_run_by

    (tmp_path / "lake").mkdir()
    pq.write_table(pa.table({"doc_id": ["a", "b"], "body": ["Beam tags this.", "A row."],
                             "year": [2025, 2026]}), tmp_path / "lake" / "part-0.parquet")
    (command,) = commands_run_by("parquet_input_cli_test.test_readme_parquet_command:")
    printed = run_command(command, tmp_path)
    assert re.search(r"^records tagged +2$", printed, re.M), printed
    rows = read_jsonl(str(tmp_path / "out" / "lake-[0-9]*.jsonl"))
    assert sorted((row["id"], row["year"]) for row in rows) == [("a", 2025), ("b", 2026)]
