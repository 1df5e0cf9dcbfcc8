"""``beamtagger tag`` end to end: outputs, nothing lost, checks before start, runners, Dataflow graph."""
import glob
import json
import os
import re
import shutil
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beamtagger.corpus_readers import read_conllu
from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR
from beamtagger.pipeline import cli
from beamtagger.tests.conftest import REPO_ROOT

pytest.importorskip("tensorflow")


def tag(capsys, *args):
    code = cli.main(["tag", "--progress-every", "0", *args])
    out, err = capsys.readouterr()
    return code, out, err


def read_jsonl(pattern):
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as handle:
            rows.extend(json.loads(line) for line in handle)
    return rows


def test_every_bad_record_is_a_dead_letter_and_the_job_succeeds(tmp_path, upos_model,
                                                                subset_store, capsys,
                                                                monkeypatch):
    from beamtagger.model.inference import TaggerRunner
    from beamtagger.tests.conftest import fail_batches_of_width

    fail_batches_of_width(monkeypatch, TaggerRunner, 7)
    lines = [
        json.dumps({"id": "g1", "text": "Hello world .", "lang": "en"}).encode(),
        json.dumps({"id": "g2", "text": ""}).encode(),
        json.dumps({"id": "poison", "text": "one two three four five six seven"}).encode(),
        json.dumps({"id": "long", "text": " ".join(f"w{i}" for i in range(20))}).encode(),
        b'{"id": "bad-utf8", "text": "caf\xe9"}',
        b"{not json",
        json.dumps({"id": "nofield", "body": "x"}).encode(),
        b"",
        json.dumps({"id": "g3", "text": "Short one"}).encode(),
    ]
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    prefix = str(tmp_path / "out" / "mixed")
    code, out, _ = tag(capsys, "--input", str(source), "--output", prefix, "--model",
                       str(upos_model), "--embeddings", subset_store, "--chunk", "7",
                       "--overlap", "2", "--runtime", "tensorflow")
    assert code == 0
    results = {row["id"]: row for row in read_jsonl(prefix + "-[0-9]*-of-*.jsonl")}
    errors = {e["source"].rsplit(":", 1)[1]: e for e in read_jsonl(prefix + "-errors-*.jsonl")}
    assert set(results) == {"g1", "g2", "g3"}
    assert results["g1"]["lang"] == "en"
    assert [t["text"] for t in results["g1"]["tokens"]] == ["Hello", "world", "."]
    assert results["g1"]["tokens"][1]["start"] == 6 and results["g1"]["tokens"][1]["end"] == 11
    assert results["g2"]["tokens"] == []
    assert sorted(errors) == ["3", "4", "5", "6", "7"]
    assert errors["3"]["stage"] == "tag" and "simulated tagger failure" in errors["3"]["reason"]
    assert errors["4"]["stage"] == "tag" and errors["4"]["record"].startswith("w0 w1")
    assert "not valid UTF-8" in errors["5"]["reason"] and errors["5"]["record"].endswith('caf\\xe9"}')
    assert errors["6"]["reason"].startswith("invalid JSON")
    assert errors["7"]["reason"] == "missing text field 'text'"
    assert len(results) + len(errors) == 8  # every non-blank input line, exactly once
    assert "records read                8" in out and "dead letters                5" in out


def test_parquet_and_conll_outputs(tmp_path, upos_model, subset_store, capsys):
    source = tmp_path / "in.txt"
    source.write_text("The cat sat .\nDogs bark loudly .\n", encoding="utf-8")
    prefix = str(tmp_path / "out" / "r")
    common = ["--input", str(source), "--model", str(upos_model), "--embeddings", subset_store]
    assert tag(capsys, *common, "--output", prefix, "--output-format", "parquet")[0] == 0
    table = pq.read_table(glob.glob(prefix + "-*.parquet"))
    assert table.schema.names == ["id", "tokens", "fields"]
    rows = {row["id"]: row for row in table.to_pylist()}
    assert [t["text"] for t in rows["in.txt:2"]["tokens"]] == ["Dogs", "bark", "loudly", "."]
    assert all(0 <= t["score"] <= 1 for t in rows["in.txt:1"]["tokens"])

    assert tag(capsys, *common, "--output", prefix, "--output-format", "conll",
               "--overwrite")[0] == 0  # the Parquet files of the run above are removed first
    assert not glob.glob(prefix + "-*.parquet")
    blocks = open(glob.glob(prefix + "-*.conll")[0], encoding="utf-8").read().strip().split("\n\n")
    by_id = {block.splitlines()[0]: block.splitlines()[1:] for block in blocks}
    assert [line.split("\t")[0] for line in by_id["# id = in.txt:1"]] == ["The", "cat", "sat", "."]
    labels = {label for lines in by_id.values() for label in (l.split("\t")[1] for l in lines)}
    assert labels <= set(json.load(open(upos_model / "tagger.json"))["labels"])


