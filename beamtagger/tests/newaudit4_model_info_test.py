"""``beamtagger model info`` on what a hand edit, another tool or an earlier beamtagger leaves:
a training report of wrong types or with NaN, labels that are not plain words, many labels."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from beamtagger.model.tagger_spec import REPORT_FILE
from beamtagger.tests.compat_tagger_json_test import _saved_before_the_digest
from beamtagger.tests.model_info_command_test import model_info
from beamtagger.tests.model_spec_test import make_spec


def strict_json(text):
    """``text`` as JSON that other readers than Python's take: NaN and Infinity refused."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("report, expected", [
    ('{"best_dev": 5, "best_epoch": 3, "epochs": null, "train": []}',
     "trained on:    not recorded in training_report.json"),
    ('{"train": {"sentences": "many", "tokens": 12}, "best_epoch": 2, '
     '"best_dev": {"dev_f1": NaN}, "seconds": Infinity, "refit": {}}',
     "best epoch:    2: dev f1 not recorded"),
    ('{"train": {"sentences": 3, "tokens": 12}, "dev": {"sentences": null}, "parameters": true}',
     "trained on:    3 sentences, 12 tokens\n"),
], ids=["wrong-types", "nan-and-strings", "null-dev"])
def test_a_report_of_other_types_is_described_not_a_traceback(capsys, tiny_tagger, tmp_path,
                                                              report, expected):
    # The second was "ValueError: Cannot specify ',' with 's'." and --json printed NaN and
    # Infinity, which no JSON reader but Python's takes.
    model = tmp_path / "model"
    shutil.copytree(tiny_tagger.model_dir, model)
    (model / REPORT_FILE).write_text(report, encoding="utf-8")
    code, out, err = model_info(capsys, model, "--embeddings", tiny_tagger.store_path)
    assert (code, err) == (0, "") and expected in out
    assert "training took" not in out and "parameters" not in out
    code, out, err = model_info(capsys, model, "--json", "--embeddings", tiny_tagger.store_path)
    description = strict_json(out)
    assert code == 0 and description["network"]["parameters"] is None
    assert description["training"]["seconds"] is None


def test_labels_that_are_not_plain_words_are_quoted_and_many_are_cut(capsys, tmp_path,
                                                                     monkeypatch):
    # A CoNLL-U tag may hold a space or an escape, which reached the terminal as it was.
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "no-default-store"))
    odd = tmp_path / "odd"
    odd.mkdir()
    _saved_before_the_digest(odd, lambda data: None,
                             spec=make_spec(labels=["O", "NOUN PHRASE", "X\x1b[2J"]))
    code, out, _ = model_info(capsys, odd)
    assert "3 labels: O 'NOUN PHRASE' 'X\\x1b[2J'" in out and "\x1b" not in out
    assert code == 1, "its empty tagger.keras fails the checks"
    code, out, _ = model_info(capsys, odd, "--json")
    assert strict_json(out)["task"]["labels"] == ["O", "NOUN PHRASE", "X\x1b[2J"]

    many = tmp_path / "many"
    many.mkdir()
    _saved_before_the_digest(many, lambda data: None,
                             spec=make_spec(labels=[f"L{i}" for i in range(500)]))
    code, out, _ = model_info(capsys, many)
    assert "500 labels: L0 L1 " in out and " L19 ... (480 more)" in out
    code, out, _ = model_info(capsys, many, "--json")
    assert len(strict_json(out)["task"]["labels"]) == 500


def test_a_path_that_is_no_model_is_named_without_tensorflow(tmp_path):
    # The look for a killed training's state imported train_state, and with it Keras,
    # TensorFlow and JAX: 4.0 s to say "does not exist", where a model took 0.2 s.
    interrupted = tmp_path / "ner"
    (tmp_path / ".ner.train-state").mkdir()
    probe = ("import json, sys\n"
             "from beamtagger.pipeline import cli\n"
             "codes = [cli.main(['model', 'info', path]) for path in sys.argv[1:]]\n"
             "print(json.dumps(codes + [name in sys.modules for name in "
             "('tensorflow', 'keras', 'apache_beam', 'jax')]))\n")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "typo"),
                             str(interrupted)], capture_output=True, text=True, timeout=120)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [2, 2, False, False, False,
                                                                  False], result.stderr
    assert "typo does not exist" in result.stderr
    assert "run the same train command again to resume it" in result.stderr


def test_a_folder_this_user_cannot_read_is_refused_as_no_readable_model(capsys, tiny_tagger,
                                                                       monkeypatch):
    # Root reads any folder: the listing is refused as another user's permissions refuse it.
    # It was an OSError, whose exit 1 says "a check failed" to a script; docs: 2.
    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "scandir", denied)
    code, out, err = model_info(capsys, tiny_tagger.model_dir, "--embeddings",
                                tiny_tagger.store_path)
    assert (code, out) == (2, "")
    assert err == (f"beamtagger model: error: cannot read model {tiny_tagger.model_dir}: "
                   f"{tiny_tagger.model_dir}: Permission denied (EACCES)\n")
