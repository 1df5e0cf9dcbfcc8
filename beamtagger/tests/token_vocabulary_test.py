"""TokenVocabulary: a number for each text seen, bounded; texts and lengths by number."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beamtagger.token_vocabulary import TokenVocabulary


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(max_size=8), max_size=20), max_size=8),
       st.sampled_from([1, 4, 30, 1 << 17]))
def test_numbers_name_their_texts_and_stay_below_the_capacity(batches, capacity):
    vocabulary = TokenVocabulary(capacity)
    seen = {}
    for tokens in batches:
        numbers = vocabulary.numbers(tokens)
        new = set(tokens) - set(seen)
        if numbers is None:   # the new texts do not fit: nothing was added
            assert len(seen) + len(new) > capacity
            assert len(vocabulary) == len(seen)
            continue
        assert numbers.dtype == np.int32 and len(numbers) == len(tokens)
        assert vocabulary.texts_of(numbers) == tokens
        assert vocabulary.lengths(numbers).tolist() == [len(token) for token in tokens]
        for token, number in zip(tokens, numbers.tolist()):
            assert seen.setdefault(token, number) == number   # a text keeps its number
        assert len(vocabulary) == len(seen) <= capacity


@pytest.mark.parametrize("tokens", [[b"bytes"], [["a", "list"]], ["ok", 5]])
def test_a_token_that_is_no_str_gets_no_number(tokens):
    vocabulary = TokenVocabulary()
    assert vocabulary.numbers(tokens) is None
    assert len(vocabulary) == 0


def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        TokenVocabulary(0)
