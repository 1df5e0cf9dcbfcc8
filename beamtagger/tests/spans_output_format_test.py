"""``WriteResults(output_format="spans")``: an entity tagger's results as span JSON Lines
(``{"id", "text", "spans": [{"start", "end", "label", "score"}], fields...}``), the same lines
column by column as record by record, read back by ``train``'s spans reader as the entities
written."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beamtagger.span_corpus import SpanReadStats, parse_span_lines
from beamtagger.tests.entities_output_test import bio_records
from beamtagger.tests.transforms_write_results_test import _as_rows, _run_format_fn
from beamtagger.transforms import tagged_batches, write_results
from beamtagger.transforms.kept_text import KEPT_TEXT_FIELD
from beamtagger.transforms.records import TaggedRecord, TextRecord, entity_spans
from beamtagger.transforms.write_results import WriteResults, to_spans_line


def _with_own_text(record, draw_text):
    """The record as ``TagText(keep_text=True)`` hands it on: its text in its fields."""
    if not record.tokens or not draw_text:
        return record
    gaps = ["\n" if i % 2 else "\u00a0" for i in range(len(record.tokens))]
    text = " " * record.starts[0]
    for token, gap, start in zip(record.tokens, gaps, record.starts):
        text += gap * (start - len(text)) + token
    return record._replace(fields={**(record.fields or {}), KEPT_TEXT_FIELD: [text]})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(bio_records(), st.booleans()), max_size=8))
def test_span_lines_written_in_groups_are_what_each_record_alone_writes(drawn):
    records = [_with_own_text(record, own) for record, own in drawn]
    rows, dead = _run_format_fn(write_results._FormatRecordsFn("spans", keep_text=True), records)
    wanted, wanted_dead = _run_format_fn(write_results.FormatResultFn("spans", keep_text=True),
                                         records)
    assert _as_rows("spans", rows) == _as_rows("spans", wanted)
    assert dead == wanted_dead == []


RECORD = TaggedRecord("r1", ("Ann", "met", "Bob", "Lee", "today"), (0, 4, 9, 13, 17),
                      (3, 7, 12, 16, 22), ("B-per", "O", "B-per", "I-per", "I-loc"),
                      (0.5, 0.75, 0.625, 0.875, 0.25), "f:1",
                      {"lang": "en", "text": "a field", "spans": 3, KEPT_TEXT_FIELD:
                       ["Ann met  Bob\nLee today"]})


def test_a_span_line_holds_the_record_s_own_text_and_entities_and_its_fields_renamed():
    text, rows = tagged_batches.span_lines_text(*reversed(
        tagged_batches.kept_texts(tagged_batches.tagged_batch_of_tagged_records([RECORD],
                                                                                [])[0])))
    assert rows == []
    line = json.loads(text)
    assert line == {"id": "r1", "text": "Ann met  Bob\nLee today",
                    "spans": [{"start": 0, "end": 3, "label": "per", "score": 0.5},
                              {"start": 9, "end": 16, "label": "per", "score": 0.625},
                              {"start": 17, "end": 22, "label": "loc", "score": 0.25}],
                    "lang": "en", "input_text": "a field", "input_spans": 3}
    assert list(line)[:3] == ["id", "text", "spans"]
    # Without its own text, the tokens as their offsets place them: every span still on them.
    alone = json.loads(to_spans_line(RECORD._replace(fields=None)))
    assert alone["text"] == "Ann met  Bob Lee today" and alone["spans"] == line["spans"]


@pytest.mark.parametrize("fields, read_back", [
    ({"big": 2 ** 70}, {"big": 2 ** 70}),   # over 64 bits: orjson refuses it
    ({"key": {1: "a"}}, {"key": {"1": "a"}}),   # a key that is no str: orjson refuses it
])
def test_a_span_line_orjson_refuses_is_still_written_as_ascii_json(fields, read_back):
    written = to_spans_line(RECORD._replace(fields=fields))
    assert written.isascii()
    line = json.loads(written)
    assert {key: line[key] for key in read_back} == read_back
    assert line["spans"] == json.loads(to_spans_line(RECORD._replace(fields=None)))["spans"]


def test_fields_named_like_the_span_keys_in_another_case_are_renamed():
    """A CSV column "ID" or "Text" beside the line's "id" and "text": one column to DuckDB's
    read_json_auto, which reads names in any case (``SELECT text`` got the field)."""
    record = RECORD._replace(fields={"Text": "theirs", "ID": 7, "Spans": [], "Answer": "no"})
    columns, rows = tagged_batches.span_lines_text(
        tagged_batches.tagged_batch_of_tagged_records([record], [])[0])
    assert rows == [] and columns.decode() == to_spans_line(record)
    line = json.loads(columns)
    assert (line["input_Text"], line["input_ID"], line["input_Spans"]) == ("theirs", 7, [])
    assert line["Answer"] == "no" and line["id"] == "r1"
    assert len({key.lower() for key in line}) == len(line), list(line)


def test_a_prodigy_export_tagged_again_keeps_its_old_answer_apart_from_the_new_spans():
    """A Prodigy line carries its verdict on an earlier annotation ("answer": "reject"): kept
    under that name, the new predictions would read as rejected, and train would leave the
    line out."""
    record = RECORD._replace(fields={"answer": "reject", "meta": {"source": "x"},
                                     "input_answer": "accept"})
    columns, rows = tagged_batches.span_lines_text(
        tagged_batches.tagged_batch_of_tagged_records([record], [])[0])
    assert rows == [] and columns.decode() == to_spans_line(record)
    line = json.loads(columns)
    assert "answer" not in line and line["input_input_answer"] == "reject"
    assert line["meta"] == {"source": "x"} and line["input_answer"] == "accept"
    stats = SpanReadStats()
    assert len(list(parse_span_lines([(1, columns.decode())], "out.jsonl", stats=stats))) == 1
    assert stats.not_accepted == 0 and stats.spans == 3


def test_span_files_are_json_lines_and_refuse_what_other_formats_own(tmp_path):
    import apache_beam as beam

    prefix = str(tmp_path / "s")
    with beam.Pipeline() as p:
        _ = (p | beam.Create([RECORD, RECORD._replace(id="r2", tokens=(), starts=(), ends=(),
                                                      labels=(), scores=(), fields=None)])
             | WriteResults(prefix, "spans", num_shards=3, keep_text=True))
    import glob
    files = sorted(glob.glob(f"{prefix}-?????-of-00003.jsonl"))
    assert len(files) == 3   # empty shards too
    lines = [json.loads(line) for name in files for line in open(name, encoding="utf-8")]
    assert sorted(line["id"] for line in lines) == ["r1", "r2"]
    assert {"id": "r2", "text": "", "spans": []} in lines
    for option in ({"field_columns": ["lang"]}, {"tag_column": "upos"}, {"entities": True},
                   {"keep_conllu_lines": True}):
        with pytest.raises(ValueError, match="spans"):
            WriteResults(prefix, "spans", **option)


def test_print_results_lists_a_span_line_s_text_on_one_line(tmp_path, capsys):
    from beamtagger.pipeline.tag_outputs import print_results

    text = "Ann met\r\n Bob\u2028Lee today"
    (tmp_path / "s-00000-of-00001.jsonl").write_text(json.dumps(
        {"id": "c1", "text": text, "spans": [{"start": 0, "end": 3, "label": "per"},
                                             {"start": 10, "end": 17, "label": "per"}]}) + "\n",
        encoding="utf-8")
    print_results(str(tmp_path / "s"), "spans")
    assert capsys.readouterr().out.splitlines() == [
        "c1: Ann met Bob Lee today", "  entities: [Ann]/per, [Bob Lee]/per"]


TEXTS = ["Paris went home yesterday with Anna Smith", "the cat sat on the mat .",
         "they did not go to  New\u00a0York today , she went", "👍🏽 a dog ! the apples\tand Lee"]


def test_tagged_records_written_as_spans_read_back_with_the_same_entities(entity_tagger):
    """The loop's first step: the tiny entity tagger's records -> span lines -> ``train``'s
    spans reader (``span_corpus``) gives each record's tokens and the BIO tags of the entities
    written, none widened."""
    from beamtagger.tagger import Tagger
    from beamtagger.tokenizer import Tokenizer

    tagger = Tagger(entity_tagger.model_dir, entity_tagger.store_path, runtime="numpy")
    tagged = [tagger.tag(TextRecord(f"doc{i}", text, f"in:{i}")) for i, text in
              enumerate(TEXTS)]
    lines = [to_spans_line(record, text) for record, text in zip(tagged, TEXTS)]
    stats = SpanReadStats()
    sentences = list(parse_span_lines(enumerate(lines, start=1), "out.jsonl", stats=stats))
    written = [entity_spans(record, text) for record, text in zip(tagged, TEXTS)]
    assert sum(map(len, written)) >= 3, "the tiny tagger found too few entities to check"
    assert stats.spans == sum(map(len, written)) and stats.snapped_spans == 0
    tokenizer = Tokenizer()
    for sentence, record, text, entities in zip(sentences, tagged, TEXTS, written):
        assert sentence.sent_id == record.id and sentence.tokens == record.tokens
        _, starts, ends = tokenizer.tokenize_columns(text)
        read = [(starts[i], ends[j], tag[2:]) for i, j, tag in _entity_ranges(sentence.tags)]
        assert read == [(e.start, e.end, e.label) for e in entities]


def _entity_ranges(tags):
    """(first, last, B- tag) of each entity of well-formed BIO tags (the reader writes them)."""
    ranges = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            ranges.append([i, i, tag])
        elif tag.startswith("I-"):
            ranges[-1][1] = i
    return [tuple(r) for r in ranges]


def _documented_jq(target):
    """The jq command of tagging.md's spans bullet that writes ``target``, as a shell line."""
    import re

    from beamtagger.tests.conftest import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "tagging.md").read_text(encoding="utf-8")
    command = re.search(r"`(jq -[cs] '[^`]*> " + re.escape(target) + ")`", doc).group(1)
    return re.sub(r"\s*\n\s*", " ", command)