@pytest.fixture()
def other_store(tmp_path):
    """Same dimension and normalisation as the subset store, other vectors."""
    from beamtagger.embeddings.importers import import_embeddings
    source = tmp_path / "other.txt"
    source.write_text("".join(f"{word} " + " ".join(["0.5"] * 50) + "\n"
                              for word in ("the", "cat", "sat")), encoding="utf-8")
    path = tmp_path / "other-store"
    import_embeddings(source, path)
    return str(path)


@pytest.mark.parametrize("overrides,extra,message", [
    ({"--model": "{tmp}/no-model"}, [], "does not exist"),
    ({"--model": "{tmp}/truncated-model"}, [], "is damaged"),
    ({"--model": "{tmp}/swapped-model"}, [], "does not belong to the tagger.json beside it"),
    ({"--model": "{tmp}/resaved-model"}, [], "is not the model file saved with the tagger.json"),
    ({"--embeddings": "{tmp}/reshaped-store"}, [], "does not match the manifest's"),
    ({"--embeddings": "{tmp}/reworded-store"}, [], "the vocabulary is not the one the manifest"),
    ({"--input": "{tmp}/folder"}, [], "is a directory; to tag the files in it"),
    ({"--input": "{tmp}/fold*"}, [], "it matches only folders"),
    ({"--input": "{tmp}/dangling.txt"}, [], "no input files match"),
    ({"--output": "{tmp}/in.txt/r"}, [], "is a file, not a folder"),
    ({"--output": "{tmp}/earlier/r"}, [], "already holds the files of an earlier run"),
    ({"--embeddings": "{other_store}"}, [], "fingerprint"),
    ({"--input": "{tmp}/nothing-*.txt"}, [], "no input files match"),
    ({}, ["--runner=DataflowRunner"], "Dataflow workers cannot read"),
    ({}, ["--chunk", "8", "--overlap", "8"], "--chunk/--overlap"),
    ({}, ["--tagger-threads", "-1"], "--tagger-threads must be 0"),
    # Found by fuzzing tag's arguments: 2,147,483,648 failed after launch as "cannot load tagger
    # model ...: Value out of range", and 2,147,483,647 ended the process on SIGSEGV.
    ({}, ["--runtime", "tensorflow", "--tagger-threads", "2147483648"],
     "--tagger-threads must be at most 4,096"),
    ({}, ["--max-batch-tokens", "0"], "--max-batch-tokens must be at least 1"),
], ids=["missing model", "truncated tagger.keras", "tagger.keras of another model",
        "tagger.keras saved apart from tagger.json", "vectors of another shape",
        "vocabulary changed (every record was a dead letter, exit 0)",
        "input is a directory", "input matches folders only", "input is a dangling link", "output below a file",
        "output holds an earlier run", "store of another build", "input matches nothing",
        "local paths on Dataflow", "overlap too large", "no threads", "threads beyond any machine",
        "empty batches"])
def test_problems_are_refused_before_the_pipeline_starts(overrides, extra, message, tmp_path,
                                                         upos_model, subset_store, other_store,
                                                         capsys):
    source = tmp_path / "in.txt"
    source.write_text("Hello .\n", encoding="utf-8")
    make_broken_inputs(tmp_path, upos_model, subset_store)
    args = {"--input": str(source), "--output": str(tmp_path / "out" / "r"),
            "--model": str(upos_model), "--embeddings": subset_store}
    args.update({k: v.format(tmp=tmp_path, other_store=other_store) for k, v in overrides.items()})
    code, _, err = tag(capsys, *[item for pair in args.items() for item in pair], *extra)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()  # nothing ran
    assert "Traceback" not in err


