"""``beamtagger tag --model NAME=DIR --model NAME=DIR``: several models in one pass, each
model's files what a run of it alone with ``--output PREFIX-NAME`` writes, its summary counts
what that run counts, the reruns, refusals and faults of one model applied to each prefix."""
import errno
import json
import os

import pytest

from beamtagger.pipeline import tag_models
from beamtagger.tests.conftest import run_tag_command

# The second record is chunked and stitched (--chunk 8), the third is empty, the last longer
# than --max-record-chars: a dead letter of stage tokenize, every model's.
TEXTS = ["The cat sat on the mat .", " ".join(["the dog ran home"] * 5), "",
         "A bird flew over Boston .", "word " * 30]
OPTIONS = ("--chunk", "8", "--overlap", "2", "--max-record-chars", "100")


@pytest.fixture(scope="module")
def models(tiny_tagger, entity_tagger, binary_tagger):
    """{name: model folder}: the tiny tagger, an entity tagger and a flag tagger, all bound to
    the tiny tagger's store (the same seed's vectors: one fingerprint)."""
    return {"upos": tiny_tagger.model_dir, "ner": entity_tagger.model_dir,
            "flag": binary_tagger.model_dir}


@pytest.fixture
def text(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("".join(f"{line}\n" for line in TEXTS), encoding="utf-8")
    return path


def _tag(capsys, store, text, output, *args):
    return run_tag_command(capsys, "--embeddings", store, "--input", str(text), "--output",
                           str(output), *OPTIONS, *args)


def _files(folder, prefix):
    """{kind: sorted lines} of a prefix's result and error files (records are in no
    particular order, and the runner decides how they fall into shards)."""
    found = {"results": [], "errors": []}
    for path in sorted(folder.glob(f"{prefix}-*-of-*")):
        kind = "errors" if path.name.startswith(f"{prefix}-errors-") else "results"
        found[kind] += path.read_text(encoding="utf-8").splitlines()
    return {kind: sorted(lines) for kind, lines in found.items()}


def test_each_model_writes_and_counts_what_its_own_run_does(
        tiny_tagger, models, text, tmp_path, capsys):
    store = tiny_tagger.store_path
    together = tmp_path / "together"
    # The plain tagger is left out: the entity and flag taggers are what the writers and the
    # threshold treat apart, and each model compared costs a run of its own.
    models = {name: models[name] for name in ("ner", "flag")}
    code, out, err = _tag(capsys, store, text, together / "run", "--model",
                          f"ner={models['ner']}", "--model", f"flag={models['flag']}",
                          "--threshold", "flag=0.3",
                          "--max-dead-letters", "0", "--summary-json",
                          str(tmp_path / "together.json"))
    # Every model has the tokenize dead letter: each is past the limit as its run alone is.
    assert code == 3, err
    assert [line for line in err.splitlines() if "--max-dead-letters" in line] == [
        f"beamtagger tag: model {name}: 1 of the 5 records read could not be tagged (20%), "
        "more than --max-dead-letters 0; the results and the dead letters are written"
        for name in models]
    together_json = json.loads((tmp_path / "together.json").read_text())
    alone_json = {}
    for name, model_dir in models.items():
        threshold = ("--threshold", "0.3") if name == "flag" else ()
        summary = tmp_path / f"{name}.json"
        code, _, err = _tag(capsys, store, text, tmp_path / "alone" / f"run-{name}", "--model",
                            model_dir, *threshold, "--max-dead-letters", "0", "--summary-json",
                            str(summary))
        assert code == 3, err
        alone_json[name] = json.loads(summary.read_text())
        # The same records and dead letters, the entity tagger's entities included.
        assert _files(together, f"run-{name}") == _files(tmp_path / "alone", f"run-{name}")
    assert '"entities"' in _files(together, "run-ner")["results"][0]
    assert len(_files(together, "run-flag")["errors"]) == 1
    # Each model's part of --summary-json is its own run's summary, counts and all: no
    # counter of one model's steps is added to another's (they share their names). Its
    # wall_seconds and runtime are the run's: without them a script written for a one-model
    # summary failed on a model's part.
    for name, alone in alone_json.items():
        part = together_json["models"][name]
        assert part["model"] == models[name]
        for key in ("wall_seconds", "runtime"):
            assert part[key] == together_json[key]
            del alone[key], part[key]
        for key in ("results", "dead_letter_files"):
            alone[key] = [os.path.basename(path) for path in alone[key]]
            part[key] = [os.path.basename(path) for path in part[key]]
        assert {key: value for key, value in part.items() if key != "model"} == alone
    assert together_json["records_read"] == 5 and together_json["tokens"] == 33
    assert together_json["models"]["flag"]["threshold"] == {"value": 0.3,
                                                            "set_by": "--threshold"}
    assert [together_json[key] for key in ("records_tagged", "dead_letters", "results",
                                           "dead_letter_files", "threshold")] == [None] * 5
    # The summary: the shared lines once, then each model's own.
    lines = out.splitlines()
    assert [line.split()[0] for line in lines if line.startswith(("records read", "tokens"))] \
        == ["records", "tokens"]
    assert [line for line in lines if line.startswith("records tagged")] == [
        "records tagged              4"] * 2
    assert [line.split()[:2] for line in lines if line.startswith("model ")
            and line.split()[1].endswith(":")][-2:] == [["model", f"{name}:"] for name in models]


def _earlier_files(folder):
    """An earlier run's files under out/run-upos and out/run-ner."""
    folder.mkdir()
    earlier = {}
    for name in ("upos", "ner"):
        earlier[f"run-{name}-00000-of-00001.jsonl"] = f'{{"id": "{name}"}}\n'
        earlier[f"run-{name}-errors-00000-of-00001.jsonl"] = ""
    for file_name, content in earlier.items():
        (folder / file_name).write_text(content)
    return earlier


def _listing(folder):
    return {path.name: path.read_text() for path in folder.iterdir() if path.is_file()}


def test_reruns_refuse_replace_and_put_back_every_models_files_together(
        tiny_tagger, models, text, tmp_path, capsys, monkeypatch):
    from beamtagger.pipeline import output_lock, tag_pipeline

    store, out = tiny_tagger.store_path, tmp_path / "out"
    earlier = _earlier_files(out)
    two = ("--model", f"upos={models['upos']}", "--model", f"ner={models['ner']}")
    # Every model whose prefix holds files is named: naming the first alone, a user who
    # moved upos's away was refused again for ner's.
    refused = (f"models upos and ner: --output {out}/run-upos and {out}/run-ner already hold "
               f"the files of an earlier run ({out}/run-upos-00000-of-00001.jsonl and 3 more)")
    code, _, err = _tag(capsys, store, text, out / "run", *two)
    assert code == 2 and refused + "; choose another prefix, or pass --overwrite" in err, err
    # --overwrite whose run fails once it has published part of its files (a full disk):
    # this run's files go, and both models' earlier files come back as they were.
    published = []

    def full_disk(job, options, models=None):
        for model_job in models.values():
            published.append(f"{model_job.output_prefix}-00000-of-00001.jsonl")
            with open(published[-1], "w") as new:
                new.write('{"id": "new"}\n')
        assert _listing(out).keys() == {os.path.basename(path) for path in published}
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tag_pipeline, "run_tag_job", full_disk)
    code, _, err = _tag(capsys, store, text, out / "run", *two, "--overwrite")
    assert code == 1 and f"cannot write --output {out}/run: No space left" in err, err
    assert len(published) == 2 and _listing(out) == earlier
    # A run killed outright while it replaced them left one model's set aside: put back.
    aside = out / ".run-ner.tag-replaced"
    aside.mkdir()
    for file_name in [name for name in earlier if name.startswith("run-ner")]:
        os.rename(out / file_name, aside / file_name)
    code, stdout, err = _tag(capsys, store, text, out / "run", *two)
    assert [line for line in stdout.splitlines() if line.startswith("put back")] == [
        "put back         2 file(s) of an earlier run that a killed run was replacing (model "
        f"ner: {out}/run-ner)"] and code == 2, err
    assert _listing(out) == earlier and not aside.exists()
    # One prefix's earlier run killed outright (its lock left): the refusal says whose.
    (out / ".run-upos.tag-lock").mkdir()
    code, _, err = _tag(capsys, store, text, out / "run", *two)
    assert code == 2 and (refused + ", killed before it ended (under model upos): they may be "
                          "incomplete") in err, err
    os.rmdir(out / ".run-upos.tag-lock")
    # One model's prefix alone holds files: its line as before, the model named.
    for file_name in [name for name in earlier if name.startswith("run-upos")]:
        os.remove(out / file_name)
        del earlier[file_name]
    code, _, err = _tag(capsys, store, text, out / "run", *two)
    assert code == 2 and (f"error: model ner: --output {out}/run-ner already holds the files "
                          f"of an earlier run ({out}/run-ner-00000-of-00001.jsonl and 1 more);"
                          ) in err, err
    # Another run writing one of the prefixes: refused before anything is read or removed.
    with output_lock.held(str(out / "run-ner"), "--output", "tag", "prefix"):
        code, _, err = _tag(capsys, store, text, out / "run", *two, "--overwrite")
    assert code == 2 and f"model ner: --output {out}/run-ner is being written by another" in err
    assert _listing(out) == earlier


