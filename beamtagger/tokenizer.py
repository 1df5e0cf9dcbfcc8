"""Splits raw text into tokens with character offsets, following EWT / Penn conventions.

Built on spaCy's rule-based English tokenizer (``spacy.blank("en")``: no model
download, no pipeline components), with its rules adjusted where the Universal
Dependencies English Web Treebank tokenizes differently, so that raw text is cut
the way the taggers saw their training data. Every rule below was checked against
EWT's own tokenization of its *train* text; ``bench/tokenizer_bench.py`` reports
the agreement on *dev* (docs/tokenizer.md).

spaCy's tokenizer cuts each whitespace-delimited chunk on its own, so beamtagger
tokenizes chunk by chunk and remembers each distinct chunk's pieces: in running text
most chunks repeat, and a dictionary hit costs far less than building a spaCy ``Doc``.
A chunk seen for the first time is cut by ``tokenizer_rules.AffixTokenizer``, spaCy's
algorithm in plain Python over spaCy's rules exported to ``data/tokenizer_rules.json``
(``python -m beamtagger.tokenizer`` rewrites it; a test checks it against the installed
spaCy), so spaCy is not even imported at run time; a plain word with at most one closing
mark ("apples.", "saw:") takes a shortcut through the one rule that can apply to it. If
the file was written for another spaCy version or other adjustments, every new chunk goes
to spaCy itself, built on first use.

What it guarantees, whatever the input: ``text[token.start:token.end] ==
token.text``; tokens are in order, do not overlap, and none is empty or made only
of whitespace or invisible control/format characters.
"""
import functools
import hashlib
import re
import unicodedata
from itertools import accumulate
from operator import sub
from typing import Iterable, Iterator, List, NamedTuple, Tuple

from beamtagger.unicode_styles import PLAIN_STYLE_TABLE

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
# "account(s)", "Savier(sp?)", "2)The", "percent(10", "draft).doc)(See": EWT splits a
# parenthesis glued to a word, a number or a file name. Between letters only, as before
# 2026-12-05, 12 chunks of EWT train were cut otherwise than EWT; now 7 are cut as EWT
# cuts them, 5 closer, none further (bench/raw_text_quality.py found the dev cases).
_WORD_PARENTHESIS = r"(?<=[A-Za-z0-9.])[()]|[()](?=[A-Za-z0-9?])"
# "F-16", "AK-47", "NET-284", "GMT-08:00": EWT splits the hyphen between letters and a number
# (spaCy's infix only between letters), except after the prefixes below ("mid-1980s"). On EWT
# train: 21 chunks now cut as EWT cuts them, 5 closer, 2 that EWT keeps whole now split
# ("CCA-15", "x-37097").
_CODE_HYPHEN = r"(?<=[A-Za-z])-(?=[0-9])"
# A name glued to the e-mail address after it ('"Julie"<julie...@bellsouth.net>', newsgroup
# headers: 6 chunks of EWT dev, 3 of train), which EWT cuts as Julie " < julie...@... >.
# spaCy's URL pattern took the chunk whole (anything before an "@" is a user name to it), and
# an infix could not cut it without spaCy's ellipsis infix cutting the Google-Groups-shortened
# address at its "...". A prefix cuts it before either is asked: the name comes off as a prefix,
# then the quote and the bracket, and the address is left for the e-mail rule of _KEPT_WHOLE.
# Over EWT train and dev and WNUT-17 train and dev, those 9 sentences change, each to EWT's cut,
# and no other.
_NAME_BEFORE_ADDRESS = r"\w+(?=\"?<[\w.+-]+@)"
# Prefixes that EWT keeps attached with their hyphen ("e-mail", "non-profit", "re-enter"),
# where it otherwise splits hyphenated words ("well - known"). Counted on EWT train: these
# first parts were kept whole in 173 of 177 occurrences.
_HYPHEN_PREFIXES = ("e", "non", "pre", "anti", "mid", "re", "post", "co", "pro", "multi", "ex",
                    "sub", "semi", "neo", "psycho", "socio", "inter", "intra", "counter", "micro",
                    "macro", "ultra", "bi", "tri", "mis", "de", "un", "over", "cross", "arch")
