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


def test_a_pattern_without_a_folder_matches_in_the_working_folder(capsys, tmp_path,
                                                                    monkeypatch, tiny_tagger):
    # Beam 2.78 matched nothing for "*.txt" (its folder "" lists no file): "no input files
    # match *.txt" in the very folder holding them.
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to

    from beamtagger.transforms.reading import ReadRecords

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("one .\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("two .\n", encoding="utf-8")
    code, out, err = run_tag_command(capsys, "--input", "*.txt", "--output", "out/run",
                                     "--model", tiny_tagger.model_dir, "--embeddings",
                                     tiny_tagger.store_path)
    assert code == 0, err
    assert "records read                2" in out
    with beam.Pipeline() as pipeline:
        read = pipeline | ReadRecords("*.txt")
        assert_that(read.records | beam.Map(lambda record: (record.id, record.text)),
                    equal_to([("a.txt:1", "one ."), ("b.txt:1", "two .")]))
