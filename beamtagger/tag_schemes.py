"""Entity tags written in IOB1, IO, BIOES (IOBES) or BILOU, read as the BIO tags the model
trains, decodes and scores.

BIO (IOB2) begins every entity with ``B-``. IOB1, the scheme of the original CoNLL-2003 release
and of corpora converted from it, begins an entity with ``I-`` and writes ``B-`` only for an
entity that directly follows another of its type; IO never writes ``B-``. The model's Viterbi
decoding forbids ``I-X`` after ``O`` (``viterbi.bio_transitions``), so a model trained on IOB1
tags with the few ``B-`` of adjacent entities was taken for BIO and could not tag the start
of nearly any entity: a WNUT-17 training corpus written as IOB1 holds 16 ``B-`` tags beside
1,959 entities beginning with ``I-``. Both schemes name the same entities as BIO does (conlleval
and seqeval's default mode chunk them alike), so they are rewritten to BIO as they are read,
losslessly (WNUT-17 train and dev, written as IOB1 and read back, are their BIO files again).

BIOES (or IOBES: ``S-X`` a one-token entity, ``E-X`` an entity's last token) and BILOU (``U-X``
and ``L-X`` for the same), the schemes flair trains and spaCy converts, trained as plain tags:
no Viterbi constraints, no entity scores, no ``entities`` in ``tag``'s output. A corpus holding
any ``S-``, ``E-``, ``U-`` or ``L-`` tag (and only O and prefixed tags) is rewritten to BIO too,
losslessly: WNUT-17 train and dev written as BIOES or as BILOU read back as their BIO files.

Which entities a sequence names is conlleval's reading, which seqeval's default mode copies
(its ``start_of_chunk``): an ``I-X`` or ``E-X`` begins an entity at a sentence's start, after
``O``, after a tag of another type and after ``E-X`` or ``S-X``; ``B-X`` and ``S-X`` always
begin one. So sequences a scheme does not write are read by that rule, not by accident:
``E-X I-X`` is two entities, ``O E-X`` a one-token entity, ``B-X O`` a one-token entity.
conlleval and seqeval's default mode do not know ``U-`` and ``L-``; they are read as ``S-`` and
``E-`` (the same entities, as spaCy's BILUO defines them), in a file that mixes both schemes too.
"""
import collections
import dataclasses
from typing import Iterable, List, Optional, Sequence, Tuple

# BILOU's unit and last tags are BIOES's single and end tags.
_AS_BIOES = {"U": "S", "L": "E"}
_LETTERS = frozenset("BIESLU")

_IOB1 = "IOB1 (or IO)"
# The schemes that mark an entity's end, by name: (their one-token entity's prefix, their last
# token's, the prefixes they never begin an entity with), as the note names them: looked up, not
# defaulted, so a name entity_scheme gives and this table lacks fails loudly where a default had
# described it as a file mixing both schemes.
_END_MARKING = {"BIOES (or IOBES)": ("S-", "E-", "I- or E-"),
                "BILOU": ("U-", "L-", "I- or L-"),
                "BIOES and BILOU": ("S- and U-", "E- and L-", "I-, E- or L-")}


def _read(tag) -> Tuple[str, str]:
    """(BIOES letter, type) of an ``O`` or prefixed tag; ``("", "")`` for any other tag."""
    if tag == "O":
        return "O", ""
    if len(tag) <= 2 or tag[1] != "-" or tag[0] not in _LETTERS:
        return "", ""
    return _AS_BIOES.get(tag[0], tag[0]), tag[2:]


def _begins(letter, kind, previous_letter, previous_kind) -> bool:
    """Whether a tag begins an entity after the previous one: conlleval's startOfChunk (and
    seqeval's ``start_of_chunk``) for B, I, E, S and O."""
    if letter == "O":
        return False
    return letter in "BS" or previous_letter in "OES" or kind != previous_kind


