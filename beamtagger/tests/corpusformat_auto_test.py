"""``--format auto`` of train, evaluate and embeddings coverage: a corpus read as its extension
says, else as its first sentence reads; a file whose content is the other format than its name
says refused before training. Tiny corpora in tmp_path, the tiny tagger, no training."""
import json

import pytest

from beamtagger.corpus_readers import (corpus_format_of_name, first_sentence_lines,
                                       sniff_corpus_format)
from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline import cli
from beamtagger.pipeline.common import choose_corpus_format

TWO_COLUMNS = "The\tDET\ndog\tNOUN\nsat\tVERB\n.\tPUNCT\n\nA\tDET\ncat\tNOUN\n\n"
CONLLU = ("# sent_id = s1\n# text = The dog sat.\n"
          "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n"
          "2\tdog\tdog\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n"
          "3\tsat\tsit\tVERB\tVBD\t_\t0\troot\t_\tSpaceAfter=No\n"
          "4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n\n")


def corpus(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def main(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name, expected", [
    ("dev.conllu", "conllu"), ("dev.conll", "conll"), ("dev.iob", "conll"), ("dev.bio", "conll"),
    ("DEV.CONLL", "conll"), ("dir.conllu/dev", None), ("dev.tsv", None), ("dev.txt", None),
    ("dev", None), ("dev.conll.gz", None)])
def test_the_extensions_that_name_a_format(name, expected):
    assert corpus_format_of_name(name) == expected


@pytest.mark.parametrize("text, text_allowed, expected", [
    (CONLLU, False, "conllu"),
    (TWO_COLUMNS, False, "conll"),
    # CoNLL-2003's layout: space-separated, a -DOCSTART- line first.
    ("-DOCSTART- O\n\nEU B-ORG\nrejects O\n\n", False, "conll"),
    # A token line starting with "#" is a token, not a comment.
    ("#hashtag\tO\nfun\tO\n\n", False, "conll"),
    ("just one column\n", False, "conll"),
    ("word\n", False, None),
    ("\n\n", False, None),
    (CONLLU, True, "conllu"),
    (TWO_COLUMNS, True, "conll"),
    ("Paris\tB-LOC\n", True, "conll"),
    ("The dog sat on the mat.\nIt rained all day.\n", True, "text"),
    ("Chapter One\n\nIt was a dark night.\n", True, "text"),
    ("Hello there\nBye now\n", True, "text"),
    ("EU B-ORG\nrejects O\nGerman B-MISC\n", True, "conll"),
    ("", True, "text"),
], ids=lambda value: value if isinstance(value, (bool, type(None))) or len(value) < 8
    else value[:12])
def test_the_first_sentence_decides_where_the_name_does_not(text, text_allowed, expected,
                                                            tmp_path):
    lines = first_sentence_lines(corpus(tmp_path, "corpus", text))
    assert sniff_corpus_format(lines, text_allowed=text_allowed) == expected


def test_a_file_whose_content_contradicts_its_extension_is_refused_naming_both(tmp_path):
    two = corpus(tmp_path, "wnut.conllu", TWO_COLUMNS)
    with pytest.raises(BeamtaggerError) as refused:
        choose_corpus_format(two, "auto", "training")
    assert str(refused.value) == (
        f"training corpus {two}: its extension says conllu, but its first sentence holds 2 "
        "tab-separated columns at line 1, as conll does: rename it, or give --format conll")
    ten = corpus(tmp_path, "ewt.conll", CONLLU)
    with pytest.raises(BeamtaggerError, match=r"its extension says conll, but its first "
                       r"sentence holds 10 tab-separated columns at line 3, as conllu does: "
                       r"rename it, or give --format conllu$"):
        choose_corpus_format(ten, "auto", "dev")
    # A broken line of the named format is the reader's to report, with its line number.
    broken = corpus(tmp_path, "broken.conllu", CONLLU.replace("\tDET\tDT", "\tDET"))
    assert choose_corpus_format(broken, "auto", "dev").format == "conllu"
    # Given, the format is not checked against the name: read as before --format auto.
    assert choose_corpus_format(two, "conll", "training").chosen_by == "--format"


