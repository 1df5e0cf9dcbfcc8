"""A training state "folder" that is a file or a symbolic link (``.NAME.train-state`` beside
--out): refused in one line, --restart removes it. Before, a link had the state written into
the folder it names, and removing it renamed the link (or the file) aside and left it there,
beside the state left in the linked folder."""
import os

import pytest

from beamtagger.errors import BeamtaggerError

pytest.importorskip("tensorflow")


@pytest.mark.parametrize("kind", ["file", "symbolic link"])
def test_a_state_that_is_no_folder_is_refused_and_restart_removes_it(kind, tmp_path):
    from beamtagger.model.train_state import TrainingState, state_folder

    folder = state_folder(tmp_path / "m")
    (tmp_path / "elsewhere").mkdir()
    if kind == "file":
        folder.write_text("not a state\n")
    else:
        folder.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(BeamtaggerError) as refused:
        TrainingState(folder).resume({"options": {}})
    assert str(refused.value) == (
        f"the training state {folder} is a {kind}, not a folder train wrote; remove it, or add "
        "--restart to discard it and start over")
    lines = []
    assert TrainingState(folder, restart=True, log=lines.append).resume({"options": {}}) is None
    assert lines == [f"discarded the training state in {folder} (--restart)"]
    assert sorted(os.listdir(tmp_path)) == ["elsewhere"] and not os.listdir(tmp_path / "elsewhere")
