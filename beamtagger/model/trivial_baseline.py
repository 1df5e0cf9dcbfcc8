"""Whether a trained tagger does better on dev than one that learned nothing.

The trivial tagger gives every token dev's most common tag (O for an entity tag set, the
negative label for a binary one): it finds no entity (F1 0), and its dev accuracy is that tag's
share of dev's tokens. A model no better than that was saved with its only sign the last line's
score (a walkthrough's ``--epochs 3`` on 600 entity sentences: dev F1 0.0000 in every epoch,
then refit and saved), so ``train`` warns, and the warning is kept in the training report that
``model info`` shows.

Accuracy counts for entity taggers too: the same ``--epochs 3`` on 600 WNUT-17 sentences scored
dev F1 0.0044 at a dev accuracy of 0.9140, below the 0.9143 of tagging every token O, and F1 0
on the held-out part of dev (docs/quality.md, "A first entity tagger on a small corpus").

Not for a binary (flag) tagger, whose trivial taggers are the all-negative one (F1 0) and the
all-positive one (F1 ``2p / (1 + p)``, ``p`` dev's share of positive tokens): its accuracy is
below the all-negative tagger's whenever it flags more tokens wrongly than it finds, which a
useful flag does (a product flag at 97.59% accuracy against 98.58% all-no, F1 0.35, warned).
"""
from collections import Counter

# What the advice quotes: docs/quality.md, "A first entity tagger on a small corpus".
SMALL_CORPUS_FINDINGS = (
    "on 600 WNUT-17 sentences the entity preset scored dev entity F1 below 0.005 in each of its "
    "first 4 epochs, passed 0.10 at epoch 6 and scored best (0.37-0.40) at epoch 14-18, 3 seeds")
# The earliest of those best epochs: a run shorter than that stopped while every measured run
# was still improving, so more epochs is the advice; after it, the data is.
EPOCHS_A_SMALL_CORPUS_NEEDS = 14


def _most_common(dev_tags):
    counts = Counter(tag for tags in dev_tags for tag in tags)
    tag, count = counts.most_common(1)[0]
    return tag, count, sum(counts.values())


def all_positive_f1(positive_share):
    """The positive label's F1 of a tagger that tags every token positive: precision
    ``positive_share``, recall 1."""
    return 2 * positive_share / (1 + positive_share)


def no_better_than_trivial(metric_name, best_score, best_accuracy, dev_tags, epochs_run,
                           positive_label=None):
    """The warning's text (no ``warning:`` prefix) when the best epoch's dev score on
    ``metric_name`` (an F1: ``best_score`` 0) or its dev accuracy ``best_accuracy`` is no better
    than the trivial tagger's; None otherwise. A dev set of one tag (an entity dev without
    entities, a flag dev without a positive) scores every tagger alike: the warning says so
    and asks for another dev set, where more epochs would change nothing.

    ``positive_label`` (a binary tagger's, with ``metric_name`` "positive_f1"): the model is
    compared with the all-positive tagger's F1 on dev instead of the accuracy."""
    tag, count, total = _most_common(dev_tags)
    if count == total:
        return (f"dev cannot tell the saved model from a trivial tagger: every one of its {total} "
                f"token(s) carries {tag!r}, so a tagger that tags every token {tag!r} scores "
                "perfectly on it, and the epoch kept was chosen on it. Try: a dev corpus (--dev) "
                "that carries the tags the model is to find")
    share = count / total
    shown = metric_name.replace("_", " ").replace("f1", "F1")
    if metric_name != "accuracy" and best_score <= 0:
        what = "entity" if metric_name == "entity_f1" else "positive token"
        seen = (f"dev {shown} {best_score:.4f} in every one of the {epochs_run} epoch(s) run: "
                f"the model found no {what} of dev, as a tagger that tags every token {tag!r} "
                "would")
    elif positive_label is not None:
        positive_share = sum(label == positive_label for tags in dev_tags for label in tags) / total
        trivial_f1 = all_positive_f1(positive_share)
        if best_score > trivial_f1:
            return None
        seen = (f"dev {shown} {best_score:.4f} at the best of {epochs_run} epoch(s) is no "
                f"higher than the {trivial_f1:.4f} of a tagger that tags every token "
                f"{positive_label!r} ({positive_share:.2%} of dev's tokens)")
    elif best_accuracy <= share:
        score = f"dev {shown} {best_score:.4f}, " if metric_name != "accuracy" else ""
        seen = (f"{score}dev accuracy {best_accuracy:.4f} at the best of {epochs_run} "
                f"epoch(s) is no higher than the {share:.4f} of a tagger that tags every token "
                f"{tag!r}, dev's most common tag")
    else:
        return None
    if epochs_run < EPOCHS_A_SMALL_CORPUS_NEEDS:
        measured = f": {SMALL_CORPUS_FINDINGS}, so" if metric_name == "entity_f1" else ";"
        advice = (f"train for more epochs{measured} leave --epochs at its default (30; early "
                  "stopping on dev ends the run sooner)")
    else:
        advice = ("check that the training corpus tags what dev tags, the same way, and "
                  "annotate more sentences (docs/training.md, 'A first entity tagger on a small "
                  "corpus')")
    return f"the saved model is no better than a trivial tagger: {seen}. Try: {advice}"