def test_a_rerun_is_refused_and_overwrite_removes_the_earlier_shards(tmp_path, upos_model,
                                                                      subset_store, capsys):
    source = tmp_path / "in.txt"
    source.write_text("".join(f"Line {i} here .\n" for i in range(10)), encoding="utf-8")
    prefix = tmp_path / "out" / "r"
    common = ["--input", str(source), "--output", str(prefix), "--model", str(upos_model),
              "--embeddings", subset_store]
    assert tag(capsys, *common, "--num-shards", "2")[0] == 0
    assert len(glob.glob(f"{prefix}-*-of-00002.jsonl")) == 2
    (tmp_path / "out" / f"beam-temp-r-{'0' * 32}").mkdir()  # left by a killed run
    code, _, err = tag(capsys, *common)
    assert code == 2 and "already holds the files of an earlier run" in err
    code, out, _ = tag(capsys, *common, "--overwrite")
    assert code == 0
    assert sorted(os.listdir(tmp_path / "out")) == ["r-00000-of-00001.jsonl",
                                                   "r-errors-00000-of-00001.jsonl"]
    assert "records read               10" in out and out.count("results ") == 1


def make_broken_inputs(tmp, model, store):
    """Model directories, stores, inputs and outputs that must be refused before launch."""
    truncated = tmp / "truncated-model"
    shutil.copytree(model, truncated)
    keras_file = truncated / "tagger.keras"
    keras_file.write_bytes(keras_file.read_bytes()[:-1000])
    swapped = tmp / "swapped-model"
    shutil.copytree(model, swapped)
    shutil.copy(DEFAULT_MODEL_DIR / "tagger.keras", swapped / "tagger.keras")
    resaved = tmp / "resaved-model"
    shutil.copytree(model, resaved)
    with zipfile.ZipFile(model / "tagger.keras") as old, zipfile.ZipFile(
            resaved / "tagger.keras", "w") as new:
        for name in old.namelist():  # same model, another file (another save of it)
            new.writestr(name, old.read(name) + (b" " if name == "metadata.json" else b""))
    reshaped = tmp / "reshaped-store"
    shutil.copytree(store, reshaped)
    manifest = json.loads((reshaped / "manifest.json").read_text())
    manifest["count"] -= 1
    (reshaped / "manifest.json").write_text(json.dumps(manifest))
    reworded = tmp / "reworded-store"
    shutil.copytree(store, reworded)
    words = pq.read_table(reworded / "vocab.parquet").column("word").to_pylist()
    words[0], words[1] = words[1], words[0]  # same count and schema: open cannot tell
    pq.write_table(pa.table({"word": words}), reworded / "vocab.parquet")
    (tmp / "folder").mkdir()
    (tmp / "dangling.txt").symlink_to(tmp / "gone.txt")
    (tmp / "earlier").mkdir()
    (tmp / "earlier" / "r-errors-00000-of-00002.jsonl").write_text("")


@pytest.mark.slow
def test_same_labels_on_all_three_local_runners_and_equal_to_the_model(
        tmp_path, ewt_slices, upos_model, subset_store, capsys):  # noqa: F811
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.encoding import encode_sentences
    from beamtagger.model.evaluation import tag_corpus
    from beamtagger.model.inference import TaggerRunner

    dev = ewt_slices[1]
    runner = TaggerRunner.load(upos_model)
    store = EmbeddingStore.open(subset_store)
    corpus = encode_sentences(list(read_conllu(dev)), store, runner.spec.featurizer)
    expected = {s.sent_id: labels for s, labels in
                zip(corpus.sentences, tag_corpus(runner, corpus, store))}
    runners = {
        "in-process": [],
        "multi-processing": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
        "portable": ["--runner=PortableRunner", "--job_endpoint=embed",
                     "--environment_type=LOOPBACK"],
    }
    for name, runner_args in runners.items():
        prefix = str(tmp_path / name / "dev")
        code, _, err = tag(capsys, "--input", dev, "--output", prefix, "--model", str(upos_model),
                           "--embeddings", subset_store, "--max-batch-tokens", "256",
                           "--runtime", "tensorflow", *runner_args)
        assert code == 0, err
        labels = {row["id"]: [t["label"] for t in row["tokens"]]
                  for row in read_jsonl(prefix + "-[0-9]*-of-*.jsonl")}
        assert labels == expected, name


