"""``beamtagger tag``'s result files as other tools, and the command itself, read them back
(audit of the result files)."""
import glob
import json

import pyarrow as pa
import pyarrow.dataset as ds

from beamtagger.tests.conftest import run_tag_command as tag


def test_print_results_reads_json_lines_whose_strings_hold_unicode_line_separators(
        tiny_tagger, tmp_path, capsys):
    # JSON writes U+2028 and U+0085 inside strings as they are; --print-results split the
    # file with str.splitlines(), which cuts there, and ended a finished run in a traceback.
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a\u2028b", "text": "Hello there .", "note": "y\x85z"})
                      + "\n", encoding="utf-8")
    code, out, err = tag(capsys, "--input", str(source), "--output", str(tmp_path / "out" / "r"),
                         "--model", tiny_tagger.model_dir, "--embeddings",
                         tiny_tagger.store_path, "--print-results")
    assert code == 0, err
    # The id's line separator as its escape: the listing keeps one line a record.
    assert "a\\u2028b: Hello/" in out.split("\n")[0]
    assert "records tagged              1" in out


def test_every_parquet_shard_has_the_documented_schema_and_they_read_as_one_dataset(
        tiny_tagger, tmp_path, capsys):
    # docs/tagging.md, "The result files": shards with no rows and a run whose every record is a
    # dead letter hold the same schema, and a record with no tokens has an empty list.
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "text": "Hello there .", "lang": "en"}\n{"id": "e", '
                      '"text": ""}\nnot json\n', encoding="utf-8")
    dead = tmp_path / "dead.jsonl"
    dead.write_text("not json\n", encoding="utf-8")
    schema = pa.schema([("id", pa.string()), ("tokens", pa.list_(pa.struct([
        ("text", pa.string()), ("start", pa.int32()), ("end", pa.int32()),
        ("label", pa.string()), ("score", pa.float32())]))), ("fields", pa.string())])
    for name, path, code_wanted in (("some", source, 0), ("dead", dead, 3)):
        code, _, err = tag(capsys, "--input", str(path), "--output", str(tmp_path / "out" / name),
                           "--output-format", "parquet", "--num-shards", "3", "--model",
                           tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
        # A run that tagged none of its records exits 3, its files written all the same.
        assert code == code_wanted, err
    shards = sorted(glob.glob(str(tmp_path / "out" / "*-[0-9]*-of-00003.parquet")))
    assert len(shards) == 6
    assert all(ds.dataset(shard).schema.remove_metadata() == schema for shard in shards)
    rows = {row["id"]: row for row in ds.dataset(shards).to_table().to_pylist()}
    assert rows.keys() == {"a", "e"}
    assert rows["e"]["tokens"] == [] and rows["e"]["fields"] is None
    assert json.loads(rows["a"]["fields"]) == {"lang": "en"}
    assert [token["text"] for token in rows["a"]["tokens"]] == ["Hello", "there", "."]
