"""--max-dead-letters: a run that wrote everything but left too many records untagged exits 3."""
import pytest

from beamtagger.tests.conftest import run_tag_command


@pytest.fixture
def one_record_too_long(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("The cat sat .\n" + "x" * 50 + "\nA dog ran .\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("limit, code", [("0", 3), ("1", 0), ("30%", 3), ("40%", 0)])
def test_the_exit_status_says_whether_the_dead_letters_passed_the_limit(
        capsys, tmp_path, tiny_tagger, one_record_too_long, limit, code):
    prefix = tmp_path / "run"
    got, out, err = run_tag_command(
        capsys, "--input", str(one_record_too_long), "--output", str(prefix), "--model",
        tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path, "--max-record-chars",
        "20", "--max-dead-letters", limit)
    assert got == code, err
    assert "dead letters                1" in out
    # Written either way: the limit says how the run went, it does not undo it.
    assert list(tmp_path.glob("run-0*-of-*.jsonl")) and list(tmp_path.glob("run-errors-*"))
    if code:
        assert err.strip().splitlines()[-1] == (
            f"beamtagger tag: 1 of the 3 records read could not be tagged (33.3%), more than "
            f"--max-dead-letters {limit}; the results and the dead letters are written")


@pytest.mark.parametrize("limit, code", [(None, 3), ("100%", 0)])
def test_a_run_that_tagged_none_of_its_records_exits_3_without_a_limit(
        capsys, tmp_path, tiny_tagger, limit, code):
    # It exited 0, and a scheduler went on with empty results.
    path = tmp_path / "in.txt"
    path.write_text("x" * 50 + "\n" + "y" * 50 + "\n", encoding="utf-8")
    got, out, err = run_tag_command(
        capsys, "--input", str(path), "--output", str(tmp_path / "run"), "--model",
        tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path, "--max-record-chars",
        "20", *(("--max-dead-letters", limit) if limit else ()))
    assert got == code, err
    assert "dead letters                2" in out
    if code:
        assert err.strip().splitlines()[-1] == (
            "beamtagger tag: none of the 2 records read could be tagged: see the dead letters; "
            "--max-dead-letters 100% lets such a run exit 0")


@pytest.mark.parametrize("limit", ["abc", "-1", "150%", "nan%", "1.5"])
def test_a_limit_that_is_no_count_or_percentage_is_refused(capsys, tmp_path, limit):
    code, _, err = run_tag_command(capsys, "--input", str(tmp_path / "x.txt"), "--output",
                                   str(tmp_path / "r"), "--max-dead-letters", limit)
    assert code == 2
    assert "give a count of records (0 or more) or a percentage of the records read" in err


def test_a_remote_run_is_refused_the_limit(capsys, tmp_path):
    code, _, err = run_tag_command(
        capsys, "--input", "gs://b/in.txt", "--output", "gs://b/out", "--max-dead-letters", "0",
        "--runner=DataflowRunner", "--project=p", "--region=us-central1",
        "--temp_location=gs://b/tmp")
    assert code == 2
    assert "--max-dead-letters applies to local runs" in err
