"""Streaming readers for tagged corpora: CoNLL-U and two-column CoNLL/IOB (span-annotated
JSON Lines, the third format ``read_corpus`` reads, are in ``span_corpus``).

Every reader is a generator over ``Sentence`` records and reads its file once,
line by line, so a corpus never has to fit in memory. The parsing works on
numbered lines (``parse_conllu_lines`` / ``parse_conll_lines``) so the Beam side
can reuse it on lines it has already read.

Malformed input raises ``InputFormatError(source, line, problem)``. With
``on_error="skip"`` the sentence holding the bad line is dropped instead, and
counted in the ``ReadStats`` passed as ``stats=``.
"""
import dataclasses
import json
import os
import posixpath
import re
import sys
from typing import Iterable, Iterator, Optional, Tuple, Union

from beamtagger.errors import BeamtaggerError, InputFormatError
from beamtagger.line_ends import cr_line_ends
from beamtagger.text_encodings import ENCODING_SAMPLE_BYTES, nul_note, other_encoding, wide_line

__all__ = ["CORPUS_EXTENSIONS", "FORMATS", "ReadStats", "Sentence", "SniffedLine",
           "check_on_error", "check_tag_column", "conll_comment_id", "contradicted_format",
           "corpus_format_of_name", "decode_line", "default_sent_id", "first_sentence_lines",
           "is_word_id", "numbered_lines", "parse_conll_lines", "parse_conllu_lines",
           "read_conll", "read_conllu", "read_corpus", "select_sentences",
           "sniff_corpus_format", "split_conll_comments", "with_tag"]

ON_ERROR_CHOICES = ("raise", "skip")
FORMATS = ("conllu", "conll", "spans")
CONLLU_COLUMNS = 10
_CONLLU_TAG_INDEX = {"upos": 3, "xpos": 4}
_MISC_INDEX = 9
# Keeps the first few problems of a skipping read, enough to show the user what was wrong.
MAX_KEPT_ERRORS = 20

_WORD_ID = re.compile(r"[0-9]+\Z")
_RANGE_ID = re.compile(r"([1-9][0-9]*)-([1-9][0-9]*)\Z")
_EMPTY_NODE_ID = re.compile(r"(0|[1-9][0-9]*)\.([1-9][0-9]*)\Z")
_SENT_ID = re.compile(r"#\s*sent_id\s*=\s*(.*?)\s*\Z")
# beamtagger writes ``# id = <id>`` (the id exactly, after one space).
_ID_COMMENT = re.compile(r"# (?:sent_)?id = ?(.*)\Z", re.DOTALL)

NumberedLine = Tuple[int, Union[bytes, str]]


@dataclasses.dataclass(frozen=True)
class Sentence:
    """One tagged sentence and where it came from.

    Args:
      sent_id: the CoNLL-U ``sent_id``, else "<file basename>:<first line number>".
      tokens: the sentence's words.
      tags: one tag per token.
      source: the file's path.
      line: the 1-based line of the sentence's first token.
    """
    sent_id: str
    tokens: Tuple[str, ...]
    tags: Tuple[str, ...]
    source: str
    line: int

    @property
    def has_own_id(self):
        """False where ``sent_id`` is the place made up for a sentence that names none."""
        return self.sent_id != default_sent_id(self.source, self.line)


@dataclasses.dataclass
class ReadStats:
    """Counts filled in while a reader runs (pass one as ``stats=``).

    Args:
      sentences: sentences read.
      tokens: their tokens.
      skipped_sentences: malformed sentences skipped (``on_error="skip"``).
      errors: the first ``MAX_KEPT_ERRORS`` InputFormatErrors behind the skipped sentences.
    """
    sentences: int = 0
    tokens: int = 0
    skipped_sentences: int = 0
    # The first MAX_KEPT_ERRORS problems behind skipped sentences.
    errors: list = dataclasses.field(default_factory=list)

    def _record(self, sentence):
        self.sentences += 1
        self.tokens += len(sentence.tokens)

    def _skip(self, error):
        self.skipped_sentences += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(error)