_KEPT_WHOLE = [
    # e-mail addresses, @mentions and #hashtags (a hashtag holds at least one letter:
    # EWT reads "#1" as "#" "1"). The letter is found by a lookahead over the digits and
    # underscores before it: "#\w*[^\W\d_]\w*" backtracked quadratically on a hashtag
    # followed by a mark ("#" + 100,000 letters + "!": 39 s, for one chunk).
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    r"@\w+",
    r"#(?=[\d_]*[^\W\d_])\w+",
    # North American phone numbers and ZIP+4, kept whole by EWT ("713-853-3989").
    r"(?:\d-)?\d{3}-\d{3}-\d{4}|\d{3}-\d{4}|\d{5}-\d{4}",
    r"(?i:%s)-[^\W_]+" % "|".join(_HYPHEN_PREFIXES),
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
# Characters that continue the grapheme before them besides the combining marks (categories
# Mn, Mc, Me: accents, Arabic harakat, Hebrew points, Indic vowel signs and viramas, Thai vowels
# and tone marks, variation selectors, the keycap): the joiners, the skin tones, the tag
# characters of subdivision flags, the half-width katakana sound marks, and Thai and Lao AM
# (letters by category, spacing marks to Unicode's segmentation). Unicode's
# Grapheme_Cluster_Break Extend, SpacingMark and ZWJ (UAX #29, GB9 and GB9a). spaCy's affix
# rules cut before them where they follow a character those rules split off (a bracket, a
# quote, an emoji): "(" + U+0301, "👍" "🏽".
_CONTINUES_GRAPHEME = re.compile("[\u0e33\u0eb3\u200c\u200d\uff9e\uff9f\U0001F3FB-\U0001F3FF"
                                 "\U000E0020-\U000E007F]")
_REGIONAL_INDICATOR = re.compile("[\U0001F1E6-\U0001F1FF]\\Z")
_INVISIBLE_CATEGORIES = frozenset(("Cc", "Cf", "Zs", "Zl", "Zp"))
# Format characters that are drawn, over or around the digits after them, and that Unicode's
# segmentation joins to the character after them (Grapheme_Cluster_Break Prepend, UAX #29
# GB9b): the Arabic number signs and end of ayah ("\u06dd\u0661\u0662", a verse number of the
# Quran), the Syriac abbreviation mark, the Kaithi number signs. Taken for invisible, the
# mark was dropped from its verse number.
_PREPENDED_MARKS = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891"
                             "\u08e2\U000110bd\U000110cd")
# What a zero-width joiner joins to the grapheme before it (UAX #29 GB11): a pictograph
# (Extended_Pictographic), to Python's categories a symbol (So), unassigned (Cn: an emoji newer
# than its Unicode tables) or one of these thirteen ("‼", "ℹ", "↔", "◻", "〰", ...; "♯", a
# math symbol, is a pictograph to the regex module's Unicode data up to 2025.9.1, not to
# 2026.12.2's). Anything else after a joiner starts a grapheme of its own: the joiner that ends
# a Malayalam chillu ("അവന്\u200d") or a Hindi half form took the ")" or "!" after it into its
# word.
_PICTOGRAPHS_NOT_SYMBOLS = frozenset("\u203c\u2049\u2139\u2194\u25fb\u25fc\u25fd\u25fe"
                                     "\u2934\u2935\u3030\u303d\u266f")
_ZWJ = "\u200d"


