"""CoNLL-U results: every block keeps the format's rules (checked here as UD's validator checks
them at level 1, and the ``# text`` and MISC rules of level 2), reads back through
beamtagger's own CoNLL-U reader, and the tagged batches' columns write the same bytes as the
record by record formatter; what CoNLL-U cannot hold is refused with a reason."""
import re

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from beamtagger.corpus_readers import check_tag_column, parse_conllu_lines
from beamtagger.errors import BeamtaggerError
from beamtagger.tests.hostile_inputs import ODD_CHARACTERS
from beamtagger.tests.text_kept_output_test import spaces_of
from beamtagger.tests.transforms_tagged_batches_test import RECORD, batch_of
from beamtagger.transforms import conllu_blocks, tagged_batches
from beamtagger.transforms.conllu_blocks import conllu_block
from beamtagger.transforms.records import TaggedRecord
from beamtagger.transforms.write_results import LINE_BREAK_OR_TAB, WriteResults

TAG_COLUMNS = ["upos", "xpos", "misc:Tag"]
_WHITESPACE = re.compile(r"\s")


def check_conllu(text):
    """AssertionError unless ``text`` (a file's content) keeps CoNLL-U's rules: blocks of
    ``# sent_id``, ``# text`` and token lines of ten non-empty columns, ids 1..n, whitespace
    only inside FORM and MISC and never at their ends or twice in a row, MISC attributes of a
    non-empty name, ``# text`` the forms joined as SpaceAfter=No and SpacesAfter say, a blank
    line after each
    sentence, UTF-8 without a byte-order mark."""
    data = text.encode("utf-8")
    assert not data.startswith(b"\xef\xbb\xbf")
    assert text.endswith("\n\n") and "\n\n\n" not in text
    assert "\r" not in text
    for block in text[:-2].split("\n\n"):
        lines = block.split("\n")
        assert lines[0].startswith("# sent_id = ") and lines[1].startswith("# text = ")
        forms, no_space, spaces = [], [], []
        for number, line in enumerate(lines[2:], start=1):
            columns = line.split("\t")
            assert len(columns) == 10, line
            assert columns[0] == str(number)
            for index, column in enumerate(columns):
                assert column, f"empty column {index} in {line!r}"
                if index in (1, 9):
                    assert not (_WHITESPACE.match(column) or _WHITESPACE.search(column[-1])
                                or re.search(r"\s\s", column)), line
                else:
                    assert not _WHITESPACE.search(column), line
            assert columns[2] == columns[5] == columns[6] == columns[7] == columns[8] == "_"
            if columns[9] != "_":
                attributes = [item.split("=", 1) for item in columns[9].split("|")]
                assert all(len(pair) == 2 and pair[0] and pair[1] for pair in attributes), line
                names = [name for name, _ in attributes]
                assert len(set(names)) == len(names)
            forms.append(columns[1])
            misc = dict(item.split("=", 1) for item in columns[9].split("|") if "=" in item)
            no_space.append(misc.get("SpaceAfter") == "No")
            # The record's own spacing (``conllu_blocks.text_spacing``), line breaks as spaces.
            spaces.append(" " if "SpacesAfter" not in misc else
                          re.sub(LINE_BREAK_OR_TAB.replace("\t", ""), " ",
                                 spaces_of(misc["SpacesAfter"])))
        assert forms, "CoNLL-U has no empty sentences"
        assert not no_space[-1]
        assert lines[1][len("# text = "):] == "".join(
            form if glued else form + space
            for form, glued, space in zip(forms, no_space, spaces))[:-len(spaces[-1])]


def read_back(text, tag_column):
    """[(id, tokens, labels)] as beamtagger's CoNLL-U reader reads ``text``."""
    lines = list(enumerate(text.encode("utf-8").split(b"\n"), start=1))
    return [(s.sent_id, s.tokens, s.tags)
            for s in parse_conllu_lines(lines, "out.conllu", tag_column=tag_column)]


def tagged(record_id, tokens, labels, starts=None, ends=None):
    if starts is None:
        starts = tuple(range(0, 3 * len(tokens), 3))
        ends = tuple(start + len(token) for start, token in zip(starts, tokens))
    return TaggedRecord(record_id, tuple(tokens), tuple(starts), tuple(ends), tuple(labels),
                        (0.5,) * len(tokens), "f:1", {"lang": "en"})


