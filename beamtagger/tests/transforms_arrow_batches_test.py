"""Arrow batches: layout built from the store and featurizer, the IPC coder and its inference."""
import apache_beam as beam
import numpy as np
import pyarrow as pa
import pytest
from apache_beam.runners import pipeline_context

from beamtagger.model.features import TokenFeaturizer
from beamtagger.transforms.arrow_batches import (ArrowRecordBatchCoder, build_record_batch,
                                                 model_inputs)
from beamtagger.transforms.attach_vectors import AttachVectors
from beamtagger.transforms.records import Segment

SEGMENTS = [
    Segment("a.txt:1", ("The", "cat", "sat", "."), "a.txt:1", (0, 4, 8, 11), (3, 7, 11, 12),
            {"lang": "en"}),
    Segment("a.txt:2", ("Qzxwv", "2021"), "a.txt:2", (0, 6), (5, 10)),
    Segment("long", ("w1", "w2", "w3"), chunk=1, num_chunks=4, keep_start=1, keep_end=2),
]


@pytest.fixture(scope="module")
def store(subset_store):  # noqa: F811
    from beamtagger.embeddings.store import EmbeddingStore
    return EmbeddingStore.open(subset_store)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_batch_holds_padded_vectors_and_feature_ids_of_every_token(store, dtype):
    featurizer = TokenFeaturizer(char_vocab="Thecatsd", max_chars=4)
    batch, oov = build_record_batch(SEGMENTS, store, featurizer, dtype, fingerprint="abc")
    inputs = model_inputs(batch, "abc")
    vectors, lengths, extra_ids, feature_ids = (inputs.vectors, inputs.lengths, inputs.extra_ids,
                                                inputs.feature_ids)
    assert inputs.char_ids.shape == (3, 4, 4) and not inputs.char_ids[1, 2:].any()
    assert vectors.shape == (3, 4, store.dim) and vectors.dtype == np.dtype(dtype)
    assert lengths.tolist() == [4, 2, 3]
    expected_oov = 0
    for b, segment in enumerate(SEGMENTS):
        n = len(segment.tokens)
        expected, in_vocab = store.lookup(segment.tokens)
        expected_oov += int((~in_vocab).sum())
        np.testing.assert_array_equal(vectors[b, :n], expected.astype(dtype))
        assert not vectors[b, n:].any() and not extra_ids[b, n:].any()
        np.testing.assert_array_equal(extra_ids[b, :n], featurizer.extra_ids(segment.tokens, in_vocab))
        np.testing.assert_array_equal(feature_ids[b, :n], featurizer.feature_ids(segment.tokens))
        np.testing.assert_array_equal(inputs.char_ids[b, :n], featurizer.char_ids(segment.tokens))
    assert oov == expected_oov >= 1  # "Qzxwv" at least
    rows = batch.to_pylist()
    assert rows[0]["tokens"] == ["The", "cat", "sat", "."] and rows[0]["starts"] == [0, 4, 8, 11]
    assert rows[0]["fields"] == '{"lang": "en"}' and rows[1]["fields"] is None
    assert rows[2]["starts"] == [] and (rows[2]["chunk"], rows[2]["keep_end"]) == (1, 2)


def test_a_batch_built_by_token_number_equals_the_batch_built_by_text(store):
    """Whole records of numbered blocks (two vocabularies) and Segments, through a TokenInputs
    small enough to start afresh between batches: the very batch the texts give."""
    from beamtagger.model.token_inputs import TokenInputs
    from beamtagger.token_vocabulary import TokenVocabulary
    from beamtagger.tokenizer import Tokenizer
    from beamtagger.transforms.records import TextRecord
    from beamtagger.transforms.token_blocks import WholeRecords, entry_columns, tokenize_block

    featurizer = TokenFeaturizer(char_vocab="Thecatsd", max_chars=4)
    # 18 distinct tokens a batch, one new each round: the tables start afresh in the third.
    token_inputs = TokenInputs(store, featurizer, capacity=19)
    tokenizer = Tokenizer()
    for round_number in range(3):
        blocks = [tokenize_block(tokenizer, [
            TextRecord(f"r{b}-{i}", text, f"f:{b}-{i}", {"i": i} if i else None)
            for i, text in enumerate([f"The cat{round_number} sat .", "Qzxwv 2021 , naïve",
                                      "a b c d e f"])], TokenVocabulary()) for b in range(2)]
        entries = [WholeRecords(blocks[0], [0, 1]), WholeRecords(blocks[1], [2]), *SEGMENTS]
        by_number, oov = build_record_batch(entries, store, featurizer, "float16", "abc",
                                            token_inputs)
        by_text, text_oov = build_record_batch(entries, store, featurizer, "float16", "abc")
        assert by_number.equals(by_text) and oov == text_oov
        assert by_number.schema.metadata == by_text.schema.metadata
        assert entry_columns(entries, token_inputs) is not None   # it went by number
    assert token_inputs.generation == 1


def test_coder_round_trips_a_batch_and_reads_tensors_without_copying(store):
    batch, _ = build_record_batch(SEGMENTS, store, TokenFeaturizer())
    coder = beam.coders.registry.get_coder(pa.RecordBatch)
    assert isinstance(coder, ArrowRecordBatchCoder)
    encoded = coder.encode(batch)
    decoded = coder.decode(encoded)
    assert decoded.equals(batch)
    vectors = decoded.column("vectors").to_numpy_ndarray()
    np.testing.assert_array_equal(vectors, batch.column("vectors").to_numpy_ndarray())
    # The tensor is a view into the encoded bytes (no copy on decode).
    buffer = np.frombuffer(encoded, dtype=np.uint8)
    start = buffer.__array_interface__["data"][0]
    assert start <= vectors.__array_interface__["data"][0] < start + len(encoded)


def test_attach_vectors_output_is_typed_and_encoded_by_the_arrow_coder(subset_store):  # noqa: F811
    pipeline = beam.Pipeline()
    batches = (pipeline | beam.Create([SEGMENTS[:2]])
               | AttachVectors(store_path=subset_store, model_dir="unused-at-construction")
               ).batches
    assert batches.element_type is pa.RecordBatch
    proto, context = pipeline.to_runner_api(return_context=True)
    coder_id = context.pcollections.get_proto(batches).coder_id
    restored = pipeline_context.PipelineContext(proto.components).coders.get_by_id(coder_id)
    assert any(isinstance(c, ArrowRecordBatchCoder) for c in _walk(restored)), restored


def _walk(coder):
    yield coder
    for component in coder._get_component_coders():
        yield from _walk(component)