@pytest.mark.skipif(__import__("shutil").which("jq") is None,
                    reason="jq is not installed: the docs' Doccano and Label Studio one-liners "
                    "cannot be run")
def test_the_documented_jq_one_liners_convert_tag_s_files_beside_a_dead_letter(tmp_path):
    import subprocess

    out = tmp_path / "out"
    out.mkdir()
    text = "Ann 👍🏽 met  Bob\nLee today"
    record = TaggedRecord("r1", ("Ann", "👍🏽", "met", "Bob", "Lee", "today"),
                          (0, 4, 7, 12, 16, 20), (3, 6, 10, 15, 19, 25),
                          ("B-per", "O", "O", "B-per", "I-per", "B-loc"),
                          (0.5, 0.75, 0.625, 0.875, 0.25, 0.5), "f:1", None)
    (out / "sample-00000-of-00001.jsonl").write_text(
        to_spans_line(record, text) + "\n", encoding="utf-8")
    (out / "sample-errors-00000-of-00001.jsonl").write_text(json.dumps(
        {"source": "in.txt:2", "stage": "tokenize", "reason": "too long", "record": "x"})
        + "\n", encoding="utf-8")
    entities = [(e.start, e.end, e.text, e.label) for e in entity_spans(record, text)]
    assert [e[2] for e in entities] == ["Ann", "Bob\nLee", "today"]
    for target in ("doccano.jsonl", "tasks.json"):
        run = subprocess.run(["bash", "-c", _documented_jq(target)], cwd=tmp_path,
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
    doccano = [json.loads(line) for line in open(tmp_path / "doccano.jsonl", encoding="utf-8")]
    assert doccano == [{"id": "r1", "text": text,
                        "label": [[start, end, label] for start, end, _, label in entities]}]
    [task] = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    assert task["data"] == {"text": text, "id": "r1"}
    [prediction] = task["predictions"]
    assert prediction["score"] == 0.25
    assert [(r["value"]["start"], r["value"]["end"], r["value"]["text"], r["value"]["labels"])
            for r in prediction["result"]] == [(s, e, t, [label]) for s, e, t, label in entities]
    assert {(r["from_name"], r["to_name"], r["type"]) for r in prediction["result"]} == {
        ("label", "text", "labels")}
