"""Decoding a whole batch of network outputs at once: ``TaggerSpec.decode`` for every row.

The tag stage decoded record by record (an argmax, a gather and a label list per record, each a
few NumPy calls on a tiny array); here the argmax and the gather run once over the (B, T, L)
batch and rows are cut from the results. BIO tag sets' constrained Viterbi decoding runs over
the whole batch too (``viterbi.ConstrainedViterbi``, the same paths as row by row at a fraction
of the cost); a CRF head's decoding (Viterbi with learned transitions, and forward-backward
marginals for its scores) runs over the batch as well (``viterbi.crf_decode_batch``).
"""
import numpy as np

from beamtagger.model import viterbi


def decode_batch(spec, probs, lengths, label_ids=False):
    """(B, T, L) probabilities and (B,) lengths -> one (labels list, float32 scores) per row,
    equal to ``spec.decode(probs[b], lengths[b])``; with ``label_ids``, each row's labels as
    an int32 array of indices into ``spec.labels``."""
    probs = np.asarray(probs)
    decoded = _paths_and_scores(spec, probs, lengths)
    lengths = np.asarray(lengths).tolist()
    if decoded is None:
        rows = [spec.decode(probs[b], n) for b, n in enumerate(lengths)]
        if label_ids:
            return [(_ids_of(spec, labels), scores) for labels, scores in rows]
        return rows
    paths, scores = decoded
    if label_ids:
        paths = paths.astype(np.int32, copy=False)
        return [(paths[b, :n], scores[b, :n]) for b, n in enumerate(lengths)]
    labels = np.asarray(spec.labels, dtype=object)[paths].tolist()
    return [(labels[b][:n], scores[b, :n]) for b, n in enumerate(lengths)]


def _ids_of(spec, labels):
    index = {label: i for i, label in enumerate(spec.labels)}
    return np.fromiter(map(index.__getitem__, labels), np.int32, len(labels))


def decode_batch_flat(spec, probs, lengths):
    """(label ids int32 (N,), scores (N,)) of all N real tokens of the batch, rows in order:
    ``spec.decode`` of every row, concatenated; the ids index ``spec.labels``."""
    probs = np.asarray(probs)
    lengths = np.asarray(lengths)
    decoded = _paths_and_scores(spec, probs, lengths)
    if decoded is not None:
        real = np.arange(probs.shape[1]) < lengths[:, None]
        paths, scores = decoded
        return paths[real].astype(np.int32), scores[real]
    index = {label: i for i, label in enumerate(spec.labels)}
    label_ids, scores = [], []
    for b, n in enumerate(lengths.tolist()):
        labels, row_scores = spec.decode(probs[b], n)
        label_ids.extend(index[label] for label in labels)
        scores.append(np.asarray(row_scores))
    scores = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    return np.asarray(label_ids, dtype=np.int32), scores


def decode_ragged(spec, probs_list, max_slots=1 << 16, label_ids=False):
    """``spec.decode(probs, len(probs))`` for each (n, L) array of ``probs_list``, in order: a
    (labels, scores) pair (with ``label_ids``, the labels as in ``decode_batch``), or the
    exception that decoding that array raised.

    Arrays of similar length are decoded together (sorted by length, padded into batches of at
    most ``max_slots`` slots, or one array alone when it is longer): how records stitched from
    chunks (``transforms/chunks.py``) get the batch Viterbi. A batch that fails is decoded
    array by array, so a failure costs only the array it concerns.
    """
    results = [None] * len(probs_list)
    labels = len(spec.labels)
    # Arrays a batch could not hold (not (n, L)) are decoded alone, so they fail alone.
    batchable = [i for i, probs in enumerate(probs_list)
                 if np.ndim(probs) == 2 and np.shape(probs)[1] == labels]
    for i in sorted(set(range(len(probs_list))) - set(batchable)):
        _decode_group(spec, probs_list, [i], results, label_ids)
    group = []
    for i in sorted(batchable, key=lambda i: len(probs_list[i])):
        if group and (len(group) + 1) * len(probs_list[i]) > max_slots:
            _decode_group(spec, probs_list, group, results, label_ids)
            group = []
        group.append(i)
    if group:
        _decode_group(spec, probs_list, group, results, label_ids)
    return results


def _decode_group(spec, probs_list, group, results, label_ids):
    if len(group) > 1 and decodes_in_batch(spec):
        try:
            arrays = [np.asarray(probs_list[i]) for i in group]
            lengths = np.array([len(a) for a in arrays])
            padded = np.zeros((len(arrays), int(lengths.max()), arrays[0].shape[1]),
                              np.result_type(*arrays))
            for row, array in enumerate(arrays):
                padded[row, :len(array)] = array
            for i, decoded in zip(group, decode_batch(spec, padded, lengths, label_ids)):
                results[i] = decoded
            return
        except Exception:  # noqa: BLE001  (one by one below: each array's own outcome)
            pass
    for i in group:
        try:
            labels, scores = spec.decode(probs_list[i], len(probs_list[i]))
            results[i] = (_ids_of(spec, labels) if label_ids else labels), scores
        except Exception as error:  # noqa: BLE001
            results[i] = error


def _paths_and_scores(spec, probs, lengths):
    """((B, T) label indices, (B, T) float32 scores) of every row, as ``spec.decode`` decodes a
    row; None where the rows must go to ``spec.decode`` one by one (a decoder decoded only
    there, or probabilities the batch Viterbi refuses: NaN or infinity)."""
    if not decodes_in_batch(spec):
        return None
    if spec.head == "crf":
        if not np.isfinite(probs).all():
            return None
        start, transitions, end = spec.crf_scores
        return viterbi.crf_decode_batch(probs, lengths, transitions, start, end)
    if spec.decoding.get("viterbi"):
        try:
            paths = spec.constrained_viterbi.paths(probs, lengths)
        except ValueError:
            return None
    elif spec.head == "sigmoid":
        paths = (probs[..., 1] >= spec.decoding.get("threshold", 0.5)).astype(np.int64)
    else:
        paths = probs.argmax(axis=-1)
    scores = np.take_along_axis(probs, paths[..., None], axis=-1)[..., 0].astype(np.float32)
    return paths, scores


# The decoding options this module reproduces; any other (a sequence decoder added to
# TaggerSpec.decode later) sends every row to spec.decode, so labels never silently differ.
_KNOWN_DECODING = frozenset(("viterbi", "threshold"))


def decodes_per_token(spec):
    """True where each token's label and score come from its own probabilities alone (arg-max,
    threshold; not Viterbi or a CRF), so a part of a record decodes to that part of the
    record's labels, bit for bit."""
    return (decodes_in_batch(spec) and spec.head in ("softmax", "sigmoid")
            and not spec.decoding.get("viterbi"))


def decodes_in_batch(spec):
    """True where this module decodes the batch as ``spec.decode`` would."""
    from beamtagger.model.tagger_spec import TaggerSpec

    if type(spec).decode is not TaggerSpec.decode:
        return False
    if spec.head == "crf":
        return set(spec.decoding) <= _KNOWN_DECODING | {"crf"}
    return spec.head in ("softmax", "sigmoid") and set(spec.decoding) <= _KNOWN_DECODING
