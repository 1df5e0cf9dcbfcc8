"""RunInference(TaggerModelHandler) with Beam 2.78's length buckets against without, side by side.

With ``max_batch_duration_secs`` (Beam's stateful batching, as streaming needs) RunInference's
batches count records from one; ``batch_bucket_boundaries`` / ``batch_length_fn`` key them by
length first, so each batch holds records of one length bucket (``text_length``: characters).
The handler already sorts every batch into the model's length buckets (exact lengths up to 64
tokens), so what buckets upstream could save is model batches (each RunInference batch makes one
at least per distinct length it holds) and padded slots; what they cost is one stateful batch a
bucket, each growing from one record. Variants, one fresh process each, alternating round by
round: ``duration`` (``max_batch_duration_secs=1``), ``buckets`` (the same with
``batch_length_fn=text_length``, Beam's boundaries 16 to 512 characters), and ``default`` (the
handler's character-sized batches, no duration) for reference. Each tags EWT train's sentences
(``--limit`` of them) as text records with the bundled model on the NumPy runtime through
``--runner=FnApiRunner`` (the DirectRunner runs stateful batching on its slow bundle-based
runner), and reports the process's CPU seconds from the pipeline's start, wall seconds, and the
handler's counters: records tagged, model batches, real tokens and padded slots.

  python bench/runinference_length_buckets.py [--rounds 2] [--limit N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

import bench_common

VARIANTS = ("duration", "buckets", "default")

CHILD = r'''
import json, resource, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import apache_beam as beam
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions
import bench_models
from beamtagger.transforms import TaggerModelHandler, TextRecord, counters
from beamtagger.transforms.model_handler import text_length

variant, limit = sys.argv[3], int(sys.argv[4]) or None
batching = {"duration": {"max_batch_duration_secs": 1},
            "buckets": {"max_batch_duration_secs": 1, "batch_length_fn": text_length},
            "default": {}}[variant]
records = [TextRecord(str(i), " ".join(tokens))
           for i, tokens in enumerate(bench_models.ewt_sentences(limit))]
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu_before = usage.ru_utime + usage.ru_stime
started = time.perf_counter()
pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
_ = (pipeline | beam.Create(records)
     | RunInference(TaggerModelHandler(runtime="numpy", **batching)))
result = pipeline.run()
result.wait_until_finish()
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
counted = counters.query_counters(result)
print(json.dumps({"variant": variant, "records": len(records),
                  "cpu": usage.ru_utime + usage.ru_stime - cpu_before, "wall": wall,
                  **{name: counted[name] for name in ("records_tagged", "batches",
                                                      "batched_tokens", "padded_slots")}}))
'''


def run_once(variant, limit):
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(bench_common.REPO_ROOT),
         str(bench_common.REPO_ROOT / "bench"), variant, str(limit)],
        capture_output=True, text=True, env={**os.environ, **bench_common.CHILD_ENV})
    if completed.returncode != 0:
        raise RuntimeError(f"{variant} failed: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0,
                        help="EWT train sentences to tag (0: all, 12.5k)")
    args = parser.parse_args(argv)
    bench_common.require_shared_data()
    runs = {variant: [] for variant in VARIANTS}
    for round_number in range(args.rounds):
        # Each round in another order, so a busy spell of the machine hits each variant.
        order = VARIANTS[round_number % len(VARIANTS):] + VARIANTS[:round_number % len(VARIANTS)]
        for variant in order:
            runs[variant].append(run_once(variant, args.limit))
    summary = {}
    for variant, results in runs.items():
        if any(r["records_tagged"] != r["records"] for r in results):
            raise RuntimeError(f"{variant}: records lost or repeated: {results}")
        summary[variant] = {
            "cpu_median": statistics.median(r["cpu"] for r in results),
            "wall_median": statistics.median(r["wall"] for r in results),
            "batches": [r["batches"] for r in results],
            "padded_over_real": [round(r["padded_slots"] / r["batched_tokens"], 4)
                                 for r in results]}
    # Round by round, where both ran minutes apart at most.
    summary["buckets_over_duration_cpu_per_round"] = [
        round(b["cpu"] / d["cpu"], 3) for b, d in zip(runs["buckets"], runs["duration"])]
    print(json.dumps({"date": bench_common.now(), "machine": bench_common.machine(),
                      "command": "python bench/runinference_length_buckets.py "
                      + " ".join(sys.argv[1:] if argv is None else argv),
                      "runs": runs, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
