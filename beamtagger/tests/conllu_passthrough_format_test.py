"""CoNLL-U in, CoNLL-U out without a pipeline: the reader keeps each sentence's lines only when
asked (record_parsers), and the CoNLL-U writer (conllu_blocks.conllu_block, and the batch path
tagged_batches.conllu_text that hands such rows to it) writes them back byte for byte with only
the label column replaced; what does not fit is refused with a reason (a format dead letter)."""
import re

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.corpus_readers import parse_conllu_lines
from beamtagger.transforms import conllu_kept_lines
from beamtagger.transforms.conllu_blocks import conllu_block
from beamtagger.transforms.reading import ReadRecords
from beamtagger.transforms.reading.record_parsers import parse_records
from beamtagger.transforms.records import TaggedRecord
from beamtagger.transforms.write_results import FormatResultFn, _FormatRecordsFn

# EWT-like: a document and paragraph header, a multiword token, an empty node, MISC with
# SpaceAfter, the original '# text' (two spaces kept), CRLF in one sentence, a sentence with no
# sent_id, a byte-order mark, and a last sentence with neither a final newline nor a blank line.
SENTENCES = [
    "\ufeff# newdoc id = weblog-1\n# newpar id = weblog-1-p1\n# sent_id = weblog-1-0001\n"
    "# text = I don't  know.\n"
    "1\tI\tI\tPRON\tPRP\tCase=Nom|Number=Sing|Person=1|PronType=Prs\t4\tnsubj\t4:nsubj\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\tMood=Ind|Tense=Pres\t4\taux\t4:aux\t_\n"
    "3\tn't\tnot\tPART\tRB\tPolarity=Neg\t4\tadvmod\t4:advmod\tSpaceAfter=No\n"
    "4\tknow\tknow\tVERB\tVB\tVerbForm=Inf\t0\troot\t0:root\tSpaceAfter=No|Gloss=ken\n"
    "5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t4:punct\t_\n\n",
    "# sent_id = email-2\r\n# text = Sue likes tea and Ann coffee\r\n"
    "1\tSue\tSue\tPROPN\tNNP\tNumber=Sing\t2\tnsubj\t2:nsubj\t_\r\n"
    "2\tlikes\tlike\tVERB\tVBZ\t_\t0\troot\t0:root\t_\r\n"
    "3\ttea\ttea\tNOUN\tNN\t_\t2\tobj\t2:obj\t_\r\n"
    "4\tand\tand\tCCONJ\tCC\t_\t5\tcc\t5.1:cc\t_\r\n"
    "5\tAnn\tAnn\tPROPN\tNNP\t_\t2\tconj\t5.1:nsubj\t_\r\n"
    "5.1\tlikes\tlike\tVERB\tVBZ\t_\t_\t_\t2:conj:and\tCopyOf=2\r\n"
    "6\tcoffee\tcoffee\tNOUN\tNN\t_\t2\tconj\t5.1:obj\tTag=OLD\r\n\r\n",
    "# a comment without a sent_id\n1\tHi\thi\tINTJ\tUH\t_\t0\troot\t0:root\t_\n\n",
    "# sent_id = last\n1\tBye\tbye\tINTJ\tUH\t_\t0\troot\t0:root\t_",
]
TEXT = "".join(SENTENCES)


def _records(text=TEXT, keep=True):
    lines = list(enumerate(text.encode("utf-8").splitlines(keepends=True), start=1))
    return list(parse_records(lines, "in.conllu", "conllu", keep_conllu_lines=keep))


def _tagged(record, labels):
    return TaggedRecord(record.id, record.tokens, record.starts, record.ends, tuple(labels),
                        (0.5,) * len(labels), record.source, record.fields)


def _upos(record):
    """The UPOS of the record's words in its kept lines (the gold labels)."""
    kept = conllu_kept_lines.kept_lines(record.fields)
    return next(iter(parse_conllu_lines(enumerate(kept.split("\n"), 1), "x"))).tags


def _written(text):
    """A block as a file holds it: the sink's newline after it."""
    return text + "\n"


def test_without_the_option_records_are_as_before():
    assert [r.fields for r in _records(keep=False)] == [None] * 4
    assert [r.id for r in _records(keep=False)] == [r.id for r in _records()]


def test_the_gold_labels_give_back_every_sentence_byte_for_byte():
    records = _records()
    assert [r.id for r in records] == ["weblog-1-0001", "email-2", "in.conllu:23", "last"]
    assert records[0].tokens == ("I", "do", "n't", "know", ".")   # words, not the range
    written = [_written(conllu_block(_tagged(r, _upos(r)), "upos", True)) for r in records]
    assert written[:3] == [SENTENCES[0][1:], *SENTENCES[1:3]]   # the mark is not kept
    assert written[3] == SENTENCES[3] + "\n\n"   # a blank line ends the last sentence


@pytest.mark.parametrize("tag_column", ["upos", "xpos", "misc:Tag", "misc:Gloss"])
def test_only_the_tag_column_changes_and_reads_back(tag_column):
    records = _records()
    labels = [[f"L{i}" for i in range(len(r.tokens))] for r in records]
    text = "".join(_written(conllu_block(_tagged(r, ls), tag_column, True))
                   for r, ls in zip(records, labels))
    assert_written_back(text, TEXT, tag_column)
    back = list(parse_conllu_lines(enumerate(text.encode("utf-8").splitlines(), 1), "o",
                                   tag_column=tag_column))
    assert [s.tags for s in back] == [tuple(ls) for ls in labels]
    assert [s.tokens for s in back] == [r.tokens for r in records]


