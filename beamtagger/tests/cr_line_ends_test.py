"""Files whose lines end in CR alone (classic Mac OS, Excel for Mac's "CSV (Macintosh)"):
every reader splits at LF, so such a text file was tagged as one record of all its lines, exit
0; a CoNLL-U file one sentence of no tokens; train's "holds no sentences"; embeddings import's
"value 2 ('0.2\\rof') is not a number". Each is now one line naming the line ends (CSV's
phrase), before anything is written; a stray CR inside a line, CRLF and LF line ends read as
before."""
import glob
import io
import sys
import types

import pytest
from apache_beam.io.filesystems import FileSystems

from beamtagger.corpus_readers import first_sentence_lines, read_conllu
from beamtagger.embeddings.importers import import_embeddings
from beamtagger.errors import BeamtaggerError, InputFormatError
from beamtagger.line_ends import CR_LINES, cr_line_ends
from beamtagger.pipeline import tag_inputs
from beamtagger.tests.conftest import run_tag_command

CR_TEXT = "Hello there .\rGood bye .\r"
# One record a line of each format, its lines ended by CR alone.
CR_FILES = {"a.txt": CR_TEXT,
            "a.jsonl": '{"text": "Hello there ."}\r{"text": "Good bye ."}\r',
            "a.conllu": "# sent_id = s1\r1\tHello\t_\tINTJ\t_\t_\t_\t_\t_\t_\r\r"
                        "# sent_id = s2\r1\tbye\t_\tINTJ\t_\t_\t_\t_\t_\t_\r\r",
            "a.conll": "Hello\tX\rthere\tY\r\rbye\tX\r\r"}


def test_several_crs_and_no_lf_are_cr_line_ends_a_stray_cr_is_not():
    assert cr_line_ends(CR_TEXT.encode()).endswith(CR_LINES)
    assert cr_line_ends(b"a\rb\r", size=8).startswith("its first 8 bytes hold 2 CRs and no LF")
    for head in [b"a\r\nb\r\n", b"a\r\nb\nc\r\n", b"a stray \r CR\rin a line\n", b"one\r",
                 b"no line end", b""]:
        assert cr_line_ends(head) is None, head


def _check_heads(tmp_path, pattern, input_format, encoding="utf-8"):
    matched = FileSystems.match([str(tmp_path / pattern)])[0].metadata_list
    tag_inputs._check_heads(matched, types.SimpleNamespace(
        input_format=input_format, encoding=encoding, stdin_spool=None))


@pytest.mark.parametrize("name", sorted(CR_FILES))
def test_tag_refuses_a_file_of_cr_line_ends_in_each_format(tmp_path, name):
    (tmp_path / name).write_bytes(CR_FILES[name].encode())
    with pytest.raises(BeamtaggerError) as refusal:
        _check_heads(tmp_path, name, tag_inputs.format_of_name(name))
    assert str(refusal.value).startswith(f"--input {tmp_path / name}: its first ")
    assert str(refusal.value).endswith(CR_LINES)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16", "utf-32", "cp1252", "cp500"])
def test_tag_refuses_cr_line_ends_in_the_encoding_given(tmp_path, encoding):
    # utf-16-le and EBCDIC (cp500) are decoded before they are split, still at LF only.
    (tmp_path / "a.txt").write_bytes(CR_TEXT.encode(encoding))
    with pytest.raises(BeamtaggerError, match="hold 2 CRs and no LF"):
        _check_heads(tmp_path, "a.txt", "text", encoding)


def test_a_cr_file_among_others_is_refused_naming_it(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"Hello there .\nGood bye .\n")
    (tmp_path / "b.txt").write_bytes(CR_TEXT.encode())
    with pytest.raises(BeamtaggerError, match=f"--input {tmp_path / 'b.txt'}: its first"):
        _check_heads(tmp_path, "*.txt", "text")


def test_crlf_mixed_with_lf_and_stray_crs_are_read_as_before(tmp_path, capsys):
    (tmp_path / "a.txt").write_bytes(b"Hello there .\r\nGood bye .\nA stray\rCR .\r\n")
    (tmp_path / "b.jsonl").write_bytes(b'{"text": "a\\rb"}\r\n{"text": "c"}\r\n')
    (tmp_path / "c.txt").write_bytes(b"One line without a line end, one stray\rCR")
    for name, input_format in [("a.txt", "text"), ("b.jsonl", "jsonl"), ("c.txt", "text")]:
        _check_heads(tmp_path, name, input_format)
    assert capsys.readouterr().err == ""


def test_a_utf16_file_read_as_utf8_is_warned_of_as_utf16_not_refused_for_its_crs(tmp_path,
                                                                                   capsys):
    # Its reading makes it one dead letter; the warning says what to do first.
    (tmp_path / "a.txt").write_bytes(CR_TEXT.encode("utf-16-le"))
    _check_heads(tmp_path, "a.txt", "text")
    assert "the file is UTF-16LE" in capsys.readouterr().err


def test_tag_exits_2_naming_stdin_and_writes_nothing(capsys, monkeypatch, tmp_path, tiny_tagger):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(CR_TEXT.encode())))
    code, _, err = run_tag_command(capsys, "--input", "-", "--output", str(tmp_path / "o" / "r"),
                                   "--model", tiny_tagger.model_dir, "--embeddings",
                                   tiny_tagger.store_path)
    assert code == 2, err
    (line,) = err.strip().splitlines()
    assert line.startswith("beamtagger tag: error: --input stdin: its first 25 bytes hold 2 CRs")
    assert not glob.glob(str(tmp_path / "o" / "*"))


@pytest.mark.parametrize("name", ["a.conllu", "a.conll"])
def test_train_and_evaluate_readers_refuse_cr_line_ends(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(CR_FILES[name].encode())
    with pytest.raises(BeamtaggerError, match=f"cannot read {path}: its first .*") as refusal:
        first_sentence_lines(str(path))
    assert str(refusal.value).endswith(CR_LINES)
    with pytest.raises(BeamtaggerError, match="hold [0-9]+ CRs and no LF"):
        list(read_conllu(str(path)))


def test_a_conllu_file_with_crlf_line_ends_is_read(tmp_path):
    path = tmp_path / "a.conllu"
    path.write_bytes(CR_FILES["a.conllu"].replace("\r", "\r\n").encode())
    assert [sentence.tokens for sentence in read_conllu(str(path))] == [("Hello",), ("bye",)]


def test_embeddings_import_refuses_cr_line_ends_and_writes_nothing(tmp_path):
    import numpy as np

    vectors = tmp_path / "vectors.txt"
    vectors.write_bytes(b"the 0.1 0.2\rof 0.3 0.4\rand 0.5 0.6\r")
    with pytest.raises(InputFormatError, match=f"^{vectors}:1: its first 35 bytes hold 3 CRs"):
        import_embeddings(vectors, tmp_path / "store")
    np.save(tmp_path / "matrix.npy", np.ones((3, 2), dtype="float32"))
    (tmp_path / "words.txt").write_bytes(b"the\rof\rand\r")
    with pytest.raises(InputFormatError, match="words.txt:1: its first 11 bytes hold 3 CRs"):
        import_embeddings(tmp_path / "matrix.npy", tmp_path / "store",
                          words=tmp_path / "words.txt")
    assert not (tmp_path / "store").exists()
