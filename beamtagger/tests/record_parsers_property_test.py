"""Property tests: the JSONL and CoNLL record parsers on arbitrary bytes never raise, account
for every record, and produce dead letters that are valid UTF-8 JSON."""
import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from beamtagger.transforms.reading.record_parsers import parse_records
from beamtagger.transforms.records import DeadLetter, TextRecord, TokenizedRecord

# Bytes that are likely to matter to the parsers, mixed into arbitrary bytes.
SPECIAL = [b"{", b"}", b"[", b"]", b'"', b"\\", b"\\u", b"\\ud800", b"\\udc00", b"text", b":",
           b",", b"\t", b"\r", b" ", b"#", b"# id = ", b"=", b"-DOCSTART-", b"\xef\xbb\xbf",
           b"\xff", b"\xc3", b"\x00", b"1", b"1-2", b"2.1", b"_", b"null", b"NaN", b"1e999"]
line_bytes = st.lists(st.one_of(st.binary(max_size=12), st.sampled_from(SPECIAL)),
                      max_size=12).map(b"".join).map(lambda line: line.replace(b"\n", b" "))
json_lines = st.one_of(
    line_bytes,
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                 lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8
                 ).map(lambda v: json.dumps({"text": v} if isinstance(v, str) else v).encode()))
files = st.lists(line_bytes, max_size=25)


def check_item(item):
    assert isinstance(item, (TextRecord, TokenizedRecord, DeadLetter))
    if isinstance(item, DeadLetter):
        line = item.to_json()
        assert "\n" not in line and "\n" not in item.reason
        assert json.loads(line.encode("utf-8").decode("utf-8"))["stage"] == "decode"
    else:
        for text in (item.id, getattr(item, "text", ""), *getattr(item, "tokens", ())):
            text.encode("utf-8")  # nothing a UTF-8 writer cannot write
        json.dumps(item.fields)  # passthrough fields stay JSON


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_lines, max_size=20))
def test_jsonl_parser_yields_one_item_per_non_blank_line(lines):
    numbered = list(enumerate(lines, start=1))
    items = list(parse_records(numbered, "p/in.jsonl", "jsonl"))
    expected = sum(1 for n, line in numbered
                   if (line[3:] if n == 1 and line.startswith(b"\xef\xbb\xbf") else line
                       ).rstrip(b"\r\n").strip())
    assert len(items) == expected
    for item in items:
        check_item(item)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files, st.sampled_from(["conll", "conllu"]))
@example([b"\x00", b"\x00", b"\x00"], "conll")   # found by a CI-like run: two blocks, not one
def test_conll_parsers_never_raise_and_never_split_a_sentence(lines, input_format):
    numbered = list(enumerate(lines, start=1))
    items = list(parse_records(numbered, "p/in." + input_format, input_format))
    for item in items:
        check_item(item)
    # Each item starts at its own line; no two items share a sentence's first line.
    starts = [int(getattr(item, "source").rsplit(":", 1)[1]) for item in items]
    assert len(starts) == len(set(starts))
    blocks, in_block, after_nul = 0, False, False
    for _, line in numbered:
        if after_nul and line.startswith(b"\x00"):
            # The 00 of a UTF-16LE newline (0A 00) after a line holding a NUL: the parsers
            # drop it (corpus_readers._parse_blocks), so b"\x00" there is a blank line.
            line = line[1:]
        after_nul = b"\x00" in line
        blank = not line.rstrip(b"\r\n").strip() or (
            input_format == "conll" and line.startswith(b"-DOCSTART-"))
        blocks += not blank and not in_block
        in_block = not blank
    assert len(items) <= blocks
