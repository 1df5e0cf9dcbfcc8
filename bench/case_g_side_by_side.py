"""Case G (issue 18) for two checkouts side by side, in one run: what the non-model stages cost a
token in one version of beamtagger against another (e.g. the commit before issue 18).

For each checkout, ``beamtagger tag --runtime numpy --model THIN`` on case G's inputs (EWT
train as text, x1 and x5, one file each; ``bench/throughput_bench.py --cases G --work DIR``
writes them and the thin model), ROUNDS rounds, the checkouts and sizes alternating so a busy
spell of the machine hits both. Each run is a fresh process of that checkout's code (its folder
first on ``sys.path``; ``python -m`` would put the working directory first) that adds up the CPU
of its NumPy predict calls and of the garbage collector's collections (``gc.callbacks``); the
non-model figure is the whole process's CPU less the model's, marginal between the sizes, min
over rounds (as the issue measures it), and the same from the medians over rounds; and the
after's marginal over the before's round by round, with their median (the two checkouts' runs
of a round are minutes apart at most). ``import tensorflow`` is timed in the same run to show
how fast the machine was.

  python bench/case_g_side_by_side.py --work /tmp/tb --before /tmp/wt-base --after .

``--through runinference`` runs the same inputs through Beam's ``RunInference`` with
``TaggerModelHandler`` (NumPy runtime, the handler's default batching) instead of
``beamtagger tag``: read as text lines, the results written as JSON Lines with
``write_results.to_json_line``, on the in-process DirectRunner. ``--through tagtext`` runs
them through a user's pipeline of the public transforms: ``ReadRecords``, ``TagText`` (one
PCollection of TaggedRecords) and ``WriteResults`` to JSON Lines.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import bench_common

BENCH = pathlib.Path(__file__).resolve().parent

# The child: the checkout's folder first on sys.path, then this bench folder (for case G's
# predict counter); beamtagger itself comes from the checkout.
CHILD = r'''
import gc, json, resource, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from throughput_bench import _count_model_cpu
spent = _count_model_cpu()
collecting = [0.0, 0.0, 0]   # started, seconds, collections
def timed_collection(phase, info):
    if phase == "start":
        collecting[0] = time.thread_time()
    else:
        collecting[1] += time.thread_time() - collecting[0]
        collecting[2] += 1
gc.callbacks.append(timed_collection)
from beamtagger.pipeline import cli
started = time.perf_counter()
code = cli.main(sys.argv[3:])
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"code": code, "cpu": usage.ru_utime + usage.ru_stime, "model": spent[0],
                  "wall": wall,
                  "gc": collecting[1], "collections": collecting[2],
                  "max_rss_mib": usage.ru_maxrss / 1024}))
'''


_CLI_CALL = """from beamtagger.pipeline import cli
started = time.perf_counter()
code = cli.main(sys.argv[3:])
wall = time.perf_counter() - started"""


def _child_running(imports, pipeline_code):
    """CHILD with ``pipeline_code`` (given MODEL SOURCE OUTPUT STORE after the two paths, it
    builds ``pipeline``) in place of the CLI call, timed the same way; ``imports`` before the
    clock starts."""
    return CHILD.replace(_CLI_CALL, "import apache_beam as beam\n" + imports +
                         "model, source, output, store = sys.argv[3:7]\n"
                         "started = time.perf_counter()\n"
                         "pipeline = beam.Pipeline(runner='FnApiRunner')\n" + pipeline_code +
                         "pipeline.run().wait_until_finish()\n"
                         "code = 0\n"
                         "wall = time.perf_counter() - started")


# The same measurements around RunInference(TaggerModelHandler) in place of beamtagger tag.
CHILD_RUNINFERENCE = _child_running("""from apache_beam.ml.inference.base import RunInference
from beamtagger.transforms import TaggerModelHandler
from beamtagger.transforms.write_results import to_json_line
""", """_ = (pipeline | beam.io.ReadFromText(source)
     | RunInference(TaggerModelHandler(model, store, runtime="numpy"))
     | beam.Map(lambda result: to_json_line(result.inference))
     | beam.io.WriteToText(output, file_name_suffix=".jsonl"))
