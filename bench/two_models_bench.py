"""Two models over one collection: one TagTextWithModels pass against two TagText passes.

Input: EWT train as text (space-joined tokens, one sentence a line, one file; 12,543 lines,
204,577 tokens). Model: the bundled UPOS model under two names, the default store (GloVe 6B
50d): the same work as two models of its shape. DirectRunner. Three ways to get both models'
labels, each counted (records tagged, dead letters) and not written, so the stages that differ
are what is timed:

  together    one pipeline, ``TagTextWithModels({"first": None, "second": None})``
  one-pipe    one pipeline, two TagTexts (labels ``First``, ``Second``) over the same records
  two-pipes   two pipelines one after the other, one TagText each

For ``--runtime numpy`` (the model's forward pass in NumPy), and ``--noop`` (the model replaced
by a no-op of its output shape, ``bench_models.NoopTaggerRunner``, as throughput_bench.py case
N): the CPU stages alone, what a GPU tag stage would leave on the CPU workers.

Each run is a child process (its imports and the store's first open outside the clock; the
clock: from building the pipeline to its end); wall seconds and CPU seconds (user + system,
the process's every thread). The ways alternate in each of ``--rounds`` rounds, so a change in
the machine's load falls on all of them.

``--cli``: ``beamtagger tag`` itself, as a user runs it (the default runtime, which chooses
NumPy for this input; files written, JSON Lines), each command a process of its own, whole
(imports and start-up included, which a second command pays again):

  cli-together  one ``tag --model first=bundled --model second=bundled``
  cli-two-runs  two ``tag --model DIR`` runs one after the other, --output PREFIX-first and
                PREFIX-second (the files the first way writes)

Wall seconds and the commands' CPU seconds (``RUSAGE_CHILDREN``); each command's
--summary-json is checked (every record tagged by each model, no dead letter).

  python bench/two_models_bench.py                      # numpy and no-op, 3 rounds
  python bench/two_models_bench.py --cli                # beamtagger tag, 3 rounds
  python bench/two_models_bench.py --limit 500 --rounds 1  # seconds: does it run
"""
import argparse
import json
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import bench_common
import bench_models

WAYS = ("together", "one-pipe", "two-pipes")
CLI_WAYS = ("cli-together", "cli-two-runs")
MODES = ("numpy", "noop")
NAMES = ("first", "second")


def _counted(results, label):
    """Counts each model's tagged records and dead letters (to the pipeline's counters)."""
    import apache_beam as beam
    from apache_beam.metrics import Metrics

    for name, result in results.items():
        for output in ("tagged", "errors"):
            counter = Metrics.counter("two_models", f"{name}_{output}")
            _ = getattr(result, output) | f"{label}{name}{output}" >> beam.Map(
                lambda _, counter=counter: counter.inc())


def _counts(pipeline_result):
    from apache_beam.metrics.metric import MetricsFilter

    found = pipeline_result.metrics().query(MetricsFilter().with_namespace("two_models"))
    return {c.key.metric.name: c.committed for c in found["counters"]}


def child(args):
    import apache_beam as beam

    from beamtagger.embeddings import default as default_store
    from beamtagger.transforms import ReadRecords, TagText, TagTextWithModels

    if args.mode == "noop":
        bench_models.install_noop_tagger()
    runtime = "tensorflow" if args.mode == "noop" else "numpy"   # noop replaces TaggerRunner
    store = default_store.ensure_default_store().path
    options = {"store_path": store, "runtime": runtime}

    def run(apply):
        pipeline = beam.Pipeline()
        read = pipeline | ReadRecords(args.input, "text")
        apply(read.records)
        result = pipeline.run()
        result.wait_until_finish()
        return _counts(result)

    started, cpu_started = time.perf_counter(), bench_common.tree_cpu_seconds()
    counts = {}
    if args.way == "together":
        counts.update(run(lambda records: _counted(
            records | TagTextWithModels(dict.fromkeys(NAMES), **options), "Count")))
    elif args.way == "one-pipe":
        counts.update(run(lambda records: _counted(
            {name: records | name.title() >> TagText(None, **options) for name in NAMES},
            "Count")))
    else:
        for name in NAMES:
            counts.update(run(lambda records, name=name: _counted(
                {name: records | TagText(None, **options)}, "Count")))
    bench_common.child_result(seconds=time.perf_counter() - started,
                              cpu=bench_common.tree_cpu_seconds() - cpu_started, counts=counts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--way", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, nargs="+", default=list(MODES))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None,
                        help="the first N sentences of EWT train only (a quick check)")
    parser.add_argument("--cli", action="store_true",
                        help="beamtagger tag with two models against two tag runs")
    args = parser.parse_args()
    if args.child:
        [args.mode] = args.mode
        return child(args)
    bench_common.require_shared_data()
    work = pathlib.Path(tempfile.mkdtemp(prefix="two-models-"))
    sentences = bench_models.ewt_sentences(args.limit)
    pattern, lines, tokens = bench_models.write_text_files(sentences, work / "text", parts=1)
    print(f"[two_models] {lines} lines, {tokens} tokens; {bench_common.machine()}",
          file=sys.stderr, flush=True)
    if args.cli:
        return print(cli_report(cli_runs(args, pattern, lines, work), args, lines, tokens))
    runs = {(mode, way): [] for mode in args.mode for way in WAYS}
    for round_ in range(args.rounds):
        for mode in args.mode:
            # Each round starts with another way, so none is always first after a pause.
            for way in WAYS[round_ % 3:] + WAYS[:round_ % 3]:
                result = bench_common.run_child(
                    [__file__, "--child", "--way", way, "--mode", mode, "--input", pattern],
                    label=f"{mode} {way}")
                expected = {f"{name}_tagged": lines for name in NAMES}
                tagged = {key: value for key, value in result["counts"].items()
                          if key.endswith("_tagged")}
                if tagged != expected or any(value for key, value in result["counts"].items()
                                             if key.endswith("_errors")):
                    raise RuntimeError(f"{mode} {way}: counted {result['counts']}, expected "
                                       f"{expected} and no dead letters")
                runs[mode, way].append(result)
                print(f"[two_models] round {round_ + 1} {mode:5} {way:9} "
                      f"{result['seconds']:6.1f} s wall {result['cpu']:6.1f} s CPU",
                      file=sys.stderr, flush=True)
    print(report(runs, args, lines, tokens))


