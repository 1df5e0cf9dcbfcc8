"""Whole `beamtagger tag --runtime numpy` CPU (the child's user + system time) on a UTF-8
JSON Lines corpus (EWT train, one record a sentence, 4 files) for two checkouts, fresh
processes, alternating rounds (the order reversed every other round).

  python bench/utf8_tag_side_by_side.py BEFORE_CHECKOUT AFTER_CHECKOUT ROUNDS

A checkout is a folder holding a beamtagger package (a git worktree, or `git archive` of a
commit); each child imports that one, not the beamtagger on PYTHONPATH.
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

BENCH = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]
import bench_common  # noqa: E402
import bench_models  # noqa: E402

CHILD = r'''
import sys
sys.path.insert(0, sys.argv[1])
from beamtagger.pipeline import cli
sys.exit(cli.main(sys.argv[2:]))
'''


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=pathlib.Path, help="the checkout before the change")
    parser.add_argument("after", type=pathlib.Path, help="the checkout after it")
    parser.add_argument("rounds", type=int)
    args = parser.parse_args(argv)
    for checkout in (args.before, args.after):
        if not (checkout / "beamtagger").is_dir():
            parser.error(f"{checkout} holds no beamtagger package")
    if args.rounds < 1:
        parser.error("rounds must be at least 1")
    return args


def write_corpus(corpus, parts=4):
    sentences = bench_models.ewt_sentences()
    size = -(-len(sentences) // parts)
    for part in range(parts):
        with open(corpus / f"part-{part}.jsonl", "w", encoding="utf-8") as out:
            for n, tokens in enumerate(sentences[part * size:(part + 1) * size]):
                out.write(json.dumps({"id": f"p{part}-{n}", "text": " ".join(tokens)},
                                     ensure_ascii=False) + "\n")


def main(argv=None):
    args = parse_args(argv)
    bench_common.require_shared_data()
    work = pathlib.Path(tempfile.mkdtemp(prefix="utf8-tag-"))
    try:   # removed after a failed run or Ctrl-C too: it holds EWT train as text
        compare(args.before, args.after, args.rounds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compare(before_checkout, after_checkout, rounds, work):
    """Writes the corpus in ``work``, runs both checkouts ``rounds`` times and prints the
    CPU seconds of each run and the ratios."""
    corpus = work / "corpus"
    corpus.mkdir()
    write_corpus(corpus)
    checkouts = {"before": str(before_checkout.resolve()),
                 "after": str(after_checkout.resolve())}
    cpu = {name: [] for name in checkouts}
    wall = {name: [] for name in checkouts}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
    env.pop("PYTHONPATH", None)
    for r in range(rounds):
        order = list(checkouts.items()) if r % 2 == 0 else list(reversed(checkouts.items()))
        for name, checkout in order:
            out = work / f"out-{name}"
            shutil.rmtree(out, ignore_errors=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", CHILD, checkout, "tag", "--input",
                 str(corpus / "part-*.jsonl"), "--output", str(out / "tagged"),
                 "--output-format", "jsonl", "--runtime", "numpy", "--progress-every", "0"],
                capture_output=True, text=True, env=env, cwd="/tmp")
            if done.returncode != 0:
                sys.exit(f"{name} ({checkout}): tag exited {done.returncode}\n"
                         f"{done.stderr[-2000:]}")
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            print(name, r, round(cpu[name][-1], 2), round(wall[name][-1], 2), flush=True)
    ratios = [a / b for a, b in zip(cpu["after"], cpu["before"])]
    print(json.dumps({"cpu": cpu, "wall": wall,
                      "ratio_of_medians": statistics.median(cpu["after"])
                      / statistics.median(cpu["before"]),
                      "round_ratios": ratios}))


if __name__ == "__main__":
    main()
