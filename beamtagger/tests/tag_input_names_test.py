"""Input file names that Beam's matching would skip without a word."""
from beamtagger.tests.conftest import run_tag_command


def test_a_name_with_a_backslash_is_refused_not_skipped(capsys, tmp_path, tiny_tagger):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a\\b").write_text("one .\n", encoding="utf-8")
    (folder / "c").write_text("two .\n", encoding="utf-8")
    model = ["--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
             "--input-format", "text"]
    code, out, err = run_tag_command(capsys, "--input", str(folder / "*"), "--output",
                                     str(tmp_path / "run"), *model)
    assert code == 2 and out == ""
    assert f"matches {folder / 'a'}\\b, which Beam's file matching skips" in err
    assert not list(tmp_path.glob("run-*"))

    # ** matches it in Beam: both files' records are read.
    code, out, err = run_tag_command(capsys, "--input", str(folder / "**"), "--output",
                                     str(tmp_path / "all"), *model)
    assert code == 0, err
    assert "records read                2" in out
