"""Staged copies of gs:// models and stores live in a folder only their user can write: in a
shared temp dir, one ``beamtagger-staged`` for every user let another user plant a "copy" under
the name a listing hashes to, which runs then loaded as the model or store. The name carries
the user id in ``BEAMTAGGER_STAGING`` too: users naming one shared disk there got one folder,
and the first user's refused every other."""
import os
import stat
import tempfile

import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.transforms import worker_resources

pytestmark = pytest.mark.skipif(not hasattr(os, "getuid"), reason="no user ids (Windows)")


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("BEAMTAGGER_STAGING", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(worker_resources, "_HELD_COPIES", {}, raising=False)
    return tmp_path


def remote_model(folder):
    folder.mkdir()
    (folder / "tagger.json").write_text("a model")
    return str(folder)


def test_copies_in_the_temp_dir_go_to_a_folder_of_the_users_own(temp_dir, tmp_path):
    copy = worker_resources._copy_to_local(remote_model(tmp_path / "remote-model"))
    root = temp_dir / f"beamtagger-staged-{os.getuid()}"
    assert copy.parent.parent == root
    assert stat.S_IMODE(os.stat(root).st_mode) & 0o077 == 0
    assert (copy / "tagger.json").read_text() == "a model"


@pytest.mark.parametrize("planted, problem", [
    ("writable", "is writable by other users"),
    ("link", "is no folder (a link or a file)"),
    ("other user's", "belongs to another user (uid {real})"),
])
def test_a_staging_folder_others_could_write_is_refused_before_anything_is_read_from_it(
        temp_dir, tmp_path, monkeypatch, planted, problem):
    uid = real = os.getuid()
    problem = problem.format(real=real)
    if planted == "other user's":
        uid += 1   # the folder this user made is another's to the user it pretends to be
        monkeypatch.setattr(os, "getuid", lambda: uid)
    root = temp_dir / f"beamtagger-staged-{uid}"
    if planted == "link":
        (temp_dir / "elsewhere").mkdir()
        root.symlink_to(temp_dir / "elsewhere")
    else:
        root.mkdir()
        os.chmod(root, 0o777 if planted == "writable" else 0o700)
    with pytest.raises(BeamtaggerError) as refused:
        worker_resources._copy_to_local(remote_model(tmp_path / "remote-model"))
    assert str(refused.value) == (
        f"staging folder {root} {problem}: a copy there could have been put there by someone "
        "else; remove it, or set BEAMTAGGER_STAGING to a folder of your own")


def test_two_users_naming_one_staging_disk_get_a_folder_each(tmp_path, monkeypatch):
    shared = tmp_path / "shared-disk"
    shared.mkdir()
    monkeypatch.setenv("BEAMTAGGER_STAGING", str(shared))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(worker_resources, "_HELD_COPIES", {}, raising=False)
    model = tmp_path / "remote-model"
    model.mkdir()
    (model / "tagger.json").write_text("a model")

    first = worker_resources._copy_to_local(str(model))
    assert first.parent.parent == shared / f"beamtagger-staged-{os.getuid()}"
    other_user = os.getuid() + 1
    monkeypatch.setattr(os, "getuid", lambda: other_user)
    # The other user's folder is not the first's (which would refuse it: not its own).
    assert not (shared / worker_resources.staging_folder_name()).exists()