""")

# Around a user's pipeline of the public transforms: ReadRecords, TagText (its one
# PCollection of TaggedRecords) and WriteResults, as the README and docs/library.md show them.
CHILD_TAGTEXT = _child_running("""from beamtagger.transforms import ReadRecords, TagText, WriteResults
""", """read = pipeline | ReadRecords(source, reshuffle=False)
result = read.records | TagText(model, store, runtime="numpy")
_ = result.tagged | WriteResults(output)
""")

CHILDREN = {"runinference": CHILD_RUNINFERENCE, "tagtext": CHILD_TAGTEXT}


def run_once(tree, work, size, store, temp, model, inputs="g-text", through="tag"):
    output = pathlib.Path(temp) / f"out-{os.getpid()}-{time.monotonic_ns()}" / "r"
    source = str(work / f"{inputs}-{size}" / "part-00.txt")
    if through in CHILDREN:
        command = [sys.executable, "-c", CHILDREN[through], str(tree), str(BENCH), str(model),
                   source, str(output), store]
    else:
        command = [sys.executable, "-c", CHILD, str(tree), str(BENCH), "tag", "--runtime",
                   "numpy", "--model", str(model), "--input", source, "--output", str(output),
                   "--progress-every", "0", "--embeddings", store]
    completed = subprocess.run(
        command,
        capture_output=True, text=True, env={**os.environ, **bench_common.CHILD_ENV},
        cwd=temp)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        raise RuntimeError(f"{tree}: {through} failed: {completed.stderr[-2000:]}")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, type=pathlib.Path,
                        help="throughput_bench.py's --work folder after case G ran")
    parser.add_argument("--before", required=True, type=pathlib.Path)
    parser.add_argument("--after", required=True, type=pathlib.Path)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--embeddings", default=str(pathlib.Path.home() / ".cache" /
                                                    "beamtagger" / "glove-6b-50d"))
    parser.add_argument("--model", type=pathlib.Path,
                        help="the model to tag with (default: case G's thin UPOS model, "
                        "WORK/thin-model; a thin BIO entity model measures the Viterbi path)")
    parser.add_argument("--inputs", default="g-text",
                        help="the input folders' prefix: WORK/PREFIX-x1 and WORK/PREFIX-x5, "
                        "one part-00.txt each (default: case G's)")
    parser.add_argument("--through", choices=("tag", *CHILDREN), default="tag",
                        help="beamtagger tag (default), RunInference(TaggerModelHandler), or "
                        "TagText in a pipeline of the public transforms")
    args = parser.parse_args(argv)
    for tree in (args.before, args.after):
        if not (tree / "beamtagger").is_dir():
            parser.error(f"{tree} holds no beamtagger package")
    bench_common.require_case_g_work(parser, args.work, ("x1", "x5"), args.inputs, args.model)
    # The runs start in a temporary folder: a relative path would be read from there.
    args.work = args.work.resolve()
    model = (args.model or args.work / "thin-model").resolve()
    tokens = {}
    for size in ("x1", "x5"):
        path = args.work / f"{args.inputs}-{size}" / "part-00.txt"
        tokens[size] = sum(len(line.split()) for line in path.open(encoding="utf-8"))
    runs = {str(tree): {"x1": [], "x5": []} for tree in (args.before, args.after)}
    with tempfile.TemporaryDirectory(prefix="beamtagger-g-") as temp:
        for _ in range(args.rounds):
            for tree in (args.before, args.after):
                for size in ("x1", "x5"):
                    runs[str(tree)][size].append(run_once(tree.resolve(), args.work, size,
                                                          args.embeddings, temp, model,
                                                          args.inputs, args.through))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], check=True,
                   capture_output=True, env={**os.environ, **bench_common.CHILD_ENV})
    import_seconds = time.perf_counter() - started
    extra = tokens["x5"] - tokens["x1"]
    report = {"date": bench_common.now(), "machine": bench_common.machine(),
              "command": "python bench/case_g_side_by_side.py " + " ".join(sys.argv[1:]),
              "import_tensorflow_seconds": import_seconds, "runs": runs, "figures": {}}
    for tree, sizes in runs.items():
        whole = {size: min(r["cpu"] for r in sizes[size]) for size in sizes}
        non_model = {size: min(r["cpu"] - r["model"] for r in sizes[size]) for size in sizes}
        report["figures"][tree] = {
            "whole_marginal_us": (whole["x5"] - whole["x1"]) / extra * 1e6,
            "non_model_marginal_us": (non_model["x5"] - non_model["x1"]) / extra * 1e6,
            # Medians too: one outlying fast x1 run moves the minima's marginal by 0.3 core-µs.
            "non_model_marginal_us_medians": (
                statistics.median(r["cpu"] - r["model"] for r in sizes["x5"])
                - statistics.median(r["cpu"] - r["model"] for r in sizes["x1"])) / extra * 1e6,
            "model_us_x5": min(r["model"] for r in sizes["x5"]) / tokens["x5"] * 1e6,
            # Wall seconds of cli.main (the command, less the imports above), medians.
            "wall_seconds": {size: statistics.median(r["wall"] for r in sizes[size])
                             for size in sizes},
            # The garbage collector's own CPU (gc.callbacks), medians per size.
            "gc_seconds": {size: statistics.median(r["gc"] for r in sizes[size])
                           for size in sizes},
            "gc_marginal_us": (statistics.median(r["gc"] for r in sizes["x5"])
                               - statistics.median(r["gc"] for r in sizes["x1"])) / extra * 1e6,
            "max_rss_mib_x5": max(r["max_rss_mib"] for r in sizes["x5"])}
    # The after's marginal over the before's, round by round: a slow spell of the machine
    # that spans a round (a few minutes here) slows both, where the minima and medians over
    # rounds each take their runs from different minutes.
    before, after = (runs[str(tree)] for tree in (args.before, args.after))
    per_round = [(_non_model(after["x5"][i]) - _non_model(after["x1"][i]))
                 / (_non_model(before["x5"][i]) - _non_model(before["x1"][i]))
                 for i in range(args.rounds)]
    report["after_over_before_per_round"] = per_round
    report["after_over_before_median_of_rounds"] = statistics.median(per_round)
    print(json.dumps(report, indent=1))
    return 0


def _non_model(run):
    return run["cpu"] - run["model"]


if __name__ == "__main__":
    sys.exit(main())
