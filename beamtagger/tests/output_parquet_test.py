"""``beamtagger tag``'s Parquet results hold what its JSON Lines results hold, with the
nulls docs/tagging.md gives them: none but in ``fields``; checked on records that stress a
writer (a NUL, characters outside the BMP, a 5,000-character token, no tokens, pass-through
values JSON writes its own way)."""
import glob
import json

import pyarrow.compute as pc
import pyarrow.dataset as ds

from beamtagger.tests.conftest import run_tag_command as tag
from beamtagger.tests.tag_pipeline_test import read_jsonl

RECORDS = [{"id": "nul", "text": "x\x00y z"},
           {"id": "emoji", "text": "I 😀 love 𝐝𝐨𝐧'𝐭 cafe\u0301 ok ."},
           {"id": "long", "text": "a" * 5000 + " b"},
           {"id": "empty", "text": ""},
           {"id": "spaces", "text": " \u2028 "},
           {"id": "fields", "text": "yo", "lang": "en", "big": 2 ** 70, "n": [1.5, None],
            "tokens": "theirs"}]


def test_parquet_rows_hold_what_json_lines_rows_hold(tiny_tagger, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS),
                      encoding="utf-8")
    rows = {}
    for output_format in ("jsonl", "parquet"):
        prefix = tmp_path / "out" / output_format
        code, _, err = tag(capsys, "--input", str(source), "--output", str(prefix),
                           "--output-format", output_format, "--num-shards", "3", "--model",
                           tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
        assert code == 0, err
        files = sorted(glob.glob(f"{prefix}-?????-of-00003.{output_format}"))
        assert len(files) == 3
        if output_format == "jsonl":
            rows["jsonl"] = read_jsonl(f"{prefix}-?????-of-00003.jsonl")
        else:
            table = ds.dataset(files).to_table()
            rows["parquet"] = table.to_pylist()
    tokens = pc.list_flatten(table.column("tokens"))
    assert table.column("id").null_count == table.column("tokens").null_count == 0
    assert all(pc.struct_field(tokens, [i]).null_count == 0
               for i in range(tokens.type.num_fields))
    assert table.column("fields").null_count == len(RECORDS) - 1

    json_rows = {row["id"]: row for row in rows["jsonl"]}
    assert len(rows["parquet"]) == len(json_rows) == len(RECORDS)
    for row in rows["parquet"]:
        expected = json_rows[row["id"]]
        assert [{**t, "score": round(t["score"], 4)} for t in row["tokens"]] == expected["tokens"]
        passed = {key: value for key, value in expected.items() if key not in ("id", "tokens")}
        if "input_tokens" in passed:   # JSON Lines' name for it; Parquet's ``fields`` keeps its own
            passed["tokens"] = passed.pop("input_tokens")
        assert (json.loads(row["fields"]) if row["fields"] is not None else {}) == passed
    assert json_rows["fields"]["big"] == 2 ** 70 and json_rows["long"]["tokens"][0]["end"] == 5000
    assert [t["text"] for t in json_rows["nul"]["tokens"]] == ["x\x00y", "z"]
    assert json_rows["empty"]["tokens"] == json_rows["spaces"]["tokens"] == []
