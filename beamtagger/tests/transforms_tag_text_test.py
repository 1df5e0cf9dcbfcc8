"""TagText end to end on real EWT text: labels equal the model's own, long records, streaming."""
import itertools

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from beamtagger.corpus_readers import read_conllu
from beamtagger.transforms import ReadRecords, TagText, TextRecord, TokenizedRecord, counters
from beamtagger.transforms.chunks import chunk_spans

pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def runner_and_store(upos_model, subset_store):  # noqa: F811
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.inference import TaggerRunner
    return TaggerRunner.load(upos_model), EmbeddingStore.open(subset_store)


def direct_labels(sentences, runner, store):
    """What ``beamtagger evaluate`` computes: the model run on the corpus without Beam."""
    from beamtagger.model.encoding import encode_sentences
    from beamtagger.model.evaluation import tag_corpus
    corpus = encode_sentences(sentences, store, runner.spec.featurizer)
    return {s.sent_id: tuple(labels) for s, labels in
            zip(corpus.sentences, tag_corpus(runner, corpus, store))}


def test_labels_equal_what_the_model_gives_directly_on_all_of_ewt_dev(
        shared_data, upos_model, subset_store, runner_and_store):  # noqa: F811
    dev = str(shared_data / "ud-english-ewt" / "en_ewt-ud-dev.conllu")
    expected = direct_labels(list(read_conllu(dev)), *runner_and_store)
    assert len(expected) == 2001
    with beam.Pipeline() as p:
        read = p | ReadRecords(dev, "conllu")
        out = read.records | TagText(model_dir=upos_model, store_path=subset_store,
                                     max_batch_tokens=512)
        assert_that(out.tagged | beam.Map(lambda r: (r.id, r.labels)),
                    equal_to(list(expected.items())))
        assert_that(out.errors, equal_to([]), label="no errors")
    counts = counters.query_counters(p.result)
    assert counts["records_tagged"] == len(expected)
    assert counts["batched_tokens"] == counts["tokens"] == sum(map(len, expected.values()))
    assert counts["padded_slots"] == counts["tokens"]  # exact-length buckets: no padding here


@pytest.mark.slow
def test_a_100000_token_record_is_tagged_in_chunks_and_stitched(shared_data, upos_model,
                                                                 subset_store, runner_and_store):
    from beamtagger.model.batching import pad_batch
    from beamtagger.model.encoding import encode_sentences
    runner, store = runner_and_store
    train = read_conllu(shared_data / "ud-english-ewt" / "en_ewt-ud-train.conllu")
    tokens = tuple(itertools.islice((t for s in train for t in s.tokens), 100_000))
    long_record = TokenizedRecord.from_tokens("long", tokens, source="long")
    short_record = TokenizedRecord.from_tokens("short", tokens[:9], source="short")

    # Expected: every chunk through the model directly, each token from its owning chunk.
    spans = chunk_spans(len(tokens), 256, 64)
    chunks = [_Tokens(tokens[s.start:s.end]) for s in spans]
    corpus = encode_sentences(chunks, store, runner.spec.featurizer)
    owned = []
    for chunk in range(0, len(spans), 64):
        indices = np.arange(chunk, min(chunk + 64, len(spans)))
        inputs, _, _ = pad_batch(corpus, indices, store)
        probs = runner.predict(inputs)
        for i, chunk_probs in zip(indices, probs):
            s = spans[i]
            owned.append(chunk_probs[s.keep_start - s.start:s.keep_end - s.start])
    expected_labels, expected_scores = runner.spec.decode(np.concatenate(owned), len(tokens))

    with beam.Pipeline() as p:
        out = (p | beam.Create([long_record, short_record])
               | TagText(model_dir=upos_model, store_path=subset_store, chunk=256, overlap=64))
        assert_that(out.tagged | "Lengths" >> beam.Map(lambda r: (r.id, len(r.labels))),
                    equal_to([("long", 100_000), ("short", 9)]), label="lengths")

        def check_long(records):
            record = next(r for r in records if r.id == "long")
            assert record.tokens == tokens
            assert record.starts == long_record.starts and record.ends == long_record.ends
            assert list(record.labels) == list(expected_labels)
            np.testing.assert_allclose(record.scores, expected_scores, atol=1e-4)
        assert_that(out.tagged, check_long, label="stitched")
    counts = counters.query_counters(p.result)
    assert counts["long_records"] == 1 and counts["chunks"] == len(spans) == 521


class _Tokens:
    def __init__(self, tokens, sent_id=""):
        self.tokens = tokens
        self.sent_id = sent_id


def test_streaming_records_are_tagged_after_the_buffering_time(upos_model, subset_store,
                                                              runner_and_store):
    from beamtagger.tokenizer import Tokenizer
    texts = ["The cat sat on the mat .", "Dogs bark .", "It rained all day in Paris ."]
    tokenizer = Tokenizer()
    expected = direct_labels(
        [_Tokens(tuple(t.text for t in tokenizer.tokenize(text)), str(i))
         for i, text in enumerate(texts)], *runner_and_store)

    stream = (test_stream.TestStream()
              .advance_watermark_to(Timestamp(0))
              .add_elements([TimestampedValue(TextRecord("0", texts[0]), 1),
                             TimestampedValue(TextRecord("1", texts[1]), 2)])
              .advance_processing_time(30)
              .add_elements([TimestampedValue(TextRecord("2", texts[2]), 3)])
              .advance_processing_time(30)
              .advance_watermark_to_infinity())
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        out = (p | stream
               | TagText(model_dir=upos_model, store_path=subset_store, max_buffering_secs=10))
        assert_that(out.tagged | beam.Map(lambda r: (r.id, r.labels)),
                    equal_to(list(expected.items())))
