"""``TokenInputs``: a token's text -> everything the model needs per token, remembered per worker.

A token's store row and its featurizer ids depend on nothing but the token's text (the store
lookup tries the same normalization chain for every token; ``TokenFeaturizer`` hashes the token
alone, and its extra id needs only whether the store knows it). Token types follow Zipf's law,
so after the first few thousand records almost every token of a batch has been seen: here each
distinct token gets one number, and its row, extra id, feature ids and char ids are stored at
that number in four NumPy tables. A batch is then one dict probe a token (``map`` over the
tokens, in C) and four gathers, where ``EmbeddingStore.rows`` + ``TokenFeaturizer.featurize``
walk each token in Python (bench/throughput_bench.py case G: lookup and featurize were 2.9 of 8
core-microseconds a token with the default featurizer before this cache).

Tokens that come as numbers of a ``TokenVocabulary`` (the tag pipeline's tokenizer numbers
them) skip the dict too: per vocabulary an array maps its numbers to the numbers here, so a
batch is NumPy gathers only, and its token texts one Arrow take from ``arrow_texts()``.

The tables are bounded like the tokenizer's chunk memory: when ``capacity`` distinct tokens are
held, the next batch that brings new ones starts them afresh (``generation`` counts the
times). The ids are exactly those of ``store.rows`` and ``featurizer.featurize``
(model_token_inputs_test.py holds them equal on random Unicode and all of EWT), held in the
narrow types the Arrow batches carry them in (``model_inputs.id_dtypes``). NumPy only
(pyarrow for ``arrow_texts``); the store is any object with ``rows(tokens)``.
"""
import weakref
from itertools import compress, repeat
from operator import itemgetter

import numpy as np

from beamtagger.model.model_inputs import id_dtypes

__all__ = ["DEFAULT_CAPACITY", "TokenInputs"]

# 131,072 types: 13 MiB of tables with the default featurizer (6 feature columns, 16 chars) plus
# the dict of the token strings. EWT train holds 19,674 types; 10M tokens of it repeated still
# fit, and a corpus with more types only costs a refill now and then.
DEFAULT_CAPACITY = 1 << 17


