"""A ``beamtagger tag`` run tags with the model, threshold and store it was launched with: one
written over ``--model`` or ``--embeddings`` once the run's checks are done is not read by its
workers (``pipeline/launch_files.py``), and one written during the checks stops the run.

Deterministic and in-process: the replacement is made where the run builds its pipeline
(``run_tag_job``), after the checks and before any worker loads, or inside the checks."""
import errno
import json
import pathlib
import shutil

import pytest

from beamtagger import atomic_dirs
from beamtagger.model import saving
from beamtagger.pipeline import tag_command, tag_pipeline
from beamtagger.testing import TinyTagger, build_tiny_tagger
from beamtagger.tests.conftest import run_tag_command

TEXTS = ("the cat sat on the mat .", "they went home yesterday !", "a dog , a cat and apples")


@pytest.fixture
def launched(tiny_tagger, tmp_path):
    """(the model folder and store folder the run is given, the input file)."""
    model, store = tmp_path / "m", tmp_path / "s"
    shutil.copytree(tiny_tagger.model_dir, model)
    shutil.copytree(tiny_tagger.store_path, store)
    text = tmp_path / "in.txt"
    text.write_text("".join(line + "\n" for line in TEXTS), encoding="utf-8")
    return model, store, text


def replaced_by(folder, source):
    """Publishes a copy of ``source`` over ``folder`` as train --overwrite and embeddings
    import --overwrite do (renamed into place)."""
    building = folder.parent / f"new-{folder.name}"
    shutil.copytree(source, building)
    atomic_dirs.publish(building, folder, overwrite=True)


def after_the_checks(monkeypatch, replace):
    original = tag_pipeline.run_tag_job

    def run_tag_job(job, options):
        replace()
        return original(job, options)

    monkeypatch.setattr(tag_pipeline, "run_tag_job", run_tag_job)


def tagged_labels(output_prefix):
    labels = {}
    for path in sorted(pathlib.Path(output_prefix).parent.glob("out-0*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            labels[record["id"]] = [token["label"] for token in record["tokens"]]
    return [labels[f"in.txt:{number}"] for number in range(1, len(TEXTS) + 1)]


def expected_labels(model_dir, store_path):
    tiny = TinyTagger(str(model_dir), str(store_path))
    return [tiny.labels(text) for text in TEXTS]


def tag_labels(capsys, text, out, model, store):
    """The labels ``beamtagger tag`` gives ``text``'s lines, with the run's exit status 0."""
    code, _, err = run_tag_command(capsys, "--input", str(text), "--output", str(out),
                                   "--model", str(model), "--embeddings", str(store))
    assert code == 0, err
    return tagged_labels(out)


def test_a_model_saved_over_the_launched_one_is_not_read(launched, tmp_path, capsys,
                                                         monkeypatch):
    model, store, text = launched
    other = build_tiny_tagger(tmp_path / "other", seed=8, store_path=store)
    expected = expected_labels(shutil.copytree(model, tmp_path / "launched"), store)
    assert expected != expected_labels(other.model_dir, store)   # the test can tell them apart
    after_the_checks(monkeypatch, lambda: replaced_by(model, other.model_dir))
    assert tag_labels(capsys, text, tmp_path / "out", model, str(store)) == expected
    assert not list(tmp_path.glob(".m.pinned-*"))   # the run's links are gone with it


def test_a_threshold_set_after_launch_is_not_read(tmp_path, capsys, monkeypatch):
    binary = build_tiny_tagger(tmp_path / "binary", binary_label=("VERB",))
    model = pathlib.Path(binary.model_dir)
    text = tmp_path / "in.txt"
    text.write_text("".join(line + "\n" for line in TEXTS), encoding="utf-8")
    expected = expected_labels(shutil.copytree(model, tmp_path / "launched"), binary.store_path)
    raised = shutil.copytree(model, tmp_path / "raised")
    saving.set_threshold(raised, 1.0)
    assert expected != expected_labels(raised, binary.store_path)
    after_the_checks(monkeypatch, lambda: saving.set_threshold(model, 1.0))
    assert tag_labels(capsys, text, tmp_path / "out", model, binary.store_path) == expected


def test_a_store_imported_over_the_launched_one_is_not_read(launched, tmp_path, capsys,
                                                            monkeypatch):
    # A store of other vectors failed the run at the workers' first load, its line naming
    # --allow-other-embeddings; with that flag the new vectors would have been looked up.
    model, store, text = launched
    other = build_tiny_tagger(tmp_path / "other", seed=9)
    expected = expected_labels(model, shutil.copytree(store, tmp_path / "launched"))
    after_the_checks(monkeypatch, lambda: replaced_by(store, other.store_path))
    assert tag_labels(capsys, text, tmp_path / "out", model, str(store)) == expected
    assert not list(tmp_path.glob(".s.pinned-*"))


def test_a_model_replaced_during_the_checks_stops_the_run(launched, tmp_path, capsys,
                                                         monkeypatch):
    model, store, text = launched
    other = build_tiny_tagger(tmp_path / "other", seed=8, store_path=store)
    check_job = tag_command.check_job

    def checked_then_replaced(*args, **kwargs):
        earlier = check_job(*args, **kwargs)
        replaced_by(model, other.model_dir)
        return earlier

    monkeypatch.setattr(tag_command, "check_job", checked_then_replaced)
    code, out, err = run_tag_command(capsys, "--input", str(text), "--output",
                                     str(tmp_path / "out"), "--model", str(model),
                                     "--embeddings", str(store))
    assert code == 2
    assert err.strip().splitlines() == [
        f"beamtagger tag: error: model {model} was replaced while this run was being checked "
        "(a train, model set-threshold or embeddings import writing it?); nothing was tagged: "
        "run again once it is written"]
    assert not list(tmp_path.glob("out-*")) and not list(tmp_path.glob(".m.pinned-*"))


def test_without_hard_links_the_model_is_copied(launched, tmp_path, capsys, monkeypatch):
    # A model folder in a folder this user may not write: no links beside it.
    model, store, text = launched
    other = build_tiny_tagger(tmp_path / "other", seed=8, store_path=store)
    expected = expected_labels(shutil.copytree(model, tmp_path / "launched"), store)

    def no_links(path, **_):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic_dirs, "linked_copy", no_links)
    after_the_checks(monkeypatch, lambda: replaced_by(model, other.model_dir))
    code, _, err = run_tag_command(capsys, "--input", str(text), "--output",
                                   str(tmp_path / "out"), "--model", str(model),
                                   "--embeddings", str(store))
    assert code == 0, err
    assert tagged_labels(tmp_path / "out") == expected
    assert "warning" not in err   # the store read in place: a shared store's usual case
