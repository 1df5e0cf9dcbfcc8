"""The bundled entity model on remote runners: ``tag --model bundled-ner`` (one model or several,
the word or the folder's path) and ``bundled_model("ner")`` given to the transforms reach
Dataflow's workers as ``BundledModel("ner")``, pickled as its task, never as this machine's
site-packages path; each worker reads the folder of its own installed package, and one whose
``tagger.json`` is not the launching machine's fails with one line instead of tagging with
other weights. The model left out (no ``--model``, ``model_dir=None``) is the bundled UPOS
model, recorded so too. Checked on Dataflow dry runs (nothing leaves the machine): the job's
pickled DoFns are read back as a worker reads them, ``bundled_model`` pointing at another
folder."""
import base64
import bz2
import errno
import json
import os
import pickle
import shutil
import zlib

import pytest

import beamtagger
from beamtagger import bundled_models
from beamtagger.bundled_models import BundledModel, bundled_reference
from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR, SPEC_FILE
from beamtagger.pipeline import cli
from beamtagger.tests.dfuser_gpu_launch_test import DATAFLOW
from beamtagger.tests.gcs_emulated_test import (BUCKET, EXAMPLE,  # noqa: F401  (fixtures)
                                                gcs)
from beamtagger.transforms import worker_resources
from beamtagger.transforms.built_against import ReplacedSinceBuilt

NER = beamtagger.bundled_model("ner")


def _payloads(proto_pipeline):
    """{step name: its DoFn's pickled bytes, as the workers get them} of a job's graph."""
    from apache_beam.portability import common_urns
    from apache_beam.portability.api import beam_runner_api_pb2

    found = {}
    for transform in proto_pipeline.components.transforms.values():
        if transform.spec.urn == common_urns.primitives.PAR_DO.urn:
            payload = beam_runner_api_pb2.ParDoPayload.FromString(transform.spec.payload)
            raw = base64.b64decode(payload.do_fn.payload)
            # Beam's picklers compress with bz2 or zlib.
            found[transform.unique_name] = (bz2.decompress(raw) if raw.startswith(b"BZh")
                                            else zlib.decompress(raw))
    return found


def _no_launcher_path_in(proto_pipeline):
    """The pickled DoFns that hold the entity model, after checking none holds a path of this
    machine's bundled models."""
    payloads = _payloads(proto_pipeline)
    for folder in (NER, DEFAULT_MODEL_DIR):
        assert not [name for name, raw in payloads.items()
                    if folder.name.encode() in raw or str(folder).encode() in raw], folder
    return {name: raw for name, raw in payloads.items() if b"BundledModel" in raw}


def _tag_step_on_a_worker(store, capsys, monkeypatch, tmp_path, task, *model):
    """(the tag step as a worker unpickles it, that worker's copy of the ``task`` model) of a
    Dataflow dry run given ``model`` (none: the model left out), whose model-reading steps
    hold no path of the launching machine. ``store``: the emulated Cloud Storage (``gcs``)."""
    store.put(EXAMPLE, "corpus/example.txt")
    code, _, err, graph = _dry_run(capsys, monkeypatch, *model)
    assert code == 0, err
    holding = _no_launcher_path_in(graph)
    assert {name.split("/")[-1] for name in holding} == {
        "ParDo(_TagFn)", "ParDo(_StitchGroupFn)", "ParDo(_AttachVectorsFn)"}, holding
    source = NER if task == "ner" else DEFAULT_MODEL_DIR
    installed = shutil.copytree(source, tmp_path / f"site-packages-{task}")
    tag_fn = next(raw for name, raw in holding.items() if name.endswith("(_TagFn)"))
    return _unpickled_where(installed, tag_fn, monkeypatch, task=task), installed


def _unpickled_where(folder, payload, monkeypatch, task="ner"):
    """The DoFn ``payload`` as a worker whose package holds the ``task`` model in ``folder``
    reads it (Beam's cloudpickle writes standard pickles). The UPOS model is also the one a
    step given no model (None) reads (``DEFAULT_MODEL_DIR``)."""
    from beamtagger.model import tagger_spec

    monkeypatch.setitem(bundled_models.BUNDLED_MODELS, task,
                        (folder, *bundled_models.BUNDLED_MODELS[task][1:]))
    if task == "upos":
        monkeypatch.setattr(tagger_spec, "DEFAULT_MODEL_DIR", folder)
    return next(part for part in pickle.loads(payload) if hasattr(part, "model_dir"))


