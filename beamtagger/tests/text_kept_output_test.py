"""The record's own text in the outputs that need it (``kept_text``): CoNLL-U's ``# text`` is
the text, the forms and MISC's spacing give it back exactly, every entity's text is
``text[start:end]``, the record and batch write paths write the same bytes, the files hold the
fields the record came with, and ``beamtagger tag`` carries the text only where it is used."""
import glob
import json
import pathlib
import re
import shutil
import subprocess
import sys

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.tag_pipeline_test import read_jsonl
from beamtagger.tests.transforms_write_results_test import _as_rows, _run_format_fn
from beamtagger.tokenizer import Tokenizer
from beamtagger.transforms import write_results
from beamtagger.transforms.chunks import SplitIntoChunks, chunk_spans
from beamtagger.transforms.kept_text import KEPT_TEXT_FIELD, split_kept_text, with_kept_text
from beamtagger.transforms.records import TaggedRecord, TextRecord, TokenizedRecord
from beamtagger.transforms.write_results import LINE_BREAK_OR_TAB

_TOKENIZER = Tokenizer()
# Words, punctuation and every kind of whitespace a text may hold between them, and what MISC
# must escape.
_PIECES = st.sampled_from(["New", "York", "I", "don't", ".", ",", "(", ")", "naïve", "👍🏽",
                           "a|b", "x=y", "C:\\dir", " ", " ", "  ", "\t", "\n", "\r\n", "\u00a0",
                           "\u2028", "\u3000", "\x0b", "\x1c", "\x85"])
TEXTS = st.lists(_PIECES, max_size=12).map("".join)
USER_FIELDS = st.sampled_from([None, {"lang": "en"}, {KEPT_TEXT_FIELD: "theirs", "n": 1},
                               {"n": 1, KEPT_TEXT_FIELD: None}])
_UNESCAPES = {"s": " ", "t": "\t", "r": "\r", "n": "\n", "p": "|", "\\": "\\"}


def tagged_with_text(text, labels, fields=None, record_id="r"):
    """The TaggedRecord TagText(keep_text=True) makes of ``text`` (its fields holding it)."""
    kept = with_kept_text(TextRecord(record_id, text, "f:1", fields))
    tokens, starts, ends = _TOKENIZER.tokenize_columns(text)
    names = [labels[i % len(labels)] for i in range(len(tokens))]
    return TaggedRecord(record_id, tokens, starts, ends, tuple(names), (0.5,) * len(tokens),
                        "f:1", kept.fields)


def spaces_of(value):
    """A SpacesAfter / SpacesBefore value decoded (``conllu_blocks.spaces_misc_value``)."""
    return re.sub(r"\\(u[0-9a-f]{4}|U[0-9a-f]{8}|.)", lambda m: _UNESCAPES.get(m.group(1)) or (
        chr(int(m.group(1)[1:], 16))), value)


def text_of_block(block):
    """The record's text as the forms and MISC's spacing give it back."""
    pieces = []
    for line in block.split("\n"):
        if not line or line.startswith("#"):
            continue
        columns = line.split("\t")
        misc = dict(item.split("=", 1) for item in columns[9].split("|") if "=" in item)
        pieces.append(spaces_of(misc.get("SpacesBefore", "")) + columns[1])
        if "SpacesAfter" in misc:
            pieces.append(spaces_of(misc["SpacesAfter"]))
        elif misc.get("SpaceAfter") != "No":
            pieces.append(" ")
    return "".join(pieces)[:-1] if pieces and "SpacesAfter" not in misc else "".join(pieces)


def sentence_text(text):
    """What ``# text`` holds for a record of ``text``: from its first token to its last, each
    character that ends a line a space."""
    stripped_start = len(text) - len(text.lstrip())
    stripped = text[stripped_start:len(text.rstrip())]
    return re.sub(LINE_BREAK_OR_TAB.replace("\t", ""), " ", stripped)


def _blocks(outputs):
    return _as_rows("conllu", outputs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(TEXTS, USER_FIELDS), min_size=1, max_size=6),
       st.sampled_from(["upos", "misc:Tag"]))