def test_misc_keeps_its_other_attributes_in_their_order():
    record = _records()[0]
    text = conllu_block(_tagged(record, ["A", "B", "C", "D", "E"]), "misc:Gloss",
                        keep_conllu_lines=True)
    assert "\tSpaceAfter=No|Gloss=D\n" in text      # replaced where it was
    assert "\tSpaceAfter=No|Gloss=C\n" in text      # added after the others
    assert "\t4:nsubj\tGloss=A\n" in text           # "_" becomes the attribute
    assert "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n" in text


_FIELD = conllu_kept_lines.KEPT_LINES_FIELD


@pytest.mark.parametrize("sentence, change, reason", [
    (0, lambda r: r._replace(tokens=("I", "do", "not", "know", ".")),
     "kept CoNLL-U word 3 \"n't\" is not its token 'not'"),
    (0, lambda r: _tagged(r._replace(tokens=r.tokens[:4], starts=r.starts[:4],
                                     ends=r.ends[:4]), "ABCD"),
     "its kept CoNLL-U lines hold more words than its 4 tokens"),
    (0, lambda r: _tagged(r._replace(tokens=r.tokens + ("x",), starts=r.starts + (20,),
                                     ends=r.ends + (21,)), "ABCDEF"),
     "its kept CoNLL-U lines hold 5 words for 6 tokens"),
    (3, lambda r: r._replace(fields={_FIELD: 5}),
     "its kept CoNLL-U lines are a int, not a string"),
    (3, lambda r: r._replace(fields={_FIELD: SENTENCES[3] + "\n\n" + SENTENCES[3]}),
     "a blank line inside the sentence"),
    (3, lambda r: r._replace(fields={_FIELD: SENTENCES[3].replace("\tBye\tbye", "\tBye")}),
     "line 2 has 9 columns, not 10"),
    (3, lambda r: r._replace(fields={_FIELD: SENTENCES[3].replace("# sent_id", "# \ud800")}),
     "lone surrogate"),
    (0, lambda r: r._replace(labels=("A", "B C", "D", "E", "F")), "whitespace, which UPOS"),
])
def test_what_does_not_fit_is_a_format_dead_letter(sentence, change, reason):
    record = _records()[sentence]
    record = change(_tagged(record, ["A"] * len(record.tokens)))
    with pytest.raises(ValueError, match=re.escape(reason)):
        conllu_block(record, "upos", keep_conllu_lines=True)
    function = FormatResultFn("conllu", "upos", keep_conllu_lines=True)
    function.setup()
    [letter] = list(function.process(record))
    assert letter.tag == "errors" and letter.value.stage == "format"
    assert reason in letter.value.reason


def test_the_batch_path_writes_what_the_record_path_writes():
    """_FormatRecordsFn formats records column by column (tagged_batches.conllu_text), which
    hands the rows with kept lines to conllu_block: the same sentences, with records of
    beamtagger's own CoNLL-U (no kept lines) beside them."""
    records = [_tagged(r, ["A"] * len(r.tokens)) for r in _records()]
    plain = [r._replace(id=r.id + "-plain", fields=None, source=r.source + "p")
             for r in records]
    expected = [block for r in records + plain
                for block in sentence_blocks(_written(conllu_block(r, "upos", True)))]
    assert len(expected) == 8
    with TestPipeline() as pipeline:
        out = (pipeline | beam.Create([records + plain]) | beam.FlatMap(lambda rs: rs)
               | beam.ParDo(_FormatRecordsFn("conllu", "upos", keep_conllu_lines=True)))
        assert_that(out | beam.FlatMap(lambda element: sentence_blocks(_written(
            element.decode("utf-8") if isinstance(element, bytes) else element))),
            equal_to(expected))


def test_keeping_is_refused_for_other_input_formats():
    with pytest.raises(ValueError, match="keep_conllu_lines applies to input_format 'conllu' "
                                         "only, not 'text'"):
        ReadRecords("x.txt", "text", keep_conllu_lines=True)


def sentence_blocks(text):
    """A CoNLL-U text's sentences: each one's non-blank lines, line endings kept (a
    byte-order mark dropped)."""
    blocks, block = [], []
    for line in text.lstrip("\ufeff").splitlines(keepends=True):
        if line.strip():
            block.append(line)
        elif block:
            blocks.append("".join(block))
            block = []
    if block:
        blocks.append("".join(block))
    return blocks


def _without_tag_column(block, tag_column):
    """``block`` with the tag column of its word lines blanked (a MISC attribute removed)."""
    out = []
    for line in block.splitlines(keepends=True):
        content = line.rstrip("\r\n")
        columns = content.split("\t")
        if not line.startswith("#") and len(columns) == 10 and columns[0].isdigit():
            if tag_column.startswith("misc:"):
                key = tag_column[5:] + "="
                kept = [item for item in columns[9].split("|") if not item.startswith(key)]
                columns[9] = "|".join(kept) if kept and kept != ["_"] else "_"
            else:
                columns[{"upos": 3, "xpos": 4}[tag_column]] = "<tag>"
            line = "\t".join(columns) + line[len(content):]
        out.append(line)
    return "".join(out)


def assert_written_back(output, source, tag_column):
    """Every sentence of ``output`` is one of ``source``'s (each at most once) but for
    ``tag_column``, and ends with a blank line (the last one too)."""
    assert output.endswith("\n\n") or output.endswith("\r\n\r\n") or output == ""
    if not source.endswith("\n"):
        source += "\n"   # the file's last line: the written back one ends
    wanted = {}
    for block in sentence_blocks(source):
        key = _without_tag_column(block, tag_column)
        wanted[key] = wanted.get(key, 0) + 1
    for block in sentence_blocks(output):
        key = _without_tag_column(block, tag_column)
        assert wanted.get(key), f"not a sentence of the input but for {tag_column}:\n{block}"
        wanted[key] -= 1
