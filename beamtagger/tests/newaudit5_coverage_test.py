"""embeddings coverage of text as tag reads it (audit): a byte-order mark, and the words of
its refusals."""
from beamtagger.tests.embeddings_command_test import glove_file, run  # noqa: F401 (fixture)


def test_a_byte_order_mark_is_no_part_of_the_first_token(capsys, tmp_path,
                                                         glove_file):  # noqa: F811
    # tag drops it; coverage counted '\ufeffThe' out of vocabulary (Notepad's UTF-8 has one).
    run(capsys, "import", glove_file, "--out", tmp_path / "store")
    corpus = tmp_path / "notepad.txt"
    corpus.write_bytes("The Paris ,\nthe Paris\n".encode("utf-8-sig"))
    code, out, err = run(capsys, "coverage", tmp_path / "store", corpus)
    assert code == 0, err
    assert "tokens: 5, out of vocabulary 0 (0.00%)" in out


def test_a_compressed_corpus_is_named_once(capsys, tmp_path, glove_file):  # noqa: F811
    run(capsys, "import", glove_file, "--out", tmp_path / "store")
    (tmp_path / "c.txt.gz").write_bytes(glove_file.read_bytes())
    code, _, err = run(capsys, "coverage", tmp_path / "store", tmp_path / "c.txt.gz")
    assert code == 2
    assert f"error: coverage corpus {tmp_path / 'c.txt.gz'} is compressed (.gz)" in err


def test_a_pattern_matches_the_files_tag_reads_and_ends(capsys, tmp_path, glove_file):  # noqa: F811
    # Python's glob skipped hidden files (tag's * reads them) and under ** followed two
    # symbolic links to a parent folder without end.
    run(capsys, "import", glove_file, "--out", tmp_path / "store")
    texts = tmp_path / "texts"
    (texts / "deep").mkdir(parents=True)
    (texts / "a.txt").write_text("The Paris\n", encoding="utf-8")
    (texts / ".b.txt").write_text("the Paris ,\n", encoding="utf-8")
    (texts / "deep" / "c.txt").write_text("Paris\n", encoding="utf-8")
    (texts / "deep" / "up").symlink_to(texts)
    (texts / "up").symlink_to(texts / "deep")
    code, out, err = run(capsys, "coverage", tmp_path / "store", str(texts / "**"))
    assert code == 0, err
    assert "tokens: 6, out of vocabulary 0 (0.00%)" in out
