"""Span-annotated JSON Lines in the commands: --format auto's choice, evaluate's scores and
report, train's refusal of a bad line, and embeddings coverage of the texts."""
import json

import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline import cli
from beamtagger.pipeline.common import choose_corpus_format
from beamtagger.tests.embeddings_command_test import glove_file, run  # noqa: F401 (fixture)

LINES = ('{"id": "a", "text": "Bob went to Paris", "label": [[0, 3, "per"], [12, 17, "loc"]]}\n'
         '{"text": "I love #Rome", "spans": [{"start": 8, "end": 12, "label": "loc"}]}\n')
CONLL = ("Bob\tB-per\nwent\tO\nto\tO\nParis\tB-loc\n\n"
         "I\tO\nlove\tO\n#Rome\tB-loc\n\n")


@pytest.mark.parametrize("name, content, expected", [
    ("export.jsonl", LINES, ("spans", "extension", "")),
    ("export.txt", LINES, ("spans", "content",
                           "a JSON object of a text and its spans at line 1")),
])
def test_auto_chooses_spans_from_the_extension_or_the_first_line(name, content, expected,
                                                                  tmp_path):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    choice = choose_corpus_format(str(path), "auto", "training")
    assert (choice.format, choice.chosen_by, choice.evidence) == expected


@pytest.mark.parametrize("name, content, expected", [
    ("export.jsonl", LINES, ("jsonl", "extension", "")),
    ("export.txt", LINES, ("jsonl", "content", "a JSON object with a 'text' field at line 1")),
    # tag's own JSON Lines input: its texts are measured, not its JSON syntax as running text.
    ("texts.txt", '{"text": "Bob went to Paris"}\n',
     ("jsonl", "content", "a JSON object with a 'text' field at line 1")),
    ("texts.jsonl", '{"text": "Bob went to Paris"}\n', ("jsonl", "extension", "")),
])
def test_coverage_reads_json_lines_as_tags_input_spans_or_not(name, content, expected,
                                                               tmp_path):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    choice = choose_corpus_format(str(path), "auto", "coverage", text_allowed=True)
    assert (choice.format, choice.chosen_by, choice.evidence) == expected


def test_tags_json_lines_input_is_refused_as_a_training_corpus(tmp_path):
    # Its first sentence read as conll: the token '{"text":' tagged '"Paris"}'.
    path = tmp_path / "input.txt"
    path.write_text('{"text": "Paris"}\n{"text": "Ann"}\n', encoding="utf-8")
    with pytest.raises(BeamtaggerError, match=r"input.txt: line 1 is a JSON object with a text "
                       r"but none of the span fields \(spans, label, labels, entities\)"):
        choose_corpus_format(str(path), "auto", "training")


def test_a_conll_name_on_a_spans_file_is_refused(tmp_path):
    path = tmp_path / "export.conll"
    path.write_text(LINES, encoding="utf-8")
    with pytest.raises(BeamtaggerError, match=r"extension says conll, but line 1 is a JSON "
                       r"object of a text and its spans.*--format spans"):
        choose_corpus_format(str(path), "auto", "training")


def evaluate(capsys, *args):
    code = cli.main(["evaluate", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_scores_a_spans_file_as_its_conll_and_counts_widened_spans(entity_tagger,
                                                                           tmp_path, capsys):
    pytest.importorskip("tensorflow")
    spans, conll = tmp_path / "dev.jsonl", tmp_path / "dev.conll"
    spans.write_text(LINES, encoding="utf-8")
    conll.write_text(CONLL, encoding="utf-8")
    model = ("--model", entity_tagger.model_dir, "--embeddings", entity_tagger.store_path)
    code, out, err = evaluate(capsys, *model, "--data", spans, "--json")
    assert code == 0, err
    from_spans = json.loads(out)
    assert (f"warning: evaluation corpus {spans}: 1 of 3 spans does not start or end on "
            "token boundaries and was widened to whole tokens; the first: "
            f"{spans}:2, loc 8-12 'Rome' became 7-12 '#Rome'") in err
    assert from_spans["format"] == "spans" and from_spans["spans"] == {
        "read": 3, "snapped_to_tokens": 1, "lines_not_accepted": 0, "texts_split": 0}
    code, out, err = evaluate(capsys, *model, "--data", conll, "--json")
    assert code == 0, err
    from_conll = json.loads(out)
    assert from_conll["entities"]["support"] == 3
    for key in ("sentences", "tokens", "accuracy", "entities", "per_label"):
        assert from_spans[key] == from_conll[key], key
    code, out, _ = evaluate(capsys, *model, "--data", spans)
    assert code == 0 and f"spans of {spans}: 3 read, 1 widened to whole tokens" in out


def test_train_refuses_a_malformed_spans_line_in_one_line(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    bad = tmp_path / "train.jsonl"
    bad.write_text(LINES + '{"text": "New York", "label": [[0, 8, "loc"], [4, 8, "loc"]]}\n',
                   encoding="utf-8")
    code = cli.main(["train", "--train", str(bad), "--dev", str(bad), "--out",
                     str(tmp_path / "model")])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"{bad}:3: spans 0-8 loc and 4-8 loc overlap (nested or crossing)" in err


def test_coverage_measures_a_spans_files_texts_not_its_json(capsys, tmp_path,
                                                             glove_file):  # noqa: F811
    run(capsys, "import", glove_file, "--out", tmp_path / "store", "--quiet")
    corpus = tmp_path / "export.jsonl"
    corpus.write_text('{"text": "the Paris ,", "label": [[4, 9, "loc"]]}\n'
                      '{"text": "Paris", "spans": []}\n', encoding="utf-8")
    code, out, err = run(capsys, "coverage", tmp_path / "store", corpus)
    assert code == 0, err
    assert "(jsonl, from its extension), 2 texts" in out
    assert "tokens: 4, out of vocabulary 0 (0.00%)" in out


def test_coverage_measures_the_texts_of_tags_json_lines_input(capsys, tmp_path,
                                                               glove_file):  # noqa: F811
    run(capsys, "import", glove_file, "--out", tmp_path / "store", "--quiet")
    plain = tmp_path / "input.jsonl"
    # Refused as "no spans", or (named .txt) measured as running text: 8 of 10 JSON "tokens".
    plain.write_text('{"id": 1, "text": "the Paris ,"}\n\n{"text": "Paris"}\n',
                     encoding="utf-8")
    code, out, err = run(capsys, "coverage", tmp_path / "store", plain)
    assert code == 0, err
    assert "(jsonl, from its extension), 2 texts" in out
    assert "tokens: 4, out of vocabulary 0 (0.00%)" in out
    other = tmp_path / "input.txt"
    other.write_text('\ufeff{"body": "the Paris"}\r\n', encoding="utf-8")
    code, out, err = run(capsys, "coverage", tmp_path / "store", other, "--text-field", "body")
    assert code == 0, err
    assert "(jsonl, from its content: a JSON object with a 'body' field at line 1)" in out
    assert "tokens: 2, out of vocabulary 0 (0.00%)" in out
    # A line tag could not tag is refused, not left out of the count unsaid.
    plain.write_text('{"text": "Paris"}\n{"text": 5}\n', encoding="utf-8")
    code, out, err = run(capsys, "coverage", tmp_path / "store", plain)
    assert code == 2 and "Traceback" not in err, err
    assert f"{plain}:2: text field 'text' is a number, not a string" in err
