"""TokenFeaturizer: stable hashing, special tokens, casing/shape classes, config round trip."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.model.features import (CASING_CLASSES, UNKNOWN_CHAR_ID, TokenFeaturizer,
                                       build_char_vocab, casing_class, stable_hash, word_shape)

TOKENS = ["Paris", "is", "NICE", "@user_1", "#blessed", "https://t.co/x", "1,990", "iPhone",
          ":)", "\U0001F600", "U.S.", "ex-wife", "qwzxrtyplk", "!!"]


def test_special_tokens_get_their_rows_even_in_vocabulary():
    featurizer = TokenFeaturizer()
    in_vocab = np.ones(len(TOKENS), dtype=bool)
    ids = featurizer.extra_ids(TOKENS, in_vocab)
    row = {name: i + 1 for i, name in enumerate(featurizer.special_tokens)}
    assert ids[TOKENS.index("@user_1")] == row["<user>"]
    assert ids[TOKENS.index("#blessed")] == row["<hashtag>"]
    assert ids[TOKENS.index("https://t.co/x")] == row["<url>"]
    assert ids[TOKENS.index("1,990")] == row["<num>"]
    assert ids[TOKENS.index(":)")] == row["<emoji>"]
    assert ids[TOKENS.index("\U0001F600")] == row["<emoji>"]
    # Plain known words add nothing.
    assert ids[TOKENS.index("Paris")] == 0 and ids[TOKENS.index("is")] == 0


def test_oov_words_get_a_hashed_bucket_row():
    featurizer = TokenFeaturizer(oov_buckets=64)
    ids = featurizer.extra_ids(["qwzxrtyplk", "Qwzxrtyplk", "is"], np.array([False, False, False]))
    first_bucket = 1 + len(featurizer.special_tokens)
    assert first_bucket <= ids[0] < featurizer.num_extra_rows
    assert ids[0] == ids[1]  # buckets ignore case: casing has its own feature
    assert featurizer.num_extra_rows == first_bucket + 64


def test_hashing_is_the_same_in_another_process():
    featurizer = TokenFeaturizer()
    here = featurizer.feature_ids(TOKENS).tolist()
    code = ("import json; from beamtagger.model.features import TokenFeaturizer; "
            f"print(json.dumps(TokenFeaturizer().feature_ids({TOKENS!r}).tolist()))")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout
    assert eval(out) == here
    assert stable_hash("suffix3:ing") == 3392963748  # zlib.crc32, fixed forever


def test_feature_ids_are_in_range_and_never_zero():
    featurizer = TokenFeaturizer()
    ids = featurizer.feature_ids(TOKENS)
    assert ids.shape == (len(TOKENS), featurizer.num_feature_columns)
    assert ids.dtype == np.int32
    assert (ids >= 1).all()
    assert (ids < np.array(featurizer.feature_sizes)).all()


@pytest.mark.parametrize("token, expected", [
    ("paris", "lower"), ("NASA", "upper"), ("Paris", "title"), ("I", "single_upper"),
    ("iPhone", "mixed"), ("1990", "digits"), ("B52", "alnum"), ("...", "punct"),
    ("\U0001F600", "other")])
def test_casing_classes(token, expected):
    assert CASING_CLASSES[casing_class(token)] == expected


def test_word_shape_collapses_runs():
    shapes = [word_shape(t) for t in ["Paris", "1990", "U.S.", "ex-wife"]]
    assert shapes == ["Xx", "d", "X.X.", "x-x"]


def test_config_and_pickle_round_trip():
    featurizer = TokenFeaturizer(special_tokens=("<url>", "<num>"), oov_buckets=10,
                                 feature_columns=(("casing", 10), ("suffix3", 50)))
    again = TokenFeaturizer.from_config(featurizer.get_config())
    unpickled = pickle.loads(pickle.dumps(featurizer))
    in_vocab = np.zeros(len(TOKENS), dtype=bool)
    for other in (again, unpickled):
        assert (other.feature_ids(TOKENS) == featurizer.feature_ids(TOKENS)).all()
        assert (other.extra_ids(TOKENS, in_vocab) == featurizer.extra_ids(TOKENS, in_vocab)).all()


def test_bad_config_is_refused():
    with pytest.raises(BeamtaggerError, match="unknown special tokens"):
        TokenFeaturizer(special_tokens=("<nope>",))
    with pytest.raises(BeamtaggerError, match="unknown feature column"):
        TokenFeaturizer(feature_columns=(("colour", 5),))


def test_form_column_hashes_the_lower_cased_whole_token():
    featurizer = TokenFeaturizer(feature_columns=(("casing", 10), ("form", 4096)))
    assert featurizer.form_column == 1 and TokenFeaturizer().form_column is None
    ids = featurizer.feature_ids(["Paris", "PARIS", "paris", "Parish", "parisian"])[:, 1]
    assert ids[0] == ids[1] == ids[2]                   # case lives in the casing column
    assert len(set(ids[2:].tolist())) == 3              # not a prefix or suffix feature
    assert ids[0] == 1 + stable_hash("form:paris") % 4095 == 1 + 1297281480 % 4095
    again = TokenFeaturizer.from_config(featurizer.get_config())
    assert (again.feature_ids(TOKENS) == featurizer.feature_ids(TOKENS)).all()


ASCII_TOKENS = ["xD", "XP", "XO", "XOXO", ":)", ":-(", "o_O", "T_T", "<3", "8)", "3:15", "1990s",
                "@bob", "#tag", "www.x.com", "a@b.com", "http://a.b/c", "...", "U.S.", "ex-wife",
                "AAA", "aaBB99", "---", "x", "", "Inc.", "don't", "$5", "100%", "4pm"]


@pytest.mark.parametrize("config", [
    {},
    {"feature_columns": [("casing", 10), ("shape", 64), ("prefix1", 8), ("prefix4", 8),
                         ("suffix1", 8), ("suffix5", 8), ("form", 16)],
     "special_tokens": ("<emoji>", "<num>", "<url>"), "char_vocab": "abcXD:)", "max_chars": 4},
    {"special_tokens": (), "oov_buckets": 0}])
def test_the_ascii_path_gives_every_id_the_general_path_gives(config):
    """Every ASCII token of EWT-like and random text, the special tokens' edge cases (a token
    of letters that is an emoticon) and every column kind, against the general path; also
    after a pickle round trip (the shape ids remembered per featurizer start empty)."""
    import random
    import string

    rnd = random.Random(17)
    tokens = ASCII_TOKENS + ["".join(rnd.choice(string.printable) for _ in range(rnd.randint(
        0, 14))) for _ in range(1500)] + ["".join(rnd.choice("aAbB1.-") for _ in range(
            rnd.randint(1, 9))) for _ in range(1500)]
    featurizer = TokenFeaturizer(**config)
    for copy in (featurizer, pickle.loads(pickle.dumps(featurizer))):
        for token in tokens * 2:   # the second time through the remembered shape ids
            assert copy._compute_ascii(token) == copy._compute_general(token), repr(token)


def test_a_styled_token_gets_every_id_of_its_plain_token():
    """Full-width and mathematical bold letters were unknown characters to the char CNN, and
    their prefixes, suffixes and OOV bucket were rows training never filled."""
    featurizer = TokenFeaturizer(char_vocab="abcdefghijklmnopqrstuvwxyzBP0123456789@#",
                                 max_chars=8)
    styled = ["ｂｒｅａｋｉｎｇ", "𝐁𝐫𝐞𝐚𝐤𝐢𝐧𝐠", "𝘗𝘢𝘳𝘪𝘴", "ﬁnal", "＠ｂｏｂ", "＃ｔａｇ", "１９９９",
              "𝟑𝟎𝟎𝟎𝐬"]
    plain = ["breaking", "Breaking", "Paris", "final", "@bob", "#tag", "1999", "3000s"]
    in_vocab = np.array([True, False] * 4)
    styled_ids = featurizer.featurize(styled, in_vocab)
    plain_ids = featurizer.featurize(plain, in_vocab)
    for name in plain_ids:
        np.testing.assert_array_equal(styled_ids[name], plain_ids[name], err_msg=name)
    assert (styled_ids["char_ids"] != UNKNOWN_CHAR_ID).all()
    # What a compatibility form means is kept: "x²" is not featurized as "x2".
    assert featurizer.char_ids(["x²"]).tolist() != featurizer.char_ids(["x2"]).tolist()


def test_the_char_vocabulary_counts_styled_characters_as_their_plain_ones():
    assert build_char_vocab(["ｃａｔ", "𝐜𝐚𝐭", "ｄｏｇ"], min_count=2) == "act"
