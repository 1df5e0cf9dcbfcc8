"""Commands that write beside a run already writing the same output: refused in one line
before they write, instead of a result another run replaces or mixes.

Each test holds the output the way the other run would (``output_lock.held`` in this process:
``flock`` locks of two open files conflict within one process too), so the race is the same
every time and costs no second process.
"""
import json
import pathlib

from beamtagger.pipeline import cli, output_lock


def _threshold(model_dir):
    spec = json.loads((pathlib.Path(model_dir) / "tagger.json").read_text(encoding="utf-8"))
    return spec["decoding"].get("threshold", 0.5)


def test_set_threshold_is_refused_while_a_training_writes_the_model(flag_model, capsys):
    """train --overwrite replaces the folder as it ends: a threshold set while it trained was
    reported set and then lost (seen with two processes: 0.5 -> 0.3, then 0.5 again)."""
    with output_lock.held(flag_model, "--out", "train", "model directory"):
        code = cli.main(["model", "set-threshold", flag_model, "0.3"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert (f"model {flag_model} is being written by a beamtagger train run; wait until it "
            "ends, then set the threshold of the model it wrote") in err
    assert _threshold(flag_model) == 0.5

    # Once the training has ended (or was killed, leaving its lock folder) it goes ahead.
    (pathlib.Path(flag_model).parent / ".model.train-lock").mkdir()
    assert cli.main(["model", "set-threshold", flag_model, "0.3"]) == 0
    assert _threshold(flag_model) == 0.3


def test_a_training_starting_while_a_threshold_is_set_is_refused(flag_model, monkeypatch):
    """A train run that ended cleanly removed its lock folder, so set-threshold found none and
    held nothing: a train --overwrite starting while it wrote went ahead, and published over
    the threshold. The training is refused instead, and no lock folder is left behind."""
    from beamtagger.errors import BeamtaggerError
    from beamtagger.model import saving

    set_threshold, training = saving.set_threshold, []

    def set_while_a_training_starts(model_dir, threshold):
        try:
            with output_lock.held(flag_model, "--out", "train", "model directory"):
                training.append("went ahead")
        except BeamtaggerError as refused:
            training.append(str(refused))
        return set_threshold(model_dir, threshold)

    monkeypatch.setattr(saving, "set_threshold", set_while_a_training_starts)
    assert cli.main(["model", "set-threshold", flag_model, "0.3"]) == 0
    assert training == [f"--out {flag_model} is being written by another beamtagger train run; "
                        "wait until it ends, or choose another model directory"]
    assert _threshold(flag_model) == 0.3
    assert not (pathlib.Path(flag_model).parent / ".model.train-lock").exists()


def test_a_second_import_into_one_store_is_refused_before_it_reads(tmp_path, capsys):
    """Unheld, both imports found no store: the second, its import done, was refused, or with
    --overwrite replaced the first's store while both reported it as theirs."""
    source = tmp_path / "vectors.txt"
    source.write_text("the 0.1 0.2\ncat 0.3 0.4\n", encoding="utf-8")
    out = tmp_path / "store"
    with output_lock.held(out, "--out", "embeddings import", "store directory"):
        code = cli.main(["embeddings", "import", str(source), "--out", str(out), "--quiet",
                         "--overwrite"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
        assert (f"--out {out} is being written by another beamtagger embeddings import run; "
                "wait until it ends, or choose another store directory") in err
        assert not out.exists()
    assert cli.main(["embeddings", "import", str(source), "--out", str(out), "--quiet"]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["store", "vectors.txt"]


def test_processes_filling_the_default_store_at_once_import_it_once(tmp_path, monkeypatch):
    """The worker processes of a first local run each found no default store and imported one
    (80 MB, 2 s each), all but one thrown away: the others now wait for it and open it."""
    import threading

    from beamtagger.embeddings import default
    from beamtagger.embeddings.importers import import_embeddings

    source = tmp_path / "vectors.txt"
    source.write_text("the 0.1 0.2\ncat 0.3 0.4\n", encoding="utf-8")
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "cache"))
    both_found_none = threading.Barrier(2, timeout=30)

    def package_data():   # read by each after it found no store, before it imports
        both_found_none.wait()
        return source

    imports = []

    def counted_import(data, out, **options):
        imports.append(out)
        return import_embeddings(data, out, format="glove")

    monkeypatch.setattr(default, "glove_package_data", package_data)
    monkeypatch.setattr(default, "import_embeddings", counted_import)
    stores = _ensured_by_two_threads_at_once(default)
    assert [store.words[:2] for store in stores] == [["the", "cat"]] * 2
    assert imports == [default.default_store_path()]


def test_processes_finding_a_default_store_without_digests_import_it_again_once(
        tmp_path, monkeypatch):
    """A default store of an earlier version (no content digests) is imported again once; the
    worker processes of a local run that each found it so each imported it again (80 MB, 2 s
    each, each with --overwrite replacing the store the others had opened): one now does."""
    import json
    import threading

    from beamtagger.embeddings import default
    from beamtagger.embeddings.importers import import_embeddings

    source = tmp_path / "vectors.txt"
    source.write_text("the 0.1 0.2\ncat 0.3 0.4\n", encoding="utf-8")
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "cache"))
    path = default.default_store_path()
    import_embeddings(source, path, format="glove")
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    del manifest["chunk_sha256"]
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    both_found_it_old = threading.Barrier(2, timeout=30)

    def package_data():   # read by each after it found the store without digests
        both_found_it_old.wait()
        return source

    imports = []

    def counted_import(data, out, **options):
        imports.append(out)
        return import_embeddings(data, out, format="glove", overwrite=True)

    monkeypatch.setattr(default, "glove_package_data", package_data)
    monkeypatch.setattr(default, "import_embeddings", counted_import)
    stores = _ensured_by_two_threads_at_once(default)
    assert [("chunk_sha256" in store.manifest, store.words[:2]) for store in stores] == [
        (True, ["the", "cat"])] * 2
    assert imports == [path]


def _ensured_by_two_threads_at_once(default):
    """The stores ``default.ensure_default_store`` gave two threads started together."""
    import threading

    stores = []
    threads = [threading.Thread(target=lambda: stores.append(default.ensure_default_store()))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return stores
