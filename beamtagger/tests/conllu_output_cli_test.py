"""``beamtagger tag --output-format conllu`` end to end: the labels read back in the column they
went to (the model's, or --tag-column), evaluate scores the file with the same column, and
refusals, reruns and --print-results treat the CoNLL-U files as the other formats' files."""
import glob

import pytest

from beamtagger.corpus_readers import read_conllu
from beamtagger.pipeline import cli
from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.conllu_output_format_test import check_conllu
from beamtagger.tests.tag_pipeline_test import read_jsonl

TEXT = "The dog went home, today!\n\nThe cat sat  on the mat.\nApples (red) .\n"


def _tag(capsys, tiny_tagger, source, prefix, *more):
    return run_tag_command(capsys, "--input", str(source), "--output", prefix, "--model",
                           tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path, *more)


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def _conllu_text(prefix):
    return "".join(open(path, encoding="utf-8").read()
                   for path in sorted(glob.glob(prefix + "-[0-9]*-of-*.conllu")))


def test_labels_go_to_misc_tag_for_a_model_without_a_column_and_read_back(
        tmp_path, tiny_tagger, source, capsys):
    code, out, _ = _tag(capsys, tiny_tagger, source, str(tmp_path / "j"))
    assert code == 0
    wanted = {row["id"]: ([t["text"] for t in row["tokens"]], [t["label"] for t in row["tokens"]])
              for row in read_jsonl(str(tmp_path / "j") + "-[0-9]*-of-*.jsonl") if row["tokens"]}
    prefix = str(tmp_path / "u")
    code, out, _ = _tag(capsys, tiny_tagger, source, prefix, "--output-format", "conllu",
                        "--print-results")
    assert code == 0
    assert "CoNLL-U labels   in misc:Tag  (the model's; --tag-column sets it)" in out
    text = _conllu_text(prefix)
    check_conllu(text)
    assert text in out   # --print-results: the file as it is
    found = {s.sent_id: (list(s.tokens), list(s.tags))
             for s in read_conllu(glob.glob(prefix + "-[0-9]*-of-*.conllu")[0],
                                  tag_column="misc:Tag")}
    assert found == wanted
    assert "# text = The dog went home, today!" in text
    assert "# text = The cat sat  on the mat." in text   # the text as it was
    assert "3\tsat\t_\t_\t_\t_\t_\t_\t_\tTag=" in text and "|SpacesAfter=\\s\\s\n" in text
    # The blank line has no tokens: CoNLL-U has no empty sentence for it.
    assert "(1 record could not be tagged)" in out
    errors = read_jsonl(prefix + "-errors-*.jsonl")
    assert [(e["source"], e["stage"]) for e in errors] == [(str(source) + ":2", "format")]


def test_tag_column_upos_puts_the_labels_in_upos_and_evaluate_reads_them_back(
        tmp_path, tiny_tagger, source, capsys):
    prefix = str(tmp_path / "u")
    code, out, _ = _tag(capsys, tiny_tagger, source, prefix, "--output-format", "conllu",
                        "--tag-column", "upos")
    assert code == 0 and "CoNLL-U labels" not in out
    path = glob.glob(prefix + "-[0-9]*-of-*.conllu")[0]
    sentences = list(read_conllu(path, tag_column="upos"))
    assert len(sentences) == 3 and all(set(s.tags) <= {"DET", "NOUN", "PUNCT", "VERB"}
                                       for s in sentences)
    # MISC holds only the spacing (the two spaces after "sat": the text's own).
    assert sorted({line.rstrip("\n").split("\t")[9] for line in open(path, encoding="utf-8")
                   if line[:1].isdigit()}) == ["SpaceAfter=No", "SpacesAfter=\\s\\s", "_"]
    pytest.importorskip("tensorflow")
    code = cli.main(["evaluate", "--model", tiny_tagger.model_dir, "--embeddings",
                     tiny_tagger.store_path, "--data", path, "--tag-column", "upos"])
    out = capsys.readouterr().out
    assert code == 0 and "100.00" in out, out


@pytest.mark.parametrize("options, message", [
    (["--tag-column", "upos"], "--tag-column applies to --output-format conllu only, not jsonl"),
    (["--output-format", "conllu", "--tag-column", "misc:a=b"],
     "a MISC attribute name cannot hold '|', '=' or whitespace"),
    (["--output-format", "conllu", "--tag-column", "lemma"], "unknown CoNLL-U tag column"),
])
def test_a_tag_column_no_conllu_file_can_take_is_refused_before_launch(
        tmp_path, tiny_tagger, source, capsys, options, message):
    code, out, err = _tag(capsys, tiny_tagger, source, str(tmp_path / "r"), *options)
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not glob.glob(str(tmp_path / "r*"))


def test_an_earlier_conllu_run_is_found_and_replaced_only_with_overwrite(
        tmp_path, tiny_tagger, source, capsys):
    prefix = str(tmp_path / "r")
    assert _tag(capsys, tiny_tagger, source, prefix, "--output-format", "conllu")[0] == 0
    code, _, err = _tag(capsys, tiny_tagger, source, prefix)
    assert code == 2 and "already holds the files of an earlier run" in err
    assert ".conllu" in err
    assert _tag(capsys, tiny_tagger, source, prefix, "--overwrite")[0] == 0
    assert not glob.glob(prefix + "-*.conllu") and glob.glob(prefix + "-*.jsonl")