def read_corpus(path, format, **kwargs) -> Iterator[Sentence]:
    """Reads ``path`` as ``format`` ("conllu", "conll" or "spans"); ``kwargs`` go to that
    reader (``span_corpus.read_spans`` for "spans")."""
    if format == "conllu":
        return read_conllu(path, **kwargs)
    if format == "conll":
        return read_conll(path, **kwargs)
    if format == "spans":
        from beamtagger.span_corpus import read_spans

        return read_spans(path, **kwargs)
    raise BeamtaggerError(f"unknown corpus format {format!r}; choose one of {', '.join(FORMATS)}")


def select_sentences(sentences, selection, role="corpus"):
    """``sentences[START:END]`` for a ``"START:END"`` selection: 0-based, END excluded, either
    left out for the start or the end, negative counting from the end (a Python slice).

    A fixed part of a corpus without document ids, e.g. WNUT-17 dev's first 505 sentences to
    choose on (``":505"``) and the other 504 to report on (``"505:"``), docs/quality.md.
    BeamtaggerError for a malformed or empty selection.
    """
    match = re.fullmatch(r"\s*(-?[0-9]+)?\s*:\s*(-?[0-9]+)?\s*", selection or "")
    if match is None:
        raise BeamtaggerError(f"{role} sentences {selection!r}: expected START:END (0-based, "
                              "END excluded, either may be left out), e.g. ':505' or '505:'")
    start, end = (_slice_index(group) for group in match.groups())
    sentences = list(sentences)
    chosen = sentences[start:end]
    if not chosen:
        raise BeamtaggerError(f"{role} sentences {selection!r} select none of the "
                              f"{len(sentences)} sentences")
    return chosen


def _slice_index(digits):
    """A slice's index written ``digits`` (None for none). Over the 4,300 digits Python's
    ``int`` takes (a ValueError traceback) it lies beyond any corpus: the largest index then,
    which a slice takes the same way. Leading zeros are no part of its size ('0005' is 5)."""
    if digits is None:
        return None
    sign, size = ("-", digits[1:]) if digits.startswith("-") else ("", digits)
    size = size.lstrip("0") or "0"   # int() counts leading zeros into its 4,300 digits too
    if len(size) > 18:
        return -sys.maxsize if sign else sys.maxsize
    return int(sign + size)


def read_conllu(path, tag_column="upos", on_error="raise", stats: Optional[ReadStats] = None,
                missing_tag="_") -> Iterator[Sentence]:
    """Sentences of a CoNLL-U file, tagged from ``tag_column``.

    ``tag_column`` is "upos", "xpos" or "misc:KEY" (the value of KEY in the MISC
    column; words without KEY get ``missing_tag``). Multi-word token ranges
    ("1-2") and empty nodes ("8.1") are skipped: the tokens are the syntactic words.
    """
    check_tag_column(tag_column)
    check_on_error(on_error)
    return parse_conllu_lines(numbered_lines(path), str(path), tag_column=tag_column,
                              on_error=on_error, stats=stats, missing_tag=missing_tag)


def read_conll(path, on_error="raise", stats: Optional[ReadStats] = None) -> Iterator[Sentence]:
    """Sentences of a two-column ``token<TAB or spaces>tag`` file (CoNLL/IOB, e.g. WNUT-17).

    Lines holding only spaces or tabs separate sentences; ``-DOCSTART-`` lines are skipped.
    """
    check_on_error(on_error)
    return parse_conll_lines(numbered_lines(path), str(path), on_error=on_error, stats=stats)


def parse_conllu_lines(lines: Iterable[NumberedLine], source, tag_column="upos",
                       on_error="raise", stats: Optional[ReadStats] = None,
                       missing_tag="_") -> Iterator[Sentence]:
    """Parses CoNLL-U from ``(line_number, bytes_or_str)`` pairs (see ``read_conllu``)."""
    check_tag_column(tag_column)
    check_on_error(on_error)
    source = str(source)
    if tag_column.startswith("misc:"):
        misc_key = tag_column[len("misc:"):]
        tag_of = lambda columns: _misc_value(columns[_MISC_INDEX], misc_key, missing_tag)
    else:
        index = _CONLLU_TAG_INDEX[tag_column]
        tag_of = lambda columns: columns[index]
    return _parse_blocks(lines, source, on_error, stats,
                         lambda block: _conllu_sentence(block, source, tag_of))


