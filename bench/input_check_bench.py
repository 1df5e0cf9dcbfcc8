"""What ``beamtagger tag``'s checks of ``--input`` before launch cost (``tag_inputs.check_input``:
the folder permission checks, Beam's matching, the files' checks) for two checkouts side by
side in one run, on a local tree of FOLDERS folders of FILES_PER_FOLDER small text files each
(100,000 files in 1,000 folders by default), for a ``**`` pattern and a one-level wildcard.

Each round runs each checkout in a fresh process (its folder first on ``sys.path``), the
checkouts alternating so a busy spell of the machine hits both; a process runs the check
CHECKS times per pattern and reports the median seconds, and those of the folder check alone
(``folder_access.refusal``) where the checkout has it. Printed: each round's medians, and the
after's over the before's, round by round and their median.

``--encoding`` writes the files in that encoding and tags them so (the first files' heads are
read in every encoding since the check of CR line ends; only UTF-8 and the encodings read line
by line were read before); give each encoding its own ``--tree``.

  python bench/input_check_bench.py --before /tmp/revperms-before --after . --tree /tmp/tree
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

_CHILD = """
import argparse, json, statistics, sys, time
sys.path.insert(0, {checkout!r})
import beamtagger
assert beamtagger.__file__.startswith({checkout!r}), beamtagger.__file__
from beamtagger.pipeline import tag_command, tag_inputs
medians = {{}}
for pattern in {patterns!r}:
    parser = argparse.ArgumentParser()
    tag_command.add_arguments(parser)
    job = tag_command.build_job(parser.parse_args(["--input", pattern, "--output", "/tmp/x",
                                                   "--encoding", {encoding!r}]))
    times = []
    for _ in range({checks}):
        start = time.perf_counter()
        assert len(tag_inputs.check_input(job)) == {expected}
        times.append(time.perf_counter() - start)
    medians[pattern] = statistics.median(times)
    # The folder check alone, in the checkouts that have it: the walk that ** adds.
    try:
        from beamtagger.pipeline import folder_access
    except ImportError:
        continue
    times = []
    for _ in range({checks}):
        start = time.perf_counter()
        assert folder_access.refusal(pattern) is None
        times.append(time.perf_counter() - start)
    medians["folder check " + pattern] = statistics.median(times)
print(json.dumps(medians))
"""


def make_tree(tree, folders, files_per_folder, encoding):
    if (tree / "done").exists():
        return
    for folder in range(folders):
        path = tree / f"d{folder:04d}"
        path.mkdir(parents=True, exist_ok=True)
        for number in range(files_per_folder):
            (path / f"f{number:03d}.txt").write_text("Hello there .\n", encoding=encoding)
    (tree / "done").write_text("")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--tree", required=True, type=pathlib.Path)
    parser.add_argument("--folders", type=int, default=1000)
    parser.add_argument("--files-per-folder", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checks", type=int, default=3)
    parser.add_argument("--encoding", default="utf-8")
    args = parser.parse_args()
    make_tree(args.tree, args.folders, args.files_per_folder, args.encoding)
    patterns = [str(args.tree / "**" / "*.txt"), str(args.tree / "*" / "*.txt")]
    ratios = {pattern: [] for pattern in patterns}
    for round_ in range(args.rounds):
        seen = {}
        for name in ("before", "after"):
            checkout = os.path.abspath(getattr(args, name))
            child = _CHILD.format(checkout=checkout, patterns=patterns, checks=args.checks,
                                  encoding=args.encoding,
                                  expected=args.folders * args.files_per_folder)
            done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                                  check=True, env={**os.environ, "PYTHONPATH": checkout})
            seen[name] = json.loads(done.stdout.strip().splitlines()[-1])
        for pattern in patterns:
            before, after = seen["before"][pattern], seen["after"][pattern]
            ratios[pattern].append(after / before)
            print(f"round {round_ + 1} {pattern}: before {before:.3f} s, after {after:.3f} s, "
                  f"after/before {after / before:.2f}; the folder check alone "
                  f"{seen['after'].get('folder check ' + pattern, float('nan')):.3f} s")
    for pattern in patterns:
        print(f"{pattern}: median after/before {statistics.median(ratios[pattern]):.2f}")


if __name__ == "__main__":
    main()
