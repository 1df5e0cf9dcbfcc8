"""``beamtagger tag --input - --output -``: start-up of a pipe, and the memory of putting the
results in input order.

startup: wall time of ``echo SENTENCE | beamtagger tag --input - --output -`` against
``python -c "import tensorflow"`` and ``beamtagger tag --input f.txt --output PREFIX`` (the same
sentence in a file), bundled model and default store, the CLI's defaults; fresh processes,
alternately, ``--repeat`` rounds (medians and their ratios).

order: peak RSS and seconds of ``ordered_stdout.write_in_input_order`` over ``--records`` keyed
results (JSON Lines records of 12 tokens, about 700 bytes each), shuffled over 8 shard files as
a pipeline leaves them, written to /dev/null, in a child process; its RSS after the imports and
before the index is built is the baseline.

  python bench/stdio_bench.py                      # both; about 2 minutes on 2 cores
  python bench/stdio_bench.py --tiny               # CI: the script works
"""
import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

SENTENCE = "The cat sat on the mat."


def _timed(argv, stdin=None, cwd=None):
    start = time.monotonic()
    done = subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return time.monotonic() - start, done.stdout


def startup(repeat, work):
    with open(os.path.join(work, "f.txt"), "w") as handle:
        handle.write(SENTENCE + "\n")
    cli = [sys.executable, "-m", "beamtagger", "tag", "--progress-every", "0"]
    cases = {
        "import tensorflow": ([sys.executable, "-c", "import tensorflow"], None),
        "pipe (--input - --output -)": ([*cli, "--input", "-", "--output", "-"],
                                        (SENTENCE + "\n").encode()),
        "files (--input f.txt --output p)": ([*cli, "--input", "f.txt", "--output", "p",
                                              "--overwrite"], None),
    }
    for argv, stdin in cases.values():   # warm the bytecode and page caches, untimed
        _timed(argv, stdin, work)
    seconds = {name: [] for name in cases}
    for _ in range(repeat):
        for name, (argv, stdin) in cases.items():
            seconds[name].append(_timed(argv, stdin, work)[0])
    base = statistics.median(seconds["import tensorflow"])
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"{name:36s} median {median:5.2f} s  ({median / base:.2f}x import tensorflow; "
              f"runs {', '.join(f'{v:.2f}' for v in values)})", flush=True)
    # A round's cases ran within seconds of each other: their ratio suffers least from load.
    pipe, files = (seconds[name] for name in list(cases)[1:])
    ratios = sorted(p / f for p, f in zip(pipe, files))
    print(f"pipe / files, per round: median {statistics.median(ratios):.2f} "
          f"(range {ratios[0]:.2f}-{ratios[-1]:.2f})")


def _write_keyed(prefix, records):
    from beamtagger.pipeline.ordered_stdout import keyed_line

    rng = random.Random(0)
    order = list(range(1, records + 1))
    rng.shuffle(order)
    tokens = ",".join('{"text":"word","start":0,"end":4,"label":"NOUN","score":0.9876}'
                      for _ in range(12))
    shards = [open(f"{prefix}-{shard:05d}-of-00008.keyed", "wb") for shard in range(8)]
    for index, line in enumerate(order):
        result = f'{{"id":"stdin:{line}","tokens":[{tokens}]}}'
        shards[index % 8].write(keyed_line(f"/tmp/x/stdin:{line}", result) + b"\n")
    for shard in shards:
        shard.close()


def _order_child(prefix):
    from beamtagger.pipeline import ordered_stdout

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.monotonic()
    with open(os.devnull, "wb") as sink:
        count = ordered_stdout.write_in_input_order(prefix, sink)
    seconds = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{count:,} records in input order: {seconds:.1f} s, peak RSS {peak:.0f} MiB "
          f"({baseline:.0f} MiB before the index: {(peak - baseline) * 2**20 / count:.0f} "
          "bytes a record)")


def order(records, work):
    prefix = os.path.join(work, "results")
    _write_keyed(prefix, records)
    size = sum(os.path.getsize(os.path.join(work, name)) for name in os.listdir(work)
               if name.endswith(".keyed"))
    print(f"keyed results: {size / 2**20:.0f} MiB in 8 shards", flush=True)
    subprocess.run([sys.executable, __file__, "--order-child", prefix], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--case", choices=("startup", "order", "both"), default="both")
    parser.add_argument("--tiny", action="store_true", help="one round, 1,000 records")
    parser.add_argument("--order-child", metavar="PREFIX", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.order_child:
        return _order_child(args.order_child)
    if args.tiny:
        args.repeat, args.records = 1, 1000
    with tempfile.TemporaryDirectory() as work:
        if args.case in ("order", "both"):
            order(args.records, work)
        if args.case in ("startup", "both"):
            startup(args.repeat, work)


if __name__ == "__main__":
    main()
