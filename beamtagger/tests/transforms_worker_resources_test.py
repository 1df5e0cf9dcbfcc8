"""Staged copies of remote models and stores: one per path on a machine, plus those in use.

FileSystems serves local paths too, so ``_copy_to_local`` stages a local folder as it would a
``gs://`` one; another SDK process of the VM is a subprocess staging the same folder.
"""
import errno
import logging
import os
import pathlib
import subprocess
import sys

import pytest

from beamtagger import atomic_dirs
from beamtagger.tests.conftest import REPO_ROOT
from beamtagger.transforms import worker_resources

fcntl = pytest.importorskip("fcntl", reason="copies are kept where there is no fcntl")

# Stages argv[1], prints the copy's path, and uses the copy until its stdin closes.
_PROCESS_USING_A_COPY = """
import sys
from beamtagger.transforms import worker_resources
print(worker_resources._copy_to_local(sys.argv[1]), flush=True)
sys.stdin.read()
"""


@pytest.fixture
def staging(tmp_path, monkeypatch):
    monkeypatch.setenv("BEAMTAGGER_STAGING", str(tmp_path / "staging"))
    # This process's copies are held for its life: each test starts holding none.
    monkeypatch.setattr(worker_resources, "_HELD_COPIES", {}, raising=False)
    return tmp_path / "staging" / worker_resources.staging_folder_name()


def remote_model(folder, text):
    folder.mkdir(exist_ok=True)
    (folder / "tagger.json").write_text(text)   # texts of other sizes: another listing
    return str(folder)


def another_process_using(path):
    process = subprocess.Popen([sys.executable, "-c", _PROCESS_USING_A_COPY, path],
                               cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    copy = process.stdout.readline().strip()
    assert copy, "the other process staged nothing"
    return process, copy


def staged_by_a_process_that_ended(path):
    process, copy = another_process_using(path)
    process.communicate("")
    assert process.returncode == 0
    return copy


def test_a_path_staged_again_leaves_one_copy_once_the_old_one_is_unused(tmp_path, staging):
    # Each save of a model at one path left a copy on every machine that staged it, for good.
    source = remote_model(tmp_path / "remote-model", "old model")
    old = staged_by_a_process_that_ended(source)
    remote_model(tmp_path / "remote-model", "the new model")
    new = worker_resources._copy_to_local(source)
    assert (new / "tagger.json").read_text() == "the new model"
    assert str(new) != old
    assert [p.name for p in staging.iterdir()] == [new.parent.name]


def test_a_copy_another_process_uses_is_kept_until_it_ends(tmp_path, staging):
    source = remote_model(tmp_path / "remote-model", "old model")
    user, old = another_process_using(source)
    try:
        remote_model(tmp_path / "remote-model", "the new model")
        new = worker_resources._copy_to_local(source)
        assert sorted(p.name for p in staging.iterdir()) == sorted(
            [new.parent.name, os.path.basename(os.path.dirname(old))])
        assert (pathlib.Path(old) / "tagger.json").read_text() == "old model"
    finally:
        user.communicate("")
    # The next process to take a copy of the path removes it.
    assert worker_resources._copy_to_local(source) == new
    assert [p.name for p in staging.iterdir()] == [new.parent.name]


def test_a_copy_this_process_uses_is_kept(tmp_path, staging):
    source = remote_model(tmp_path / "remote-model", "old model")
    old = worker_resources._copy_to_local(source)
    remote_model(tmp_path / "remote-model", "the new model")
    new = worker_resources._copy_to_local(source)
    assert (old / "tagger.json").read_text() == "old model"
    assert (new / "tagger.json").read_text() == "the new model"


def test_copies_of_other_paths_and_of_earlier_versions_are_kept(tmp_path, staging):
    other = staged_by_a_process_that_ended(remote_model(tmp_path / "other-model", "other"))
    earlier_version = staging / "0123456789abcdef"   # the files themselves, no record
    earlier_version.mkdir()
    (earlier_version / "tagger.json").write_text("earlier")
    source = remote_model(tmp_path / "remote-model", "old model")
    staged_by_a_process_that_ended(source)
    remote_model(tmp_path / "remote-model", "the new model")
    new = worker_resources._copy_to_local(source)
    assert sorted(p.name for p in staging.iterdir()) == sorted(
        [new.parent.name, os.path.basename(os.path.dirname(other)), earlier_version.name])
    assert (pathlib.Path(other) / "tagger.json").read_text() == "other"


def test_a_copy_removed_while_this_process_waited_for_its_lock_is_staged_again(
        tmp_path, staging, monkeypatch):
    # Found, then removed by a process that had just made a newer copy, before this one
    # locked it: the copy handed out would be a folder being deleted.
    source = remote_model(tmp_path / "remote-model", "the model")
    first = staged_by_a_process_that_ended(source)
    removed = []

    class RemovedWhileWaiting:
        LOCK_SH, LOCK_EX, LOCK_NB = fcntl.LOCK_SH, fcntl.LOCK_EX, fcntl.LOCK_NB

        @staticmethod
        def flock(descriptor, operation):
            if not removed:
                removed.append(first)
                atomic_dirs.remove(os.path.dirname(first))
            return fcntl.flock(descriptor, operation)

    monkeypatch.setattr(worker_resources, "fcntl", RemovedWhileWaiting, raising=False)
    copy = worker_resources._copy_to_local(source)
    assert removed
    assert (copy / "tagger.json").read_text() == "the model"


def test_a_copy_that_cannot_be_removed_is_a_warning_not_a_failure(tmp_path, staging,
                                                                  monkeypatch, caplog):
    source = remote_model(tmp_path / "remote-model", "old model")
    old = staged_by_a_process_that_ended(source)
    remote_model(tmp_path / "remote-model", "the new model")

    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(atomic_dirs, "remove", refuse, raising=False)
    with caplog.at_level(logging.WARNING):
        new = worker_resources._copy_to_local(source)
    assert (new / "tagger.json").read_text() == "the new model"
    assert (pathlib.Path(old) / "tagger.json").read_text() == "old model"
    assert "not removed: [Errno 13] Permission denied" in caplog.text


def test_a_copy_that_fails_part_way_leaves_no_folder(tmp_path, staging, monkeypatch):
    # A full disk or a failed read while copying: the half copy stayed until the process
    # ended, and a worker process retries its bundles, leaving one more at each try.
    from apache_beam.io.filesystems import FileSystems

    source = remote_model(tmp_path / "remote-model", "the model")

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystems, "open", full_disk)
    with pytest.raises(OSError, match="No space left"):
        worker_resources._copy_to_local(source)
    assert list(staging.iterdir()) == []


def test_a_file_system_without_locks_stages_and_keeps_every_copy(staging, tmp_path,
                                                                  monkeypatch):
    # Some network file systems answer flock with ENOLCK: staging failed there, where before
    # the clean-up it worked. Now the copies are used unlocked, and none is removed.
    def no_locks(descriptor, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    source = tmp_path / "remote"
    first = worker_resources._copy_to_local(remote_model(source, "v1"))
    second = worker_resources._copy_to_local(remote_model(source, "version 2"))
    assert (first / "tagger.json").read_text() == "v1"
    assert (second / "tagger.json").read_text() == "version 2"
    assert worker_resources._copy_to_local(str(source)) == second