@pytest.mark.parametrize("args, refusal", [
    (("--model", "{upos}", "--model", "{ner}"),
     "--model: the name 'model' is given twice; name each model: --model NAME=DIR"),
    (("--model", "ner={upos}", "--model", "NER={ner}"),
     "--model: the names 'NER' and 'ner' differ only in case"),
    (("--model", "run={upos}", "--model", "errors={ner}"),
     "model errors: --output {out}-errors: its results would be named as the dead letters of "
     "a run writing {out}"),
    (("--model", "upos={upos}", "--model", "flag={flag}", "--threshold", "0.3"),
     "--threshold 0.3: with named models (--model NAME=DIR), give it as NAME=X for the flag "
     "tagger it is for "
     "(flag: --threshold flag=0.3)"),
    (("--model", "upos={upos}", "--model", "flag={flag}", "--threshold", "upos=0.3"),
     "model upos: --threshold: model {upos} is not a binary tagger"),
    (("--model", "upos={upos}", "--model", "ner={ner}", "--threshold", "pii=0.3"),
     "--threshold pii=0.3: no --model is named 'pii' (models: upos, ner)"),
    (("--model", "upos={upos}", "--model", "ner={ner}", "--output-format", "spans"),
     "model upos: --output-format spans writes entities, and the model's labels"),
])
def test_what_several_models_refuse_before_launch(tiny_tagger, models, text, tmp_path, capsys,
                                                  args, refusal):
    out = tmp_path / "out" / "run"
    args = [arg.format(**models, out=out) for arg in args]
    code, _, err = _tag(capsys, tiny_tagger.store_path, text, out, *args)
    assert code == 2 and refusal.format(**models, out=out) in err, err
    assert not (tmp_path / "out").exists()


