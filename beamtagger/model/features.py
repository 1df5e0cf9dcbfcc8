"""Per-token ids for the tagger's small trainable tables, computed from the raw token string.

NumPy only (no TensorFlow): the Beam CPU stages featurize tokens before batching.

GloVe 6B is lower-cased, so the external vectors lose capitalisation, and out-of-vocabulary
words get a zero vector. Two kinds of ids give the model back what the store cannot:

* ``extra_ids`` (T,): one row of a trainable table that the model *adds* to the external
  vector. 0 means "nothing to add"; then one row per special token (``<url>``, ``<user>``,
  ...); then ``oov_buckets`` hashed rows that stand in for words the store does not know.
* ``feature_ids`` (T, F): one id per feature column (casing class, word shape, hashed
  prefix and suffixes), each into its own small table inside the model.
* ``char_ids`` (T, C): the token's characters as ids into the character vocabulary (0 pads,
  1 is every character the vocabulary lacks), for the model's character CNN. C is fixed per
  model (one traced function for every batch shape); a longer token keeps its first
  ``ceil(C/2)`` and last ``floor(C/2)`` characters, where prefixes and suffixes carry the signal.

Every id of a token with styled characters (full-width, mathematical bold or italic letters,
ligatures: ``beamtagger.unicode_styles``) is that of the token written plain, so "ＢＲＥＡＫＩＮＧ"
is featurized as "BREAKING" (its text in the output stays as written). A token with none is
featurized as before, so labels of plain text and what a saved model's inputs mean are unchanged.

Hashing uses ``zlib.crc32``, not Python's ``hash()``: ``hash()`` of a string is salted per
process (PYTHONHASHSEED), and the same word must get the same bucket in the training process
and in every Beam worker. Token types follow Zipf's law, so a per-featurizer cache of
token -> ids turns most tokens into one dict lookup: measured on EWT train (204,577 tokens,
19,674 types), ``feature_ids`` + ``extra_ids`` run at 0.6 M tokens/s on a fresh featurizer and
1.8 M tokens/s once the types are cached, on one core.
"""
import itertools
import re
import unicodedata
import zlib

import numpy as np

from beamtagger.errors import BeamtaggerError
from beamtagger.unicode_styles import plain_style

UNKNOWN_CHAR_ID = 1
FIRST_CHAR_ID = 2

# Casing classes; 0 is kept for padding positions.
CASING_CLASSES = ("pad", "lower", "upper", "title", "single_upper", "mixed", "digits",
                  "alnum", "punct", "other")
_CASING_INDEX = {name: i for i, name in enumerate(CASING_CLASSES)}

_URL = re.compile(r"^(?:https?://|www\.)\S+$|^[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|edu|gov|io|co|"
                  r"uk|de|ly|me|tv|info|biz)(?:/\S*)?$", re.IGNORECASE)
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_USER = re.compile(r"^@\w+$")
_HASHTAG = re.compile(r"^#\w+$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,:/-]\d+)*|\.\d+)(?:st|nd|rd|th|s|%|k|m|am|pm)?$",
                     re.IGNORECASE)
_EMOTICON = re.compile(r"^(?:[:;=8xX][-o'^]?[()\[\]DPpOo3/\\|*@$]+|[()\[\]DPp/\\|]+[-o'^]?[:;=]"
                       r"|<3+|</3|\^_*\^|[oO-]_+[oO-]|[tT]_[tT])$")
_PUNCT_OR_SYMBOL = ("P", "S")


def _is_emoji(token):
    if _EMOTICON.match(token):
        return True
    return any(unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF for ch in token)


# Special tokens the featurizer can recognise; a model's config lists the ones it uses,
# in the order of their rows.
SPECIAL_TOKEN_TESTS = {
    "<url>": lambda t: bool(_URL.match(t)),
    "<email>": lambda t: bool(_EMAIL.match(t)),
    "<user>": lambda t: bool(_USER.match(t)),
    "<hashtag>": lambda t: bool(_HASHTAG.match(t)),
    "<num>": lambda t: bool(_NUMBER.match(t)),
    "<emoji>": _is_emoji,
}

DEFAULT_SPECIAL_TOKENS = ("<url>", "<email>", "<user>", "<hashtag>", "<num>", "<emoji>")
# (name, number of rows). Hashed columns use rows 1..size-1; row 0 is padding.
DEFAULT_FEATURE_COLUMNS = (("casing", len(CASING_CLASSES)), ("shape", 512), ("prefix3", 2048),
                           ("suffix2", 1024), ("suffix3", 2048), ("suffix4", 2048))
