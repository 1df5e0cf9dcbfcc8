"""``bundled`` names the bundled model wherever the command line takes a model
(``model_argument``): ``tag --model``, ``evaluate --model`` and ``--seen-entities-of``, ``model
info``, ``model set-threshold``, as ``train --init-from`` and ``tag --model NAME=`` did; a
folder of that name in the working directory is refused alike everywhere."""
import json

import pytest

from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR, SPEC_FILE
from beamtagger.pipeline import cli, tag_command, tag_models


def _cli(capsys, *argv):
    try:
        code = cli.main([str(arg) for arg in argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_model_info_bundled_is_the_bundled_models_description(capsys):
    code, out, err = _cli(capsys, "model", "info", "bundled", "--json")
    assert code == 0, err
    assert json.loads(out)["model"] == str(DEFAULT_MODEL_DIR)
    assert out == _cli(capsys, "model", "info", "--json")[1]
    assert out == _cli(capsys, "model", "info", DEFAULT_MODEL_DIR, "--json")[1]


def test_evaluate_reads_the_bundled_model_for_bundled(capsys):
    """Both stopped before --data is read: by a check that needs the model loaded."""
    code, _, err = _cli(capsys, "evaluate", "--model", "bundled", "--thresholds", "0.5",
                        "--data", "no-such-corpus")
    assert code == 2 and f"--thresholds: {DEFAULT_MODEL_DIR} is not a binary tagger" in err, err
    code, _, err = _cli(capsys, "evaluate", "--seen-entities-of", "bundled",
                        "--data", "no-such-corpus")
    assert code == 2 and "error: bundled keeps no training entities" in err, err


def test_set_threshold_on_bundled_is_refused_as_no_binary_tagger(capsys):
    spec = (DEFAULT_MODEL_DIR / SPEC_FILE).read_bytes()
    code, _, err = _cli(capsys, "model", "set-threshold", "bundled", "0.3")
    assert code == 2 and f"{DEFAULT_MODEL_DIR} is not a binary tagger" in err, err
    assert (DEFAULT_MODEL_DIR / SPEC_FILE).read_bytes() == spec


def _tag_args(*models):
    argv = ["tag", "--input", "in.txt", "--output", "out/tags"]
    for model in models:
        argv += ["--model", model]
    args = tag_command.with_models_given(cli.build_parser().parse_args(argv))
    return {name: value for name, value in vars(args).items() if name != "_parser"}


def test_tag_model_bundled_is_the_run_without_model():
    # The same arguments build the same job: the same files, summary and summary JSON.
    assert _tag_args("bundled") == _tag_args()
    assert _tag_args("bundled")["model"] is None
    assert tag_models.models_given(["bundled", "ner=models/ner"], None)[2] == (
        tag_models.NamedModel("bundled", None), tag_models.NamedModel("ner", "models/ner"))
    # A folder of that name, written as a path, is that folder.
    assert tag_models.models_given(["./bundled"], None)[0] == "./bundled"


@pytest.mark.parametrize("argv, written", [
    (["tag", "--input", "in.txt", "--output", "out/tags", "--model", "bundled"],
     "--model {}"),
    (["tag", "--input", "in.txt", "--output", "out/tags", "--model", "bundled",
      "--model", "ner=models/ner"], "--model {}"),
    (["evaluate", "--model", "bundled", "--data", "d.conllu"], "--model {}"),
    (["evaluate", "--seen-entities-of", "bundled", "--data", "d.conllu"],
     "--seen-entities-of {}"),
    (["model", "info", "bundled"], "model info {}"),
    (["model", "set-threshold", "bundled", "0.3"], "model set-threshold {} THRESHOLD"),
])
def test_bundled_beside_a_folder_of_that_name_is_refused_in_every_command(
        argv, written, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bundled").mkdir()
    code, _, err = _cli(capsys, *argv)
    assert code == 2 and err.count("\n") == 1, err
    assert (f"{written.format('bundled')} is ambiguous here: it names the bundled model, and "
            f"{tmp_path / 'bundled'} is here too; write {written.format('./bundled')} for that "
            f"folder, or {written.format(DEFAULT_MODEL_DIR)} for the bundled model") in err, err
