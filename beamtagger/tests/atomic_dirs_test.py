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
    mine = atomic_dirs._hidden_name(tmp_path / "store", "importing")
    mine.mkdir()
    old_model = tmp_path / f".model.replaced-{pid}-89abcdef"
    old_model.mkdir()
    (old_model / "tagger.json").write_text("{}")
    unrelated = tmp_path / ".store.importing-notapid"
    unrelated.mkdir()
    # Where every run is PID 1 (containers), a killed run's folders carry this process's PID:
    # they were taken for its own for a day, and a model set aside was not put back.
    same_pid = tmp_path / f".tagger.replaced-{os.getpid()}-0123abcd"
    same_pid.mkdir()
    (same_pid / "tagger.json").write_text("{}")
    assert atomic_dirs.clean_abandoned(tmp_path) == [abandoned.name]
    assert mine.exists() and unrelated.exists()
    assert (tmp_path / "model" / "tagger.json").exists()  # put back: nothing replaced it
    assert (tmp_path / "tagger" / "tagger.json").exists() and not same_pid.exists()


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
    staged_root = tmp_path / "staging" / worker_resources.staging_folder_name()
    staged_root.mkdir(parents=True)
    killed = staged_root / f".0123456789abcdef.staging-{dead_pid()}-0123abcd"
    killed.mkdir()
    # An old copy's removal killed after it was renamed aside.
    (staged_root / f".fedcba9876543210.removing-{dead_pid()}-0123abcd" / "copy").mkdir(
        parents=True)
    target = worker_resources._copy_to_local(str(source))  # FileSystems serves local paths too
    assert (target / "tagger.json").read_text() == "{}"
    assert [p.name for p in staged_root.iterdir()] == [target.parent.name]


def test_a_remote_model_saved_again_at_its_path_is_staged_again(tmp_path, monkeypatch):
    # The staged copy was named after the path alone: every later run on the machine, in any
    # process, tagged with the model first copied from there.
    from beamtagger.transforms import worker_resources

    source = tmp_path / "remote-model"
    source.mkdir()
    (source / "tagger.json").write_text("old model")
    monkeypatch.setenv("BEAMTAGGER_STAGING", str(tmp_path / "staging"))
    assert (worker_resources._copy_to_local(str(source)) / "tagger.json").read_text() == (
        "old model")
    (source / "tagger.json").write_text("the new model")
    assert (worker_resources._copy_to_local(str(source)) / "tagger.json").read_text() == (
        "the new model")
    unchanged = worker_resources._copy_to_local(str(source))
    assert unchanged == worker_resources._copy_to_local(str(source))


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("points_to", ["empty", "model", "nothing"])
def test_a_destination_that_is_a_symbolic_link_is_refused(points_to, overwrite, tmp_path):
    # Renaming into place would replace the link, not write where it points: without
    # --overwrite the run failed only at the end, with it the link was set aside for good.
    target = tmp_path / points_to
    if points_to != "nothing":
        target.mkdir()
    if points_to == "model":
        (target / "tagger.json").write_text("{}")
    (tmp_path / "link").symlink_to(target)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(BeamtaggerError, match=f"link is a symbolic link \\(to {target}\\)"):
        atomic_dirs.check_destination(tmp_path / "link", overwrite, "a tagger model",
                                      "tagger.json", "model directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("command", [
    ["train", "--train", "absent.conllu", "--dev", "absent.conllu", "--out"],
    ["embeddings", "import", "vectors.txt", "--out"]])
def test_a_symbolic_link_as_out_is_one_line_before_any_work(command, tmp_path, capsys,
                                                            monkeypatch):
    from beamtagger.pipeline import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "vectors.txt").write_text("the 0.1 0.2\ncat 0.3 0.4\n", encoding="utf-8")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    for overwrite in ([], ["--overwrite"]):
        code = cli.main([*command, "link", *overwrite])
        err = capsys.readouterr().err
        assert code == 2 and "is a symbolic link (to real)" in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real", "vectors.txt"]
    assert (tmp_path / "link").is_symlink() and not any((tmp_path / "real").iterdir())


def test_a_killed_replacement_is_put_back_by_the_destination_check(tmp_path, capsys):
    """Killed between an overwrite's two renames, the old model sits aside; the next run must
    learn that its destination is taken before it trains, not after."""
    from beamtagger.pipeline import cli

    aside = tmp_path / f".model.replaced-{dead_pid()}-89abcdef"
    aside.mkdir()
    (aside / "tagger.json").write_text("{}")
    code = cli.main(["train", "--train", str(tmp_path / "absent.conllu"), "--dev",
                     str(tmp_path / "absent.conllu"), "--out", str(tmp_path / "model")])
    err = capsys.readouterr().err
    assert code == 2 and "model already exists" in err and "--overwrite" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert (tmp_path / "model" / "tagger.json").read_text() == "{}"


def test_a_replaced_symbolic_link_left_by_earlier_versions_is_removed_or_put_back(tmp_path):
    pid = dead_pid()
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "tagger.json").write_text("{}")
    (tmp_path / "model").mkdir()   # the replacement arrived: the link is left over
    leftover = tmp_path / f".model.replaced-{pid}-0123abcd"
    leftover.symlink_to("real")
    # Killed between the renames: the link goes back where it was.
    (tmp_path / f".other.replaced-{pid}-0123abcd").symlink_to("real")
    assert atomic_dirs.clean_abandoned(tmp_path) == [leftover.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "other", "real"]
    assert (tmp_path / "other").is_symlink() and (tmp_path / "real" / "tagger.json").exists()


def test_a_symbolic_link_that_appears_during_the_run_is_never_replaced(tmp_path):
    (tmp_path / "real").mkdir()
    building = atomic_dirs.building_dir(tmp_path / "model", "saving")
    (tmp_path / "model").symlink_to("real")
    with pytest.raises(BeamtaggerError, match="appeared while writing"):
        atomic_dirs.publish(building, tmp_path / "model", overwrite=True)
    assert (tmp_path / "model").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == [building.name, "model", "real"]


def test_a_replacement_that_another_run_publishes_first_keeps_that_run_s_result(tmp_path,
                                                                              monkeypatch):
    # Two `train --overwrite` into one --out: the one that lost the race failed with
    # "[Errno 39] Directory not empty", its old model left aside.
    out = tmp_path / "model"
    out.mkdir()
    (out / "which").write_text("old")
    building = atomic_dirs.building_dir(out, "saving")
    (building / "which").write_text("this run")
    rename = os.rename

    def the_other_run_publishes_between_the_renames(source, target):
        if str(source) == str(building) and not out.exists():
            out.mkdir()
            (out / "which").write_text("other run")
        return rename(source, target)

    monkeypatch.setattr(os, "rename", the_other_run_publishes_between_the_renames)
    with pytest.raises(BeamtaggerError, match="written by another run .* not saved"):
        atomic_dirs.publish(building, out, overwrite=True)
    assert (out / "which").read_text() == "other run"
    assert sorted(p.name for p in tmp_path.iterdir()) == [building.name, "model"]