def parse_conll_lines(lines: Iterable[NumberedLine], source, on_error="raise",
                      stats: Optional[ReadStats] = None,
                      document_starts=True) -> Iterator[Sentence]:
    """Parses two-column CoNLL/IOB from ``(line_number, bytes_or_str)`` pairs (see read_conll).

    ``document_starts=False``: a ``-DOCSTART-`` line is a token like any other (for the lines
    of one sentence, already separated from the rest by the caller)."""
    check_on_error(on_error)
    source = str(source)
    return _parse_blocks(lines, source, on_error, stats,
                         lambda block: _conll_sentence(block, source),
                         is_document_start=_is_docstart if document_starts else None)


def _parse_blocks(lines, source, on_error, stats, make_sentence, is_document_start=None):
    """Groups lines into blank-line separated blocks and turns each into a Sentence.

    A block with a bad line is parsed no further, but its remaining lines are still
    consumed so that skipping drops exactly one sentence.
    """
    block, error = [], None
    after_nul = False
    for number, raw in lines:
        try:
            text = decode_line(raw, source, number)
        except InputFormatError as bad_bytes:
            error = error or bad_bytes
            block.append((number, ""))
            after_nul = b"\x00" in raw
            continue
        if after_nul and text.startswith("\x00"):
            # The 00 of a UTF-16LE line's newline (0A 00): left on the blank line after the
            # sentence, it joined the next sentence to that one, skipped with it uncounted.
            text = text[1:]
        after_nul = "\x00" in text
        # A -DOCSTART- line between sentences marks a document (CoNLL-2003); inside a block,
        # after its tokens or beamtagger's own "# id = ..." line, it is a token, as `tag`
        # reads it (record_parsers): evaluate dropped such a record of tag's CoNLL output.
        if text.strip() == "" or (is_document_start is not None and not block
                                  and is_document_start(text)):
            yield from _finish_block(block, error, on_error, stats, make_sentence)
            block, error = [], None
            continue
        block.append((number, text))
    yield from _finish_block(block, error, on_error, stats, make_sentence)


def _finish_block(block, error, on_error, stats, make_sentence):
    if not block:
        return
    sentence = None
    if error is None:
        try:
            sentence = make_sentence(block)
        except InputFormatError as bad_line:
            error = bad_line
    if error is not None:
        if on_error == "raise":
            raise error
        if stats is not None:
            stats._skip(error)
        return
    if sentence is None:  # comments only
        return
    if stats is not None:
        stats._record(sentence)
    yield sentence


def _conllu_sentence(block, source, tag_of):
    sent_id, tokens, tags, first_line = None, [], [], None
    last_word = 0
    for number, text in block:
        if text.startswith("#"):
            if not tokens:
                match = _SENT_ID.match(text)
                if match:
                    sent_id = _unquoted(match.group(1))
            continue
        columns = text.split("\t")
        if len(columns) != CONLLU_COLUMNS:
            raise InputFormatError(source, number, f"expected {CONLLU_COLUMNS} tab-separated "
                                   f"columns, found {len(columns)}")
        word_id = columns[0]
        if _WORD_ID.match(word_id):
            if int(word_id) != last_word + 1:
                raise InputFormatError(source, number, f"word id {word_id} out of order "
                                       f"(expected {last_word + 1})")
            last_word += 1
        elif _check_range_or_empty_node(word_id, last_word, source, number):
            continue
        form = columns[1]
        if form.strip() == "":
            raise InputFormatError(source, number, f"empty token (FORM) for word {word_id}")
        tag = tag_of(columns)
        if tag.strip() == "":
            raise InputFormatError(source, number, f"empty tag for word {word_id}")
        if first_line is None:
            first_line = number
        tokens.append(form)
        tags.append(tag)
    if not tokens:
        return None
    if sent_id is None:
        sent_id = default_sent_id(source, first_line)
    return Sentence(sent_id, tuple(tokens), tuple(tags), source, first_line)


