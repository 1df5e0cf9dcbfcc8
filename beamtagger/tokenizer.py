"""Splits raw text into tokens with character offsets, following EWT / Penn conventions.

Built on spaCy's rule-based English tokenizer (``spacy.blank("en")``: no model
download, no pipeline components), with its rules adjusted where the Universal
Dependencies English Web Treebank tokenizes differently, so that raw text is cut
the way the taggers saw their training data. Every rule below was checked against
EWT's own tokenization of its *train* text; ``bench/tokenizer_bench.py`` reports
the agreement on *dev* (docs/tokenizer.md).

What it guarantees, whatever the input: ``text[token.start:token.end] ==
token.text``; tokens are in order, do not overlap, and none is empty or made only
of whitespace or invisible control/format characters.
"""
import re
import unicodedata
from typing import Iterable, Iterator, List, NamedTuple

import spacy
from spacy.tokenizer import Tokenizer as SpacyTokenizer
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

__all__ = ["Token", "Tokenizer", "build_spacy_tokenizer"]


class Token(NamedTuple):
    """One token of a text.

    Args:
      text: the token, ``original[start:end]``.
      start, end: its offsets in the original text.
    """
    text: str
    start: int   # offset of the first character in the original text
    end: int     # offset just past the last character: original[start:end] == text


# Runs of one punctuation mark are one token in EWT ("!!!", "?!", "<<", "*****", "____",
# "----", "''"); spaCy splits each character off separately.
_PUNCT_RUNS = [r"[.!?]*[!?][.!?]*", r"_{2,}", r"={2,}", r"\*{2,}", r"<{2,}", r">{2,}", r"~{2,}",
               r"-{2,}", r"'{2,}", r"’{2,}", r"#{2,}", r"\+{2,}"]
# EWT splits amounts and times from their units/period: "65k", "$2b", "7:30PM", "2:00pm".
_NUMBER_UNITS = r"(?<=[0-9])(?:[kKbB]|[ap]\.?m\.?|[AP]\.?M\.?)"
# "account(s)", "Savier(sp?)": EWT splits the parenthesis off the word.
_WORD_PARENTHESIS = r"(?<=[A-Za-z])[()](?=[A-Za-z?])"
# Prefixes that EWT keeps attached with their hyphen ("e-mail", "non-profit", "re-enter"),
# where it otherwise splits hyphenated words ("well - known"). Counted on EWT train: these
# first parts were kept whole in 173 of 177 occurrences.
_HYPHEN_PREFIXES = ("e", "non", "pre", "anti", "mid", "re", "post", "co", "pro", "multi", "ex",
                    "sub", "semi", "neo", "psycho", "socio", "inter", "intra", "counter", "micro",
                    "macro", "ultra", "bi", "tri", "mis", "de", "un", "over", "cross", "arch")
_KEPT_WHOLE = [
    # e-mail addresses, @mentions and #hashtags (a hashtag holds at least one letter:
    # EWT reads "#1" as "#" "1").
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    r"@\w+",
    r"#\w*[^\W\d_]\w*",
    # North American phone numbers and ZIP+4, kept whole by EWT ("713-853-3989").
    r"(?:\d-)?\d{3}-\d{3}-\d{4}|\d{3}-\d{4}|\d{5}-\d{4}",
    r"(?i:%s)-[^\W\d_]+" % "|".join(_HYPHEN_PREFIXES),
]
# Special cases: (text, its pieces). Each is added in lower case, Title case and UPPER CASE.
_SPLITS = [
    ("wanna", ("wan", "na")), ("wana", ("wan", "a")), ("outta", ("out", "ta")),
    ("sorta", ("sort", "a")), ("alot", ("a", "lot")),
]
# Abbreviations EWT keeps with their period inside a sentence; spaCy splits them.
_ABBREVIATIONS = ["etc.", "Ft.", "Lt.", "Col.", "Sgt.", "Attn.", "Reps.", "Rep.", "ext.", "Ext.",
                  "lb.", "lbs.", "oz.", "approx.", "Approx.", "Mon.", "Tue.", "Tues.", "Wed.",
                  "Thu.", "Thur.", "Thurs.", "Fri.", "Sat.", "Sun.", "Arrv.", "arrv.", "info."]
# spaCy special cases EWT does not follow: "id" and "wed" are words there, "and/or" is split
# at the slash, and "):" closes a parenthesis before a colon far more often than it frowns.
_DROPPED_SPECIAL_CASES = {"id", "Id", "ID", "wed", "Wed", "WED", "and/or", "):"}
# Characters that glue an emoji sequence together (zero-width joiner, variation selectors,
# skin tones, keycap, tag characters of subdivision flags); spaCy cuts sequences at them.
_EMOJI_GLUE = "\u200d\ufe0e\ufe0f\u20e3\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F"
_HAS_EMOJI_GLUE = re.compile(f"[{_EMOJI_GLUE}\U0001F1E6-\U0001F1FF]")
_STARTS_WITH_GLUE = re.compile(f"[{_EMOJI_GLUE}]")
_REGIONAL_INDICATOR = re.compile("[\U0001F1E6-\U0001F1FF]\\Z")
_INVISIBLE_CATEGORIES = frozenset(("Cc", "Cf", "Zs", "Zl", "Zp"))
_ZWJ = "\u200d"


