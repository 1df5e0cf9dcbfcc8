"""The whole ``beamtagger tag`` job with the tagger on one thread in each worker process, as
Dataflow's CPU workers run it, TensorFlow against NumPy: which runtime a CPU-only remote job
should get when ``--runtime`` is not given.

``bench/one_thread_runtimes.py`` measures the model alone. Here each run is the whole command on
the DirectRunner in ``multi_processing`` mode (``--direct_num_workers``, default 2: one SDK
process per core, as Dataflow runs one per vCPU) with ``--tagger-threads 1`` (TensorFlow's one
intra-op and one inter-op thread; NumPy's ``predict`` limits BLAS to one thread itself), on EWT
train as text repeated to each of ``--tokens`` (4 files each, so both workers read), the bundled
model and the default store. The runtimes alternate, ``--rounds`` rounds, the order turned each
round, so a busy spell of the shared machine hits both. Each SDK process starts its runtime once
(TensorFlow: about 4 CPU seconds, its import, load and trace), which a Dataflow worker pays once
for millions of tokens: the CPU a token between the smallest and the largest input, round by
round, is the cost with start-up cancelled out.

Per run: CPU seconds of every process of the command (the launcher, which also runs the
DirectRunner's coordinator, and the SDK workers: this process is their subreaper, so
``RUSAGE_CHILDREN`` holds them all once they are reaped), the workers' own (sampled every 0.25 s,
so at most that much short each), wall seconds of the command, each process's peak RSS, and the
threads of each worker that did at least ``BUSY_THREAD_SHARE`` of its CPU (one tagger thread
and Beam's bundle thread expected; a second tagger thread would show). The labels of the two
runtimes' outputs of the last round are compared token by token, at each size.

  python bench/one_thread_jobs.py [--rounds 4] [--tokens 1000000 2000000] [--tagger-threads 1]
      # about 10 minutes on 2 cores with the defaults
"""
import argparse
import ctypes
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
from numpy_side_by_side import tagged_labels

RUNTIMES = ("tensorflow", "numpy")
PR_SET_CHILD_SUBREAPER = 36
# A worker's thread that did at least this share of the worker's CPU counts as busy.
BUSY_THREAD_SHARE = 0.05
# TensorFlow's intra-op pool's threads: one with --tagger-threads 1, one a core with 0.
TENSORFLOW_COMPUTE_THREAD = "tf_Compute"

# beamtagger tag of this checkout (python -m would put the working directory first).
TAG_CHILD = r'''
import sys
sys.path.insert(0, sys.argv[1])
from beamtagger.pipeline import cli
sys.exit(cli.main(sys.argv[2:]))
'''


def become_subreaper():
    """Makes the SDK workers this process's to reap if the launcher exits first: their CPU then
    counts in ``RUSAGE_CHILDREN`` here instead of being lost to init."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def reap_left_children(timeout=60):
    """Waits for descendants handed to this process (workers that outlived the launcher)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.1)
    raise RuntimeError(f"worker processes still running {timeout} s after the command ended")


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_job(runtime, pattern, output, workers, tagger_threads=1):
    """One ``beamtagger tag`` run; its CPU, wall time and processes."""
    shutil.rmtree(output.parent, ignore_errors=True)
    command = [sys.executable, "-c", TAG_CHILD, str(bench_common.REPO_ROOT), "tag",
               "--input", pattern, "--output", str(output), "--output-format", "jsonl",
               "--runtime", runtime, "--tagger-threads", str(tagger_threads),
               "--progress-every", "0",
               "--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    # The SDK workers import beamtagger by name: this checkout first, as in the launcher.
    path = os.pathsep.join(filter(None, [str(bench_common.REPO_ROOT),
                                         os.environ.get("PYTHONPATH")]))
    env = {**os.environ, **bench_common.CHILD_ENV, "PYTHONPATH": path}
    cpu_before = children_cpu_seconds()
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=bench_common.REPO_ROOT)
        sampler = bench_common.ProcessTreeSampler(process.pid, interval=0.25, threads=True)
        sampler.start()
        code = process.wait()
        wall = time.perf_counter() - started
        sampler.stopped.set()
        sampler.join()
        reap_left_children()
        if code != 0:
            log.seek(0)
            raise RuntimeError(f"{runtime} run failed (exit {code}):\n{log.read()[-3000:]}")
    workers_seen = [seen for seen in sampler.processes.values()
                    if "sdk_worker_main" in seen["cmdline"] and not seen["cmdline"].startswith(
                        ("/bin/sh", "sh "))]
    launcher = sampler.processes[process.pid]
    return {"cpu": children_cpu_seconds() - cpu_before, "wall": wall,
            "workers_cpu": [seen["cpu"] for seen in workers_seen],
            "launcher_peak_rss_mib": launcher["peak_rss"] / bench_common.MIB,
            "workers_peak_rss_mib": [seen["peak_rss"] / bench_common.MIB
                                     for seen in workers_seen],
            "workers_busy_threads": [busy_threads(seen) for seen in workers_seen],
            "workers_tensorflow_compute_threads": [
                sum(name == TENSORFLOW_COMPUTE_THREAD and cpu > 0
                    for (_, name), cpu in seen["threads"].items()) for seen in workers_seen]}


