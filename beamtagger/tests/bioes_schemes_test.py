"""BIOES (IOBES) and BILOU entity tags are read as the BIO tags the model decodes and scores
(tag_schemes), naming the same entities: seqeval's default mode (conlleval's reading) on the
file's own tags, spaCy's BILUO for BILOU."""
import random

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from beamtagger import tag_schemes
from beamtagger.corpus_readers import Sentence
from beamtagger.pipeline.common import read_sentences


def _sentences(*tag_rows):
    return [Sentence(sent_id=f"s:{line}", tokens=("w",) * len(tags), tags=tuple(tags),
                     source="s", line=line) for line, tags in enumerate(tag_rows, 1)]


def _read(tmp_path, rows):
    path = tmp_path / "corpus.conll"
    path.write_text("".join("".join(f"w\t{tag}\n" for tag in tags) + "\n" for tags in rows),
                    encoding="utf-8")
    warned = []
    sentences = read_sentences(str(path), "conll", None, "training", warn=warned.append)
    return [sentence.tags for sentence in sentences], warned


@pytest.mark.parametrize("written, bio", [
    # As the schemes write them.
    ("S-X O B-X I-X E-X", "B-X O B-X I-X I-X"),
    ("U-X O B-X I-X L-X", "B-X O B-X I-X I-X"),
    ("B-X E-X S-X S-X B-Y E-Y", "B-X I-X B-X B-X B-Y I-Y"),
    # Written otherwise: conlleval's reading. An I- after E- of its entity begins another one.
    ("B-X E-X I-X E-X", "B-X I-X B-X I-X"),
    ("O L-X", "O B-X"),              # a stray last tag after O: a one-token entity
    ("E-X O", "B-X O"),
    ("S-X I-X", "B-X B-X"),
    ("B-X S-X", "B-X B-X"),          # B- not closed by E-: a one-token entity, then another
    ("I-X I-X E-X O", "B-X I-X I-X O"),
    ("B-X I-Y E-Y", "B-X B-Y I-Y"),  # a change of type begins an entity
    ("U-X S-X L-X E-X", "B-X B-X B-X B-X"),  # both schemes in one sentence: read alike
])
def test_each_sequence_reads_as_the_bio_of_conllevals_entities(written, bio):
    assert tag_schemes.to_bio(written.split()) == tuple(bio.split())


def test_random_bioes_sequences_keep_seqevals_entities_and_bilou_keeps_spacys():
    from spacy.training import iob_to_biluo

    rng = random.Random(5)
    tags = ["O"] + [f"{prefix}-{kind}" for prefix in "BIES" for kind in "XY"]
    for _ in range(500):
        written = [rng.choice(tags) for _ in range(rng.randint(1, 8))]
        bio = list(tag_schemes.to_bio(written))
        assert get_entities(bio) == get_entities(written), written
        # The same sequence in BILOU letters reads as the same BIO.
        bilou = [{"S": "U", "E": "L"}.get(tag[0], tag[0]) + tag[1:] for tag in written]
        assert list(tag_schemes.to_bio(bilou)) == bio
        # BILOU as spaCy writes it from that BIO reads back as that BIO.
        assert list(tag_schemes.to_bio(iob_to_biluo(bio))) == bio


@pytest.mark.parametrize("rows, scheme", [
    # (name, entities, those the scheme does not write)
    ([["S-X", "O", "B-X", "E-X"]], ("BIOES (or IOBES)", 2, 0)),
    ([["U-X", "O"], ["B-Y", "L-Y"]], ("BILOU", 2, 0)),
    ([["S-X", "E-X", "I-X"], ["O", "L-X"]], ("BIOES and BILOU", 4, 3)),
    # One E- makes an IOB1-like or BIO corpus a BIOES one (IOE too): read by the same rule.
    ([["I-X", "E-X", "B-X", "I-X"]], ("BIOES (or IOBES)", 2, 2)),
    ([["B-X", "I-X", "O", "I-X"], ["B-X", "O"]], None),   # BIO with a slip: as written
    ([["S-X", "O", "B-"]], None),                          # a malformed tag: as written
    ([["S-X", "NOUN"]], None),
])
def test_the_scheme_is_told_by_the_prefixes_a_corpus_holds(rows, scheme):
    found = tag_schemes.entity_scheme(_sentences(*rows))
    assert (found and (found.name, found.entities, found.irregular)) == scheme


def test_a_bioes_corpus_is_read_as_bio_saying_so_once_with_counts(tmp_path):
    tags, warned = _read(tmp_path, [["S-PER", "O", "B-LOC", "I-LOC", "E-LOC"],
                                    ["B-ORG", "E-ORG", "I-ORG", "O", "E-PER"]])
    assert tags == [("B-PER", "O", "B-LOC", "I-LOC", "I-LOC"),
                    ("B-ORG", "I-ORG", "B-ORG", "O", "B-PER")]
    assert warned == [f"note: training corpus {tmp_path / 'corpus.conll'}: its 5 entities are "
                      "written as BIOES (or IOBES) tags (S- a one-token entity, E- an entity's "
                      "last token); 2 of them as BIOES (or IOBES) does not write them (begun by "
                      "I- or E-, or ending in B- or I-), read as conlleval reads them: read as "
                      "BIO, each entity's first token B- and the rest I-, the tags the model "
                      "learns, tags and is scored on"]


def test_a_bilou_corpus_is_read_as_bio_saying_so_once(tmp_path):
    tags, warned = _read(tmp_path, [["U-PER", "O", "B-LOC", "L-LOC"]])
    assert tags == [("B-PER", "O", "B-LOC", "I-LOC")]
    assert warned == [f"note: training corpus {tmp_path / 'corpus.conll'}: its 2 entities are "
                      "written as BILOU tags (U- a one-token entity, L- an entity's last token): "
                      "read as BIO, each entity's first token B- and the rest I-, the tags the "
                      "model learns, tags and is scored on"]
