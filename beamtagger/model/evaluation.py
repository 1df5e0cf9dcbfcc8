"""Tagging an encoded corpus with a runner, and scoring predicted tags against gold tags.

Metrics: token accuracy (split in-vocabulary / OOV by the store lookup, and on tokens whose
exact form never occurred in the training corpus, from the model's ``training_forms.npy``),
per-label
precision/recall/F1, entity-level micro F1 for BIO label sets (seqeval's default mode, which
follows conlleval), and the positive class's P/R/F1 for binary (sigmoid) taggers, at the
model's threshold and, from the same run of the network, at others (``threshold_scores``).

Entities "seen" and "unseen" in training: an entity (gold or predicted) is *seen* when its
surface, its tokens joined by single spaces and lower-cased, occurred as an entity of any type
in the training corpus (the model's ``training_entities.npy``, crc32 hashes). WNUT-17's test
entities were chosen to be unseen in training by surface form, so F1 on the unseen entities of
another split is the test-like figure (docs/quality.md). Lower-casing makes "unseen" the
stricter side: "Paris" in training makes "paris" seen. P on a side is the share of the
predicted entities of that side that are right, R the share of its gold entities found.
"""
import contextlib
import warnings

import numpy as np

from beamtagger.model.batching import pad_batch, token_budget_batches
from beamtagger.model.features import stable_hash


def tag_corpus(runner, corpus, store, batch_tokens=4096, positive_probs=None):
    """Predicted labels (list of lists of str), one list per sentence, in corpus order.

    ``positive_probs``: a list of ``len(corpus)`` items, given for a sigmoid head: each
    sentence's (n,) probabilities of the positive label are put in it, the numbers
    ``decoding.threshold`` is compared with (``threshold_scores``)."""
    predicted = [None] * len(corpus)
    for indices in token_budget_batches(corpus.lengths, batch_tokens):
        inputs, _, _ = pad_batch(corpus, indices, store)
        probs = runner.predict(inputs)
        decoded = runner.spec.decode_batch(probs, inputs.lengths)
        for row, (i, (labels, _)) in enumerate(zip(indices, decoded)):
            predicted[i] = labels
            if positive_probs is not None:
                positive_probs[i] = np.asarray(probs[row, :len(labels), 1])
    return predicted


def _prf(true_positives, predicted, gold):
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def score_tags(gold, predicted, in_vocab, is_bio=False, positive_label=None, seen=None,
               groups=None, tokens=None, training_entities=None):
    """Metrics dict for lists of gold / predicted tag lists and per-sentence OOV flags.

    ``in_vocab``: one bool array per sentence (the store knows the token). ``seen``: one bool
    array per sentence (the exact form occurred in the training corpus), or None. ``groups``:
    one name per sentence (e.g. the genre in its sent_id) for per-group token accuracy.
    ``tokens`` (the sentences' tokens) and ``training_entities`` (sorted uint32 entity surface
    hashes) add entity scores for entities seen and unseen in training (BIO label sets).
    """
    flat_gold = np.array([tag for sentence in gold for tag in sentence], dtype=object)
    flat_pred = np.array([tag for sentence in predicted for tag in sentence], dtype=object)
    flat_known = np.concatenate([np.asarray(flags, dtype=bool) for flags in in_vocab])
    correct = flat_gold == flat_pred
    oov = ~flat_known
    metrics = {
        "sentences": len(gold),
        "tokens": int(len(flat_gold)),
        "accuracy": float(correct.mean()),
        "in_vocabulary_tokens": int(flat_known.sum()),
        "in_vocabulary_accuracy": float(correct[flat_known].mean()) if flat_known.any() else None,
        "oov_tokens": int(oov.sum()),
        "oov_accuracy": float(correct[oov].mean()) if oov.any() else None,
    }
    if seen is not None:
        unseen = ~np.concatenate([np.asarray(flags, dtype=bool) for flags in seen])
        metrics["unseen_form_tokens"] = int(unseen.sum())
        metrics["unseen_form_accuracy"] = (float(correct[unseen].mean()) if unseen.any()
                                           else None)
    if groups is not None:
        flat_groups = np.repeat(np.array(groups, dtype=object), [len(s) for s in gold])
        metrics["groups"] = {
            name: {"tokens": int((flat_groups == name).sum()),
                   "accuracy": float(correct[flat_groups == name].mean())}
            for name in sorted(set(groups))}
    per_label = {}
    for label in sorted(set(flat_gold) | set(flat_pred)):
        gold_is, pred_is = flat_gold == label, flat_pred == label
        scores = _prf(int((gold_is & pred_is).sum()), int(pred_is.sum()), int(gold_is.sum()))
        per_label[label] = {**scores, "support": int(gold_is.sum())}
    metrics["per_label"] = per_label
    if positive_label is not None:
        metrics["positive"] = {"label": positive_label, **per_label.get(
            positive_label, {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0})}
    if is_bio:
        metrics["entities"] = entity_scores(gold, predicted)
        if tokens is not None and training_entities is not None:
            metrics["entities"].update(
                seen_unseen_entity_scores(tokens, gold, predicted, training_entities))
    return metrics


