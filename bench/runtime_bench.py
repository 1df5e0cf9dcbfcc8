"""The runtimes of the tag stage side by side: TensorFlow, NumPy and JAX (on the CPU here).

One process, the bundled model, the EWT dev sentences in the tag stage's batches (grouped by
``BucketByLength``'s bucket lengths under its default token budget, featurized by
``ModelInputs.from_tokens`` as the Arrow batches are; for JAX by its grid's widths, as TagText
buckets for ``runtime="jax"``). First the NumPy runner is loaded (h5py import included), then
JAX's (import, set-up, load and the warm-up's compilation, with an empty compilation cache),
then TensorFlow is imported and its runner loaded and warmed up, each timed. Then every batch
goes through each runner, alternately, ``--passes`` times after a warm-up pass (which compiles
JAX's grid shapes); the best pass of each is reported, with how many labels differ from
TensorFlow's (decoded as the tag stage decodes them).

Then end to end: ``beamtagger tag --runtime tensorflow|numpy`` on EWT train as text (205k tokens)
and on 1M tokens (EWT train repeated), and ``--runtime jax`` on the 205k input, fresh processes,
the runtimes alternating, ``--rounds`` rounds; the median wall time of each is reported.
TensorFlow's import and model load are part of every run; NumPy's LSTM holds the GIL between
its small matrix products, where TensorFlow's releases it for the whole batch, so the Python
stages overlap the model less. JAX's runs share one compilation cache (the first compiles).

  python bench/runtime_bench.py            # about a minute on 2 cores
  python bench/runtime_bench.py --tiny     # 200 sentences, 1 pass, 2k tokens end to end (CI)
"""
import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import bench_common
import bench_models

END_TO_END_SIZES = {"205k": None, "1M": 1_000_000}   # None: EWT train once
RUNTIMES = ("tensorflow", "numpy", "jax")
# JAX on a CPU is here for the record, not for speed: end to end on the small input only.
END_TO_END_RUNTIMES = {"205k": RUNTIMES, "1M": ("tensorflow", "numpy"),
                       "2k": RUNTIMES}


def batches_of(sentences, store, featurizer, max_batch_tokens, widths=None):
    """(ModelInputs batches as the tag stage gets them: one bucket each, under the budget,
    their sentence indices)."""
    from beamtagger.model.model_inputs import ModelInputs
    from beamtagger.transforms.bucket import length_batches

    batches, groups = [], []
    for indices in length_batches([len(tokens) for tokens in sentences], max_batch_tokens,
                                  widths):
        group = [sentences[j] for j in indices]
        flat = [token for tokens in group for token in tokens]
        rows = store.rows(flat)
        batches.append(ModelInputs.from_tokens([len(t) for t in group], rows,
                                               featurizer.featurize(flat, rows >= 0), store))
        groups.append(indices)
    return batches, groups


def sentence_labels(spec, batches, groups, outputs, count):
    """Each sentence's labels, in sentence order."""
    labels = [None] * count
    for inputs, group, probs in zip(batches, groups, outputs):
        for j, (decoded, _) in zip(group, spec.decode_batch(probs, inputs.lengths)):
            labels[j] = decoded
    return labels


def end_to_end(sizes, rounds, work, available=RUNTIMES):
    """{size: {runtime: [wall seconds of beamtagger tag, one per round]}} and token counts."""
    sentences = bench_models.ewt_sentences()
    walls, tokens = {}, {}
    for size, target in sizes.items():
        pattern, _, tokens[size] = bench_models.write_text_files(
            sentences, work / f"text-{size}", target_tokens=target)
        chosen = [runtime for runtime in END_TO_END_RUNTIMES[size] if runtime in available]
        walls[size] = {runtime: [] for runtime in chosen}
        for round_number in range(rounds):
            for runtime in chosen:
                output = work / f"out-{size}-{runtime}-{round_number}" / "tagged"
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "beamtagger.pipeline.cli", "tag",
                                "--input", pattern, "--output", str(output), "--output-format",
                                "jsonl", "--runtime", runtime, "--progress-every", "0"],
                               check=True, capture_output=True, cwd=bench_common.REPO_ROOT,
                               env={**os.environ, **bench_common.CHILD_ENV})
                walls[size][runtime].append(time.perf_counter() - started)
    return walls, tokens


