"""decode_batch and decode_batch_flat: the same labels and scores as TaggerSpec.decode row by
row, for every head."""
import numpy as np
import pytest

from beamtagger.model.batch_decoding import decode_batch, decode_batch_flat
from beamtagger.model.features import TokenFeaturizer
from beamtagger.model.tagger_spec import TaggerSpec

BINDING = {"fingerprint": "f", "dim": 4, "normalization": ["lower"]}


def spec_for(labels, head="softmax"):
    return TaggerSpec(labels, head, TokenFeaturizer(), BINDING, {})


@pytest.mark.parametrize("labels,head", [
    (["NOUN", "VERB", "DET", "ADJ", "PUNCT"], "softmax"),
    (["no", "yes"], "sigmoid"),
    (["O", "B-per", "I-per", "B-loc", "I-loc"], "softmax"),  # BIO: Viterbi, row by row
])
def test_batch_decoding_equals_row_by_row(labels, head):
    spec = spec_for(labels, head)
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(len(labels)), size=(7, 11)).astype(np.float32)
    probs[0, 0] = probs[0, 0].max()  # a tie: the first label wins in both
    lengths = np.array([11, 1, 5, 11, 3, 8, 2], dtype=np.int32)
    found = decode_batch(spec, probs, lengths)
    assert len(found) == len(lengths)
    for b, (labels_found, scores_found) in enumerate(found):
        labels_expected, scores_expected = spec.decode(probs[b], int(lengths[b]))
        assert list(labels_found) == list(labels_expected)
        assert scores_found.dtype == np.float32
        assert scores_found.tolist() == scores_expected.tolist()
    label_ids, scores = decode_batch_flat(spec, probs, lengths)
    expected = [spec.decode(probs[b], int(n)) for b, n in enumerate(lengths)]
    assert [spec.labels[i] for i in label_ids] == [label for labels_expected, _ in expected
                                                   for label in labels_expected]
    assert label_ids.dtype == np.int32 and scores.dtype == np.float32
    assert scores.tolist() == np.concatenate([s for _, s in expected]).tolist()


def test_an_unknown_decoding_option_decodes_row_by_row():
    spec = spec_for(["NOUN", "VERB"])
    spec.decoding["crf"] = True  # e.g. a sequence decoder TaggerSpec.decode would apply
    calls = []
    original = spec.decode
    spec.decode = lambda probs, length: calls.append(length) or original(probs, length)
    probs = np.full((2, 3, 2), 0.5, dtype=np.float32)
    decode_batch(spec, probs, np.array([3, 1]))
    assert calls == [3, 1]
