"""NULs in CoNLL and CoNLL-U results: a line beamtagger's own readers would refuse as UTF-16
text, or read without its first NUL, is a dead letter of stage "format" with its reason, by
the record formatters and the tagged batches' columns alike; other NULs are written as they
are and read back."""
import glob
import re

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from beamtagger.corpus_readers import parse_conll_lines, read_conll, read_conllu
from beamtagger.tests.conllu_output_format_test import check_conllu, read_back, tagged
from beamtagger.transforms import tagged_batches
from beamtagger.transforms.conllu_blocks import conllu_block
from beamtagger.transforms.nul_lines import nul_line_problem
from beamtagger.transforms.reading.record_parsers import parse_records, read_path_records
from beamtagger.transforms.write_results import WriteResults, to_conll_block

UTF16_REASON = ("its line's NUL bytes are where UTF-16 puts them in ASCII characters, so "
                "beamtagger's readers would refuse it as UTF-16 text")
DROPPED_REASON = ("its line starts with a NUL after a line holding one, which beamtagger's "
                  "readers drop as the end of a UTF-16 newline")


def read_conll_back(text):
    """[(id, tokens, labels)] as ``train``'s reader reads ``text``, checked against the tokens
    ``tag``'s reader reads."""
    data = text.encode("utf-8")
    sentences = [(s.sent_id, s.tokens, s.tags) for s in parse_conll_lines(
        list(enumerate(data.split(b"\n"), start=1)), "out.conll")]
    records = list(parse_records(list(enumerate(data.splitlines(True), start=1)), "out.conll",
                                 "conll"))
    assert [(r.id, r.tokens) for r in records] == [(i, t) for i, t, _ in sentences]
    return sentences


@pytest.mark.parametrize("tag_column", ["upos", "xpos", "misc:Tag"])
@pytest.mark.parametrize("token", ["a\x00", "\x00a", "\x00\x00", "wo\x00rd", "naïve\x00"])
def test_conllu_writes_a_nul_its_reader_reads_back(token, tag_column):
    block = conllu_block(tagged("nul", [token, "b"], ["X", "Y"], (0, len(token) + 1),
                                (len(token), len(token) + 2)), tag_column)
    check_conllu(block + "\n")
    assert read_back(block + "\n", tag_column) == [("nul", (token, "b"), ("X", "Y"))]


@pytest.mark.parametrize("record, tag_column, reason", [
    (tagged("r", ["\x00"], ["\x00"]), "upos", "token 1 '\\x00' with the label '\\x00'"),
    (tagged("r", ["ok", "a\x00b"], ["X", "a\x00b"]), "xpos",
     "token 2 'a\\x00b' with the label 'a\\x00b'"),
    (tagged("r", ["a\x00b"], ["a\x00b"]), "misc:Tag", "token 1 'a\\x00b'"),
    (tagged("x\x00y\x00z", ["a"], ["X"]), "upos", "its line '# sent_id = x\\x00y\\x00z'"),
])
def test_conllu_refuses_a_line_its_reader_would_take_for_utf16(record, tag_column, reason):
    with pytest.raises(ValueError, match="^" + re.escape(f"CoNLL-U cannot hold {reason}")):
        conllu_block(record, tag_column)
    with pytest.raises(ValueError, match=UTF16_REASON):
        conllu_block(record, tag_column)


@pytest.mark.parametrize("tokens", [["\x00"], ["a\x00"], ["\x00a", "b"], ["a", "\x00b"],
                                    ["a\x00", "b", "\x00c"]])
def test_conll_writes_a_nul_its_readers_read_back(tokens):
    block = to_conll_block(tagged("nul", tokens, ["X"] * len(tokens)))
    assert read_conll_back(block + "\n") == [("nul", tuple(tokens), ("X",) * len(tokens))]