def build_spacy_tokenizer():
    """spaCy's English tokenizer with the EWT adjustments above (no pipeline, no model)."""
    import spacy
    from spacy.tokenizer import Tokenizer as SpacyTokenizer
    from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

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
            [_NAME_BEFORE_ADDRESS] + _PUNCT_RUNS + prefixes + [r"#(?!\w*[^\W\d_])"]).search,
        suffix_search=compile_suffix_regex(
            _PUNCT_RUNS + [_NUMBER_UNITS] + list(defaults.suffixes)).search,
        infix_finditer=compile_infix_regex(
            [r"-{2,}", r"_{2,}", r"={2,}", r"\*{2,}", _WORD_PARENTHESIS, _CODE_HYPHEN]
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

    Free to build and picklable: pickling keeps neither spaCy state nor remembered
    chunks, and spaCy is built on the first chunk that needs it, so Beam can ship one
    to each worker. One instance is not meant to be shared between threads (spaCy's
    tokenizer is not thread-safe); Beam gives every DoFn instance its own copy. Takes
    no arguments.
    """

    def __init__(self):
        self._spacy = None     # built on first use, only when the exported rules are stale
        self._pieces = {}      # chunk -> _WHOLE or its tokens, with offsets in the chunk
        self._whole = set()    # the chunks of _pieces that are one token each
        self._cut_pieces = 0   # the tokens held in _pieces by chunks cut into several
        self._rules = affix_tokenizer()

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.__init__()

    def __repr__(self):
        return "Tokenizer()"

    def tokenize(self, text: str) -> List[Token]:
        return [_new_token(Token, token) for token in zip(*self.chunk_columns(text))]

    def tokenize_columns(self, text: str) -> Tuple[tuple, tuple, tuple]:
        """``tokenize(text)`` as three tuples (texts, starts, ends), without a Token a token.

        Most texts are chunks that are each one token, one space apart (EWT train as text:
        96% of its lines); their offsets are running sums of the chunk lengths, computed by
        ``map`` and ``accumulate`` in C. Anything else goes chunk by chunk.
        """
        chunks = self.whole_chunks(text)
        if chunks is not None:
            lengths = list(map(len, chunks))
            ends = tuple(map(_MINUS_ONE, accumulate(map(_PLUS_ONE, lengths))))
            return tuple(chunks), tuple(map(sub, ends, lengths)), ends
        return tuple(map(tuple, self._chunk_columns(text)))

    def chunk_columns(self, text: str) -> Tuple[list, list, list]:
        """``tokenize(text)`` as three lists (texts, starts, ends), chunk by chunk: the path
        for texts that ``token_chunks`` turns down (a chunk cut in pieces, or not one space
        apart), without first trying it as ``tokenize_columns`` does."""
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer.tokenize expects str, got {type(text).__name__}")
        return self._chunk_columns(text)

    def _chunk_columns(self, text):
        # Three lists and no Token a token, where building Tokens and transposing them made
        # EWT train's 4% of lines with a chunk in pieces the tokenizer's costliest (tokenize
        # stage 0.60 -> 0.52 core-µs a token over all of EWT x5, bench/stage_costs.py).
        texts, starts, ends = [], [], []
        add_text, add_start, add_end = texts.append, starts.append, ends.append
        pieces_of = self._pieces
        find = text.find
        end = 0
        # str.split() cuts where str.isspace() holds, as spaCy does.
        for chunk in text.split():
            start = find(chunk, end)
            end = start + len(chunk)
            pieces = pieces_of.get(chunk)
            if pieces is None:
                pieces = self._cut_and_remember(chunk)
            if pieces is _WHOLE:
                add_text(chunk)
                add_start(start)
                add_end(end)
            else:
                for piece, piece_start, piece_end in pieces:
                    add_text(piece)
                    add_start(start + piece_start)
                    add_end(start + piece_end)
        if texts:
            _split_final_abbreviation(texts, starts, ends)
        return texts, starts, ends

    def whole_chunks(self, text: str):
        """The text's chunks when they are its tokens, one space apart (each a single
        whitespace character) from the first character to the last; else None, and the
        chunks not seen before are cut and remembered. Token ``i`` then starts at the sum of
        ``len(chunk) + 1`` over the chunks before it."""
        chunks = self.token_chunks(text)
        if chunks and len(text) != sum(map(len, chunks)) + len(chunks) - 1:
            return None
        return chunks

    def token_chunks(self, text: str):
        """The text's chunks when each is one token of it, however far apart; else None, and
        the chunks not seen before are cut and remembered. One set probe a chunk (in C)
        where ``tokenize`` builds a Token per token."""
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer.tokenize expects str, got {type(text).__name__}")
        chunks = text.split()
        if not self._whole.issuperset(chunks):
            # The dict itself, not its keys view: set.difference probes a dict (or set)
            # chunk by chunk, but iterates over any other iterable whole, here the cache of
            # every chunk seen (case G's marginal CPU a token: 17.9 -> 7.1 us on EWT train).
            new = set(chunks).difference(self._pieces)
            if new:
                self._remember(new)
            return None
        if chunks:
            last = chunks[-1]
            if len(last) > 1 and last[-1] in _FULL_STOPS and last[-2] not in _FULL_STOPS:
                return None   # "... Inc." ends on its own "." (_split_final_abbreviation)
        return chunks

    def _remember(self, chunks):
        """Cuts the chunks not seen before and remembers their pieces."""
        for chunk in chunks:
            if chunk not in self._pieces:
                self._cut_and_remember(chunk)

    def _cut_and_remember(self, chunk):
        pieces = self._cut(chunk)
        # A chunk too long to cut costs one pass to find whole, and seldom comes again; held,
        # 100,000 of them (a paragraph of text without spaces, an encoded attachment) were
        # as many times their length: 2,000 distinct chunks of 50,000 letters held 100 MB.
        if len(chunk) <= _LONGEST_CUT_CHUNK:
            pieces_of = self._pieces
            if (len(pieces_of) >= _REMEMBERED_CHUNKS
                    or self._cut_pieces >= _REMEMBERED_CUT_PIECES):
                pieces_of.clear()   # bounded memory on endless distinct chunks
                self._whole.clear()
                self._cut_pieces = 0
            pieces_of[chunk] = pieces
            if pieces is _WHOLE:
                self._whole.add(chunk)
            else:
                self._cut_pieces += len(pieces)
        return pieces

    def tokenize_many(self, texts: Iterable[str]) -> Iterator[List[Token]]:
        """Tokens of each text in turn (lazy, so any iterable of any length works)."""
        for text in texts:
            yield self.tokenize(text)

    def _cut(self, chunk):
        """One chunk's tokens: _WHOLE, or a tuple of Tokens with offsets in the chunk."""
        if not chunk.isprintable():
            start, end = _visible_span(chunk)
            if end - start != len(chunk):
                # "Paris.\u200e" is cut as "Paris." is: the rules see no invisible edge.
                pieces = self._cut(chunk[start:end]) if start < end else ()
                if pieces is _WHOLE:
                    return (Token(chunk[start:end], start, end),)
                return tuple(Token(text, start + piece_start, start + piece_end)
                             for text, piece_start, piece_end in pieces)
        if len(chunk) > _LONGEST_CUT_CHUNK:
            return () if _is_invisible(chunk) else _WHOLE
        rules = self._rules
        if rules is None:
            tokens = self._cut_with_spacy(chunk)
        else:
            special_cases = rules.special_cases
            shadow = _plain_shadow(chunk)
            plain = _PLAIN_CHUNK.match(shadow)
            if plain is not None and shadow not in special_cases:
                word_end = plain.end(1)
                if word_end == len(chunk):
                    return _WHOLE
                if plain.group(1) not in special_cases:
                    tokens = (Token(chunk[:word_end], 0, word_end),
                              Token(chunk[word_end:], word_end, len(chunk)))
                    # "Sto\u200bp." (its shadow "Stoop.") keeps its zero-width space; a word
                    # that ends on one loses it ("Stop\u200b.").
                    return tokens if shadow is chunk else tuple(_fixed_within_chunk(chunk, tokens))
            # Lone surrogates (from a bad JSON escape) become U+FFFD first, as spaCy needs.
            cut = _SURROGATE.sub("\ufffd", shadow) if not shadow.isascii() else shadow
            tokens, start = [], 0
            for piece in rules.cut(cut):
                end = start + len(piece)
                tokens.append(Token(chunk[start:end], start, end))
                start = end
            tokens = _fixed_within_chunk(chunk, tokens)
        if len(tokens) == 1 and tokens[0].text == chunk:
            return _WHOLE
        return tuple(tokens)

    def _cut_with_spacy(self, chunk):
        if self._spacy is None:
            self._spacy = build_spacy_tokenizer()
        shadow = _plain_shadow(chunk)
        try:
            doc = self._spacy(shadow)
        except UnicodeEncodeError:
            # Lone surrogates (e.g. from a bad JSON escape) cannot be hashed by spaCy.
            # Replacing each with one U+FFFD keeps every offset valid in the original.
            doc = self._spacy(_SURROGATE.sub("\ufffd", shadow))
        return _fixed_within_chunk(chunk, [
            Token(chunk[token.idx:token.idx + len(token.text)], token.idx,
                  token.idx + len(token.text)) for token in doc])


