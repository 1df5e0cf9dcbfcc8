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


class ConstrainedViterbi:
    """``viterbi_decode`` for a whole right-padded batch at once, giving the same paths.

    Row by row, the Viterbi recursion is a Python loop over a row's tokens, each step a few
    NumPy calls on an (L, L) array: about 5 core-µs a token for WNUT-17's 13 labels, more than
    every other CPU stage of the tag pipeline together (bench/decode_bench.py). Here each step
    runs over all rows. The transitions are only allowed (0) or forbidden (-inf), so a label's
    best predecessor is the arg-max of the scores of the labels allowed before it; labels that
    share their set of allowed predecessors (O and every B-X under BIO) share that arg-max, and
    sets of one size are gathered together: a step costs a few NumPy calls per set size
    (BIO: two sizes, every label and B-X/I-X pairs), and no (B, L, L) array is built.

    Exactly ``viterbi_decode``: the same float64 sums in the same order, and ties go to the
    lowest label index, as ``np.argmax`` breaks them (a label whose allowed predecessors all
    score -inf points at label 0, as there). Probabilities holding NaN or infinity are refused
    (ValueError): the caller decodes those rows one by one, as ``np.argmax`` treats them.
    """

    def __init__(self, allowed_start, allowed):
        allowed = np.asarray(allowed, dtype=bool)
        self.size = allowed.shape[0]
        self.start = np.where(np.asarray(allowed_start, dtype=bool), 0.0, -np.inf)
        sets = [tuple(np.flatnonzero(allowed[:, j]).tolist()) for j in range(self.size)]
        unique = sorted(set(sets), key=lambda s: (len(s), s))
        self.index_dtype = np.int16 if self.size < 1 << 15 else np.int64
        # One (n, size) table of predecessor sets per set size, in ``unique``'s order, so the
        # step's per-set results stack in that order and label j reads row set_of_label[j].
        self.tables = []
        for size in sorted({len(s) for s in unique}):
            of_size = [s for s in unique if len(s) == size]
            self.tables.append(np.array(of_size, dtype=np.int64).reshape(len(of_size), size))
        self.set_of_label = np.array([unique.index(s) for s in sets], dtype=np.int64)
        self.sets = len(unique)

    def paths(self, probs, lengths):
        """(B, T) int64 best paths of ``probs`` (B, T, L); positions past a row's length hold
        nothing meaningful."""
        probs = np.asarray(probs)
        lengths = np.asarray(lengths, dtype=np.int64)
        batch = probs.shape[0]
        width = int(lengths.max()) if batch else 0
        paths = np.zeros((batch, probs.shape[1]), dtype=np.int64)
        if width == 0:
            return paths
        # Label-major, (T, L, B): a step works on rows of B contiguous scores. One buffer
        # written in place: each fresh array of this size costs its page faults again.
        emissions = np.empty((width, self.size, batch))
        np.copyto(emissions, probs[:, :width].transpose(1, 2, 0))
        np.maximum(emissions, _FLOOR, out=emissions)
        np.log(emissions, out=emissions)
        if not np.isfinite(emissions).all():
            raise ValueError("probabilities hold NaN or infinity")
        score = self.start[:, None] + emissions[0]
        # Each row's scores at its last token, where its path is read back from.
        final = score.copy()
        ending = _rows_by_last_position(lengths)
        backpointers = np.zeros((width, self.size, batch), dtype=self.index_dtype)
        best = np.empty((self.sets, batch))
        before = np.empty((self.sets, batch), dtype=self.index_dtype)
        for t in range(1, width):
            self._best_predecessors(score, best, before)
            score = best[self.set_of_label]
            score += emissions[t]
            backpointers[t] = before[self.set_of_label]
            if t in ending:
                final[:, ending[t]] = score[:, ending[t]]
        columns = np.arange(batch)
        _read_back(paths, np.argmax(final, axis=0), lengths, width,
                   lambda t, current: backpointers[t][current, columns])
        return paths

    def _best_predecessors(self, score, best, before):
        """Fills ``best`` (sets, B) with the best score among each set's labels and ``before``
        with that label, for scores (L, B)."""
        row = 0
        for table in self.tables:
            n, size = table.shape
            rows = slice(row, row + n)
            row += n
            if size == 0:
                best[rows], before[rows] = -np.inf, 0
            elif size == 1:
                best[rows], before[rows] = score[table[:, 0]], table[:, :1]
            elif size == 2:
                first, second = score[table[:, 0]], score[table[:, 1]]
                # Strictly greater: a tie stays with the lower label, as np.argmax's does.
                later = second > first
                np.maximum(first, second, out=best[rows])
                before[rows] = np.where(later, table[:, 1:], table[:, :1])
            else:
                # (n, size, B); the set of every label (O and B-X under BIO) needs no gather.
                candidates = score[None] if size == self.size else score[table]
                np.max(candidates, axis=1, out=best[rows])
                # argmax along the last, contiguous axis: along the middle one it is ~4x slower.
                choice = np.argmax(np.ascontiguousarray(candidates.transpose(0, 2, 1)), axis=2)
                before[rows] = np.take_along_axis(table, choice, axis=1)
        if best.min() == -np.inf:
            # Every allowed predecessor at -inf: np.argmax over the whole column picks label 0.
            before[best == -np.inf] = 0


