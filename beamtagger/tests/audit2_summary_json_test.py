"""tag --summary-json PATH on its unhappy paths: a PATH whose removal at the start or whose
replacement at the end would take away something other than an earlier summary is refused
before launch, and a run refused for any reason leaves no earlier summary."""
import os

import pytest

from beamtagger.tests.conftest import run_tag_command

_EARLIER = '{"exit_status": 0, "records_read": 5}'


@pytest.fixture
def tag(capsys, tmp_path, tiny_tagger):
    (tmp_path / "a.txt").write_text("The cat sat .\n", encoding="utf-8")

    def run(summary, *args):
        return run_tag_command(capsys, "--model", tiny_tagger.model_dir, "--embeddings",
                               tiny_tagger.store_path, "--input", str(tmp_path / "a.txt"),
                               "--summary-json", str(summary), *args)
    return run


def test_a_result_file_name_is_refused_before_the_run_writes_it(tag, tmp_path):
    # Before: exit 0, and the summary replaced the only result file it listed.
    (tmp_path / "out").mkdir()
    code, out, err = tag(tmp_path / "out" / "run-00000-of-00001.jsonl",
                         "--output", str(tmp_path / "out" / "run"))
    assert code == 2 and "one of this run's result or error files" in err, err
    assert "records read" not in out and list((tmp_path / "out").iterdir()) == []


def test_an_input_file_named_by_mistake_is_kept_and_refused(tag, tmp_path):
    # Before: the input was deleted as an earlier summary, then the run refused (no input).
    code, _, err = tag(tmp_path / "a.txt", "--output", str(tmp_path / "out" / "run"))
    assert code == 2 and "is not an earlier beamtagger summary" in err, err
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "The cat sat .\n"


def test_a_fifo_a_link_and_a_dash_are_refused_and_left_as_they_are(tag, tmp_path, monkeypatch):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "kept.json").write_text(_EARLIER, encoding="utf-8")
    os.symlink(tmp_path / "kept.json", tmp_path / "link.json")
    monkeypatch.chdir(tmp_path)   # "-" named the file ./-
    # Before: each became a regular file (the link's target kept the earlier summary).
    for path, said in (("fifo", "not a regular file"), ("link.json", "symbolic link"),
                       ("-", "name a local file"), ("gs://b/s.json", "name a local file")):
        code, out, err = tag(path, "--output", str(tmp_path / "out" / "run"))
        assert code == 2 and said in err and "Traceback" not in err, (path, err)
        assert "records read" not in out
    assert os.path.islink(tmp_path / "link.json") and not os.path.lexists(tmp_path / "-")
    assert (tmp_path / "kept.json").read_text(encoding="utf-8") == _EARLIER
    assert not (tmp_path / "fifo").is_file()


def test_a_run_refused_for_its_options_leaves_no_earlier_summary(tag, tmp_path):
    summary = tmp_path / "night.json"
    summary.write_text(_EARLIER, encoding="utf-8")
    # Before: refused (exit 2) with the earlier night's summary left in place.
    code, _, err = tag(summary, "--output", str(tmp_path / "out" / "run"),
                       "--runner=NoSuchRunner")
    assert code == 2 and "unknown --runner" in err
    assert not summary.exists()
