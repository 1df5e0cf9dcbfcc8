"""`beamtagger tag` as a user runs it, two checkouts side by side: launch to exit, CPU and peak
RSS of whole processes, on inputs from `tag --help` to about a million tokens.

The other side-by-side scripts time one stage (case G's non-model CPU, case D in the bench's own
child, the NumPy runtime); this one asks whether the checks added before launch and around the
run have made the command itself slower. Each round runs ``python -c "import tensorflow"`` once
(how fast the machine is right now), then every case for both checkouts, the order of the two
reversed every other round so a busy spell of the shared machine hits both. Every run is a fresh
process under ``/usr/bin/time`` (its wall, user + system CPU and maximum resident set size, the
figure ``/usr/bin/time -v`` prints), with the CLI's defaults (no ``--runtime``: each checkout
picks it from the input's size, and the table says which it picked).

  git worktree add --detach /tmp/perf-base 3254b7c
  python bench/cli_side_by_side.py --before /tmp/perf-base --after . --rounds 3

Cases: ``help`` (``tag --help``), ``tiny`` (the 12-line ``beamtagger/data/example.txt``), ``dev``
(EWT dev as text, one sentence a line, about 25k tokens), ``1m`` (EWT train repeated to about 1M
tokens, one file). Inputs are written under ``--work`` (a fresh temporary folder by default,
removed at the end).
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]
import bench_common  # noqa: E402
import bench_models  # noqa: E402

CASES = ("help", "tiny", "dev", "1m")
ONE_MILLION = 1_000_000
TIME_FORMAT = "%e %U %S %M"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=pathlib.Path, required=True,
                        help="a checkout (worktree) of the earlier code")
    parser.add_argument("--after", type=pathlib.Path, required=True,
                        help="a checkout of the later code")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--work", type=pathlib.Path,
                        help="folder for the inputs and outputs (kept); a temporary one if absent")
    parser.add_argument("--json", type=pathlib.Path, help="also write every run's figures here")
    args = parser.parse_args(argv)
    for checkout in (args.before, args.after):
        if not (checkout / "beamtagger" / "__init__.py").is_file():
            parser.error(f"{checkout} holds no beamtagger package")
    args.cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        parser.error(f"unknown cases {unknown}; known: {', '.join(CASES)}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not os.access("/usr/bin/time", os.X_OK):
        parser.error("/usr/bin/time is needed for the peak RSS (apt-get install time)")
    return args


def write_inputs(work, cases, after):
    """The input file of each case that reads one (None for ``help``)."""
    from beamtagger.corpus_readers import read_corpus

    inputs = {"help": None, "tiny": after / "beamtagger" / "data" / "example.txt"}
    if "dev" in cases:
        dev = work / "ewt-dev.txt"
        with open(dev, "w", encoding="utf-8") as out:
            for sentence in read_corpus(str(bench_common.EWT_DEV), "conllu"):
                if sentence.tokens:
                    out.write(" ".join(sentence.tokens) + "\n")
        inputs["dev"] = dev
    if "1m" in cases:
        pattern, _, _ = bench_models.write_text_files(
            bench_models.ewt_sentences(), work / "ewt-1m", target_tokens=ONE_MILLION, parts=1)
        inputs["1m"] = pathlib.Path(pattern.replace("*", "00"))
    return inputs


def timed(argv, env, cwd, label):
    """Runs ``argv`` under /usr/bin/time; returns wall (launch to exit, measured here), CPU
    seconds, peak RSS in MiB and the command's output."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as times:
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", TIME_FORMAT, "-o", times.name, *argv],
                              capture_output=True, text=True, env=env, cwd=cwd)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"{label} exited {done.returncode}:\n{done.stderr[-3000:]}")
        _, user, system, max_kib = times.read().split()[-4:]
    return {"wall": wall, "cpu": float(user) + float(system), "rss_mib": int(max_kib) / 1024,
            "output": done.stdout + done.stderr}


def tag_argv(case, source, output):
    if case == "help":
        return ["tag", "--help"]
    return ["tag", "--input", str(source), "--output", str(output / "tagged"),
            "--output-format", "jsonl", "--progress-every", "0"]


def summary_field(output, name):
    found = re.search(rf"^{name}\s+(\S+)", output, re.M)
    return found.group(1).replace(",", "") if found else None