def _check_range_or_empty_node(word_id, last_word, source, number):
    """True for a valid multi-word range or empty node id (both skipped); raises otherwise."""
    match = _RANGE_ID.match(word_id)
    if match:
        start, end = int(match.group(1)), int(match.group(2))
        if start != last_word + 1 or end <= start:
            raise InputFormatError(source, number, f"multi-word token range {word_id} out of "
                                   f"order (expected it to start at {last_word + 1})")
        return True
    match = _EMPTY_NODE_ID.match(word_id)
    if match:
        if int(match.group(1)) != last_word:
            raise InputFormatError(source, number, f"empty node {word_id} out of order "
                                   f"(expected it to follow word {last_word})")
        return True
    raise InputFormatError(source, number, f"word id {word_id!r} is not an integer, "
                           "a range like 1-2 or an empty node like 8.1")


def _misc_value(misc, key, missing_tag):
    if misc != "_":
        for item in misc.split("|"):
            name, equals, value = item.partition("=")
            if equals and name == key:
                return value
    return missing_tag


def is_word_id(text):
    """Whether a CoNLL-U ID is a syntactic word's ("7"), not a multiword range or empty node."""
    return _WORD_ID.match(text) is not None


def with_tag(columns, tag_column, tag):
    """A CoNLL-U word line's ten columns with ``tag`` where ``parse_conllu_lines(tag_column=)``
    reads it: UPOS or XPOS replaced; for "misc:KEY" the first KEY's value in MISC replaced, or
    ``KEY=tag`` added after the word's other attributes."""
    columns = list(columns)
    if not tag_column.startswith("misc:"):
        columns[_CONLLU_TAG_INDEX[tag_column]] = tag
        return columns
    key = tag_column[len("misc:"):]
    misc = columns[_MISC_INDEX]
    items = [] if misc == "_" else misc.split("|")
    for index, item in enumerate(items):
        name, equals, _ = item.partition("=")
        if equals and name == key:
            items[index] = f"{key}={tag}"
            break
    else:
        items.append(f"{key}={tag}")
    columns[_MISC_INDEX] = "|".join(items)
    return columns


def split_conll_comments(block):
    """(comment lines, token lines) of a CoNLL block of ``(number, bytes or str)``.

    Comments are the lines at the start of a sentence that begin with "# " and hold a "=",
    as CoNLL-U comments do (``# sent_id = ...``, beamtagger's own ``# id = ...``); a token
    line such as ``#\tO`` or ``#hashtag\tO`` never matches.
    """
    count = 0
    for _, line in block:
        prefix, equals = (b"# ", b"=") if isinstance(line, bytes) else ("# ", "=")
        if not (line.startswith(prefix) and equals in line):
            break
        count += 1
    return block[:count], block[count:]


def conll_comment_id(comments, source) -> Optional[str]:
    """The value of the first ``# id = ...`` or ``# sent_id = ...`` comment, else None."""
    for number, line in comments:
        text = decode_line(line, source, number)
        match = _ID_COMMENT.match(text)
        if match:
            return _unquoted(match.group(1))
    return None


def is_json_quoted(text):
    """Whether a CoNLL id comment's value reads as a JSON string (quotes around it)."""
    return len(text) >= 2 and text[0] == '"' and text[-1] == '"'


def _unquoted(value):
    """An id beamtagger wrote as a JSON string (one holding a line break, a tab or a lone
    surrogate, or quotes around it; in CoNLL-U also whitespace at its ends, which ``sent_id``
    comments drop: ``write_results.conll_id_line``), decoded; else as it is."""
    if is_json_quoted(value):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, str):
            return decoded
    return value


def _conll_sentence(block, source):
    tokens, tags = [], []
    comments, block = split_conll_comments(block)
    if not block:
        return None  # comments only
    sent_id = conll_comment_id(comments, source)
    for number, text in block:
        # A tab-separated line may hold a token with a space in it; otherwise split on spaces.
        columns = text.split("\t") if "\t" in text else text.split()
        if len(columns) != 2:
            raise InputFormatError(source, number, "expected 2 columns (token and tag separated "
                                   f"by a tab or spaces), found {len(columns)}")
        token, tag = columns[0].strip(" "), columns[1].strip(" ")
        if token.strip() == "":
            raise InputFormatError(source, number, "empty token")
        if tag == "":
            raise InputFormatError(source, number, f"empty tag for token {token!r}")
        tokens.append(token)
        tags.append(tag)
    first_line = block[0][0]
    return Sentence(sent_id if sent_id is not None else default_sent_id(source, first_line),
                    tuple(tokens), tuple(tags), source, first_line)


