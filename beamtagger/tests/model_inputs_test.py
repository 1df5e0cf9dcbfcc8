"""The ModelInputs contract: training batches and the Beam stage's Arrow batches are the same
arrays; character ids; the spec fingerprint."""
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from beamtagger.corpus_readers import Sentence
from beamtagger.model import batching
from beamtagger.model.encoding import encode_sentences
from beamtagger.model.features import UNKNOWN_CHAR_ID, TokenFeaturizer, build_char_vocab
from beamtagger.model.model_inputs import (FIELD_NAMES, ID_FIELDS, InputsMismatch, ModelInputs,
                                           id_dtypes, inputs_fingerprint)
from beamtagger.tests.model_training_test import sentences, tiny_store  # noqa: F401 (fixture)
from beamtagger.transforms.arrow_batches import ArrowRecordBatchCoder, build_record_batch
from beamtagger.transforms.records import Segment


def featurizer_with_chars():
    return TokenFeaturizer(oov_buckets=16, char_vocab=build_char_vocab(
        [t for s in sentences(30) for t in s.tokens]), max_chars=6)


def test_training_batch_equals_the_beam_stage_batch_for_the_same_sentences(tiny_store):  # noqa: F811
    featurizer = featurizer_with_chars()
    corpus_sentences = sentences(9, seed=4) + [
        Sentence("u", ("Zürich", "naïve", "😀", "supercalifragilistic", "QUİCKLY"), ("X",) * 5,
                 "u", 1)]
    corpus = encode_sentences(corpus_sentences, tiny_store, featurizer)
    # "QUİCKLY" lower-cases to "qui̇ckly" (U+0307 after the i): both sides find "quickly".
    assert corpus.rows[-1][4] == tiny_store.rows(["quickly"])[0] >= 0
    trained, _, _ = batching.pad_batch(corpus, np.arange(len(corpus)), tiny_store)
    segments = [Segment(f"s{i}", s.tokens, f"s{i}", tuple(range(len(s.tokens))),
                        tuple(range(1, len(s.tokens) + 1)))
                for i, s in enumerate(corpus_sentences)]
    fingerprint = inputs_fingerprint(featurizer.get_config(), {"dim": 8})
    batch, _ = build_record_batch(segments, tiny_store, featurizer, fingerprint=fingerprint)
    # Through the Beam coder, as between stages.
    coder = ArrowRecordBatchCoder()
    beamed = ModelInputs.from_record_batch(coder.decode(coder.encode(batch)), fingerprint)
    # The batches carry the ids in the featurizer's narrow types; the values are training's.
    assert {name: getattr(beamed, name).dtype.name for name in ID_FIELDS} == \
        id_dtypes(featurizer) == {"extra_ids": "uint8", "feature_ids": "uint16",
                                  "char_ids": "uint8"}
    assert trained.equals(beamed.with_int32_ids())
    assert set(trained.as_dict()) == set(FIELD_NAMES)
    assert trained.char_ids.shape == (10, corpus.lengths.max(), 6) and trained.char_ids[-1, :4].any()


def test_a_batch_with_another_fingerprint_is_refused(tiny_store):  # noqa: F811
    featurizer = featurizer_with_chars()
    segments = [Segment("a", ("the", "cat"), "a", (0, 4), (3, 7))]
    mine = inputs_fingerprint(featurizer.get_config(), {"dim": 8})
    other = inputs_fingerprint(TokenFeaturizer(oov_buckets=16).get_config(), {"dim": 8})
    assert mine != other
    batch, _ = build_record_batch(segments, tiny_store, featurizer, fingerprint=other)
    with pytest.raises(InputsMismatch, match="fingerprint"):
        ModelInputs.from_record_batch(batch, mine)
    unmarked, _ = build_record_batch(segments, tiny_store, featurizer)
    with pytest.raises(InputsMismatch, match="none"):
        ModelInputs.from_record_batch(unmarked, mine)
    ModelInputs.from_record_batch(batch, other)  # its own fingerprint passes