@pytest.mark.parametrize("record, reason", [
    (tagged("r", ["a\x00b"], ["a\x00b"]),
     f"token 1 'a\\x00b' with the label 'a\\x00b': {UTF16_REASON}"),
    (tagged("r", ["ok", "\x00"], ["\x00"] * 2), "token 2 '\\x00' with the label '\\x00'"),
    (tagged("r", ["a\x00", "\x00b"], ["X", "Y"]),
     f"token 2 '\\x00b' with the label 'Y': {DROPPED_REASON}"),
    (tagged("x\x00", ["\x00b"], ["X"]), f"token 1 '\\x00b' with the label 'X': {DROPPED_REASON}"),
    (tagged("x\x00y\x00z", ["c"], ["X"]), "its id line '# id = x\\x00y\\x00z'"),
])
def test_conll_refuses_a_line_its_readers_would_refuse_or_change(record, reason):
    with pytest.raises(ValueError, match="^" + re.escape(f"CoNLL cannot hold {reason}")):
        to_conll_block(record)


def test_kept_conllu_lines_may_start_with_the_nul_their_reader_dropped():
    # A line read after a UTF-16LE newline's stray 00 is kept with it and written back so:
    # the reader drops it again, as it did the first time.
    lines = ["1\ta\x00\t_\tX\t_\t_\t_\t_\t_\t_", "\x002\tb\t_\tX\t_\t_\t_\t_\t_\t_"]
    assert nul_line_problem(lines, leading_nul_dropped=False) is None
    assert nul_line_problem(lines)[0] == 1


@pytest.mark.parametrize("output_format", ["conll", "conllu"])
def test_write_results_makes_refused_nul_records_format_dead_letters(tmp_path, output_format):
    prefix = str(tmp_path / "r")
    records = [tagged("good", ["wo\x00rd", "a\x00"], ["X", "Y"]),
               tagged("wide", ["a\x00b"], ["a\x00b"])._replace(source="f:2"),
               tagged("plain", ["The", "cat"], ["DET", "NOUN"])]
    name = "CoNLL-U" if output_format == "conllu" else "CoNLL"
    with beam.Pipeline() as p:
        written = (p | beam.Create(records)
                   | WriteResults(prefix, output_format, **(
                       {"tag_column": "upos"} if output_format == "conllu" else {})))
        assert_that(written.errors | beam.Map(lambda d: (d.source, d.stage, d.reason)),
                    equal_to([("f:2", "format", f"cannot write the result: {name} cannot hold "
                               f"token 1 'a\\x00b' with the label 'a\\x00b': {UTF16_REASON}")]))
    text = "".join(open(path, encoding="utf-8").read()
                   for path in glob.glob(f"{prefix}-*-of-*.{output_format}"))
    found = read_back(text, "upos") if output_format == "conllu" else read_conll_back(text)
    assert sorted(found) == sorted((r.id, r.tokens, r.labels) for r in records
                                   if r.id != "wide")


@pytest.mark.parametrize("output_format", ["conll", "conllu"])
def test_the_columns_leave_every_record_holding_a_nul_to_the_formatter(output_format):
    records = [tagged("plain", ["a"], ["X"]), tagged("token", ["a\x00"], ["X"]),
               tagged("id\x00", ["a"], ["X"]), tagged("label", ["a"], ["X\x00"])]
    batch, kept, left_out = tagged_batches.tagged_batch_of_tagged_records(records, [])
    assert left_out == []
    if output_format == "conll":
        text, rows = tagged_batches.conll_text(batch)
    else:
        text, rows = tagged_batches.conllu_text(batch, "upos")
    # A label holding a NUL sends CoNLL's whole batch (as one holding a line break does).
    assert rows == ([0, 1, 2, 3] if output_format == "conll" else [1, 2, 3])
    assert b"\x00" not in text


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_kept_crlf_lines_are_checked_as_their_reader_reads_them_without_the_cr(newline):
    from beamtagger.tests.conllu_passthrough_format_test import _records, _tagged

    # With its CR, '# \x00 \x00' looked like UTF-16 (its last NUL before 0D); the readers
    # strip the line end first and read it, so it is written back as it came.
    text = newline.join(["# sent_id = s", "# \x00 \x00",
                         "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t0:root\t_", "", ""])
    block = conllu_block(_tagged(_records(text)[0], ["X"]), "upos", keep_conllu_lines=True)
    assert block + "\n" == text.replace("INTJ", "X")   # the sink's newline after it
    assert read_back(block + "\n", "upos") == [("s", ("Hi",), ("X",))]


