"""TokenInputs: the remembered per-token inputs equal a fresh store lookup and featurizer."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beamtagger.model.features import TokenFeaturizer
from beamtagger.model.model_inputs import id_dtypes
from beamtagger.model.tagger_spec import TaggerSpec
from beamtagger.model.token_inputs import TokenInputs


def expected(store, featurizer_config, tokens):
    """What the stages computed before the cache: a fresh featurizer, a plain lookup; the ids
    in the narrow types the Arrow batches carry."""
    featurizer = TokenFeaturizer.from_config(featurizer_config)
    rows = store.rows(tokens)
    types = id_dtypes(featurizer)
    arrays = featurizer.featurize(tokens, rows >= 0)
    narrow = {name: array.astype(types[name]) for name, array in arrays.items()}
    for name, array in arrays.items():
        assert np.array_equal(narrow[name], array), f"{name} does not fit {types[name]}"
    return rows, narrow


def assert_same(found, wanted):
    rows, arrays = found
    assert np.array_equal(rows, wanted[0]) and rows.dtype == wanted[0].dtype
    assert set(arrays) == set(wanted[1])
    for name, array in wanted[1].items():
        assert array.dtype == arrays[name].dtype, name
        assert np.array_equal(arrays[name], array), name


@pytest.fixture(scope="module")
def tiny(tiny_tagger):
    from beamtagger.embeddings.store import EmbeddingStore

    spec = TaggerSpec.load(tiny_tagger.model_dir)
    return EmbeddingStore.open(tiny_tagger.store_path), spec.featurizer.get_config()


TOKEN = st.one_of(st.sampled_from(["the", "The", "THE", "cat", "apples", "1990", "3:15", "@bob",
                                   "#tag", "www.x.com", ":)", "\U0001F600", "", "naïve"]),
                  st.text(max_size=24))


@settings(max_examples=150, deadline=None)
@given(batches=st.lists(st.lists(TOKEN, max_size=40), min_size=1, max_size=6),
       capacity=st.sampled_from([1, 3, 17, 1 << 17]))
def test_every_batch_gets_the_ids_a_fresh_lookup_gives(tiny, batches, capacity):
    store, config = tiny
    inputs = TokenInputs(store, TokenFeaturizer.from_config(config), capacity=capacity)
    for tokens in batches:
        assert_same(inputs.lookup(tokens), expected(store, config, tokens))
        assert len(inputs) <= capacity


def test_a_full_table_starts_afresh_and_a_batch_too_large_for_it_bypasses_it(tiny):
    store, config = tiny
    inputs = TokenInputs(store, TokenFeaturizer.from_config(config), capacity=4)
    first = ["the", "cat", "sat", "the"]
    assert_same(inputs.lookup(first), expected(store, config, first))
    assert len(inputs) == 3
    second = ["dog", "mat", "cat"]   # 3 + 2 new > 4: the tables start again with this batch
    assert_same(inputs.lookup(second), expected(store, config, second))
    assert len(inputs) == 3
    many = ["a", "b", "c", "d", "e", "a"]   # 5 distinct > 4: computed without the tables
    assert_same(inputs.lookup(many), expected(store, config, many))
    assert len(inputs) == 0


def test_a_token_that_cannot_be_featurized_leaves_nothing_half_added(tiny):
    store, config = tiny
    inputs = TokenInputs(store, TokenFeaturizer.from_config(config))
    with pytest.raises(Exception):
        inputs.lookup(["the", 5])
    assert len(inputs) == 0
    assert_same(inputs.lookup(["the"]), expected(store, config, ["the"]))


def test_a_token_with_a_lone_surrogate_is_refused_and_poisons_no_later_batch(tiny):
    # Held, it made every later arrow_texts() call fail: a whole worker's records dead letters.
    store, config = tiny
    inputs = TokenInputs(store, TokenFeaturizer.from_config(config))
    inputs.arrow_texts()
    with pytest.raises(ValueError, match="lone surrogate"):
        inputs.lookup(["bad", "\ud800"])
    assert len(inputs) == 0
    assert_same(inputs.lookup(["the", "cat"]), expected(store, config, ["the", "cat"]))
    assert inputs.arrow_texts().to_pylist() == ["the", "cat"]


def test_all_of_ewt_train_gets_the_ids_of_the_bundled_models_featurizer(shared_data):
    """Corpus-wide, with the bundled model's featurizer (char ids) and the default store's
    normalization chain, in the batch sizes the pipeline uses, through one refill."""
    from beamtagger.corpus_readers import read_conllu
    from beamtagger.embeddings.default import ensure_default_store
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR

    store = ensure_default_store()
    config = TaggerSpec.load(DEFAULT_MODEL_DIR).featurizer.get_config()
    tokens = [token for sentence in read_conllu(
        shared_data / "ud-english-ewt" / "en_ewt-ud-train.conllu") for token in sentence.tokens]
    inputs = TokenInputs(store, TokenFeaturizer.from_config(config), capacity=15_000)
    found_rows, found = [], {}
    for start in range(0, len(tokens), 16384):
        rows, arrays = inputs.lookup(tokens[start:start + 16384])
        found_rows.append(rows)
        for name, array in arrays.items():
            found.setdefault(name, []).append(array)
    assert_same((np.concatenate(found_rows), {name: np.concatenate(parts)
                                             for name, parts in found.items()}),
                expected(store, config, tokens))


@settings(max_examples=150, deadline=None)
@given(batches=st.lists(st.lists(st.lists(TOKEN, max_size=30), min_size=1, max_size=3),
                        min_size=1, max_size=6),
       capacity=st.sampled_from([1, 3, 17, 1 << 17]),
       vocabulary_capacity=st.sampled_from([2, 25, 1 << 17]))
def test_tokens_by_vocabulary_number_get_what_their_texts_get(tiny, batches, capacity,
                                                             vocabulary_capacity):
    """A batch of parts numbered by vocabularies (several, as when a tokenizer starts a new one
    mid-run) gets the ids its texts get, through tables that may start afresh in between."""
    from beamtagger.token_vocabulary import TokenVocabulary

    store, config = tiny
    inputs = TokenInputs(store, TokenFeaturizer.from_config(config), capacity=capacity)
    vocabulary = TokenVocabulary(vocabulary_capacity)
    for parts in batches:
        numbered = []
        for tokens in parts:
            numbers = vocabulary.numbers(tokens)
            if numbers is None:   # full: a new vocabulary, as the tokenizer starts one
                vocabulary = TokenVocabulary(vocabulary_capacity)
                numbers = vocabulary.numbers(tokens)
            numbered.append((tokens, vocabulary, numbers))
        if any(numbers is None for _, _, numbers in numbered):
            continue   # more distinct tokens in one part than a vocabulary holds
        for tokens, part_vocabulary, numbers in numbered:
            table_numbers = inputs.vocabulary_numbers(part_vocabulary, numbers)
            if table_numbers is None:
                assert len(set(tokens)) > capacity
                continue
            assert [inputs.texts[n] for n in table_numbers.tolist()] == tokens
            assert_same(inputs.gather(table_numbers), expected(store, config, tokens))
        assert len(inputs) <= capacity