@pytest.mark.parametrize("tag_column", TAG_COLUMNS)
def test_a_sentence_is_written_as_ud_writes_it_and_reads_back(tag_column):
    record = tagged("doc.txt:3", ["Hello", ",", "world", "!"], ["INTJ", "PUNCT", "NOUN", "PUNCT"],
                    (0, 5, 8, 13), (5, 6, 13, 14))   # "Hello,  world!" : two spaces
    block = conllu_block(record, tag_column)
    check_conllu(block + "\n")
    lines = block.split("\n")
    assert lines[:2] == ["# sent_id = doc.txt:3", "# text = Hello, world!"]
    misc = [line.split("\t")[9] for line in lines[2:-1]]
    if tag_column == "misc:Tag":
        assert misc == ["Tag=INTJ|SpaceAfter=No", "Tag=PUNCT", "Tag=NOUN|SpaceAfter=No",
                        "Tag=PUNCT"]
    else:
        assert misc == ["SpaceAfter=No", "_", "SpaceAfter=No", "_"]
        index = 3 if tag_column == "upos" else 4
        assert [line.split("\t")[index] for line in lines[2:-1]] == list(record.labels)
    assert "lang" not in block   # pass-through fields are not written
    assert read_back(block + "\n", tag_column) == [(record.id, record.tokens, record.labels)]


@pytest.mark.parametrize("record_id", ["a\nb\r\nc\u2028", "tab\there", "lone\ud800",
                                       '"quoted"', " spaces at the ends ", "", "C:\\dir\\f.txt",
                                       "#", "x = y"])
def test_ids_that_cannot_be_written_as_they_are_read_back_as_they_were(record_id):
    block = conllu_block(tagged(record_id, ["a"], ["X"]), "upos")
    check_conllu(block + "\n")
    assert read_back(block + "\n", "upos")[0][0] == record_id


def test_the_whitespace_class_is_every_character_python_calls_whitespace():
    # RE2 (the columns' path) reads \s as ASCII only, so the class is written out.
    found = {chr(c) for c in range(0x110000) if re.fullmatch(conllu_blocks.WHITESPACE, chr(c))}
    assert found == {chr(c) for c in range(0x110000) if chr(c).isspace()}


@pytest.mark.parametrize("record, reason", [
    (tagged("e", [], []), "CoNLL-U has no empty sentences"),
    (tagged("r", ["a", ""], ["X", "X"]), "token 2 '': it is empty"),
    (tagged("r", ["a\tb"], ["X"]), "token 1 'a\\tb': a tab or a line break"),
    (tagged("r", ["a\u2028b"], ["X"]), "a tab or a line break"),
    (tagged("r", [" a"], ["X"]), "whitespace at its start or end"),
    (tagged("r", ["a\u00a0"], ["X"]), "whitespace at its start or end"),
    (tagged("r", ["a  b"], ["X"]), "two whitespace characters in a row"),
    (tagged("r", ["a\ud800"], ["X"]), "a lone surrogate"),
    (tagged("r", ["a"], [""]), "label '' of token 1 in upos: it is empty"),
    (tagged("r", ["a"], ["B PER"]), "whitespace, which UPOS and XPOS cannot hold"),
    (tagged("r", ["a"], ["X\ud800"]), "a lone surrogate"),
])
def test_what_conllu_cannot_hold_is_refused_with_its_reason(record, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        conllu_block(record, "upos")


@pytest.mark.parametrize("label, reason", [
    ("a|b", "'|' ends a MISC attribute"), ("a=b", "'=' splits it"),
    ("a\tb", "a tab or a line break"), (" a", "at its start or end"),
    ("a  b", "two whitespace characters in a row")])
def test_misc_labels_keep_the_attribute_readable(label, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        conllu_block(tagged("r", ["a"], [label]), "misc:Tag")
    check_conllu(conllu_block(tagged("r", ["a"], ["B person"]), "misc:Tag") + "\n")


@pytest.mark.parametrize("tag_column, reason", [
    ("misc:a=b", "cannot hold '|', '=' or whitespace"), ("misc:a|b", "cannot hold"),
    ("misc:a b", "cannot hold"), ("misc:", "unknown CoNLL-U tag column"),
    ("lemma", "unknown CoNLL-U tag column"), ("misc:SpaceAfter", "holds where the spaces are")])
def test_tag_columns_no_reader_could_find_are_refused(tag_column, reason):
    with pytest.raises(BeamtaggerError, match=re.escape(reason)):
        conllu_blocks.check_output_tag_column(tag_column)
    with pytest.raises(BeamtaggerError, match=re.escape(reason)):
        WriteResults("/tmp/never", "conllu", tag_column=tag_column)
    if tag_column != "misc:SpaceAfter":   # the readers share the check
        with pytest.raises(BeamtaggerError):
            check_tag_column(tag_column)


def test_a_tag_column_for_another_format_is_refused():
    with pytest.raises(ValueError, match="tag_column applies to output_format 'conllu' only"):
        WriteResults("/tmp/never", "jsonl", tag_column="upos")


# Tokens and labels as hostile input gives them: the odd characters of the hostile corpus
# (NUL, separators, BOM, bidi controls...), whitespace of every kind, MISC's separators.
_PIECE = st.sampled_from(ODD_CHARACTERS + ["a", "b", " ", "\t", "\u3000", "|", "=", "_", "#"])
_TOKEN = st.lists(_PIECE, max_size=4).map("".join)
_LABEL = st.one_of(st.sampled_from(["NOUN", "B-person", "_", "a b"]), _TOKEN)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=6), st.lists(st.tuples(_TOKEN, _LABEL, st.booleans()), max_size=5),
       st.sampled_from(TAG_COLUMNS))