def _read_back(paths, current, lengths, width, previous):
    """Fills ``paths`` (B, T) back from each row's best last label ``current`` (B,):
    ``previous(t, labels)`` gives the labels at t - 1 on the best paths through ``labels`` at
    t. A row follows its pointers from its own last token; before that it holds its label."""
    last = lengths - 1
    for t in range(width - 1, 0, -1):
        paths[:, t] = current
        current = np.where(t <= last, previous(t, current), current)
    paths[:, 0] = current


def _rows_by_last_position(lengths):
    """{t: rows whose last token is at t} for t >= 1 (rows of one token are final at once)."""
    order = np.argsort(lengths, kind="stable")
    ends, starts = np.unique(lengths[order], return_index=True)
    groups = np.split(order, starts[1:])
    return {int(n) - 1: rows for n, rows in zip(ends, groups) if n >= 2}


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


def crf_decode_batch(emissions, lengths, transitions, start, end):
    """A CRF head's decoding for a whole right-padded batch: (paths (B, T) int64, scores (B, T)
    float32), for each row the ``best_path`` of its emissions and the ``crf_marginals`` at that
    path, as a row decoded alone gets them.

    The same float64 operations in the same order as row by row, over (B, L, L) arrays: each
    reduction runs along the axis it runs along there (logsumexp's sums over the previous label
    accumulate in order, those over the next label go through NumPy's pairwise sum of a
    contiguous row), so the paths and scores are those of ``TaggerSpec.decode`` row by row
    (``tests/model_viterbi_test.py``). Positions past a row's length hold nothing meaningful.
    """
    emissions = np.ascontiguousarray(emissions, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    batch, padded_width, size = emissions.shape
    paths = np.zeros((batch, padded_width), dtype=np.int64)
    scores = np.zeros((batch, padded_width), dtype=np.float32)
    width = int(lengths.max()) if batch else 0
    if width == 0:
        return paths, scores
    emissions = emissions[:, :width]
    rows = np.arange(batch)
    last = np.maximum(lengths - 1, 0)
    ending = _rows_by_last_position(lengths)
    # Viterbi (best_path).
    score = start + emissions[:, 0]
    final = score.copy()
    backpointers = np.zeros((batch, width, size), dtype=np.int64)
    for t in range(1, width):
        candidates = score[:, :, None] + transitions                       # (B, previous, L)
        before = np.argmax(candidates, axis=1)
        backpointers[:, t] = before
        score = np.take_along_axis(candidates, before[:, None, :], axis=1)[:, 0] + emissions[:, t]
        if t in ending:
            final[ending[t]] = score[ending[t]]
    _read_back(paths, np.argmax(final + end, axis=1), lengths, width,
               lambda t, current: backpointers[rows, t, current])
    # Forward-backward (crf_marginals), each row's backward pass starting at its own end.
    alpha = np.empty((batch, width, size))
    alpha[:, 0] = start + emissions[:, 0]
    for t in range(1, width):
        alpha[:, t] = _logsumexp(alpha[:, t - 1][:, :, None] + transitions, 1) + emissions[:, t]
    beta = np.zeros((batch, width, size))
    beta[:, width - 1] = end
    for t in range(width - 2, -1, -1):
        following = _logsumexp(transitions + (emissions[:, t + 1] + beta[:, t + 1])[:, None, :],
                               2)
        beta[:, t] = np.where((t == last)[:, None], end, following)
    log_z = _logsumexp(alpha[rows, last] + end, 1)
    real = np.arange(width) < lengths[:, None]
    # Past a row's end alpha and beta run on padding and may overflow: those slots are dropped.
    with np.errstate(over="ignore", invalid="ignore"):
        marginals = np.exp(alpha + beta - log_z[:, None, None])
        chosen = np.take_along_axis(marginals, paths[:, :width, None], axis=2)[..., 0]
    scores[:, :width] = np.where(real, chosen, 0.0)
    return paths, scores


def bio_violations(tags):
    """Positions where a tag sequence breaks BIO (``I-X`` not after ``B-X``/``I-X``)."""
    bad = []
    previous = "O"
    for i, tag in enumerate(tags):
        if tag.startswith("I-") and previous not in (f"B-{tag[2:]}", f"I-{tag[2:]}"):
            bad.append(i)
        previous = tag
    return bad