def _fixed_within_chunk(chunk, tokens):
    """The fixes that work within one chunk: no grapheme cut in two, invisible tokens
    dropped."""
    if not tokens:
        return tokens
    if len(tokens) > 1 and not chunk.isascii():
        tokens = _whole_graphemes(chunk, tokens)
    if not chunk.isprintable():
        tokens = [visible for visible in map(_without_invisible_edges, tokens) if visible]
    return tokens


def _without_invisible_edges(token):
    """The token without the control and format characters at its ends (None if it is only
    those): a byte-order mark, a bidi mark, a soft hyphen or a zero-width space carries nothing
    to tag, and glued to a word it made the word unknown to the store ("\ufeffApple" was
    tagged NOUN, "in\u00ad" NOUN, "\u200eApple" and "Paris.\u200e" kept apart from their
    vectors). One inside a word stays in it; a joiner ending a grapheme ("می\u200c") stays."""
    if token.text.isprintable():
        return token
    start, end = _visible_span(token.text)
    if end - start == len(token.text):
        return token
    if start == end:
        return None
    return Token(token.text[start:end], token.start + start, token.start + end)


def _visible_span(text):
    """(start, end) of ``text`` without the invisible characters at its ends, (0, 0) if it is
    all invisible. A joiner stays: it belongs to the grapheme it is in ("می\u200c")."""
    if _is_invisible(text):
        return 0, 0
    start, end = 0, len(text)
    while _is_edge_invisible(text[start]):
        start += 1
    while _is_edge_invisible(text[end - 1]):
        end -= 1
    return start, end


