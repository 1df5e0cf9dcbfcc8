"""Tagging throughput and padding: beamtagger against what users build today (issue 5, section 1),
and the scaling of ``beamtagger tag`` with input size (section 4).

Same input for every case: the EWT train text (space-joined tokens, one sentence a line), and the
same repeated to about 1M tokens. Same tagger size: BiLSTM 300 units over D=50 GloVe vectors
(the default store), 18 labels, random weights.

  A  Beam RunInference + TFModelHandlerNumpy over a Keras model with Embedding(400000+2, 50,
     mask_zero=True) inside, every sentence padded to 128, text files -> JSON Lines.
  B  the same Keras model outside Beam: model.predict on sentences padded to 128, batch 64
     (tokenized and padded before the clock starts).
  C  the compute limit: the beamtagger tagger fed store vectors in exact-length batches through
     TaggerRunner's one traced function (vectors looked up before the clock starts).
  D  ``beamtagger tag`` on DirectRunner, text files -> JSON Lines, end to end.
  E  D with --direct_running_mode=multi_processing --direct_num_workers=2.
  F  E with --tagger-threads 0: TensorFlow's default of one thread per core in each worker
     process, where E's default shares the cores out (not one of the issue's cases; it shows
     what oversubscription would cost E).
  G  What the non-model stages (read, tokenize, look up, featurize, Arrow, decode, format,
     write) cost per token, in core-microseconds, measured as issue 18 does: a thin model
     trained by ``beamtagger train ... --units 2 --char-filters 2 --char-dim 2 --adversarial 0
     --limit 300 --epochs 1`` (the default featurizer, character ids included, almost no
     compute), ``beamtagger tag --runtime numpy --model THIN`` on EWT train as text x1 (205k
     tokens) and x5 (1M), CPU seconds of the whole process (user + system, from its start), min
     of 3 runs a size, the marginal between the sizes minus the thin model's own cost per token
     (case M). Issue 18's target: at most 1.5.
  M  The thin model alone: NumpyTaggerRunner.predict over x1's batches as the pipeline cuts
     them (CPU seconds per token, best of 3 passes).
  P  G with --direct_running_mode=multi_processing --direct_num_workers=2: several worker
     processes, as several SDK processes feed one GPU worker (each loads the model once); CPU
     of the timed section and its worker processes, marginal x1 -> x5, minus M.
  N  The figure before issue 18 (called G then): D with the model replaced by a no-op of the
     same output shape (bench_models.NoopTaggerRunner; TensorFlow is never imported) and
     ``TokenFeaturizer()``, which has no character ids; CPU of the timed section, 205k -> 1M.
  R  Beam RunInference + beamtagger's TaggerModelHandler (issue 11), DirectRunner, text files ->
     JSON Lines: D's model, store and input through RunInference instead of TagText.

Each case runs in its own process (peak memory is its own). Usage:

  python bench/throughput_bench.py            # full size (~15 min on 2 cores)
  python bench/throughput_bench.py --tiny     # seconds, for CI: correctness only
"""
import argparse
import collections
import glob
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time

import numpy as np

import bench_common
import bench_models
import profile_summary

CASES = "ABCDEFGMNPR"
CASE_NAMES = {
    "A": "Beam RunInference (default batching), TFModelHandlerNumpy, embedded table, padded "
         "to 128",
    "B": "Keras model.predict, embedded table, padded to 128, batch 64",
    "C": "beamtagger tagger alone, exact-length batches, one traced function",
    "D": "beamtagger tag, DirectRunner, text -> JSON Lines",
    "E": "beamtagger tag, DirectRunner multi_processing, 2 workers",
    "F": "E with --tagger-threads 0 (TensorFlow's default: every core in each worker)",
    "R": "Beam RunInference + TaggerModelHandler, DirectRunner, text -> JSON Lines",
    "G": "beamtagger tag --runtime numpy with a thin trained model (default featurizer)",
    "M": "the thin model of G alone (NumpyTaggerRunner.predict)",
    "N": "D with a no-op model, featurizer without char ids (G before issue 18)",
    "P": "G with 2 local worker processes (multi_processing)",
}
PROFILE_RATE = 50  # py-spy samples per second
# beamtagger.transforms.bucket.DEFAULT_MAX_BATCH_TOKENS, without importing Beam in the parent.
PIPELINE_MAX_BATCH_TOKENS = 16384
TARGETS = {"D/A": 10, "D/C": 0.6, "padding efficiency (D)": 0.95, "E/D": 1.5}
# Issue 12: D's marginal rate (the linear fit over D's sizes) against C at 1M tokens.
MARGINAL_OVER_C_TARGET = 0.75
# Issue 18: the non-model stages cost at most this many core-microseconds per token (case G;
# issue 12's target for N was 5).
NON_MODEL_CORE_US_TARGET = 1.5
# G: passes over EWT train, one file each; min of G_RUNS runs a size.
G_PASSES = {"x1": 1, "x5": 5}
G_RUNS = 3
THIN_MODEL_FLAGS = ("--units", "2", "--char-filters", "2", "--char-dim", "2", "--adversarial",
                    "0", "--limit", "300", "--epochs", "1")


# ---------------------------------------------------------------- children: one case each

def _tokenized(lines):
    from beamtagger.tokenizer import Tokenizer

    tokenizer = Tokenizer()
    return [[token.text for token in tokenizer.tokenize(line)] for line in lines]


