"""``--format auto`` on the corpora a hostile user or machine gives: a first "sentence" of text
without line ends, a pipe, a folder, comments alone, and the first sentences CoNLL-U and
CoNLL-2003 really start with."""
import os

import pytest

from beamtagger.corpus_readers import first_sentence_lines
from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline.common import choose_corpus_format, read_sentences


def corpus(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_a_first_line_without_an_end_is_sniffed_from_its_first_mib_only(tmp_path):
    # Sniffing read whole lines: a 300 MB file of text without a line end took 4.8 GB and 17 s,
    # a bigger one ran the machine out of memory.
    words = 2 * 1024 * 1024
    path = corpus(tmp_path, "one-line.txt", b"word " * words)
    line, = first_sentence_lines(path)
    assert line.number == 1 and not line.tab_separated
    assert line.columns <= (1 << 20) // len(b"word ") + 1
    choice = choose_corpus_format(path, "auto", "corpus", text_allowed=True)
    assert (choice.format, choice.chosen_by) == ("text", "content")


def test_a_pipe_and_a_folder_are_named_as_what_they_are(tmp_path):
    # Both were "does not exist"; a pipe's first sentence read by the sniffing would be gone
    # from the corpus train then read.
    pipe = tmp_path / "train.conll"
    os.mkfifo(pipe)
    for read in (lambda: choose_corpus_format(str(pipe), "auto", "training"),
                 lambda: read_sentences(str(pipe), "conll", "upos", "training")):
        with pytest.raises(BeamtaggerError) as refused:
            read()
        assert str(refused.value) == (
            f"training corpus {pipe} is not a regular file (a pipe, a device or a socket), and "
            "a corpus is read from its start more than once: write it to a file first")
    with pytest.raises(BeamtaggerError) as refused:
        choose_corpus_format(str(tmp_path), "auto", "dev")
    assert str(refused.value) == f"dev corpus {tmp_path} is a folder: give one of its files"


def test_comments_alone_are_not_called_an_empty_file(tmp_path):
    path = corpus(tmp_path, "notes.txt", b"# newdoc id = a\n# only comments\n\n")
    with pytest.raises(BeamtaggerError) as refused:
        choose_corpus_format(path, "auto", "training")
    assert str(refused.value).endswith(
        "holds no sentences (empty file, or only blank lines and comments in its first MiB)")


CONLLU_LINE = b"\t".join([b"x"] * 10)


@pytest.mark.parametrize("data, expected", [
    # A multiword token's range line and an empty node are CoNLL-U's own first lines.
    (b"# text = don't\n1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n1\tdo\t" + CONLLU_LINE[4:] + b"\n\n",
     ("conllu", 2)),
    (b"1.1\t" + CONLLU_LINE[2:] + b"\n\n", ("conllu", 1)),
    (b"\xef\xbb\xbfEU\tB-ORG\r\nrejects\tO\r\n\r\n", ("conll", 1)),
    (b"-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n\n", ("conll", 3)),
], ids=["multiword-range", "empty-node", "bom-crlf", "docstart-then-blank"])
def test_the_first_lines_real_corpora_start_with(tmp_path, data, expected):
    path = corpus(tmp_path, "corpus.txt", data)
    choice = choose_corpus_format(path, "auto", "training")
    assert (choice.format, int(choice.evidence.split(" at line ")[1])) == expected
