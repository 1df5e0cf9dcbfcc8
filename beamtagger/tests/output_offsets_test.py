"""What the ``start`` and ``end`` of ``beamtagger tag``'s JSON Lines and Parquet results mean, as
docs/tagging.md's "The result files" states it: code points of the record's text (not UTF-8
bytes, not UTF-16 units), the text being the line without its ending, nor a byte-order mark,
or a JSON text field with its escapes decoded; and the JavaScript recipe it gives for them."""
import glob
import json
import shutil
import subprocess

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from beamtagger.tests.conftest import run_tag_command as tag
from beamtagger.tests.tag_pipeline_test import read_jsonl

# Characters outside the BMP (two UTF-16 units each), a combining mark, full-width and
# mathematical letters: each moves a UTF-16 or UTF-8 offset away from a code-point one.
LINES = ["Café 😀 ok", "e\u0301 x 𝐝𝐨𝐧'𝐭 ！", "last 中文 line"]
JSON_TEXT = "a\r\nb 😀 c\u0301d\u2028e"


@pytest.fixture
def tagged_runs(tiny_tagger, tmp_path, capsys):
    """{(input kind, output format): {id: (text, tokens)}} of runs over a CRLF text file that
    starts with a byte-order mark and a JSON Lines file whose text holds CRLF and U+2028."""
    text_file = tmp_path / "in.txt"
    text_file.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(LINES).encode("utf-8") + b"\r\n")
    json_file = tmp_path / "in.jsonl"
    json_file.write_text(json.dumps({"id": "j", "text": JSON_TEXT}) + "\n", encoding="utf-8")
    texts = {**{f"in.txt:{n}": line for n, line in enumerate(LINES, 1)}, "j": JSON_TEXT}
    runs = {}
    for kind, source in (("text", text_file), ("jsonl", json_file)):
        for output_format in ("jsonl", "parquet"):
            prefix = tmp_path / "out" / f"{kind}-{output_format}"
            code, _, err = tag(capsys, "--input", str(source), "--output", str(prefix),
                               "--output-format", output_format, "--model",
                               tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
            assert code == 0, err
            files = sorted(glob.glob(f"{prefix}-?????-of-?????.{output_format}"))
            if output_format == "jsonl":
                rows = read_jsonl(f"{prefix}-?????-of-?????.jsonl")
            else:
                rows = ds.dataset(files).to_table().to_pylist()
            runs[kind, output_format] = {
                row["id"].rsplit("/", 1)[-1]: (texts[row["id"].rsplit("/", 1)[-1]],
                                               row["tokens"]) for row in rows}
    return runs


def test_offsets_count_code_points_of_the_record_text(tagged_runs):
    for run, records in tagged_runs.items():
        assert len(records) == (3 if run[0] == "text" else 1), run
        for record_id, (text, tokens) in records.items():
            assert tokens, (run, record_id)
            assert [text[t["start"]:t["end"]] for t in tokens] == [t["text"] for t in tokens], (
                run, record_id)
            # The pyarrow recipe docs/tagging.md gives: utf8_slice_codeunits counts code
            # points, despite its name.
            assert [pc.utf8_slice_codeunits(pa.scalar(text), t["start"], t["end"]).as_py()
                    for t in tokens] == [t["text"] for t in tokens], (run, record_id)
    _, emoji_line = tagged_runs["text", "jsonl"]["in.txt:1"]
    assert [(t["text"], t["start"], t["end"]) for t in emoji_line][1:] == [("😀", 5, 6),
                                                                             ("ok", 7, 9)]


def test_the_readme_javascript_recipe_slices_the_tokens(tagged_runs, tmp_path):
    # docs/tagging.md: JavaScript strings index UTF-16 units, so a consumer slices Array.from(text),
    # whose items are code points; text.slice(start, end) cuts after a non-BMP character.
    node = shutil.which("node")
    if node is None:
        pytest.skip("node (Node.js) is not installed: the JavaScript recipe cannot be run")
    cases = [[text, tokens] for records in tagged_runs.values()
             for text, tokens in records.values()]
    script = tmp_path / "slices.js"
    script.write_text(
        "const cases = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));\n"
        "const out = cases.map(([text, tokens]) => tokens.map(t => [t.text,\n"
        "  Array.from(text).slice(t.start, t.end).join(''), text.slice(t.start, t.end)]));\n"
        "console.log(JSON.stringify(out));\n", encoding="utf-8")
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(cases), encoding="utf-8")
    completed = subprocess.run([node, str(script), str(data)], capture_output=True, text=True,
                               encoding="utf-8", timeout=60, check=True)
    sliced = [token for record in json.loads(completed.stdout) for token in record]
    assert all(token == by_code_points for token, by_code_points, _ in sliced)
    assert any(token != by_units for token, _, by_units in sliced)