def test_output_to_standard_output_is_refused_with_several_models(tiny_tagger, models, text,
                                                                  capsys):
    code, _, err = _tag(capsys, tiny_tagger.store_path, text, "-", "--model",
                        f"upos={models['upos']}", "--model", f"ner={models['ner']}")
    assert code == 2 and "--output - writes one model's results, and --model names several" \
        in err, err


def test_model_arguments_name_the_models():
    given = tag_models.models_given
    assert given(None, None) == (None, None, ())
    assert given(["models/ner"], [0.3, 0.4]) == ("models/ner", 0.4, ())
    assert given(["upos=bundled", "gs://b/models/ner/", "models/pii"], [("pii", 0.3)]) == (
        None, None, (tag_models.NamedModel("upos", None), tag_models.NamedModel(
            "ner", "gs://b/models/ner/"), tag_models.NamedModel("pii", "models/pii", 0.3)))
    # One named model is named: its files are PREFIX-NAME's.
    assert given(["ner=models/ner"], None)[2] == (tag_models.NamedModel("ner", "models/ner"),)
    with pytest.raises(Exception, match=r"its folder's name 'my\.model' is no model name"):
        given(["a=x", "dir/my.model"], None)


def test_a_folder_given_as_dot_is_named_by_the_folder_it_names(tmp_path, monkeypatch):
    # "." and "./" were named '.', which is no name: --model . was refused.
    (tmp_path / "ner" / "sub").mkdir(parents=True)
    (tmp_path / "my.model").mkdir()
    monkeypatch.chdir(tmp_path / "ner")
    for value in (".", "./", "sub/..", str(tmp_path / "ner") + "/"):
        assert tag_models.models_given(["upos=bundled", value], None)[2][1] == (
            tag_models.NamedModel("ner", value))
    monkeypatch.chdir(tmp_path / "my.model")
    with pytest.raises(Exception, match=r"--model \./: its folder's name 'my\.model' is no "
                                         r"model name \(1 to 64 ASCII letters.*NAME=\./"):
        tag_models.models_given(["upos=bundled", "./"], None)



def test_an_empty_model_value_beside_others_asks_for_a_folder(tmp_path, monkeypatch):
    # It was named by the working directory, then refused as "--model : give the model's
    # folder after the = (or DIRNAME=bundled ...)": no = was given, and no model is DIRNAME.
    (tmp_path / "run").mkdir()
    monkeypatch.chdir(tmp_path / "run")
    with pytest.raises(Exception) as refused:
        tag_models.models_given(["upos=bundled", ""], None)
    assert str(refused.value) == ("--model '': give a model's folder (or NAME=bundled for "
                                  "the bundled model)")

