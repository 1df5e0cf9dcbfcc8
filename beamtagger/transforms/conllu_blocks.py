"""CoNLL-U results: a block a record, as https://universaldependencies.org/format.html writes
sentences, the label in one column.

::

    # sent_id = <id>
    # text = <the record's text, from its first token to its last>
    1<TAB>FORM<TAB>_<TAB>UPOS<TAB>XPOS<TAB>_<TAB>_<TAB>_<TAB>_<TAB>MISC

The label goes where ``tag_column`` says, named as ``train --tag-column`` names it: "upos",
"xpos" or "misc:KEY" (``KEY=label`` in MISC); every column beamtagger predicts nothing for is
``_``. Pass-through fields are not written, but for a record read with its CoNLL-U lines kept
(``conllu_kept_lines``), where the writer is asked to keep them too: that is written as it was
read, only the label column replaced.

Where the writer has the record's own text (``kept_text``: ``beamtagger tag`` keeps it for text
and JSON Lines input), ``# text`` is that text from the first token's start to the last
token's end, as UD's ``# text`` is the sentence as it was, except that a character that ends a
line (``write_results.LINE_BREAK_OR_TAB`` but the tab) is written as a space there: a comment
is one line. MISC then holds the spacing as UDPipe writes it, so that the forms and MISC give
back the record's text exactly, line breaks and all: ``SpaceAfter=No`` where a token ends where
the next one starts, nothing where one space follows it, else ``SpacesAfter=`` the whitespace
that follows (the last token's: up to the end of the record; nothing where the record ends with
it), and on the first token ``SpacesBefore=`` the whitespace before it. Their values escape a
space as ``\\s``, a tab ``\\t``, CR ``\\r``, LF ``\\n``, ``|`` ``\\p`` and a backslash ``\\\\``
(UDPipe's escapes), and ``=`` or any other character Python does not call printable (a
non-breaking space, U+2028...) ``\\uXXXX`` (``spaces_misc_value``; UDPipe, which has no
escape for them, writes those as they are, which UD's validator refuses at a column's end).
Without the record's text (CoNLL and CoNLL-U input, whose offsets index the tokens joined by
single spaces, and records given to ``WriteResults`` without it), ``# text`` is the forms, a
space between two unless the first ends where the second starts (``SpaceAfter=No``).

What CoNLL-U cannot hold is refused with a ValueError naming it (a dead letter of stage
"format" in ``WriteResults``): a record without tokens (CoNLL-U has no empty sentences); a form
that is empty, holds a tab, a line break or a lone surrogate, starts or ends with whitespace or
holds two whitespace characters in a row (UD's validator refuses the last two at level 1); a
label that is empty, holds a lone surrogate, whitespace in UPOS or XPOS, or in MISC a tab, a
line break, ``|`` (which ends an attribute), ``=`` (the ``conllu`` package reads up to the
next one), whitespace at its ends or two in a row; a line holding NUL bytes where UTF-16
puts them in ASCII characters (a token "a\\x00b" labelled "a\\x00b" in UPOS), which
beamtagger's CoNLL-U reader refuses as UTF-16 text (``nul_lines``), where other NULs are
written as they are.
"""
import re

from beamtagger.corpus_readers import check_tag_column
from beamtagger.errors import BeamtaggerError
from beamtagger.transforms.conllu_kept_lines import kept_lines, sentence_with_labels
from beamtagger.transforms.nul_lines import nul_line_problem
from beamtagger.transforms.write_results import LINE_BREAK_OR_TAB, _is_utf8, conll_id_line

__all__ = ["DEFAULT_TAG_COLUMN", "FORM_UNSAFE", "check_output_tag_column", "conllu_block",
           "label_problem", "label_suffix", "model_tag_column", "spaces_misc_value",
           "text_spacing"]

# Where the labels of a model trained on two-column CoNLL (no column of its own: entities,
# binary flags) go. A MISC attribute, as no UD column is meant for them; "Tag" because the
# names in use mean something else: CorefUD's "Entity" holds coreference brackets, "NE" and
# Stanza's "ner" named entities only, and UD's validator checks the spelling of SpaceAfter,
# Lang, Translit, LTranslit, Gloss, LId, LDeriv and Ref.
DEFAULT_TAG_COLUMN = "misc:Tag"
SPACE_AFTER_NO = "SpaceAfter=No"

# Every character str.isspace() and Python's \s call whitespace, written out so that RE2
# (pyarrow.compute, the tagged batches' path) reads the same class as Python's re.
WHITESPACE = ("[\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
              "\u205f\u3000]")