def cli_runs(args, pattern, lines, work):
    """{way: [(wall s, CPU s), ...]} of ``CLI_WAYS``, alternating in each round."""
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR

    runs = {way: [] for way in CLI_WAYS}
    out = work / "out"
    for round_ in range(args.rounds):
        for way in CLI_WAYS[round_ % 2:] + CLI_WAYS[:round_ % 2]:
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            if way == "cli-together":
                commands = [[arg for name in NAMES for arg in ("--model", f"{name}=bundled")]
                            + ["--output", str(out / "run"), "--summary-json",
                               str(out / "together.json")]]
            else:
                commands = [["--model", str(DEFAULT_MODEL_DIR), "--output",
                             str(out / f"run-{name}"), "--summary-json",
                             str(out / f"{name}.json")] for name in NAMES]
            started = time.perf_counter()
            cpu_started = _children_cpu()
            for command in commands:
                done = subprocess.run(
                    [sys.executable, "-m", "beamtagger", "tag", "--input", pattern,
                     "--progress-every", "0", *command], stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, text=True, cwd=bench_common.REPO_ROOT,
                    env={**os.environ, **bench_common.CHILD_ENV})
                if done.returncode:
                    raise RuntimeError(f"{way}: exit {done.returncode}: {done.stderr[-2000:]}")
            seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu_started
            _check_summaries(way, out, lines)
            runs[way].append((seconds, cpu))
            print(f"[two_models] round {round_ + 1} {way:12} {seconds:6.1f} s wall "
                  f"{cpu:6.1f} s CPU", file=sys.stderr, flush=True)
    return runs


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _check_summaries(way, out, lines):
    """Each model tagged every record, and none is a dead letter (its --summary-json)."""
    if way == "cli-together":
        summary = json.loads((out / "together.json").read_text())
        parts = [summary["models"][name] for name in NAMES]
    else:
        parts = [json.loads((out / f"{name}.json").read_text()) for name in NAMES]
    for part in parts:
        if (part["records_tagged"], part["dead_letters"]) != (lines, 0):
            raise RuntimeError(f"{way}: tagged {part['records_tagged']} of {lines} records, "
                               f"{part['dead_letters']} dead letters")


def cli_report(runs, args, lines, tokens):
    together_wall = statistics.median(wall for wall, _ in runs["cli-together"])
    together_cpu = statistics.median(cpu for _, cpu in runs["cli-together"])
    rows = []
    for way in CLI_WAYS:
        wall = statistics.median(wall for wall, _ in runs[way])
        cpu = statistics.median(cpu for _, cpu in runs[way])
        rows.append([way, " / ".join(f"{w:.1f}" for w, _ in runs[way]), f"{wall:.1f}",
                     " / ".join(f"{c:.1f}" for _, c in runs[way]), f"{cpu:.1f}",
                     f"{wall / together_wall:.2f}", f"{cpu / together_cpu:.2f}"])
    return bench_common.markdown_table(
        ["way", "wall s (rounds)", "wall s median", "CPU s (rounds)", "CPU s median",
         "wall / together", "CPU / together"], rows) + (
        f"\n\n{lines} lines, {tokens} tokens, each tagged by both models; "
        f"{args.rounds} alternating rounds.")


def report(runs, args, lines, tokens):
    rows = []
    for mode in args.mode:
        together = runs[mode, "together"]
        for way in WAYS:
            found = runs[mode, way]
            wall = statistics.median(r["seconds"] for r in found)
            cpu = statistics.median(r["cpu"] for r in found)
            base_wall = statistics.median(r["seconds"] for r in together)
            base_cpu = statistics.median(r["cpu"] for r in together)
            rows.append([mode, way, " / ".join(f"{r['seconds']:.1f}" for r in found),
                         f"{wall:.1f}", " / ".join(f"{r['cpu']:.1f}" for r in found),
                         f"{cpu:.1f}", f"{wall / base_wall:.2f}", f"{cpu / base_cpu:.2f}",
                         f"{cpu / (2 * tokens) * 1e6:.2f}"])
    return bench_common.markdown_table(
        ["model", "way", "wall s (rounds)", "wall s median", "CPU s (rounds)", "CPU s median",
         "wall / together", "CPU / together", "CPU core-us a token a model"], rows) + (
        f"\n\n{lines} lines, {tokens} tokens, each tagged by both models; "
        f"{args.rounds} alternating rounds.")


if __name__ == "__main__":
    main()
