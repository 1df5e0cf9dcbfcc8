"""Length-bucketed, token-budgeted batches (and the pad-to-a-fixed-length baseline).

Sorting sentences by length and cutting the sorted list into batches of at most ``max_tokens``
*padded* tokens keeps padding small (EWT: median sentence 12 tokens, longest 159) and the work
per batch roughly constant. Ties are broken randomly per epoch and the batch order is shuffled,
so every epoch sees different batches in a different order.

Both batchers return lists of index arrays into the corpus; ``pad_batch`` assembles the
``ModelInputs`` (through ``ModelInputs.from_tokens``, the padding the Arrow batches use too).
The benchmark of bucketed vs pad-to-128 training uses the same functions.
"""
import numpy as np

from beamtagger.model.model_inputs import TOKEN_FIELDS, ModelInputs


def token_budget_batches(lengths, max_tokens, rng=None):
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
        while end < len(order) and (end + 1 - start) * lengths[order[end]] <= max_tokens:
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
              rng=None, label_weights=None, label_drop_rates=None):
    """``ModelInputs`` for ``corpus[indices]`` plus (targets, weights) when labelled.

    ``pad_to`` pads every batch to a fixed length (the baseline; longer sentences are cut).
    ``drop_rate`` (training only) turns that share of in-vocabulary tokens into OOV tokens
    (zero vector, hashed OOV row) so the OOV rows and feature tables learn to carry unknown
    words, which a large store leaves few of in the training data; a dropped token's "form"
    feature (if the featurizer has one) becomes 0. ``label_drop_rates`` (L,) (training only)
    replaces ``drop_rate`` for the tokens whose gold label is known, by that label (entity drop:
    a higher share for the tokens of entities).
    ``label_weights`` (L,) scales each token's loss weight by its gold label's weight.
    Returns ``(inputs, targets, weights)``; targets/weights are None for unlabelled corpora.
    """
    lengths = np.minimum(corpus.lengths[indices], pad_to) if pad_to else corpus.lengths[indices]
    lengths = lengths.astype(np.int32)
    rows = np.concatenate([corpus.rows[i][:n] for i, n in zip(indices, lengths)])
    token_arrays = {field.name: np.concatenate([corpus.token_inputs[i][field.name][:n]
                                                for i, n in zip(indices, lengths)])
                    for field in TOKEN_FIELDS}
    if (drop_rate > 0 or label_drop_rates is not None) and rng is not None:
        rate = drop_rate
        if label_drop_rates is not None and corpus.targets[indices[0]] is not None:
            gold = np.concatenate([corpus.targets[i][:n] for i, n in zip(indices, lengths)])
            rate = np.where(gold >= 0, np.asarray(label_drop_rates)[np.maximum(gold, 0)],
                            drop_rate)
        dropped = (rows >= 0) & (rng.random(rows.shape) < rate)
        if dropped.any():
            oov_extra = np.concatenate([corpus.oov_extra_ids[i][:n]
                                        for i, n in zip(indices, lengths)])
            rows = np.where(dropped, -1, rows)
            token_arrays["extra_ids"] = np.where(dropped, oov_extra, token_arrays["extra_ids"])
            if corpus.form_column is not None:
                # A dropped word loses its own form row too (row 0: "no form"), else the form
                # table would tell the model the word that the zero vector hides.
                feature_ids = token_arrays["feature_ids"].copy()
                feature_ids[dropped, corpus.form_column] = 0
                token_arrays["feature_ids"] = feature_ids
    inputs = ModelInputs.from_tokens(lengths, rows, token_arrays, store, np.dtype(vector_dtype))
    if pad_to and inputs.width < pad_to:
        inputs = _pad_width(inputs, pad_to)
    if corpus.targets[indices[0]] is None:
        return inputs, None, None
    width = inputs.width
    targets = np.zeros((len(indices), width), dtype=np.int32)
    weights = np.zeros((len(indices), width), dtype=np.float32)
    for b, (i, n) in enumerate(zip(indices, lengths)):
        # Tags unknown to the model (-1) carry no loss.
        known = corpus.targets[i][:n] >= 0
        targets[b, :n] = np.where(known, corpus.targets[i][:n], 0)
        weights[b, :n] = known
    if label_weights is not None:
        weights *= np.asarray(label_weights, dtype=np.float32)[targets]
    return inputs, targets, weights


def _pad_width(inputs, width):
    """The fixed-length baseline: zeros to the right up to ``width`` on every (B, T, ...) field."""
    arrays = {}
    for name, array in inputs.as_dict().items():
        if array.ndim >= 2:
            pad = [(0, 0), (0, width - array.shape[1])] + [(0, 0)] * (array.ndim - 2)
            array = np.pad(array, pad)
        arrays[name] = array
    return ModelInputs(**arrays)
