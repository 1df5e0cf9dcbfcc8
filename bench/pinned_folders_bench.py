"""What pinning ``--model`` and ``--embeddings`` costs a local ``beamtagger tag`` run, for two
checkouts side by side in one run: ``launch_files._pin`` (list the folder, make the hidden
folder of hard links, list it again) and its removal when the run ends, on the bundled model
and on a store (the 80 MB default GloVe 6B 50d store, say).

Each round runs each checkout in a fresh process (its folder first on ``sys.path``), the
checkouts alternating so a busy spell of the machine hits both; a process pins each folder
PINS times and reports the median microseconds of one pin and its removal. Printed: each
round's medians, and the after's over the before's, round by round and their median.

  python bench/pinned_folders_bench.py --before /tmp/wt-base --after . --store STORE
"""
import argparse
import contextlib
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

_CHILD = """
import contextlib, json, statistics, sys, time
sys.path.insert(0, {checkout!r})
from beamtagger.pipeline import launch_files
import beamtagger
assert beamtagger.__file__.startswith({checkout!r}), beamtagger.__file__
medians = {{}}
for what, field, path in {folders!r}:
    times = []
    for _ in range({pins}):
        start = time.perf_counter()
        with contextlib.ExitStack() as kept:
            assert launch_files._pin(what, field, path, kept) is not None
        times.append(time.perf_counter() - start)
    medians[field] = statistics.median(times) * 1e6
print(json.dumps(medians))
"""


def _medians(checkout, folders, pins):
    code = _CHILD.format(checkout=str(pathlib.Path(checkout).resolve()), folders=folders,
                         pins=pins)
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": ""})
    return json.loads(done.stdout.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the checkout to compare with")
    parser.add_argument("--after", default=".", help="this checkout (default: .)")
    parser.add_argument("--model", help="a model folder (default: the after's bundled model)")
    parser.add_argument("--store", required=True, help="a store folder (the default store)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--pins", type=int, default=200)
    args = parser.parse_args()
    model = args.model or str(pathlib.Path(args.after).resolve() / "beamtagger" / "data"
                              / "upos-glove-6b-50d")
    folders = [("model", "model_dir", model), ("embedding store", "store_path", args.store)]
    ratios = {"model_dir": [], "store_path": []}
    for number in range(args.rounds):
        order = ("before", "after") if number % 2 == 0 else ("after", "before")
        got = {which: _medians(getattr(args, which), folders, args.pins) for which in order}
        for field in ratios:
            ratios[field].append(got["after"][field] / got["before"][field])
        print(f"round {number + 1}: " + "; ".join(
            f"{field} before {got['before'][field]:.0f} us, after {got['after'][field]:.0f} us"
            for field in ratios), flush=True)
    for field, values in ratios.items():
        print(f"{field}: after/before median {statistics.median(values):.2f} "
              f"({min(values):.2f}-{max(values):.2f}) over {len(values)} rounds")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        started = time.time()
        main()
        print(f"{time.time() - started:.0f} s")
