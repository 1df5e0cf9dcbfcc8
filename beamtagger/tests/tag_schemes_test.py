"""IOB1 and IO entity tags are read as the BIO tags the model decodes (tag_schemes)."""
import numpy as np

from beamtagger.model import viterbi
from beamtagger.model.evaluation import entity_scores
from beamtagger.pipeline.common import read_sentences

# IOB1 as the original CoNLL-2003 release writes it: an entity begins with I-, B- only where
# it follows one of its own type; one at a sentence's start and a change of type too.
IOB1 = """\
Ann\tI-PER
met\tO
Bob\tI-PER
Smith\tI-PER
Carl\tB-PER
in\tO
New\tI-LOC
York\tI-LOC

Paris\tI-LOC
Hilton\tI-ORG
spoke\tO
"""
BIO = [("B-PER", "O", "B-PER", "I-PER", "B-PER", "O", "B-LOC", "I-LOC"),
       ("B-LOC", "B-ORG", "O")]


def _read(tmp_path, text, name="corpus.conll"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    warned = []
    return read_sentences(str(path), "conll", None, "training", warn=warned.append), warned


def test_iob1_tags_are_read_as_the_bio_tags_the_model_decodes_and_scores(tmp_path):
    sentences, warned = _read(tmp_path, IOB1)
    assert [sentence.tags for sentence in sentences] == BIO
    assert warned == [f"note: training corpus {tmp_path / 'corpus.conll'}: 5 of its 6 entities "
                      "begin with I-, as IOB1 (or IO) tags write them: read as BIO, each "
                      "entity's first token B-, the tags the model learns, tags and is scored on"]
    # A network that gives each tag read 0.9 decodes back to the file's own entities under
    # the Viterbi constraints a BIO label set gets: read as they were written, I- after O was
    # forbidden there, and WNUT-17 dev so written decoded to entity F1 0.23 (commit message).
    labels = sorted({tag for sentence in sentences for tag in sentence.tags})
    assert viterbi.is_bio_label_set(labels)
    start, allowed = viterbi.bio_transitions(labels)
    decoded = []
    for sentence in sentences:
        probs = np.full((len(sentence.tags), len(labels)), 0.1 / (len(labels) - 1))
        probs[np.arange(len(sentence.tags)), [labels.index(t) for t in sentence.tags]] = 0.9
        decoded.append([labels[i] for i in viterbi.viterbi_decode(probs, start, allowed)])
    written = [line.split("\t")[1] for line in IOB1.splitlines() if line]
    gold = [written[:8], written[8:]]
    scores = entity_scores(gold, decoded)
    assert (scores["f1"], scores["support"]) == (1.0, 6)


def test_io_tags_without_any_b_are_read_as_bio(tmp_path):
    sentences, warned = _read(tmp_path, "Ann\tI-PER\nBob\tI-PER\nmet\tO\nCarl\tI-PER\n")
    assert sentences[0].tags == ("B-PER", "I-PER", "O", "B-PER")
    assert len(warned) == 1


def test_bio_with_a_slip_malformed_and_plain_tags_are_read_as_written(tmp_path):
    # BIO with one I- after O (an annotator's slip) stays: its score shows the slip. BIOES is
    # read as BIO since 2026-12-07 (bioes_reading_test).
    corpora = ["Ann\tB-PER\nmet\tO\nBob\tB-PER\nand\tO\nSmith\tI-PER\n",
               "Ann\tI-PER\nmet\tO\nBob\tB-\n",
               "Ann\tS-PER\nmet\tO\nBob\tb-PER\n",
               "Ann\tPROPN\nmet\tVERB\n"]
    for text in corpora:
        sentences, warned = _read(tmp_path, text)
        written = tuple(line.split("\t")[1] for line in text.splitlines())
        assert (sentences[0].tags, warned) == (written, []), text
