"""The check for local input names Beam's ``*`` skips (audit): hidden names, symlink loops,
the other characters patterns treat specially, and every record read once."""
import threading

import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline.tag_inputs import _check_no_name_skipped
from beamtagger.tests.conftest import run_tag_command


def _checked(pattern):
    """Beam's matches of ``pattern``, after the check (which raises where one is skipped)."""
    from apache_beam.io.filesystems import FileSystems

    matched = FileSystems.match([pattern])[0].metadata_list
    _check_no_name_skipped(pattern, matched)
    return sorted(metadata.path for metadata in matched)


def test_a_hidden_name_with_a_backslash_is_refused(tmp_path):
    # Beam's * matches hidden names, Python's glob does not: it never saw the file Beam skipped.
    (tmp_path / ".a\\b").write_text("one .\n", encoding="utf-8")
    (tmp_path / "c").write_text("two .\n", encoding="utf-8")
    with pytest.raises(BeamtaggerError, match=r"matches .*\.a\\b, which Beam's file matching"):
        _checked(str(tmp_path / "*"))


def test_a_name_ending_in_a_backslash_is_refused(tmp_path):
    (tmp_path / "x\\").write_text("one .\n", encoding="utf-8")
    with pytest.raises(BeamtaggerError, match=r"x\\, which Beam's file matching skips"):
        _checked(str(tmp_path / "*"))


def test_other_pattern_characters_in_names_are_matched_by_star(tmp_path):
    names = ["[y]", "a?b", "{z}", "s*t", "~u", "é.txt"]
    for name in names:
        (tmp_path / name).write_text("one .\n", encoding="utf-8")
    assert _checked(str(tmp_path / "*")) == sorted(str(tmp_path / n) for n in names)


def test_symlinks_to_a_parent_folder_end_the_check(tmp_path):
    # Two links up: glob's ** followed them 2**40 ways (473,550 paths in 20 s, no end).
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ok.txt").write_text("one .\n", encoding="utf-8")
    for link in ("up", "up2"):
        (tmp_path / "sub" / link).symlink_to("..")
    found = []
    checking = threading.Thread(target=lambda: found.append(_checked(str(tmp_path / "**"))),
                                daemon=True)
    checking.start()
    checking.join(timeout=10)
    assert found == [[str(tmp_path / "sub" / "ok.txt")]]


def test_hidden_files_are_tagged_once_under_star_and_double_star(
        capsys, tmp_path, tiny_tagger):
    folder = tmp_path / "d"
    (folder / "e").mkdir(parents=True)
    (folder / ".hidden").write_text("one .\n", encoding="utf-8")
    (folder / "e" / "seen").write_text("two .\nthree .\n", encoding="utf-8")
    model = ["--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
             "--input-format", "text"]
    for pattern, records in (("*", 1), ("**", 3)):
        code, out, err = run_tag_command(capsys, "--input", str(folder / pattern), "--output",
                                         str(tmp_path / pattern.replace("*", "s")), *model)
        assert code == 0, err
        assert f"records read {records:>16}" in out
