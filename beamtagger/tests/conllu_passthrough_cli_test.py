"""``beamtagger tag --input-format conllu --output-format conllu`` end to end: every sentence
comes back as it was read but for the label column (comments, multiword tokens, empty nodes,
CRLF, the other columns), the labels are the ones the JSON Lines output gives, a long sentence
cut into chunks included, and evaluate reads the file back; on all of EWT dev with the bundled
model when the shared data is there."""
import glob
import json

import pytest

from beamtagger.corpus_readers import read_conllu
from beamtagger.pipeline import cli
from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.conllu_passthrough_format_test import (SENTENCES, assert_written_back,
                                                             sentence_blocks)
from beamtagger.tests.tag_pipeline_test import read_jsonl

# A sentence longer than --chunk: tagged in overlapping chunks, stitched, its lines kept.
LONG = "# sent_id = long\n" + "".join(
    f"{i}\tw{i}\tw{i}\tX\t_\t_\t{i - 1}\tdep\t{i - 1}:dep\t_\n" for i in range(1, 151)) + "\n"
SOURCE = SENTENCES[0] + LONG + "".join(SENTENCES[1:])


def _tag(capsys, tiny_tagger, source, prefix, *more):
    return run_tag_command(capsys, "--input", str(source), "--input-format", "conllu",
                           "--output", prefix, "--model", tiny_tagger.model_dir,
                           "--embeddings", tiny_tagger.store_path, "--chunk", "64",
                           "--overlap", "16", *more)


def _output_text(prefix):
    return "".join(open(path, encoding="utf-8", newline="").read()
                   for path in sorted(glob.glob(prefix + "-[0-9]*-of-*.conllu")))


@pytest.mark.parametrize("tag_column", ["upos", "misc:Tag"])
def test_each_sentence_comes_back_with_only_the_label_column_replaced(
        tmp_path, tiny_tagger, capsys, tag_column):
    source = tmp_path / "in.conllu"
    source.write_bytes(SOURCE.encode("utf-8"))
    code, _, err = _tag(capsys, tiny_tagger, source, str(tmp_path / "j"))
    assert code == 0, err
    wanted = {row["id"]: [t["label"] for t in row["tokens"]]
              for row in read_jsonl(str(tmp_path / "j") + "-[0-9]*-of-*.jsonl")}
    prefix = str(tmp_path / "u")
    code, out, err = _tag(capsys, tiny_tagger, source, prefix, "--output-format", "conllu",
                          "--tag-column", tag_column, "--num-shards", "1")
    assert code == 0, err
    assert "dead letters                0" in out
    text = _output_text(prefix)
    assert_written_back(text, SOURCE, tag_column)
    assert len(sentence_blocks(text)) == len(sentence_blocks(SOURCE)) == 5
    assert "\r\n6\tcoffee\tcoffee\t" in text and "2-3\tdon't\t_\t_" in text
    [path] = glob.glob(prefix + "-[0-9]*-of-*.conllu")
    found = {s.sent_id: list(s.tags) for s in read_conllu(path, tag_column=tag_column)}
    # The sentence without a sent_id is read back under the output file's name and line.
    assert {key: value for key, value in found.items() if ".conllu:" not in key} == {
        key: value for key, value in wanted.items() if ".conllu:" not in key}
    assert len(found) == len(wanted) == 5
    if tag_column == "upos":
        # evaluate tags each sentence whole: so does a run whose chunks hold the long one.
        pytest.importorskip("tensorflow")
        code, _, err = _tag(capsys, tiny_tagger, source, str(tmp_path / "w"), "--output-format",
                            "conllu", "--tag-column", "upos", "--num-shards", "1", "--chunk",
                            "256")
        assert code == 0, err
        [path] = glob.glob(str(tmp_path / "w") + "-[0-9]*-of-*.conllu")
        code = cli.main(["evaluate", "--model", tiny_tagger.model_dir, "--embeddings",
                         tiny_tagger.store_path, "--data", path, "--tag-column", "upos",
                         "--json"])
        metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert code == 0 and metrics["accuracy"] == 1.0, metrics


def test_other_outputs_of_conllu_input_carry_no_kept_lines(tmp_path, tiny_tagger, capsys):
    source = tmp_path / "in.conllu"
    source.write_bytes(SOURCE.encode("utf-8"))
    code, _, err = _tag(capsys, tiny_tagger, source, str(tmp_path / "j"))
    assert code == 0, err
    rows = read_jsonl(str(tmp_path / "j") + "-[0-9]*-of-*.jsonl")
    assert len(rows) == 5 and all(set(row) == {"id", "tokens"} for row in rows)


def test_ewt_dev_comes_back_but_for_upos_and_scores_what_evaluate_scores(
        shared_data, tmp_path, capsys):
    """All of EWT dev through the bundled model: the file equals the input but for UPOS, and
    its UPOS against the gold gives the accuracy evaluate reports for the model."""
    pytest.importorskip("tensorflow")
    dev = shared_data / "ud-english-ewt" / "en_ewt-ud-dev.conllu"
    prefix = str(tmp_path / "dev")
    code, out, err = run_tag_command(capsys, "--input", str(dev), "--input-format", "conllu",
                                     "--output", prefix, "--output-format", "conllu")
    assert code == 0, err
    source = dev.read_bytes().decode("utf-8")
    text = _output_text(prefix)
    assert_written_back(text, source, "upos")
    assert len(sentence_blocks(text)) == len(sentence_blocks(source)) == 2001
    gold = {s.sent_id: s.tags for s in read_conllu(dev)}
    right = total = 0
    for path in glob.glob(prefix + "-[0-9]*-of-*.conllu"):
        for sentence in read_conllu(path):
            tags = gold[sentence.sent_id]
            right += sum(a == b for a, b in zip(sentence.tags, tags))
            total += len(tags)
    code = cli.main(["evaluate", "--data", str(dev), "--json"])
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and total == metrics["tokens"] == sum(map(len, gold.values()))
    assert right / total == pytest.approx(metrics["accuracy"], abs=0.5 / total)
