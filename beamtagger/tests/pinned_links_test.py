"""Symbolic links in the model and store folders a local ``beamtagger tag`` run pins
(``pipeline/launch_files.py``, ``atomic_dirs.linked_copy``): a file the loaders open that is a
link (a folder put together from links: ``tagger.keras -> /models/shared/v3.keras``,
git-annex's, DVC's) is pinned as the file it leads to; a link the loaders do not open is kept
as the link, never followed; one that leads nowhere or to no file stops the run in one line."""
import errno
import os
import shutil

import pytest

from beamtagger import atomic_dirs
from beamtagger.errors import BeamtaggerError
from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR
from beamtagger.pipeline import launch_files
from beamtagger.pipeline.tag_pipeline import TagJob
from beamtagger.testing import build_tiny_tagger
from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.pinned_launch_files_test import (TEXTS, after_the_checks,
                                                       expected_labels, tag_labels)
from beamtagger.transforms import worker_resources


@pytest.fixture
def linked_model(tiny_tagger, tmp_path):
    """A model folder ``m`` whose tagger.keras and tagger.json are links into ``shared/``."""
    model, shared = tmp_path / "m", tmp_path / "shared"
    shutil.copytree(tiny_tagger.model_dir, model)
    shared.mkdir()
    for name, target in (("tagger.keras", "v3.keras"), ("tagger.json", "v3.json")):
        os.rename(model / name, shared / target)
        os.symlink(os.path.join("..", "shared", target), model / name)   # relative, as annex's
    return model


def saved_again_at_the_links_targets(model, other):
    """``other``'s model files renamed over the files ``model``'s links lead to."""
    for name in ("tagger.keras", "tagger.json"):
        target = os.path.realpath(model / name)
        shutil.copyfile(os.path.join(other, name), target + ".new")
        os.replace(target + ".new", target)


def test_a_model_saved_again_at_its_links_targets_is_not_read(linked_model, tiny_tagger,
                                                               tmp_path, capsys, monkeypatch):
    # Before, the pin made a new link (another inode) and every run with a link in its model
    # stopped: "model m was replaced as this run started". Kept as the link, the files saved
    # again at its target were what the workers read.
    other = build_tiny_tagger(tmp_path / "other", seed=8, store_path=tiny_tagger.store_path)
    launched = shutil.copytree(linked_model, tmp_path / "launched")   # the files, followed
    expected = expected_labels(launched, tiny_tagger.store_path)
    assert expected != expected_labels(other.model_dir, tiny_tagger.store_path)
    text = tmp_path / "in.txt"
    text.write_text("".join(line + "\n" for line in TEXTS), encoding="utf-8")
    after_the_checks(monkeypatch, lambda: saved_again_at_the_links_targets(
        linked_model, other.model_dir))
    assert tag_labels(capsys, text, tmp_path / "out", linked_model,
                      tiny_tagger.store_path) == expected
    assert not list(tmp_path.glob(".m.pinned-*"))


def test_a_link_target_saved_again_during_the_checks_stops_the_run(linked_model, tiny_tagger,
                                                                   tmp_path):
    other = build_tiny_tagger(tmp_path / "other", seed=8, store_path=tiny_tagger.store_path)
    job = TagJob("in.txt", str(tmp_path / "out"), model_dir=str(linked_model))
    with launch_files.pinned(job, remote=False) as launched:
        read = launched.job(job).model_dir
        assert not os.path.islink(os.path.join(read, "tagger.keras"))
        assert os.path.samefile(os.path.join(read, "tagger.keras"),
                                linked_model / "tagger.keras")   # linked, not copied
        launched.check_unchanged()
        saved_again_at_the_links_targets(linked_model, other.model_dir)
        with pytest.raises(BeamtaggerError, match="was replaced while this run was being "
                                                  "checked"):
            launched.check_unchanged()