def _fails_in_one_line_on_other_files(worker_fn, installed, called, task):
    """Loads ``worker_fn``'s model as the worker does: its package's copy ``installed`` passes
    as it is, and fails in one line once its ``tagger.json`` is not the launcher's."""
    spec = worker_resources.load_spec(worker_fn.model_dir, worker_fn.built_against)
    assert spec.labels == worker_resources.load_spec(os.fspath(installed)).labels
    (installed / SPEC_FILE).write_bytes((installed / SPEC_FILE).read_bytes() + b" ")
    for load in (worker_resources.load_spec,
                 lambda model, built: worker_resources.loaded_runner(
                     model, "numpy", built_against=built)):
        with pytest.raises(ReplacedSinceBuilt) as refused:
            load(worker_fn.model_dir, worker_fn.built_against)
        assert str(refused.value) == (
            f"{called} in this worker's beamtagger ({installed}) is not the "
            f"one this pipeline was built with ({SPEC_FILE} differs): the workers' beamtagger is "
            "another than the one that built the pipeline (another version in the worker "
            "image, or one installed again since the pipeline was built); install that "
            "version where the workers run, or copy the launching machine's folder of it "
            f"(beamtagger.bundled_model('{task}')) to a gs:// path and give that path as the "
            "model")


def _dry_run(capsys, monkeypatch, *models):
    """A ``beamtagger tag`` Dataflow dry run of ``models``: (exit status, out, err, the
    job's pipeline graph)."""
    from beamtagger.pipeline import tag_pipeline

    graphs = []
    run_tag_job = tag_pipeline.run_tag_job

    def kept(*args, **kwargs):
        result, seconds = run_tag_job(*args, **kwargs)
        graphs.append(result.job.proto_pipeline)
        return result, seconds

    monkeypatch.setattr(tag_pipeline, "run_tag_job", kept)
    code = cli.main(["tag", "--input", f"gs://{BUCKET}/corpus/*.txt", "--output",
                     f"gs://{BUCKET}/tagged/r", *[arg for model in models
                                                   for arg in ("--model", model)],
                     *DATAFLOW])
    out, err = capsys.readouterr()
    return code, out, err, graphs[0] if graphs else None


def test_a_dataflow_dry_run_of_bundled_ner_carries_the_model_by_name(
        gcs, capsys, monkeypatch, tmp_path):  # noqa: F811
    # Before: refused before launch ("... is a folder on this machine, which Dataflow workers
    # cannot read: copy it to a bucket"), exit 2. Several models, and the folder's path for
    # the word, become the same BundledModel (model_argument_test).
    # A worker reads its own package's copy, the one checked where the job was built...
    worker_fn, installed = _tag_step_on_a_worker(gcs, capsys, monkeypatch, tmp_path, "ner",
                                                 "bundled-ner")
    assert worker_fn.model_dir == BundledModel("ner")
    assert os.fspath(worker_fn.model_dir) == str(installed)
    # ...and one with other files (another beamtagger in the image) fails in one line.
    _fails_in_one_line_on_other_files(worker_fn, installed, "the bundled entity model", "ner")


def test_a_dataflow_dry_run_without_model_records_the_bundled_upos_model(
        gcs, capsys, monkeypatch, tmp_path):  # noqa: F811
    # The model left out is the UPOS model of each worker's own package. Before: its steps
    # recorded nothing (no step held a BundledModel), and a worker image with another
    # beamtagger tagged with that one's model, without a word.
    worker_fn, installed = _tag_step_on_a_worker(gcs, capsys, monkeypatch, tmp_path, "upos")
    assert worker_fn.model_dir is None   # the steps pickle no more than before
    assert worker_fn.built_against.model_dir == BundledModel("upos")
    # The line named "its model folder" to copy and "give that": the run given no model
    # gave none, and did not say where the folder is.
    _fails_in_one_line_on_other_files(worker_fn, installed, "the bundled UPOS model", "upos")


def test_a_local_model_folder_is_still_refused_on_dataflow(capsys, monkeypatch, tmp_path):
    # Only the bundled models are in the workers' package: a copy of one is a local folder.
    copy = shutil.copytree(NER, tmp_path / "ner")
    code, _, err, graph = _dry_run(capsys, monkeypatch, str(copy))
    assert code == 2 and graph is None, err
    assert err.strip().endswith(f"--model {copy} is a local path, which Dataflow workers "
                                "cannot read; use a gs:// path (or leave it out for the "
                                "default)"), err