def entity_spans(tags):
    """(type, first, last) of each entity in one sentence's tags, ``last`` inclusive (seqeval's
    chunking, the one ``entity_scores`` counts with)."""
    from seqeval.metrics.sequence_labeling import get_entities

    with _seqeval_quiet():
        return get_entities(_chunk_tags(tags))


def _chunk_tags(tags):
    """``tags`` as conlleval chunks them, for seqeval: conlleval gives a tag of several
    characters with no ``X-`` prefix (``LOC`` of an IO corpus, unknown to a BIO model) no type
    and no entity, where seqeval would read it as an entity of type ``OC``."""
    return [tag if len(tag) == 1 or "-" in tag else "O" for tag in tags]


@contextlib.contextmanager
def _seqeval_quiet():
    """seqeval warns on stderr for each tag it takes for no entity tag (the caller has named
    the tags the model lacks), NumPy for seqeval's macro averages over no entity type (which
    are dropped): noise beside the report."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def entity_surface_hash(tokens):
    """uint32 key of an entity's surface: its tokens joined by spaces, lower-cased (crc32)."""
    return stable_hash(" ".join(tokens).lower())


def training_entity_hashes(sentences):
    """Sorted unique uint32 surface hashes of the gold entities in ``sentences`` (Sentence
    objects with BIO tags): the model's ``training_entities.npy``."""
    hashes = [entity_surface_hash(sentence.tokens[first:last + 1])
              for sentence in sentences for _, first, last in entity_spans(sentence.tags)]
    return np.unique(np.array(hashes, dtype=np.uint32))


def seen_unseen_entity_scores(tokens, gold, predicted, training_entities):
    """{"seen": {P, R, F1, support, predicted}, "unseen": {...}}: entity micro scores split by
    whether each entity's surface occurred as an entity in training (module docstring)."""
    known = np.asarray(training_entities, dtype=np.uint32)
    counts = {"seen": [0, 0, 0], "unseen": [0, 0, 0]}  # right, predicted, gold

    def side(sentence_tokens, first, last):
        key = entity_surface_hash(sentence_tokens[first:last + 1])
        index = min(int(np.searchsorted(known, key)), len(known) - 1)
        return "seen" if len(known) and known[index] == key else "unseen"

    for sentence_tokens, gold_tags, predicted_tags in zip(tokens, gold, predicted):
        gold_spans = set(entity_spans(gold_tags))
        for _, first, last in gold_spans:
            counts[side(sentence_tokens, first, last)][2] += 1
        for span in set(entity_spans(predicted_tags)):
            name = side(sentence_tokens, span[1], span[2])
            counts[name][1] += 1
            counts[name][0] += span in gold_spans
    return {name: {**_prf(right, predicted_count, gold_count), "support": gold_count,
                   "predicted": predicted_count}
            for name, (right, predicted_count, gold_count) in counts.items()}


