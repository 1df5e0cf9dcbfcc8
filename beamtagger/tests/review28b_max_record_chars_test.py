"""TaggerModelHandler(max_record_chars=...): the limit is what TagText dead-letters over,
counted alike (code points, as ``len`` counts them: an emoji is one character, not the two
UTF-16 units or four UTF-8 bytes it takes), and an example given as a bare str, which has no
id, is named by its first characters: "record ''" named none of a batch's examples."""
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.tagging.record_checks import checked_record
from beamtagger.transforms import DeadLetter, TaggerModelHandler, TextRecord

# 3 code points; 4 UTF-16 units, 6 UTF-8 bytes.
ASTRAL = "a\U0001F600b"


def test_the_limit_counts_code_points_as_tagtext_does(tiny_tagger):
    handler = TaggerModelHandler(**tiny_tagger.options, max_record_chars=3)
    model = handler.load_model()
    at_limit, over = TextRecord("at", ASTRAL), TextRecord("over", ASTRAL + "c")
    [result] = handler.run_inference([at_limit], model)
    assert result.inference.id == "at"
    with pytest.raises(BeamtaggerError, match=r"^record 'over' holds 4 characters, more than "
                       r"max_record_chars \(3\)"):
        list(handler.run_inference([over], model))
    # TagText's Tokenize stage: the same record passes, the same one more is a dead letter.
    assert checked_record(at_limit, 3) is at_limit
    assert isinstance(checked_record(over, 3), DeadLetter)


def test_a_str_example_over_the_limit_is_named_by_its_first_characters(tiny_tagger):
    handler = TaggerModelHandler(**tiny_tagger.options, max_record_chars=8)
    model = handler.load_model()
    with pytest.raises(BeamtaggerError) as raised:
        list(handler.run_inference(["the dog", "the cat sat on the mat all day"], model))
    assert str(raised.value).startswith(
        "an example without an id, beginning 'the cat sat on the mat all day', holds 30 "
        "characters, more than max_record_chars (8)")
