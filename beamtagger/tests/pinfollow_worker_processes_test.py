"""A model saved again over one a ``multi_processing`` run reads in place fails the run with
the workers' one line, exit 1: the worker processes' ReplacedSinceBuilt
(``transforms/built_against.py``) reaches the launcher as text, inside Beam's own error.

The model is read in place (nothing pinned: ``launch_files._pin`` finds nothing to pin, as
where neither links nor a copy can be made) and saved over once the pipeline is built, before
any worker process loads it."""
from beamtagger.pipeline import launch_files, tag_pipeline
from beamtagger.testing import build_tiny_tagger
from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.pinned_launch_files_test import launched, replaced_by  # noqa: F401


def test_a_model_saved_again_fails_a_two_process_run_in_one_line(
        launched, tmp_path, capsys, monkeypatch):  # noqa: F811
    model, store, text = launched
    other = build_tiny_tagger(tmp_path / "other", seed=8, store_path=store)
    monkeypatch.setattr(launch_files, "_pin", lambda *args: None)
    build = tag_pipeline.build_tag_pipeline

    def built_then_replaced(pipeline, job):
        built = build(pipeline, job)
        replaced_by(model, other.model_dir)
        return built

    monkeypatch.setattr(tag_pipeline, "build_tag_pipeline", built_then_replaced)
    code, _, err = run_tag_command(capsys, "--input", str(text), "--output",
                                   str(tmp_path / "out"), "--model", str(model),
                                   "--embeddings", str(store),
                                   "--direct_running_mode=multi_processing",
                                   "--direct_num_workers=2")
    assert code == 1, err
    assert err.strip().splitlines() == [
        f"beamtagger tag: error: model {model} was saved again after this pipeline was built "
        "(tagger.json differs): its workers would tag with two models; build the pipeline "
        "again to tag with the one there now (beamtagger tag: run it again), and publish new "
        "models at a new path"], err
    assert not list(tmp_path.glob("out-*"))