# Lines whose NULs are where UTF-16 puts them, which the reader refused as UTF-16 text.
@example("", [("\x00", "\x00", False)], "upos")
@example("", [("a\x00b", "a\x00b", False)], "misc:Tag")
def test_hostile_records_are_written_as_valid_conllu_that_reads_back_or_refused(
        record_id, tokens, tag_column):
    position, starts, ends = 0, [], []
    for token, _, glued in tokens:
        starts.append(position)
        position += len(token)
        ends.append(position)
        position += 0 if glued else 1
    record = tagged(record_id, [t for t, _, _ in tokens], [label for _, label, _ in tokens],
                    starts, ends)
    try:
        block = conllu_block(record, tag_column)
    except ValueError as error:
        assert str(error).startswith(("CoNLL-U cannot hold", "CoNLL-U has no empty sentences"))
        return
    check_conllu(block + "\n")
    assert read_back(block + "\n", tag_column) == [(record.id, record.tokens, record.labels)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORD, min_size=1, max_size=8), st.sampled_from(TAG_COLUMNS))
# A token line the reader refused as UTF-16 text, beside one whose NUL it reads back.
@example([("r", [("x\x00y\x00z", 0.5, 0)], None), ("s", [("nul\x00", 0.5, 0)], None)], "upos")
def test_the_columns_write_what_the_record_formatter_writes(records, tag_column):
    batch, expected = batch_of(records)
    text, left_out = tagged_batches.conllu_text(batch, tag_column)
    found = text.decode("utf-8").split("\n\n") if text else []
    kept = [conllu_block(record, tag_column).rstrip("\n") for row, record in enumerate(expected)
            if row not in left_out]
    assert [block.rstrip("\n") for block in found] == kept
    if text:
        assert read_back(text.decode("utf-8") + "\n\n", tag_column) == [
            (record.id, record.tokens, record.labels)
            for row, record in enumerate(expected) if row not in left_out]
    # Only what the formatter refuses is left out, and records holding a NUL, which the
    # formatter checks line by line as the reader reads them (``nul_lines``).
    for row in left_out:
        record = expected[row]
        if "\x00" in "".join((record.id, *record.tokens)):
            continue
        with pytest.raises(ValueError):
            conllu_block(record, tag_column)


def test_the_columns_glue_no_token_to_the_next_record():
    # The columns are flat: the last token of a record is followed by the next record's first.
    records = [tagged("a", ["x", "y"], ["NOUN", "VERB"], (0, 2), (1, 3)),
               tagged("b", ["z"], ["NOUN"], (3,), (4,))]
    batch, kept, left_out = tagged_batches.tagged_batch_of_tagged_records(records, [])
    text, left_out = tagged_batches.conllu_text(batch, "upos")
    assert left_out == []
    assert text.decode("utf-8") == "\n".join(conllu_block(r, "upos") for r in records)
    assert "SpaceAfter=No" not in text.decode("utf-8")


def test_records_conllu_cannot_hold_are_format_dead_letters_and_the_rest_is_written(tmp_path):
    import glob

    prefix = str(tmp_path / "r")
    records = [tagged("good", ["The", "cat"], ["DET", "NOUN"]),
               tagged("empty", [], [])._replace(source="f:2"),
               tagged("tab", ["a\tb"], ["NOUN"])._replace(source="f:3"),
               tagged("label", ["a"], ["x|y"])._replace(source="f:4")]
    with beam.Pipeline() as p:
        written = p | beam.Create(records) | WriteResults(prefix, "conllu")
        assert_that(written.errors | beam.Map(lambda d: (d.source, d.stage, d.reason)),
                    equal_to([
                        ("f:2", "format", "cannot write the result: CoNLL-U has no empty "
                         "sentences, and the record has no tokens"),
                        ("f:3", "format", "cannot write the result: CoNLL-U cannot hold token 1 "
                         "'a\\tb': a tab or a line break"),
                        ("f:4", "format", "cannot write the result: CoNLL-U cannot hold the "
                         "label 'x|y' of token 1 in misc:Tag: '|' ends a MISC attribute and "
                         "'=' splits it")]))
    text = "".join(open(path, encoding="utf-8").read()
                   for path in glob.glob(prefix + "-*-of-*.conllu"))
    check_conllu(text)
    assert read_back(text, "misc:Tag") == [("good", ("The", "cat"), ("DET", "NOUN"))]
