"""Constrained decoding for BIO label sets: the best label path with no ``I-X`` after ``O`` or
``B-Y`` and none at the start, over per-token probabilities (NumPy only).

A greedy arg-max per token can emit ``O I-person``, which conlleval-style scoring counts as a
broken entity; the Viterbi pass picks the most probable *valid* sequence instead. ``best_path``
and ``crf_marginals`` also decode a CRF head (emission scores plus learned transitions).
"""
import numpy as np

_FLOOR = 1e-12  # log(0) guard for probabilities that underflow to 0


def is_bio_label_set(labels):
    """True when every label is ``O`` or ``B-X`` / ``I-X`` and at least one B- label exists."""
    labels = list(labels)
    if not any(label.startswith("B-") for label in labels):
        return False
    return all(label == "O" or label[:2] in ("B-", "I-") and len(label) > 2 for label in labels)


def bio_transitions(labels):
    """(allowed_start (L,), allowed (L, L)) boolean arrays; allowed[i, j]: label j may follow i."""
    labels = list(labels)
    size = len(labels)
    allowed = np.ones((size, size), dtype=bool)
    start = np.ones(size, dtype=bool)
    for j, label in enumerate(labels):
        if not label.startswith("I-"):
            continue
        kind = label[2:]
        start[j] = False
        for i, previous in enumerate(labels):
            allowed[i, j] = previous in (f"B-{kind}", f"I-{kind}")
    return start, allowed


def viterbi_decode(probs, allowed_start, allowed):
    """Best path (int indices, (T,)) through ``probs`` (T, L) under the transition constraints."""
    probs = np.asarray(probs, dtype=np.float64)
    log_probs = np.log(np.maximum(probs, _FLOOR))
    return best_path(log_probs, np.where(allowed, 0.0, -np.inf),
                     np.where(allowed_start, 0.0, -np.inf))


def best_path(emissions, transitions, start, end=None):
    """Viterbi: the (T,) label path maximising ``start[y0] + sum emissions[t, yt] +
    sum transitions[y(t-1), yt] + end[yT]``; -inf entries forbid a start or a transition."""
    emissions = np.asarray(emissions, dtype=np.float64)
    length, size = emissions.shape
    if length == 0:
        return np.zeros(0, dtype=np.int64)
    score = start + emissions[0]
    backpointers = np.zeros((length, size), dtype=np.int64)
    for t in range(1, length):
        candidates = score[:, None] + transitions  # (previous, current)
        backpointers[t] = np.argmax(candidates, axis=0)
        score = candidates[backpointers[t], np.arange(size)] + emissions[t]
    if end is not None:
        score = score + end
    path = np.empty(length, dtype=np.int64)
    path[-1] = int(np.argmax(score))
    for t in range(length - 1, 0, -1):
        path[t - 1] = backpointers[t, path[t]]
    return path


def _logsumexp(x, axis):
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.squeeze(top, axis) + np.log(np.sum(np.exp(x - top), axis=axis))


def crf_marginals(emissions, transitions, start, end):
    """(T, L) probability of each label at each position under the CRF (forward-backward)."""
    emissions = np.asarray(emissions, dtype=np.float64)
    length, size = emissions.shape
    alpha = np.empty((length, size))
    beta = np.zeros((length, size))
    alpha[0] = start + emissions[0]
    for t in range(1, length):
        alpha[t] = _logsumexp(alpha[t - 1][:, None] + transitions, 0) + emissions[t]
    beta[-1] = end
    for t in range(length - 2, -1, -1):
        beta[t] = _logsumexp(transitions + (emissions[t + 1] + beta[t + 1])[None, :], 1)
    log_z = _logsumexp(alpha[-1] + end, 0)
    return np.exp(alpha + beta - log_z)


def bio_violations(tags):
    """Positions where a tag sequence breaks BIO (``I-X`` not after ``B-X``/``I-X``)."""
    bad = []
    previous = "O"
    for i, tag in enumerate(tags):
        if tag.startswith("I-") and previous not in (f"B-{tag[2:]}", f"I-{tag[2:]}"):
            bad.append(i)
        previous = tag
    return bad
