"""The two runtimes of the tag stage side by side: TensorFlow against NumPy (``runtime="numpy"``).

One process, the bundled model, the EWT dev sentences in the tag stage's batches (grouped by
``BucketByLength``'s bucket lengths under its default token budget, featurized by
``ModelInputs.from_tokens`` as the Arrow batches are). First the NumPy runner is loaded (h5py
import included), then TensorFlow is imported and its runner loaded and warmed up, each timed.
Then every batch goes through both runners, alternately, ``--passes`` times after a warm-up
pass; the best pass of each is reported, with how many labels differ (decoded as the tag stage
decodes them).

Then end to end: ``beamtagger tag --runtime tensorflow|numpy`` on EWT train as text (205k tokens)
and on 1M tokens (EWT train repeated), fresh processes, the runtimes alternating, ``--rounds``
rounds; the median wall time of each is reported. TensorFlow's import and model load are part of
every run; NumPy's LSTM holds the GIL between its small matrix products, where TensorFlow's
releases it for the whole batch, so the Python stages overlap the model less.

  python bench/runtime_bench.py            # about a minute on 2 cores
  python bench/runtime_bench.py --tiny     # 200 sentences, 1 pass, 2k tokens end to end (CI)
"""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import bench_common
import bench_models

END_TO_END_SIZES = {"205k": None, "1M": 1_000_000}   # None: EWT train once


def batches_of(sentences, store, featurizer, max_batch_tokens):
    """ModelInputs batches as the tag stage gets them: one bucket length each, under the budget."""
    from beamtagger.model.model_inputs import ModelInputs
    from beamtagger.transforms.bucket import length_batches

    batches = []
    for indices in length_batches([len(tokens) for tokens in sentences], max_batch_tokens):
        group = [sentences[j] for j in indices]
        flat = [token for tokens in group for token in tokens]
        rows = store.rows(flat)
        batches.append(ModelInputs.from_tokens([len(t) for t in group], rows,
                                               featurizer.featurize(flat, rows >= 0), store))
    return batches


def end_to_end(sizes, rounds, work):
    """{size: {runtime: [wall seconds of beamtagger tag, one per round]}} and token counts."""
    sentences = bench_models.ewt_sentences()
    walls, tokens = {}, {}
    for size, target in sizes.items():
        pattern, _, tokens[size] = bench_models.write_text_files(
            sentences, work / f"text-{size}", target_tokens=target)
        walls[size] = {"tensorflow": [], "numpy": []}
        for round_number in range(rounds):
            for runtime in ("tensorflow", "numpy"):
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

    started = time.perf_counter()
    from beamtagger.model.numpy_inference import NumpyTaggerRunner
    numpy_runner = NumpyTaggerRunner.load(DEFAULT_MODEL_DIR)
    numpy_load = time.perf_counter() - started
    started = time.perf_counter()
    from beamtagger.model.inference import TaggerRunner
    from beamtagger.transforms.tag import configure_tensorflow
    configure_tensorflow()
    tensorflow_runner = TaggerRunner.load(DEFAULT_MODEL_DIR)
    tensorflow_runner.warm_up()
    tensorflow_load = time.perf_counter() - started

    batches = batches_of(sentences, store, numpy_runner.spec.featurizer, MAX_BATCH_TOKENS)
    tokens = sum(len(s) for s in sentences)
    # Warm-up pass of each (the masked TensorFlow path is traced on its first padded batch).
    _, tensorflow_out = timed_pass(tensorflow_runner, batches)
    _, numpy_out = timed_pass(numpy_runner, batches)
    seconds = {"tensorflow": [], "numpy": []}
    for _ in range(passes):
        seconds["tensorflow"].append(timed_pass(tensorflow_runner, batches)[0])
        seconds["numpy"].append(timed_pass(numpy_runner, batches)[0])
    spec = numpy_runner.spec
    differing = 0
    for inputs, a, b in zip(batches, tensorflow_out, numpy_out):
        for (labels_a, _), (labels_b, _) in zip(spec.decode_batch(a, inputs.lengths),
                                                spec.decode_batch(b, inputs.lengths)):
            differing += sum(x != y for x, y in zip(labels_a, labels_b))
    best = {name: min(values) for name, values in seconds.items()}
    sizes = {"2k": 2_000} if args.tiny else END_TO_END_SIZES
    with tempfile.TemporaryDirectory(prefix="beamtagger-runtime-") as work:
        walls, end_to_end_tokens = end_to_end(sizes, 1 if args.tiny else args.rounds,
                                              pathlib.Path(work))
    report = {"machine": bench_common.machine(), "date": bench_common.now(),
              "command": "python bench/runtime_bench.py" + (" --tiny" if args.tiny else ""),
              "sentences": len(sentences), "tokens": tokens, "batches": len(batches),
              "seconds": seconds, "best_seconds": best,
              "tokens_per_second": {name: tokens / value for name, value in best.items()},
              "numpy_over_tensorflow_time": best["numpy"] / best["tensorflow"],
              "load_seconds": {"numpy": numpy_load, "tensorflow": tensorflow_load},
              "labels_differing": differing,
              "end_to_end_seconds": walls, "end_to_end_tokens": end_to_end_tokens,
              "end_to_end_median": {size: {runtime: statistics.median(values)
                                           for runtime, values in by_runtime.items()}
                                    for size, by_runtime in walls.items()}}
    bench_common.save_results("runtime", report, {None: markdown(report)})
    return 0


def markdown(report):
    best, rate = report["best_seconds"], report["tokens_per_second"]
    rows = [[name, f"{report['load_seconds'][name]:.2f} s",
             ", ".join(f"{s:.2f}" for s in report["seconds"][name]), f"{best[name]:.2f} s",
             f"{rate[name]:,.0f}"] for name in ("tensorflow", "numpy")]
    return "\n".join([
        "### The tag stage's two runtimes: TensorFlow and NumPy", "",
        f"Command: `{report['command']}` ({report['date']}). The bundled model's forward pass "
        f"over the EWT dev split ({report['sentences']:,} sentences, {report['tokens']:,} tokens, "
        f"{report['batches']} batches as the tag stage builds them), one process, the runtimes "
        "alternating; load = import (TensorFlow's, or h5py's) + model load + warm-up.", "",
        bench_common.markdown_table(["runtime", "load", "passes", "best pass", "tokens/s"], rows),
        "",
        f"NumPy takes {report['numpy_over_tensorflow_time']:.2f}x TensorFlow's time per pass; "
        f"labels that differ between the two: {report['labels_differing']} of "
        f"{report['tokens']:,}.", "",
        "End to end, `beamtagger tag --runtime R` on EWT train as text (fresh processes, "
        "alternating, median of the runs; TensorFlow's import and the model load included):", "",
        bench_common.markdown_table(
            ["input", "tensorflow: s (runs)", "numpy: s (runs)", "numpy / tensorflow time"],
            [[f"{size} ({report['end_to_end_tokens'][size]:,} tokens)"]
             + [f"{medians[runtime]:.2f} ("
                + ", ".join(f"{s:.2f}" for s in report["end_to_end_seconds"][size][runtime])
                + ")" for runtime in ("tensorflow", "numpy")]
             + [f"{medians['numpy'] / medians['tensorflow']:.2f}"]
             for size, medians in report["end_to_end_median"].items()])])


if __name__ == "__main__":
    sys.exit(main())
