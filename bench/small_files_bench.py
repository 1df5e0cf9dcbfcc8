"""`beamtagger tag` over many small files (a message a file, as exports land in a data lake)
against the same text in one file, for one or two checkouts: fresh processes, alternating
rounds (the order reversed every other round); wall time, CPU (user + system) and peak RSS.

The files hold 1-3 EWT train sentences each, in a YYYY/MM/DD layout read with '**'; every
100th is empty and 9 in 100 are .gz, as a day's landing folder may be.

  python bench/small_files_bench.py FILES ROUNDS CHECKOUT [CHECKOUT ...] [--all-gz] [-- TAG ARGS]

CHECKOUT is a folder holding a beamtagger package (a git checkout, or `git archive` of a
commit); TAG ARGS go to every run (default: --runtime numpy, the runtime the defaults choose
up to 4 MB, so the two inputs run the same one). `--all-gz` gzips every non-empty file (a day's
exports, each compressed alone): with `--` and no TAG ARGS, it measures the runtime each
checkout's defaults choose for such a folder.
"""
import argparse
import gzip
import json
import os
import pathlib
import random
import resource
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

# Prints the child's own peak RSS, the in-process DirectRunner's only process.
CHILD = r'''
import resource, sys
sys.path.insert(0, sys.argv[1])
from beamtagger.pipeline import cli
code = cli.main(sys.argv[2:])
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
'''


# The checkout named on the command line is the one imported, not an installed one.
CHILD_ENV = {**{key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
             **bench_common.CHILD_ENV}


def write_inputs(work, files, all_gz=False):
    """``files`` small files under work/lake (9 in 100 gzipped, or all with ``all_gz``) and
    their text in work/one.txt."""
    sentences = [" ".join(tokens) for tokens in bench_models.ewt_sentences()]
    rng = random.Random(0)
    lake, lines = work / "lake", []
    for n in range(files):
        folder = lake / "2026" / "12" / f"{1 + n % 5:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"msg{n:06d}.txt"
        if n % 100 == 0:
            path.touch()
            continue
        body = "".join(sentences[(3 * n + k) % len(sentences)] + "\n"
                       for k in range(rng.randint(1, 3)))
        lines.append(body)
        if n % 100 < 10 or all_gz:
            with gzip.open(f"{path}.gz", "wt", encoding="utf-8") as out:
                out.write(body)
        else:
            path.write_text(body, encoding="utf-8")
    (work / "one.txt").write_text("".join(lines), encoding="utf-8")
    return {"files": str(lake / "**"), "one file": str(work / "one.txt")}


def run(checkout, pattern, output, tag_args):
    shutil.rmtree(output.parent, ignore_errors=True)
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, checkout, "tag", "--input", pattern, "--output",
         str(output), "--progress-every", "0", *tag_args],
        capture_output=True, text=True, cwd="/tmp",
        env=CHILD_ENV)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{checkout} {pattern}: exit {done.returncode}\n{done.stderr[-2000:]}")
    maxrss = int(done.stderr.rsplit("MAXRSS_KB", 1)[1].split()[0])
    read = next(line for line in done.stdout.splitlines() if line.startswith("records read"))
    runtime = next((line.split()[1] for line in done.stdout.splitlines()
                    if line.startswith("runtime ")), None)
    return {"runtime": runtime, "wall_s": wall, "cpu_s": after.ru_utime + after.ru_stime - before.ru_utime
            - before.ru_stime, "maxrss_mib": maxrss / 1024, "records": read.split()[-1]}


def parse_args(argv):
    """(options, tag arguments): argparse reads what comes before ``--``, the rest goes to tag."""
    tag_args = ["--runtime", "numpy"]
    if "--" in argv:
        argv, tag_args = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", type=int, help="how many small files to write")
    parser.add_argument("rounds", type=int)
    parser.add_argument("checkouts", nargs="+", type=pathlib.Path, metavar="CHECKOUT")
    parser.add_argument("--all-gz", action="store_true", help="gzip every non-empty file")
    args = parser.parse_args(argv)
    if args.files < 1 or args.rounds < 1:
        parser.error("files and rounds must be at least 1")
    for checkout in args.checkouts:
        if not (checkout / "beamtagger").is_dir():
            parser.error(f"{checkout} holds no beamtagger package")
    # The children run in /tmp: a relative checkout ('.') would name /tmp there, and the
    # beamtagger installed in this Python would be measured in its place.
    args.checkouts = [str(checkout.resolve()) for checkout in args.checkouts]
    return args, tag_args


def main(argv):
    args, tag_args = parse_args(argv)
    files, rounds, checkouts = args.files, args.rounds, args.checkouts
    bench_common.require_shared_data()
    work = pathlib.Path(tempfile.mkdtemp(prefix="small-files-"))
    try:   # removed after a failed run or Ctrl-C too: it holds FILES input files
        compare(files, rounds, checkouts, args.all_gz, tag_args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compare(files, rounds, checkouts, all_gz, tag_args, work):
    """Writes the inputs in ``work``, runs every checkout on each and prints the medians."""
    inputs = write_inputs(work, files, all_gz)
    cases = [(checkout, name) for checkout in checkouts for name in inputs]
    results = {case: [] for case in cases}
    for r in range(rounds):
        for checkout, name in cases if r % 2 == 0 else list(reversed(cases)):
            measured = run(checkout, inputs[name], work / "out" / "run", tag_args)
            results[(checkout, name)].append(measured)
            print(r, checkout, name, json.dumps(measured), flush=True)
    median = {case: {key: statistics.median(m[key] for m in runs)
                     for key in ("wall_s", "cpu_s", "maxrss_mib")}
              for case, runs in results.items()}
    print(f"\n{files:,} files, {rounds} rounds, tag {' '.join(tag_args)}; medians:")
    for checkout in checkouts:
        files_case, one = median[(checkout, "files")], median[(checkout, "one file")]
        print(f"{checkout}: files {files_case['wall_s']:.1f} s wall, {files_case['cpu_s']:.1f} s "
              f"CPU, {files_case['maxrss_mib']:.0f} MiB; one file {one['wall_s']:.1f} s, "
              f"{one['cpu_s']:.1f} s, {one['maxrss_mib']:.0f} MiB; files / one file: wall "
              f"{files_case['wall_s'] / one['wall_s']:.2f}x, CPU "
              f"{files_case['cpu_s'] / one['cpu_s']:.2f}x")
    if len(checkouts) == 2:
        for name in inputs:
            first, second = median[(checkouts[0], name)], median[(checkouts[1], name)]
            print(f"{name}: {checkouts[1]} / {checkouts[0]}: wall "
                  f"{second['wall_s'] / first['wall_s']:.2f}, CPU "
                  f"{second['cpu_s'] / first['cpu_s']:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