def case_a(args):
    """Beam RunInference over the embedded-table Keras model: the baseline a Beam user builds."""
    import apache_beam as beam
    from apache_beam.metrics.metric import Metrics, MetricsFilter
    from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
    from apache_beam.ml.inference.tensorflow_inference import TFModelHandlerNumpy
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.embeddings.store import EmbeddingStore

    store_path, length = args.store, bench_models.PADDED_LENGTH

    class TokenizeAndPad(beam.DoFn):
        """Tokens -> ids padded (or cut) to 128, keyed by the tokens for the output."""

        def setup(self):
            from beamtagger.tokenizer import Tokenizer

            self.tokenizer = Tokenizer()
            self.index = bench_models.vocabulary_index(EmbeddingStore.open(store_path))
            self.tokens = Metrics.counter("bench", "tokens")
            self.cut = Metrics.counter("bench", "tokens_cut")
            self.sentences = Metrics.counter("bench", "sentences")

        def process(self, line):
            tokens = [token.text for token in self.tokenizer.tokenize(line)]
            if not tokens:
                return
            kept = tokens[:length]
            ids = np.zeros(length, dtype=np.int32)
            ids[:len(kept)] = [self.index.get(token.lower(), bench_models.OOV_ID)
                               for token in kept]
            self.tokens.inc(len(kept))
            self.cut.inc(len(tokens) - len(kept))
            self.sentences.inc()
            yield json.dumps(kept), ids

    def to_json(keyed):
        key, prediction = keyed
        tokens = json.loads(key)
        best = np.argmax(prediction.inference[:len(tokens)], axis=-1)
        return json.dumps({"tokens": tokens, "labels": [bench_models.LABELS[i] for i in best]})

    # RunInference's own default batching (BatchElements sizes batches by their measured
    # cost): issue 12 measured it faster than a fixed batch of 64, so it is the fairer baseline.
    handler = KeyedModelHandler(TFModelHandlerNumpy(args.keras_model))
    # The runner `beamtagger tag` runs on locally (pipeline/local_runner.py), wherever this
    # runs: the DirectRunner would take Prism where it can download it.
    options = PipelineOptions(["--runner=FnApiRunner"])
    with bench_common.Clock() as clock:
        pipeline = beam.Pipeline(options=options)
        _ = (pipeline
             | "Read" >> beam.io.ReadFromText(args.input)
             | "TokenizeAndPad" >> beam.ParDo(TokenizeAndPad())
             | "RunInference" >> RunInference(handler)
             | "ToJson" >> beam.Map(to_json)
             | "Write" >> beam.io.WriteToText(args.output, file_name_suffix=".jsonl"))
        result = pipeline.run()
        result.wait_until_finish()

    def counter(name):
        found = result.metrics().query(MetricsFilter().with_name(name))["counters"]
        return sum(item.committed for item in found)

    tokens, sentences = counter("tokens"), counter("sentences")
    return {"seconds": clock.seconds, "cores": clock.cores, "tokens": tokens,
            "sentences": sentences, "tokens_cut": counter("tokens_cut"), "slots": sentences * length,
            "output_lines": _count_lines(args.output + "*")}


def case_b(args):
    """model.predict on sentences padded to 128, batch 64; the clock covers predict only."""
    import keras

    from beamtagger.embeddings.store import EmbeddingStore

    length = bench_models.PADDED_LENGTH
    sentences = [tokens for tokens in _tokenized(bench_models.read_lines(args.input)) if tokens]
    index = bench_models.vocabulary_index(EmbeddingStore.open(args.store))
    ids = np.zeros((len(sentences), length), dtype=np.int32)
    tokens = 0
    for i, sentence in enumerate(sentences):
        kept = sentence[:length]
        ids[i, :len(kept)] = [index.get(token.lower(), bench_models.OOV_ID) for token in kept]
        tokens += len(kept)
    model = keras.saving.load_model(args.keras_model, compile=False)
    model.predict(ids[:args.batch_size], batch_size=args.batch_size, verbose=0)  # build, trace
    with bench_common.Clock() as clock:
        probs = model.predict(ids, batch_size=args.batch_size, verbose=0)
    assert probs.shape == (len(sentences), length, len(bench_models.LABELS))
    return {"seconds": clock.seconds, "cores": clock.cores, "tokens": tokens, "sentences": len(sentences),
            "slots": len(sentences) * length}


