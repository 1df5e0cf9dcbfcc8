"""The ``beamtagger`` executable exits without interpreter teardown but loses no output."""
import subprocess
import sys


def test_piped_output_and_exit_code_survive_the_fast_exit(tmp_path):
    # Piped streams are block-buffered: without the flush before os._exit this message is lost.
    done = subprocess.run(
        [sys.executable, "-m", "beamtagger", "tag", "--input", str(tmp_path / "none-*.txt"),
         "--output", str(tmp_path / "out" / "r"), "--progress-every", "0"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "no input files match" in done.stderr
    assert not (tmp_path / "out").exists()


def test_scikit_learn_is_unavailable_only_while_a_tag_run_runs(monkeypatch):
    from beamtagger.pipeline.tag_command import _without_scikit_learn

    monkeypatch.delitem(sys.modules, "sklearn", raising=False)
    with _without_scikit_learn():
        try:
            import sklearn  # noqa: F401
        except ImportError:
            pass
        else:
            raise AssertionError("keras would import scikit-learn during the run")
    assert "sklearn" not in sys.modules  # importable again afterwards
    already = object()
    monkeypatch.setitem(sys.modules, "sklearn", already)
    with _without_scikit_learn():
        assert sys.modules["sklearn"] is already  # imported before: left alone


def test_the_garbage_collector_runs_less_often_only_while_a_tag_run_runs():
    import gc

    from beamtagger.pipeline.tag_command import (YOUNG_COLLECTION_THRESHOLD,
                                                 _fewer_garbage_collections)

    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with _fewer_garbage_collections():
        assert gc.get_threshold() == (max(before[0], YOUNG_COLLECTION_THRESHOLD), *before[1:])
        assert gc.get_freeze_count() > 0   # what was alive before the run is never walked
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    gc.freeze()   # frozen by someone else: stays frozen
    try:
        frozen = gc.get_freeze_count()
        with _fewer_garbage_collections():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
