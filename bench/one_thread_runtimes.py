"""The model's CPU cost a token with one thread, TensorFlow against NumPy: Dataflow's setting.

On Dataflow CPU workers each vCPU runs its own SDK process, and beamtagger gives TensorFlow one
thread in each (``--tagger-threads``' default there), so what a CPU-only job pays for the model
is each runtime's CPU time a token on one thread, not its wall time on every core (which
``bench/runtime_bench.py`` measures). Each round runs two fresh processes, one a runtime,
alternately: TensorFlow set to one intra-op and one inter-op thread before it starts
(``tensorflow_setup.configure_tensorflow(threads=1)``, as the tag stage does), NumPy with its
one BLAS thread (its rule in ``model/numpy_inference.py``). Each loads the bundled model, makes
a warm-up pass over EWT dev (or train, ``--corpus train``) in the tag stage's batches (``runtime_bench.batches_of``), then
``--passes`` timed passes; the process's CPU time (user + system, all its threads) and wall time
of its best pass are reported, with core-µs a token. The labels of the two are compared.

  python bench/one_thread_runtimes.py [--rounds 3] [--passes 3] [--corpus dev|train]
      # about a minute on 2 cores with dev, 5 with train
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import bench_common

RUNTIMES = ("tensorflow", "numpy")
CORPORA = {"dev": bench_common.EWT_DEV, "train": bench_common.EWT_TRAIN}


def child(runtime, passes, corpus):
    """One runtime's passes in this process; prints a JSON line."""
    from beamtagger.corpus_readers import read_corpus
    from beamtagger.model import runtimes
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR
    from beamtagger.tagging_defaults import MAX_BATCH_TOKENS
    from beamtagger.transforms import worker_resources
    from runtime_bench import batches_of

    runner = runtimes.load_runner(runtime, DEFAULT_MODEL_DIR, threads=1)
    runner.warm_up()
    sentences = [s.tokens for s in read_corpus(str(CORPORA[corpus]), "conllu")
                 if s.tokens]
    batches, _ = batches_of(sentences, worker_resources.open_store(None),
                            runner.spec.featurizer, MAX_BATCH_TOKENS)
    outputs = [runner.predict(inputs) for inputs in batches]   # warm-up pass (traces)
    best_cpu = best_wall = float("inf")
    for _ in range(passes):
        cpu, wall = time.process_time(), time.perf_counter()
        for inputs in batches:
            runner.predict(inputs)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    labels = [int(x) for probs, inputs in zip(outputs, batches)
              for row, length in zip(probs.argmax(-1), inputs.lengths) for x in row[:length]]
    print(json.dumps({"cpu": best_cpu, "wall": best_wall, "labels": labels,
                      "tokens": sum(len(s) for s in sentences)}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--corpus", choices=tuple(CORPORA), default="dev",
                        help="EWT dev (25k tokens) or train (205k: fuller batches)")
    parser.add_argument("--child", choices=RUNTIMES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.passes, args.corpus)
    bench_common.require_shared_data()
    found = {runtime: [] for runtime in RUNTIMES}
    for _ in range(args.rounds):
        for runtime in RUNTIMES:
            done = subprocess.run(
                [sys.executable, __file__, "--child", runtime, "--passes", str(args.passes),
                 "--corpus", args.corpus],
                check=True, capture_output=True, text=True, cwd=bench_common.REPO_ROOT,
                env={**os.environ, **bench_common.CHILD_ENV})
            found[runtime].append(json.loads(done.stdout.strip().splitlines()[-1]))
    tokens = found["numpy"][0]["tokens"]
    differ = sum(a != b for a, b in zip(found["numpy"][0]["labels"],
                                        found["tensorflow"][0]["labels"]))
    print(f"{bench_common.now()}, {bench_common.machine()}; EWT {args.corpus}, {tokens:,} tokens, "
          f"{args.rounds} rounds of {args.passes} passes, one thread each")
    print("| runtime | CPU s a pass, best of each round | core-µs a token (median) "
          "| wall s a pass (median) |")
    print("|---|---|---|---|")
    medians = {}
    for runtime, runs in found.items():
        cpu = [run["cpu"] for run in runs]
        medians[runtime] = statistics.median(cpu)
        print(f"| {runtime} | {', '.join(f'{c:.3f}' for c in cpu)} | "
              f"{medians[runtime] / tokens * 1e6:.2f} | "
              f"{statistics.median(run['wall'] for run in runs):.3f} |")
    print(f"numpy / tensorflow CPU a token: {medians['numpy'] / medians['tensorflow']:.2f}; "
          f"labels that differ: {differ} of {tokens:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