def _is_edge_invisible(char):
    return _is_hidden(char) and _CONTINUES_GRAPHEME.match(char) is None


def _is_hidden(char):
    return unicodedata.category(char) in _INVISIBLE_CATEGORIES and char not in _PREPENDED_MARKS


# An ASCII word and at most one closing mark. No prefix, infix, URL or token_match rule of
# the tokenizer can apply to it; the suffix rule always splits ",;:!?" and splits "." after a
# lower-case letter or two upper-case ones (initials like "J." stay whole, and go to spaCy).
# Only the special cases can change that, hence the check against the shipped list.
_PLAIN_CHUNK = re.compile(r"([A-Za-z]+)(?:[,;:!?]|(?<=[a-z])\.|(?<=[A-Z][A-Z])\.)?\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Styled characters whose plain form is one character, written plain in the text that is cut
# (its shadow), so that "ｍａｔ，ｈｅｌｌｏ", "𝐝𝐨𝐧'𝐭" and "ｍａｔ．" are cut where "mat,hello",
# "don't" and "mat." are, and every offset stays an offset of the original. A ligature ("ﬁ" ->
# "fi") would change the length and stays: spaCy's rules take it for a letter beside others
# ("ﬁnal." -> "ﬁnal" "."), not between two marks alone ("ﬁ,ﬁ" stays whole).
_SHADOW_TABLE = {code: plain for code, plain in PLAIN_STYLE_TABLE.items() if len(plain) == 1}
# "." and its full-width form "．", the sentence-final period of _split_final_abbreviation.
_FULL_STOPS = ".\uff0e"
_WHOLE = ("the chunk is one token",)
# About 20 MB per tokenizer when full (210 bytes a chunk measured on EWT train); the chunks
# that make up most of any text are among the first few thousand seen.
_REMEMBERED_CHUNKS = 100_000
# And at most this many tokens of cut chunks (about 0.2 kB each): counted in chunks alone,
# 100,000 distinct chunks of 300 marks would have held 30 million tokens, a few GB. EWT
# train's raw text fills the cache with 29,505 chunks, 12,839 of them cut, into 28,430 tokens.
_REMEMBERED_CUT_PIECES = 200_000
# spaCy's algorithm strips one prefix or suffix at a time and searches the whole rest of the
# chunk again for the next, so its cost grows with the square of a chunk's length: 3,000
# commas took 1.1 s, 10,000 12 s, '"' * 5,000 + "a" + '"' * 5,000 12 s, for one chunk. A
# longer chunk stays one token; the longest chunk of EWT and WNUT-17 has 143 characters, and
# a chunk this long costs at most about 25 ms.
_LONGEST_CUT_CHUNK = 300


def _rules_stamp(spacy_version):
    adjustments = repr((_PUNCT_RUNS, _NUMBER_UNITS, _WORD_PARENTHESIS, _CODE_HYPHEN,
                        _NAME_BEFORE_ADDRESS, _HYPHEN_PREFIXES, _KEPT_WHOLE, _SPLITS,
                        _ABBREVIATIONS, sorted(_DROPPED_SPECIAL_CASES)))
    digest = hashlib.sha256(adjustments.encode()).hexdigest()[:16]
    return f"spacy {spacy_version}, beamtagger adjustments {digest}"


@functools.lru_cache(maxsize=None)
def affix_tokenizer():
    """The AffixTokenizer of the exported rules (one per process: it holds no state), or None
    when they were written for another spaCy or other adjustments than these, or are damaged
    (then spaCy itself cuts every chunk: the same tokens, only slower)."""
    from importlib import metadata

    from beamtagger import tokenizer_rules

    try:
        version = metadata.version("spacy")
    except metadata.PackageNotFoundError:
        # No spaCy (an image installed without dependencies, like the GPU check's): nothing to
        # check the rules' version against, and nothing to fall back on. The shipped rules,
        # exported from the spaCy this release pins, still cut every chunk as it would, as long
        # as they carry this code's adjustments.
        version = tokenizer_rules.stamped_spacy_version()
    rules = tokenizer_rules.load_rules(_rules_stamp(version))
    if rules is None:
        return None
    try:
        return tokenizer_rules.AffixTokenizer(rules)
    except (KeyError, TypeError, ValueError, AttributeError, re.error):
        return None


def write_rules(path=None):
    """Exports the installed spaCy's rules with these adjustments (``tokenizer_rules``)."""
    import spacy

    from beamtagger import tokenizer_rules

    return tokenizer_rules.write_rules(build_spacy_tokenizer(), _rules_stamp(spacy.__version__),
                                       path)


_new_token = tuple.__new__
_PLUS_ONE = (1).__add__
_MINUS_ONE = (-1).__add__


def _is_invisible(piece):
    return all(map(_is_hidden, piece))


def _plain_shadow(chunk):
    """``chunk`` with its one-character styled forms written plain and the marks and format
    characters after a letter written as that letter (``_letters_for_hidden``), as long as
    ``chunk``; the chunk itself when it is ASCII, so plain text costs one ``isascii`` a new
    chunk."""
    return chunk if chunk.isascii() else _letters_for_hidden(chunk.translate(_SHADOW_TABLE))


def _letters_for_hidden(shadow):
    """``shadow`` with each combining mark or format character that follows a letter written
    as that letter. The rules look for a letter before a "." or a hyphen, and a mark or a
    format character there hid it: "cafe\u0301." (NFD), "كتابٌ." (a final tanween) and
    "Paris\u200f." stayed whole where "café.", "كتاب." and "Paris." are cut, and NFD's
    "Cafe\u0301-Besitzer" where NFC's is cut at its hyphen."""
    chars = None
    for index, char in enumerate(shadow):
        if index and (char >= "\u0300" or char == "\xad"):
            category = unicodedata.category(char)
            if (category[0] == "M" or category == "Cf") and (chars or shadow)[index - 1].isalpha():
                if chars is None:
                    chars = list(shadow)
                chars[index] = chars[index - 1]
    return shadow if chars is None else "".join(chars)


def _split_final_abbreviation(texts, starts, ends):
    """EWT ends a sentence on its own "." even after an abbreviation ("Inc." -> "Inc" ".")."""
    last = texts[-1]
    if (len(last) > 1 and last[-1] in _FULL_STOPS and last[-2] not in _FULL_STOPS
            and last[-2] not in _PREPENDED_MARKS):   # a number sign is drawn over the "."
        end = ends[-1]
        word = last[:-1]
        # "3.5\u200b." at the end: the rules keep the chunk whole, and the zero-width space
        # before the "." split off would end the word ("\u200b." alone: be all of it).
        word_end = len(word) if word.isprintable() else _visible_span(word)[1]
        if not word_end:
            texts[-1], starts[-1] = last[-1], end - 1
            return
        texts[-1:] = [word[:word_end], last[-1]]
        starts.append(end - 1)
        ends[-1:] = [end - 1 - len(word) + word_end, end]


def _whole_graphemes(chunk, tokens):
    """Moves every cut that falls inside a grapheme to the grapheme's end, so that no token
    starts with a mark, a joiner or a modifier that belongs to the character before it:
    "👍" "🏽" -> "👍🏽", "🇺" "🇸" -> "🇺🇸", "👨\u200d" "👩" -> "👨\u200d👩", "(" "\u0301x" ")" ->
    "(\u0301" "x" ")". Only the characters that continue the grapheme move, not the rest of the
    token they began ("x" above), which the rules cut where they did."""
    joined = [tokens[0]]
    for token in tokens[1:]:
        previous = joined[-1]
        cut = token.start
        if previous.end == cut:
            if ((previous.text.endswith(_ZWJ) and _is_pictograph(chunk[cut]))
                    or previous.text[-1] in _PREPENDED_MARKS
                    or (_REGIONAL_INDICATOR.match(chunk, cut, cut + 1)
                        and _ends_on_half_a_flag(previous.text))):
                # the pictograph a joiner joins, what a number sign is drawn over, the second
                # half of a flag
                cut += 1
            while cut < token.end and _continues_grapheme(chunk[cut]):
                cut += 1
        if cut == token.start:
            joined.append(token)
            continue
        joined[-1] = Token(chunk[previous.start:cut], previous.start, cut)
        if cut < token.end:
            joined.append(Token(chunk[cut:token.end], cut, token.end))
    return joined


def _is_pictograph(char):
    return ((unicodedata.category(char) in ("So", "Cn") and not _REGIONAL_INDICATOR.match(char))
            or char in _PICTOGRAPHS_NOT_SYMBOLS)


def _ends_on_half_a_flag(text):
    """Whether ``text`` ends on an odd number of regional indicators: a flag is a pair of
    them, "🇺🇸🇫" ends on the first half of one."""
    indicators = 0
    while indicators < len(text) and _REGIONAL_INDICATOR.match(text[-1 - indicators]):
        indicators += 1
    return indicators % 2 == 1


def _continues_grapheme(char):
    return unicodedata.category(char)[0] == "M" or _CONTINUES_GRAPHEME.match(char) is not None


if __name__ == "__main__":   # python -m beamtagger.tokenizer: rewrite the exported rules
    print(f"{len(write_rules()['special_cases'])} special cases and the affix rules written")
