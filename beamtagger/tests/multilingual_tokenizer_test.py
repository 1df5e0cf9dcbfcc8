"""The tokenizer on text that is not English: no grapheme cut in two, whatever the script.

The oracle is the ``regex`` module's ``\\X`` (Unicode's extended grapheme clusters, UAX #29),
which the test extra brings through udtools; the tokenizer itself does not import it.
"""
import unicodedata

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beamtagger.tokenizer import Tokenizer, _is_pictograph


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer()


def texts_of(tokens):
    return [token.text for token in tokens]


def cuts_inside_a_grapheme(text, tokens):
    """The token edges that fall inside a grapheme of ``text``. A mark after whitespace or at
    the start of the text has no character of its own to stay with, so a token may start
    there; an Arabic number sign before whitespace has none to go with, so one may end there."""
    boundaries = {match.start() for match in regex.finditer(r"\X", text)} | {len(text)}
    inside = []
    for token in tokens:
        assert text[token.start:token.end] == token.text
        if token.start not in boundaries and not (token.start == 0
                                                  or text[token.start - 1].isspace()):
            inside.append((token.text, token.start))
        if token.end not in boundaries and not text[token.end].isspace():
            inside.append((token.text, token.end))
    return inside


@pytest.mark.parametrize("text, expected", [
    # spaCy cut these after a bracket, a quote or an emoji; what continues it now stays with it.
    ("#️⃣*️⃣", ["#️⃣", "*️⃣"]),                          # was one token of two keycaps
    ("(\u0301x)", ["(\u0301", "x", ")"]),            # was "(" "\u0301x" ")"
    ("2'.👍\u05b8,", ["2'.", "👍\u05b8", ","]),       # a Hebrew point on an emoji
    ("'\u0903/", ["'\u0903", "/"]),                   # a Devanagari sign on a quote
    ("%?\u200c👨", ["%", "?\u200c", "👨"]),           # a ZWNJ was dropped, cutting "?\u200c"
    ("(\u0e33x)", ["(\u0e33", "x", ")"]),             # Thai AM, a spacing mark
    # What was right before stays so.
    ("(👍🏽) 🇺🇸🇫🇷 👨\u200d👩\u200d👧 ❤️!", ["(", "👍🏽", ")", "🇺🇸", "🇫🇷",
                                            "👨\u200d👩\u200d👧", "❤️", "!"]),
    ("(क्\u200dष) नमस्ते।", ["(", "क्\u200dष", ")", "नमस्ते", "।"]),
    ("مَرْحَبًا (test).", ["مَرْحَبًا", "(", "test", ")", "."]),
])
def test_no_grapheme_is_cut_in_two(tokenizer, text, expected):
    tokens = tokenizer.tokenize(text)
    assert texts_of(tokens) == expected
    assert cuts_inside_a_grapheme(text, tokens) == []


# Marks of several scripts, joiners, modifiers and flag halves beside the characters spaCy's
# rules split off. No consonant follows a virama here: Unicode 15.1's Indic conjuncts (GB9c)
# join one only after a consonant, and the rules never cut between two letters.
_ALPHABET = ("ae" "مر" "ภไ" "가" "我" "\u0301\u0308\u064e\u0651\u094d\u093f\u0903\u05b8"
             "\u0e34\u0e48\u0e33" "\u200d\u200c\ufe0f\u20e3" "\U0001F3FD\U0001F1FA\U0001F1F8👍👨❤"
             ".,!?()\"'-/:;#*@$%" "01 ")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(_ALPHABET), max_size=24))
def test_no_cut_inside_a_grapheme_on_mixed_scripts(text):
    assert cuts_inside_a_grapheme(text, Tokenizer().tokenize(text)) == []


@pytest.mark.parametrize("text, expected", [
    # A byte-order mark, bidi marks and isolates, a soft hyphen, a word joiner at a word's
    # ends were part of it: "\ufeffApple" was tagged NOUN, "in\u00ad" NOUN, and "Paris.\u200e"
    # kept its period.
    ("\u200eApple sells it in Paris.\u200e", ["Apple", "sells", "it", "in", "Paris", "."]),
    ("\ufeffApple in\u00ad Paris\u2060.", ["Apple", "in", "Paris", "."]),
    ("\u202aApple\u202c (\u2066test\u2069)", ["Apple", "(", "test", ")"]),
    ("in \u200fParis\u200f. Yes", ["in", "Paris", ".", "Yes"]),
    ("\u200fשלום\u200f, \u202bעולם\u202c.", ["שלום", ",", "עולם", "."]),
    # Inside a word they stay, as does a joiner that ends a grapheme.
    ("a\u200bb co\u00adop Sto\u200bp.", ["a\u200bb", "co\u00adop", "Sto\u200bp", "."]),
    ("می\u200c روم", ["می\u200c", "روم"]),
])
def test_invisible_characters_at_a_words_ends_are_no_part_of_it(tokenizer, text, expected):
    tokens = tokenizer.tokenize(text)
    assert [text[token.start:token.end] for token in tokens] == texts_of(tokens) == expected