@pytest.mark.parametrize("accelerator", [None, "type:nvidia-l4;count:1;install-nvidia-driver"])
def test_dataflow_graph_puts_the_accelerator_hint_on_the_tagger_step_only(accelerator):
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.pipeline.tag_pipeline import TagJob, run_tag_job

    # Beam's option validation wants a valid project id and bucket name ("p" and "gs://b" are
    # refused, and a refused temp_location sends it looking for a default bucket online).
    options = PipelineOptions([
        "--runner=DataflowRunner", "--dry_run=True", "--project=beamtagger-test",
        "--region=us-central1", "--temp_location=gs://beamtagger-test/tmp", "--no_auth",
        "--setup_file", str(REPO_ROOT / "setup.py")])
    job = TagJob("gs://beamtagger-test/in/*.txt", "gs://beamtagger-test/out/r",
                 accelerator=accelerator)
    result, _ = run_tag_job(job, options)
    components = result.job.proto_pipeline.components
    hinted = sorted(t.unique_name for t in components.transforms.values()
                    if t.environment_id and "beam:resources:accelerator:v1" in
                    components.environments[t.environment_id].resource_hints)
    if accelerator is None:
        assert hinted == []
        return
    assert hinted == ["TagText/Tag", "TagText/Tag/RunTagger", "TagText/Tag/RunTagger/ParDo(_TagFn)"]
    environment = components.transforms[next(
        k for k, t in components.transforms.items() if t.unique_name == "TagText/Tag")].environment_id
    assert (components.environments[environment].resource_hints["beam:resources:accelerator:v1"]
            == accelerator.encode())


def test_dataflow_graph_puts_the_model_handlers_accelerator_hint_on_run_inference_only():
    import apache_beam as beam
    from apache_beam.ml.inference.base import RunInference
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.transforms import TaggerModelHandler

    accelerator = "type:nvidia-l4;count:1;install-nvidia-driver"
    options = PipelineOptions([
        "--runner=DataflowRunner", "--dry_run=True", "--project=beamtagger-test",
        "--region=us-central1", "--temp_location=gs://beamtagger-test/tmp", "--no_auth",
        "--setup_file", str(REPO_ROOT / "setup.py")])
    pipeline = beam.Pipeline(options=options)
    _ = (pipeline | beam.io.ReadFromText("gs://beamtagger-test/in/*.txt", validate=False)
         | "Tag" >> RunInference(TaggerModelHandler(accelerator=accelerator))
         | beam.Map(lambda result: " ".join(result.inference.labels))
         | beam.io.WriteToText("gs://beamtagger-test/out/r"))
    result = pipeline.run()
    components = result.job.proto_pipeline.components
    hinted = {t.unique_name: components.environments[t.environment_id].resource_hints[
                  "beam:resources:accelerator:v1"]
              for t in components.transforms.values()
              if t.environment_id and "beam:resources:accelerator:v1" in
              components.environments[t.environment_id].resource_hints}
    # RunInference puts the handler's hints on its inference step; reading, batching and
    # writing stay on CPU workers (Dataflow right fitting).
    assert hinted == {"Tag/BeamML_RunInference": accelerator.encode()}


@pytest.mark.parametrize("runner_args, spreads", [
    ([], False),
    (["--direct_running_mode=multi_processing", "--direct_num_workers=2"], True),
    (["--runner=PortableRunner", "--job_endpoint=embed"], True),
    (["--streaming"], True),
    (["--runner=DataflowRunner", "--dry_run=True", "--project=beamtagger-test",
      "--region=us-central1", "--temp_location=gs://beamtagger-test/tmp", "--no_auth"], True),
])
def test_records_are_spread_over_workers_only_where_there_are_several(runner_args, spreads):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.pipeline.tag_pipeline import TagJob, build_tag_pipeline

    pipeline = build_tag_pipeline(beam.Pipeline(options=PipelineOptions(runner_args)),
                                  TagJob("in/*.txt", "out/r"))
    names = {t.unique_name for t in pipeline.to_runner_api().components.transforms.values()}
    assert ("ReadRecords/SpreadOverWorkers" in names) == spreads
    # The tagged parts are written where they are produced; only file names are merged.
    assert "WriteResults/WriteText/MergeFileNames" in names and "TagText/AllTagged" not in names


@pytest.mark.parametrize("runner_args, spreads", [
    ([], False),
    (["--runner=DataflowRunner", "--dry_run=True", "--project=beamtagger-test",
      "--region=us-central1", "--temp_location=gs://beamtagger-test/tmp", "--no_auth"], True),
])
def test_files_read_whole_are_spread_over_workers_before_they_are_read(runner_args, spreads):
    # CoNLL files are read whole, each by one worker. The file list is one element's output
    # (the pattern's): fused with the reading, one Dataflow worker read every file in turn.
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.pipeline.tag_pipeline import TagJob, build_tag_pipeline

    pipeline = build_tag_pipeline(beam.Pipeline(options=PipelineOptions(runner_args)),
                                  TagJob("in/*.conllu", "out/r", input_format="conllu"))
    components = pipeline.to_runner_api().components
    by_name = {t.unique_name: t for t in components.transforms.values()}
    read_input = next(iter(by_name["ReadRecords/ReadLines"].inputs.values()))
    if not spreads:
        assert read_input == by_name["ReadRecords/OpenFiles"].outputs["None"]
        return
    assert read_input == by_name["ReadRecords/SpreadFiles"].outputs["None"]
    assert (next(iter(by_name["ReadRecords/SpreadFiles"].inputs.values()))
            == by_name["ReadRecords/OpenFiles"].outputs["None"])


