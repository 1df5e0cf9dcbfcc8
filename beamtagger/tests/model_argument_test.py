"""``bundled`` names the bundled model wherever the command line takes a model
(``model_argument``): ``tag --model``, ``evaluate --model`` and ``--seen-entities-of``, ``model
info``, ``model set-threshold``, as ``train --init-from`` and ``tag --model NAME=`` did; a
folder of that name in the working directory is refused alike everywhere. ``bundled-ner``
names the bundled entity model by the same rule."""
import argparse
import json

import pytest

import beamtagger
from beamtagger.errors import BeamtaggerError
from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR, SPEC_FILE, TaggerSpec
from beamtagger.pipeline import cli, model_argument, tag_command, tag_models, tag_remote_paths

NER_MODEL_DIR = beamtagger.bundled_model("ner")


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


@pytest.mark.parametrize("word, folder, called", [
    ("bundled", DEFAULT_MODEL_DIR, "the bundled UPOS model"),
    ("bundled-ner", NER_MODEL_DIR, "the bundled entity model"),
])
@pytest.mark.parametrize("argv, written", [
    (["tag", "--input", "in.txt", "--output", "out/tags", "--model", "{}"], "--model {}"),
    (["tag", "--input", "in.txt", "--output", "out/tags", "--model", "{}",
      "--model", "other=models/other"], "--model {}"),
    (["tag", "--input", "in.txt", "--output", "out/tags", "--model", "upos=models/upos",
      "--model", "ner={}"], "--model ner={}"),
    (["evaluate", "--model", "{}", "--data", "d.conllu"], "--model {}"),
    (["evaluate", "--seen-entities-of", "{}", "--data", "d.conllu"],
     "--seen-entities-of {}"),
    (["model", "info", "{}"], "model info {}"),
    (["model", "set-threshold", "{}", "0.3"], "model set-threshold {} THRESHOLD"),
])
def test_bundled_beside_a_folder_of_that_name_is_refused_in_every_command(
        argv, written, word, folder, called, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / word).mkdir()
    code, _, err = _cli(capsys, *[arg.format(word) for arg in argv])
    assert code == 2 and err.count("\n") == 1, err
    assert (f"{written.format(word)} is ambiguous here: it names {called}, and "
            f"{tmp_path / word} is here too; write {written.format('./' + word)} for that "
            f"folder, or {written.format(folder)} for {called}") in err, err


def test_bundled_ner_names_the_bundled_entity_model_in_every_command(capsys, tmp_path):
    """Each stopped where what it read could only be the entity model: its 13 BIO labels
    against a corpus of POS tags, its training entities, its description."""
    ner = str(NER_MODEL_DIR)
    assert _tag_args("bundled-ner")["model"] == ner
    assert tag_models.models_given(["upos=bundled", "ner=bundled-ner"], None)[2] == (
        tag_models.NamedModel("upos", None), tag_models.NamedModel("ner", ner))
    pos_corpus = tmp_path / "pos.conll"
    pos_corpus.write_text("the\tDET\ncat\tNOUN\n\n", encoding="utf-8")

    code, _, err = _cli(capsys, "evaluate", "--model", "bundled-ner", "--data", pos_corpus,
                        "--format", "conll")
    assert code == 2 and f"none of its tags is a label of the model {ner} " in err, err
    # 'bundled' keeps no training entities (test_evaluate_reads_the_bundled_model_for_bundled):
    # this one does, and goes on to the corpus.
    code, _, err = _cli(capsys, "evaluate", "--seen-entities-of", "bundled-ner",
                        "--data", tmp_path / "no-such-corpus")
    assert code == 2 and "evaluation corpus" in err and "does not exist" in err, err

    code, out, err = _cli(capsys, "model", "info", "bundled-ner", "--json")
    assert code == 0, err
    description = json.loads(out)
    assert description["model"] == ner and description["bundled"] is True
    assert out == _cli(capsys, "model", "info", NER_MODEL_DIR, "--json")[1]

    code, _, err = _cli(capsys, "train", "--train", pos_corpus, "--dev", pos_corpus,
                        "--format", "conll", "--out", tmp_path / "tuned",
                        "--init-from", "bundled-ner")
    assert code == 2 and "are not labels of --init-from bundled-ner, whose 13 labels" in err, err
    assert not (tmp_path / "tuned").exists()