def test_the_transforms_given_bundled_model_folders_pickle_them_by_task():
    import apache_beam as beam
    from apache_beam.ml.inference.base import RunInference
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.transforms import TaggerModelHandler, TagText, TagTextWithModels, TextRecord

    pipeline = beam.Pipeline(options=PipelineOptions(DATAFLOW))
    texts = pipeline | beam.io.ReadFromText(f"gs://{BUCKET}/in/*.txt", validate=False)
    records = texts | beam.Map(lambda text: TextRecord(text, text))
    one = TagText(model_dir=beamtagger.bundled_model("ner"), runtime="numpy")
    several = TagTextWithModels(models={"ner": str(NER), "upos": DEFAULT_MODEL_DIR},
                                runtime="numpy")
    handler = TaggerModelHandler(beamtagger.bundled_model("ner"), runtime="numpy")
    assert one.model_dir == handler.model_dir == BundledModel("ner")
    assert [model.model_dir for model in several.models] == [BundledModel("ner"),
                                                             BundledModel("upos")]
    _ = records | "One" >> one
    _ = records | "Several" >> several
    _ = texts | "Handler" >> RunInference(handler)
    # No model given: the bundled UPOS model, recorded by its task as the others are (before,
    # nothing was recorded, and a worker with another package tagged with its model).
    left_out = TagText(runtime="numpy")
    assert left_out.model_dir is None
    _ = records | "LeftOut" >> left_out
    _ = texts | "HandlerLeftOut" >> RunInference(TaggerModelHandler(runtime="numpy"))
    # Before: TagText's steps and the handler held this machine's path to the model.
    holding = _no_launcher_path_in(pipeline.run().job.proto_pipeline)
    assert any(name.startswith("Handler/") for name in holding), holding
    assert any(name.startswith("HandlerLeftOut/") for name in holding), holding
    assert {name.split("/")[0] for name in holding} == {"One", "Several", "Handler", "LeftOut",
                                                         "HandlerLeftOut"}
    tag_fn = next(raw for name, raw in holding.items()
                  if name.startswith("LeftOut/") and name.endswith("(_TagFn)"))
    worker_fn = next(part for part in pickle.loads(tag_fn) if hasattr(part, "model_dir"))
    assert worker_fn.built_against.model_dir == BundledModel("upos")


def test_a_bundled_model_pickles_as_its_task_and_is_its_folder_here(tmp_path, monkeypatch):
    model = BundledModel("ner")
    assert str(NER).encode() not in pickle.dumps(model) and NER.name.encode() not in (
        pickle.dumps(model))
    assert pickle.loads(pickle.dumps(model)) == model and os.fspath(model) == str(NER)
    (tmp_path / "link").symlink_to(NER)
    monkeypatch.setenv("HOME", str(tmp_path))
    # file:// and ~ as the workers read them (worker_resources.local_path). Before, those two
    # stayed local paths: Dataflow refused them "(or leave it out for the default)", which
    # tags parts of speech.
    for spelling in (NER, str(NER), f"{NER}/", tmp_path / "link", f"file://{NER}",
                     "~/link"):
        assert bundled_reference(spelling) == model, spelling
    for other in ("gs://b/models/ner", str(tmp_path), "no/such/folder", "a\0b", None):
        assert bundled_reference(other) == other
    with pytest.raises(ValueError, match="no bundled model for 'pos'"):
        BundledModel("pos")
    assert json.dumps(str(model)) == json.dumps(str(NER))