@dataclasses.dataclass(frozen=True)
class EntityScheme:
    """A corpus's entity tags where they are read as BIO: which scheme, and its counts.

    ``name``: ``"IOB1 (or IO)"``, ``"BIOES (or IOBES)"``, ``"BILOU"`` or ``"BIOES and BILOU"``.
    ``entities``: all its entities, as conlleval reads them; ``opened_by_i``: those begun by
    ``I-`` (IOB1's); ``irregular``: for BIOES and BILOU, those the scheme does not write
    (begun by ``I-``, ``E-`` or ``L-``, or ended by ``B-`` or ``I-``)."""
    name: str
    entities: int
    opened_by_i: int = 0
    irregular: int = 0

    def describe(self) -> str:
        """What the corpus holds and how it is read, for the note ``read_sentences`` says."""
        if self.name == _IOB1:
            return (f"{self.opened_by_i:,} of its {self.entities:,} entities begin with I-, as "
                    f"{_IOB1} tags write them: read as BIO, each entity's first token B-")
        single, last, begun = _END_MARKING[self.name]
        odd = ""
        if self.irregular:
            odd = (f"; {self.irregular:,} of them as {self.name} does not write them (begun "
                   f"by {begun}, or ending in B- or I-), read as conlleval reads them")
        return (f"its {self.entities:,} entities are written as {self.name} tags ({single} a "
                f"one-token entity, {last} an entity's last token){odd}: read as BIO, each "
                "entity's first token B- and the rest I-")


def entity_scheme(sentences) -> Optional[EntityScheme]:
    """The scheme of a corpus to read as BIO; None for BIO, for a BIO corpus with a few slips
    (``reads_as_iob1``) and for any tag set that is not all ``O`` and ``B-X``, ``I-X``,
    ``E-X``, ``S-X``, ``L-X``, ``U-X`` (UPOS, malformed tags): those are read as written."""
    # (first tag's letter, last tag's letter) of each entity, as the file writes them.
    ends = collections.Counter()
    for sentence in sentences:
        previous = ("O", "")
        first = last = None
        for tag in sentence.tags:
            letter, kind = _read(tag)
            if not letter:
                return None
            if _begins(letter, kind, *previous):
                if first is not None:
                    ends[first, last] += 1
                first = last = tag[0]
            elif letter == "O":
                if first is not None:
                    ends[first, last] += 1
                first = None
            else:
                last = tag[0]
            previous = (letter, kind)
        if first is not None:
            ends[first, last] += 1
    entities = sum(ends.values())
    letters = {letter for pair in ends for letter in pair}
    bioes, bilou = bool(letters & {"E", "S"}), bool(letters & {"L", "U"})
    if bioes or bilou:
        name = ("BIOES and BILOU" if bioes and bilou else
                "BIOES (or IOBES)" if bioes else "BILOU")
        irregular = sum(count for (first, last), count in ends.items()
                        if first not in "BSU" or last not in "ELSU")
        return EntityScheme(name, entities, irregular=irregular)
    opened_by_i = sum(count for (first, _), count in ends.items() if first == "I")
    if reads_as_iob1(opened_by_i, entities):
        return EntityScheme(_IOB1, entities, opened_by_i=opened_by_i)
    return None


def reads_as_iob1(opened_by_i, total) -> bool:
    """True where most entities begin with ``I-``: IOB1 or IO. A BIO corpus with a few slips
    of annotation (an ``I-`` after ``O``; WNUT-17 has none) stays BIO: rewriting every entity
    of it for them would hide the slips, which the scores then show."""
    return opened_by_i * 2 > total


def to_bio(tags: Sequence[str]) -> Tuple[str, ...]:
    """One sentence's IOB1, IO, BIOES or BILOU tags as BIO: a tag that begins an entity (as
    conlleval reads it) becomes ``B-X``, any other of the entity ``I-X``."""
    bio: List[str] = []
    previous = ("O", "")
    for tag in tags:
        letter, kind = _read(tag)
        if letter == "O":
            bio.append(tag)
        else:
            bio.append(("B-" if _begins(letter, kind, *previous) else "I-") + kind)
        previous = (letter, kind)
    return tuple(bio)


def as_bio(sentences: Iterable) -> list:
    """The sentences (``corpus_readers.Sentence``) with their tags rewritten by ``to_bio``."""
    return [dataclasses.replace(sentence, tags=to_bio(sentence.tags)) for sentence in sentences]
