"""Review of the private staging folder (worker_resources._staging_root), for the lead to fix:
BEAMTAGGER_STAGING named by several users (a larger disk the machine's users share) gave them
one ``beamtagger-staged`` folder, so the first user's 0700 folder refused every other user."""
import os
import tempfile

import pytest

from beamtagger.transforms import worker_resources

pytestmark = pytest.mark.skipif(not hasattr(os, "getuid"), reason="no user ids (Windows)")


def test_two_users_naming_one_staging_folder_each_stage_their_copies(tmp_path, monkeypatch):
    shared = tmp_path / "shared-disk"
    shared.mkdir()
    monkeypatch.setenv("BEAMTAGGER_STAGING", str(shared))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(worker_resources, "_HELD_COPIES", {}, raising=False)
    model = tmp_path / "remote-model"
    model.mkdir()
    (model / "tagger.json").write_text("a model")

    first = worker_resources._copy_to_local(str(model))
    other_user = os.getuid() + 1   # the folder the first made is another's to this one
    monkeypatch.setattr(os, "getuid", lambda: other_user)
    second = worker_resources._copy_to_local(str(model))   # refused: "belongs to another user"
    assert first.parent != second.parent
    assert (second / "tagger.json").read_text() == "a model"