def test_char_ids_for_unicode_empty_and_long_tokens():
    featurizer = TokenFeaturizer(char_vocab="abcdeü", max_chars=5)
    ids = featurizer.char_ids(["abc", "", "üx", "abcdeabcde", "e😀"])
    assert ids.shape == (5, 5) and ids.dtype == np.int32
    a, b, c, d, e, u = range(2, 8)
    assert ids[0].tolist() == [a, b, c, 0, 0]
    assert ids[1].tolist() == [0, 0, 0, 0, 0]                       # empty token: all padding
    assert ids[2].tolist() == [u, UNKNOWN_CHAR_ID, 0, 0, 0]         # unknown char: shared id
    assert ids[3].tolist() == [a, b, c, d, e]                       # first 3 and last 2 kept
    assert ids[4].tolist() == [e, UNKNOWN_CHAR_ID, 0, 0, 0]         # one code point, one id
    assert featurizer.char_ids(["x" * 1000]).tolist() == [[UNKNOWN_CHAR_ID] * 5]
    assert featurizer.char_ids([]).shape == (0, 5)
    # The vocabulary travels in the featurizer config (tagger.json).
    again = TokenFeaturizer.from_config(featurizer.get_config())
    np.testing.assert_array_equal(again.char_ids(["abcdeabcde", "üx"]), ids[[3, 2]])
    # Without a char vocabulary the column is one padding character wide (Arrow tensors can't
    # be empty) and the model has no char encoder.
    assert TokenFeaturizer().char_ids(["word"]).tolist() == [[0]]


def test_char_vocab_keeps_repeated_characters_most_frequent_first():
    assert build_char_vocab(["aab", "ba", "c"], min_count=2) == "ab"
    assert build_char_vocab(["aab", "ba", "c"], min_count=1) == "abc"


def test_checked_rejects_shapes_that_disagree():
    good = ModelInputs(np.zeros((2, 3, 4), np.float32), np.array([3, 1], np.int32),
                       np.zeros((2, 3), np.int32), np.zeros((2, 3, 2), np.int32),
                       np.zeros((2, 3, 5), np.int32))
    assert good.checked().equals(good)
    with pytest.raises(ValueError, match="char_ids"):
        ModelInputs(**{**good.as_dict(), "char_ids": np.zeros((2, 4, 5), np.int32)}).checked()
    with pytest.raises(ValueError, match="lengths"):
        ModelInputs(**{**good.as_dict(), "lengths": np.array([3, 0], np.int32)}).checked()
    row = good.rows(1, 2)
    assert row.vectors.shape == (1, 1, 4) and row.char_ids.shape == (1, 1, 5)


def test_checked_keeps_narrow_ids_and_refuses_ids_that_are_not_integers():
    narrow = ModelInputs(np.zeros((2, 3, 4), np.float16), np.array([3, 1], np.int32),
                         np.ones((2, 3), np.uint16), np.ones((2, 3, 2), np.uint16),
                         np.ones((2, 3, 5), np.uint8))
    checked = narrow.checked()
    assert checked.equals(narrow)   # the same arrays, types unchanged
    assert all(getattr(checked, name) is getattr(narrow, name) for name in ID_FIELDS)
    wide = narrow.with_int32_ids()
    assert all(getattr(wide, name).dtype == np.int32 for name in ID_FIELDS)
    assert wide.with_int32_ids() is wide
    # Other integer types are cast to int32, as before.
    assert ModelInputs(**{**narrow.as_dict(), "extra_ids": np.ones((2, 3), np.int64)}
                       ).checked().extra_ids.dtype == np.int32
    for name in ID_FIELDS:
        floats = getattr(narrow, name).astype(np.float32) + 0.5
        with pytest.raises(ValueError, match=f"{name} must hold integers, not float32"):
            ModelInputs(**{**narrow.as_dict(), name: floats}).checked()
    with pytest.raises(ValueError, match="char_ids"):
        ModelInputs(**{**narrow.as_dict(), "char_ids": np.zeros((2, 4, 5), np.uint8)}).checked()
    with pytest.raises(ValueError, match="feature_ids has shape"):
        ModelInputs(**{**narrow.as_dict(), "feature_ids": np.zeros((2, 3), np.uint16)}).checked()


