"""CoNLL-U in, CoNLL-U out: a sentence's input lines kept in its record and written back with
only the label column replaced (what a user re-tagging a treebank or a parser's output wants:
UDPipe's ``--tag`` keeps the rest of the sentence too).

``ReadRecords(input_format="conllu", keep_conllu_lines=True)`` (``beamtagger tag`` asks for it
when the input and the output are both CoNLL-U) puts in each sentence's pass-through fields,
under ``KEPT_LINES_FIELD``, its lines as read: comments (``# newdoc``, ``# newpar``, the
original ``# text``), multiword-token ranges, empty nodes and all ten columns, each line with
its own line ending (CRLF stays CRLF), then the blank line that ended the sentence. They travel
with the record like any pass-through field (JSON text in tagged batches; whole through the
chunking of long records) and ``conllu_blocks.conllu_block`` writes them back through
``sentence_with_labels`` where the writer is asked to
(``WriteResults(output_format="conllu", keep_conllu_lines=True)``): a JSON Lines record may
hold a field of the same name, which is the user's. They are not free: the record carries its sentence's text a second
time (BENCHMARKS.md, "CoNLL-U lines kept").

Written back: the input's bytes except the column the labels go to on each word line, and
except that a byte-order mark, blank lines beyond the one after each sentence and a block of
comments alone (no sentence to tag) are not kept. Like every output, the sentences come in no
particular order (Beam's), each with its own comments.
"""
from beamtagger.corpus_readers import CONLLU_COLUMNS, is_word_id, with_tag

__all__ = ["KEPT_LINES_FIELD", "kept_lines", "kept_lines_fields", "sentence_with_labels"]

KEPT_LINES_FIELD = "conllu_lines"


def kept_lines_fields(lines):
    """The pass-through fields of a sentence read from ``lines`` (text: its lines and the blank
    line after it, with their line endings)."""
    return {KEPT_LINES_FIELD: lines}


def kept_lines(fields):
    """The kept lines in a record's ``fields``, or None where it has none."""
    if not fields or not isinstance(fields, dict):
        return None
    return fields.get(KEPT_LINES_FIELD)


def sentence_with_labels(kept, tokens, labels, tag_column):
    """The kept sentence with word i's ``tag_column`` holding ``labels[i]``, everything else as
    it was read, ending so that the sink's newline after it ends the blank line that ends the
    sentence. ValueError where ``kept`` is not the sentence of ``tokens`` (a word count or a
    FORM that differs, a line without ten columns, a blank line inside it). The labels are the
    caller's to check (``conllu_blocks.label_problem``)."""
    if not isinstance(kept, str):
        raise ValueError(f"its kept CoNLL-U lines are a {type(kept).__name__}, not a string")
    lines = kept.split("\n")
    if lines[-1] == "":
        lines.pop()   # the text ended with a line ending: no line after it
    words = 0
    for index, line in enumerate(lines):
        content = line.rstrip("\r")
        if not content.strip():
            if index != len(lines) - 1:
                raise ValueError("its kept CoNLL-U lines hold a blank line inside the sentence")
            continue
        if content.startswith("#"):
            continue
        columns = content.split("\t")
        if not is_word_id(columns[0]):
            continue   # a multiword range or an empty node: no label of its own
        if len(columns) != CONLLU_COLUMNS:
            raise ValueError(f"its kept CoNLL-U line {index + 1} has {len(columns)} columns, "
                             f"not {CONLLU_COLUMNS}")
        if words == len(tokens):
            raise ValueError(f"its kept CoNLL-U lines hold more words than its {len(tokens)} "
                             "tokens")
        if columns[1] != tokens[words]:
            raise ValueError(f"its kept CoNLL-U word {columns[0]} {columns[1]!r} is not its "
                             f"token {tokens[words]!r}")
        lines[index] = "\t".join(with_tag(columns, tag_column, labels[words])) + \
            line[len(content):]
        words += 1
    if words != len(tokens):
        raise ValueError(f"its kept CoNLL-U lines hold {words} words for {len(tokens)} tokens")
    text = "\n".join(lines)
    # Where the sentence was the file's last, without a blank line after it, one is added.
    return text if not lines[-1].strip() else text + "\n"
