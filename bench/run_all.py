"""Runs the seven benchmarks behind the first tables of BENCHMARKS.md's sections 1-4, one after
the other, and writes their sections from the same run into one markdown file.

  python bench/run_all.py --out bench/results/BENCHMARKS.md --overwrite  # make bench: ~17 min
  python bench/run_all.py --out /tmp/b.md --tiny      # seconds: checks the scripts work

The scripts: throughput_bench, tag_timeline, startup_bench, runtime_bench, model_size_bench,
training_bench, store_bench. Each runs in its own process, in sequence (never in parallel: the
timings would fight for the same cores), writes its JSON and markdown to bench/results/, and
this script stitches the markdown sections together under one header: command, machine, date.

BENCHMARKS.md itself holds far more than these sections (side-by-side measurements of changes,
run by hand, each with its command and date), so an existing OUT is refused, before anything
runs, unless --overwrite says to replace it: a run's file is set beside BENCHMARKS.md, not
written over it.
"""
import argparse
import os
import pathlib
import subprocess
import sys
import time

import bench_common

BENCH = pathlib.Path(__file__).resolve().parent
# (script, markdown sections it writes to the results folder, in the order of BENCHMARKS.md).
SCRIPTS = [
    ("throughput_bench.py", ["throughput.md"]),
    ("tag_timeline.py", ["tag_timeline.md"]),  # nested under "1." beside the profiles
    # "### Start-up" and "### Which runtime for which input size", also under "1."
    ("startup_bench.py", ["startup.md", "startup-crossover.md"]),
    ("runtime_bench.py", ["runtime.md"]),  # "### The tag stage's runtimes", under "1."
    ("model_size_bench.py", ["model_size.md"]),
    ("training_bench.py", ["training.md"]),
    ("throughput_bench.py", ["throughput-scaling.md"]),  # written by the run above
    # The store's own section (bench/store_bench.py), nested under "4. Scaling".
    ("store_bench.py", ["store.md"]),
]
NESTED = {"store.md"}  # tag_timeline.md writes its own "###" heading
GPU_SECTION = """## 5. GPU

Not measured by this run: the GPU figures come from `bash bench/gpu_check.sh` (which runs
`bench/gpu_bench.py`) on a machine with an NVIDIA GPU; BENCHMARKS.md's section 5 gives its
runs.
"""


def demote_headings(markdown):
    """'## X' -> '### X' and so on, for a script's section nested under another."""
    return "\n".join("#" + line if line.startswith("#") else line
                     for line in markdown.split("\n"))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=pathlib.Path,
                        help="the markdown file to write")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUT if it exists (refused otherwise)")
    parser.add_argument("--tiny", action="store_true", help="every script in its tiny mode")
    parser.add_argument("--only", nargs="+", help="run only these scripts (file names); the "
                        "others' sections come from bench/results/ of an earlier run")
    parser.add_argument("--assemble-only", action="store_true",
                        help="run nothing: write OUT from the sections in bench/results/")
    args = parser.parse_args(argv)
    # A name of none (throughput, without .py) ran nothing and assembled earlier sections.
    scripts = list(dict.fromkeys(script for script, _ in SCRIPTS))
    unknown = [name for name in args.only or () if name not in scripts]
    if unknown:
        parser.error(f"--only {unknown[0]}: not one of its scripts ({', '.join(scripts)})")
    if args.out.is_dir():
        parser.error(f"{args.out} is a folder: --out names the markdown file to write")
    # OUT is written last, after every script: a folder it cannot go in is refused now, not as
    # a traceback 17 minutes later.
    folder = next(parent for parent in args.out.absolute().parents if parent.exists())
    if not folder.is_dir():
        parser.error(f"{args.out}: {folder} is not a folder, so --out cannot be written there")
    if not os.access(folder, os.W_OK | os.X_OK):
        parser.error(f"{args.out}: {folder} cannot be written (its permissions)")
    if args.out.exists() and not args.overwrite:
        headings = sum(line.startswith("#") for line in
                       args.out.read_text(encoding="utf-8", errors="replace").splitlines())
        parser.error(f"{args.out} exists ({headings} headings) and this run writes only its "
                     "own sections: give another --out (make bench writes "
                     "bench/results/BENCHMARKS.md) or --overwrite to replace it")
    return args


def main(argv=None):
    args = parse_args(argv)
    command = ("python bench/run_all.py --out " + str(args.out)
               + (" --overwrite" if args.overwrite else "") + (" --tiny" if args.tiny else "")
               + (" --only " + " ".join(args.only) if args.only else "")
               + (" --assemble-only" if args.assemble_only else ""))
    started = time.perf_counter()
    timings = {}
    ran = set()
    for script, _ in SCRIPTS:
        if script in ran or args.assemble_only or (args.only and script not in args.only):
            continue
        ran.add(script)
        argv = [sys.executable, str(BENCH / script)] + (["--tiny"] if args.tiny else [])
        print(f"[run_all] {' '.join(argv[1:])}", file=sys.stderr, flush=True)
        script_started = time.perf_counter()
        done = subprocess.run(argv, cwd=bench_common.REPO_ROOT, stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            sys.exit(f"[run_all] {script} exited {done.returncode}: {args.out} not written (the "
                     "sections of the scripts before it are in bench/results/)")
        timings[script] = time.perf_counter() - script_started
    total = time.perf_counter() - started
    machine = bench_common.machine()
    header = [
        "# Benchmarks", "",
        ("Written by one run of `bench/run_all.py` (the scripts of the wall-time line below); "
         "all figures and ratios below come from that run." if not (args.only or
                                                                    args.assemble_only) else
         "Assembled from `bench/results/`: " + (", ".join(sorted(ran)) or "no script")
         + " ran at the date below; every other section comes from an earlier run and states "
         "its own command and date.")
        + (" **Tiny mode: for checking the scripts, not figures to quote.**" if args.tiny
           else ""), "",
        f"- Command: `{command}`",
        f"- Date: {bench_common.now()}",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB "
        f"memory, {machine['platform']}",
        "- Software: Python " + machine["python"] + ", " + ", ".join(
            f"{name} {version}" for name, version in machine["versions"].items() if version),
        "- Wall time: " + ", ".join(f"{script} {seconds / 60:.1f} min"
                                    for script, seconds in timings.items())
        + f"; total {total / 60:.1f} min", ""]
    sections = []
    for _, names in SCRIPTS:
        for name in names:
            path = bench_common.RESULTS_DIR / name
            text = (path.read_text(encoding="utf-8") if path.exists()
                    else f"(section {name} missing: its script did not write it)\n")
            sections.append(demote_headings(text) if name in NESTED else text)
    sections.append(GPU_SECTION)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header) + "\n" + "\n".join(sections), encoding="utf-8")
    print(f"[run_all] wrote {args.out} in {total / 60:.1f} min", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