def build_spacy_tokenizer():
    """spaCy's English tokenizer with the EWT adjustments above (no pipeline, no model)."""
    nlp = spacy.blank("en")
    defaults = nlp.Defaults
    # spaCy strips "#" as a prefix before its token_match sees "#tag!" again without the "!".
    prefixes = [prefix for prefix in defaults.prefixes if prefix not in ("#", r"\#")]
    rules = {text: pieces for text, pieces in nlp.tokenizer.rules.items()
             if text not in _DROPPED_SPECIAL_CASES}
    for text, pieces in _SPLITS:
        for case in (str.lower, str.title, str.upper):
            if case is str.title:
                pieces_in_case = (pieces[0].title(),) + pieces[1:]
            else:
                pieces_in_case = tuple(case(piece) for piece in pieces)
            rules[case(text)] = [{"ORTH": piece} for piece in pieces_in_case]
    for abbreviation in _ABBREVIATIONS:
        rules[abbreviation] = [{"ORTH": abbreviation}]
    # One constructor call: each setter of an existing spaCy tokenizer reloads all ~1,400
    # special cases (measured: 0.75 s with setters, 0.2 s this way, spacy.blank included).
    return SpacyTokenizer(
        nlp.vocab,
        rules=rules,
        prefix_search=compile_prefix_regex(
            _PUNCT_RUNS + prefixes + [r"#(?!\w*[^\W\d_])"]).search,
        suffix_search=compile_suffix_regex(
            _PUNCT_RUNS + [_NUMBER_UNITS] + list(defaults.suffixes)).search,
        infix_finditer=compile_infix_regex(
            [r"-{2,}", r"_{2,}", r"={2,}", r"\*{2,}", _WORD_PARENTHESIS]
            + list(defaults.infixes)).finditer,
        token_match=re.compile("(?:%s)\\Z" % "|".join(_KEPT_WHOLE)).match,
        url_match=nlp.tokenizer.url_match,
    )


class Tokenizer:
    """Raw text -> ``Token(text, start, end)`` list, EWT / Penn Treebank conventions.

    ``don't`` -> ``do n't``, ``can't`` -> ``ca n't``; punctuation split off; URLs,
    e-mail addresses, @mentions, #hashtags and numbers like ``3.14`` and ``1,000``
    kept whole. A sentence-final abbreviation loses its period to a separate token
    ("... Inc." -> ``Inc`` ``.``), as in EWT.

    Cheap to build (~0.2 s) and picklable: pickling keeps no spaCy state, and
    unpickling builds a fresh spaCy tokenizer, so Beam can ship one to each worker.
    One instance is not meant to be shared between threads (spaCy's tokenizer cache
    is not thread-safe); Beam gives every DoFn instance its own copy. Takes no arguments.
    """

    def __init__(self):
        self._spacy = build_spacy_tokenizer()

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.__init__()

    def __repr__(self):
        return "Tokenizer()"

    def tokenize(self, text: str) -> List[Token]:
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer.tokenize expects str, got {type(text).__name__}")
        try:
            doc = self._spacy(text)
        except UnicodeEncodeError:
            # Lone surrogates (e.g. from a bad JSON escape) cannot be hashed by spaCy.
            # Replacing each with one U+FFFD keeps every offset valid in the original.
            replaced = _replace_surrogates(text)
            return [Token(text[token.start:token.end], token.start, token.end)
                    for token in self._tokens(replaced, self._spacy(replaced))]
        return self._tokens(text, doc)

    def tokenize_many(self, texts: Iterable[str]) -> Iterator[List[Token]]:
        """Tokens of each text in turn (lazy, so any iterable of any length works)."""
        for text in texts:
            yield self.tokenize(text)

    def _tokens(self, text, doc):
        # The hot loop: one tuple per token, no per-token checks beyond whitespace (profiled
        # on EWT dev, the post-processing below costs nothing on plain ASCII text).
        tokens = []
        append = tokens.append
        for spacy_token in doc:
            piece = spacy_token.text
            if not piece.isspace():
                start = spacy_token.idx
                append(_new_token(Token, (piece, start, start + len(piece))))
        if not tokens:
            return tokens
        if not text.isascii() and _HAS_EMOJI_GLUE.search(text):
            tokens = _join_emoji_sequences(text, tokens)
        if not text.isprintable():
            # Lone control or format characters (NUL, zero-width space) carry nothing to tag.
            tokens = [token for token in tokens
                      if token.text.isprintable() or not _is_invisible(token.text)]
            if not tokens:
                return tokens
        _split_final_abbreviation(tokens)
        return tokens


_new_token = tuple.__new__


def _is_invisible(piece):
    return all(unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in piece)


def _replace_surrogates(text):
    return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)


def _split_final_abbreviation(tokens):
    """EWT ends a sentence on its own "." even after an abbreviation ("Inc." -> "Inc" ".")."""
    last = tokens[-1]
    if len(last.text) > 1 and last.text.endswith(".") and not last.text.endswith(".."):
        cut = last.end - 1
        tokens[-1:] = [Token(last.text[:-1], last.start, cut), Token(".", cut, last.end)]


def _join_emoji_sequences(text, tokens):
    """Re-joins emoji sequences spaCy cut apart: "👍" "🏽" -> "👍🏽", "🇺" "🇸" -> "🇺🇸"."""
    joined = [tokens[0]]
    for token in tokens[1:]:
        previous = joined[-1]
        touching = previous.end == token.start
        if touching and (_STARTS_WITH_GLUE.match(token.text) or previous.text.endswith(_ZWJ)
                         or (_REGIONAL_INDICATOR.match(previous.text)
                             and _REGIONAL_INDICATOR.match(token.text))):
            joined[-1] = Token(text[previous.start:token.end], previous.start, token.end)
        else:
            joined.append(token)
    return joined
