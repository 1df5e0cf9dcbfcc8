"""``beamtagger.Tagger`` (in-process tagging): its start-up, and ``tag_many`` against RunInference.

1. Start-up: a fresh ``python -c`` that imports ``Tagger``, loads the bundled model on the
   default store (the NumPy runtime, ``Tagger``'s default) and tags one sentence, against
   ``python -c "import tensorflow"`` (the project's yardstick, BENCHMARKS.md), in alternating
   rounds; wall time of each process, ratio of the medians and round by round.
2. Throughput: the raw text of EWT dev's sentences (their ``# text`` lines, ``--copies`` times
   over, as TextRecords) tagged by ``Tagger().tag_many`` and by
   ``RunInference(TaggerModelHandler())`` (``--runner=FnApiRunner``), both with the bundled model
   and the NumPy runtime, one fresh process a run, alternating; tokens a second of wall time
   and CPU seconds from the records in memory to the last result (model load included in both),
   and a digest of every record's id and labels, which must be equal.

3. Memory (``--memory``, instead of 1 and 2): in one fresh process, the resident memory a
   ``Tagger`` shared by threads gains for each more thread that has tagged EWT dev's text (each
   thread holds its own tokenizer and token tables), and over 20 Taggers made one after the
   other and dropped, as a service making one per request would, while another is held and
   while none is.

4. Latency (``--latency``, instead of 1 and 2): ``Tagger.tag`` of one EWT dev sentence a call
   (``--calls`` of them, in order, each tagged once a run), warm, with 1, 2 and 4 threads
   calling at once and with 2 processes of one thread started together: p50/p90/p99 and
   requests a second, the model's own forward share of a call, a digest of every label.

``--compare-with DIR`` (start-up, or with ``--latency`` latency): another checkout's
``beamtagger`` (DIR, e.g. a ``git worktree`` of an earlier commit) too, in the same alternating
rounds, as a ratio to this checkout's (and, for start-up, to ``import tensorflow``).

  python bench/inprocess_bench.py [--rounds 3] [--copies 4]   # about 2 minutes on 2 cores
  python bench/inprocess_bench.py --memory                    # about 30 s
  python bench/inprocess_bench.py --compare-with /tmp/wt-before --rounds 5
  python bench/inprocess_bench.py --latency --compare-with /tmp/wt-lat --rounds 4   # ~3 min
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import bench_common

SENTENCE = "Beam tags this sentence in Paris."
START_UP = f"from beamtagger import Tagger; Tagger().tag({SENTENCE!r})"
IMPORT_TENSORFLOW = "import tensorflow"
VARIANTS = ("tag_many", "runinference")

CHILD = r'''
import json, resource, sys, time, zlib
variant, dev, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
from beamtagger.transforms import TextRecord
import apache_beam as beam
with open(dev, encoding="utf-8") as handle:
    texts = [line[len("# text = "):].rstrip("\n") for line in handle
             if line.startswith("# text = ")]
records = [TextRecord(str(i), text) for i, text in enumerate(texts * copies)]


def digest(record_id, labels):
    return zlib.crc32(f"{record_id}\t{' '.join(labels)}".encode())


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


cpu_before, started = cpu(), time.perf_counter()
if variant == "tag_many":
    from beamtagger import Tagger
    tagger = Tagger(runtime="numpy")
    loaded = time.perf_counter() - started
    tokens = total = count = 0
    for tagged in tagger.tag_many(records):
        tokens += len(tagged.tokens)
        total += digest(tagged.id, tagged.labels)
        count += 1
else:
    from apache_beam.ml.inference.base import RunInference
    from apache_beam.options.pipeline_options import PipelineOptions
    from beamtagger.transforms import TaggerModelHandler, counters
    loaded = None
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    summed = (pipeline | beam.Create(records)
              | RunInference(TaggerModelHandler(runtime="numpy"))
              | beam.Map(lambda r: (digest(r.inference.id, r.inference.labels), 1))
              | beam.CombineGlobally(lambda pairs: tuple(map(sum, zip(*pairs))) or (0, 0)))
    _ = summed | beam.Map(lambda pair: print("SUMMED", json.dumps(pair), flush=True))
    result = pipeline.run()
    result.wait_until_finish()
    tokens = counters.query_counters(result)["tokens"]
    total = count = None   # printed by the pipeline (SUMMED), read by the parent
print("RESULT " + json.dumps({"variant": variant, "records": len(records), "tokens": tokens,
                              "wall": time.perf_counter() - started, "cpu": cpu() - cpu_before,
                              "load": loaded, "digest": total, "count": count}), flush=True)
'''


def child_env(root=bench_common.REPO_ROOT):
    env = {**os.environ, **bench_common.CHILD_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return env


def wall_of(code, root=bench_common.REPO_ROOT):
    """Wall seconds of a fresh ``python -c code`` importing the ``beamtagger`` of ``root``."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=child_env(root), cwd=root,
                   capture_output=True)
    return time.perf_counter() - started