@pytest.mark.parametrize("name, make, says", [
    ("tagger.keras", lambda folder: os.symlink("/nonexistent/v3.keras", folder / "tagger.keras"),
     "is a symbolic link to /nonexistent/v3.keras, which does not exist"),
    # Optional: the loader took a link to nothing for no file and loaded without it.
    ("training_forms.npy",
     lambda folder: os.symlink("training_forms.npy", folder / "training_forms.npy"),
     "is a symbolic link to training_forms.npy, which leads back to itself"),
    ("tagger.keras", lambda folder: os.symlink("/", folder / "tagger.keras"),
     "is a symbolic link to /, which is not a file"),
    ("tagger.keras", lambda folder: (os.mkfifo(folder / "fifo"),
                                     os.symlink("fifo", folder / "tagger.keras")),
     "is a symbolic link to fifo, which is not a file"),
])
def test_a_read_file_linked_to_nothing_or_no_file_stops_the_run_in_one_line(
        name, make, says, tiny_tagger, tmp_path, capsys):
    model = shutil.copytree(tiny_tagger.model_dir, tmp_path / "m")
    (model / name).unlink(missing_ok=True)
    make(model)
    (tmp_path / "in.txt").write_text(TEXTS[0] + "\n", encoding="utf-8")
    code, _, err = run_tag_command(capsys, "--input", str(tmp_path / "in.txt"), "--output",
                                   str(tmp_path / "out"), "--model", str(model),
                                   "--embeddings", tiny_tagger.store_path)
    assert code == 2
    assert err.strip().splitlines() == [
        f"beamtagger tag: error: model {model} cannot be read: {model / name} {says}; "
        "nothing was tagged"]
    assert not list(tmp_path.glob(".m.pin*"))


@pytest.mark.parametrize("pin", ["linked", "copied"])
def test_links_no_loader_opens_are_kept_as_links(pin, tiny_tagger, tmp_path):
    # Followed, a link to a folder above was copied without end (a RecursionError traceback
    # in the copy where no links can be made), and a stranger's model could have the pin
    # link or copy any file its user may read.
    model = shutil.copytree(tiny_tagger.model_dir, tmp_path / "m")
    os.symlink("..", model / "up")
    os.symlink("/etc/hostname", model / "notes.txt")
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "fifo", model / "pipe")
    os.symlink("gone", model / "old.keras")
    staging = tmp_path / "staging"
    staging.mkdir()
    copy = (atomic_dirs.linked_copy(model, follow=launch_files._read("model_dir"))
            if pin == "linked" else
            atomic_dirs.held_copy(model, staging, follow=launch_files._read("model_dir")))
    with copy as read:
        for name in ("up", "notes.txt", "pipe", "old.keras"):
            assert os.readlink(read / name) == os.readlink(model / name)
        assert (read / "tagger.keras").read_bytes() == (model / "tagger.keras").read_bytes()


def test_a_link_to_another_file_system_is_copied_with_the_model(linked_model, tmp_path,
                                                                monkeypatch, capsys):
    monkeypatch.setenv("BEAMTAGGER_STAGING", str(tmp_path / "staging"))
    link = os.link

    def not_across_file_systems(source, destination, **kwargs):
        if os.path.basename(source) == "v3.keras":
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        link(source, destination, **kwargs)

    monkeypatch.setattr(os, "link", not_across_file_systems)
    job = TagJob("in.txt", str(tmp_path / "out"), model_dir=str(linked_model))
    with launch_files.pinned(job, remote=False) as launched:
        read = launched.job(job).model_dir
        assert os.path.dirname(read) == str(worker_resources.staging_root())
        assert not os.path.islink(os.path.join(read, "tagger.keras"))
        with open(os.path.join(read, "tagger.keras"), "rb") as pinned:
            assert pinned.read() == (tmp_path / "shared" / "v3.keras").read_bytes()
    assert "warning" not in capsys.readouterr().err


def test_the_files_followed_are_every_file_a_model_and_a_store_hold(tiny_tagger):
    # A file a later version saves and the loaders open, missing from the names followed,
    # would be pinned as a link again.
    for field, folder in (("model_dir", DEFAULT_MODEL_DIR), ("model_dir", tiny_tagger.model_dir),
                          ("store_path", tiny_tagger.store_path)):
        assert set(os.listdir(folder)) <= set(launch_files._read(field)), folder