def test_local_worker_processes_share_the_cores_out_unless_told_otherwise(monkeypatch):
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.pipeline.tag_command import local_worker_processes, tagger_threads

    monkeypatch.setattr("os.cpu_count", lambda: 8)
    multi = PipelineOptions(["--direct_running_mode=multi_processing", "--direct_num_workers=2"])
    assert local_worker_processes(multi) == 2
    assert local_worker_processes(PipelineOptions([])) == 1
    assert local_worker_processes(PipelineOptions(
        ["--direct_running_mode=multi_processing", "--direct_num_workers=0"])) == 8
    assert tagger_threads(None, 2) == 4 and tagger_threads(None, 16) == 1
    assert tagger_threads(None, 1) is None        # one process: TensorFlow's default
    assert tagger_threads(0, 2) == 0 and tagger_threads(3, 2) == 3   # 0: TensorFlow's default


def test_dataflow_workers_default_to_one_tagger_thread_per_sdk_process():
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.pipeline.tag_command import sdk_process_per_core, tagger_threads

    dataflow = PipelineOptions(["--runner=DataflowRunner", "--experiments=use_runner_v2"])
    one_process = PipelineOptions(["--runner=DataflowRunner",
                                   "--experiments=no_use_multiple_sdk_containers"])
    assert sdk_process_per_core(dataflow, "DataflowRunner")
    assert not sdk_process_per_core(one_process, "DataflowRunner")
    assert not sdk_process_per_core(PipelineOptions([]), "DirectRunner")
    assert tagger_threads(None, 1, process_per_core=True) == 1
    assert tagger_threads(4, 1, process_per_core=True) == 4
    assert tagger_threads(0, 1, process_per_core=True) == 0   # 0: TensorFlow's default


def _tag_stage(pipeline_args, transform=None, **options):
    """The tag stage's DoFn (``_TagFn``: its runtime, its threads) of ``TagText(**options)``
    in a pipeline with ``pipeline_args``, or of ``transform`` (TagBatches) applied to the
    pipeline's input; a DirectRunner object keeps a ``--runner=DataflowRunner`` pipeline from
    reaching Google Cloud while it is built."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.pipeline import PipelineVisitor
    from apache_beam.runners.direct.direct_runner import DirectRunner

    from beamtagger.transforms import TagText, TextRecord
    from beamtagger.transforms.tag import _TagFn

    pipeline = beam.Pipeline(runner=DirectRunner(), options=PipelineOptions(pipeline_args))
    _ = (pipeline | beam.Create([TextRecord("a", "a cat .")])
         | (transform or TagText(**options)))
    fns = []

    class FindTagStage(PipelineVisitor):
        def visit_transform(self, node):
            if isinstance(getattr(node.transform, "fn", None), _TagFn):
                fns.append(node.transform.fn)

    pipeline.visit(FindTagStage())
    (only,) = fns
    return only


def _tag_stage_threads(pipeline_args, **options):
    """The threads TagText's tag stage gives TensorFlow in a pipeline with ``pipeline_args``."""
    return _tag_stage(pipeline_args, runtime="numpy", **options).threads


def test_tagtext_on_dataflow_gives_each_sdk_process_one_tensorflow_thread_unless_told(
        monkeypatch):
    # Only `beamtagger tag` set it: a library pipeline on Dataflow kept TensorFlow's default,
    # one thread per vCPU in each of the VM's one-per-vCPU SDK processes.
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    dataflow = ["--runner=DataflowRunner"]
    assert _tag_stage_threads(dataflow) == 1
    assert _tag_stage_threads(dataflow, tagger_threads=3) == 3
    assert _tag_stage_threads(dataflow, tagger_threads=0) == 0   # TensorFlow's default
    assert _tag_stage_threads(dataflow + ["--experiments=no_use_multiple_sdk_containers"]) is None
    assert _tag_stage_threads(["--direct_running_mode=multi_processing",
                               "--direct_num_workers=2"]) == 4
    assert _tag_stage_threads([]) is None


