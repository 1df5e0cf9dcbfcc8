"""Case D of throughput_bench.py for two (source tree, model) pairs, alternately, in one run.

For changes whose cost is the question (issue 10: the character CNN may cost at most 15% of
case D's throughput with the bundled model): each round runs both pairs, in alternating order, as
fresh processes on the same EWT-train text, and the table gives each round's ratio.

    git worktree add --detach /tmp/before 08e38ee
    python bench/side_by_side_d.py --before /tmp/before --rounds 3

``--before`` is a checkout of the earlier code; each side tags with its own bundled model
(beamtagger/data/upos-glove-6b-50d of its tree) unless ``--before-model``/``--after-model`` say
otherwise.
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

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_common  # noqa: E402
import bench_models  # noqa: E402

BUNDLED = "beamtagger/data/upos-glove-6b-50d"


def run_case_d(tree, model, pattern, store, output):
    argv = [sys.executable, str(pathlib.Path(tree) / "bench" / "throughput_bench.py"), "--child",
            "--case", "D", "--input", pattern, "--output", str(output), "--store", store,
            "--model", str(model), "--keras-model", "unused", "--batch-size", "64",
            "--token-budget", "16384"]
    env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if "{" in line]
    if done.returncode or not lines:
        raise RuntimeError(f"case D in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][lines[-1].index("{"):])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="checkout of the earlier code")
    parser.add_argument("--after", default=str(HERE.parent), help="default: this checkout")
    parser.add_argument("--before-model", help="default: the bundled model of --before")
    parser.add_argument("--after-model", help="default: the bundled model of --after")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", help="folder for the input and outputs (default: temp)")
    args = parser.parse_args(argv)
    for checkout in (args.before, args.after):
        if not (pathlib.Path(checkout) / "bench" / "throughput_bench.py").is_file():
            parser.error(f"{checkout} holds no bench/throughput_bench.py: give a checkout")
    bench_common.require_shared_data()

    from beamtagger.embeddings.default import default_store_path

    # Each side runs in its own checkout's folder: paths are made absolute first, or a relative
    # one would be read from there.
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="beamtagger-d-")).resolve()
    pattern, _, _ = bench_models.write_text_files(bench_models.ewt_sentences(), work / "text")
    store = str(default_store_path())
    sides = {name: (pathlib.Path(tree).resolve(),
                    pathlib.Path(model or pathlib.Path(tree) / BUNDLED).resolve())
             for name, tree, model in (("before", args.before, args.before_model),
                                       ("after", args.after, args.after_model))}
    rows = []
    for r in range(args.rounds):
        order = ("before", "after") if r % 2 == 0 else ("after", "before")
        result = {}
        for name in order:
            tree, model = sides[name]
            result[name] = run_case_d(tree, model, pattern, store, work / f"out-{name}-{r}" / "t")
        rows.append(result)
        print(json.dumps({name: {k: result[name][k] for k in ("tokens", "seconds")}
                          for name in result}), flush=True)
    print(f"\nCase D, {rows[0]['after']['tokens']:,} tokens (EWT train as text), "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| round | before: s (tokens/s) | after: s (tokens/s) | after / before throughput |")
    print("|---|---|---|---|")
    ratios = []
    for r, result in enumerate(rows, start=1):
        b, a = result["before"], result["after"]
        ratio = b["seconds"] / a["seconds"]
        ratios.append(ratio)
        print(f"| {r} | {b['seconds']:.1f} ({b['tokens'] / b['seconds']:,.0f}) | "
              f"{a['seconds']:.1f} ({a['tokens'] / a['seconds']:,.0f}) | {ratio:.2f} |")
    print(f"\nmedian after / before: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
