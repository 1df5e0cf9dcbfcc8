"""WriteResults: several inputs merged after formatting; JSON lines for any record."""
import glob
import json

import apache_beam as beam
import pytest

from beamtagger.transforms.records import TaggedRecord
from beamtagger.transforms.write_results import WriteResults, to_json_line


def record(id, tokens, fields=None):
    n = len(tokens)
    return TaggedRecord(id, tuple(tokens), tuple(range(n)), tuple(range(1, n + 1)),
                        ("X",) * n, (0.123456,) * n, id, fields)


@pytest.mark.parametrize("output_format", ["jsonl", "conll", "parquet"])
def test_several_inputs_go_to_one_set_of_files(tmp_path, output_format):
    prefix = str(tmp_path / "out" / "r")
    with beam.Pipeline() as p:
        whole = p | "Whole" >> beam.Create([record("a", ["x", "y"]), record("b", ["z"])])
        stitched = p | "Stitched" >> beam.Create([record("long", ["w"] * 300)])
        empty = p | "Empty" >> beam.Create([record("e", [])])
        _ = (whole, stitched, empty) | WriteResults(prefix, output_format)
    files = glob.glob(f"{prefix}-*-of-*.{output_format}")
    assert files
    if output_format == "jsonl":
        rows = [json.loads(line) for path in files for line in open(path, encoding="utf-8")]
        assert sorted(row["id"] for row in rows) == ["a", "b", "e", "long"]
    elif output_format == "conll":
        text = "".join(open(path, encoding="utf-8").read() for path in files)
        assert sorted(line for line in text.splitlines() if line.startswith("# id")) == [
            "# id = a", "# id = b", "# id = e", "# id = long"]
    else:
        import pyarrow.parquet as pq
        assert sorted(pq.read_table(files).column("id").to_pylist()) == ["a", "b", "e", "long"]


def test_json_lines_round_scores_and_keep_passthrough_fields():
    line = to_json_line(record("a", ["naïve", "x"], {"lang": "en", "n": 3}))
    assert "naïve" in line  # UTF-8, not \u escapes
    row = json.loads(line)
    assert row["lang"] == "en" and row["n"] == 3
    assert [t["score"] for t in row["tokens"]] == [0.1235, 0.1235]


def test_records_orjson_refuses_still_become_valid_utf8_json():
    huge = to_json_line(record("a", ["x"], {"big": 2 ** 70}))
    assert json.loads(huge)["big"] == 2 ** 70
    surrogate = to_json_line(record("b", ["bad\ud800"]))
    surrogate.encode("utf-8")  # what the text sink does; a lone surrogate would raise here
    assert json.loads(surrogate)["tokens"][0]["text"] == "bad\ud800"


def test_passthrough_fields_named_like_output_keys_are_kept_under_another_name():
    row = json.loads(to_json_line(record("a", ["x"], {"tokens": [1, 2], "id": "theirs",
                                                      "input_id": "taken"})))
    assert row["id"] == "a" and [t["text"] for t in row["tokens"]] == ["x"]
    assert row["input_tokens"] == [1, 2] and row["input_id"] == "taken"
    assert row["input_input_id"] == "theirs"


def test_nan_and_infinity_in_passthrough_fields_are_written_as_null():
    from beamtagger.transforms.write_results import to_parquet_row

    fields = {"v": float("nan"), "w": [float("inf"), 1.5], "big": 2 ** 70}
    assert json.loads(to_json_line(record("a", ["x"], fields)))["w"] == [None, 1.5]
    stored = json.loads(to_parquet_row(record("a", ["x"], fields))["fields"])  # strict JSON
    assert stored == {"v": None, "w": [None, 1.5], "big": 2 ** 70}


def test_records_a_format_cannot_hold_become_format_dead_letters(tmp_path):
    import pyarrow.parquet as pq

    prefix = str(tmp_path / "r")
    with beam.Pipeline() as p:
        written = (p | beam.Create([record("good", ["x"]), record("bad", ["x\ud800"])])
                   | WriteResults(prefix, "parquet"))
        errors = written.errors | beam.Map(lambda letter: (letter.stage, letter.source))
        from apache_beam.testing.util import assert_that, equal_to
        assert_that(errors, equal_to([("format", "bad")]))
    assert pq.read_table(glob.glob(prefix + "-*.parquet")).column("id").to_pylist() == ["good"]


def test_conll_blocks_keep_one_line_per_token_whatever_the_id_and_tokens_hold():
    from beamtagger.transforms.write_results import to_conll_block

    block = to_conll_block(record("id\nwith\r\nbreaks\u2028", ["a\tb", "c\x0bd", "e\ud800"]))
    lines = block.splitlines()
    assert lines == ["# id = id\\nwith\\r\\nbreaks\\u2028", "a\\tb\tX", "c\\u000bd\tX",
                     "e\\ud800\tX"]
    block.encode("utf-8")


def test_beams_type_check_refuses_records_that_are_not_tagged_records(tmp_path):
    from apache_beam.typehints.decorators import TypeCheckError

    from beamtagger.transforms import TextRecord

    for wrong in ((beam.Create([TextRecord("a", "some text")]),),
                  (beam.Create([record("a", ["x"])]), beam.Create([TextRecord("b", "text")]))):
        with pytest.raises(TypeCheckError, match="WriteResults.*TaggedRecord.*TextRecord"):
            with beam.Pipeline() as p:
                parts = tuple(p | f"Part{i}" >> create for i, create in enumerate(wrong))
                _ = (parts[0] if len(parts) == 1 else parts) | WriteResults(
                    str(tmp_path / "out"))
