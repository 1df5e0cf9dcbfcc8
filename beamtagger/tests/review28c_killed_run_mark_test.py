"""The lock folder a run killed outright left on a ``tag`` prefix, which tells the next runs
that the files there may be part of that run's only (review of session 28's operator fixes)."""
import os

from beamtagger.tests.conftest import run_tag_command


def test_files_of_a_killed_run_are_called_maybe_incomplete_by_every_run_until_replaced(
        tiny_tagger, text_in, tmp_path, capsys):
    # Reproduced: SIGKILL once the results were renamed into place, before the dead letters
    # were. The next run said 'killed before it ended: they may be incomplete'; it removed the
    # lock folder as it was refused, and the run after it (a retry, the next night) called
    # the same files 'the files of an earlier run', as though whole.
    out_dir = tmp_path / "out"
    (out_dir / ".run.tag-lock").mkdir(parents=True)
    (out_dir / "run-00000-of-00001.jsonl").write_text('{"id": "killed"}\n')
    tag = ("--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
           "--input", str(text_in), "--output", str(out_dir / "run"))
    for _ in range(2):
        code, _, err = run_tag_command(capsys, *tag)
        assert code == 2 and "may be incomplete" in err, err
    code, _, err = run_tag_command(capsys, *tag, "--overwrite")
    assert code == 0, err
    assert sorted(os.listdir(out_dir)) == ["run-00000-of-00001.jsonl",
                                           "run-errors-00000-of-00001.jsonl"]
    code, _, err = run_tag_command(capsys, *tag)   # its own files, whole: no mark left
    assert code == 2 and "earlier run" in err and "incomplete" not in err, err


def test_a_mark_kept_only_where_the_holder_asks_and_the_block_fails(tmp_path):
    import pytest

    from beamtagger.pipeline import output_lock

    output = tmp_path / "model"
    mark = tmp_path / ".model.train-lock"
    mark.mkdir()   # a killed run's
    with pytest.raises(RuntimeError), output_lock.held(output, "--out", "train", "x") as hold:
        assert hold
        raise RuntimeError   # train, embeddings import: the mark is not theirs to keep
    assert not mark.exists()
    mark.mkdir()
    with pytest.raises(RuntimeError), output_lock.held(output, "--out", "train", "x") as hold:
        hold.mark_stays = True
        raise RuntimeError
    assert mark.is_dir()
    with output_lock.held(output, "--out", "train", "x") as hold:
        assert hold
        hold.mark_stays = True
    assert not mark.exists()
