"""Constrained BIO decoding: never I-X after O / B-Y or at the start; exact on small cases."""
import itertools

import numpy as np
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from beamtagger.model.viterbi import (ConstrainedViterbi, best_path, bio_transitions,
                                      bio_violations, crf_decode_batch, crf_marginals,
                                      is_bio_label_set, viterbi_decode)

LABELS = ["B-loc", "B-per", "I-loc", "I-per", "O"]


def test_bio_label_set_detection():
    assert is_bio_label_set(LABELS)
    assert not is_bio_label_set(["NOUN", "VERB", "O"])
    assert not is_bio_label_set(["O", "I-loc"])


def test_greedy_violation_is_repaired():
    # Arg-max per token says "O I-per": invalid. Best valid path keeps the entity as B-per.
    probs = np.array([[0.05, 0.10, 0.05, 0.10, 0.70],
                      [0.05, 0.30, 0.05, 0.40, 0.20]])
    start, allowed = bio_transitions(LABELS)
    path = [LABELS[i] for i in viterbi_decode(probs, start, allowed)]
    assert bio_violations([LABELS[i] for i in probs.argmax(1)]) == [1]
    assert path == ["O", "B-per"]


def test_matches_brute_force_and_never_violates():
    rng = np.random.default_rng(0)
    start, allowed = bio_transitions(LABELS)
    for _ in range(30):
        length = int(rng.integers(1, 5))
        probs = rng.dirichlet(np.ones(len(LABELS)) * 0.3, size=length)
        path = viterbi_decode(probs, start, allowed)
        assert bio_violations([LABELS[i] for i in path]) == []
        best = max((seq for seq in itertools.product(range(len(LABELS)), repeat=length)
                    if not bio_violations([LABELS[i] for i in seq])),
                   key=lambda seq: sum(np.log(probs[t, i]) for t, i in enumerate(seq)))
        assert list(path) == list(best)


def test_start_with_inside_tag_is_forbidden():
    probs = np.array([[0.0, 0.0, 1.0, 0.0, 0.0]])  # all mass on I-loc
    start, allowed = bio_transitions(LABELS)
    assert LABELS[viterbi_decode(probs, start, allowed)[0]] != "I-loc"


def _path_score(emissions, path, transitions, start, end):
    return (start[path[0]] + sum(emissions[t, y] for t, y in enumerate(path))
            + sum(transitions[a, b] for a, b in zip(path, path[1:])) + end[path[-1]])


def _crf_case(seed, length=4, size=3):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(length, size)), rng.normal(size=(size, size)), rng.normal(size=size),
            rng.normal(size=size))


def test_crf_loss_equals_the_brute_force_sum_over_all_paths():
    """-log p(gold) from the keras.ops forward algorithm, padded in a batch, traced with unknown
    B and T, against log-sum-exp over every one of the L**T label paths."""
    tf = pytest.importorskip("tensorflow")
    from beamtagger.model.tagger_model import crf_negative_log_likelihood

    emissions, transitions, start, end = _crf_case(0)
    long_gold, short_gold = [2, 0, 1, 1], [1, 2]
    expected = []
    for gold in (long_gold, short_gold):
        n = len(gold)
        scores = [_path_score(emissions[:n], path, transitions, start, end)
                  for path in itertools.product(range(3), repeat=n)]
        log_z = np.logaddexp.reduce(scores)
        expected.append(log_z - _path_score(emissions[:n], gold, transitions, start, end))
    batch_emissions = np.stack([emissions, emissions]).astype(np.float32)
    tags = np.array([long_gold, short_gold + [0, 0]], np.int32)
    mask = np.array([[True] * 4, [True, True, False, False]])

    @tf.function(input_signature=[tf.TensorSpec([None, None, 3]), tf.TensorSpec([None, None],
                                  tf.int32), tf.TensorSpec([None, None], tf.bool)])
    def loss(e, y, m):
        return crf_negative_log_likelihood(e, y, m, *(tf.constant(x, tf.float32)
                                                      for x in (start, transitions, end)))

    np.testing.assert_allclose(loss(batch_emissions, tags, mask).numpy(), expected, rtol=1e-5)
    # One real token: no transitions at all.
    one = loss(batch_emissions[:1, :1], tags[:1, :1], mask[:1, :1]).numpy()[0]
    assert one == pytest.approx(np.logaddexp.reduce(start + emissions[0] + end)
                                - (start[2] + emissions[0, 2] + end[2]), rel=1e-5)