def test_conllu_text_is_the_record_text_and_misc_gives_it_back_on_both_paths(texts, column):
    records = [tagged_with_text(text, ["NOUN", "VERB"], fields, f"r{i}")
               for i, (text, fields) in enumerate(texts)]
    rows, dead = _run_format_fn(write_results._FormatRecordsFn(
        "conllu", column, keep_text=True), records)
    wanted, wanted_dead = _run_format_fn(write_results.FormatResultFn(
        "conllu", column, keep_text=True), records)
    assert _blocks(rows) == _blocks(wanted)   # the batch path's bytes are the record path's
    assert len(dead) == len(wanted_dead)
    written = {block.split("\n")[0][len("# sent_id = "):]: block for block in _blocks(rows)}
    for record, (text, _) in zip(records, texts):
        if not record.tokens:
            continue   # CoNLL-U has no empty sentences: a dead letter
        block = written[record.id]
        assert block.split("\n")[1] == "# text = " + sentence_text(text)
        assert text_of_block(block) == text
    assert len(written) + len(dead) == len(records)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(TEXTS, USER_FIELDS), min_size=1, max_size=6),
       st.sampled_from(["jsonl", "parquet"]))
def test_every_entity_text_is_text_start_to_end_and_the_fields_come_back(texts, output_format):
    records = [tagged_with_text(text, ["B-loc", "I-loc", "I-loc", "O"], fields, f"r{i}")
               for i, (text, fields) in enumerate(texts)]
    rows, dead = _run_format_fn(write_results._FormatRecordsFn(
        output_format, entities=True, keep_text=True), records)
    wanted, wanted_dead = _run_format_fn(write_results.FormatResultFn(
        output_format, entities=True, keep_text=True), records)
    assert dead == wanted_dead == []
    if output_format == "parquet":
        wanted = [write_results.pa.Table.from_pylist([row], schema=write_results.result_schema(
            True)) for row in wanted]
    assert _as_rows(output_format, rows) == _as_rows(output_format, wanted)
    if output_format == "jsonl":
        found = [json.loads(line) for out in rows
                 for line in (out.decode() if isinstance(out, bytes) else out).split("\n")]
    else:
        found = [row for table in rows for row in table.to_pylist()]
    by_id = {row["id"]: row for row in found}
    entities = 0
    for record, (text, fields) in zip(records, texts):
        row = by_id[record.id]
        for entity in row["entities"]:
            assert entity["text"] == text[entity["start"]:entity["end"]]
            entities += 1
        if output_format == "jsonl":
            assert {k: v for k, v in row.items() if k not in ("id", "tokens", "entities")} == (
                fields or {})
        else:
            assert (json.loads(row["fields"]) if row["fields"] else None) == fields
    assert entities or not any(r.tokens for r in records)


def test_a_field_of_the_kept_text_s_name_stays_the_user_s_in_its_place():
    record = TextRecord("a", "New York", "f:1", {KEPT_TEXT_FIELD: 7, "z": 1})
    kept = with_kept_text(record)
    assert record.fields == {KEPT_TEXT_FIELD: 7, "z": 1}   # the caller's dict untouched
    assert list(kept.fields) == [KEPT_TEXT_FIELD, "z"]
    assert split_kept_text(kept.fields) == ("New York", {KEPT_TEXT_FIELD: 7, "z": 1})
    # A TokenizedRecord has no text: nothing kept, unless the name must be held apart.
    tokenized = TokenizedRecord.from_tokens("b", ["x"], "f:2", {"lang": "en"})
    assert with_kept_text(tokenized) is tokenized
    clashing = with_kept_text(tokenized._replace(fields={KEPT_TEXT_FIELD: "t"}))
    assert split_kept_text(clashing.fields) == (None, {KEPT_TEXT_FIELD: "t"})
    with pytest.raises(ValueError, match="TagText"):
        split_kept_text({KEPT_TEXT_FIELD: "not a list"})


def test_the_chunks_of_a_long_record_carry_only_their_tokens():
    text = " ".join(["word"] * 50)
    kept = with_kept_text(TextRecord("a", text, "f:1"))
    tokens, starts, ends = _TOKENIZER.tokenize_columns(text)
    record = TokenizedRecord("a", tokens, starts, ends, "f:1", kept.fields)
    with beam.Pipeline() as p:
        chunked = (p | beam.Create([record]) | SplitIntoChunks(8, 2))
        segments = chunked.segments | "Fields" >> beam.Map(lambda s: (s.num_chunks, s.fields))
        long_records = chunked.long_records | "Kept" >> beam.Map(
            lambda keyed: split_kept_text(keyed[1].fields)[0])
        assert_that(segments, equal_to([(len(chunk_spans(len(tokens), 8, 2)), None)] * len(
            chunk_spans(len(tokens), 8, 2))), label="chunks without fields")
        assert_that(long_records, equal_to([text]), label="the text once")


ODD_TEXT = ("  New\u00a0York  is\tbig .\r\nThe cat sat\u3000on the mat|=x\\y .  ")


