"""The copy of a model a ``beamtagger tag`` run reads where no links can be made beside it
(``pipeline/launch_files.py``): made in this user's staging folder as a hidden, held folder
(``atomic_dirs.held_copy``), so that the next run removes what a killed one left there and
keeps what a live one holds. In the temp folder (a ``TemporaryDirectory``), a SIGKILLed run's
copy stayed for good."""
import errno
import os
import pathlib
import shutil
import time

from beamtagger import atomic_dirs
from beamtagger.pipeline import launch_files
from beamtagger.pipeline.tag_pipeline import TagJob
from beamtagger.tests.atomic_dirs_test import dead_pid
from beamtagger.transforms import worker_resources

TWO_DAYS = 2 * 24 * 3600


def test_a_killed_run_s_copy_is_removed_by_the_next_run_and_a_held_one_kept(
        tiny_tagger, tmp_path, monkeypatch):
    monkeypatch.setenv("BEAMTAGGER_STAGING", str(tmp_path / "staging"))

    def no_links(path, **_):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(atomic_dirs, "linked_copy", no_links)
    model = shutil.copytree(tiny_tagger.model_dir, tmp_path / "m")
    root = worker_resources.staging_root()
    killed = root / f".m.pinned-{dead_pid()}-0123abcd"
    killed.mkdir()
    (killed / "tagger.json").write_text("{}")
    # A live run's, whatever its name and age say (PID 1 of another container on the disk).
    held = root / f".m.pinned-{dead_pid()}-89abcdef"
    held.mkdir()
    days_ago = time.time() - TWO_DAYS
    os.utime(held, (days_ago, days_ago))
    job = TagJob("in.txt", str(tmp_path / "out"), model_dir=str(model))
    with atomic_dirs._held_in_use(held), launch_files.pinned(job, remote=False) as launched:
        read = pathlib.Path(launched.job(job).model_dir)
        assert read.parent == root
        assert sorted(os.listdir(read)) == sorted([*os.listdir(model),
                                                   atomic_dirs.PINNED_GITIGNORE])
        assert not killed.exists() and held.exists()
    assert sorted(root.glob(".m.pinned-*")) == [held]


def test_a_store_in_a_folder_not_writable_is_no_refusal(tiny_tagger, tmp_path, monkeypatch):
    # linked_copy made its folder as an output's (building_dir), whose check of a folder not
    # writable (os.access) refused the run with a BeamtaggerError about an "output", where a
    # team's shared store is to be read in place.
    store = shutil.copytree(tiny_tagger.store_path, tmp_path / "shared" / "s")
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kwargs: (
        pathlib.Path(path) != store.parent and access(path, mode, **kwargs)))
    job = TagJob("in.txt", str(tmp_path / "out"), store_path=str(store))
    with launch_files.pinned(job, remote=False) as launched:
        launched.check_unchanged()
