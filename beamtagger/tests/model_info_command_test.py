"""``beamtagger model info``: what a model tags, the store it reads, its training, its checks."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR, MODEL_FILE, REPORT_FILE
from beamtagger.pipeline import cli


def model_info(capsys, *args):
    try:
        code = cli.main(["model", "info", *map(str, args)])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_bundled_model_described_in_text_and_json(capsys, tiny_tagger):
    # Against the tiny store: whatever store this machine has, the answer is the same.
    code, out, err = model_info(capsys, "--embeddings", tiny_tagger.store_path)
    assert "(the bundled model)" in out
    assert "17 labels, tag column upos: ADJ ADP" in out
    assert "dev accuracy 95.78%" in out
    assert "the model file is whole" in out
    assert f"{tiny_tagger.store_path} (--embeddings) does NOT match" in out
    assert "50-dimensional" in out
    assert code == 0, "a store that does not match describes the model; it fails no check"

    code, out, _ = model_info(capsys, "--json", "--embeddings", tiny_tagger.store_path)
    description = json.loads(out)
    spec = json.loads((DEFAULT_MODEL_DIR / "tagger.json").read_text())
    assert description["task"]["labels"] == spec["labels"]
    assert description["task"]["decoding"] == "argmax"
    assert description["vectors"] == spec["binding"]
    assert description["store"]["matches"] is False
    assert description["training"]["best_epoch"] == json.loads(
        (DEFAULT_MODEL_DIR / REPORT_FILE).read_text())["best_epoch"]
    assert description["checks"] == {"ok": True, "problem": None}


def test_entity_tagger_and_its_own_store(capsys, entity_tagger):
    code, out, _ = model_info(capsys, entity_tagger.model_dir, "--embeddings",
                              entity_tagger.store_path)
    assert code == 0
    assert "5 BIO labels, 2 entity types: loc, per" in out
    assert "constrained Viterbi" in out
    assert f"{entity_tagger.store_path} matches (--embeddings)" in out
    # build_tiny_tagger's report records no corpus: said, not left out or a traceback.
    assert "trained on:    not recorded in training_report.json" in out


def test_damaged_model_file_fails_its_check_after_the_description(capsys, tiny_tagger,
                                                                  tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_tagger.model_dir, model)
    data = bytearray((model / MODEL_FILE).read_bytes())
    (model / MODEL_FILE).write_bytes(bytes(data[:len(data) // 2]))
    (model / REPORT_FILE).write_text("{not json", encoding="utf-8")
    code, out, err = model_info(capsys, model, "--embeddings", tiny_tagger.store_path)
    assert code == 1
    assert "labels:" in out and "matches (--embeddings)" in out
    assert "checks:        FAILED:" in out and "damaged" in out
    assert f"trained on:    {REPORT_FILE} is unreadable" in out
    assert "Traceback" not in err


def test_a_store_given_that_is_none_is_refused_and_a_damaged_default_one_shown(
        capsys, tiny_tagger, tmp_path, monkeypatch):
    code, out, err = model_info(capsys, tiny_tagger.model_dir, "--embeddings", tmp_path)
    assert code == 2 and out == "" and "not an embedding store" in err

    cache = tmp_path / "cache"
    (cache / "glove-6b-50d").mkdir(parents=True)   # a default store that is not one
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(cache))
    code, out, err = model_info(capsys, tiny_tagger.model_dir)
    assert code == 0
    assert "glove-6b-50d cannot be opened: " in out and "(the default store)" in out


@pytest.mark.parametrize("what", ["store", "model file", "missing", "interrupted training"])
def test_what_is_not_a_model_is_named(capsys, tiny_tagger, tmp_path, what):
    from beamtagger.model.train_state import state_folder

    target = {"store": tiny_tagger.store_path,
              "model file": os.path.join(tiny_tagger.model_dir, MODEL_FILE),
              "missing": tmp_path / "nothing-here",
              "interrupted training": tmp_path / "models" / "ner"}[what]
    if what == "interrupted training":
        state_folder(target).mkdir(parents=True)
    code, out, err = model_info(capsys, target)
    assert code == 2 and out == ""
    expected = {"store": f"is an embedding store, not a model: beamtagger embeddings info "
                         f"{tiny_tagger.store_path}",
                "model file": f"is a file, not a model directory; give its folder, "
                              f"{tiny_tagger.model_dir}",
                "missing": "does not exist",
                "interrupted training": "run the same train command again to resume it"}[what]
    assert expected in err
    assert "Traceback" not in err


def test_describes_without_tensorflow_keras_or_beam():
    # model info is for checking many models quickly: a TensorFlow import costs seconds each.
    probe = ("import json, sys\n"
             "from beamtagger.pipeline import cli\n"
             "code = cli.main(['model', 'info', '--json'])\n"
             "print(json.dumps([code] + [name in sys.modules for name in "
             "('tensorflow', 'keras', 'apache_beam', 'jax')]))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=120)
    *description, verdict = result.stdout.strip().splitlines()
    assert json.loads("\n".join(description))["checks"]["ok"] is True
    assert json.loads(verdict) == [0, False, False, False, False], result.stderr


def test_a_threshold_that_is_no_probability_is_refused(capsys, tiny_tagger, tmp_path):
    # A tagger.json saved before content digests (none to catch the edit) with NaN in it: the
    # sigmoid head's comparison with NaN made no token positive.
    model = tmp_path / "model"
    shutil.copytree(tiny_tagger.model_dir, model)
    spec = json.loads((model / "tagger.json").read_text())
    spec.pop("content_sha256", None)
    spec["decoding"]["threshold"] = float("nan")
    (model / "tagger.json").write_text(json.dumps(spec), encoding="utf-8")
    code, out, err = model_info(capsys, model)
    assert code == 2 and out == ""
    assert "decoding.threshold must be a number from 0 to 1, not NaN" in err