def _tag(capsys, tagger, source, prefix, *more):
    code, out, err = run_tag_command(capsys, "--input", str(source), "--output", str(prefix),
                                     "--model", tagger.model_dir, "--embeddings",
                                     tagger.store_path, *more)
    assert code == 0, err
    return out


def _conllu_blocks(prefix):
    text = "".join(open(path, encoding="utf-8").read()
                   for path in sorted(glob.glob(f"{prefix}-[0-9]*-of-*.conllu")))
    return [block for block in text.split("\n\n") if block.strip()]


@pytest.mark.parametrize("chunk", [None, "4"])
def test_tag_conllu_of_json_lines_gives_the_text_back(tmp_path, tiny_tagger, capsys, chunk):
    source = tmp_path / "in.jsonl"
    texts = {"a": ODD_TEXT, "b": "plain words here .", "c": "New\nYork\n"}
    source.write_text("".join(json.dumps({"id": k, "text": v, KEPT_TEXT_FIELD: "mine"}) + "\n"
                              for k, v in texts.items()), encoding="utf-8")
    more = ["--chunk", chunk, "--overlap", "1"] if chunk else []
    _tag(capsys, tiny_tagger, source, tmp_path / "u", "--input-format", "jsonl",
         "--output-format", "conllu", *more)
    blocks = {block.split("\n")[0][len("# sent_id = "):]: block
              for block in _conllu_blocks(tmp_path / "u")}
    assert sorted(blocks) == sorted(texts)
    for record_id, text in texts.items():
        assert blocks[record_id].split("\n")[1] == "# text = " + sentence_text(text)
        assert text_of_block(blocks[record_id]) == text
    assert "# text = New\u00a0York  is\tbig .  The cat sat\u3000on the mat|=x\\y ." in blocks["a"]


def test_tag_entities_are_the_text_between_their_offsets(tmp_path, entity_tagger, capsys):
    source = tmp_path / "in.jsonl"
    words = "Paris\u00a0went\nhome  yesterday\tParis went"
    texts = [words, "they did  not go to\nParis today", "Paris"]
    source.write_text("".join(json.dumps({"text": t, "n": i}) + "\n"
                              for i, t in enumerate(texts)), encoding="utf-8")
    for output_format in ("jsonl", "parquet"):
        _tag(capsys, entity_tagger, source, tmp_path / output_format, "--input-format", "jsonl",
             "--output-format", output_format, "--chunk", "3", "--overlap", "1")
    rows = read_jsonl(f"{tmp_path}/jsonl-[0-9]*-of-*.jsonl")
    table = [row for path in glob.glob(f"{tmp_path}/parquet-[0-9]*-of-*.parquet")
             for row in pq.read_table(path).to_pylist()]
    found = 0
    for row in rows:
        assert set(row) == {"id", "n", "tokens", "entities"}   # the kept text is not written
        text = texts[row["n"]]
        for entity in row["entities"]:
            assert entity["text"] == text[entity["start"]:entity["end"]]
            found += " " not in entity["text"] and entity["end"] - entity["start"] > 5
    for row in table:
        assert json.loads(row["fields"]) == {"n": int(row["id"].rpartition(":")[2]) - 1}
        text = texts[json.loads(row["fields"])["n"]]
        assert all(e["text"] == text[e["start"]:e["end"]] for e in row["entities"])
    assert sum(len(row["entities"]) for row in rows) == sum(len(r["entities"]) for r in table)
    assert sum(len(row["entities"]) for row in rows), "no entity found: the test checks nothing"


def _keeps_text(job):
    from beamtagger.pipeline.tag_pipeline import build_tag_pipeline

    pipeline = beam.Pipeline()
    build_tag_pipeline(pipeline, job)
    labels = []

    class Visitor(beam.pipeline.PipelineVisitor):
        def enter_composite_transform(self, node):
            labels.append(node.full_label)

        def visit_transform(self, node):
            labels.append(node.full_label)

    pipeline.visit(Visitor())
    return any(label.endswith("/KeepText") for label in labels)


@pytest.mark.parametrize("input_format,output_format,entities,keeps", [
    ("text", "jsonl", False, False), ("text", "parquet", False, False),
    ("jsonl", "conll", False, False), ("conllu", "conllu", False, False),
    ("conll", "conllu", False, False), ("text", "conllu", False, True),
    ("jsonl", "conllu", False, True), ("text", "jsonl", True, True),
    ("jsonl", "parquet", True, True), ("conll", "jsonl", True, False),
    ("parquet", "conllu", False, True), ("parquet", "jsonl", False, False)])
