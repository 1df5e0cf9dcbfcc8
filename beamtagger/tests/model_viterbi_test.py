"""Constrained BIO decoding: never I-X after O / B-Y or at the start; exact on small cases."""
import itertools

import numpy as np

from beamtagger.model.viterbi import (bio_transitions, bio_violations, is_bio_label_set,
                                      viterbi_decode)

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
