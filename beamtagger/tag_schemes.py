"""Entity tags written in IOB1 (or IO), read as the BIO tags the model trains, decodes and scores.

BIO (IOB2) begins every entity with ``B-``. IOB1, the scheme of the original CoNLL-2003 release
and of corpora converted from it, begins an entity with ``I-`` and writes ``B-`` only for an
entity that directly follows another of its type; IO never writes ``B-``. The model's Viterbi
decoding forbids ``I-X`` after ``O`` (``viterbi.bio_transitions``), so a model trained on IOB1
tags with the few ``B-`` of adjacent entities was taken for BIO and could not tag the start
of nearly any entity: a WNUT-17 training corpus written as IOB1 holds 16 ``B-`` tags beside
1,959 entities beginning with ``I-``. Both schemes name the same entities as BIO does (conlleval
and seqeval's default mode chunk them alike), so they are rewritten to BIO as they are read,
losslessly (WNUT-17 train and dev, written as IOB1 and read back, are their BIO files again).
"""
import dataclasses
from typing import Iterable, Sequence, Tuple

_PREFIXES = ("B-", "I-")


def _begins_entity(tag, previous):
    """Whether an ``I-X`` ``tag`` after ``previous`` begins an entity, as conlleval reads it:
    at a sentence's start, after ``O`` or after a tag of another type."""
    return tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:])


def entity_starts(sentences) -> Tuple[int, int]:
    """(entities begun by ``I-``, all entities) of a corpus whose every tag is ``O``, ``B-X``
    or ``I-X``; (0, 0) for any other tag set (UPOS, BIOES, malformed tags), left as it is.

    An ``I-X`` begins an entity at a sentence's start, after ``O`` or after a tag of another
    type, as conlleval reads it."""
    opened_by_i = total = 0
    for sentence in sentences:
        previous = "O"
        for tag in sentence.tags:
            if tag != "O" and (tag[:2] not in _PREFIXES or len(tag) <= 2):
                return 0, 0
            if tag.startswith("B-"):
                total += 1
            elif _begins_entity(tag, previous):
                opened_by_i += 1
                total += 1
            previous = tag
    return opened_by_i, total


def reads_as_iob1(opened_by_i, total) -> bool:
    """True where most entities (``entity_starts``' counts) begin with ``I-``: IOB1 or IO. A
    BIO corpus with a few slips of annotation (an ``I-`` after ``O``; WNUT-17 has none) stays
    BIO: rewriting every entity of it for them would hide the slips, which the scores then
    show."""
    return opened_by_i * 2 > total


def to_bio(tags: Sequence[str]) -> Tuple[str, ...]:
    """One sentence's IOB1 or IO tags as BIO: an ``I-X`` that begins an entity becomes
    ``B-X``; a ``B-X`` (IOB1's entity right after another of type X) stays."""
    bio, previous = [], "O"
    for tag in tags:
        if _begins_entity(tag, previous):
            bio.append("B-" + tag[2:])
        else:
            bio.append(tag)
        previous = tag
    return tuple(bio)


def as_bio(sentences: Iterable) -> list:
    """The sentences (``corpus_readers.Sentence``) with their tags rewritten by ``to_bio``."""
    return [dataclasses.replace(sentence, tags=to_bio(sentence.tags)) for sentence in sentences]
