"""``beamtagger tag``'s errors file as docs/tagging.md's "The result files" describes it: one
schema for the dead letters of every stage, and the failed records taken from the input by
``source`` with its recipe, tagged again."""
import codecs
import gzip
import json
import sys

import pytest

from beamtagger.tests.conftest import run_tag_command as tag
from beamtagger.tests.docs_examples_test import run, the_block
from beamtagger.tests.tag_pipeline_test import read_jsonl
from beamtagger.transforms.records import STAGES

RETRY_RECIPE = ("docs/tagging.md", "The result files",
                "# Gather the input records of out/run's dead letters into retry.jsonl, by their "
                "`source`, each")


def dead_letters(prefix):
    """The errors files' lines, each parsed as strict JSON (``json.loads``' default)."""
    return read_jsonl(f"{prefix}-errors-?????-of-?????.jsonl")


def results(prefix):
    return {row["id"]: row for row in read_jsonl(f"{prefix}-?????-of-?????.jsonl")}


def test_the_dead_letters_of_every_stage_have_the_same_four_string_keys(
        tiny_tagger, tmp_path, capsys, monkeypatch):
    from beamtagger.model.numpy_inference import NumpyTaggerRunner
    from beamtagger.tests.conftest import fail_batches_of_width

    fail_batches_of_width(monkeypatch, NumpyTaggerRunner, 7)
    lines = [json.dumps({"id": "poison", "text": "one two three four five six seven"}).encode(),
             json.dumps({"id": "long", "text": "this text is far too long for the limit"}).encode(),
             b'{"id": "bad-utf8", "text": "caf\xe9"}', b"{not json",
             json.dumps({"id": "ok", "text": "Fine ."}).encode()]
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    whole = gzip.compress(b"Hello there .\n" * 200)
    (tmp_path / "cut.txt.gz").write_bytes(whole[:len(whole) // 2])
    prefix = tmp_path / "out" / "run"
    code, _, err = tag(capsys, "--input", str(tmp_path / "in.jsonl"), "--output", str(prefix),
                       "--max-record-chars", "34", "--model", tiny_tagger.model_dir,
                       "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    code, _, err = tag(capsys, "--input", str(tmp_path / "cut.txt.gz"), "--output",
                       str(tmp_path / "out" / "cut"), "--model", tiny_tagger.model_dir,
                       "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    letters = dead_letters(prefix) + dead_letters(tmp_path / "out" / "cut")
    assert {letter["stage"] for letter in letters} == {"tag", "tokenize", "decode", "read"}
    for letter in letters:
        assert list(letter) == ["source", "stage", "reason", "record"]
        assert all(isinstance(value, str) for value in letter.values())
        assert letter["stage"] in STAGES and "\n" not in letter["reason"]
    by_stage = {letter["stage"]: letter for letter in letters if letter["stage"] != "decode"}
    # What docs/tagging.md says `record` holds at each stage.
    assert by_stage["tag"]["record"] == "one two three four five six seven"
    assert by_stage["tokenize"]["record"] == "this text is far too long for the limit"
    assert {letter["record"] for letter in letters if letter["stage"] == "decode"} == {
        '{"id": "bad-utf8", "text": "caf\\xe9"}', "{not json"}
    assert by_stage["read"]["source"].startswith(str(tmp_path / "cut.txt.gz") + ":")


@pytest.mark.parametrize("byte_ranges", [False, True], ids=["path:line", "path:@byte"])
def test_the_retry_recipe_tags_the_failed_records_again(tiny_tagger, tmp_path, capsys,
                                                         monkeypatch, byte_ranges):
    if byte_ranges:   # what a file over 64 MiB gets: several readers, byte-offset sources
        from beamtagger.transforms.reading import byte_ranges as ranges

        monkeypatch.setattr(ranges, "DEFAULT_SPLIT_BYTES", 64)
    monkeypatch.chdir(tmp_path)
    lines = [json.dumps({"id": "first", "text": "the first one is too long", "k": [1]}),
             "",
             json.dumps({"id": "short", "text": "Fine ."}),
             json.dumps({"text": "no id and far too long", "lang": "en"}),
             "{not json",
             json.dumps({"id": "last", "text": "the last one is too long"}) + "\r"]
    (tmp_path / "in.jsonl").write_bytes(codecs.BOM_UTF8 + "\n".join(lines).encode() + b"\n")
    code, _, err = tag(capsys, "--input", "in.jsonl", "--output", "out/run",
                       "--max-record-chars", "16", "--model", tiny_tagger.model_dir,
                       "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    sources = sorted(letter["source"] for letter in dead_letters("out/run"))
    assert len(sources) == 4
    assert all(source.startswith("in.jsonl:" + ("@" if byte_ranges else "")) for source in sources)

    (tmp_path / "recipe.py").write_text(the_block(*RETRY_RECIPE), encoding="utf-8")
    run([sys.executable, "recipe.py"], tmp_path)
    code, _, err = tag(capsys, "--input", "retry.jsonl", "--output", "out/retry",
                       "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    retried = results("out/retry")
    # The id-less record keeps the default id its run gave it: its place in in.jsonl (a byte
    # offset where the file was read in ranges), not one in retry.jsonl.
    (no_id,) = set(retried) - {"first", "last"}
    line_4 = "in.jsonl:" + (f"@{len(codecs.BOM_UTF8) + len(chr(10).join(lines[:3])) + 1}"
                            if byte_ranges else "4")
    assert no_id == line_4 and line_4 in sources
    assert retried["first"]["k"] == [1] and retried[no_id]["lang"] == "en"
    assert [t["text"] for t in retried["last"]["tokens"]] == "the last one is too long".split()
    assert [letter["record"] for letter in dead_letters("out/retry")] == ["{not json"]


def test_the_retry_recipe_gives_text_lines_their_ids_again(tiny_tagger, tmp_path, capsys,
                                                           monkeypatch):
    """Text input in folders (the default ids are paths from the pattern's folder): the lines
    tagged again from the recipe's JSON Lines keep the ids their run gave them."""
    monkeypatch.chdir(tmp_path)
    for folder in ("2024", "2025"):
        (tmp_path / "logs" / folder).mkdir(parents=True)
        (tmp_path / "logs" / folder / "part-0.txt").write_text(
            "Fine .\nthis line is far too long\n", encoding="utf-8")
    code, _, err = tag(capsys, "--input", "logs/*/part-0.txt", "--output", "out/run",
                       "--max-record-chars", "16", "--model", tiny_tagger.model_dir,
                       "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    recipe = the_block(*RETRY_RECIPE)
    for old, new in (('INPUT = "in.jsonl"', 'INPUT = "logs/*/part-0.txt"'),
                     ("TEXT = False", "TEXT = True")):
        assert old in recipe
        recipe = recipe.replace(old, new)
    (tmp_path / "recipe.py").write_text(recipe, encoding="utf-8")
    run([sys.executable, "recipe.py"], tmp_path)
    code, _, err = tag(capsys, "--input", "retry.jsonl", "--output", "out/retry",
                       "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    assert sorted(results("out/retry")) == ["2024/part-0.txt:2", "2025/part-0.txt:2"]
