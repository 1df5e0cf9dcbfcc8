"""The NumPy runtime of two checkouts side by side, in one run: per pass over EWT dev and end to
end, with TensorFlow beside them (from the after checkout) for the crossover.

Per pass: for each checkout a fresh process (its folder first on ``sys.path``) loads the bundled
model in NumPy, builds the EWT dev batches as ``runtime_bench.py`` does (the tag stage's
buckets), runs a warm-up pass and ``--passes`` timed passes; a third process does the same with
the after checkout's TensorFlow runner. The three alternate, ``--rounds`` rounds, so a busy
spell of the shared machine hits each; best wall and best CPU (process time) of each over all
passes. Each reports its labels and probabilities: labels differing from TensorFlow's, and the
largest probability difference between the two NumPy runs.

End to end: ``beamtagger tag --runtime numpy`` of each checkout and ``--runtime tensorflow`` of
the after checkout on EWT train as text (205k tokens) and on 1M tokens, fresh processes,
alternating, ``--rounds`` rounds; median wall times, and how many output labels (and rounded
scores) of the two NumPy runs differ.

  python bench/numpy_side_by_side.py --before /tmp/wt-base --after .
"""
import argparse
import glob
import json
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

BENCH = pathlib.Path(__file__).resolve().parent
END_TO_END_SIZES = {"205k": None, "1M": 1_000_000}   # None: EWT train once

# The per-pass child: the checkout first on sys.path, then this bench folder (runtime_bench's
# batching); argv: checkout, bench, runtime, passes, output .npz.
PASSES_CHILD = r'''
import json, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import numpy as np
import bench_common
from runtime_bench import batches_of, sentence_labels
from beamtagger.corpus_readers import read_corpus
from beamtagger.model import runtimes
from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR
from beamtagger.tagging_defaults import MAX_BATCH_TOKENS
from beamtagger.transforms import worker_resources
runner = runtimes.load_runner(sys.argv[3], DEFAULT_MODEL_DIR)
runner.warm_up()
sentences = [s.tokens for s in read_corpus(str(bench_common.EWT_DEV), "conllu") if s.tokens]
batches, groups = batches_of(sentences, worker_resources.open_store(None),
                             runner.spec.featurizer, MAX_BATCH_TOKENS)
outputs = [runner.predict(inputs) for inputs in batches]
walls, cpus = [], []
for _ in range(int(sys.argv[4])):
    wall, cpu = time.perf_counter(), time.process_time()
    for inputs in batches:
        runner.predict(inputs)
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
labels = sentence_labels(runner.spec, batches, groups, outputs, len(sentences))
np.savez(sys.argv[5], *outputs)
print(json.dumps({"walls": walls, "cpus": cpus, "labels": labels,
                  "tokens": sum(map(len, sentences)), "batches": len(batches)}))
'''

# beamtagger tag of a checkout: its folder first on sys.path (python -m would put the working
# directory first).
TAG_CHILD = r'''
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from beamtagger.pipeline import cli
code = cli.main(sys.argv[2:])
print(json.dumps({"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
sys.exit(code)
'''


def run_python(code, *args):
    completed = subprocess.run([sys.executable, "-c", code, *map(str, args)], check=True,
                               capture_output=True, text=True,
                               env={**os.environ, **bench_common.CHILD_ENV})
    return completed.stdout


def per_pass(runs, rounds, passes, work):
    """{name: {walls, cpus, labels, outputs}} for each (name, checkout, runtime) of ``runs``."""
    results = {name: {"walls": [], "cpus": []} for name, _, _ in runs}
    for round_number in range(rounds):
        for name, checkout, runtime in runs:
            saved = work / f"{name}-{round_number}.npz"
            report = json.loads(run_python(PASSES_CHILD, checkout, BENCH, runtime, passes,
                                           saved).splitlines()[-1])
            results[name]["walls"] += report["walls"]
            results[name]["cpus"] += report["cpus"]
            results[name].update(labels=report["labels"], tokens=report["tokens"],
                                 batches=report["batches"], outputs=saved)
    return results


def tagged_labels(folder):
    """{record id: ([labels], [scores])} of a ``beamtagger tag`` JSON Lines output."""
    found = {}
    for path in glob.glob(str(folder / "tagged-*-of-*.jsonl")):
        if "-errors-" in path:
            continue
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                found[record["id"]] = ([t["label"] for t in record["tokens"]],
                                       [t["score"] for t in record["tokens"]])
    return found


