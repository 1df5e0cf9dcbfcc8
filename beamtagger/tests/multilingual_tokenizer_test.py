"""The tokenizer on text that is not English: no grapheme cut in two, whatever the script.

The oracle is the ``regex`` module's ``\\X`` (Unicode's extended grapheme clusters, UAX #29),
which the test extra brings through udtools; the tokenizer itself does not import it.
"""
import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beamtagger.tokenizer import Tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer()


def texts_of(tokens):
    return [token.text for token in tokens]


def cuts_inside_a_grapheme(text, tokens):
    """The token edges that fall inside a grapheme of ``text``. A mark after whitespace or at
    the start of the text has no character of its own to stay with, so a token may start
    there."""
    boundaries = {match.start() for match in regex.finditer(r"\X", text)} | {len(text)}
    inside = []
    for token in tokens:
        assert text[token.start:token.end] == token.text
        if token.start not in boundaries and not (token.start == 0
                                                  or text[token.start - 1].isspace()):
            inside.append((token.text, token.start))
        if token.end not in boundaries:
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
    ("\u200fمَرْحَبًا (test).", ["\u200fمَرْحَبًا", "(", "test", ")", "."]),
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