# A form UD's validator refuses at level 1 (or that would break the line), empty forms aside.
FORM_UNSAFE = (f"{LINE_BREAK_OR_TAB}|^{WHITESPACE}|{WHITESPACE}$|{WHITESPACE}{WHITESPACE}")
_FORM_UNSAFE = re.compile(FORM_UNSAFE)
_ANY_WHITESPACE = re.compile(WHITESPACE)
_MISC_VALUE_UNSAFE = re.compile(f"[|=]|{FORM_UNSAFE}")


def check_output_tag_column(tag_column):
    """BeamtaggerError unless labels can be written to ``tag_column`` (``check_tag_column``'s
    vocabulary; not MISC's SpaceAfter, which says where the spaces are)."""
    check_tag_column(tag_column)
    if tag_column == "misc:SpaceAfter":
        raise BeamtaggerError("CoNLL-U tag column 'misc:SpaceAfter' holds where the spaces "
                              "are; choose another MISC attribute for the labels")


def model_tag_column(spec):
    """Where a model's labels go (a ``TaggerSpec``): the column it was trained on, else
    ``DEFAULT_TAG_COLUMN``: for a model trained on two-column CoNLL (no column), and for a
    binary tagger, whose labels (yes/no) are not the values of the column it learnt them from."""
    if spec.tag_column is None or spec.binary_labels is not None:
        return DEFAULT_TAG_COLUMN
    return spec.tag_column


def conllu_block(record, tag_column=DEFAULT_TAG_COLUMN, keep_conllu_lines=False, text=None):
    """The record's CoNLL-U lines, each ending in a newline (the sink's newline after it makes
    the blank line that ends the sentence); ValueError for what CoNLL-U cannot hold. With
    ``keep_conllu_lines``, a record read with its CoNLL-U lines kept (``conllu_kept_lines``)
    is those lines, the labels in ``tag_column``; without it a pass-through field of that name
    is one like any other (not written), as a JSON Lines record's may be. ``text``: the
    record's own text, for ``# text`` and the spacing in MISC (module docstring); ValueError
    where a token is not the text between its offsets."""
    tokens, labels = record.tokens, record.labels
    if not tokens:
        raise ValueError("CoNLL-U has no empty sentences, and the record has no tokens")
    kept = kept_lines(record.fields) if keep_conllu_lines else None
    if kept is None:
        for number, token in enumerate(tokens, start=1):
            problem = form_problem(token)
            if problem:
                raise ValueError(f"CoNLL-U cannot hold token {number} {token!r}: {problem}")
    for number, label in enumerate(labels, start=1):
        problem = label_problem(label, tag_column)
        if problem:
            raise ValueError(f"CoNLL-U cannot hold the label {label!r} of token {number} in "
                             f"{tag_column}: {problem}")
    if kept is not None:
        block = sentence_with_labels(kept, tokens, labels, tag_column)
        if not _is_utf8((block,)):
            raise ValueError("its kept CoNLL-U lines hold a lone surrogate")
        if "\x00" in block:
            _check_nul_lines(block, tokens, labels, kept=True)
        return block
    if text is None:
        glued = [end == start for end, start in zip(record.ends, record.starts[1:])] + [False]
        sentence = "".join(token if no_space else token + " "
                           for token, no_space in zip(tokens, glued)).rstrip(" ")
        spacing = [SPACE_AFTER_NO if no_space else None for no_space in glued]
    else:
        sentence, spacing = text_spacing(text, tokens, record.starts, record.ends)
    lines = [conll_id_line(record.id, "sent_id"), f"# text = {sentence}"]
    lines.extend(f"{number}\t{token}\t{label_suffix(label, tag_column, space)}"
                 for number, (token, label, space) in enumerate(zip(tokens, labels, spacing),
                                                                 start=1))
    block = "\n".join(lines) + "\n"
    if text is not None and not _is_utf8((block,)):
        raise ValueError("its text holds a lone surrogate")
    if "\x00" in block:
        _check_nul_lines(block, tokens, labels, kept=False)
    return block


def _check_nul_lines(block, tokens, labels, *, kept):
    """ValueError where beamtagger's reader would refuse a line of ``block`` (``nul_lines``):
    of the lines ``conllu_block`` writes, a token's first, naming it (``# text`` holds the
    forms too), then ``# sent_id`` and ``# text``; of kept lines, the first."""
    lines = block.split("\n")
    if kept:
        # Kept lines keep their CRLF, which the readers strip before their check: with its CR,
        # '# \x00 \x00' read from a CRLF file looked like UTF-16 and was refused.
        lines = [line.rstrip("\r") for line in lines]
        found = nul_line_problem(lines, leading_nul_dropped=False)
    else:
        found = nul_line_problem(lines[2:])
        if found is not None:
            number, problem = found[0] + 1, found[1]
            raise ValueError(f"CoNLL-U cannot hold token {number} {tokens[number - 1]!r} with "
                             f"the label {labels[number - 1]!r}: {problem}")
        found = nul_line_problem(lines[:2])
    if found is not None:
        raise ValueError(f"CoNLL-U cannot hold its line {lines[found[0]]!r}: {found[1]}")


