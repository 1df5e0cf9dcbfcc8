"""What a new user hit in a first hour with beamtagger (README, then the docs it links), each
held so it does not come back: an error that named no cause, help that named no value, a score
of text the model had trained on reported without a word."""
import json
import pathlib

import pytest

from beamtagger.pipeline import cli


def main_exit(capsys, *argv):
    """(exit code, stderr) of ``beamtagger ARGV``; argparse's refusals give their code too."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def test_an_unquoted_wildcard_is_named_as_the_cause(tmp_path, capsys):
    # `beamtagger tag --input texts/*.txt ...`: the shell gives --input the first file and
    # leaves the others over.
    files = [tmp_path / name for name in ("a.txt", "b.txt", "c.txt")]
    for path in files:
        path.write_text("Beam tags this.\n", encoding="utf-8")
    code, err = main_exit(capsys, "tag", "--input", str(files[0]), str(files[1]), str(files[2]),
                          "--output", str(tmp_path / "out" / "run"))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "unquoted wildcard? Quote the pattern" in err and str(files[1]) in err
    # An argument that is no file keeps the plain refusal.
    code, err = main_exit(capsys, "tag", "--input", str(files[0]), "nothere",
                          "--output", str(tmp_path / "out" / "run"))
    assert code == 2 and "nothere" in err and "wildcard" not in err


WNUT_LIKE = "Paris\tB-location\nis\tO\nnice\tO\n\nMeet\tO\nAnna\tB-person\n\n"
CONLLU = ("# sent_id = s1\n1\tParis\tParis\tPROPN\tNNP\t_\t0\troot\t0:root\t_\n"
          "2\tis\tbe\tAUX\tVBZ\t_\t1\tcop\t1:cop\t_\n\n")


@pytest.mark.parametrize("text, wrong, right", [(WNUT_LIKE, "conllu", "conll"),
                                                 (CONLLU, "conll", "conllu")])
def test_a_corpus_read_as_the_other_format_names_the_format_to_pass(text, wrong, right,
                                                                    tmp_path):
    from beamtagger.errors import BeamtaggerError
    from beamtagger.pipeline.common import read_sentences

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(text, encoding="utf-8")
    with pytest.raises(BeamtaggerError, match=f"is read with --format {right}$"):
        read_sentences(str(corpus), wrong, "upos", "training")
    assert read_sentences(str(corpus), right, "upos", "training")


def test_train_and_evaluate_refuse_two_column_conll_naming_format_conll(tmp_path, capsys):
    # Read as CoNLL-U (--format conllu, the default before --format auto), WNUT-17's
    # two-column files are refused with a line that names --format conll.
    corpus = tmp_path / "wnut.conll"
    corpus.write_text(WNUT_LIKE, encoding="utf-8")
    for argv in (["train", "--train", str(corpus), "--dev", str(corpus), "--format", "conllu",
                  "--out", str(tmp_path / "model")],
                 ["evaluate", "--data", str(corpus), "--format", "conllu"]):
        code, err = main_exit(capsys, *argv)
        assert code == 2 and "Traceback" not in err, err
        assert err.strip().endswith("is read with --format conll"), err
    assert not (tmp_path / "model").exists()


def test_train_help_names_every_default_a_preset_sets():
    import argparse

    from beamtagger.pipeline.train_command import PRESETS, add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    helps = {action.dest: action.help or "" for action in parser._actions}  # noqa: SLF001
    assert "(preset)" not in parser.format_help()
    for dest in PRESETS["entity"]:
        if dest == "entity_drop":   # a sentence of its own names both
            assert "entity preset: 0.3" in helps[dest]
            continue
        assert "--preset" in helps[dest], dest
    assert "entity 192, tags 128" in helps["units"]
    assert "default: 30" in parser.format_help().replace("\n", " ")   # --epochs
    undescribed = [action.dest for action in parser._actions  # noqa: SLF001
                   if not action.help and action.dest != "help"]
    assert undescribed == []


def test_evaluate_warns_where_a_refit_model_is_scored_on_its_own_dev(tmp_path, capsys):
    """README's own lines (train --dev D, then evaluate --data D) scored the refit model, which
    trained on D, with no word of it."""
    pytest.importorskip("tensorflow")
    from beamtagger.testing import TINY_LABELS, build_tiny_tagger

    tiny = build_tiny_tagger(tmp_path / "tiny")
    dev = tmp_path / "dev.conll"
    dev.write_text(f"the\t{TINY_LABELS[0]}\ncat\t{TINY_LABELS[1]}\n\n"
                   f"dogs\t{TINY_LABELS[1]}\nbark\t{TINY_LABELS[3]}\n.\t{TINY_LABELS[2]}\n\n",
                   encoding="utf-8")
    # The counts train writes for its --dev and its refit (train_command_test holds them).
    report = {"dev": {"sentences": 2, "tokens": 5}, "refit": {"epochs": 1}}
    report_file = pathlib.Path(tiny.model_dir) / "training_report.json"
    report_file.write_text(json.dumps(report), encoding="utf-8")
    evaluate = ["evaluate", "--model", str(tiny.model_dir), "--embeddings", str(tiny.store_path),
                "--data", str(dev), "--format", "conll"]
    code, err = main_exit(capsys, *evaluate)
    assert code == 0 and "was refit on train + dev" in err and "2 sentences, 5 tokens" in err
    # Another part of dev (or a model that was not refit) is scored without it.
    code, err = main_exit(capsys, *evaluate, "--sentences", "1:")
    assert code == 0 and "refit" not in err
    report.pop("refit")
    report_file.write_text(json.dumps(report), encoding="utf-8")
    code, err = main_exit(capsys, *evaluate)
    assert code == 0 and "refit" not in err


def test_readme_says_where_the_quick_starts_beamtagger_command_is_before_using_it():
    """`make demo` installs into the Makefile's virtual environment, and every command of
    "Using it" runs `beamtagger`: without the step between, a new user's shell said `command
    not found`."""
    import re

    from beamtagger.tests.conftest import REPO_ROOT

    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    venv = re.search(r"^VENV := (\S+)$", makefile, re.M).group(1)
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    before_using_it = readme[:readme.index("## Using it")]
    assert f"`source {venv}/bin/activate`" in " ".join(before_using_it.split())
    assert f"{venv}/bin/beamtagger" in before_using_it


def test_coverage_of_text_counts_the_tokens_tag_looks_up(tmp_path, capsys):
    """Split on whitespace, "dogs." and "Paris," were out of vocabulary where tag looks up
    "dogs", "." and "Paris", ","."""
    from beamtagger.testing import build_tiny_tagger

    tiny = build_tiny_tagger(tmp_path / "tiny")
    text = tmp_path / "news.txt"
    text.write_bytes("The dogs sat in Paris, yesterday.\r\nThey went home!\r\n".encode())
    code = cli.main(["embeddings", "coverage", str(tiny.store_path), str(text)])
    out = capsys.readouterr().out
    assert code == 0 and "(text, from its content: lines of running text), 2 lines" in out
    assert "tokens: 12, out of vocabulary 0 (0.00%)" in out, out