def test_bundled_beside_a_folder_named_bundled_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bundled").mkdir()
    with pytest.raises(Exception, match=r"--model upos=bundled is ambiguous here: .* write "
                                         r"--model upos=\./bundled for that folder"):
        tag_models.models_given(["upos=bundled", "ner=models/ner"], None)
    assert tag_models.models_given(["upos=./bundled", "ner=models/ner"], None)[2][0] == (
        tag_models.NamedModel("upos", "./bundled"))


def test_the_dry_run_of_a_dataflow_job_builds_with_two_models():
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.pipeline.tag_pipeline import TagJob, run_tag_job

    options = PipelineOptions([
        "--runner=DataflowRunner", "--dry_run=True", "--project=beamtagger-test",
        "--region=us-central1", "--temp_location=gs://beamtagger-test/tmp", "--no_auth"])
    accelerator = "type:nvidia-l4;count:1;install-nvidia-driver"
    job = TagJob("gs://beamtagger-test/in/*.txt", "gs://beamtagger-test/out/r",
                 accelerator=accelerator)
    models = {name: TagJob(job.input_pattern, f"{job.output_prefix}-{name}",
                           accelerator=accelerator) for name in ("upos", "pos")}
    result, _ = run_tag_job(job, options, models)
    components = result.job.proto_pipeline.components
    names = {t.unique_name for t in components.transforms.values()}
    assert {"TagText/Tokenize", "TagText/AttachVectors", "TagText/Tag[upos]",
            "TagText/Tag[pos]", "WriteResults[upos]", "WriteDeadLetters[pos]"} <= names
    assert "TagText/Tag" not in names and "WriteResults" not in names
    hinted = sorted(t.unique_name for t in components.transforms.values()
                    if t.environment_id and "beam:resources:accelerator:v1" in
                    components.environments[t.environment_id].resource_hints
                    and t.unique_name.count("/") == 1)
    assert hinted == ["TagText/Tag[pos]", "TagText/Tag[upos]"]


@pytest.mark.parametrize("output, refusal", [
    ("{out}/", "--output {out}/: give a prefix of file names"),
    ("{out}/.", "--output {out}/.: give a prefix of file names"),
    ("{out}/r*", "--output {out}/r*: a prefix cannot hold *, ? or [ ]"),
])
def test_the_output_prefix_given_is_checked_as_for_one_model(tiny_tagger, models, text,
                                                             tmp_path, capsys, output, refusal):
    # Each model's prefix adds "-NAME" to --output: "out/" made it "out/-upos", whose files
    # (out/-upos-00000-of-00001.jsonl) were written where one model's run is refused.
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = _tag(capsys, tiny_tagger.store_path, text, output.format(out=out),
                        "--model", f"upos={models['upos']}", "--model", f"ner={models['ner']}")
    assert code == 2 and err.startswith(f"beamtagger tag: error: {refusal.format(out=out)}"), err
    assert not any(out.iterdir())


def test_dataflow_refuses_a_local_path_naming_the_option_as_given(models, text, capsys):
    # The input, the output and the store are every model's: a refusal of one of them named
    # the first model, and --output as that model's prefix, which the user did not give.
    remote = ("--runner=DataflowRunner", "--dry_run=True", "--no_auth",
              "--project=beamtagger-test", "--region=us-central1",
              "--temp_location=gs://beamtagger-test/tmp")
    two = ("--model", "upos=gs://beamtagger-test/m/upos", "--model",
           "ner=gs://beamtagger-test/m/ner")
    for args, refusal in [
            (("--input", str(text), "--output", "gs://beamtagger-test/out/r"),
             f"--input {text} is a local path"),
            (("--input", "gs://beamtagger-test/in.txt", "--output", "out/r"),
             "--output out/r is a local path"),
            (("--input", "gs://beamtagger-test/in.txt", "--output", "gs://beamtagger-test/r",
              "--embeddings", "store"), "--embeddings store is a local path"),
            (("--input", "gs://beamtagger-test/in.txt", "--output", "gs://beamtagger-test/r",
              "--model", f"pii={models['flag']}"), f"model pii: --model {models['flag']} is a "
                                                   "local path")]:
        code, _, err = run_tag_command(capsys, *args, *two, *remote)
        assert code == 2 and err.startswith(f"beamtagger tag: error: {refusal}"), err
