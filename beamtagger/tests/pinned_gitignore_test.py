"""The hidden folder a local ``beamtagger tag`` run pins its model and store in
(``atomic_dirs.linked_copy``) holds a ``.gitignore`` of ``*``, as pytest's cache folder does: a
model kept in a git checkout (models/ in a project repository) showed the folder in
``git status`` while the run went on, and after a kill until the next run beside it. Nothing
that reads the folder (loading, the digests its workers compare, ``model info``) trips over it."""
import os
import shutil
import subprocess

import pytest

from beamtagger import atomic_dirs
from beamtagger.embeddings.store import EmbeddingStore
from beamtagger.model.tagger_spec import TaggerSpec
from beamtagger.pipeline import launch_files
from beamtagger.pipeline.tag_pipeline import TagJob
from beamtagger.transforms import worker_resources

GIT = shutil.which("git")


def git(repository, *args):
    return subprocess.run([GIT, "-C", str(repository), "-c", "user.name=t",
                           "-c", "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(GIT is None, reason="git is not on PATH")
def test_a_run_s_pinned_folders_are_not_in_git_status(tiny_tagger, tmp_path):
    repository = tmp_path / "project"
    model = shutil.copytree(tiny_tagger.model_dir, repository / "models" / "m")
    store = shutil.copytree(tiny_tagger.store_path, repository / "models" / "s")
    (model / ".gitignore").write_text("*.tmp\n", encoding="utf-8")   # the model's own
    git(repository, "init", "-q")
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "-m", "models")
    job = TagJob("in.txt", str(tmp_path / "out"), model_dir=str(model), store_path=str(store))
    with launch_files.pinned(job, remote=False) as launched:
        assert len(launched.pins) == 2
        for untracked in ("normal", "all"):
            assert git(repository, "status", "--porcelain",
                       f"--untracked-files={untracked}") == ""
        launched.check_unchanged()
    # The model's own .gitignore is neither linked nor written over.
    assert (model / ".gitignore").read_text(encoding="utf-8") == "*.tmp\n"
    assert os.stat(model / ".gitignore").st_nlink == 1
    assert git(repository, "status", "--porcelain") == ""


def test_nothing_that_reads_a_pinned_folder_counts_its_gitignore(tiny_tagger, tmp_path):
    model = shutil.copytree(tiny_tagger.model_dir, tmp_path / "m")
    store = shutil.copytree(tiny_tagger.store_path, tmp_path / "s")
    job = TagJob("in.txt", str(tmp_path / "out"), model_dir=str(model), store_path=str(store))
    with launch_files.pinned(job, remote=False) as launched:
        read = launched.job(job)
        for folder in (read.model_dir, read.store_path):
            assert os.path.isfile(os.path.join(folder, atomic_dirs.PINNED_GITIGNORE))
        assert TaggerSpec.load(read.model_dir).labels == TaggerSpec.load(model).labels
        assert EmbeddingStore.open(read.store_path).manifest == EmbeddingStore.open(
            store).manifest
        # What its workers compare with what the checks read: the same digests.
        assert worker_resources.record_built_against(
            read.model_dir, read.store_path, True) == worker_resources.record_built_against(
                str(model), str(store), True)._replace(model_dir=read.model_dir,
                                                        store_path=read.store_path)
