"""Pinning ``--model`` and ``--embeddings`` (``pipeline/launch_files.py``) where it is not
the usual case: a path that names a folder without naming it (``.``, ``m/..``: the hidden
folder of links is named from the path's last part), and a model that no room can be found
for."""
import errno
import shutil

from beamtagger import atomic_dirs
from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.pinned_launch_files_test import TEXTS, expected_labels, tagged_labels
from beamtagger.transforms import worker_resources


def test_the_model_given_as_the_current_folder_is_pinned_beside_it(tiny_tagger, tmp_path,
                                                                   capsys, monkeypatch):
    # "." has no last part: the links were made in ".." inside the model folder itself, which
    # the run then saw as a model changed as it started (exit 2, "was replaced").
    model = shutil.copytree(tiny_tagger.model_dir, tmp_path / "m")
    text = tmp_path / "in.txt"
    text.write_text("".join(line + "\n" for line in TEXTS), encoding="utf-8")
    monkeypatch.chdir(model)
    code, _, err = run_tag_command(capsys, "--input", str(text), "--output",
                                   str(tmp_path / "out"), "--model", ".",
                                   "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    assert tagged_labels(tmp_path / "out") == expected_labels(model, tiny_tagger.store_path)
    assert not list(model.glob(".*")) and not list(tmp_path.glob(".m.pinned-*"))


def test_a_model_that_cannot_be_linked_nor_copied_is_read_in_place(tiny_tagger, tmp_path,
                                                                  capsys, monkeypatch):
    # A full disk: no links beside the model, and no copy in the staging folder. The run failed,
    # exit 1, its line shutil's list of errors, where it could tag as a store read in place
    # does.
    model = shutil.copytree(tiny_tagger.model_dir, tmp_path / "m")
    text = tmp_path / "in.txt"
    text.write_text("".join(line + "\n" for line in TEXTS), encoding="utf-8")

    def no_links(path, **_):
        raise OSError(errno.ENOSPC, "No space left on device")

    def no_copy(source, folder, **_):
        raise shutil.Error([(str(source / "tagger.keras"), str(folder / "tagger.keras"),
                             "[Errno 28] No space left on device")])

    monkeypatch.setenv("BEAMTAGGER_STAGING", str(tmp_path / "staging"))
    monkeypatch.setattr(atomic_dirs, "linked_copy", no_links)
    monkeypatch.setattr(atomic_dirs, "held_copy", no_copy)
    code, _, err = run_tag_command(capsys, "--input", str(text), "--output",
                                   str(tmp_path / "out"), "--model", str(model),
                                   "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    assert tagged_labels(tmp_path / "out") == expected_labels(model, tiny_tagger.store_path)
    staging = tmp_path / "staging" / worker_resources.staging_folder_name()
    assert err.strip().splitlines() == [
        f"warning: model {model} is read where it is, not pinned for this run: no links "
        f"beside it (No space left on device (ENOSPC)) nor copy in {staging} "
        "([Errno 28] No space left on device); a model saved over it before the run ends "
        "may be read by its workers"]


def test_a_model_of_relative_links_copied_to_the_temp_folder_reads_their_files(
        tiny_tagger, tmp_path, capsys, monkeypatch):
    # git-annex and DVC keep a checkout's files as links relative to it: copied as links to
    # the temp folder, they led nowhere and the run failed on a model "not found".
    model = shutil.copytree(tiny_tagger.model_dir, tmp_path / "m")
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    (model / "tagger.keras").rename(blobs / "tagger.keras")
    (model / "tagger.keras").symlink_to("../blobs/tagger.keras")
    text = tmp_path / "in.txt"
    text.write_text("".join(line + "\n" for line in TEXTS), encoding="utf-8")

    def no_links(path, **_):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(atomic_dirs, "linked_copy", no_links)
    code, _, err = run_tag_command(capsys, "--input", str(text), "--output",
                                   str(tmp_path / "out"), "--model", str(model),
                                   "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    assert tagged_labels(tmp_path / "out") == expected_labels(model, tiny_tagger.store_path)
