"""A link placed beside tag's --output prefix by someone else (a prefix in a shared folder such
as /tmp) must not make a run move or delete files elsewhere."""
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline.tag_outputs import put_back_replaced_outputs


def test_a_linked_set_aside_folder_is_refused_and_its_target_untouched(tmp_path):
    victim, shared = tmp_path / "victim", tmp_path / "shared"
    victim.mkdir()
    shared.mkdir()
    (victim / "private.txt").write_text("secret")
    (shared / ".out.tag-replaced").symlink_to(victim)
    with pytest.raises(BeamtaggerError, match="tag-replaced is a symbolic link"):
        put_back_replaced_outputs(str(shared / "out"))
    assert (victim / "private.txt").read_text() == "secret"
    assert sorted(p.name for p in shared.iterdir()) == [".out.tag-replaced"]