def timed_pass(runner, batches):
    started = time.perf_counter()
    outputs = [runner.predict(inputs) for inputs in batches]
    return time.perf_counter() - started, outputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="200 sentences, one pass (CI)")
    parser.add_argument("--passes", type=int, default=3, help="timed passes of each runtime")
    parser.add_argument("--rounds", type=int, default=3,
                        help="end-to-end runs of each runtime and size")
    parser.add_argument("--sizes", nargs="+", choices=tuple(END_TO_END_SIZES),
                        default=tuple(END_TO_END_SIZES), help="end-to-end input sizes")
    args = parser.parse_args(argv)
    bench_common.require_shared_data()
    from beamtagger.corpus_readers import read_corpus
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR
    from beamtagger.tagging_defaults import MAX_BATCH_TOKENS
    from beamtagger.transforms import worker_resources

    sentences = [s.tokens for s in read_corpus(str(bench_common.EWT_DEV), "conllu") if s.tokens]
    passes = 1 if args.tiny else args.passes
    if args.tiny:
        sentences = sentences[:200]
    store = worker_resources.open_store(None)
    work = pathlib.Path(tempfile.mkdtemp(prefix="beamtagger-runtime-"))
    os.environ["BEAMTAGGER_JAX_CACHE"] = str(work / "jax-cache")   # empty: JAX compiles

    runners, load = {}, {}
    started = time.perf_counter()
    from beamtagger.model.numpy_inference import NumpyTaggerRunner
    runners["numpy"] = NumpyTaggerRunner.load(DEFAULT_MODEL_DIR)
    load["numpy"] = time.perf_counter() - started
    from beamtagger.model import runtimes
    if runtimes.is_installed("jax"):
        started = time.perf_counter()
        runners["jax"] = runtimes.load_runner("jax", DEFAULT_MODEL_DIR)
        runners["jax"].warm_up()
        load["jax"] = time.perf_counter() - started
    started = time.perf_counter()
    runners["tensorflow"] = runtimes.load_runner("tensorflow", DEFAULT_MODEL_DIR)
    runners["tensorflow"].warm_up()
    load["tensorflow"] = time.perf_counter() - started

    spec = runners["numpy"].spec
    exact = batches_of(sentences, store, spec.featurizer, MAX_BATCH_TOKENS)
    gridded = batches_of(sentences, store, spec.featurizer, MAX_BATCH_TOKENS,
                         runtimes.bucket_widths("jax"))
    work_of = {name: gridded if name == "jax" else exact for name in runners}
    tokens = sum(len(s) for s in sentences)
    # Warm-up pass of each (the masked TensorFlow path is traced on its first padded batch, and
    # JAX compiles its grid shapes).
    outputs, first_pass = {}, {}
    for name, runner in runners.items():
        first_pass[name], outputs[name] = timed_pass(runner, work_of[name][0])
    seconds = {name: [] for name in runners}
    for _ in range(passes):
        for name, runner in runners.items():
            seconds[name].append(timed_pass(runner, work_of[name][0])[0])
    labels = {name: sentence_labels(spec, *work_of[name], outputs[name], len(sentences))
              for name in runners}
    differing = {name: sum(x != y for got, want in zip(labels[name], labels["tensorflow"])
                           for x, y in zip(got, want))
                 for name in runners if name != "tensorflow"}
    best = {name: min(values) for name, values in seconds.items()}
    sizes = ({"2k": 2_000} if args.tiny
             else {size: END_TO_END_SIZES[size] for size in args.sizes})
    walls, end_to_end_tokens = end_to_end(sizes, 1 if args.tiny else args.rounds, work,
                                          tuple(runners))
    shutil.rmtree(work, ignore_errors=True)
    report = {"machine": bench_common.machine(), "date": bench_common.now(),
              "command": "python bench/runtime_bench.py" + (" --tiny" if args.tiny else "")
              + ("" if args.tiny or args.rounds == 3 else f" --rounds {args.rounds}")
              + ("" if args.tiny or len(args.sizes) == len(END_TO_END_SIZES)
                 else " --sizes " + " ".join(args.sizes)),
              "sentences": len(sentences), "tokens": tokens, "batches": len(exact[0]),
              "batches_by_runtime": {name: len(work_of[name][0]) for name in runners},
              "seconds": seconds, "best_seconds": best, "first_pass_seconds": first_pass,
              "tokens_per_second": {name: tokens / value for name, value in best.items()},
              "numpy_over_tensorflow_time": best["numpy"] / best["tensorflow"],
              "load_seconds": load,
              "labels_differing": differing["numpy"],
              "labels_differing_from_tensorflow": differing,
              "jax_compiled_shapes": (len(runners["jax"].compiled_shapes())
                                      if "jax" in runners else None),
              "end_to_end_seconds": walls, "end_to_end_tokens": end_to_end_tokens,
              "end_to_end_median": {size: {runtime: statistics.median(values)
                                           for runtime, values in by_runtime.items()}
                                    for size, by_runtime in walls.items()}}
    bench_common.save_results("runtime", report, {None: markdown(report)})
    return 0