def test_crf_viterbi_and_marginals_match_brute_force_with_and_without_constraints():
    start_ok, allowed = bio_transitions(LABELS)
    for seed in range(20):
        emissions, transitions, start, end = _crf_case(seed, length=4, size=len(LABELS))
        for constrained in (False, True):
            trans = np.where(allowed, transitions, -np.inf) if constrained else transitions
            first = np.where(start_ok, start, -np.inf) if constrained else start
            paths = list(itertools.product(range(len(LABELS)), repeat=4))
            scores = np.array([_path_score(emissions, p, trans, first, end) for p in paths])
            best = best_path(emissions, trans, first, end)
            assert list(best) == list(paths[int(np.argmax(scores))])
            if constrained:
                assert not bio_violations([LABELS[i] for i in best])
            probs = np.exp(scores - np.logaddexp.reduce(scores))
            marginals = crf_marginals(emissions, trans, first, end)
            for t in range(4):
                for label in range(len(LABELS)):
                    want = probs[[p[t] == label for p in paths]].sum()
                    assert marginals[t, label] == pytest.approx(want, abs=1e-9)
    assert best_path(np.zeros((0, 5)), transitions, start, end).shape == (0,)


WNUT_LABELS = ["O"] + [f"{prefix}-{kind}" for kind in ("corporation", "creative-work", "group",
                                                        "location", "person", "product")
                       for prefix in "BI"]


def _assert_batch_paths_are_row_paths(probs, lengths, allowed_start, allowed):
    paths = ConstrainedViterbi(allowed_start, allowed).paths(probs, lengths)
    assert paths.shape == probs.shape[:2]
    for b, length in enumerate(lengths):
        expected = viterbi_decode(probs[b, :length], allowed_start, allowed)
        assert paths[b, :length].tolist() == expected.tolist(), (b, length)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 12), width=st.integers(1, 20),
       concentration=st.sampled_from([0.02, 0.3, 1.0, 20.0]), rounding=st.sampled_from([0, 1, 2]),
       labels=st.sampled_from([LABELS, WNUT_LABELS, ["B-x", "O"]]))
def test_the_batch_viterbi_gives_every_row_the_path_of_row_by_row(
        seed, rows, width, concentration, rounding, labels):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(len(labels)) * concentration, size=(rows, width))
    if rounding:
        # Ties (to the lowest label, as np.argmax) and zeros (the log floor).
        probs = np.round(probs, rounding)
    lengths = rng.integers(0, width + 1, rows)
    _assert_batch_paths_are_row_paths(probs.astype(np.float32), lengths,
                                      *bio_transitions(labels))


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 6), width=st.integers(1, 9))
def test_the_batch_viterbi_follows_any_allowed_matrix(seed, size, width):
    """Constraints beyond BIO: sets of every size, labels nothing may follow or start with,
    and columns where every allowed predecessor scores -inf (label 0 wins, as np.argmax)."""
    rng = np.random.default_rng(seed)
    allowed = rng.random((size, size)) < rng.random()
    allowed_start = rng.random(size) < 0.6
    probs = rng.dirichlet(np.ones(size) * 0.5, size=(5, width)).astype(np.float32)
    lengths = rng.integers(0, width + 1, 5)
    _assert_batch_paths_are_row_paths(probs, lengths, allowed_start, allowed)


def test_the_batch_viterbi_refuses_nan():
    probs = np.full((2, 3, len(LABELS)), 0.2, dtype=np.float32)
    probs[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ConstrainedViterbi(*bio_transitions(LABELS)).paths(probs, np.array([3, 2]))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 10), width=st.integers(1, 16),
       bio=st.booleans(), spread=st.sampled_from([0.3, 1.0, 4.0]))
def test_the_batch_crf_decoding_gives_every_row_its_own_path_and_marginals(
        seed, rows, width, bio, spread):
    """A CRF head's batch decoding against best_path and crf_marginals row by row: the same
    paths and the same float32 scores, bit for bit, with BIO constraints (-inf) or none."""
    rng = np.random.default_rng(seed)
    labels = WNUT_LABELS if bio else ["a", "b", "c", "d"]
    size = len(labels)
    start, transitions, end = rng.normal(size=size), rng.normal(size=(size, size)), \
        rng.normal(size=size)
    if bio:
        allowed_start, allowed = bio_transitions(labels)
        start = np.where(allowed_start, start, -np.inf)
        transitions = np.where(allowed, transitions, -np.inf)
    emissions = (rng.normal(size=(rows, width, size)) * spread).astype(np.float32)
    lengths = rng.integers(0, width + 1, rows)
    paths, scores = crf_decode_batch(emissions, lengths, transitions, start, end)
    for b, length in enumerate(lengths):
        if length == 0:
            continue
        row = emissions[b, :length].astype(np.float64)
        expected = best_path(row, transitions, start, end)
        assert paths[b, :length].tolist() == expected.tolist()
        marginals = crf_marginals(row, transitions, start, end)
        expected_scores = marginals[np.arange(length), expected].astype(np.float32)
        assert scores[b, :length].tolist() == expected_scores.tolist()
