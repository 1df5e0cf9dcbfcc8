"""What reading ``--aux-column``'s tags did is said naming that column: its IOB1 tags read as
BIO gave a note that read as the tag column's ("training corpus X: ... read as BIO"), printed a
second time for the same file, and the user could not tell which column it meant."""
import argparse
import types

from beamtagger.pipeline.train_command import read_auxiliary

_IOB1_IN_XPOS = """\
# text = Anna met Bob
1\tAnna\tanna\tPROPN\tI-PER\t_\t2\tnsubj\t_\t_
2\tmet\tmeet\tVERB\tO\t_\t0\troot\t_\t_
3\tBob\tbob\tPROPN\tI-PER\t_\t2\tobj\t_\t_

"""


def test_the_aux_column_s_iob1_note_names_the_column(tmp_path, capsys):
    corpus = tmp_path / "train.conllu"
    corpus.write_text(_IOB1_IN_XPOS, encoding="utf-8")
    args = argparse.Namespace(aux_column="xpos", tag_column="upos", binary_label=None,
                              train=[str(corpus)])
    sentences = read_auxiliary(args, [types.SimpleNamespace(format="conllu")], 10)
    assert [sentence.tags for sentence in sentences] == [("B-PER", "O", "B-PER")]
    (note,) = capsys.readouterr().err.strip().splitlines()
    assert note.startswith(f"note: --aux-column xpos: training corpus {corpus}: 2 of its 2 "
                           "entities begin with I-"), note
