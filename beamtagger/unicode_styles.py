"""Styled letters and digits written back in their plain characters: ``plain_style``.

Social media and web text writes words in Unicode's compatibility characters for their look:
full-width letters and digits from East Asian input methods ("ＢＲＥＡＫＩＮＧ"), the
mathematical alphanumerics that "fancy text" generators use ("𝐁𝐑𝐄𝐀𝐊𝐈𝐍𝐆", "𝘩𝘦𝘭𝘭𝘰"),
ligatures of PDF and web extraction ("ﬁnal"). The embedding store's vocabulary and the model's
character vocabulary hold the plain characters only, so such a word was out of vocabulary and
each of its characters unknown to the model.

NFKC would write them plain too, but it also rewrites characters whose compatibility form
carries meaning: "x²" becomes "x2", "½" becomes "1⁄2", "①" becomes "1", "㎏" becomes "kg". So
only the characters whose decomposition (``unicodedata.decomposition``) is tagged

* ``<font>``: the mathematical alphanumerics (U+1D400-1D7FF: bold, italic, script, fraktur,
  double-struck, sans-serif, monospace), the letterlike symbols ("ℂ", "ℓ", "ℯ"), the Hebrew
  wide letters and the Arabic mathematical letters;
* ``<wide>``: the full-width forms of ASCII (U+FF01-FF5E) and "￠￡￥￦" and the like;
* ``<narrow>``: the half-width katakana, Hangul and symbols;
* ``<compat>`` when the character's name calls it a LIGATURE: "ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ", "Ĳ ĳ", the
  Armenian and Hebrew presentation ligatures

are written as their decomposition, one step: "𝛝" (bold theta symbol) becomes "ϑ" (the theta
symbol), not "θ", as NFKC would make it, and "ﬅ" becomes "ſt". Left as they are: ``<super>``,
``<sub>``, ``<fraction>``, ``<circle>``, ``<square>``, ``<small>``, ``<vertical>``, the other
``<compat>`` characters (they change what is written: "ǆ" is the Croatian letter, "㎏" a unit)
and the Arabic positional forms (``<initial>``, ``<medial>``, ``<final>``, ``<isolated>``; some
stand for whole phrases with spaces). Three characters of the tags above stay too: U+3000, the
ideographic space (``<wide>`` of a space: a separator, not a styled letter), U+2139 "ℹ" (the
information sign, used as an emoji: ``<font>`` of "i"), and U+0587 "և" (a letter of Eastern
Armenian spelling, named a ligature).

A decomposition can leave a combining mark beside its letter (half-width "ｶﾞ" is "カ" + U+3099):
the store's retry puts its result in NFC; the featurizer keeps it as it comes.
"""
import unicodedata

__all__ = ["PLAIN_STYLE_TABLE", "plain_style"]

_STYLE_TAGS = ("<font>", "<wide>", "<narrow>")
_KEPT = {"\u3000", "\u2139", "\u0587"}
# The blocks that hold every such character (unicode_styles_test.py checks it against all code
# points): Latin Extended to Armenian, Letterlike Symbols, Alphabetic Presentation Forms,
# Halfwidth and Fullwidth Forms, Mathematical Alphanumeric Symbols, Arabic Mathematical
# Alphabetic Symbols, Symbols for Legacy Computing (the segmented digits).
_STYLED_BLOCKS = ((0x0100, 0x0600), (0x2100, 0x2150), (0xFB00, 0xFB50), (0xFF00, 0xFFF0),
                  (0x1D400, 0x1D800), (0x1EE00, 0x1EF00), (0x1FB00, 0x1FC00))


def _plain_style_table(code_points=None):
    """{code point: plain text} of the styled characters among ``code_points`` (None: the
    styled blocks)."""
    if code_points is None:
        code_points = (code for start, end in _STYLED_BLOCKS for code in range(start, end))
    table = {}
    for code in code_points:
        character = chr(code)
        tag, _, parts = unicodedata.decomposition(character).partition(" ")
        if not parts or character in _KEPT:
            continue
        if tag in _STYLE_TAGS or (tag == "<compat>"
                                  and "LIGATURE" in unicodedata.name(character, "")):
            table[code] = "".join(chr(int(part, 16)) for part in parts.split())
    return table


# Built once at import (1,433 characters with Python 3.11's Unicode 14): str.translate with it
# costs a dict probe a character, where decomposing every token would cost a unicodedata call
# a character. Scanning the blocks takes about 7 ms; every code point, 0.13 s.
PLAIN_STYLE_TABLE = _plain_style_table()


def plain_style(text: str) -> str:
    """``text`` with its styled characters written plain; ``text`` itself when it has none."""
    if text.isascii():
        return text
    plain = text.translate(PLAIN_STYLE_TABLE)
    return text if plain == text else plain