# "form" hashes the whole lower-cased token: a trainable per-word correction to the frozen store
# vectors (what trainable word embeddings give other taggers), collisions shared by rare words.
_COLUMN_KINDS = ("casing", "shape", "prefix1", "prefix2", "prefix3", "prefix4",
                 "suffix1", "suffix2", "suffix3", "suffix4", "suffix5", "form")


def stable_hash(text):
    """A 32-bit hash of ``text`` that is the same in every process (crc32 of UTF-8)."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


_OOV_SEED = zlib.crc32(b"oov:")
# word_shape's codes for the ASCII letters and digits; its runs of one code collapse to one.
_ASCII_SHAPE = str.maketrans({**{chr(c): "X" for c in range(ord("A"), ord("Z") + 1)},
                              **{chr(c): "x" for c in range(ord("a"), ord("z") + 1)},
                              **{chr(c): "d" for c in range(ord("0"), ord("9") + 1)}})
_RUNS = re.compile(r"(.)\1+", re.DOTALL)


_SHAPE_IDS = 1 << 16   # translations remembered per featurizer


def casing_class(token):
    """Index into CASING_CLASSES for one token."""
    if token.isalpha():
        if token.islower():
            return _CASING_INDEX["lower"]
        if token.isupper():
            return _CASING_INDEX["single_upper" if len(token) == 1 else "upper"]
        if token[0].isupper() and token[1:].islower():
            return _CASING_INDEX["title"]
        return _CASING_INDEX["mixed"]
    if token.isdigit():
        return _CASING_INDEX["digits"]
    if any(ch.isdigit() for ch in token) and any(ch.isalpha() for ch in token):
        return _CASING_INDEX["alnum"]
    if token and all(unicodedata.category(ch)[0] in _PUNCT_OR_SYMBOL for ch in token):
        if any(unicodedata.category(ch) == "So" for ch in token):
            return _CASING_INDEX["other"]
        return _CASING_INDEX["punct"]
    if any(ch.isalpha() for ch in token):
        return _CASING_INDEX["mixed" if any(ch.isupper() for ch in token) else "lower"]
    return _CASING_INDEX["other"]


def word_shape(token):
    """Collapsed shape: 'Xx' for 'Paris', 'd' for '1990', 'X.X.' for 'U.S.', 'x-x' for 'ex-wife'."""
    shape = []
    for ch in token:
        if ch.isupper():
            code = "X"
        elif ch.isalpha():
            code = "x"
        elif ch.isdigit():
            code = "d"
        else:
            code = ch
        if not shape or shape[-1] != code:
            shape.append(code)
    return "".join(shape)


class TokenFeaturizer:
    """Maps token strings to ``extra_ids`` and ``feature_ids`` (see module docstring)."""

    def __init__(self, special_tokens=DEFAULT_SPECIAL_TOKENS, oov_buckets=1024,
                 feature_columns=DEFAULT_FEATURE_COLUMNS, cache_size=500_000, char_vocab="",
                 max_chars=0):
        unknown = [name for name in special_tokens if name not in SPECIAL_TOKEN_TESTS]
        if unknown:
            raise BeamtaggerError(f"unknown special tokens {unknown}; "
                                  f"known: {sorted(SPECIAL_TOKEN_TESTS)}")
        columns = [(str(name), int(size)) for name, size in feature_columns]
        for name, size in columns:
            if name not in _COLUMN_KINDS:
                raise BeamtaggerError(f"unknown feature column {name!r}; known: {_COLUMN_KINDS}")
            minimum = len(CASING_CLASSES) if name == "casing" else 2
            if size < minimum:
                raise BeamtaggerError(f"feature column {name!r} needs at least {minimum} rows")
        if oov_buckets < 0:
            raise BeamtaggerError("oov_buckets must be >= 0")
        if max_chars < 0 or (max_chars and not char_vocab):
            raise BeamtaggerError("max_chars must be >= 0, and > 0 only with a char vocabulary")
        self.char_vocab = "".join(char_vocab)
        if len(set(self.char_vocab)) != len(self.char_vocab):
            raise BeamtaggerError("the char vocabulary repeats a character")
        self.max_chars = int(max_chars)
        self._char_index = {ch: i + FIRST_CHAR_ID for i, ch in enumerate(self.char_vocab)}
        self.special_tokens = tuple(special_tokens)
        self.oov_buckets = int(oov_buckets)
        self.feature_columns = tuple(columns)
        self.cache_size = int(cache_size)
        self._cache = {}
        self._prepare_tests()

    @classmethod
    def from_config(cls, config):
        return cls(special_tokens=config["special_tokens"], oov_buckets=config["oov_buckets"],
                   feature_columns=[tuple(column) for column in config["feature_columns"]],
                   char_vocab=config.get("char_vocab", ""),
                   max_chars=config.get("max_chars", 0))

    def get_config(self):
        return {"special_tokens": list(self.special_tokens), "oov_buckets": self.oov_buckets,
                "feature_columns": [list(column) for column in self.feature_columns],
                "char_vocab": self.char_vocab, "max_chars": self.max_chars}

    @property
    def char_vocab_size(self):
        """Rows of the model's char table: padding, unknown, then the vocabulary."""
        return FIRST_CHAR_ID + len(self.char_vocab)

    @property
    def num_extra_rows(self):
        return 1 + len(self.special_tokens) + self.oov_buckets

    @property
    def num_feature_columns(self):
        return len(self.feature_columns)

    @property
    def feature_sizes(self):
        return [size for _, size in self.feature_columns]

    @property
    def form_column(self):
        """Index of the "form" column in ``feature_ids`` (word drop blanks it), or None."""
        names = [name for name, _ in self.feature_columns]
        return names.index("form") if "form" in names else None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = {}
        for name in ("_special_tests", "_emoji_row", "_column_plan", "_shape_ids"):
            state[name] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._prepare_tests()

    def _prepare_tests(self):
        self._special_tests = [(i + 1, SPECIAL_TOKEN_TESTS[name])
                               for i, name in enumerate(self.special_tokens)]
        self._shape_ids = {}   # ASCII token translated by _ASCII_SHAPE -> its shape id
        self._emoji_row = (self.special_tokens.index("<emoji>") + 1
                           if "<emoji>" in self.special_tokens else 0)
        # (kind, characters, the CRC of "name:", rows less padding) per feature column
        self._column_plan = [
            (name.rstrip("0123456789"), int(name[-1]) if name[-1].isdigit() else 0,
             zlib.crc32(f"{name}:".encode()), size - 1)
            for name, size in self.feature_columns]

    def extra_ids(self, tokens, in_vocab):
        """int32 (T,): special-token row, else a hashed OOV row for unknown words, else 0."""
        return self._extra_ids(self._entries(tokens), in_vocab)

    def feature_ids(self, tokens):
        """int32 (T, F): one id per feature column, never 0 for a real token."""
        return self._feature_ids(self._entries(tokens))

    @property
    def char_width(self):
        """C of ``char_ids``: ``max_chars``, or 1 (all padding) without a char vocabulary, as
        Arrow tensor columns cannot be empty."""
        return max(self.max_chars, 1)

    def char_ids(self, tokens):
        """int32 (T, C): character ids, 0 after the token's end (see module docstring)."""
        return self._char_ids(self._entries(tokens))

    def featurize(self, tokens, in_vocab, remember=True):
        """The token-level model inputs of ``tokens``: {field name: (T, ...) array}.

        ``remember=False`` leaves the per-token cache alone (``token_inputs.TokenInputs``
        keeps its own tables and calls this only for tokens it has not seen).
        """
        entries = self._entries(tokens) if remember else [self._compute(t) for t in tokens]
        return {"extra_ids": self._extra_ids(entries, in_vocab),
                "feature_ids": self._feature_ids(entries), "char_ids": self._char_ids(entries)}

    def _entries(self, tokens):
        return [self._token_entry(token) for token in tokens]

    @staticmethod
    def _extra_ids(entries, in_vocab):
        in_vocab = np.asarray(in_vocab, dtype=bool)
        if in_vocab.shape != (len(entries),):
            raise ValueError(f"in_vocab has shape {in_vocab.shape}, expected ({len(entries)},)")
        special = np.fromiter((entry[0] for entry in entries), np.int32, len(entries))
        oov_row = np.fromiter((entry[1] for entry in entries), np.int32, len(entries))
        return np.where(special > 0, special, np.where(in_vocab, 0, oov_row)).astype(np.int32)

    def _feature_ids(self, entries):
        if not entries:
            return np.zeros((0, len(self.feature_columns)), dtype=np.int32)
        return np.array([entry[2] for entry in entries], dtype=np.int32)

    def _char_ids(self, entries):
        width = self.char_width
        # One flat fromiter over the cached tuples: 2x faster than np.array of a tuple list.
        flat = np.fromiter(itertools.chain.from_iterable(entry[3] for entry in entries),
                           np.int32, len(entries) * width)
        return flat.reshape(len(entries), width)

    def _token_entry(self, token):
        entry = self._cache.get(token)
        if entry is None:
            entry = self._compute(token)
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[token] = entry
        return entry

    def _compute(self, token):
        if token.isascii():
            return self._compute_ascii(token)
        # Styled characters ("ＢＲＥＡＫＩＮＧ", "𝐁𝐑𝐄𝐀𝐊𝐈𝐍𝐆") get the ids of their plain text:
        # the char vocabulary holds none of them, and hashes of their text are rows training
        # never filled. Plain tokens come back as they are.
        token = plain_style(token)
        if token.isascii():
            return self._compute_ascii(token)
        return self._compute_general(token)

    def _compute_ascii(self, token):
        """``_compute_general`` for an ASCII token, at 0.58 of its cost (36.8 -> 21.4 µs a type
        over EWT train's and WNUT-17 train's types, ``bench/featurize_bench.py``; the first
        sight of each type pays it: 29,703 types there, more in text from the web). A hash is
        the CRC of its column's "name:" continued over the key's bytes (a character is a
        byte); a shape id is made once per translation to word_shape's codes ("Xxxxx"); and a
        token of letters alone can match no special token's pattern but the emoticon's (the
        others each need a digit, ".", "@" or "#"), nor hold an emoji's symbol."""
        special = 0
        if token.isalpha():
            if self._emoji_row and _EMOTICON.match(token):
                special = self._emoji_row
        else:
            for row, test in self._special_tests:
                if test is _is_emoji:
                    test = _EMOTICON.match   # no ASCII character is an emoji's symbol
                if test(token):
                    special = row
                    break
        lowered = token.lower().encode()
        oov_row = 0
        if self.oov_buckets:
            oov_row = (1 + len(self.special_tokens)
                       + zlib.crc32(lowered, _OOV_SEED) % self.oov_buckets)
        features = []
        for kind, n, seed, rows in self._column_plan:
            if kind == "casing":
                features.append(casing_class(token))
                continue
            if kind == "shape":
                # Many tokens share a translation ("Xxxxx"): its id is made once.
                translated = token.translate(_ASCII_SHAPE)
                shape_id = self._shape_ids.get(translated)
                if shape_id is None:
                    if len(self._shape_ids) >= _SHAPE_IDS:
                        self._shape_ids.clear()
                    shape_id = self._shape_ids[translated] = 1 + zlib.crc32(
                        _RUNS.sub(r"\1", translated).encode(), seed) % rows
                features.append(shape_id)
                continue
            if kind == "form":
                key = lowered
            elif kind == "prefix":
                key = lowered[:n]
            else:
                key = lowered[-n:]
            features.append(1 + zlib.crc32(key, seed) % rows)
        return special, oov_row, tuple(features), self._chars(token)

    def _compute_general(self, token):
        special = 0
        for row, test in self._special_tests:
            if test(token):
                special = row
                break
        oov_row = 0
        if self.oov_buckets:
            bucket = stable_hash("oov:" + token.lower()) % self.oov_buckets
            oov_row = 1 + len(self.special_tokens) + bucket
        lowered = token.lower()
        features = []
        for name, size in self.feature_columns:
            if name == "casing":
                features.append(casing_class(token))
                continue
            if name == "shape":
                key = word_shape(token)
            elif name == "form":
                key = lowered
            else:
                n = int(name[-1])
                key = lowered[:n] if name.startswith("prefix") else lowered[-n:]
            features.append(1 + stable_hash(f"{name}:{key}") % (size - 1))
        return special, oov_row, tuple(features), self._chars(token)

    def _chars(self, token):
        width = self.max_chars
        if len(token) > width:
            head = (width + 1) // 2
            token = token[:head] + token[len(token) - (width - head):] if width else ""
        ids = [self._char_index.get(ch, UNKNOWN_CHAR_ID) for ch in token]
        return tuple(ids + [0] * (self.char_width - len(ids)))


def build_char_vocab(tokens, min_count=2, max_size=1000):
    """The characters seen at least ``min_count`` times, most frequent first (ties by code point).

    Rare characters stay out so the shared unknown id is trained on real examples. Styled
    characters count as their plain ones, which is what the featurizer looks up.
    """
    import collections

    counts = collections.Counter(ch for token in tokens for ch in plain_style(token))
    kept = [ch for ch, n in counts.items() if n >= min_count]
    kept.sort(key=lambda ch: (-counts[ch], ch))
    return "".join(kept[:max_size])