def test_tag_carries_the_text_only_where_an_output_uses_it(
        tmp_path, tiny_tagger, input_format, output_format, entities, keeps):
    from beamtagger.pipeline.tag_pipeline import TagJob

    source = tmp_path / "in.txt"
    source.write_text("a b\n", encoding="utf-8")
    job = TagJob(str(source), str(tmp_path / "out"), input_format, output_format,
                 model_dir=tiny_tagger.model_dir, store_path=tiny_tagger.store_path,
                 runtime="numpy", entities=entities)
    assert _keeps_text(job) == keeps


def _udvalidate():
    # Beside this interpreter first: `make test` runs the venv's python without its bin on PATH.
    beside = pathlib.Path(sys.executable).with_name("udvalidate")
    path = str(beside) if beside.exists() else shutil.which("udvalidate")
    if path is None:
        pytest.skip("UD's validator (udvalidate) is not installed: pip install -e '.[test]'")
    return path


def test_ud_validator_accepts_ewt_dev_text_and_odd_spacing(tmp_path, tiny_tagger, capsys,
                                                           shared_data):
    validator = _udvalidate()
    dev = shared_data / "ud-english-ewt" / "en_ewt-ud-dev.conllu"
    texts = [line[len("# text = "):].rstrip("\n") for line in open(dev, encoding="utf-8")
             if line.startswith("# text = ")]
    texts += [ODD_TEXT, "New\nYork", "\ta  b\u00a0c\u2028d "]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    _tag(capsys, tiny_tagger, source, tmp_path / "u", "--input-format", "jsonl",
         "--output-format", "conllu", "--tag-column", "upos", "--num-shards", "1")
    blocks = _conllu_blocks(tmp_path / "u")
    assert len(blocks) == len(texts)
    by_id = {int(b.split("\n")[0].rpartition(":")[2]): b for b in blocks}
    assert all(text_of_block(by_id[i + 1]) == text for i, text in enumerate(texts))
    # The tagger predicts no HEAD, and level 2 checks ``# text`` only in a valid tree: each
    # sentence is given a flat one (word 1 the root, the others its ``dep``) to be checked.
    path = tmp_path / "flat.conllu"
    path.write_text("\n\n".join("\n".join(_with_flat_tree(line) for line in block.split("\n"))
                                for block in blocks) + "\n\n", encoding="utf-8")
    result = subprocess.run([validator, "--level", "2", "--lang", "en", "--max-err", "0",
                             str(path)], capture_output=True, text=True)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-3000:]


def _with_flat_tree(line):
    columns = line.split("\t")
    if len(columns) != 10:
        return line
    columns[6:8] = ["0", "root"] if columns[0] == "1" else ["1", "dep"]
    return "\t".join(columns)


def test_a_schema_d_row_keeps_its_text_as_the_record_it_becomes():
    """Beam YAML's rows and a user's NamedTuples are TextRecords by column name (schema_rows);
    their text was not kept, and CoNLL-U's # text was rebuilt from their tokens."""
    row = beam.Row(text="New  York", id="r", lang="en")
    kept = with_kept_text(row)
    assert kept == TextRecord("r", "New  York", "", {"lang": "en", KEPT_TEXT_FIELD: ["New  York"]})
    assert split_kept_text(kept.fields) == ("New  York", {"lang": "en"})
    assert with_kept_text(beam.Row(text="no id")) == beam.Row(text="no id")  # Tokenize's to refuse


@pytest.mark.parametrize("streaming_batches", [False, True])
def test_tag_text_keeps_the_text_of_schema_d_rows(tiny_tagger, streaming_batches):
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.direct.direct_runner import DirectRunner
    from apache_beam.testing.test_pipeline import TestPipeline

    from beamtagger.transforms import TagText

    options = {**tiny_tagger.options, "keep_text": True}
    if streaming_batches:   # no blocks of records: the rows reach KeepText one by one
        options["max_buffering_secs"] = 1
    # Streaming batches in a streaming pipeline, on the DirectRunner's runner for those: a
    # bounded one ran on the FnApiRunner, whose triggers have no clock on Beam 2.77 ("'NoneType'
    # object has no attribute 'time'"; 2.78's FnApiRunner has one, its DirectRunner not).
    with TestPipeline(runner=DirectRunner(), options=PipelineOptions(
            streaming=streaming_batches)) as p:
        rows = p | beam.Create([beam.Row(text="New  York\tis big", id="r", lang="en")])
        out = rows | TagText(**options)
        assert_that(out.tagged | beam.Map(lambda r: split_kept_text(r.fields)),
                    equal_to([("New  York\tis big", {"lang": "en"})]))