@pytest.mark.parametrize("name, text, message", [
    ("train.conll.gz", TWO_COLUMNS, "is compressed (.gz), and corpora are read as plain files: "
     "decompress it first"),
    ("train", "\n\n", "holds no sentences (empty file, or only blank lines and comments"),
    ("train", "word\nother\n", "cannot tell its format from its name, its first line or its "
     "first sentence (1 space-separated column at line 1; conllu has 10 tab-separated columns, "
     "conll two or more, spans a JSON object of a text and its spans a line): give --format "
     "conllu, conll or spans"),
    ("missing.conll", None, "does not exist"),
])
def test_train_refuses_what_auto_cannot_read_before_training(name, text, message, tmp_path,
                                                             capsys):
    train = str(tmp_path / name) if text is None else corpus(tmp_path, name, text)
    dev = corpus(tmp_path, "dev.conll", TWO_COLUMNS)
    out = tmp_path / "model"
    code, printed, err = main(capsys, "train", "--train", train, "--dev", dev, "--out", str(out))
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"training corpus {train}" in err and message in err, err
    assert not out.exists() and "Epoch" not in printed


def test_a_contradicting_dev_is_refused_before_the_training_corpus_is_read(tmp_path, capsys):
    # The training corpus is broken too: the dev file's refusal comes first, naming both formats.
    train = corpus(tmp_path, "train.conll", "a\tb\tc\n\n")
    dev = corpus(tmp_path, "dev.conll", CONLLU)
    code, _, err = main(capsys, "train", "--train", train, "--dev", dev,
                        "--out", str(tmp_path / "model"))
    assert code == 2 and err.strip() == (
        f"beamtagger train: error: dev corpus {dev}: its extension says conll, but its first "
        "sentence holds 10 tab-separated columns at line 3, as conllu does: rename it, or give "
        "--format conllu")


def test_a_conllu_train_with_a_conll_dev_reads_each_as_its_own(tiny_tagger, tmp_path, capsys,
                                                               monkeypatch):
    # Stopped where training would start: what it would have been given is the point.
    from beamtagger.model import training

    given = {}

    def train_tagger(train, dev, store, config, **kwargs):
        given.update(train=train, dev=dev, **kwargs)
        raise BeamtaggerError("stopped before training")

    monkeypatch.setattr(training, "train_tagger", train_tagger)
    train = corpus(tmp_path, "train.conllu", CONLLU)
    dev = corpus(tmp_path, "dev", "A\tDT\ncat\tNN\nsat\tVBD\n\n")
    code, printed, err = main(capsys, "train", "--train", train, "--dev", dev, "--tag-column",
                              "xpos", "--embeddings", tiny_tagger.store_path,
                              "--out", str(tmp_path / "model"))
    assert code == 2 and "stopped before training" in err, err
    assert printed.splitlines()[:2] == [
        f"train: reading {train} as conllu (from its extension)",
        f"train: reading {dev} as conll (from its content: 2 tab-separated columns at line 1)"]
    # --tag-column picks the CoNLL-U file's column; the conll file's one tag column is its own.
    assert [s.tags for s in given["train"]] == [("DT", "NN", "VBD", ".")]
    assert [s.tags for s in given["dev"]] == [("DT", "NN", "VBD")]
    assert given["tag_column"] == "xpos"


def test_a_conll_dev_none_of_whose_tags_a_conllu_train_knows_names_no_tag_column(
        tiny_tagger, tmp_path, capsys):
    train = corpus(tmp_path, "train.conllu", CONLLU)
    dev = corpus(tmp_path, "dev.iob", "Paris\tB-LOC\nis\tO\n\n")
    code, _, err = main(capsys, "train", "--train", train, "--dev", dev,
                        "--embeddings", tiny_tagger.store_path, "--out", str(tmp_path / "m"))
    assert code == 2 and f"dev corpus {dev}: none of its tags" in err, err
    assert "(tag column" not in err


