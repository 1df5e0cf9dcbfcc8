"""``TokenVocabulary``: token texts numbered in the order a tokenizer first sees them.

The bounded path of ``TagText`` tokenizes a block of records and hands it, in the same process,
to the stages that bucket it and build the model's batch. Carried as Python strings, every
token was touched again by each of them: a slice of the block's list a record, a dict probe
for its model inputs, a copy into Arrow, each touch of a string made a while ago a trip to
memory. Numbered once while the tokenizer still holds the strings, a block's tokens are one
int32 array, and what the later stages need per token (its model inputs, its text as Arrow) is
a NumPy or Arrow gather by number: with the block's records sorted by length once
(``token_blocks.ByLength``), building a batch went from 0.87 to 0.41 core-µs a token, for
0.06 more in the tokenizer (``bench/stage_costs.py --before --after``, BENCHMARKS.md).

Numbers mean something only in the process and the vocabulary that gave them: a block that
is pickled (a stage boundary) carries its tokens as text. A vocabulary is bounded: when it is
full, the tokenizer starts a new one, and blocks still held keep the old one alive.
Not thread-safe for writers: one tokenizer (one DoFn instance) adds to a vocabulary; readers
in the same process only read numbers below its length when the block was made.
"""
from operator import itemgetter

import numpy as np

__all__ = ["DEFAULT_CAPACITY", "TokenVocabulary"]

# As many types as model.token_inputs.TokenInputs holds: about 10 MB of strings and dict when
# full (EWT train has 19,674 types).
DEFAULT_CAPACITY = 1 << 17


class TokenVocabulary:
    """Token texts numbered from 0 in order of first sight; at most ``capacity`` of them."""

    __slots__ = ("capacity", "texts", "_numbers", "_lengths", "__weakref__")

    def __init__(self, capacity=DEFAULT_CAPACITY):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.capacity = int(capacity)
        self.texts = []          # number -> text
        self._numbers = {}       # text -> number
        self._lengths = np.empty(min(self.capacity, 1 << 12), dtype=np.int32)

    def __len__(self):
        return len(self.texts)

    def __repr__(self):
        return f"TokenVocabulary({len(self):,} of {self.capacity:,} texts)"

    def numbers(self, tokens):
        """int32 numbers of ``tokens`` (a list of str), numbering the new ones; None when the
        new ones do not fit (the caller starts a new vocabulary) or one is not a str."""
        if not tokens:
            return np.zeros(0, dtype=np.int32)
        numbers = self._numbers
        try:
            # Every token known (almost every block after the first few): one C call.
            found = itemgetter(*tokens)(numbers)
        except TypeError:   # a token that is no str (a hostile TokenizedRecord): as text
            return None
        except KeyError:
            new = [token for token in dict.fromkeys(tokens) if token not in numbers]
            if len(self.texts) + len(new) > self.capacity or not all(
                    type(token) is str for token in new):
                return None
            self._add(new)
            found = itemgetter(*tokens)(numbers)
        if len(tokens) == 1:   # itemgetter of one key returns the value, not a 1-tuple
            return np.array([found], dtype=np.int32)
        return np.array(found, dtype=np.int32)

    def has_room(self, count):
        """Whether ``count`` more texts would fit."""
        return len(self.texts) + count <= self.capacity

    def lengths(self, numbers):
        """int32 character counts of the texts numbered ``numbers``."""
        return self._lengths.take(numbers)

    def texts_of(self, numbers):
        """The texts numbered ``numbers`` (ints, or an int array), as a list."""
        numbers = numbers.tolist() if isinstance(numbers, np.ndarray) else list(numbers)
        if len(numbers) == 1:
            return [self.texts[numbers[0]]]
        return list(itemgetter(*numbers)(self.texts)) if numbers else []

    def _add(self, new):
        start = len(self.texts)
        stop = start + len(new)
        if stop > len(self._lengths):
            grown = np.empty(min(self.capacity, max(stop, 2 * len(self._lengths))), np.int32)
            grown[:start] = self._lengths[:start]
            self._lengths = grown
        self._lengths[start:stop] = np.fromiter(map(len, new), np.int32, len(new))
        # The texts before the numbers: a reader finds a number only once its text is there.
        self.texts.extend(new)
        self._numbers.update(zip(new, range(start, stop)))
