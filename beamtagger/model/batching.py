"""Length-bucketed, token-budgeted batches (and the pad-to-a-fixed-length baseline).

Sorting sentences by length and cutting the sorted list into batches of at most ``max_tokens``
*padded* tokens keeps padding small (EWT: median sentence 12 tokens, longest 159) and the work
per batch roughly constant. Ties are broken randomly per epoch and the batch order is shuffled,
so every epoch sees different batches in a different order.

Both batchers return lists of index arrays into the corpus; ``pad_batch`` assembles the arrays.
The benchmark of bucketed vs pad-to-128 training uses the same functions.
"""
import numpy as np


def token_budget_batches(lengths, max_tokens, rng=None, max_sentences=None):
    """Index arrays: sentences sorted by length, each batch's ``len * longest <= max_tokens``.

    A sentence longer than ``max_tokens`` gets a batch of its own. With ``rng`` (a NumPy
    Generator) equal lengths are shuffled and the batch order is shuffled; without, both are
    deterministic (evaluation).
    """
    lengths = np.asarray(lengths)
    if max_tokens < 1:
        raise ValueError("max_tokens must be >= 1")
    order = np.arange(len(lengths))
    if rng is not None:
        order = rng.permutation(len(lengths))
    order = order[np.argsort(lengths[order], kind="stable")]
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        # Sorted ascending, so the last sentence of a batch is its longest.
        while (end < len(order) and (end + 1 - start) * lengths[order[end]] <= max_tokens
               and (max_sentences is None or end - start < max_sentences)):
            end += 1
        batches.append(order[start:end])
        start = end
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def fixed_size_batches(count, batch_size, rng=None):
    """Index arrays of ``batch_size`` sentences in (optionally shuffled) corpus order."""
    order = rng.permutation(count) if rng is not None else np.arange(count)
    return [order[i:i + batch_size] for i in range(0, count, batch_size)]


def pad_batch(corpus, indices, store, pad_to=None, vector_dtype=np.float32, drop_rate=0.0,
              rng=None, label_weights=None):
    """Right-padded model inputs for ``corpus[indices]`` plus (targets, weights) when labelled.

    ``pad_to`` pads every batch to a fixed length (the baseline; longer sentences are cut).
    ``drop_rate`` (training only) turns that share of in-vocabulary tokens into OOV tokens
    (zero vector, hashed OOV row) so the OOV rows and feature tables learn to carry unknown
    words, which a large store leaves few of in the training data.
    ``label_weights`` (L,) scales each token's loss weight by its gold label's weight.
    Returns ``(inputs, targets, weights)``; targets/weights are None for unlabelled corpora.
    """
    lengths = np.minimum(corpus.lengths[indices], pad_to) if pad_to else corpus.lengths[indices]
    width = int(pad_to or lengths.max())
    batch = len(indices)
    columns = corpus.feature_ids[indices[0]].shape[1]
    rows = np.full((batch, width), -1, dtype=np.int64)
    extra = np.zeros((batch, width), dtype=np.int32)
    features = np.zeros((batch, width, columns), dtype=np.int32)
    labelled = corpus.targets[indices[0]] is not None
    targets = np.zeros((batch, width), dtype=np.int32) if labelled else None
    weights = np.zeros((batch, width), dtype=np.float32) if labelled else None
    for b, (i, n) in enumerate(zip(indices, lengths)):
        rows[b, :n] = corpus.rows[i][:n]
        extra[b, :n] = corpus.extra_ids[i][:n]
        features[b, :n] = corpus.feature_ids[i][:n]
        if labelled:
            # Tags unknown to the model (-1) carry no loss.
            known = corpus.targets[i][:n] >= 0
            targets[b, :n] = np.where(known, corpus.targets[i][:n], 0)
            weights[b, :n] = known
    if drop_rate > 0 and rng is not None:
        dropped = (rows >= 0) & (rng.random(rows.shape) < drop_rate)
        if dropped.any():
            oov_extra = np.zeros_like(extra)
            for b, (i, n) in enumerate(zip(indices, lengths)):
                oov_extra[b, :n] = corpus.oov_extra_ids[i][:n]
            rows[dropped] = -1
            extra[dropped] = oov_extra[dropped]
    if labelled and label_weights is not None:
        weights *= np.asarray(label_weights, dtype=np.float32)[targets]
    vectors = store.gather(rows.reshape(-1), dtype=vector_dtype).reshape(batch, width, -1)
    inputs = {"vectors": vectors, "lengths": lengths.astype(np.int32), "extra_ids": extra,
              "feature_ids": features}
    return inputs, targets, weights