def exact_length_batches(sentences, token_budget):
    """Sentences grouped by exact length, each group cut into batches of at most
    ``token_budget`` tokens (at least one sentence a batch)."""
    by_length = collections.defaultdict(list)
    for sentence in sentences:
        by_length[len(sentence)].append(sentence)
    batches = []
    for length in sorted(by_length):
        group = by_length[length]
        size = max(1, token_budget // length)
        batches.extend(group[i:i + size] for i in range(0, len(group), size))
    return batches


def case_c(args):
    """TaggerRunner.predict on exact-length batches of store vectors; the clock covers predict
    only (vectors, extra ids and feature ids are prepared before it starts)."""
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.inference import TaggerRunner
    from beamtagger.model.model_inputs import ModelInputs

    store = EmbeddingStore.open(args.store)
    runner = TaggerRunner.load(args.model)
    featurizer = runner.spec.featurizer
    sentences = [tokens for tokens in _tokenized(bench_models.read_lines(args.input)) if tokens]
    prepared = []
    for batch in exact_length_batches(sentences, args.token_budget):
        flat = [token for sentence in batch for token in sentence]
        rows = store.rows(flat)
        prepared.append(ModelInputs.from_tokens([len(s) for s in batch], rows,
                                                featurizer.featurize(flat, rows >= 0), store))
    runner.predict(prepared[0])  # the one trace
    with bench_common.Clock() as clock:
        for batch in prepared:
            runner.predict(batch)
    tokens = sum(map(len, sentences))
    return {"seconds": clock.seconds, "cores": clock.cores, "tokens": tokens, "sentences": len(sentences), "slots": tokens,
            "batches": len(prepared), "traces": {str(k): v for k, v in
                                                 runner.tracing_counts().items()}}


def case_d(args, extra_options=()):
    """``beamtagger tag`` as its CLI runs it (tag_command.run: parse, pre-start checks, the
    pipeline), with the counters taken from the PipelineResult instead of the printed summary.
    The clock starts before the checks (which load the model and open the store)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.pipeline import cli, tag_command
    from beamtagger.pipeline.tag_pipeline import run_tag_job
    from beamtagger.transforms import counters

    # --runtime: D compares against C, TensorFlow (left out, the CLI would choose by size).
    if "--runtime" not in extra_options:
        extra_options = ("--runtime", "tensorflow", *extra_options)
    argv = ["tag", "--input", args.input, "--output", args.output, "--model", args.model,
            "--embeddings", args.store, "--input-format", "text", "--output-format", "jsonl",
            *extra_options]
    parsed, pipeline_args = cli.build_parser().parse_known_args(argv)
    parsed = tag_command.with_models_given(parsed)
    with bench_common.Clock() as clock:
        options = PipelineOptions(pipeline_args)
        job = tag_command.build_job(
            parsed, local_processes=tag_command.local_worker_processes(options))
        tag_command.check_job(job)
        result, _ = run_tag_job(job, options)
    counts = counters.query_counters(result)
    return {"seconds": clock.seconds, "cores": clock.cores, "tokens": counts["batched_tokens"],
            "sentences": counts["records_tagged"], "slots": counts["padded_slots"],
            "batches": counts["batches"], "counters": counts,
            "output_lines": _count_lines(args.output + "-*.jsonl", exclude="-errors")}


MULTI_PROCESSING = ("--direct_running_mode=multi_processing", "--direct_num_workers=2")


def case_e(args):
    return case_d(args, MULTI_PROCESSING)


def case_f(args):
    return case_d(args, (*MULTI_PROCESSING, "--tagger-threads", "0"))


def case_r(args):
    """RunInference(TaggerModelHandler) with D's model, store and input; the clock covers the
    whole pipeline (model load included, as in D)."""
    import apache_beam as beam
    from apache_beam.ml.inference.base import RunInference
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.transforms import TaggerModelHandler, counters

    with bench_common.Clock() as clock:
        pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
        _ = (pipeline
             | "Read" >> beam.io.ReadFromText(args.input)
             | "Tag" >> RunInference(TaggerModelHandler(args.model, args.store,
                                                       runtime="tensorflow"))
             | "ToJson" >> beam.Map(lambda result: json.dumps(result.inference.to_json_dict()))
             | "Write" >> beam.io.WriteToText(args.output, file_name_suffix=".jsonl"))
        result = pipeline.run()
        result.wait_until_finish()
    counts = counters.query_counters(result)
    return {"seconds": clock.seconds, "cores": clock.cores, "tokens": counts["batched_tokens"],
            "sentences": counts["records_tagged"], "slots": counts["padded_slots"],
            "batches": counts["batches"], "counters": counts,
            "output_lines": _count_lines(args.output + "*.jsonl")}


def case_g(args):
    """``beamtagger tag --runtime numpy`` with the thin model (the parent passes it as
    --model); child_result's CPU seconds are the whole process's, ``model_cpu_seconds`` the
    CPU its predict calls took (thread CPU of the thread that ran each)."""
    model_cpu = _count_model_cpu()
    result = case_d(args, ("--runtime", "numpy"))
    result["model_cpu_seconds"] = model_cpu[0]
    return result


def _count_model_cpu():
    """Makes NumpyTaggerRunner.predict add its thread's CPU seconds to the returned list's
    first item (the tag stage predicts on its own helper thread)."""
    from beamtagger.model.numpy_inference import NumpyTaggerRunner

    total = [0.0]
    predict = NumpyTaggerRunner.predict

    def counted(self, inputs):
        started = time.thread_time()
        try:
            return predict(self, inputs)
        finally:
            total[0] += time.thread_time() - started

    NumpyTaggerRunner.predict = counted
    return total


def case_m(args):
    """The thin model's own CPU per token: NumpyTaggerRunner.predict over the batches the
    pipeline cuts from the input (bucket.length_batches), best of 3 passes."""
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.model_inputs import ModelInputs
    from beamtagger.model.numpy_inference import NumpyTaggerRunner
    from beamtagger.transforms.bucket import length_batches

    store = EmbeddingStore.open(args.store)
    runner = NumpyTaggerRunner.load(args.model)
    runner.warm_up()
    featurizer = runner.spec.featurizer
    sentences = [tokens for tokens in _tokenized(bench_models.read_lines(args.input)) if tokens]
    prepared = []
    for indices in length_batches([len(s) for s in sentences], args.token_budget):
        flat = [token for i in indices for token in sentences[i]]
        rows = store.rows(flat)
        prepared.append(ModelInputs.from_tokens([len(sentences[i]) for i in indices], rows,
                                                featurizer.featurize(flat, rows >= 0), store))
    best = None
    for _ in range(3):
        started = time.process_time()
        for batch in prepared:
            runner.predict(batch)
        spent = time.process_time() - started
        best = spent if best is None else min(best, spent)
    tokens = sum(map(len, sentences))
    return {"seconds": best, "cores": 1.0, "tokens": tokens, "sentences": len(sentences),
            "slots": tokens, "batches": len(prepared), "model_cpu_seconds": best}


def case_p(args):
    # The model runs in the worker processes, where no counter reaches it: M is taken off.
    return case_d(args, ("--runtime", "numpy", *MULTI_PROCESSING))


def case_n(args):
    """D with ``TaggerRunner.load`` answering a no-op runner: everything but the model."""
    bench_models.install_noop_tagger()
    return case_d(args, ("--runtime", "tensorflow"))


def _count_lines(pattern, exclude=None):
    total = 0
    for path in glob.glob(pattern):
        if exclude and exclude in os.path.basename(path):
            continue
        with open(path, "rb") as handle:
            total += sum(1 for _ in handle)
    return total


def child_main(args):
    case = {"A": case_a, "B": case_b, "C": case_c, "D": case_d, "E": case_e,
            "F": case_f, "G": case_g, "M": case_m, "N": case_n, "P": case_p,
            "R": case_r}[args.case]
    bench_common.child_result(**case(args))


# ---------------------------------------------------------------- parent: prepare, run, report

def units(tiny):
    return 16 if tiny else 300


def prepare(work, tiny, sizes):
    """Text inputs, the default store (or a small one in tiny mode) and both models."""
    from beamtagger.embeddings import default as default_store

    work = pathlib.Path(work)
    limit = 200 if tiny else None
    sentences = bench_models.ewt_sentences(limit)
    corpus_tokens = sum(map(len, sentences))
    store = default_store.ensure_default_store() if not tiny else bench_common.tiny_store(work)
    inputs = {}
    for name, target in sizes.items():
        if target == "corpus":
            target = corpus_tokens
        pattern, lines, tokens = bench_models.write_text_files(sentences, work / f"text-{name}",
                                                              target)
        inputs[name] = {"pattern": pattern, "lines": lines, "corpus_tokens": tokens}
    model_dir = bench_models.build_tagger_dir(store, work / "tagger", units=units(tiny))
    keras_model = work / "embedded.keras"
    bench_models.build_embedded_keras_model(np.asarray(store.vectors, dtype=np.float32),
                                            units=units(tiny)).save(keras_model)
    return store, inputs, model_dir, keras_model


def prepare_g(work, tiny, store):
    """Case G's inputs (EWT train as text, G_PASSES passes, one file each) and thin model."""
    import subprocess

    work = pathlib.Path(work)
    sentences = bench_models.ewt_sentences(200 if tiny else None)
    corpus_tokens = sum(map(len, sentences))
    inputs = {}
    for name, passes in G_PASSES.items():
        pattern, lines, tokens = bench_models.write_text_files(
            sentences, work / f"g-text-{name}", passes * corpus_tokens, parts=1)
        inputs[name] = {"pattern": pattern, "lines": lines, "corpus_tokens": tokens}
    thin = work / "thin-model"
    if not (thin / "tagger.json").exists():
        command = [sys.executable, "-m", "beamtagger.pipeline.cli", "train", "--train",
                   bench_common.EWT_TRAIN, "--dev", bench_common.EWT_DEV, "--embeddings",
                   store.path, "--out", thin, "--overwrite", *THIN_MODEL_FLAGS]
        print("[throughput] training case G's thin model ...", file=sys.stderr, flush=True)
        subprocess.run(list(map(str, command)), check=True, capture_output=True,
                       env={**os.environ, **bench_common.CHILD_ENV}, cwd=bench_common.REPO_ROOT)
    return inputs, thin


def run_case(case, data, args, work, store, model_dir, keras_model, profile=None, run=None):
    """Runs one case in a child process; ``profile``: a path for py-spy's raw samples;
    ``run``: the run's number, when a case runs more than once on one input."""
    tag = (f"{case}-{data['name']}" + ("-profiled" if profile else "")
           + (f"-{run}" if run is not None else ""))
    output = pathlib.Path(work) / f"out-{tag}" / "tagged"
    argv = [__file__, "--child", "--case", case, "--input", data["pattern"], "--output", output,
            "--store", store.path, "--model", model_dir, "--keras-model", keras_model,
            "--batch-size", args.batch_size, "--token-budget", args.token_budget]
    prefix = profile_summary.record_command(profile, PROFILE_RATE) if profile else ()
    print(f"[throughput] case {case} on {data['name']}{' under py-spy' if profile else ''} ...",
          file=sys.stderr, flush=True)
    result = bench_common.run_child(argv, label=f"case {case} on {data['name']}", prefix=prefix)
    result["case"], result["size"] = case, data["name"]
    result["tokens_per_s"] = result["tokens"] / result["seconds"] if result.get("tokens") else None
    if result.get("slots"):
        result["padding_efficiency"] = result["tokens"] / result["slots"]
    print(f"[throughput]   {result['tokens']} tokens in {result['seconds']:.1f} s "
          f"= {result['tokens_per_s'] or 0:,.0f} tokens/s, peak {result['peak_tree_rss_mib']} MiB",
          file=sys.stderr, flush=True)
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true",
                        help="200 sentences, 16 LSTM units, the GloVe subset store (CI)")
    parser.add_argument("--cases", default=CASES, help="which cases to run (default ABCDEF)")
    parser.add_argument("--work", help="folder for inputs, models and outputs (default: temp)")
    parser.add_argument("--roles", help="input sizes to run: small (50k), corpus (one pass), "
                        "large (1M); default all three (--tiny: small,corpus)")
    parser.add_argument("--batch-size", type=int, default=64, help="A and B batch size")
    parser.add_argument("--token-budget", type=int, default=PIPELINE_MAX_BATCH_TOKENS,
                        help="C's tokens per exact-length batch (default: the pipeline's "
                        "--max-batch-tokens default, so C and D run the same batches)")
    parser.add_argument("--profile", help="cases to run once more under py-spy, on the corpus "
                        "input, to show where the time goes (default: those of D, E, G and N "
                        "that run; --tiny: none)")
    parser.add_argument("--no-memory", dest="memory", action="store_false",
                        help="skip the peak-RSS-against-size runs (case D on one file of 1M "
                        "and 10M tokens)")
    parser.add_argument("--name", default="throughput", help="results file name")
    # Child mode (one case in this process); the parent passes these.
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    for name in ("input", "output", "store", "model", "keras_model"):
        parser.add_argument("--" + name.replace("_", "-"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.roles is None:
        args.roles = "small,corpus" if args.tiny else "small,corpus,large"
    if args.profile is None:   # the profiled cases among those asked for (G needs its inputs)
        args.profile = "" if args.tiny else "".join(c for c in "DEGN" if c in args.cases)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        child_main(args)
        return 0
    bench_common.require_shared_data()
    with tempfile.TemporaryDirectory(prefix="beamtagger-throughput-") as temp:
        work = pathlib.Path(args.work or temp)
        return run(args, work)


# Sizes: name -> target corpus tokens ("corpus" = one pass over EWT train).
FULL_SIZES = {"50k": 50_000, "205k": "corpus", "1M": 1_000_000}
TINY_SIZES = {"small": 1_000, "corpus": "corpus", "large": 6_000}
# Peak RSS against input size (issue 12): case D on ONE file (the DirectRunner reads one file in
# one bundle, the case where anything held per record shows), and the target: flat within 20%.
MEMORY_SIZES = {"1M, one file": 1_000_000, "10M, one file": 10_000_000}
TINY_MEMORY_SIZES = {"small, one file": 1_000, "large, one file": 10_000}
MEMORY_GROWTH_TARGET = 1.2
# Which sizes each case runs on. A and B pad every sentence to 128, so their cost is per sentence
# whatever the input size (the large input is the corpus repeated): they run once and their
# rate stands for every size, said so in the report. A runs on the 205k corpus, the input issue
# 12's D/A target names (~3k tokens/s with RunInference's default batching: about 70 s). C, D
# and E run at the sizes the scaling section needs.
CASE_SIZES = {"A": ("corpus",), "B": ("corpus",), "C": ("corpus", "large"),
              "D": ("small", "corpus", "large"), "E": ("corpus", "large"),
              "F": ("corpus", "large"), "N": ("corpus", "large"), "R": ("corpus",)}


def run(args, work):
    sizes = TINY_SIZES if args.tiny else FULL_SIZES
    size_names = dict(zip(("small", "corpus", "large"), sizes))
    started = time.perf_counter()
    store, inputs, model_dir, keras_model = prepare(work, args.tiny, sizes)
    results = []
    g_inputs = thin_model = None
    if set("GMP") & set(args.cases):
        g_inputs, thin_model = prepare_g(work, args.tiny, store)
    for case in args.cases:
        if case in "GMP":
            continue
        for role in CASE_SIZES[case]:
            if role not in args.roles.split(","):
                continue
            name = size_names[role]
            data = {"name": name, **inputs[name]}
            results.append(run_case(case, data, args, work, store, model_dir, keras_model))
    if "G" in args.cases:
        for run_number in range(1 if args.tiny else G_RUNS):   # sizes alternate: a busy moment hits both
            for name, data in g_inputs.items():
                results.append(run_case("G", {"name": name, **data}, args, work, store,
                                        thin_model, keras_model, run=run_number))
    if "M" in args.cases:
        results.append(run_case("M", {"name": "x1", **g_inputs["x1"]}, args, work, store,
                                thin_model, keras_model))
    if "P" in args.cases:
        for name, data in g_inputs.items():
            results.append(run_case("P", {"name": name, **data}, args, work, store,
                                    thin_model, keras_model))
    memory = []
    if args.memory:
        memory_sizes = TINY_MEMORY_SIZES if args.tiny else MEMORY_SIZES
        sentences = bench_models.ewt_sentences(200 if args.tiny else None)
        for name, target in memory_sizes.items():
            pattern, lines, tokens = bench_models.write_text_files(
                sentences, pathlib.Path(work) / f"one-file-{name}", target, parts=1)
            data = {"name": name, "pattern": pattern, "lines": lines, "corpus_tokens": tokens}
            memory.append(run_case("D", data, args, work, store, model_dir, keras_model))
            shutil.rmtree(pathlib.Path(work) / f"one-file-{name}", ignore_errors=True)
    profiles = {}
    if args.profile and not profile_summary.py_spy():
        print("[throughput] py-spy is not installed: no profiles (pip install py-spy)",
              file=sys.stderr)
    elif args.profile:
        for case in args.profile:
            name = "x1" if case == "G" else size_names["corpus"]
            data = {"name": name, **(g_inputs if case == "G" else inputs)[name]}
            raw = bench_common.RESULTS_DIR / f"profile-{case}-{name}.txt"
            bench_common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            profiled = run_case(case, data, args, work, store,
                                thin_model if case == "G" else model_dir, keras_model,
                                profile=raw)
            stages, sampled = profile_summary.summarize(raw, PROFILE_RATE)
            profiles[case] = {"raw": str(raw), "stages": stages, "sampled_seconds": sampled,
                              "compute_by_process": profile_summary.compute_by_process(
                                  raw, PROFILE_RATE),
                              "run": profiled}
    report = {"machine": bench_common.machine(), "date": bench_common.now(),
              "command": "python bench/throughput_bench.py" + (" --tiny" if args.tiny else ""),
              "tiny": args.tiny, "units": units(args.tiny), "inputs": inputs,
              "store": {"path": store.path, "dim": store.dim, "count": store.count},
              "g_inputs": g_inputs,
              "results": results, "ratios": ratios(results, size_names), "profiles": profiles,
              "memory": memory,
              "total_seconds": time.perf_counter() - started}
    report["scaling"] = scaling(results, inputs)
    # A fresh interpreter's TensorFlow import (5.7 s of CPU on 2 cores) bounds only the D/A
    # ratio: timed where case A runs.
    if "A" in args.cases:
        report["import_seconds"] = {"tensorflow": import_seconds("tensorflow")}
    bench_common.save_results(args.name, report, {None: markdown(report, size_names),
                                                  "scaling": scaling_markdown(report)})
    return 0


def _rate(results, case, size=None):
    """tokens/s of ``case`` on ``size`` (None: its only run)."""
    for result in results:
        if result["case"] == case and (size is None or result["size"] == size):
            return result["tokens_per_s"]
    return None


def ratios(results, size_names):
    corpus, large = size_names["corpus"], size_names["large"]
    out = {}
    for size in (corpus, large):
        # A runs once (see CASE_SIZES); its cost per padded sentence does not depend on size.
        a, c = _rate(results, "A"), _rate(results, "C", size)
        d, e = _rate(results, "D", size), _rate(results, "E", size)
        out[size] = {"D/A": d / a if d and a else None, "D/C": d / c if d and c else None,
                     "E/D": e / d if e and d else None}
    return out


def markdown(report, size_names):
    corpus, large = size_names["corpus"], size_names["large"]
    lines = ["## 1. Tagging throughput and padding", "",
             f"Command: `{report['command']}`. Input: EWT train as plain text "
             f"({report['inputs'][corpus]['lines']:,} sentences, one a line, space-joined tokens), "
             f"and the same repeated ({report['inputs'][large]['lines']:,} lines). Tagger: "
             f"BiLSTM {report['units']} units over the {report['store']['count']:,} x "
             f"{report['store']['dim']} "
             "GloVe store, 18 labels, random weights. Tokens are counted after beamtagger's "
             "tokenizer (A cuts sentences at 128 tokens and counts only the tokens it tags).", ""]
    rows = []
    for result in report["results"]:
        rows.append([result["case"], CASE_NAMES[result["case"]], result["size"],
                     bench_common.fmt(result["tokens"]),
                     bench_common.fmt(result["seconds"], 1),
                     bench_common.fmt(result["tokens_per_s"]),
                     bench_common.fmt(result.get("padding_efficiency"), 3),
                     bench_common.fmt(result.get("cores"), 2),
                     bench_common.fmt(result["peak_tree_rss_mib"])])
    lines.append(bench_common.markdown_table(
        ["case", "what", "input", "real tokens", "seconds", "tokens/s", "padding efficiency",
         "busy cores", "peak RSS MiB (process tree)"], rows))
    lines += ["Seconds: A, D and E from pipeline construction to the end of the run (model "
              "loading included); B and C the model calls only. Busy cores: CPU seconds of the case's "
              "process tree over those seconds / wall seconds (the machine has "
              f"{report['machine']['cores']}). Peak RSS: the summed resident "
              "memory of the case's process and all its children, sampled every 50 ms.", ""]
    lines += ["### Ratios against the targets", "",
              "| ratio | measured | target | verdict |", "|---|---|---|---|"]
    for size in (corpus, large):
        for name, value in report["ratios"][size].items():
            lines.append(bench_common.target_line(f"{name} ({size})", value, TARGETS[name]))
    for result in report["results"]:
        if result["case"] == "D" and result.get("padding_efficiency") is not None:
            lines.append(bench_common.target_line(f"padding efficiency D ({result['size']})",
                                                  result["padding_efficiency"], 0.95, digits=3))
    fit, c_large = report.get("scaling"), _result(report, "C", large)
    if fit and c_large:
        lines.append(bench_common.target_line(
            f"D marginal rate / C ({large}; issue 12)",
            fit["marginal_tokens_per_s"] / c_large["tokens_per_s"], MARGINAL_OVER_C_TARGET))
    for case, profile in report["profiles"].items():
        run = profile["run"]
        where = run["size"] if case == "G" else corpus
        lines += ["", f"### Where the time of {case} goes (py-spy, {where} input)", "",
                  f"A second run of {case} under `py-spy record --idle --subprocesses` "
                  f"({run['seconds']:.1f} s under the profiler). "
                  "Thread-seconds inside Beam bundles, by the innermost stage on the stack "
                  "(the tag stage's helper and loader threads included); 'model compute' is "
                  "the helper thread waiting in TensorFlow while TensorFlow's own threads "
                  "compute, 'waiting for the model' the bundle thread waiting for the helper "
                  "(or for the tagger to load).", "",
                  profile_summary.markdown(profile["stages"], profile["sampled_seconds"],
                                           f"{case}, {where}",
                                           tokens=run["tokens"] if case in "GN" else None)]
        by_process = profile["compute_by_process"]
        if len(by_process) > 1:
            share = max(by_process.values()) / (sum(by_process.values()) or 1)
            lines.append("Model compute by process: " + ", ".join(
                f"{seconds:.1f} s" for seconds in by_process.values()) + "."
                + (f" One worker did {share:.0%} of the model work: the batches are not spread "
                   "over the workers." if share > 0.8 else ""))
    lines += non_model_markdown(report, size_names)
    lines += analysis(report, size_names)
    a_runs = [r for r in report["results"] if r["case"] == "A"]
    if a_runs:
        a_run = a_runs[0]
        a_mean = a_run["tokens"] / a_run["sentences"]
        corpus_mean = report["inputs"][corpus]["corpus_tokens"] / report["inputs"][corpus]["lines"]
        effect = "flatters" if a_mean >= corpus_mean else "understates"
        lines += ["", f"A ran once, on the {a_run['size']} input ({a_run['sentences']:,} "
                  "sentences of EWT train), and its rate stands in every D/A "
                  "ratio: A pads every sentence to 128, so its cost is per sentence whatever the "
                  f"input size. Those sentences average {a_mean:.1f} tokens against "
                  f"{corpus_mean:.1f} for the whole corpus, which {effect} A's tokens/s a "
                  f"little. B ran on the {corpus} input once, for the same reason.", ""]
    return "\n".join(lines) + "\n"


def non_model_cost(report, size_names):
    """Core-microseconds per token of the non-model stages.

    G (issue 18's measure): min CPU seconds of the whole process over G's runs at each size,
    the marginal between the sizes, each run less its thin model's CPU (and M, apart). N (before issue 18):
    the timed section's CPU, 205k -> 1M, no-op model, no character ids.
    """
    out = {}
    g_runs = {}
    for result in report["results"]:
        if result["case"] == "G":
            g_runs.setdefault(result["size"], []).append(result)
    if len(g_runs) == 2:
        (small, small_runs), (large, large_runs) = sorted(
            g_runs.items(), key=lambda item: item[1][0]["tokens"])
        cpu = {small: min(r["cpu_seconds"] for r in small_runs),
               large: min(r["cpu_seconds"] for r in large_runs)}
        # The model's CPU in each run (its predict calls), taken off run by run.
        without = {small: min(r["cpu_seconds"] - r["model_cpu_seconds"] for r in small_runs),
                   large: min(r["cpu_seconds"] - r["model_cpu_seconds"] for r in large_runs)}
        tokens = {small: small_runs[0]["tokens"], large: large_runs[0]["tokens"]}
        extra = (tokens[large] - tokens[small]) / 1e6
        marginal = (cpu[large] - cpu[small]) / extra
        model = next((r for r in report["results"] if r["case"] == "M"), None)
        model_us = model["model_cpu_seconds"] / model["tokens"] * 1e6 if model else None
        out["G"] = {"sizes": (small, large), "cpu": cpu, "tokens": tokens,
                    "runs": {size: [r["cpu_seconds"] for r in runs]
                             for size, runs in g_runs.items()},
                    "marginal_with_model": marginal, "model_us": model_us,
                    "in_run_model_us": marginal - (without[large] - without[small]) / extra,
                    "marginal": (without[large] - without[small]) / extra,
                    "marginal_minus_m": marginal - (model_us or 0),
                    "fixed_cpu_seconds": without[small] - (without[large] - without[small])
                    / extra * tokens[small] / 1e6}
    p_small, p_large = (_result(report, "P", size) for size in G_PASSES)
    if p_small and p_large and p_small.get("cores") and p_large.get("cores"):
        extra_cpu = (p_large["cores"] * p_large["seconds"]
                     - p_small["cores"] * p_small["seconds"])
        marginal = extra_cpu / (p_large["tokens"] - p_small["tokens"]) * 1e6
        model = out.get("G", {}).get("model_us") or 0
        out["P"] = {"marginal_with_model": marginal, "marginal": marginal - model}
    corpus, large = (_result(report, "N", size_names[role]) for role in ("corpus", "large"))
    if corpus and large and corpus.get("cores") and large.get("cores"):
        extra_cpu = large["cores"] * large["seconds"] - corpus["cores"] * corpus["seconds"]
        out["N"] = {"marginal": extra_cpu / (large["tokens"] - corpus["tokens"]) * 1e6}
    return out


def non_model_markdown(report, size_names):
    cost = non_model_cost(report, size_names)
    if not cost:
        return []
    lines = ["", "### What the non-model stages cost (case G; N as before issue 18)", ""]
    g = cost.get("G")
    if g:
        small, large = g["sizes"]
        lines += [
            "Case G measures what users run, as issue 18 does: a thin model trained by "
            f"`beamtagger train ... {' '.join(THIN_MODEL_FLAGS)}` (the featurizer `train` writes "
            "by default: 6 feature columns and 16 character ids a token, and almost no "
            "compute of its own), `beamtagger tag --runtime numpy --model THIN` on EWT train "
            f"as text, {small} and {large} (one file each). CPU seconds (user + system) of the "
            f"whole process from its start, min of {G_RUNS} runs a size (the sizes alternate); "
            "the marginal between the sizes cancels start-up, and the thin model's own cost "
            "(its predict calls' CPU in each run; case M measures it apart) is taken off.", "",
            "| figure | value |", "|---|---|",
            f"| G on {small}: CPU seconds (runs) | {g['cpu'][small]:.2f} "
            f"({', '.join(f'{v:.2f}' for v in g['runs'][small])}) |",
            f"| G on {large}: CPU seconds (runs) | {g['cpu'][large]:.2f} "
            f"({', '.join(f'{v:.2f}' for v in g['runs'][large])}) |",
            f"| tokens | {g['tokens'][small]:,} / {g['tokens'][large]:,} |",
            f"| marginal, core-µs per token | {g['marginal_with_model']:.2f} |",
            f"| the thin model's own cost in these runs (its predict calls' thread CPU), "
            f"core-µs per token | {g['in_run_model_us']:.2f} |",
            f"| **non-model stages, core-µs per token** (each run less its model's CPU) | "
            f"**{g['marginal']:.2f}** |",
            f"| the thin model measured apart (M: predict over x1's batches, best of 3), "
            f"core-µs per token; marginal less M | {bench_common.fmt(g['model_us'], 2)}; "
            f"{g['marginal_minus_m']:.2f} |",
            f"| fixed CPU seconds without the model (start-up, from the two sizes) | "
            f"{g['fixed_cpu_seconds']:.1f} |",
            ""]
    lines += ["| ratio | measured | target | verdict |", "|---|---|---|---|"]
    if g:
        lines.append(_at_most_line("non-model core-µs per token (G: default featurizer, "
                                   "issue 18)", g["marginal"], NON_MODEL_CORE_US_TARGET))
    if "P" in cost:
        lines.append(f"| the same with 2 local worker processes (P: multi_processing, timed "
                     f"section and workers, minus M) | {cost['P']['marginal']:.2f} | | |")
    if "N" in cost:
        lines.append(f"| the same as before issue 18 (N: no-op model, no char ids, timed "
                     f"section) | {cost['N']['marginal']:.2f} | (issue 12: <= 5) | |")
    return lines + [""]


def _at_most_line(name, value, target):
    verdict = "met" if value <= target else "**missed**"
    return f"| {name} | {value:.2f} | <= {target:g} | {verdict} |"


def _result(report, case, size):
    for result in report["results"]:
        if result["case"] == case and result["size"] == size:
            return result
    return None


def analysis(report, size_names):
    """What bounds the missed ratios, computed from this run's own figures."""
    large = size_names["large"]
    cores = report["machine"]["cores"]
    c, d, e, f = (_result(report, case, large) for case in "CDEF")
    imports = report.get("import_seconds", {})
    lines = ["", "### What bounds the ratios (computed from the figures above)", ""]
    fit = report.get("scaling")
    corpus = size_names.get("corpus")
    a_small, c_small, d_small = (_result(report, case, corpus) for case in "ACD")
    if a_small and c_small and d_small and imports.get("tensorflow"):
        needed = d_small["tokens"] / (TARGETS["D/A"] * a_small["tokens_per_s"])
        floor = imports["tensorflow"] + c_small["seconds"]
        lines.append(
            f"- D/A: at {corpus}, A tags {a_small['tokens_per_s']:,.0f} tokens/s, so 10x needs D "
            f"to tag the {d_small['tokens']:,} tokens in {needed:.1f} s, start-up included; D "
            f"took {d_small['seconds']:.1f} s. Importing TensorFlow alone takes "
            f"{imports['tensorflow']:.1f} s here and the model alone (C) {c_small['seconds']:.1f} s "
            f"on these tokens: {floor:.1f} s before any reading, tokenizing or loading, so on "
            f"this input size the ratio is bounded by about {d_small['tokens'] / floor / a_small['tokens_per_s']:.1f}x "
            "whatever the Python stages cost.")
    if c and d and c.get("cores") and d.get("cores"):
        cpu_c, cpu_d = c["cores"] * c["seconds"], d["cores"] * d["seconds"]
        floor = cpu_d / cores
        line = (
            f"- D/C: at {large}, C computes {c['tokens_per_s']:,.0f} tokens/s, keeping "
            f"{c['cores']:.2f} cores busy ({cpu_c:.1f} CPU-seconds). D spends {cpu_d:.1f} "
            f"CPU-seconds on the same tokens: the model's and {cpu_d - cpu_c:.1f} more for "
            "reading, tokenizing, lookups, decoding, writing and start-up. The tag stage runs "
            f"the model on a helper thread beside that work, and D kept {d['cores']:.2f} of the "
            f"{cores} cores busy; with every core busy for the whole run it would take "
            f"{floor:.1f} s instead of {d['seconds']:.1f} s, a D/C of "
            f"{c['seconds'] / floor:.2f}.")
        if fit:
            line += (
                " The linear fit over D's sizes splits D into a fixed "
                f"{fit['fixed_seconds']:.1f} s and a marginal "
                f"{fit['marginal_tokens_per_s']:,.0f} tokens/s, "
                f"{fit['marginal_tokens_per_s'] / c['tokens_per_s']:.2f} of C: per token the "
                "pipeline costs less than the 40% the target allows; the fixed part (each "
                f"process imports TensorFlow, {imports.get('tensorflow') or 0:.1f} s alone on this "
                "machine, loads and traces the tagger, and the runner starts and ends its stages, mostly on one core because "
                "of the GIL) is what keeps D/C below 0.6.")
        lines.append(line)
    if d and e and d.get("cores") and e.get("cores"):
        cpu_d, cpu_e = d["cores"] * d["seconds"], e["cores"] * e["seconds"]
        lines.append(
            f"- E/D: D already keeps {d['cores']:.2f} of the {cores} cores busy (the model on "
            f"TensorFlow's threads, the Python stages beside it), so on this machine E/D cannot "
            f"exceed {cores} / {d['cores']:.2f} = {cores / d['cores']:.2f} even with no "
            f"multi-process overhead. And there is overhead: E spent {cpu_e:.1f} CPU-seconds "
            f"against D's {cpu_d:.1f} (each worker process imports TensorFlow and loads the "
            "tagger, and the multi-processing runner sends every record and every result "
            "between its worker processes and itself).")
        if f:
            lines.append(
                f"- E against F: E's workers run {max(1, cores // 2)} TensorFlow thread(s) each "
                f"(the cores shared out); with TensorFlow's default of {cores} in each (F) the "
                f"rate is {f['tokens_per_s']:,.0f} tokens/s against E's "
                f"{e['tokens_per_s']:,.0f} ({e['tokens_per_s'] / f['tokens_per_s']:.2f}x for E).")
    return lines + [""]


def import_seconds(module):
    """Seconds to import ``module`` in a fresh interpreter (part of every worker's start-up)."""
    import subprocess

    code = (f"import time; t = time.perf_counter(); import {module}; "
            "print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return float(done.stdout.split()[-1]) if done.returncode == 0 and done.stdout else None


def scaling(results, inputs):
    """Least-squares fit of seconds = fixed + tokens / marginal rate over D's sizes."""
    points = [(r["tokens"], r["seconds"]) for r in results if r["case"] == "D" and r["tokens"]]
    if len(points) < 2:
        return None
    tokens, seconds = np.array(points, dtype=float).T
    slope, fixed = np.polyfit(tokens, seconds, 1)
    predicted = fixed + slope * tokens
    residual = float(np.sum((seconds - predicted) ** 2))
    total = float(np.sum((seconds - seconds.mean()) ** 2)) or 1.0
    return {"fixed_seconds": float(fixed), "marginal_tokens_per_s": float(1 / slope),
            "r_squared": 1 - residual / total}


def scaling_markdown(report):
    lines = ["## 4. Scaling", "", "### `beamtagger tag` (case D) against input size", "",
             f"Command: `{report['command']}` (the D rows of section 1). The inputs are EWT train "
             "sentences: a prefix, one pass, and repeated passes.", ""]
    rows = [[r["size"], bench_common.fmt(r["tokens"]), bench_common.fmt(r["seconds"], 1),
             bench_common.fmt(r["tokens_per_s"]), bench_common.fmt(r["peak_tree_rss_mib"])]
            for r in report["results"] if r["case"] in ("D",)]
    lines.append(bench_common.markdown_table(
        ["input", "real tokens", "seconds", "tokens/s", "peak RSS MiB"], rows))
    fit = report.get("scaling")
    if fit:
        lines += [f"Least-squares fit over these runs: seconds = {fit['fixed_seconds']:.1f} + "
                  f"tokens / {fit['marginal_tokens_per_s']:,.0f} (R^2 = {fit['r_squared']:.4f}). "
                  + ("The cost is linear in the input: a fixed part (TensorFlow import, model "
                     "loading, pipeline start-up) plus a constant cost per token."
                     if fit["r_squared"] >= 0.99 and fit["marginal_tokens_per_s"] > 0 else
                     "**The points do not lie on a line** (R^2 < 0.99 or a negative slope): "
                     "the cost is not shown to be linear by this run."), ""]
    memory = report.get("memory") or []
    if len(memory) >= 2:
        rows = [[r["size"], bench_common.fmt(r["tokens"]), bench_common.fmt(r["seconds"], 1),
                 bench_common.fmt(r["tokens_per_s"]), bench_common.fmt(r["peak_tree_rss_mib"])]
                for r in memory]
        growth = memory[-1]["peak_tree_rss_mib"] / memory[0]["peak_tree_rss_mib"]
        verdict = "met" if growth <= MEMORY_GROWTH_TARGET else "**missed**"
        lines += ["", "### Peak memory against input size (case D, one input file)", "",
                  "The same pipeline on one text file of each size (the local runner reads a file "
                  "in one bundle, so whatever a stage holds per record shows here). Before issue "
                  "12 the formatted output of every record waited in the runner's buffer for the "
                  "merge before the sink: 1.31 GB at 205k tokens, 1.66 GB at 1.03M, 3.10 GB at "
                  "5.1M (issue 12's figures); `transforms/write_parts.py` writes each part where "
                  "it is produced.", "",
                  bench_common.markdown_table(
                      ["input", "real tokens", "seconds", "tokens/s", "peak RSS MiB"], rows),
                  "| ratio | measured | target | verdict |", "|---|---|---|---|",
                  f"| peak RSS {memory[-1]['size']} / {memory[0]['size']} | {growth:.2f} | "
                  f"<= {MEMORY_GROWTH_TARGET} | {verdict} |", ""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