def end_to_end(runs, sizes, rounds, work):
    """{size: {name: [wall seconds]}}, the same of peak RSS (MiB, the tag process's own), token
    counts, and {size: differing (labels, scores)} between the first two runs' outputs (of the
    last round)."""
    sentences = bench_models.ewt_sentences()
    walls, peaks, tokens, differing = {}, {}, {}, {}
    for size, target in sizes.items():
        pattern, _, tokens[size] = bench_models.write_text_files(
            sentences, work / f"text-{size}", target_tokens=target)
        walls[size] = {name: [] for name, _, _ in runs}
        peaks[size] = {name: [] for name, _, _ in runs}
        for round_number in range(rounds):
            outputs = {}
            for name, checkout, runtime in runs:
                outputs[name] = work / f"out-{size}-{name}"
                shutil.rmtree(outputs[name], ignore_errors=True)
                started = time.perf_counter()
                printed = run_python(TAG_CHILD, checkout, "tag", "--input", pattern, "--output",
                           outputs[name] / "tagged", "--output-format", "jsonl",
                           "--runtime", runtime, "--progress-every", "0")
                walls[size][name].append(time.perf_counter() - started)
                peaks[size][name].append(json.loads(printed.splitlines()[-1])["peak_rss_mib"])
        first, second = (tagged_labels(outputs[name]) for name, _, _ in runs[:2])
        assert first.keys() == second.keys(), "the two runs tagged different records"
        differing[size] = tuple(
            sum(x != y for key in first for x, y in zip(first[key][part], second[key][part]))
            for part in (0, 1))
    return walls, peaks, tokens, differing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="checkout of the code before")
    parser.add_argument("--after", default=str(BENCH.parent), help="checkout of the code after")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=3, help="timed passes a process")
    parser.add_argument("--sizes", nargs="*", choices=tuple(END_TO_END_SIZES),
                        default=tuple(END_TO_END_SIZES), help="end-to-end input sizes")
    args = parser.parse_args(argv)
    bench_common.require_shared_data()
    import numpy as np

    before, after = (str(pathlib.Path(path).resolve()) for path in (args.before, args.after))
    runs = [("numpy before", before, "numpy"), ("numpy after", after, "numpy"),
            ("tensorflow", after, "tensorflow")]
    work = pathlib.Path(tempfile.mkdtemp(prefix="beamtagger-numpy-sbs-"))
    load_before = os.getloadavg()
    passes = per_pass(runs, args.rounds, args.passes, work)
    with np.load(passes["numpy before"]["outputs"]) as old, \
            np.load(passes["numpy after"]["outputs"]) as new:
        largest_difference = max(float(np.abs(old[key] - new[key]).max()) for key in old)
    reference = passes["tensorflow"]["labels"]
    for name in ("numpy before", "numpy after"):
        passes[name]["labels_differing_from_tensorflow"] = sum(
            x != y for got, want in zip(passes[name]["labels"], reference)
            for x, y in zip(got, want))
    walls, peaks, tokens, differing = end_to_end(
        runs, {size: END_TO_END_SIZES[size] for size in args.sizes}, args.rounds, work)
    shutil.rmtree(work, ignore_errors=True)
    for result in passes.values():
        result.pop("labels")
        result["outputs"] = str(result["outputs"])
    report = {"machine": bench_common.machine(), "date": bench_common.now(),
              "command": f"python bench/numpy_side_by_side.py --before BEFORE "
                         f"--rounds {args.rounds} --passes {args.passes}"
                         + ((" --sizes " + " ".join(args.sizes)).rstrip()
                            if len(args.sizes) != len(END_TO_END_SIZES) else ""),
              "load_average_before_after": [load_before, os.getloadavg()],
              "per_pass": passes, "largest_probability_difference": largest_difference,
              "end_to_end_seconds": walls, "end_to_end_peak_rss_mib": peaks,
              "end_to_end_tokens": tokens,
              "end_to_end_differing_labels_scores": differing}
    bench_common.save_results("numpy_side_by_side", report, {None: markdown(report)})
    return 0


def markdown(report):
    passes = report["per_pass"]
    best = {name: (min(r["walls"]), min(r["cpus"])) for name, r in passes.items()}
    (one, five, _), (one_after, five_after, _) = report["load_average_before_after"]
    rows = [[name, f"{best[name][0]:.3f} s", f"{best[name][1]:.3f} s",
             f"{passes[name]['tokens'] / best[name][0]:,.0f}",
             str(passes[name].get("labels_differing_from_tensorflow", "-"))]
            for name in passes]
    sizes, peaks = report["end_to_end_seconds"], report["end_to_end_peak_rss_mib"]
    medians = {size: {name: statistics.median(runs) for name, runs in by_name.items()}
               for size, by_name in sizes.items()}
    e2e_rows = [[f"{size} ({report['end_to_end_tokens'][size]:,} tokens)"]
                + [f"{medians[size][name]:.2f} ("
                   + ", ".join(f"{s:.2f}" for s in sizes[size][name]) + ")"
                   for name in passes]
                + [f"{medians[size]['numpy after'] / medians[size]['numpy before']:.2f}",
                   f"{medians[size]['numpy after'] / medians[size]['tensorflow']:.2f}",
                   "{} / {}".format(*report["end_to_end_differing_labels_scores"][size]),
                   " / ".join(f"{statistics.median(peaks[size][name]):,.0f}"
                              for name in passes)]
                for size in sizes]
    return "\n".join([
        "### The NumPy runtime before and after, side by side", "",
        f"Command: `{report['command']}` ({report['date']}; load average {one:.2f} / "
        f"{five:.2f} (1 / 5 min) at the start, {one_after:.2f} / {five_after:.2f} at the end). "
        f"Per pass: the bundled model over EWT dev ({passes['tensorflow']['tokens']:,} tokens, "
        f"{passes['tensorflow']['batches']} batches as the tag stage builds them), fresh "
        "processes alternating, the best of all passes:", "",
        bench_common.markdown_table(["runtime", "best pass (wall)", "best pass (CPU)",
                                     "tokens/s", "labels differing from tensorflow"], rows),
        "",
        f"After / before per pass: {best['numpy after'][0] / best['numpy before'][0]:.2f} (wall), "
        f"{best['numpy after'][1] / best['numpy before'][1]:.2f} (CPU); after / tensorflow "
        f"{best['numpy after'][0] / best['tensorflow'][0]:.2f} (wall). Largest probability "
        f"difference between the two NumPy runs: {report['largest_probability_difference']:.2g}.",
        "",
        "End to end, `beamtagger tag --runtime R` on EWT train as text (fresh processes, "
        "alternating, median wall seconds of the runs; the last columns count the output "
        "labels / 4-digit scores that differ between the two NumPy runs):", "",
        bench_common.markdown_table(
            ["input"] + [f"{name}: s (runs)" for name in passes]
            + ["after / before", "after / tensorflow", "labels / scores differing",
               "peak RSS, MiB (median; same order)"],
            e2e_rows)])


if __name__ == "__main__":
    sys.exit(main())