def test_a_local_run_reading_the_entity_model_in_place_compares_it_as_any_folder(
        tmp_path, monkeypatch):
    # beamtagger tag records a local run's model by the path its workers read (launch_files):
    # where it can neither link nor copy the folder (a full disk), the folder itself, which
    # TagTextInParts takes as BundledModel("ner"). Before: the path and the BundledModel never
    # matched, and a bundled folder rewritten during the run (a pip upgrade) was tagged with,
    # where any other folder read in place fails the run.
    from beamtagger import atomic_dirs
    from beamtagger.pipeline import launch_files
    from beamtagger.pipeline.tag_pipeline import TagJob
    from beamtagger.transforms.tag_text import TagTextInParts

    installed = shutil.copytree(NER, tmp_path / "site-packages" / NER.name)
    monkeypatch.setitem(bundled_models.BUNDLED_MODELS, "ner",
                        (installed, *bundled_models.BUNDLED_MODELS["ner"][1:]))

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setenv("BEAMTAGGER_STAGING", str(tmp_path / "staging"))
    monkeypatch.setattr(atomic_dirs, "linked_copy", disk_full)
    monkeypatch.setattr(atomic_dirs, "held_copy", disk_full)
    job = TagJob("in.txt", str(tmp_path / "out"), model_dir=str(installed))
    with launch_files.pinned(job, remote=False) as launched:
        run = launched.job(job)
    assert run.model_dir == str(installed)   # read in place
    tag_text = TagTextInParts(model_dir=run.model_dir, built_against=run.built_against,
                              runtime="numpy")
    [model] = tag_text.models
    assert model.model_dir == BundledModel("ner")
    built_against = tag_text._built_against(None, model)

    (installed / SPEC_FILE).write_bytes((NER / SPEC_FILE).read_bytes() + b" ")
    with pytest.raises(ReplacedSinceBuilt, match=(
            f"^model {installed} was saved again after this pipeline was built "
            rf"\({SPEC_FILE} differs\)")):
        worker_resources.load_spec(model.model_dir, built_against)


def test_runinference_names_a_bundled_model_by_its_folder_as_a_str():
    # PredictionResult.model_id is Beam's Optional[str]. Before: the handler's BundledModel
    # itself, which json.dumps and a str-typed schema field refuse, and which equals no path
    # a pipeline compares it with.
    from beamtagger.transforms import TaggerModelHandler, TextRecord

    handler = TaggerModelHandler(beamtagger.bundled_model("ner"), runtime="numpy")
    [result] = handler.run_inference([TextRecord("1", "Paris is nice .")],
                                     handler.load_model())
    assert type(result.model_id) is str and json.dumps(result.model_id) == json.dumps(str(NER))


def test_a_local_run_without_model_records_nothing_more_than_before():
    # Its workers are this process's or this machine's, reading this package: nothing is read
    # or hashed for them, and the steps carry the empty record they did.
    import apache_beam as beam

    from beamtagger.pipeline import launch_files
    from beamtagger.pipeline.tag_pipeline import TagJob
    from beamtagger.transforms.built_against import BuiltAgainst

    assert worker_resources.check_where_built(None, remote=True,
                                              pipeline=beam.Pipeline()) == BuiltAgainst()
    with launch_files.pinned(TagJob("in.txt", "out/r"), remote=False) as launched:
        assert launched.checked == BuiltAgainst()
    with launch_files.pinned(TagJob("gs://b/in.txt", "gs://b/r"), remote=True) as launched:
        assert launched.checked.model_dir == BundledModel("upos")


@pytest.mark.parametrize("runner,environment,recorded", [
    ("PortableRunner", "DOCKER", BundledModel("upos")),
    ("PortableRunner", "LOOPBACK", None),
    # beamtagger tag runs the DirectRunner in this process whatever the environment.
    ("DirectRunner", "DOCKER", None),
])
def test_tag_records_the_model_left_out_for_a_portable_runners_containers(
        tmp_path, capsys, monkeypatch, runner, environment, recorded):
    # Their image holds a beamtagger of its own, as Dataflow's workers do. Before, tag recorded
    # the model left out for Dataflow alone: containers (Flink's and Spark's default) tagged
    # with their image's UPOS model without a word, where --model bundled-ner was compared.
    import hashlib

    from beamtagger.pipeline import tag_pipeline

    class Launched(Exception):
        pass

    built = []

    def launch(job, options):
        built.append(job.built_against)
        raise Launched()

    monkeypatch.setattr(tag_pipeline, "run_tag_job", launch)
    (tmp_path / "in.txt").write_text("Hello there .\n", encoding="utf-8")
    with pytest.raises(Launched):
        cli.main(["tag", "--input", str(tmp_path / "in.txt"), "--output", str(tmp_path / "r"),
                  "--runtime", "numpy", f"--runner={runner}", "--job_endpoint=embed",
                  f"--environment_type={environment}"])
    assert built[0].model_dir == recorded, capsys.readouterr()
    assert built[0].model_sha256 == (recorded and hashlib.sha256(
        (DEFAULT_MODEL_DIR / SPEC_FILE).read_bytes()).hexdigest())
