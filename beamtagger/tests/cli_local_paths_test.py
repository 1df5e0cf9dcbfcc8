"""Commands that work on this machine's files refuse URLs in one line, before doing anything."""
import pytest

from beamtagger.pipeline import cli


@pytest.mark.parametrize("argv, shown", [
    # Before: a local folder ./gs:/bucket/store was written, exit 0.
    (["embeddings", "import", "{vectors}", "--out", "gs://bucket/store"], "--out gs://bucket/store"),
    (["embeddings", "import", "gs://bucket/glove.txt", "--out", "{out}"], "source gs://bucket/glove.txt"),
    (["embeddings", "info", "gs://bucket/store"], "store gs://bucket/store"),
    (["embeddings", "coverage", "{store}", "s3://bucket/corpus.txt"], "corpus s3://bucket/corpus.txt"),
    (["train", "--train", "{corpus}", "--dev", "{corpus}", "--out", "gs://bucket/model"],
     "--out gs://bucket/model"),
    (["evaluate", "--model", "gs://bucket/model", "--data", "{corpus}"], "--model gs://bucket/model"),
    (["evaluate", "--data", "{corpus}", "--seen-entities-of", "gs://bucket/m"],
     "--seen-entities-of gs://bucket/m"),
    (["embeddings", "import", "{vectors}", "--out", "file:///tmp/store"], "--out file:///tmp/store"),
])
def test_a_url_is_refused_by_commands_of_local_files(argv, shown, tiny_tagger, tmp_path, capsys,
                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vectors.txt").write_text("the 0.1 0.2\n", encoding="utf-8")
    (tmp_path / "corpus.conllu").write_text("1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n\n",
                                            encoding="utf-8")
    paths = {"vectors": "vectors.txt", "out": str(tmp_path / "new-store"),
             "store": tiny_tagger.store_path, "corpus": "corpus.conllu"}
    code = cli.main([part.format(**paths) for part in argv])
    err = capsys.readouterr().err
    assert code == 2
    command = argv[0]
    assert err.startswith(f"beamtagger {command}: error: {shown}: {command} takes paths on "
                          "this machine, not URLs"), err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.conllu", "vectors.txt"]