def label_suffix(label, tag_column, spacing=None):
    """A token line after its FORM: LEMMA to MISC, tab-separated, the label in ``tag_column``;
    ``spacing``: the token's spacing attributes in MISC (``text_spacing``), or None."""
    upos = label if tag_column == "upos" else "_"
    xpos = label if tag_column == "xpos" else "_"
    if tag_column.startswith("misc:"):
        misc = f"{tag_column[5:]}={label}" + (f"|{spacing}" if spacing else "")
    else:
        misc = spacing or "_"
    return f"_\t{upos}\t{xpos}\t_\t_\t_\t_\t{misc}"


def text_spacing(text, tokens, starts, ends):
    """(``# text``'s value; each token's spacing attributes in MISC, or None) for a record
    whose own text is ``text`` (module docstring). ValueError where a token is not
    ``text[start:end]``: its offsets then index another text."""
    for number, (token, start, end) in enumerate(zip(tokens, starts, ends), start=1):
        if text[start:end] != token or start > end:
            raise ValueError(f"its token {number} {token!r} is not its text at {start}:{end} "
                             f"({text[start:end]!r})")
    spacing = []
    for end, start in zip(ends, [*starts[1:], len(text)]):
        gap = text[end:start]
        if start < end:
            raise ValueError(f"its tokens overlap at {start}")
        if gap == " " and start != len(text):
            spacing.append(None)
        elif not gap:
            spacing.append(None if start == len(text) else SPACE_AFTER_NO)
        else:
            spacing.append("SpacesAfter=" + spaces_misc_value(gap))
    if starts[0]:
        before = "SpacesBefore=" + spaces_misc_value(text[:starts[0]])
        spacing[0] = before + (f"|{spacing[0]}" if spacing[0] else "")
    sentence = _LINE_BREAK.sub(" ", text[starts[0]:ends[-1]])
    return sentence, spacing


# What ``# text`` writes as a space: every character that ends a line for some reader.
_LINE_BREAK = re.compile(LINE_BREAK_OR_TAB.replace("\t", ""))
_SPACE_ESCAPES = {" ": "\\s", "\t": "\\t", "\r": "\\r", "\n": "\\n", "|": "\\p", "\\": "\\\\"}


def spaces_misc_value(spaces):
    """``spaces`` as a value of SpacesAfter / SpacesBefore (module docstring): UDPipe's
    escapes, and ``\\uXXXX`` for ``=`` and every character that is not printable, so that the
    value holds no whitespace but ordinary letters and cannot end MISC's attribute early."""
    return "".join(_SPACE_ESCAPES.get(character) or (
        character if character.isprintable() and character != "=" else
        f"\\u{ord(character):04x}" if ord(character) < 0x10000 else f"\\U{ord(character):08x}")
        for character in spaces)


def form_problem(token):
    """Why CoNLL-U cannot hold ``token`` as a FORM, or None."""
    if not isinstance(token, str):
        return f"a {type(token).__name__}, not a string"
    if not token:
        return "it is empty"
    if _FORM_UNSAFE.search(token):
        return _whitespace_problem(token)
    return None if _is_utf8((token,)) else "a lone surrogate"


def label_problem(label, tag_column):
    """Why ``label`` cannot go in ``tag_column``, or None."""
    if not isinstance(label, str):
        return f"a {type(label).__name__}, not a string"
    if not label:
        return "it is empty"
    if not tag_column.startswith("misc:"):
        if _ANY_WHITESPACE.search(label):
            return "whitespace, which UPOS and XPOS cannot hold"
    elif _MISC_VALUE_UNSAFE.search(label):
        if "|" in label or "=" in label:
            return "'|' ends a MISC attribute and '=' splits it"
        return _whitespace_problem(label)
    return None if _is_utf8((label,)) else "a lone surrogate"


def _whitespace_problem(text):
    if re.search(LINE_BREAK_OR_TAB, text):
        return "a tab or a line break"
    if re.match(WHITESPACE, text) or re.search(f"{WHITESPACE}$", text):
        return "whitespace at its start or end"
    return "two whitespace characters in a row"