MEMORY_CHILD = r'''
import gc, json, sys, threading, time
from beamtagger import Tagger


def rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


with open(sys.argv[1], encoding="utf-8") as handle:
    texts = [line[len("# text = "):].rstrip("\n") for line in handle
             if line.startswith("# text = ")]
tagger = Tagger()
for _ in tagger.tag_many(texts):
    pass
gc.collect()
one_thread, done, release = rss_mib(), [], threading.Event()


def tag_and_wait():
    for _ in tagger.tag_many(texts):
        pass
    done.append(1)
    release.wait()   # alive, so its tokenizer and token tables are held when measured


threads, more = [], []
for count in range(1, 5):
    threads.append(threading.Thread(target=tag_and_wait))
    threads[-1].start()
    while len(done) < count:
        time.sleep(0.05)
    gc.collect()
    more.append(rss_mib() - one_thread)
release.set()
for thread in threads:
    thread.join()
made = {}
for held in ("held", "none held"):
    if held == "none held":
        del tagger
        gc.collect()
    rss, seconds = [], []
    for _ in range(20):
        start = time.perf_counter()
        per_request = Tagger()
        per_request.tag("Beam tags this sentence in a request.")
        seconds.append(time.perf_counter() - start)
        del per_request
        rss.append(rss_mib())
    made[held] = {"rss": rss, "seconds": seconds}
print("RESULT " + json.dumps({"one_thread": one_thread, "more_threads": more, "made": made}))
'''


LATENCY_CHILD = r"""
import json, sys, threading, time, zlib
from beamtagger import Tagger
dev, thread_counts, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
process, processes = int(sys.argv[4]), int(sys.argv[5])   # this one's share of the calls
with open(dev, encoding="utf-8") as handle:
    texts = [line[len("# text = "):].rstrip("\n") for line in handle
             if line.startswith("# text = ")]
tagger = Tagger()
runner = tagger._model._runner   # its own forward time, summed where one thread tags
forward = [0.0]
predict = runner.predict


def timed_predict(inputs):
    started = time.perf_counter()
    try:
        return predict(inputs)
    finally:
        forward[0] += time.perf_counter() - started


def run(threads):
    barrier, latencies, digests, tokens = threading.Barrier(threads + 1), [], [], []

    def serve(first):
        stride = threads * processes
        mine = [texts[(process * threads + first + stride * i) % len(texts)]
                for i in range(calls // stride)]
        for text in mine[:50]:   # this thread's tokenizer and tables warm
            tagger.tag(text)
        seconds, digest, count = [], 0, 0
        barrier.wait()
        for text in mine:
            started = time.perf_counter()
            tagged = tagger.tag(text)
            seconds.append(time.perf_counter() - started)
            digest += zlib.crc32(" ".join(tagged.labels).encode())
            count += len(tagged.tokens)
        latencies.extend(seconds)
        digests.append(digest)
        tokens.append(count)

    workers = [threading.Thread(target=serve, args=(first,)) for first in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started, forward[0] = time.time(), 0.0
    for worker in workers:
        worker.join()
    ended = time.time()
    return {"threads": threads, "latencies": latencies, "digest": sum(digests),
            "tokens": sum(tokens), "start": started, "end": ended,
            "forward": forward[0] if threads == 1 else None}


runner.predict = timed_predict
results = []
for threads in map(int, thread_counts.split(",")):
    if processes > 1:   # started with the other processes: all measure at once
        print("READY", flush=True)
        sys.stdin.readline()
    results.append(run(threads))
print("RESULT " + json.dumps(results), flush=True)
"""

LATENCY_THREADS = (1, 2, 4)


