"""ReadRecords: per-record decoding, ids and line numbers, dead letters, nothing lost."""
import gzip
import json

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.transforms import counters
from beamtagger.transforms.read_records import ReadRecords, parse_records
from beamtagger.transforms.records import DeadLetter, TextRecord, TokenizedRecord


def numbered(raw_lines):
    return list(enumerate(raw_lines, start=1))


def test_text_lines_become_records_with_file_line_ids_and_bad_utf8_becomes_a_dead_letter():
    lines = numbered([b"\xef\xbb\xbfFirst line.\n", b"caf\xe9 au lait\r\n", b"\n", b"Last one"])
    items = list(parse_records(lines, "/data/in.txt", "text"))
    assert items[0] == TextRecord("in.txt:1", "First line.", "/data/in.txt:1")
    assert isinstance(items[1], DeadLetter)
    assert items[1].source == "/data/in.txt:2"
    assert "not valid UTF-8" in items[1].reason
    assert items[1].record == "caf\\xe9 au lait"
    assert items[2] == TextRecord("in.txt:3", "", "/data/in.txt:3")
    assert items[3].text == "Last one"


def test_jsonl_takes_text_and_id_fields_and_passes_the_rest_through():
    lines = numbered([
        json.dumps({"doc": "d1", "body": "Hello there", "lang": "en"}).encode(),
        b"   ",
        b"{not json",
        json.dumps({"doc": "d2"}).encode(),
        json.dumps({"body": 7}).encode(),
        b"[1, 2]",
        json.dumps({"body": "no id here"}).encode(),
    ])
    items = list(parse_records(lines, "x/in.jsonl", "jsonl", text_field="body", id_field="doc"))
    assert items[0] == TextRecord("d1", "Hello there", "x/in.jsonl:1", {"lang": "en"})
    reasons = [item.reason for item in items[1:5]]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1] == "missing text field 'body'"
    assert reasons[2] == "text field 'body' is a number, not a string"
    assert reasons[3] == "expected a JSON object, found list"
    assert items[5] == TextRecord("in.jsonl:7", "no id here", "x/in.jsonl:7", None)
    assert len(items) == 6  # the blank line is not a record


def test_conllu_sentences_keep_sent_id_and_a_malformed_sentence_costs_only_itself():
    text = ("# sent_id = s1\n1\tHello\t_\t_\t_\t_\t_\t_\t_\t_\n2\tworld\t_\t_\t_\t_\t_\t_\t_\t_\n\n"
            "1\tbroken\n\n"
            "# sent_id = s3\n1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n1\tdo\t_\t_\t_\t_\t_\t_\t_\t_\n"
            "2\tn't\t_\t_\t_\t_\t_\t_\t_\t_\n")
    items = list(parse_records(numbered(text.encode().splitlines(True)), "c.conllu", "conllu"))
    assert items[0] == TokenizedRecord("s1", ("Hello", "world"), (0, 6), (5, 11), "c.conllu:2")
    assert isinstance(items[1], DeadLetter) and items[1].source == "c.conllu:5"
    assert "c.conllu:5" in items[1].reason
    assert items[2].id == "s3" and items[2].tokens == ("do", "n't")


def test_conll_reads_tagged_and_token_only_blocks_and_skips_docstart():
    text = b"-DOCSTART- O\n\nNew\tB-LOC\nYork\tI-LOC\n\nplain\ntokens\n\n\t\nx y z\n"
    items = list(parse_records(numbered(text.splitlines(True)), "w.conll", "conll"))
    assert [(i.id, i.tokens) for i in items[:2]] == [("w.conll:3", ("New", "York")),
                                                   ("w.conll:6", ("plain", "tokens"))]
    assert isinstance(items[2], DeadLetter) and "expected 2 columns" in items[2].reason
    assert len(items) == 3


def test_read_records_in_a_pipeline_accounts_for_every_record(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"one\ntwo \xff\n\nthree\n")
    with gzip.open(tmp_path / "b.txt.gz", "wb") as out:
        out.write(b"four\nfive\n")
    with beam.Pipeline() as p:
        read = p | ReadRecords(str(tmp_path / "*.txt*"), "text")
        assert_that(read.records | "Ids" >> beam.Map(lambda r: r.id),
                    equal_to(["a.txt:1", "a.txt:3", "a.txt:4", "b.txt.gz:1", "b.txt.gz:2"]),
                    label="records")
        assert_that(read.errors | "Sources" >> beam.Map(lambda e: e.source.rsplit("/", 1)[1]),
                    equal_to(["a.txt:2"]), label="errors")
    counts = counters.query_counters(p.result)
    assert counts["records_read"] == 6
    assert counts["dead_letters"] == 1