def test_id_types_come_from_the_table_sizes_and_stay_wide_enough(tiny_store):  # noqa: F811
    def sizes(extra, features, chars):
        return SimpleNamespace(num_extra_rows=extra, feature_sizes=features,
                               char_vocab_size=chars)

    assert id_dtypes(sizes(1031, [10, 2048], 104)) == {
        "extra_ids": "uint16", "feature_ids": "uint16", "char_ids": "uint8"}
    assert id_dtypes(sizes(256, [], 2)) == {
        "extra_ids": "uint8", "feature_ids": "uint8", "char_ids": "uint8"}
    assert id_dtypes(sizes(257, [65536], 257)) == {
        "extra_ids": "uint16", "feature_ids": "uint16", "char_ids": "uint16"}
    assert id_dtypes(sizes(70000, [65537], 65537)) == {
        "extra_ids": "int32", "feature_ids": "int32", "char_ids": "int32"}
    # A featurizer whose OOV buckets need more than 65,536 rows: its batches keep every id.
    featurizer = TokenFeaturizer(oov_buckets=70_000, feature_columns=[("casing", 10),
                                                                      ("suffix3", 300)])
    tokens = tuple(f"zq{i}xv" for i in range(200))
    int32_ids = featurizer.featurize(list(tokens), np.zeros(len(tokens), bool))
    assert int32_ids["extra_ids"].max() > 1 << 16
    batch, _ = build_record_batch([Segment("a", tokens, "a", tuple(range(200)),
                                           tuple(range(1, 201)))], tiny_store, featurizer)
    assert batch.schema.field("extra_ids").type.value_type == pa.int32()
    assert batch.schema.field("feature_ids").type.value_type == pa.uint16()
    beamed = ModelInputs.from_record_batch(batch)
    assert np.array_equal(beamed.extra_ids[0], int32_ids["extra_ids"])
    assert np.array_equal(beamed.feature_ids[0], int32_ids["feature_ids"])


def test_store_rows_stand_in_for_vectors_and_gather_into_the_same_batch(tiny_store):  # noqa: F811
    featurizer = featurizer_with_chars()
    corpus = encode_sentences(sentences(9, seed=4), tiny_store, featurizer)
    for vector_dtype in ("float32", "float16"):
        # Padded and unpadded (every row of one length) batches are built apart.
        for lengths in ([3, 5, 1], [4, 4]):
            rows = np.concatenate([corpus.rows[i][:n] for i, n in enumerate(lengths)])
            rows[1] = -1
            tokens = {name: np.resize(np.arange(7), (len(rows),) + shape)
                      for name, shape in (("extra_ids", ()), ("feature_ids", (1,)),
                                          ("char_ids", (6,)))}
            vectors = ModelInputs.from_tokens(lengths, rows, tokens, tiny_store, vector_dtype)
            by_rows = ModelInputs.from_tokens(lengths, rows, tokens, tiny_store, vector_dtype,
                                              store_rows=True)
            assert by_rows.vectors is None and by_rows.store_rows.dtype == np.int32
            assert by_rows.checked().store_rows[0, :3].tolist() == rows[:3].tolist()
            if lengths[2:] == [1]:   # the padding is "no row", as OOV is
                assert (by_rows.store_rows[2, 1:] == -1).all()
            assert by_rows.with_vectors(tiny_store, vector_dtype).equals(vectors)
            assert not by_rows.equals(vectors)
            columns = by_rows.arrow_columns()
            assert "vectors" not in columns and "store_rows" in columns
            batch = pa.RecordBatch.from_pydict(columns)
            assert ModelInputs.from_record_batch(batch).equals(by_rows)
            assert by_rows.rows(1, 2).store_rows.shape == (1, lengths[1])
    with pytest.raises(ValueError, match="store rows, not vectors"):
        by_rows.as_dict()
    with pytest.raises(ValueError, match="exactly one of vectors and store_rows, not both"):
        ModelInputs(**{**vectors.as_dict(), "store_rows": by_rows.store_rows}).checked()
    with pytest.raises(ValueError, match="not neither"):
        ModelInputs(**{**vectors.as_dict(), "vectors": None}).checked()
    with pytest.raises(ValueError, match="-1 .no row. or more"):
        ModelInputs(**{**by_rows.__dict__, "store_rows": by_rows.store_rows - 2}).checked()


def test_tensor_columns_equal_pyarrows_own_tensor_arrays():
    """arrow_columns builds its tensor columns from their storage; the result must be the
    array (type, shape, values) that FixedShapeTensorArray.from_numpy_ndarray makes."""
    from beamtagger.model.model_inputs import _tensor_array

    rng = np.random.default_rng(0)
    for shape, dtype in [((3, 4, 5), np.float32), ((2, 7), np.int32), ((1, 3, 16), np.uint8),
                         ((4, 2, 6), np.float16), ((5, 1, 1), np.int64)]:
        array = (rng.random(shape) * 100).astype(dtype)
        built = _tensor_array(pa, array)
        expected = pa.FixedShapeTensorArray.from_numpy_ndarray(array)
        assert built.type == expected.type and built.equals(expected)
        np.testing.assert_array_equal(built.to_numpy_ndarray(), array)
