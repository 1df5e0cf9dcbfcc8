"""An NER user's loop: train again on the corrected sample *and* the first annotated set, two
files of one ``--train``; and the notes a spans corpus's reading prints."""
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.model import runtimes
from beamtagger.pipeline import cli
from beamtagger.pipeline.common import _say_what_spans_reading_did, choose_corpus_format
from beamtagger.pipeline.train_command import read_training_corpora
from beamtagger.span_corpus import SpanReadStats

SPANS = '{"id": "T-1", "text": "My iPhone broke", "label": [[3, 9, "product"]]}\n'
CONLL = "Ann\tB-person\nwent\tO\n\n"


@pytest.mark.parametrize("given", [["--train", "a.jsonl", "b.jsonl"],
                                   ["--train", "a.jsonl", "--train", "b.jsonl"]])
def test_every_training_file_given_is_kept(given):
    # A second --train replaced the first without a word: the original set was left out.
    args = cli.build_parser().parse_args(["train", *given, "--dev", "d.jsonl", "--out", "m"])
    assert args.train == ["a.jsonl", "b.jsonl"]


def test_training_files_of_different_formats_are_read_in_the_order_given(tmp_path):
    corrected, first = tmp_path / "corrected.jsonl", tmp_path / "train.conll"
    corrected.write_text(SPANS, encoding="utf-8")
    first.write_text(CONLL, encoding="utf-8")
    paths = [str(corrected), str(first)]
    formats = [choose_corpus_format(path, "auto", "training") for path in paths]
    sentences = read_training_corpora(paths, formats, "upos")
    assert [(s.tokens, s.tags) for s in sentences] == [
        (("My", "iPhone", "broke"), ("O", "B-product", "O")), (("Ann", "went"), ("B-person", "O"))]


def test_a_shard_of_blank_records_among_training_files_is_read_as_none(tmp_path):
    # What tag --output-format spans writes for a shard whose input lines were all blank.
    blank, sample = tmp_path / "out-00000-of-00002.jsonl", tmp_path / "out-00001-of-00002.jsonl"
    blank.write_text('{"id": "T-201", "text": "", "spans": []}\n', encoding="utf-8")
    sample.write_text(SPANS, encoding="utf-8")
    paths = [str(blank), str(sample)]
    formats = [choose_corpus_format(path, "auto", "training") for path in paths]
    assert len(read_training_corpora(paths, formats, "upos")) == 1
    with pytest.raises(BeamtaggerError, match=r"training corpora .*out-00000-of-00002.jsonl, "
                       r".*out-00000-of-00002.jsonl hold no sentences"):
        read_training_corpora(paths[:1] * 2, formats[:1] * 2, "upos")


@pytest.mark.skipif(not runtimes.is_installed("tensorflow"),
                    reason="train refuses to start without TensorFlow")
def test_a_missing_second_training_file_is_refused_in_one_line(tmp_path, capsys):
    # Refused before TensorFlow is imported (the 4-8 s a misspelt path waited for).
    present = tmp_path / "train.jsonl"
    present.write_text(SPANS, encoding="utf-8")
    code = cli.main(["train", "--train", str(present), str(tmp_path / "nope.jsonl"),
                     "--dev", str(present), "--out", str(tmp_path / "model")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"training corpus {tmp_path / 'nope.jsonl'} does not exist" in err


def test_one_line_left_out_is_said_in_the_singular():
    stats = SpanReadStats()
    stats.empty_texts = stats.not_accepted = 1
    said = []
    _say_what_spans_reading_did(stats, "training", "corrected.jsonl", said.append)
    assert said == [
        "note: training corpus corrected.jsonl: 1 line whose Prodigy answer is reject or ignore "
        "was left out",
        "note: training corpus corrected.jsonl: 1 line with an empty text and no spans was left "
        "out"]