def busy_threads(seen):
    """[name, CPU seconds] of the worker's threads that did at least BUSY_THREAD_SHARE of its
    CPU, largest first (TensorFlow names its threads ``tf_...``; Python's and BLAS's keep the
    process's name)."""
    total = sum(seen["threads"].values()) or 1.0
    return sorted(([name, round(cpu, 2)] for (_, name), cpu in seen["threads"].items()
                   if cpu >= BUSY_THREAD_SHARE * total), key=lambda thread: -thread[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--tokens", type=int, nargs="+", default=[1_000_000, 2_000_000],
                        help="EWT train repeated to these many tokens, one input each (default "
                        "1M and 2M); with two or more, the cost of the tokens between the "
                        "smallest and the largest too, where start-up cancels out")
    parser.add_argument("--workers", type=int, default=2,
                        help="--direct_num_workers: SDK processes (default 2, one a core here)")
    parser.add_argument("--tagger-threads", type=int, default=1,
                        help="beamtagger tag's --tagger-threads (default 1, Dataflow's; 0, "
                        "TensorFlow's every core, shows what a second tf_Compute thread looks "
                        "like)")
    args = parser.parse_args(argv)
    bench_common.require_shared_data()
    become_subreaper()
    work = pathlib.Path(tempfile.mkdtemp(prefix="beamtagger-one-thread-jobs-"))
    sizes = {}
    try:
        sentences = bench_models.ewt_sentences()
        for target in sorted(set(args.tokens)):
            pattern, lines, _ = bench_models.write_text_files(
                sentences, work / f"text-{target}", target_tokens=target)
            sizes[target] = {"pattern": pattern, "records": lines,
                             "runs": {runtime: [] for runtime in RUNTIMES}}
        load_before = os.getloadavg()
        for round_number in range(args.rounds):
            order = RUNTIMES if round_number % 2 == 0 else RUNTIMES[::-1]
            for target, size in sizes.items():
                for runtime in order:
                    output = work / f"out-{target}-{runtime}" / "tagged"
                    run = run_job(runtime, size["pattern"], output, args.workers,
                                  args.tagger_threads)
                    size["runs"][runtime].append(run)
                    print(f"round {round_number + 1}, {target:,} tokens, {runtime}: "
                          f"{run['cpu']:.1f} CPU s, {run['wall']:.1f} s", file=sys.stderr,
                          flush=True)
        load_after = os.getloadavg()
        for target, size in sizes.items():
            size.update(compared_outputs(
                [work / f"out-{target}-{runtime}" for runtime in RUNTIMES], size["records"]))
            del size["pattern"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {"machine": bench_common.machine(), "date": bench_common.now(),
              "command": "python bench/one_thread_jobs.py " + " ".join(sys.argv[1:]),
              "load_average_before_after": [load_before, load_after], "workers": args.workers,
              "tagger_threads": args.tagger_threads,
              "sizes": sizes, "marginal": marginal(sizes) if len(sizes) > 1 else None}
    bench_common.save_results("one_thread_jobs", report, markdown(report))
    return 0


def compared_outputs(folders, records):
    """Tokens tagged and labels differing between the runtimes' outputs in ``folders``."""
    first, second = (tagged_labels(folder) for folder in folders)
    if first.keys() != second.keys() or len(first) != records:
        raise RuntimeError(f"the runtimes tagged different records ({len(first):,} and "
                           f"{len(second):,} of {records:,})")
    return {"tokens": sum(len(labels) for labels, _ in first.values()),
            "labels_differing": sum(x != y for key in first
                                    for x, y in zip(first[key][0], second[key][0]))}


def marginal(sizes):
    """Core-µs a token between the smallest and the largest input, round by round for each
    runtime (the runs of a round are minutes apart at most), and numpy's over tensorflow's."""
    smallest, largest = sizes[min(sizes)], sizes[max(sizes)]
    extra = largest["tokens"] - smallest["tokens"]
    found = {runtime: [(big["cpu"] - small["cpu"]) / extra * 1e6
                       for small, big in zip(smallest["runs"][runtime], largest["runs"][runtime])]
             for runtime in RUNTIMES}
    found["numpy / tensorflow"] = [numpy / tensorflow for numpy, tensorflow
                                   in zip(found["numpy"], found["tensorflow"])]
    return found


def markdown(report):
    (one, five, _), (one_after, five_after, _) = report["load_average_before_after"]
    lines = ["### One thread each, the whole job: `beamtagger tag` as Dataflow's CPU workers "
             "run it", "",
             f"Command: `{report['command']}` ({report['date']}; load average {one:.2f} / "
             f"{five:.2f} (1 / 5 min) at the start, {one_after:.2f} / {five_after:.2f} at the "
             f"end). DirectRunner, multi_processing, {report['workers']} SDK worker processes, "
             f"`--tagger-threads {report['tagger_threads']}`, bundled model, default store; CPU "
             "of all the command's "
             "processes, medians of the rounds:", ""]
    for size in report["sizes"].values():
        lines += size_markdown(size, report["workers"])
    if report["marginal"]:
        found = report["marginal"]
        lines.append("Between the smallest and the largest input (start-up cancels out), "
                     "core-µs a token round by round: tensorflow "
                     + ", ".join(f"{value:.1f}" for value in found["tensorflow"])
                     + "; numpy " + ", ".join(f"{value:.1f}" for value in found["numpy"])
                     + "; numpy / tensorflow " + ", ".join(
                         f"{value:.2f}" for value in found["numpy / tensorflow"])
                     + f" (median **{statistics.median(found['numpy / tensorflow']):.2f}**).")
        lines.append("")
    return "\n".join(lines)


def size_markdown(size, workers):
    runs, tokens = size["runs"], size["tokens"]
    medians = {runtime: {key: statistics.median(run[key] for run in runs[runtime])
                         for key in ("cpu", "wall")} for runtime in RUNTIMES}
    workers_cpu = {runtime: statistics.median(sum(run["workers_cpu"]) for run in runs[runtime])
                   for runtime in RUNTIMES}
    rows = []
    for runtime in RUNTIMES:
        last = runs[runtime][-1]
        # The workers' peaks, least first, each the median over rounds.
        peaks = [sorted(run["workers_peak_rss_mib"]) for run in runs[runtime]]
        worker_peaks = " / ".join(f"{statistics.median(run[i] for run in peaks):,.0f}"
                                  for i in range(workers))
        rows.append([
            runtime, ", ".join(f"{run['cpu']:.1f}" for run in runs[runtime]),
            f"{medians[runtime]['cpu'] / tokens * 1e6:.1f}",
            f"{workers_cpu[runtime] / tokens * 1e6:.1f}",
            ", ".join(f"{run['wall']:.1f}" for run in runs[runtime]),
            f"{statistics.median(run['launcher_peak_rss_mib'] for run in runs[runtime]):,.0f}",
            worker_peaks,
            " / ".join(", ".join(f"{name} {cpu:.1f}" for name, cpu in worker)
                       for worker in last["workers_busy_threads"]),
            " / ".join(map(str, last["workers_tensorflow_compute_threads"]))])
    per_round = {key: [numpy_run[key] / tensorflow_run[key] for numpy_run, tensorflow_run
                       in zip(runs["numpy"], runs["tensorflow"])] for key in ("cpu", "wall")}
    return [
        f"{size['records']:,} records, {tokens:,} tokens:", "",
        bench_common.markdown_table(
            ["runtime", "CPU s (rounds)", "core-µs a token", "of which the workers'",
             "wall s (rounds)", "launcher peak RSS, MiB", "workers' peak RSS, MiB",
             "busy threads of each worker, CPU s (last round)",
             "tf_Compute threads that ran, each worker"], rows),
        f"numpy / tensorflow: **{medians['numpy']['cpu'] / medians['tensorflow']['cpu']:.2f}** "
        f"CPU ({workers_cpu['numpy'] / workers_cpu['tensorflow']:.2f} the workers'), "
        f"**{medians['numpy']['wall'] / medians['tensorflow']['wall']:.2f}** wall; round by "
        "round " + ", ".join(f"{r:.2f}" for r in per_round["cpu"]) + " CPU, "
        + ", ".join(f"{r:.2f}" for r in per_round["wall"]) + " wall. Labels differing "
        f"between the two runtimes' outputs: {size['labels_differing']} of {tokens:,}.", ""]


if __name__ == "__main__":
    sys.exit(main())
