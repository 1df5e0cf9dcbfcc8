"""A long-lived process (a notebook, a launcher, a service) given a remote model or store saved
again and again at one path: it holds the copies in use plus the newest, not one per save.

The remote path is ``faultyfs://`` (a Beam file system over the local disk, as ``gs://`` would
be); each save writes the files anew, with a modification time of its own, so each is another
listing and is staged again.
"""
import gc
import os
import shutil
import threading

import numpy as np
import pytest

from beamtagger.model.model_inputs import ModelInputs
from beamtagger.tests.faulty_filesystem import PREFIX
from beamtagger.transforms import worker_resources

pytest.importorskip("fcntl", reason="copies are kept where there is no fcntl")
SAVES = 4


@pytest.fixture
def staging(tmp_path, monkeypatch):
    """A staging folder of this test's, with this process holding no copy yet."""
    from beamtagger.tests.faulty_filesystem import FaultyFileSystem

    FaultyFileSystem.heal()
    monkeypatch.setenv("BEAMTAGGER_STAGING", str(tmp_path / "staging"))
    for name in ("_LOCAL_COPIES", "_HELD_COPIES", "_COPY_USES"):
        monkeypatch.setattr(worker_resources, name, {})
    for name in ("_KEPT_FOR_LIFE", "_KEEP_NEWEST"):
        monkeypatch.setattr(worker_resources, name, set(), raising=False)
    return tmp_path / "staging" / worker_resources.staging_folder_name()


def save(source, remote, save_number):
    """``source`` written anew at ``remote``, as a save there does (a listing of its own)."""
    shutil.rmtree(remote, ignore_errors=True)
    shutil.copytree(source, remote, copy_function=shutil.copyfile)
    for folder, _, files in os.walk(remote):
        for name in files:
            os.utime(os.path.join(folder, name), (1_000_000 + save_number,) * 2)
    return PREFIX + str(remote)


def copies(staging):
    return sorted(folder.name for folder in staging.iterdir()
                  if not folder.name.startswith(".")) if staging.exists() else []


def open_descriptors(staging):
    """How many of this process's descriptors are open on files in the staging folder (the
    copies' locks): only those, since pytest and Beam open and close others meanwhile."""
    if not os.path.isdir("/proc/self/fd"):
        return None
    held = 0
    for descriptor in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{descriptor}")
        except OSError:   # closed since it was listed
            continue
        held += target.startswith(str(staging.parent))
    return held


def test_a_store_saved_again_leaves_its_newest_copy_once_older_stores_are_dropped(
        tiny_tagger, staging, tmp_path):
    # Each save was staged and held for the process's life (its lock file open too): a
    # notebook re-running a pipeline over a store saved again filled the disk, a copy a run.
    remote = tmp_path / "remote-store"
    path = save(tiny_tagger.store_path, remote, 0)
    store = worker_resources.open_store(path)
    descriptors = open_descriptors(staging)
    assert descriptors is None or descriptors >= 1   # the copy's lock: else none could leak
    for save_number in range(1, SAVES + 1):
        save(tiny_tagger.store_path, remote, save_number)
        store = worker_resources.open_store(path)   # the store before it dropped
        gc.collect()
    worker_resources.open_store(path)   # the last dropped store's use is released here
    assert len(copies(staging)) == 1
    assert store.path == str(staging / copies(staging)[0] / "copy")
    assert open_descriptors(staging) == descriptors


def test_a_store_still_open_keeps_its_copy_and_reads_it(tiny_tagger, staging, tmp_path):
    remote = tmp_path / "remote-store"
    path = save(tiny_tagger.store_path, remote, 0)
    old = worker_resources.open_store(path)
    save(tiny_tagger.store_path, remote, 1)
    new = worker_resources.open_store(path)
    assert len(copies(staging)) == 2
    # The old store reads its vocabulary when first asked: its files must still be there.
    assert np.array_equal(old.rows(["the", "cat"]), new.rows(["the", "cat"]))
    del old
    gc.collect()
    worker_resources.open_store(path)
    assert len(copies(staging)) == 1
    assert new.rows(["dog"]).shape == (1,)


def test_a_model_saved_again_leaves_its_newest_copy(tiny_tagger, staging, tmp_path):
    # TagText's stages load their model through loaded_runner and load_spec: each save of a
    # remote model they were given was held for the process's life.
    remote = tmp_path / "remote-model"
    runners = []
    for save_number in range(SAVES):
        path = save(tiny_tagger.model_dir, remote, save_number)
        runners.append(worker_resources.loaded_runner(path, "numpy"))
        assert worker_resources.load_spec(path).labels == runners[-1].spec.labels
    assert len(copies(staging)) == 1
    for runner in runners:   # loaded: none reads its model's files any more
        inputs = ModelInputs.zeros(runner.spec.input_dims, [3, 2], "float32")
        assert runner.predict(inputs).shape[:2] == (2, 3)


def test_local_path_keeps_what_it_hands_out(tiny_tagger, staging, tmp_path):
    # Its callers read the copy whenever they like: it is never removed under them.
    remote = tmp_path / "remote-model"
    handed_out = worker_resources.local_path(save(tiny_tagger.model_dir, remote, 0))
    for save_number in range(1, 3):
        worker_resources.load_spec(save(tiny_tagger.model_dir, remote, save_number))
    assert (handed_out / "tagger.json").is_file()
    assert len(copies(staging)) == 2   # what local_path handed out, and the newest


def test_a_store_collected_while_the_lock_is_held_does_not_deadlock(tiny_tagger, staging,
                                                                    tmp_path):
    # The garbage collector runs finalizers on whatever thread allocates, which may be one
    # holding the staging lock: a finalizer taking it there would wait for ever.
    path = save(tiny_tagger.store_path, tmp_path / "remote-store", 0)
    store = worker_resources.open_store(path)
    outcome = []

    def collect_under_the_lock():
        with worker_resources._LOCK:
            nonlocal store
            store = None
            gc.collect()
            outcome.append("collected")

    collector = threading.Thread(target=collect_under_the_lock, daemon=True)
    collector.start()
    collector.join(timeout=30)
    assert outcome == ["collected"]
    assert not worker_resources._RELEASED_USES.empty()   # queued, released by the next call
    save(tiny_tagger.store_path, tmp_path / "remote-store", 1)
    newest = worker_resources.open_store(path)
    assert worker_resources._RELEASED_USES.empty()
    assert newest.path == str(staging / copies(staging)[0] / "copy")
    assert len(copies(staging)) == 1