GPU_HINT = "type:nvidia-l4;count:1;install-nvidia-driver"


def test_tagtext_on_dataflow_cpu_workers_runs_numpy_unless_told(monkeypatch, caplog):
    # TagText ran TensorFlow whatever the runner: on Dataflow's CPU workers each SDK process,
    # with one tagger thread, paid TensorFlow's start-up and twice NumPy's memory, and the
    # workers needed TensorFlow (BENCHMARKS.md, "One thread each, the whole job").
    import logging

    from beamtagger.model import runtimes

    monkeypatch.setattr("os.cpu_count", lambda: 8)

    def runtime(args, **options):
        return _tag_stage(args, **options).runtime
    dataflow = ["--runner=DataflowRunner"]
    with caplog.at_level(logging.INFO):
        assert runtime(dataflow) == "numpy"
    assert [r.getMessage() for r in caplog.records if "runtime" in r.getMessage()] == [
        "beamtagger: TagText runs the numpy runtime (input of unknown size, CPU workers with "
        "one tagger thread a process: TensorFlow's CPU a token there, without its start-up in "
        "every process, in half the memory; runtime= sets it)"]
    assert runtime(dataflow, tagger_threads=1) == "numpy"
    # A GPU tag stage: TagText's hint, or the pipeline's.
    assert runtime(dataflow, accelerator=GPU_HINT) == "tensorflow"
    assert runtime(dataflow + [f"--resource_hints=accelerator={GPU_HINT}"]) == "tensorflow"
    # The tagger has more than one thread a process.
    assert runtime(dataflow, tagger_threads=4) == "tensorflow"
    assert runtime(dataflow, tagger_threads=0) == "tensorflow"
    assert runtime(dataflow + ["--experiments=no_use_multiple_sdk_containers"]) == "tensorflow"
    # Locally, every core: TensorFlow where it is installed. One tagger thread a process
    # (multi_processing at a worker a core): NumPy, as beamtagger tag chooses; the DirectRunner
    # ignores hints.
    assert runtime([]) == ("tensorflow" if runtimes.is_installed("tensorflow") else "numpy")
    multi = ["--direct_running_mode=multi_processing", "--direct_num_workers=8"]
    assert runtime(multi) == runtime(multi, accelerator=GPU_HINT) == "numpy"
    # A runtime given is kept.
    assert runtime(dataflow, runtime="tensorflow") == "tensorflow"
    assert runtime([], runtime="numpy") == "numpy"


def test_tagbatches_chooses_its_runtime_as_tagtext_does(monkeypatch):
    import apache_beam as beam
    import pyarrow as pa

    from beamtagger.transforms import TagBatches

    monkeypatch.setattr("os.cpu_count", lambda: 8)

    def runtime(args, transform):
        # Records taken for batches by a stage that is never run: only its DoFn is read.
        as_batches = beam.Map(lambda record: record).with_output_types(pa.RecordBatch)
        return _tag_stage(args, as_batches | transform).runtime
    dataflow = ["--runner=DataflowRunner"]
    assert runtime(dataflow, TagBatches()) == "numpy"
    assert runtime(dataflow, TagBatches().with_resource_hints(accelerator=GPU_HINT)) == (
        "tensorflow")
    assert runtime(dataflow, TagBatches(threads=2)) == "tensorflow"
    assert runtime(dataflow, TagBatches(runtime="tensorflow")) == "tensorflow"


def test_streaming_run_writes_every_record(tiny_tagger, tmp_path, capsys):
    # Before issue #11 a --streaming run wrote 1 of these 12 records: the partial batches
    # waited for a window-end flush that came after the watermark had passed on.
    source = REPO_ROOT / "beamtagger" / "data" / "example.txt"
    prefix = str(tmp_path / "streamed")
    code, out, err = tag(capsys, "--input", str(source), "--output", prefix, "--model",
                         tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                         "--chunk", "8", "--overlap", "2", "--streaming")
    assert code == 0, err
    records = read_jsonl(prefix + "-[0-9]*-of-*.jsonl")
    lines = source.read_text(encoding="utf-8").splitlines()
    assert len(records) == len(lines) == 12  # line 7 is empty: a record without tokens
    assert sum(1 for row in records if row["tokens"]) == 11
    # The summary counts every bundle: Beam's streaming DirectRunner lost the counts of all
    # but a step's first bundle on each thread (pipeline/direct_runner_metrics.py), and this
    # printed "records tagged 2".
    tokens = sum(len(row["tokens"]) for row in records)
    long_records = sum(1 for row in records if len(row["tokens"]) > 8)
    summary = dict(re.findall(r"^(records read|records tagged|dead letters|tokens|long records)"
                              r"\s+([\d,]+)", out, re.M))
    assert summary == {"records read": "12", "records tagged": "12", "dead letters": "0",
                       "tokens": str(tokens), "long records": str(long_records)}, out