def _is_docstart(text):
    return text.split(None, 1)[0] == "-DOCSTART-"


def decode_line(raw, source, number):
    """A corpus line (bytes or str) as text without its line end, and on line 1 without a
    UTF-8 byte-order mark; InputFormatError naming the byte where it is not UTF-8."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputFormatError(source, number, f"not valid UTF-8 (byte {error.start}: "
                                   f"{raw[error.start:error.start + 1]!r}){nul_note(raw)}"
                                   ) from None
        if "\x00" in text:
            wide = wide_line(raw.rstrip(b"\r\n"))
            if wide is not None:
                raise InputFormatError(source, number, wide)
    else:
        text = raw
    if number == 1 and text.startswith("\ufeff"):
        text = text[1:]  # byte-order mark written by some Windows editors
    return text.rstrip("\r\n")


def numbered_lines(path, max_bytes=None):
    """``(line number, bytes)`` of ``path``'s lines; with ``max_bytes``, of its first
    ``max_bytes`` bytes only, the last line cut where they end."""
    try:
        with open(path, "rb") as lines:
            # A UTF-16 corpus was "expected 10 tab-separated columns, found 1" (no mark) or
            # "not valid UTF-8 (byte 0...)" (with one): errors that point away from the cause.
            # peek, not read and seek back: a pipe (train --train <(zcat ...)) cannot seek.
            head = lines.peek(ENCODING_SAMPLE_BYTES)[:ENCODING_SAMPLE_BYTES]
            found = other_encoding(head)
            if found is not None:
                raise BeamtaggerError(f"cannot read {path}: "
                                      f"{found.reason(', so none of its lines was read')}")
            # CR line ends were one line: "holds no sentences" for CoNLL-U, a CoNLL "expected
            # 2 columns, found 96".
            problem = cr_line_ends(head)
            if problem is not None:
                raise BeamtaggerError(f"cannot read {path}: {problem}")
            if max_bytes is None:
                yield from enumerate(lines, start=1)
                return
            number = 0
            while max_bytes > 0:
                line = lines.readline(max_bytes)
                if not line:
                    return
                number += 1
                max_bytes -= len(line)
                yield number, line
    except OSError as error:
        raise BeamtaggerError(f"cannot read {path}: {error.strerror or error}") from None


def default_sent_id(source, line):
    """The id of a sentence that names none: "<file basename>:<line>"."""
    return f"{posixpath.basename(source.replace(os.sep, '/'))}:{line}"


# What a MISC attribute's name cannot hold: "|" ends the attribute, the first "=" ends its
# name, and the CoNLL-U columns hold no whitespace there.
_MISC_KEY_UNSAFE = re.compile(r"[|=\s]")


def check_tag_column(tag_column):
    """BeamtaggerError unless ``tag_column`` names a CoNLL-U column tags are read from or
    written to: "upos", "xpos" or "misc:KEY", KEY a MISC attribute name (no "|", "=" or
    whitespace, which no reader could find in the column)."""
    if tag_column in _CONLLU_TAG_INDEX:
        return
    if isinstance(tag_column, str) and tag_column.startswith("misc:") and len(tag_column) > 5:
        if _MISC_KEY_UNSAFE.search(tag_column, 5) is None:
            return
        raise BeamtaggerError(f"CoNLL-U tag column {tag_column!r}: a MISC attribute name "
                              "cannot hold '|', '=' or whitespace")
    raise BeamtaggerError(f"unknown CoNLL-U tag column {tag_column!r}; "
                          "choose upos, xpos or misc:KEY")


def check_on_error(on_error):
    """BeamtaggerError unless ``on_error`` is one of ``ON_ERROR_CHOICES``."""
    if on_error not in ON_ERROR_CHOICES:
        raise BeamtaggerError(f"on_error must be one of {', '.join(ON_ERROR_CHOICES)}, "
                              f"not {on_error!r}")


# Extensions that name a corpus format. .iob and .bio are what token<TAB>tag files are called
# after their tag schemes (one tag column, as conll). .tsv names only the separator (tag reads a
# .tsv as a table under a header row) and .txt no layout at all (CoNLL-2003 ships as
# train.txt): the content decides for them, as for any other name. .jsonl is what Doccano and
# Prodigy export spans as; .json is left to the content (Label Studio's JSON is one array).
CORPUS_EXTENSIONS = {".conllu": "conllu", ".conll": "conll", ".iob": "conll", ".bio": "conll",
                     ".jsonl": "spans"}
# Lines of the first sentence that sniff_corpus_format looks at: a sentence is rarely longer,
# and a file of running text without blank lines is not read to its end.
_SNIFFED_LINES = 50
# Bytes of a file's start that sniffing reads at most: fifty CoNLL-U lines and a document's
# comments take a few KiB. Lines were read whole: a 300 MB file of text without a line end
# took 4.8 GB and 17 s to sniff, and a bigger one ran the machine out of memory.
_SNIFFED_BYTES = 1 << 20


def corpus_format_of_name(path) -> Optional[str]:
    """The corpus format ``path``'s extension names (``CORPUS_EXTENSIONS``), or None."""
    return CORPUS_EXTENSIONS.get(os.path.splitext(str(path).lower())[1])


