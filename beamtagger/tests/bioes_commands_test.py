"""``train`` and ``evaluate`` read a BIOES (or BILOU) corpus as its BIO twin: the same tags
trained on, the same entity scores; ``--aux-column`` too, naming its column. A model trained
before, whose labels are the BIOES tags themselves, is scored on them as written, and a training
state saved when they were read as written is refused saying why."""
import argparse
import json
import types

import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline.train_command import read_auxiliary
from beamtagger.tests.conftest import refusal_of_a_state_read_as_written
from beamtagger.tests.review28b_iob1_test import corpus, run

pytest.importorskip("tensorflow")

BIOES_TRAIN = ("paris\tS-loc\nwent\tO\nhome\tO\n\n"
               "beam\tB-per\ntags\tI-per\ntext\tE-per\nin\tO\nparis\tS-loc\n")
BIO_TRAIN = ("paris\tB-loc\nwent\tO\nhome\tO\n\n"
             "beam\tB-per\ntags\tI-per\ntext\tI-per\nin\tO\nparis\tB-loc\n")
BILOU_DEV = "the\tO\ncat\tU-per\nsat\tO\nin\tO\nparis\tB-loc\nhome\tL-loc\n"
BIO_DEV = "the\tO\ncat\tB-per\nsat\tO\nin\tO\nparis\tB-loc\nhome\tI-loc\n"


def test_train_reads_bioes_and_bilou_corpora_as_their_bio_twins(tiny_tagger, tmp_path, capsys,
                                                               monkeypatch):
    # Before: trained on S-loc, E-per, U-per and L-loc as plain tags, the 'tags' preset.
    from beamtagger.model import training

    given = []

    def train_tagger(train, dev, store, config, **kwargs):
        given.append(([s.tags for s in train], [s.tags for s in dev], config))
        raise BeamtaggerError("stopped before training")

    monkeypatch.setattr(training, "train_tagger", train_tagger)
    errors = []
    for train, dev in [(BIOES_TRAIN, BILOU_DEV), (BIO_TRAIN, BIO_DEV)]:
        folder = tmp_path / str(len(errors))
        folder.mkdir()
        code, out, err = run(capsys, "train", "--train", corpus(folder, "train.conll", train),
                             "--dev", corpus(folder, "dev.conll", dev), "--embeddings",
                             tiny_tagger.store_path, "--out", str(folder / "m"))
        assert code == 2 and "stopped before training" in err, err
        assert "preset 'entity' (BIO tag set detected)" in out, out
        errors.append(err)
    (bioes_read, bio_read) = given
    assert bioes_read == bio_read
    notes = [line for line in errors[0].splitlines() if line.startswith("note:")]
    assert [note.split(": ")[1] for note in notes] == [
        f"training corpus {tmp_path / '0' / 'train.conll'}", f"dev corpus {tmp_path / '0' / 'dev.conll'}"]
    assert "written as BIOES (or IOBES) tags" in notes[0] and "written as BILOU" in notes[1]
    assert "note:" not in errors[1]


def test_evaluate_scores_a_bioes_file_as_its_bio_twin(entity_tagger, tmp_path, capsys):
    # Before: S-per and E-loc unknown to the model's BIO labels, other scores.
    scores = []
    for name, text in [("gold.bioes", "cat\tS-per\nsat\tO\nparis\tB-loc\nhome\tE-loc\n"
                                      "the\tO\ndog\tS-per\n"),
                       ("gold.bio", "cat\tB-per\nsat\tO\nparis\tB-loc\nhome\tI-loc\n"
                                    "the\tO\ndog\tB-per\n")]:
        code, out, err = run(capsys, "evaluate", "--model", str(entity_tagger.model_dir),
                             "--embeddings", entity_tagger.store_path, "--format", "conll",
                             "--data", corpus(tmp_path, name, text), "--json")
        assert code == 0, err
        metrics = json.loads(out)
        del metrics["data"]
        scores.append(metrics)
    assert scores[0] == scores[1]
    assert scores[0]["unknown_tags"] == {} and scores[0]["entities"]["support"] == 3


