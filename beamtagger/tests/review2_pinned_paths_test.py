"""Pinning ``--model`` and ``--embeddings`` (``pipeline/launch_files.py``) for the paths users
give that name a folder without naming it: ``.``, ``m/..``, where the hidden folder of links
is named from the path's last part."""
import shutil

from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.pinned_launch_files_test import TEXTS, expected_labels, tagged_labels


def test_the_model_given_as_the_current_folder_is_pinned_beside_it(tiny_tagger, tmp_path,
                                                                   capsys, monkeypatch):
    # "." has no last part: the links were made in ".." inside the model folder itself, which
    # the run then saw as a model changed as it started (exit 2, "was replaced").
    model = shutil.copytree(tiny_tagger.model_dir, tmp_path / "m")
    text = tmp_path / "in.txt"
    text.write_text("".join(line + "\n" for line in TEXTS), encoding="utf-8")
    monkeypatch.chdir(model)
    code, _, err = run_tag_command(capsys, "--input", str(text), "--output",
                                   str(tmp_path / "out"), "--model", ".",
                                   "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    assert tagged_labels(tmp_path / "out") == expected_labels(model, tiny_tagger.store_path)
    assert not list(model.glob(".*")) and not list(tmp_path.glob(".m.pinned-*"))
