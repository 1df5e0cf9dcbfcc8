"""``LoadedTagger.predict`` (what ``Tagger`` and ``TaggerModelHandler`` run) builds its model
inputs without an Arrow batch (``record_batches.entry_model_inputs``): the model must get what
AttachVectors' batch of the same entries carries, whole records and chunks alike."""
import numpy as np
import pytest

import beamtagger
from beamtagger.model.token_inputs import TokenInputs
from beamtagger.tagging.chunk_spans import chunk_spans
from beamtagger.tagging.record_batches import (build_record_batch, entry_model_inputs,
                                               model_inputs)
from beamtagger.tagging.record_tagger import RecordTagger
from beamtagger.tagging.token_blocks import WholeRecords
from beamtagger.transforms import TextRecord

RECORDS = [TextRecord("short", "I like green apples."),
           TextRecord("oov", "Zyzzyva quux, frobnicated!"),
           TextRecord("long", " ".join(["the cat sat on the mat ."] * 12))]


def entries_of(tagger):
    """A batch of two whole records and the chunks of a long one, as RecordTagger makes it."""
    record_tagger = RecordTagger(chunk=16, overlap=4)
    block = record_tagger._tokenize(RECORDS)
    spans = chunk_spans(block.length(2), 16, 4)
    assert len(spans) > 1   # the long record is cut
    return [WholeRecords(block, [0, 1])] + [RecordTagger._chunk_segment(block, 2, span)
                                            for span in spans]


@pytest.mark.parametrize("vector_dtype", ["float32", "float16"])
@pytest.mark.parametrize("numbered", [True, False])
def test_the_inputs_are_those_the_arrow_batch_carries(tiny_tagger, vector_dtype, numbered):
    tagger = beamtagger.Tagger(tiny_tagger.model_dir, tiny_tagger.store_path)
    store, featurizer = tagger._model._store, tagger._model._runner.spec.featurizer
    entries = entries_of(tagger)

    def token_inputs():   # a fresh table each: numbers from one are not the other's
        return TokenInputs(store, featurizer) if numbered else None

    _, inputs, rows = entry_model_inputs(entries, store, featurizer, vector_dtype,
                                         token_inputs=token_inputs())
    batch, oov = build_record_batch(entries, store, featurizer, vector_dtype,
                                    token_inputs=token_inputs())
    assert inputs.equals(model_inputs(batch))
    assert int((rows < 0).sum()) == oov > 0   # "Zyzzyva", "quux", "frobnicated" have none
    assert inputs.vectors.dtype == np.dtype(vector_dtype)


def test_predict_gives_the_probabilities_of_the_arrow_batch(tiny_tagger):
    tagger = beamtagger.Tagger(tiny_tagger.model_dir, tiny_tagger.store_path)
    model = tagger._model
    entries = entries_of(tagger)
    probs, (tokens, slots, oov) = model.predict(entries)
    batch, batch_oov = build_record_batch(entries, model._store, model._runner.spec.featurizer)
    expected = model._runner.predict(model_inputs(batch))
    np.testing.assert_array_equal(probs, expected)
    lengths = batch.column("lengths").to_numpy()
    assert (tokens, slots, oov) == (lengths.sum(), len(lengths) * lengths.max(), batch_oov)
