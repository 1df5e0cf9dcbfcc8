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
    (["O", "B-per", "I-per", "B-loc", "I-loc"], "softmax"),  # BIO: the batch Viterbi
    (["O", "B-per", "I-per", "B-loc", "I-loc"], "crf"),      # emissions; learned transitions
])
def test_batch_decoding_equals_row_by_row(labels, head):
    spec = spec_for(labels, head)
    rng = np.random.default_rng(0)
    if head == "crf":
        size = len(labels)
        spec.set_crf(rng.normal(size=size), rng.normal(size=(size, size)), rng.normal(size=size))
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


def test_bio_rows_are_decoded_as_a_batch_not_one_by_one():
    spec = spec_for(["O", "B-per", "I-per"])
    spec.decode = lambda probs, length: pytest.fail("decoded row by row")
    probs = np.random.default_rng(1).dirichlet(np.ones(3), size=(4, 6)).astype(np.float32)
    assert len(decode_batch(spec, probs, np.array([6, 0, 2, 5]))) == 4
    assert len(decode_batch_flat(spec, probs, np.array([6, 0, 2, 5]))[0]) == 13


def test_probabilities_with_nan_go_row_by_row_with_the_same_labels():
    spec = spec_for(["O", "B-per", "I-per"])
    probs = np.random.default_rng(2).dirichlet(np.ones(3), size=(3, 5)).astype(np.float32)
    probs[1, 2, 0] = np.nan
    lengths = np.array([5, 4, 3])
    found = decode_batch(spec, probs, lengths)
    for b, (labels, scores) in enumerate(found):
        expected_labels, expected_scores = spec.decode(probs[b], int(lengths[b]))
        assert labels == expected_labels
        np.testing.assert_array_equal(scores, expected_scores)


def test_tagger_spec_decode_batch_equals_decode_for_bio_labels():
    spec = spec_for(["O", "B-loc", "I-loc", "B-org", "I-org"])
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(5) * 0.2, size=(9, 14)).astype(np.float32)
    lengths = rng.integers(0, 15, 9)
    for b, (labels, scores) in enumerate(spec.decode_batch(probs, lengths)):
        expected_labels, expected_scores = spec.decode(probs[b], int(lengths[b]))
        assert labels == expected_labels
        assert scores.tolist() == expected_scores.tolist()


def test_ragged_arrays_are_decoded_in_padded_groups_as_each_alone_would_be():
    from beamtagger.model.batch_decoding import decode_ragged

    spec = spec_for(["O", "B-per", "I-per", "B-loc", "I-loc"])
    rng = np.random.default_rng(4)
    arrays = [rng.dirichlet(np.ones(5) * 0.3, size=n).astype(np.float32)
              for n in rng.integers(1, 400, 40)]
    # 1-D, and longer than a group's slots, so alone: its decoding fails, and only its own.
    arrays.append(np.zeros(5000, np.float32))
    expected = [spec.decode(a, len(a)) for a in arrays[:-1]]
    original = spec.decode
    alone = []
    spec.decode = lambda probs, length: alone.append(length) or original(probs, length)
    found = decode_ragged(spec, arrays, max_slots=2048)
    assert isinstance(found[-1], Exception)
    for (labels, scores), (expected_labels, expected_scores) in zip(found, expected):
        assert labels == expected_labels
        assert scores.tolist() == expected_scores.tolist()
    # Only the array longer than a group went alone: the others were decoded in batches.
    assert alone == [5000]


@pytest.mark.parametrize("labels,head,per_token", [
    (["NOUN", "VERB", "DET"], "softmax", True),
    (["no", "yes"], "sigmoid", True),
    (["O", "B-per", "I-per"], "softmax", False),   # BIO: Viterbi over the record
    (["O", "B-per", "I-per"], "crf", False),
])
def test_label_ids_index_the_labels_decoding_gives(labels, head, per_token):
    """``label_ids=True``: the same labels as indices into ``spec.labels``, on the batch path,
    the row-by-row path and decode_ragged's; and ``decodes_per_token`` says where a part of a
    record decodes to that part of the record's labels."""
    from beamtagger.model.batch_decoding import decode_ragged, decodes_per_token

    spec = spec_for(labels, head)
    rng = np.random.default_rng(5)
    if head == "crf":
        size = len(labels)
        spec.set_crf(rng.normal(size=size), rng.normal(size=(size, size)), rng.normal(size=size))
    assert decodes_per_token(spec) is per_token
    probs = rng.dirichlet(np.ones(len(labels)), size=(5, 30)).astype(np.float32)
    lengths = np.array([30, 4, 17, 0, 29])
    named = decode_batch(spec, probs, lengths)
    for found in (decode_batch(spec, probs, lengths, label_ids=True),
                  decode_ragged(spec, [probs[b, :n] for b, n in enumerate(lengths)],
                                label_ids=True)):
        for (ids, scores), (names, expected_scores) in zip(found, named):
            assert ids.dtype == np.int32
            assert [spec.labels[i] for i in ids] == list(names)
            assert scores.tolist() == expected_scores.tolist()
    probs[2, 3, 0] = np.nan   # row by row for Viterbi and CRF: the ids still index the labels
    by_row = decode_batch(spec, probs, lengths, label_ids=True)
    assert [[spec.labels[i] for i in ids] for ids, _ in by_row] == [
        list(spec.decode(probs[b], int(n))[0]) for b, n in enumerate(lengths)]
    if per_token:   # every part of a row decodes to that part of the row's labels
        ids, scores = decode_batch(spec, probs[:1], [30], label_ids=True)[0]
        for start, stop in ((0, 7), (7, 20), (20, 30)):
            part_ids, part_scores = decode_batch(spec, probs[:1, start:stop], [stop - start],
                                                 label_ids=True)[0]
            assert part_ids.tolist() == ids[start:stop].tolist()
            assert part_scores.tolist() == scores[start:stop].tolist()
