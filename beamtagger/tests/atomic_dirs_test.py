"""Directories published whole: refusals, replacement, kills while saving, abandoned folders."""
import json
import os
import subprocess
import sys

import pytest

from beamtagger import atomic_dirs
from beamtagger.errors import BeamtaggerError


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_path_below_a_file_or_in_an_unwritable_folder_cannot_be_created(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(BeamtaggerError, match="is a file, not a folder"):
        atomic_dirs.check_creatable(tmp_path / "file" / "a" / "b")
    atomic_dirs.check_creatable(tmp_path / "new" / "deeper")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(BeamtaggerError, match="is not writable"):
        atomic_dirs.check_creatable(tmp_path / "new")


def test_folders_of_dead_runs_are_removed_and_a_replaced_directory_comes_back(tmp_path):
    pid = dead_pid()
    abandoned = tmp_path / f".store.importing-{pid}-0123abcd"
    abandoned.mkdir()
    (abandoned / "vectors.npy").write_bytes(b"x" * 100)
    mine = tmp_path / f".store.importing-{os.getpid()}-0123abcd"
    mine.mkdir()
    old_model = tmp_path / f".model.replaced-{pid}-89abcdef"
    old_model.mkdir()
    (old_model / "tagger.json").write_text("{}")
    unrelated = tmp_path / ".store.importing-notapid"
    unrelated.mkdir()
    assert atomic_dirs.clean_abandoned(tmp_path) == [abandoned.name]
    assert mine.exists() and unrelated.exists()
    assert (tmp_path / "model" / "tagger.json").exists()  # put back: nothing replaced it


def test_import_below_a_file_is_one_clear_error_and_cleans_a_killed_import(tmp_path):
    from beamtagger.embeddings.importers import import_embeddings

    source = tmp_path / "v.txt"
    source.write_text("the 0.1 0.2\ncat 0.3 0.4\n", encoding="utf-8")
    (tmp_path / "file").write_text("x")
    with pytest.raises(BeamtaggerError, match="is a file, not a folder"):
        import_embeddings(source, tmp_path / "file" / "store")
    killed = tmp_path / f".store.importing-{dead_pid()}-0123abcd"
    killed.mkdir()
    import_embeddings(source, tmp_path / "store")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "store", "v.txt"]


def test_model_save_refuses_an_existing_model_replaces_it_with_overwrite_and_a_kill_keeps_it(
        tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    from beamtagger.model import saving
    from beamtagger.tests.model_tagger_test import make_model

    model, spec = make_model()
    target = tmp_path / "model"
    saving.save_model_dir(model, spec, {"run": 1}, target)
    saving.check_model_file(spec)
    with pytest.raises(BeamtaggerError, match="already exists"):
        saving.save_model_dir(model, spec, {"run": 2}, target)

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(saving, "_record_model_file", killed)
    with pytest.raises(KeyboardInterrupt):
        saving.save_model_dir(model, spec, {"run": 3}, target, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no half model, no leftovers
    assert json.loads((target / "training_report.json").read_text()) == {"run": 1}
    monkeypatch.undo()
    saving.save_model_dir(model, spec, {"run": 4}, target, overwrite=True)
    assert json.loads((target / "training_report.json").read_text()) == {"run": 4}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    with pytest.raises(BeamtaggerError, match="not a tagger model"):
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "notes.txt").write_text("mine")
        saving.save_model_dir(model, spec, {}, tmp_path / "other", overwrite=True)


def test_a_staged_copy_is_renamed_into_place_and_cleans_a_killed_copy(tmp_path, monkeypatch):
    from beamtagger.transforms import worker_resources

    source = tmp_path / "remote-model"
    source.mkdir()
    (source / "tagger.json").write_text("{}")
    monkeypatch.setenv("BEAMTAGGER_STAGING", str(tmp_path / "staging"))
    staged_root = tmp_path / "staging" / "beamtagger-staged"
    staged_root.mkdir(parents=True)
    killed = staged_root / f".0123456789abcdef.staging-{dead_pid()}-0123abcd"
    killed.mkdir()
    target = worker_resources._copy_to_local(str(source))  # FileSystems serves local paths too
    assert (target / "tagger.json").read_text() == "{}"
    assert [p.name for p in staged_root.iterdir()] == [target.name]