def test_the_numpy_runtime_writes_the_labels_tensorflow_writes(tiny_tagger, tmp_path, capsys):
    source = REPO_ROOT / "beamtagger" / "data" / "example.txt"
    labels = {}
    for runtime in ("numpy", "tensorflow"):
        prefix = str(tmp_path / runtime)
        code, out, err = tag(capsys, "--input", str(source), "--output", prefix, "--model",
                             tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                             "--runtime", runtime)
        assert code == 0, err
        labels[runtime] = sorted((row["id"], [t["label"] for t in row["tokens"]])
                                 for row in read_jsonl(prefix + "-[0-9]*-of-*.jsonl"))
    assert len(labels["numpy"]) == 12 and labels["numpy"] == labels["tensorflow"]


def test_the_jax_runtime_writes_the_labels_tensorflow_writes(tiny_tagger, tmp_path, capsys,
                                                             monkeypatch):
    pytest.importorskip("jax", reason="the jax extra is not installed")
    monkeypatch.setenv("BEAMTAGGER_JAX_CACHE", str(tmp_path / "jax-cache"))
    # Records of every length up to 40 tokens, and longer ones cut into chunks of 16: several
    # grid widths, partial batches, and chunk probabilities stitched back together.
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "Dogs", "ran", "42", "fast", "."]
    source = tmp_path / "lengths.txt"
    source.write_text("\n".join(" ".join(words[(n + i) % len(words)] for i in range(n))
                                 for n in range(1, 41)) + "\n", encoding="utf-8")
    labels, summaries = {}, {}
    for runtime in ("jax", "tensorflow"):
        prefix = str(tmp_path / runtime)
        code, out, err = tag(capsys, "--input", str(source), "--output", prefix, "--model",
                             tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                             "--runtime", runtime, "--chunk", "16", "--overlap", "4")
        assert code == 0, err
        labels[runtime] = sorted((row["id"], [t["label"] for t in row["tokens"]])
                                 for row in read_jsonl(prefix + "-[0-9]*-of-*.jsonl"))
        summaries[runtime] = dict(re.findall(r"^(tokens|padded slots)\s+([\d,]+)", out, re.M))
    assert len(labels["jax"]) == 40 and labels["jax"] == labels["tensorflow"]
    assert summaries["jax"]["tokens"] == summaries["tensorflow"]["tokens"]
    # The grid's padding shows in the padded slots (grid widths and row classes).
    padded = {runtime: int(summary["padded slots"].replace(",", ""))
              for runtime, summary in summaries.items()}
    assert padded["jax"] > padded["tensorflow"]


def test_whole_records_batched_with_chunks_of_long_ones_keep_their_own_labels(
        tiny_tagger, tmp_path, capsys):
    # The tag stage decodes only the whole records of a batch (chunks leave as probabilities):
    # each whole record's labels must be those it gets in batches without any chunk.
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "Dogs", "ran", "42", "fast", "."]
    short = [" ".join(words[(n + i) % len(words)] for i in range(n)) for n in range(1, 17)]
    long = [" ".join(words[(n + i) % len(words)] for i in range(n)) for n in (17, 30, 61)]
    labels = {}
    # Long records first in the input, so their chunks reach the batches first.
    for name, lines in (("short", short), ("mixed", long + short)):
        source = tmp_path / f"{name}.txt"
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        prefix = str(tmp_path / name)
        code, _, err = tag(capsys, "--input", str(source), "--output", prefix, "--model",
                           tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                           "--runtime", "numpy", "--chunk", "16", "--overlap", "4")
        assert code == 0, err
        labels[name] = {len(row["tokens"]): [t["label"] for t in row["tokens"]]
                        for row in read_jsonl(prefix + "-[0-9]*-of-*.jsonl")}
    assert sorted(labels["mixed"]) == list(range(1, 17)) + [17, 30, 61]
    assert {n: v for n, v in labels["mixed"].items() if n <= 16} == labels["short"]