def test_tag_help_names_both_words():
    parser = argparse.ArgumentParser()
    tag_command.add_arguments(parser)
    [model] = [action for action in parser._actions if "--model" in action.option_strings]
    assert ("bundled names the bundled UPOS tagger and bundled-ner the bundled entity tagger "
            "(WNUT-17), as DIR or NAME=DIR") in " ".join(model.help.split())


def test_the_library_names_the_bundled_models_and_the_words_get_a_hint(tmp_path,
                                                                        monkeypatch):
    assert beamtagger.bundled_model("upos") == DEFAULT_MODEL_DIR == beamtagger.bundled_model()
    assert beamtagger.bundled_model("ner") == NER_MODEL_DIR and NER_MODEL_DIR.is_dir()
    with pytest.raises(ValueError, match=r"no bundled model for 'pos'; the bundled models "
                       r"are 'upos': .*; 'ner': "):
        beamtagger.bundled_model("pos")
    monkeypatch.chdir(tmp_path)   # where no folder has either name
    with pytest.raises(BeamtaggerError) as refused:
        TaggerSpec.load("bundled-ner")
    assert str(refused.value) == (
        "model directory bundled-ner does not exist; the word bundled-ner (no ./, no "
        "trailing /) names the bundled entity model on the command line; in Python its "
        "folder is beamtagger.bundled_model('ner')")
    with pytest.raises(BeamtaggerError, match=r"does not exist; the word bundled .* names the "
                       r"bundled UPOS model .* beamtagger.bundled_model\('upos'\), or leave model_dir out$"):
        TaggerSpec.load("bundled")
    with pytest.raises(BeamtaggerError, match=r"^model directory elsewhere does not exist$"):
        TaggerSpec.load("elsewhere")


@pytest.mark.parametrize("models, expected", [
    (["bundled-ner"], {None: "ner"}),
    (["upos=bundled", "ner=bundled-ner"], {"upos": None, "ner": "ner"}),
    ([f"ner={NER_MODEL_DIR}"], {"ner": "ner"}),
    # As the workers read it; before, refused "(or leave it out for the default)": POS tags.
    ([f"file://{NER_MODEL_DIR}"], {None: "ner"}),
    # The UPOS model's folder by any spelling is the run with no --model, as its plain path.
    ([f"upos=file://{DEFAULT_MODEL_DIR}", "ner=bundled-ner"], {"upos": None, "ner": "ner"}),
])
def test_bundled_ner_on_dataflow_is_the_bundled_model_by_name_not_a_local_folder(models,
                                                                                  expected):
    # Refused before ("a folder on this machine, which Dataflow workers cannot read: copy it to
    # a bucket"): each worker reads its own package's folder, as it reads the UPOS model's.
    # The dry run and the workers' side: bundled_models_on_workers_test.
    from beamtagger.bundled_models import BundledModel

    argv = ["tag", "--input", "gs://b/in/*.txt", "--output", "gs://b/out/r"]
    args = tag_command.with_models_given(cli.build_parser().parse_args(
        argv + [arg for model in models for arg in ("--model", model)]))
    job = tag_command.build_job(args, remote=True)
    model_jobs = tag_models.model_jobs_of(job, args.models, remote=True)
    remote = {name: model_job.model_dir for name, model_job in model_jobs.items()}
    assert remote == {name: task and BundledModel(task) for name, task in expected.items()}
    tag_remote_paths.check_reachable_by_workers(job, model_jobs)   # no refusal
    assert tag_models.model_shown(BundledModel("ner")) == "(the bundled entity model)"
    # A local run reads the folder as given (and pins it for the run).
    from beamtagger.transforms.worker_resources import local_path

    local = {model_job.model_dir for model_job in tag_models.model_jobs_of(
        tag_command.build_job(args), args.models).values()} - {None}
    assert all(isinstance(model_dir, str) for model_dir in local), local
    assert NER_MODEL_DIR in {local_path(model_dir) for model_dir in local}


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_train_out_a_bundled_models_folder_is_refused_and_leaves_it_as_it_was(
        capsys, tmp_path, monkeypatch, overwrite):
    """With --overwrite the trained model replaced the installed bundled-ner; without, the
    refusal said to add --overwrite. A copy stands in for the package's folder, so the code
    before the check wrote over the copy, not the package."""
    import shutil

    from beamtagger import bundled_models

    copy = tmp_path / "installed-ner"
    shutil.copytree(NER_MODEL_DIR, copy)
    monkeypatch.setitem(bundled_models.BUNDLED_MODELS, "ner",
                        (copy, *bundled_models.BUNDLED_MODELS["ner"][1:]))
    before = {path.name: path.read_bytes() for path in copy.iterdir()}
    corpus = tmp_path / "ner.conll"
    corpus.write_text("London\tB-location\nis\tO\nbig\tO\n\n", encoding="utf-8")
    code, _, err = _cli(capsys, "train", "--train", corpus, "--dev", corpus, "--format", "conll",
                        "--epochs", "1", "--out", f"{copy}/", *overwrite)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert (f"--out {copy}/ is the folder of the bundled entity model (bundled-ner) in the "
            "installed package") in err, err
    assert {path.name: path.read_bytes() for path in copy.iterdir()} == before


