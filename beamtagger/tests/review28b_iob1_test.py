"""IOB1 and IO tags read as BIO (tag_schemes, 2026-12-07) where a flag tagger or a training
state of an earlier run meets them.

A flag tagger's ``--binary-label`` patterns are matched against the tags as its files write
them: its sigmoid head has no entity decoding for BIO to serve, and 'I-*' of an IO corpus
(every entity token) had come to mean every token but an entity's first, in ``train`` and in
``evaluate`` alike. A training state saved before the change from an IOB1 corpus is another
training's (its epochs learnt the tags as written), and its refusal said only that the corpus
differs and to rerun the command that wrote it, which the user had just done (and which,
rerun, was refused again: --restart comes first now)."""
import json

import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline import cli
from beamtagger.tests.conftest import refusal_of_a_state_read_as_written

pytest.importorskip("tensorflow")

# IO: no B-, every entity token I-.
IO_TRAIN = "paris\tI-LOC\nwent\tO\nhome\tO\n\nbeam\tI-ORG\ntags\tI-ORG\ntext\tO\n"
IO_DEV = "the\tO\ncat\tO\nsat\tO\nin\tO\nparis\tI-LOC\n"
# IOB1, as CoNLL-2003 writes it: B- only for an entity right after one of its type. Its B-
# made it BIO to the preset before as now, so only the corpora differ for a state.
IOB1_TRAIN = "paris\tI-LOC\nwent\tO\nhome\tO\n\nbeam\tI-ORG\ntags\tI-ORG\ntext\tB-ORG\n"


def corpus(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def stop_before_training(monkeypatch, given):
    from beamtagger.model import training

    def train_tagger(train, dev, store, config, **kwargs):
        given.update(train=train, dev=dev, store=store, config=config, **kwargs)
        raise BeamtaggerError("stopped before training")

    monkeypatch.setattr(training, "train_tagger", train_tagger)


def test_a_flag_taggers_patterns_match_the_tags_as_its_corpora_write_them(
        tiny_tagger, tmp_path, capsys, monkeypatch):
    # Before: train ('B-LOC', 'O', 'O') and ('B-ORG', 'I-ORG', 'O'), a note on stderr; the
    # flag tagger then learnt 'beam' as no.
    given = {}
    stop_before_training(monkeypatch, given)
    train, dev = corpus(tmp_path, "train.conll", IO_TRAIN), corpus(tmp_path, "dev.conll", IO_DEV)
    code, _, err = run(capsys, "train", "--train", train, "--dev", dev, "--binary-label", "I-*",
                       "--embeddings", tiny_tagger.store_path, "--out", str(tmp_path / "m"))
    assert code == 2 and "stopped before training" in err and "read as BIO" not in err, err
    assert [s.tags for s in given["train"]] == [("I-LOC", "O", "O"), ("I-ORG", "I-ORG", "O")]
    assert [s.tags for s in given["dev"]] == [("O", "O", "O", "O", "I-LOC")]


def test_evaluate_maps_a_flag_taggers_gold_from_the_tags_as_written(tiny_tagger, tmp_path,
                                                                    capsys):
    # A flag tagger of 'I-*' alone, as train --binary-label 'I-*' writes one. Before: 'yes'
    # support 1 ('cat'; 'the' and 'dog' read as B-PER, so 'no').
    from beamtagger.testing import build_tiny_tagger

    flag = build_tiny_tagger(tmp_path / "flag", store_path=tiny_tagger.store_path,
                             binary_label=("I-*",))
    data = corpus(tmp_path, "gold.conll", "the\tI-PER\ncat\tI-PER\nsat\tO\ndog\tI-PER\n")
    code, out, err = run(capsys, "evaluate", "--model", str(flag.model_dir), "--embeddings",
                         tiny_tagger.store_path, "--data", data, "--json")
    assert code == 0, err
    assert json.loads(out)["per_label"]["yes"]["support"] == 3
    assert "read as BIO" not in err


def test_a_state_saved_when_iob1_was_read_as_written_is_refused_saying_so(
        tiny_tagger, tmp_path, capsys, monkeypatch):
    train = corpus(tmp_path, "train.conll", IOB1_TRAIN)
    dev = corpus(tmp_path, "dev.conll", IO_DEV)
    command = ["train", "--train", train, "--dev", dev, "--embeddings",
               tiny_tagger.store_path, "--out", str(tmp_path / "m")]
    code, refusal = refusal_of_a_state_read_as_written(monkeypatch, capsys, command,
                                                       tmp_path / "m")
    assert code == 2 and refusal.startswith("beamtagger train: error: the training state in ")
    assert (f"is another training's: it differs in the training corpus (--train, --limit), the dev corpus (--dev, "
            f"--dev-sentences); this beamtagger reads the IOB1 (or IO) tags of {train}, {dev} "
            "as BIO, which one before 2026-12-07 read as written, so a state saved then from "
            "the same files is another training's; add --restart to discard it and "
            "start over, or, for a state saved since, rerun the command") in refusal
