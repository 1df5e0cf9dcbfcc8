"""The hidden folders of links a ``beamtagger tag`` run reads its model and store from
(``pipeline/launch_files.py``): kept while their run goes on, whoever else cleans the folder."""
import os
import shutil
import time

from beamtagger import atomic_dirs
from beamtagger.pipeline import launch_files
from beamtagger.pipeline.tag_pipeline import TagJob

TWO_DAYS = 2 * 24 * 3600


def pinned_names(model):
    """The names in a pinned folder of ``model``: its files and the .gitignore that keeps the
    folder out of ``git status``."""
    return sorted([*os.listdir(model), atomic_dirs.PINNED_GITIGNORE])


def test_a_run_s_links_outlive_another_run_of_a_model_written_days_ago(tiny_tagger, tmp_path):
    # The links' folder took the model folder's times (copytree copies them), so a model
    # written over a day ago was pinned in a folder that looked abandoned at once: the next
    # run, train or import beside it removed it under the run reading it.
    model = shutil.copytree(tiny_tagger.model_dir, tmp_path / "m")
    days_ago = time.time() - TWO_DAYS
    os.utime(model, (days_ago, days_ago))
    job = TagJob("in.txt", str(tmp_path / "out"), model_dir=str(model))
    with launch_files.pinned(job, remote=False) as first:
        read = first.job(job).model_dir
        with launch_files.pinned(job, remote=False) as second:
            assert second.job(job).model_dir != read
            assert sorted(os.listdir(read)) == pinned_names(model)
        atomic_dirs.clean_abandoned(tmp_path)   # what train --out beside it does first
        assert sorted(os.listdir(read)) == pinned_names(model)
    assert not list(tmp_path.glob(".m.pinned-*"))


def test_a_run_going_on_for_days_keeps_its_links(tiny_tagger, tmp_path):
    # A run is not over in a day on a large collection: its folder, a day old, looked
    # abandoned, whatever its process, and a train beside it removed it.
    model = shutil.copytree(tiny_tagger.model_dir, tmp_path / "m")
    job = TagJob("in.txt", str(tmp_path / "out"), model_dir=str(model))
    with launch_files.pinned(job, remote=False) as launched:
        read = launched.job(job).model_dir
        days_ago = time.time() - TWO_DAYS
        os.utime(read, (days_ago, days_ago))
        assert atomic_dirs.clean_abandoned(tmp_path) == []
        assert sorted(os.listdir(read)) == pinned_names(model)
    assert not list(tmp_path.glob(".m.pinned-*"))
    os.makedirs(read)   # as a killed run's, two days old: removed
    os.utime(read, (days_ago, days_ago))
    assert atomic_dirs.clean_abandoned(tmp_path) == [os.path.basename(read)]
