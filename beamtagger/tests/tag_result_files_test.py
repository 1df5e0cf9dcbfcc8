"""``beamtagger tag``'s result files as other tools, and the command itself, read them back
(audit of the result files)."""
import json

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
    assert "a\u2028b: Hello/" in out
    assert "records tagged              1" in out
