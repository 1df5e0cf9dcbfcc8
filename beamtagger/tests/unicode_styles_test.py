import sys
import unicodedata

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beamtagger import unicode_styles
from beamtagger.transforms import TagText, TextRecord
from beamtagger.unicode_styles import PLAIN_STYLE_TABLE, plain_style

PLAIN = "The cat sat on the mat, 42 days ago."
FULL_WIDTH = "".join(chr(ord(ch) + 0xFEE0) if ch.isalnum() else ch for ch in PLAIN)
BOLD = "".join(chr(0x1D400 + ord(ch) - ord("A")) if ch.isupper() else
               chr(0x1D41A + ord(ch) - ord("a")) if ch.islower() else
               chr(0x1D7CE + ord(ch) - ord("0")) if ch.isdigit() else ch for ch in PLAIN)


def test_the_styled_blocks_hold_every_styled_character():
    assert unicode_styles._plain_style_table(range(sys.maxunicode + 1)) == PLAIN_STYLE_TABLE


@pytest.mark.parametrize("styled, plain", [
    ("ＢＲＥＡＫＩＮＧ１２３", "BREAKING123"), ("𝐁𝐑𝐄𝐀𝐊𝐈𝐍𝐆", "BREAKING"), ("𝘩𝘦𝘭𝘭𝘰", "hello"),
    ("𝕕𝕠𝕦𝕓𝕝𝕖", "double"), ("ℓσνє", "lσνє"), ("ﬁnal", "final"), ("ﬄ", "ffl"),
    ("＠ｕｓｅｒ", "@user"), ("ｶﾞ", "\u30ab\u3099"), ("𝛝", "\u03d1"), (FULL_WIDTH, PLAIN),
    (BOLD, PLAIN)])
def test_styled_characters_are_written_plain(styled, plain):
    assert plain_style(styled) == plain


@pytest.mark.parametrize("kept", ["x²", "H₂O", "½", "①", "㎏", "ǆ", "ℹ", "և", "a\u3000b",
                                  "ﺎ", "naïve", "İstanbul", "😀", "東京"])
def test_characters_whose_compatibility_form_carries_meaning_are_kept(kept):
    assert plain_style(kept) is kept


def test_plain_text_comes_back_as_it_is():
    for text in (PLAIN, "café", "Zürich", "\ud800", ""):
        assert plain_style(text) is text
    # A token never gets a separator inside it (U+3000 is the wide form of a space).
    assert not any(ch.isspace() or unicodedata.category(ch) in ("Zl", "Zp", "Cc")
                   for plain in PLAIN_STYLE_TABLE.values() for ch in plain)


@pytest.mark.parametrize("styled", [FULL_WIDTH, BOLD])
def test_styled_text_is_tagged_as_its_plain_text_with_its_own_characters(tiny_tagger, styled):
    """The store found none of the styled words and the model saw unknown characters, so a
    post in full-width or bold letters got other labels than the same post in plain letters.
    The output keeps the record's own characters and their offsets."""
    texts = {"plain": PLAIN, "styled": styled}

    def check(tagged):
        records = {record.id: record for record in tagged}
        assert sorted(records) == ["plain", "styled"]
        for name, record in records.items():
            assert record.tokens == tuple(texts[name][start:end]
                                          for start, end in zip(record.starts, record.ends))
        plain, styled_record = records["plain"], records["styled"]
        assert plain.tokens == ("The", "cat", "sat", "on", "the", "mat", ",", "42", "days",
                                "ago", ".")
        assert (styled_record.starts, styled_record.ends) == (plain.starts, plain.ends)
        assert tuple(map(plain_style, styled_record.tokens)) == plain.tokens
        assert styled_record.labels == plain.labels
        np.testing.assert_allclose(styled_record.scores, plain.scores, rtol=1e-6)

    with TestPipeline() as p:
        out = (p | beam.Create([TextRecord(name, text) for name, text in texts.items()])
               | TagText(**tiny_tagger.options))
        assert_that(out.tagged, check)
        assert_that(out.errors, equal_to([]), label="no dead letters")