@pytest.mark.parametrize("text", [
    "Die Größe der Äpfel überrascht Café-Besitzer in München.",
    "L'élève a été très « naïf » à Noël. Ça va? Fiancé(e), déjà-vu.",
    "São Paulo, Curaçao; Ångström. Ñandú-ñu é. É!",
])
def test_decomposed_text_is_cut_as_composed_text_is(tokenizer, text):
    # A combining mark hid the letter before a "." or a hyphen from the rules: NFD's
    # "Cafe\u0301-Besitzer" and "e\u0301." stayed whole where NFC's are cut.
    composed = unicodedata.normalize("NFC", text)
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != composed
    assert [unicodedata.normalize("NFC", token.text) for token in tokenizer.tokenize(decomposed)
            ] == texts_of(tokenizer.tokenize(composed))


@pytest.mark.parametrize("text, expected", [
    ("كتابٌ. جديد", ["كتابٌ", ".", "جديد"]),   # a final tanween before a period
    ("नमस्ते, दुनिया।", ["नमस्ते", ",", "दुनिया", "।"]),
])
def test_a_mark_at_a_words_end_hides_no_period(tokenizer, text, expected):
    assert texts_of(tokenizer.tokenize(text)) == expected


@pytest.mark.parametrize("text, expected", [
    # A joiner joins a pictograph to the grapheme before it, nothing else: the joiner that ends
    # a Malayalam chillu or a Hindi half form took the bracket or the "!" after it.
    ("(അവന്\u200d) ഞാന്\u200d!", ["(", "അവന്\u200d", ")", "ഞാന്\u200d", "!"]),
    ("(क्\u200d)", ["(", "क्\u200d", ")"]),
    ("(👁\u200d🗨) 👨\u200d👩\u200d👧!", ["(", "👁\u200d🗨", ")", "👨\u200d👩\u200d👧", "!"]),
    # A flag's halves pair from the first, after a joiner too (was "x\u200d🇫" "🇷").
    ("(🇫🇷🇺🇸) x\u200d🇫🇷", ["(", "🇫🇷", "🇺🇸", ")", "x\u200d", "🇫🇷"]),
])
def test_a_joiner_joins_only_a_pictograph(tokenizer, text, expected):
    tokens = tokenizer.tokenize(text)
    assert texts_of(tokens) == expected
    assert cuts_inside_a_grapheme(text, tokens) == []


@pytest.mark.parametrize("text, expected", [
    # The Arabic end of ayah and number signs are drawn around the digits after them; taken
    # for invisible format characters, they were dropped ("١٢").
    ("\u06dd\u0661\u0662 (\u0600\u0661\u0660) \u06dd",
     ["\u06dd\u0661\u0662", "(", "\u0600\u0661\u0660", ")", "\u06dd"]),
    # The sentence's final "." splits off a chunk the rules keep whole; the invisible
    # character before it ended the word ("3.5\u200b").
    ("He said 3.5\u200b.", ["He", "said", "3.5", "."]),
    ("the end:)\u200e.", ["the", "end:)", "."]),
])
def test_no_visible_mark_is_dropped_and_no_word_ends_invisible(tokenizer, text, expected):
    assert texts_of(tokenizer.tokenize(text)) == expected


_INVISIBLE = frozenset(("Cc", "Cf", "Zs", "Zl", "Zp"))
_KEPT_AT_AN_EDGE = "\u200c\u200d\u0600\u06dd"   # joiners and number signs (and tag characters)
# The alphabet above with what carries nothing to tag around a word (bidi marks and isolates,
# a byte-order mark, a soft hyphen, zero-width and no-break spaces, NUL, DEL, NEL, CR, LF),
# Arabic number signs, tag characters, styled letters and a lone surrogate; a text is at times
# repeated past the 300 characters the rules cut.
_WITH_INVISIBLES = (_ALPHABET + "\u200b\u200e\u200f\u202a\u202c\u2066\u2069\ufeff\u00ad\u2060"
                    "\u061c\x00\x7f\x85\r\n\u00a0\u3000\u0600\u06dd\U000e0067\U000e007fİß"
                    "\U0001d41d\uff4d\ud800")


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(_WITH_INVISIBLES), max_size=20),
       st.sampled_from([1, 1, 1, 20]))
def test_every_visible_character_is_in_a_token_with_visible_ends(text, times):
    text *= times
    tokens = Tokenizer().tokenize(text)
    assert cuts_inside_a_grapheme(text, tokens) == []   # and every offset exact
    covered = set()
    for previous, token in zip([None] + tokens, tokens):
        assert token.text and (previous is None or previous.end <= token.start), tokens
        for edge in (token.text[0], token.text[-1]):
            assert (unicodedata.category(edge) not in _INVISIBLE or edge in _KEPT_AT_AN_EDGE
                    or "\U000e0020" <= edge <= "\U000e007f"), (text, token)
        covered.update(range(token.start, token.end))
    lost = [char for at, char in enumerate(text)
            if char.isprintable() and not char.isspace() and at not in covered]
    assert lost == [], (text, tokens)


def test_every_pictograph_is_one_a_joiner_joins():
    # The tokenizer does not import regex; its test of a pictograph must miss none of
    # Unicode's (all below U+20000).
    pictograph = regex.compile(r"\p{Extended_Pictographic}")
    pictographs = [char for char in map(chr, range(0x20000)) if pictograph.match(char)]
    assert len(pictographs) > 2000 and not [char for char in pictographs
                                           if not _is_pictograph(char)]