@pytest.mark.parametrize("name, text, chosen_by, reason", [
    ("dev.conll", TWO_COLUMNS, "extension", "from its extension"),
    ("dev.iob", TWO_COLUMNS, "extension", "from its extension"),
    ("dev.conllu", CONLLU, "extension", "from its extension"),
    ("dev.txt", TWO_COLUMNS, "content", "from its content: 2 tab-separated columns at line 1"),
    ("dev.tsv", CONLLU, "content", "from its content: 10 tab-separated columns at line 3"),
], ids=["conll", "iob", "conllu", "txt-of-conll", "tsv-of-conllu"])
def test_evaluate_reads_each_kind_of_file_and_says_how_it_chose(name, text, chosen_by, reason,
                                                                tiny_tagger, tmp_path, capsys):
    data = corpus(tmp_path, name, text)
    common = ["evaluate", "--model", tiny_tagger.model_dir, "--embeddings",
              tiny_tagger.store_path, "--data", data]
    code, out, _ = main(capsys, *common)
    expected_format = "conllu" if text == CONLLU else "conll"
    assert code == 0
    assert out.splitlines()[0] == f"evaluate: reading {data} as {expected_format} ({reason})"
    code, out, _ = main(capsys, *common, "--json")
    metrics = json.loads(out)
    assert code == 0 and metrics["format"] == expected_format
    assert metrics["format_chosen_by"] == chosen_by
    assert metrics["tokens"] == (4 if text == CONLLU else 6)


def test_evaluate_with_format_given_reads_as_before_and_says_nothing_more(tiny_tagger, tmp_path,
                                                                          capsys):
    data = corpus(tmp_path, "dev.conllu", TWO_COLUMNS)   # misnamed: --format decides
    common = ["evaluate", "--model", tiny_tagger.model_dir, "--embeddings",
              tiny_tagger.store_path, "--data", data, "--format", "conll"]
    code, out, _ = main(capsys, *common)
    assert code == 0 and out.startswith(f"model {tiny_tagger.model_dir} on {data}\n")
    code, out, _ = main(capsys, *common, "--json")
    assert json.loads(out)["format_chosen_by"] == "--format"


def test_coverage_sums_the_files_of_a_pattern_and_names_them(tiny_tagger, tmp_path, capsys,
                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "texts").mkdir()
    corpus(tmp_path, "texts/a.txt", "The dog sat.\nIt rained all day.\n")
    corpus(tmp_path, "texts/b.txt", "Zorblax went home.\n")
    store = tiny_tagger.store_path
    code, out, err = main(capsys, "embeddings", "coverage", store, "texts/*.txt")
    assert code == 0, err
    assert out.splitlines()[:2] == [
        "corpus: texts/*.txt: 2 files (text, from each file's content), 3 lines",
        "files:  texts/a.txt, texts/b.txt"]
    assert "tokens: 13, out of vocabulary 1 (7.69%)" in out and "'Zorblax' (1)" in out
    # As the shell hands them over when the pattern is not quoted: the same counts.
    code, same, _ = main(capsys, "embeddings", "coverage", store, "texts/a.txt", "texts/b.txt")
    assert code == 0 and same.splitlines()[2:] == out.splitlines()[2:]


@pytest.mark.parametrize("arguments, message", [
    (["texts/*.md"], "texts/*.md: no file matches this pattern"),
    (["texts"], "texts is a folder: give its files, or a quoted pattern of them such as "
     "'texts/*.txt'"),
    (["texts/*"], "the corpus files read as several formats (texts/b.conll as conll, "
     "texts/a.txt as text): measure them in separate runs, or give --format"),
    (["texts/c.conllu"], "corpus texts/c.conllu: its extension says conllu, but its first "
     "sentence holds 2 tab-separated columns at line 1, as conll does"),
])
def test_coverage_refuses_patterns_it_cannot_measure_in_one_line(arguments, message,
                                                                 tiny_tagger, tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "texts").mkdir()
    corpus(tmp_path, "texts/a.txt", "The dog sat.\n")
    corpus(tmp_path, "texts/b.conll", TWO_COLUMNS)
    if arguments == ["texts/c.conllu"]:
        corpus(tmp_path, "texts/c.conllu", TWO_COLUMNS)
    code, out, err = main(capsys, "embeddings", "coverage", tiny_tagger.store_path, *arguments)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert message in err, err