@dataclasses.dataclass(frozen=True)
class SniffedLine:
    """The first token line of a corpus: its number, how many columns it holds (split on tabs
    where it has one, else on whitespace) and whether tabs separate them."""
    number: int
    columns: int
    tab_separated: bool

    def describe(self):
        separated = "tab-separated" if self.tab_separated else "space-separated"
        return f"{self.columns} {separated} column{'s' if self.columns != 1 else ''} " \
               f"at line {self.number}"


def first_sentence_lines(path) -> Tuple[SniffedLine, ...]:
    """The token lines of ``path``'s first sentence (at most ``_SNIFFED_LINES``, in its first
    ``_SNIFFED_BYTES``): comments (a "#" line without a tab, or CoNLL-U's and beamtagger's
    "# key = value") and -DOCSTART- lines left out. Empty for a file of blank lines and
    comments. BeamtaggerError for an unreadable file, or one in another encoding than UTF-8."""
    found = []
    lines = numbered_lines(path, max_bytes=_SNIFFED_BYTES)
    try:
        for number, raw in lines:
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if number == 1:
                text = text.lstrip("\ufeff")
            if text.strip() == "":
                if found:
                    break
                continue
            if text.startswith("#") and ("\t" not in text or
                                         (text.startswith("# ") and "=" in text)):
                continue
            if not found and _is_docstart(text):
                continue
            tab_separated = "\t" in text
            columns = text.split("\t") if tab_separated else text.split()
            found.append(SniffedLine(number, len(columns), tab_separated))
            if len(found) == _SNIFFED_LINES:
                break
    finally:
        lines.close()
    return tuple(found)


def sniff_corpus_format(lines: Tuple[SniffedLine, ...], text_allowed=False) -> Optional[str]:
    """The format a corpus's first sentence (``first_sentence_lines``) reads as, or None.

    Its first token line decides between the tagged formats: ten tab-separated columns are
    CoNLL-U, two or more columns otherwise CoNLL (whose reader then names a line of another
    count). With ``text_allowed`` (embeddings coverage, which also measures plain text) CoNLL
    needs more: every line of the sentence two tab-separated columns, or two space-separated
    ones on three lines or more (a title, "Chapter One", or two short lines are text);
    anything else is running text.
    """
    if not lines:
        return "text" if text_allowed else None
    first = lines[0]
    if first.tab_separated and first.columns == CONLLU_COLUMNS:
        return "conllu"
    if not text_allowed:
        return "conll" if first.columns >= 2 else None
    if all(line.columns == 2 for line in lines) and (
            all(line.tab_separated for line in lines) or len(lines) >= 3):
        return "conll"
    return "text"


def contradicted_format(named, lines: Tuple[SniffedLine, ...]) -> Optional[SniffedLine]:
    """The first token line where it plainly holds the other tagged format than the one the
    file's name says (two columns in a .conllu file, ten tab-separated ones in a .conll file),
    else None: a line of another count is a broken line of the named format, which its reader
    reports."""
    if not lines:
        return None
    first = lines[0]
    if named == "conllu" and first.columns == 2:
        return first
    if named == "conll" and first.tab_separated and first.columns == CONLLU_COLUMNS:
        return first
    return None
