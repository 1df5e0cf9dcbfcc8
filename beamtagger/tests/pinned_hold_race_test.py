"""A pinned folder (``atomic_dirs.linked_copy``) is held before it has its pinned name: where
every run is PID 1 (containers sharing a volume), another container's clean of abandoned
folders took a pinned folder of its own PID that it had not named for a dead run's, and
removed it in the moment between its making and its hold; the run then read a folder
copytree made again, unheld. It is made as ``.NAME.pinning-PID-RANDOM``, held, then renamed."""
import os
import pathlib
import shutil
import time

from beamtagger import atomic_dirs

TWO_DAYS = 2 * 24 * 3600


def as_another_container_s(folder):
    """``folder`` as a clean in another container sees it: PID 1 there too, a name it did
    not make."""
    atomic_dirs._NAMED_HERE.discard(pathlib.Path(folder).name)


def test_a_clean_in_the_moment_before_the_hold_leaves_the_pinned_folder(tiny_tagger, tmp_path,
                                                                      monkeypatch):
    model = shutil.copytree(tiny_tagger.model_dir, tmp_path / "m")
    held_folder = atomic_dirs.held_folder
    removed = []

    def cleaned_before_held(folder, exclusive=False):
        as_another_container_s(folder)
        removed.extend(atomic_dirs.clean_abandoned(tmp_path))
        return held_folder(folder, exclusive)

    monkeypatch.setattr(atomic_dirs, "held_folder", cleaned_before_held)
    with atomic_dirs.linked_copy(model) as pinned:
        assert removed == []
        as_another_container_s(pinned)
        assert atomic_dirs.clean_abandoned(tmp_path) == []   # held: not a dead run's
        assert (pinned / "tagger.keras").samefile(model / "tagger.keras")
    assert sorted(os.listdir(tmp_path)) == ["m"]


def test_a_folder_a_kill_left_before_its_pinned_name_is_removed_after_a_day(tmp_path):
    left = [tmp_path / f".m.pinning-{os.getpid()}-{n}123abcd" for n in range(2)]
    for folder in left:
        folder.mkdir()
        as_another_container_s(folder)
    days_ago = time.time() - TWO_DAYS
    os.utime(left[1], (days_ago, days_ago))
    assert atomic_dirs.clean_abandoned(tmp_path) == [left[1].name]
    assert left[0].is_dir()