def run_rounds(args, inputs, work):
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    runs = {"import tensorflow": []}
    runs.update({(case, side): [] for case in args.cases for side in checkouts})
    base_env = {**os.environ, **bench_common.CHILD_ENV}
    for round_index in range(args.rounds):
        env = {key: value for key, value in base_env.items() if key != "PYTHONPATH"}
        tf = timed([sys.executable, "-c", "import tensorflow"], env, work, "import tensorflow")
        runs["import tensorflow"].append(tf)
        print(f"round {round_index + 1}: import tensorflow {tf['wall']:.2f} s", flush=True)
        order = list(checkouts.items())
        if round_index % 2:
            order.reverse()
        for case in args.cases:
            for side, checkout in order:
                output = work / f"out-{side}"
                shutil.rmtree(output, ignore_errors=True)
                env = {**base_env, "PYTHONPATH": str(checkout)}
                run = timed([sys.executable, "-m", "beamtagger",
                             *tag_argv(case, inputs[case], output)],
                            env, work, f"{side} {case}")
                run["tokens"] = summary_field(run["output"], "tokens")
                run["runtime"] = summary_field(run["output"], "runtime")
                del run["output"]
                runs[(case, side)].append(run)
                print(f"  {case:5s} {side:6s} wall {run['wall']:6.2f} s  cpu {run['cpu']:6.2f} s"
                      f"  rss {run['rss_mib']:6.0f} MiB  tokens {run['tokens']}"
                      f"  runtime {run['runtime']}", flush=True)
    return runs


def median(runs, key):
    return statistics.median(run[key] for run in runs)


def report(runs, cases):
    tf = median(runs["import tensorflow"], "wall")
    lines = [f"import tensorflow: median {tf:.2f} s over {len(runs['import tensorflow'])} rounds "
             "(" + ", ".join(f"{run['wall']:.2f}" for run in runs["import tensorflow"]) + ")", "",
             "| case | side | runtime | tokens | wall s, median (runs) | / import tensorflow "
             "| CPU s, median | peak RSS MiB, median | tokens/s (wall) |",
             "|---|---|---|---|---|---|---|---|---|"]
    ratios = []
    for case in cases:
        for side in ("before", "after"):
            side_runs = runs[(case, side)]
            wall = median(side_runs, "wall")
            tokens = side_runs[0]["tokens"]
            rate = f"{int(tokens) / wall:,.0f}" if tokens else "-"
            lines.append(f"| {case} | {side} | {side_runs[0]['runtime'] or '-'} | {tokens or '-'} "
                         f"| {wall:.2f} ("
                         + ", ".join(f"{run['wall']:.2f}" for run in side_runs)
                         + f") | {wall / tf:.2f} | {median(side_runs, 'cpu'):.2f} "
                         f"| {median(side_runs, 'rss_mib'):.0f} | {rate} |")
        before, after = runs[(case, "before")], runs[(case, "after")]
        if before[0]["tokens"] != after[0]["tokens"]:
            lines.append(f"(!) {case}: the checkouts counted different tokens")
        by_round = [a["wall"] / b["wall"] for a, b in zip(after, before)]
        ratios.append(f"| {case} | {median(after, 'wall') / median(before, 'wall'):.3f} "
                      f"| {median(after, 'cpu') / median(before, 'cpu'):.3f} "
                      f"| {median(after, 'rss_mib') / median(before, 'rss_mib'):.3f} | "
                      + ", ".join(f"{ratio:.2f}" for ratio in by_round) + " |")
    lines += ["", "| case | after / before wall, of medians | CPU | peak RSS "
              "| wall round by round |", "|---|---|---|---|---|", *ratios]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    bench_common.require_shared_data()
    work = args.work or pathlib.Path(tempfile.mkdtemp(prefix="cli-side-by-side-"))
    work.mkdir(parents=True, exist_ok=True)
    try:   # a temporary work folder holds EWT text: removed after a failed run or Ctrl-C too
        inputs = write_inputs(work, args.cases, args.after.resolve())
        print(bench_common.machine(), flush=True)
        runs = run_rounds(args, inputs, work)
        print(report(runs, args.cases))
        if args.json:
            args.json.write_text(json.dumps(
                {" ".join(key) if isinstance(key, tuple) else key: value
                 for key, value in runs.items()}, indent=2) + "\n", encoding="utf-8")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