class TokenInputs:
    """Per-token model inputs of ``featurizer`` over ``store``, remembered per token text.

    Not thread-safe: one instance per DoFn instance (each Beam worker thread has its own).

    Args:
      store: the embedding store (``rows(tokens)`` -> int64 rows, -1 out of vocabulary).
      featurizer: the model's ``TokenFeaturizer``.
      capacity: distinct tokens held at most.
    """

    def __init__(self, store, featurizer, capacity=DEFAULT_CAPACITY):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.store = store
        self.featurizer = featurizer
        self.capacity = int(capacity)
        self._number = {}   # token text -> its row in the tables
        self._rows = np.empty(self.capacity, dtype=np.int64)
        # The ids in the types the Arrow batches carry them in: their gathers need no cast.
        id_types = self.id_dtypes = id_dtypes(featurizer)
        self._extra_ids = np.empty(self.capacity, dtype=id_types["extra_ids"])
        self._feature_ids = np.empty((self.capacity, featurizer.num_feature_columns),
                                     id_types["feature_ids"])
        self._char_ids = np.empty((self.capacity, featurizer.char_width),
                                  dtype=id_types["char_ids"])
        self.texts = []       # number -> token text (the dict's keys, as a list to slice)
        self.generation = 0   # counts the times the tables started afresh
        self._arrow_texts = None
        # TokenVocabulary -> intp array: its numbers' numbers here (-1: not here yet)
        self._vocabulary_maps = weakref.WeakKeyDictionary()

    def __len__(self):
        return len(self._number)

    def lookup(self, tokens):
        """(rows, token arrays) of ``tokens`` (a list of str): ``store.rows(tokens)`` and
        ``featurizer.featurize(tokens, rows >= 0)``, the ids in ``id_dtypes``."""
        numbers = self.numbers(tokens)
        if numbers is None:   # more distinct tokens in one call than the tables hold
            rows = self.store.rows(tokens)
            arrays = self.featurizer.featurize(tokens, rows >= 0)
            return rows, {name: array.astype(self.id_dtypes[name])
                          for name, array in arrays.items()}
        return self.gather(numbers)

    def gather(self, numbers):
        """(rows, token arrays) of the tokens numbered ``numbers`` here (``numbers`` or
        ``vocabulary_numbers`` of this generation)."""
        # np.take copies whole rows; fancy indexing of the 2-D tables went element by
        # element through NumPy's buffered iterator (callgrind, case G).
        return (self._rows.take(numbers), {"extra_ids": self._extra_ids.take(numbers),
                                           "feature_ids": self._feature_ids.take(numbers, 0),
                                           "char_ids": self._char_ids.take(numbers, 0)})

    def numbers(self, tokens):
        """The numbers of ``tokens`` (a list of str) in the tables (intp array), adding the
        new ones; None when they are more distinct tokens than the tables hold."""
        if len(tokens) > 1:
            # Every token known (almost every batch after the first few): one itemgetter call
            # probes them all in C, half the time of map(dict.get, ...) into fromiter.
            try:
                return np.array(itemgetter(*tokens)(self._number), dtype=np.intp)
            except KeyError:
                pass
        numbers = np.fromiter(map(self._number.get, tokens, repeat(-1)), np.intp, len(tokens))
        missing = numbers < 0
        if missing.any():
            new = list(dict.fromkeys(compress(tokens, missing.tolist())))
            if len(self._number) + len(new) > self.capacity:
                self._start_afresh()
                new = list(dict.fromkeys(tokens))
                if len(new) > self.capacity:
                    return None
            self._add(new)
            numbers = np.fromiter(map(self._number.__getitem__, tokens), np.intp, len(tokens))
        return numbers

    def vocabulary_numbers(self, vocabulary, numbers):
        """The numbers here of the tokens that ``vocabulary`` (a ``TokenVocabulary``) numbers
        ``numbers``: one NumPy gather once each of them has been seen; None when the batch
        has more distinct tokens than the tables hold."""
        mapping = self._vocabulary_maps.get(vocabulary)
        if mapping is None or len(mapping) < len(vocabulary):
            # Doubled (within the vocabulary's capacity), not grown to fit: the vocabulary
            # grows a little nearly every batch at first.
            size = max(len(vocabulary), 2 * len(mapping) if mapping is not None else 1024)
            grown = np.full(min(size, max(vocabulary.capacity, len(vocabulary))), -1,
                            dtype=np.intp)
            if mapping is not None:
                grown[:len(mapping)] = mapping
            mapping = self._vocabulary_maps[vocabulary] = grown
        found = mapping.take(numbers)
        missing = found < 0
        if not missing.any():
            return found
        generation = self.generation
        new = np.unique(numbers[missing])
        added = self.numbers(vocabulary.texts_of(new))
        if added is None:
            return None
        if self.generation != generation:
            # The tables started afresh: the numbers found above point into the old ones.
            return self.vocabulary_numbers(vocabulary, numbers)
        mapping[new] = added
        return mapping.take(numbers)

    def arrow_texts(self):
        """``texts`` as a ``pyarrow.StringArray``, so a batch's token column is one Arrow take
        by number: the texts added since the last call are appended to the array made then
        (a copy of its buffers, not a conversion of every string again)."""
        import pyarrow as pa

        made = self._arrow_texts
        known = 0 if made is None else len(made)
        if made is None or known < len(self.texts):
            new = pa.array(self.texts[known:], pa.string())
            made = self._arrow_texts = new if made is None else pa.concat_arrays([made, new])
        return made

    def _start_afresh(self):
        self._number.clear()
        self.texts = []
        self._arrow_texts = None
        self._vocabulary_maps = weakref.WeakKeyDictionary()
        self.generation += 1

    def _add(self, new):
        try:
            "".join(new).encode("utf-8")
        except UnicodeEncodeError as error:
            # Refused here, not held: a held text poisoned every later ``arrow_texts`` call,
            # and so every later batch of the worker. The batch's other records go on alone.
            bad = ord(error.object[error.start])
            raise ValueError(f"a token holds a lone surrogate (\\u{bad:04x}), which no UTF-8 "
                             "output can hold") from None
        rows = self.store.rows(new)
        arrays = self.featurizer.featurize(new, rows >= 0, remember=False)
        start = len(self._number)
        stop = start + len(new)
        self._rows[start:stop] = rows
        self._extra_ids[start:stop] = arrays["extra_ids"]
        self._feature_ids[start:stop] = arrays["feature_ids"]
        self._char_ids[start:stop] = arrays["char_ids"]
        # Only once the tables hold their rows: a failure above leaves no half-added token.
        self.texts.extend(new)
        self._number.update(zip(new, range(start, stop)))