def test_the_numpy_runtime_tags_where_tensorflow_and_keras_are_not_installed(tiny_tagger,
                                                                             tmp_path):
    # `pip install beamtagger` without the [cpu] / [gpu] extra has no TensorFlow. One child
    # process, with TensorFlow and Keras made unimportable, runs the four commands in turn
    # (JAX made unimportable for the third alone): a process each, before, imported Beam four
    # times over.
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import contextlib, io, json, sys, traceback

        blocked = {{"tensorflow", "keras"}}

        class NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in blocked:
                    raise ModuleNotFoundError(f"No module named {{name!r}}")

        sys.meta_path.insert(0, NotInstalled())
        from beamtagger.pipeline import cli

        def tag(output, *runtime):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = cli.main(["tag", "--input", {str(REPO_ROOT / "beamtagger" / "data" /
                                                            "example.txt")!r},
                                     "--output", output, "--model", {tiny_tagger.model_dir!r},
                                     "--embeddings", {tiny_tagger.store_path!r}, *runtime,
                                     "--progress-every", "0"])
                except SystemExit as exit_:
                    code = exit_.code
                except BaseException:
                    traceback.print_exc()
                    code = "raised"
            return {{"code": code, "out": out.getvalue(), "err": err.getvalue(),
                     "jax imported": "jax" in sys.modules}}

        runs = {{"numpy": tag({str(tmp_path / "out")!r}, "--runtime", "numpy"),
                 "tensorflow": tag({str(tmp_path / "tf")!r}, "--runtime", "tensorflow")}}
        blocked.add("jax")
        runs["jax"] = tag({str(tmp_path / "jax")!r}, "--runtime", "jax")
        blocked.discard("jax")
        runs["auto"] = tag({str(tmp_path / "auto")!r})
        print(json.dumps(runs))
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    runs = json.loads(done.stdout.strip().splitlines()[-1])
    numpy, refused, without_jax, chosen = (runs[name] for name in ("numpy", "tensorflow", "jax",
                                                                  "auto"))
    assert numpy["code"] == 0, numpy["err"][-3000:]
    assert len(read_jsonl(str(tmp_path / "out") + "-[0-9]*-of-*.jsonl")) == 12
    # The default runtime is refused before launch, with the way out, not a worker traceback.
    assert refused["code"] not in (0, None) and "Traceback" not in refused["err"]
    assert "TensorFlow is not installed" in refused["err"] and "--runtime numpy" in refused["err"]
    assert not list(tmp_path.glob("tf*"))
    # So is the jax runtime where JAX is not installed: one line, exit 2, nothing written (JAX
    # was not imported before, so that its absence is real).
    assert not without_jax["jax imported"]
    assert without_jax["code"] == 2 and "Traceback" not in without_jax["err"]
    assert without_jax["err"].strip().splitlines() == [
        "beamtagger tag: error: JAX is not installed here: install beamtagger[jax] (or [jax-cuda] "
        "for NVIDIA GPUs), or tag without it with --runtime numpy (runtime=\"numpy\" in a "
        "pipeline of your own)"]
    assert not list(tmp_path.glob("jax*"))
    # Left to choose, the command takes the runtime that is installed, and says so.
    assert chosen["code"] == 0, chosen["err"][-3000:]
    assert re.search(r"^runtime +numpy  \(input of 737 bytes, at most", chosen["out"], re.M), \
        chosen["out"]
    assert len(read_jsonl(str(tmp_path / "auto") + "-[0-9]*-of-*.jsonl")) == 12


def test_local_worker_processes_load_the_model_once_each(tiny_tagger, tmp_path, capsys):
    """Several worker processes (as several SDK processes share one GPU worker): each loads
    the tagger once, however many bundles and batches it runs."""
    source = tmp_path / "in.txt"
    source.write_text("".join(f"line {i} has a few words .\n" for i in range(3000)),
                      encoding="utf-8")
    prefix = str(tmp_path / "out" / "r")
    code, out, err = tag(capsys, "--input", str(source), "--output", prefix, "--model",
                         tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                         "--runtime", "numpy", "--max-batch-tokens", "512",
                         "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    assert code == 0, err
    assert len(read_jsonl(prefix + "-[0-9]*-of-*.jsonl")) == 3000
    batches = int(re.search(r"^batches +([\d,]+)", out, re.M).group(1).replace(",", ""))
    loads = re.search(r"^model load .*?(?:once in each of (\d+) processes)?$", out, re.M)
    assert batches > 2 and int(loads.group(1) or 1) <= 2, out