def read_file_back(path, output_format):
    """[(id, tokens, labels)] of a result file as ``train``'s reader reads it, checked against
    the ids and tokens ``tag``'s reader reads: each of them looks at the file's first bytes
    for UTF-16 first (``text_encodings.other_encoding``)."""
    if output_format == "conllu":
        sentences = list(read_conllu(path, tag_column="upos"))
    else:
        sentences = list(read_conll(path))
    records = list(read_path_records(path, output_format))
    assert [(r.id, r.tokens) for r in records] == [(s.sent_id, s.tokens) for s in sentences]
    return [(s.sent_id, s.tokens, s.tags) for s in sentences]


@pytest.mark.parametrize("output_format, record_id, tokens", [
    ("conll", "1\x00", ["aa\x00b", "went", "home"]),
    ("conllu", "\x001\x00", ["b", "went", "home"])])
def test_a_result_file_whose_first_record_holds_nuls_reads_back_whole(tmp_path, output_format,
                                                                      record_id, tokens):
    # JSON Lines records first, {"id": "1\u0000", "text": "aa\u0000b went home"} (CoNLL),
    # {"id": "\u00001\u0000", ...} (CoNLL-U): their lines passed the readers' per-line rule,
    # but the file's head, NULs before a newline and a letter where UTF-16BE puts them, made
    # both readers refuse the whole file as UTF-16BE, the five plain records after it too.
    prefix = str(tmp_path / "r")
    records = [tagged(record_id, tokens, ["X", "VERB", "NOUN"])] + [
        tagged(f"r{n}", ["The", "dog"], ["DET", "NOUN"]) for n in range(5)]
    with beam.Pipeline() as p:
        _ = (p | beam.Create(records)
             | WriteResults(prefix, output_format, num_shards=1, **(
                 {"tag_column": "upos"} if output_format == "conllu" else {})))
    path, = glob.glob(f"{prefix}-*-of-*.{output_format}")
    assert sorted(read_file_back(path, output_format)) == sorted(
        (r.id, r.tokens, r.labels) for r in records)


# Tokens and labels as a tokenizer and a model give them: a NUL anywhere inside, never first
# or last (docs/tokenizer.md, "Guarantees"); ids as JSON Lines gives them, NULs anywhere.
_NULS_INSIDE = st.text(st.sampled_from("ab\x00é1"), min_size=1, max_size=6).filter(
    lambda text: not (text.startswith("\x00") or text.endswith("\x00")))
_NULS_ANYWHERE = st.text(st.sampled_from("ab\x00é1"), max_size=6)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(output_format=st.sampled_from(["conll", "conllu"]),
       records=st.lists(st.tuples(_NULS_ANYWHERE,
                                  st.lists(_NULS_INSIDE, min_size=1, max_size=6),
                                  st.sampled_from(["X", "NOUN", "a\x00b"])),
                        min_size=1, max_size=5, unique_by=lambda record: record[0]))
@example(output_format="conll", records=[("1\x00", ["aa\x00b"], "X"), ("r", ["a"], "X")])
@example(output_format="conllu", records=[("\x001\x00", ["b"], "X"), ("r", ["a"], "X")])
# One record, its id ending in a NUL where UTF-16BE ends a newline (00 0A) and the file's last
# byte the blank line's 0A, at a high byte's place in UTF-16BE: the one byte 0A there.
@example(output_format="conll", records=[("1\x00", ["é\x00b"], "NOUN")])
def test_result_files_of_records_holding_nuls_read_back_every_written_record(
        tmp_path, output_format, records):
    written, blocks = [], []
    for record_id, tokens, label in records:
        record = tagged(record_id, tokens, [label] * len(tokens))
        try:
            blocks.append((to_conll_block(record) if output_format == "conll"
                           else conllu_block(record, "upos")) + "\n")
        except ValueError:
            continue   # refused by the writer (a dead letter of stage "format")
        written.append((record.id, record.tokens, record.labels))
    path = tmp_path / f"out.{output_format}"
    path.write_bytes("".join(blocks).encode("utf-8"))
    assert read_file_back(str(path), output_format) == written