@pytest.mark.parametrize("argv", [["model", "info", "./bundled-ner"],
                                  ["model", "info", "bundled-ner/"],
                                  ["tag", "--input", "in.txt", "--output", "out/r",
                                   "--model", "./bundled-ner"]])
def test_a_path_spelling_of_a_word_is_told_the_word_not_told_it_is_python_only(
        capsys, tmp_path, monkeypatch, argv):
    # It said "bundled-ner names the bundled entity model on the command line only: in
    # Python ...", to a user on the command line.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("London .\n", encoding="utf-8")
    code, _, err = _cli(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert ("model directory bundled-ner does not exist; the word bundled-ner (no ./, no "
            "trailing /) names the bundled entity model on the command line") in err, err


def test_the_summary_names_the_bundled_entity_model_as_it_names_the_upos_one():
    assert tag_models.model_shown(None) == "(the bundled model)"
    assert tag_models.model_shown(str(NER_MODEL_DIR)) == "(the bundled entity model)"
    assert tag_models.model_shown("models/ner") == "models/ner"


@pytest.mark.parametrize("argv, written", [
    (["evaluate", "--model", "", "--data", "no-such-corpus"], "--model ''"),
    (["evaluate", "--seen-entities-of", "", "--data", "no-such-corpus"], "--seen-entities-of ''"),
    (["model", "info", ""], "model info ''"),
    (["tag", "--input", "no-such.txt", "--output", "out/r", "--model", ""], "--model ''"),
])
def test_an_empty_model_argument_is_refused_not_read_as_left_out(argv, written, capsys,
                                                                 tmp_path, monkeypatch):
    # evaluate and model info took '' for "left out" and used the bundled model; tag read it as
    # the working directory ("'.' is not a tagger model").
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(capsys, *argv)
    assert code == 2, err
    assert (f"{written}: give a model's folder, or bundled or bundled-ner for a bundled model"
            in err), err


@pytest.mark.parametrize("make, what", [
    (lambda path: path.write_text("notes"), "file"),
    (lambda path: path.symlink_to("elsewhere"), "link"),
])
def test_the_ambiguity_refusal_names_a_file_or_link_as_what_it_is(make, what, tmp_path,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    make(tmp_path / "bundled-ner")
    with pytest.raises(BeamtaggerError, match=rf"write model info \./bundled-ner for that "
                                              rf"{what}, or "):
        model_argument.model_dir_named("bundled-ner", written_as="model info {}")