def markdown(report):
    best, rate = report["best_seconds"], report["tokens_per_second"]
    names = list(report["seconds"])
    differing = report["labels_differing_from_tensorflow"]
    rows = [[name, f"{report['load_seconds'][name]:.2f} s",
             f"{report['first_pass_seconds'][name]:.2f} s",
             ", ".join(f"{s:.2f}" for s in report["seconds"][name]), f"{best[name]:.2f} s",
             f"{rate[name]:,.0f}", "-" if name == "tensorflow" else f"{differing[name]}"]
            for name in names]
    sizes = report["end_to_end_median"]
    e2e_names = [name for name in names if any(name in medians for medians in sizes.values())]
    return "\n".join([
        "### The tag stage's runtimes: TensorFlow, NumPy and JAX (CPU)", "",
        f"Command: `{report['command']}` ({report['date']}). The bundled model's forward pass "
        f"over the EWT dev split ({report['sentences']:,} sentences, {report['tokens']:,} tokens, "
        f"{report['batches']} batches as the tag stage builds them; for JAX "
        f"{report['batches_by_runtime'].get('jax', '-')} batches bucketed by its grid's widths, "
        f"{report['jax_compiled_shapes']} grid shapes compiled), one process, the runtimes "
        "alternating; load = import + model load + warm-up (JAX: with an empty compilation "
        "cache); the first pass traces or compiles what the warm-up did not.", "",
        bench_common.markdown_table(["runtime", "load", "first pass", "passes", "best pass",
                                     "tokens/s", "labels differing from tensorflow"], rows),
        "",
        f"NumPy takes {report['numpy_over_tensorflow_time']:.2f}x TensorFlow's time per pass.", "",
        "End to end, `beamtagger tag --runtime R` on EWT train as text (fresh processes, "
        "alternating, median of the runs; imports, model load and JAX's compilation included, "
        "JAX's runs sharing one compilation cache):", "",
        bench_common.markdown_table(
            ["input"] + [f"{name}: s (runs)" for name in e2e_names]
            + ["numpy / tensorflow time"],
            [[f"{size} ({report['end_to_end_tokens'][size]:,} tokens)"]
             + [(f"{medians[runtime]:.2f} ("
                 + ", ".join(f"{s:.2f}" for s in report["end_to_end_seconds"][size][runtime])
                 + ")") if runtime in medians else "-" for runtime in e2e_names]
             + [f"{medians['numpy'] / medians['tensorflow']:.2f}"]
             for size, medians in sizes.items()])])


if __name__ == "__main__":
    sys.exit(main())
