"""Decoding a whole batch of network outputs at once: ``TaggerSpec.decode`` for every row.

The tag stage decoded record by record (an argmax, a gather and a label list per record, each a
few NumPy calls on a tiny array); here the argmax and the gather run once over the (B, T, L)
batch and rows are cut from the results. Viterbi decoding (BIO tag sets) stays per row: it is a
sequence decision.
"""
import numpy as np


def decode_batch(spec, probs, lengths):
    """(B, T, L) probabilities and (B,) lengths -> one (labels list, float32 scores) per row,
    equal to ``spec.decode(probs[b], lengths[b])``."""
    probs = np.asarray(probs)
    lengths = np.asarray(lengths).tolist()
    if not _is_plain_argmax_or_threshold(spec):
        return [spec.decode(probs[b], n) for b, n in enumerate(lengths)]
    paths, scores = _paths_and_scores(spec, probs)
    labels = np.asarray(spec.labels, dtype=object)[paths].tolist()
    return [(labels[b][:n], scores[b, :n]) for b, n in enumerate(lengths)]


def decode_batch_flat(spec, probs, lengths):
    """(label ids int32 (N,), scores (N,)) of all N real tokens of the batch, rows in order:
    ``spec.decode`` of every row, concatenated; the ids index ``spec.labels``."""
    probs = np.asarray(probs)
    lengths = np.asarray(lengths)
    if _is_plain_argmax_or_threshold(spec):
        real = np.arange(probs.shape[1]) < lengths[:, None]
        paths, scores = _paths_and_scores(spec, probs)
        return paths[real].astype(np.int32), scores[real]
    index = {label: i for i, label in enumerate(spec.labels)}
    label_ids, scores = [], []
    for b, n in enumerate(lengths.tolist()):
        labels, row_scores = spec.decode(probs[b], n)
        label_ids.extend(index[label] for label in labels)
        scores.append(np.asarray(row_scores))
    scores = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    return np.asarray(label_ids, dtype=np.int32), scores


def _paths_and_scores(spec, probs):
    if spec.head == "sigmoid":
        paths = (probs[..., 1] >= spec.decoding.get("threshold", 0.5)).astype(np.int64)
    else:
        paths = probs.argmax(axis=-1)
    scores = np.take_along_axis(probs, paths[..., None], axis=-1)[..., 0].astype(np.float32)
    return paths, scores


# The decoding options this module reproduces; any other (a sequence decoder added to
# TaggerSpec.decode later) sends every row to spec.decode, so labels never silently differ.
_KNOWN_DECODING = frozenset(("viterbi", "threshold"))


def _is_plain_argmax_or_threshold(spec):
    from beamtagger.model.tagger_spec import TaggerSpec

    return (type(spec).decode is TaggerSpec.decode
            and spec.head in ("softmax", "sigmoid")
            and not spec.decoding.get("viterbi")
            and set(spec.decoding) <= _KNOWN_DECODING)