def test_a_model_whose_labels_are_bioes_tags_is_scored_on_them_as_written(entity_tagger,
                                                                          tmp_path, capsys):
    # A model trained before BIOES was read as BIO. Read as BIO, the gold's S-per were B-per,
    # scored against the model's own S-per.
    from beamtagger.testing import build_tiny_tagger

    old = build_tiny_tagger(tmp_path / "old", store_path=entity_tagger.store_path,
                            labels=("O", "B-per", "I-per", "E-per", "S-per"))
    data = corpus(tmp_path, "gold.conll", "cat\tS-per\nsat\tO\nbeam\tB-per\ntags\tE-per\n")
    code, out, err = run(capsys, "evaluate", "--model", str(old.model_dir), "--embeddings",
                         entity_tagger.store_path, "--data", data, "--json")
    assert code == 0, err
    per_label = json.loads(out)["per_label"]
    assert (per_label["S-per"]["support"], per_label["E-per"]["support"]) == (1, 1)
    assert "read as BIO" not in err


def test_the_aux_column_s_bioes_tags_are_read_as_bio_naming_the_column(tmp_path, capsys):
    path = tmp_path / "train.conllu"
    path.write_text("1\tAnna\tanna\tPROPN\tS-PER\t_\t2\tnsubj\t_\t_\n"
                    "2\tmet\tmeet\tVERB\tO\t_\t0\troot\t_\t_\n"
                    "3\tBob\tbob\tPROPN\tB-PER\t_\t2\tobj\t_\t_\n"
                    "4\tLee\tlee\tPROPN\tE-PER\t_\t3\tflat\t_\t_\n\n", encoding="utf-8")
    args = argparse.Namespace(aux_column="xpos", tag_column="upos", binary_label=None,
                              train=[str(path)])
    read_as_bio = []
    sentences = read_auxiliary(args, [types.SimpleNamespace(format="conllu")], 10,
                               read_as_bio=read_as_bio)
    assert [sentence.tags for sentence in sentences] == [("B-PER", "O", "B-PER", "I-PER")]
    (note,) = capsys.readouterr().err.strip().splitlines()
    assert note.startswith(f"note: --aux-column xpos: training corpus {path}: its 2 entities "
                           "are written as BIOES (or IOBES) tags"), note
    # The column trains the auxiliary task only: the model neither tags nor is scored on it.
    assert note.endswith("read as BIO, each entity's first token B- and the rest I-, the tags "
                         "the auxiliary task learns"), note
    assert read_as_bio == [("BIOES (or IOBES)", f"{path} (--aux-column xpos)")]


def test_a_state_saved_when_bioes_was_read_as_written_is_refused_saying_so(
        tiny_tagger, tmp_path, capsys, monkeypatch):
    train = corpus(tmp_path, "train.conll", BIOES_TRAIN)
    dev = corpus(tmp_path, "dev.conll", BILOU_DEV)
    # --preset entity: the state's own run, read as written, would choose 'tags' otherwise,
    # and the refusal would name the options first.
    command = ["train", "--train", train, "--dev", dev, "--embeddings",
               tiny_tagger.store_path, "--out", str(tmp_path / "m"), "--preset", "entity"]
    code, refusal = refusal_of_a_state_read_as_written(monkeypatch, capsys, command,
                                                       tmp_path / "m")
    assert code == 2 and refusal.startswith("beamtagger train: error: the training state in ")
    assert (f"; this beamtagger reads the BIOES (or IOBES) tags of {train} and the BILOU tags "
            f"of {dev} as BIO, which one before 2026-12-07 read as written, so a state saved "
            "then from the same files is another training's; add --restart to discard it and "
            "start over, or, for a state saved since, rerun the command") in refusal