def latency_run(root, thread_counts, calls, processes=1):
    """[{threads, latencies, digest, tokens, start, end, forward}, one a thread count] of
    ``processes`` fresh processes of ``root``'s ``beamtagger`` making ``calls`` ``tag`` calls
    between them for each of ``thread_counts``, merged (the processes measure together)."""
    counts = ",".join(map(str, thread_counts))
    children = []
    for process in range(processes):
        stderr = tempfile.TemporaryFile(mode="w+")
        children.append((subprocess.Popen(
            [sys.executable, "-c", LATENCY_CHILD, str(bench_common.EWT_DEV), counts,
             str(calls), str(process), str(processes)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=child_env(root), cwd=root),
            stderr))
    if processes > 1:
        for _ in thread_counts:
            for child, _ in children:
                while child.stdout.readline().strip() != "READY":
                    if child.poll() is not None:
                        break
            for child, _ in children:
                child.stdin.write("\n")
                child.stdin.flush()
    runs = []
    for child, stderr in children:
        stdout, _ = child.communicate()
        if child.returncode != 0:
            stderr.seek(0)
            raise RuntimeError(f"latency child of {root} failed:\n{stderr.read()[-3000:]}")
        runs.append(json.loads(next(line for line in stdout.splitlines()
                                    if line.startswith("RESULT "))[7:]))
    merged = []
    for parts in zip(*runs):
        merged.append({"threads": parts[0]["threads"],
                       "latencies": [s for part in parts for s in part["latencies"]],
                       "digest": sum(part["digest"] for part in parts),
                       "tokens": sum(part["tokens"] for part in parts),
                       "seconds": (max(part["end"] for part in parts)
                                   - min(part["start"] for part in parts)),
                       "forward": parts[0]["forward"] if processes == 1 else None})
    return merged


def latency_figures(run):
    """p50, p90, p99 (ms) and requests a second of one thread count's run."""
    ordered = sorted(run["latencies"])
    figures = {f"p{q}": 1000 * ordered[min(len(ordered) - 1, len(ordered) * q // 100)]
               for q in (50, 90, 99)}
    figures["requests/s"] = len(ordered) / run["seconds"]
    if run["forward"] is not None:
        figures["model share"] = run["forward"] / sum(ordered)
    return figures


def latency(rounds, calls, other_root=None):
    """{case: [runs of a round]}: this checkout's Tagger with 1, 2 and 4 threads, two of its
    processes of one thread each and, with ``other_root``, that checkout's Tagger with 1, 2
    and 4 threads, in an order reversed every other round."""
    cases = {"Tagger": (bench_common.REPO_ROOT, LATENCY_THREADS, 1),
             "2 processes": (bench_common.REPO_ROOT, (1,), 2)}
    if other_root is not None:
        cases["Tagger (other)"] = (other_root, LATENCY_THREADS, 1)
    values = {name: [] for name in cases}
    for round_ in range(rounds):
        for name in list(cases) if round_ % 2 == 0 else list(cases)[::-1]:
            values[name].append(latency_run(*cases[name][:2], calls, cases[name][2]))
    return values


def latency_lines(runs, calls, other_root):
    """The markdown lines of ``latency``'s runs."""
    first = runs["Tagger"][0][0]
    digests = {run["digest"] for case in runs.values() for round_ in case for run in round_}
    lines = [f"`Tagger.tag` of one EWT dev sentence a call ({calls:,} calls a run, "
             f"{first['tokens'] / calls:.1f} tokens a call on average), NumPy runtime, bundled "
             f"model, warm; every run's labels "
             f"{'**equal**' if len(digests) == 1 else '**DIFFER**'}.", "",
             "| threads | p50 ms | p90 ms | p99 ms | requests/s | the model's share of a call |",
             "|---|---|---|---|---|---|"]
    figures = {name: [[latency_figures(run) for run in round_] for round_ in case]
               for name, case in runs.items()}

    def median(name, index, figure):
        return statistics.median(round_[index][figure] for round_ in figures[name])

    for index, threads in enumerate(LATENCY_THREADS):
        share = (f"{median('Tagger', index, 'model share'):.2f}" if threads == 1 else "")
        lines.append(f"| {threads} | " + " | ".join(
            f"{median('Tagger', index, figure):.2f}" for figure in ("p50", "p90", "p99"))
            + f" | {median('Tagger', index, 'requests/s'):.0f} | {share} |")
    lines.append("| 2 processes of 1 | " + " | ".join(
        f"{median('2 processes', 0, figure):.2f}" for figure in ("p50", "p90", "p99"))
        + f" | {median('2 processes', 0, 'requests/s'):.0f} | |")
    lines += ["", "(medians over the rounds)", "", "```"]
    two_threads = {"2 threads": [round_[1] for round_ in figures["Tagger"]],
                   "2 processes": [round_[0] for round_ in figures["2 processes"]]}
    for figure in ("requests/s", "p50", "p99"):
        lines.append(bench_common.alternating_summary(
            f"2 processes of one thread against 2 threads of one process, {figure}",
            {case: [f[figure] for f in values] for case, values in two_threads.items()},
            "2 threads", "2 processes", figure.split("/")[0]))
    if other_root is not None:
        for index, threads in enumerate(LATENCY_THREADS):
            for figure in ("p50", "p99", "requests/s"):
                lines.append(bench_common.alternating_summary(
                    f"{threads} thread(s), {figure}, this checkout against {other_root}",
                    {name: [round_[index][figure] for round_ in figures[name]]
                     for name in ("Tagger (other)", "Tagger")},
                    "Tagger (other)", "Tagger", figure.split("/")[0]))
    lines.append("```")
    return lines, len(digests) == 1


def start_up(rounds, other_root=None):
    """{case: wall seconds, one a round}: ``import tensorflow``, ``Tagger`` (this checkout)
    and, with ``other_root``, ``Tagger (other)``, in an order reversed every other round."""
    order = [("import tensorflow", IMPORT_TENSORFLOW, bench_common.REPO_ROOT),
             ("Tagger", START_UP, bench_common.REPO_ROOT)]
    if other_root is not None:
        order.append(("Tagger (other)", START_UP, other_root))
    for _, code, root in order[1:]:
        wall_of(code, root)   # compiled modules cached and the default store in place, untimed
    values = {name: [] for name, _, _ in order}
    for round_ in range(rounds):
        for name, code, root in order if round_ % 2 == 0 else order[::-1]:
            values[name].append(wall_of(code, root))
    return values


def throughput_run(variant, copies):
    completed = subprocess.run([sys.executable, "-c", CHILD, variant, str(bench_common.EWT_DEV),
                                str(copies)], env=child_env(), cwd=bench_common.REPO_ROOT,
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{completed.stderr[-3000:]}")
    lines = completed.stdout.splitlines()
    result = json.loads(next(line for line in lines if line.startswith("RESULT "))[7:])
    if variant == "runinference":
        summed = json.loads(next(line for line in lines if line.startswith("SUMMED "))[7:])
        result["digest"], result["count"] = summed
    return result


def throughput(rounds, copies):
    runs = {variant: [] for variant in VARIANTS}
    for round_ in range(rounds):
        for variant in VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]:
            runs[variant].append(throughput_run(variant, copies))
    return runs


def memory():
    completed = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(bench_common.EWT_DEV)],
                               env=child_env(), cwd=bench_common.REPO_ROOT, capture_output=True,
                               text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"memory failed:\n{completed.stderr[-3000:]}")
    result = json.loads(next(line for line in completed.stdout.splitlines()
                             if line.startswith("RESULT "))[7:])
    lines = [f"Resident memory, one thread having tagged EWT dev's text: "
             f"{result['one_thread']:.0f} MiB; with 1-4 more threads alive that tagged it too: "
             + ", ".join(f"{mib:+.0f}" for mib in result["more_threads"]) + " MiB."]
    for held, made in result["made"].items():
        lines.append(f"20 Taggers made and dropped one after the other ({held}): "
                     f"{min(made['rss']):.0f}-{max(made['rss']):.0f} MiB, "
                     f"{statistics.median(made['seconds']):.3f} s each (median).")
    return result, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--copies", type=int, default=4, help="EWT dev's text this many times")
    parser.add_argument("--memory", action="store_true",
                        help="measure memory per thread and per Tagger made (section 3) only")
    parser.add_argument("--latency", action="store_true",
                        help="measure one sentence's tag latency and requests a second with "
                             "1, 2 and 4 threads and with 2 processes (section 4) only")
    parser.add_argument("--calls", type=int, default=2000,
                        help="--latency: tag calls a run (EWT dev's sentences in order)")
    parser.add_argument("--compare-with", metavar="DIR",
                        help="start-up (or, with --latency, latency) only, of this checkout "
                             "and of the beamtagger in DIR (another checkout, e.g. a git "
                             "worktree of an earlier commit)")
    args = parser.parse_args()
    results = {"machine": bench_common.machine(), "date": bench_common.now(),
               "rounds": args.rounds}
    lines = [f"### In-process tagging: `beamtagger.Tagger` ({results['date']})", ""]
    if args.memory:
        if not bench_common.EWT_DEV.is_file():
            sys.exit(f"{bench_common.EWT_DEV} is missing (set BEAMTAGGER_SHARED_DATA to the "
                     "folder holding ud-english-ewt/)")
        results["memory"], measured = memory()
        bench_common.save_results("inprocess-memory", results, "\n".join(lines + measured)
                                  + "\n")
        return

    if args.latency:
        if not bench_common.EWT_DEV.is_file():
            sys.exit(f"{bench_common.EWT_DEV} is missing (set BEAMTAGGER_SHARED_DATA to the "
                     "folder holding ud-english-ewt/)")
        if args.calls < 4 or args.calls % 4:
            sys.exit(f"--calls must be a multiple of 4 (each thread count tags the same "
                     f"sentences), not {args.calls}")
        runs = latency(args.rounds, args.calls, args.compare_with)
        results["latency"] = runs
        results["compared_with"] = args.compare_with
        measured, agree = latency_lines(runs, args.calls, args.compare_with)
        bench_common.save_results("inprocess-latency", results, "\n".join(lines + measured)
                                  + "\n")
        if not agree:
            sys.exit("the labels differ between runs")
        return

    walls = start_up(args.rounds, args.compare_with)
    results["start_up"] = walls
    title = "Start-up to the first tagged sentence against `import tensorflow`, wall s"
    lines += ["```", bench_common.alternating_summary(title, walls, "import tensorflow",
                                                      "Tagger", "s")]
    if args.compare_with:
        results["compared_with"] = args.compare_with
        lines += [bench_common.alternating_summary(f"The same, {args.compare_with}'s Tagger",
                                                   walls, "import tensorflow",
                                                   "Tagger (other)", "s"),
                  bench_common.alternating_summary("This checkout's Tagger against it", walls,
                                                   "Tagger (other)", "Tagger", "s"), "```"]
        bench_common.save_results("inprocess-compared", results, "\n".join(lines) + "\n")
        return
    lines += ["```", ""]

    if not bench_common.EWT_DEV.is_file():
        lines.append(f"Throughput not measured: {bench_common.EWT_DEV} is missing (set "
                     "BEAMTAGGER_SHARED_DATA to the folder holding ud-english-ewt/).")
    else:
        runs = throughput(args.rounds, args.copies)
        results["throughput"] = runs
        first = runs[VARIANTS[0]][0]
        agree = all((run["digest"], run["count"], run["tokens"])
                    == (first["digest"], first["count"], first["tokens"])
                    for variant in VARIANTS for run in runs[variant])
        rate = {variant: [run["tokens"] / run["wall"] / 1000 for run in runs[variant]]
                for variant in VARIANTS}
        cpu = {variant: [run["cpu"] for run in runs[variant]] for variant in VARIANTS}
        load = statistics.median(run["load"] for run in runs["tag_many"])
        lines += [f"EWT dev's text x{args.copies}: {first['count']:,} records, "
                  f"{first['tokens']:,} tokens; every record's labels "
                  f"{'**equal** in every run' if agree else '**DIFFER**'} "
                  f"(digest {first['digest']}); Tagger's load (median) {load:.2f} s.", "",
                  "```", bench_common.alternating_summary(
                      "Throughput, thousand tokens a wall second (load included)", rate,
                      "runinference", "tag_many", "k tok/s"),
                  bench_common.alternating_summary("CPU seconds", cpu, "runinference",
                                                   "tag_many", "cpu s"), "```"]
        if not agree:
            bench_common.save_results("inprocess", results, "\n".join(lines) + "\n")
            sys.exit("the labels differ between tag_many and RunInference")
    bench_common.save_results("inprocess", results, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