def entity_scores(gold, predicted):
    """Entity-level micro P/R/F1 and per-type scores (seqeval default mode = conlleval)."""
    from seqeval.metrics import classification_report

    gold = [_chunk_tags(sentence) for sentence in gold]
    predicted = [_chunk_tags(sentence) for sentence in predicted]
    with _seqeval_quiet():
        report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    micro = report.pop("micro avg")
    for key in ("macro avg", "weighted avg"):
        report.pop(key, None)
    return {"precision": float(micro["precision"]), "recall": float(micro["recall"]),
            "f1": float(micro["f1-score"]), "support": int(micro["support"]),
            "per_type": {kind: {"precision": float(s["precision"]), "recall": float(s["recall"]),
                                "f1": float(s["f1-score"]), "support": int(s["support"])}
                         for kind, s in sorted(report.items())}}


def threshold_scores(gold, positive_probs, positive_label, thresholds):
    """The positive label's token P/R/F1 at each of ``thresholds``: the labels a binary tagger
    gives with that ``decoding.threshold`` (a token is positive where its probability is at
    least the threshold, ``batch_decoding``'s rule), from one run of the network.

    ``gold``: one tag list per sentence; ``positive_probs``: one array per sentence
    (``tag_corpus``). A list of {threshold, precision, recall, f1, flagged}, in the order of
    ``thresholds``; ``flagged`` is the count of tokens tagged positive.
    """
    is_positive = np.array([tag == positive_label for sentence in gold for tag in sentence],
                           dtype=bool)
    probs = (np.concatenate([np.asarray(p) for p in positive_probs]) if positive_probs
             else np.zeros(0, np.float32))
    rows = []
    for threshold in thresholds:
        flagged = probs >= threshold
        rows.append({"threshold": threshold,
                     **_prf(int((flagged & is_positive).sum()), int(flagged.sum()),
                            int(is_positive.sum())),
                     "flagged": int(flagged.sum())})
    return rows


def primary_metric(metrics):
    """(name, value) of the number early stopping and reports lead with."""
    if "positive" in metrics:
        return "positive_f1", metrics["positive"]["f1"]
    if "entities" in metrics:
        return "entity_f1", metrics["entities"]["f1"]
    return "accuracy", metrics["accuracy"]


def primary_metric_name(head, is_bio):
    if head == "sigmoid":
        return "positive_f1"
    return "entity_f1" if is_bio else "accuracy"


def evaluate_corpus(runner, corpus, store, batch_tokens=4096, group_of=None, thresholds=None):
    """Tag ``corpus`` and score it against its gold tags; ``group_of(sentence)`` names the
    group each sentence is also scored in. ``thresholds`` (a binary tagger's): the positive
    label's scores at each of them too (``threshold_scores``), as ``"thresholds"``."""
    spec = runner.spec
    if thresholds and spec.head != "sigmoid":
        raise ValueError(f"thresholds apply to a sigmoid head, not a {spec.head} one")
    positive_probs = [None] * len(corpus) if thresholds else None
    predicted = tag_corpus(runner, corpus, store, batch_tokens, positive_probs)
    gold = [sentence.tags for sentence in corpus.sentences]
    seen = None
    if spec.training_forms is not None:
        seen = [spec.seen_in_training(sentence.tokens) for sentence in corpus.sentences]
    positive_label = spec.labels[1] if spec.head == "sigmoid" else None
    metrics = score_tags(gold, predicted, [rows >= 0 for rows in corpus.rows],
                         is_bio=spec.is_bio, positive_label=positive_label, seen=seen,
                         groups=None if group_of is None else [group_of(s)
                                                               for s in corpus.sentences],
                         tokens=[sentence.tokens for sentence in corpus.sentences],
                         training_entities=spec.training_entities)
    if positive_label is not None:
        metrics["positive"]["threshold"] = spec.decoding.get("threshold", 0.5)
    if thresholds:
        metrics["thresholds"] = threshold_scores(gold, positive_probs, positive_label,
                                                 thresholds)
    return metrics
