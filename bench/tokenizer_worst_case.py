"""The tokenizer's cost on hostile text: CPU seconds to cut each shape at growing sizes, and how
much the cost grows each time the text grows 4x (linear: about 4x; quadratic: about 16x).

The shapes are those the tokenizer audit found quadratic before the fixes (a hashtag followed by
a mark, long runs of marks in one chunk) and a few that never were (text without spaces, many
short chunks). A fresh tokenizer cuts each text (nothing remembered), best of --repeat.

  python bench/tokenizer_worst_case.py                    # sizes 1,000 to 256,000 characters
  python bench/tokenizer_worst_case.py --sizes 1000 4000  # e.g. for code before the fixes
  PYTHONPATH=/path/to/other/checkout python bench/tokenizer_worst_case.py   # another version

Timing lives here, not in the unit tests (which check what each fix does, not how fast).
"""
import argparse
import json
import sys
import time

SHAPES = {
    "hashtag then a mark": lambda n: "#" + "a" * n + "!",
    "commas": lambda n: "," * n,
    "a word then closing brackets": lambda n: "a" + ")" * n,
    "dollars then a digit": lambda n: "$" * n + "1",
    "letters then commas": lambda n: "a" * (n // 2) + "," * (n // 2),
    "quotes around a letter": lambda n: '"' * (n // 2) + "a" + '"' * (n // 2),
    "flags": lambda n: "\U0001F1FA" * n,
    "letters, no spaces": lambda n: "a" * n,
    "short words": lambda n: "Hi, you! " * (n // 9),
    # The costliest text left: distinct chunks just short enough to be cut, all marks.
    "distinct 300-character mark chunks": lambda n: " ".join(
        "%x" % i + "," * (299 - len("%x" % i)) for i in range(max(1, n // 300))),
}


def seconds_to_cut(text, repeat):
    from beamtagger.tokenizer import Tokenizer

    least = float("inf")
    for _ in range(repeat):
        tokenizer = Tokenizer()
        started = time.process_time()
        tokenizer.tokenize(text)
        least = min(least, time.process_time() - started)
    return least


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 4_000, 16_000, 64_000,
                                                                  256_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=sorted(SHAPES))
    args = parser.parse_args(argv)
    import beamtagger
    report = {"beamtagger": beamtagger.__file__, "sizes": args.sizes, "shapes": {}}
    print(f"{'shape':32} " + " ".join(f"{size:>11,}" for size in args.sizes) + "   growth a 4x",
          file=sys.stderr)
    for name in args.shapes:
        seconds = [seconds_to_cut(SHAPES[name](size), args.repeat) for size in args.sizes]
        growth = [later / max(earlier, 1e-6) * (4 * earlier_size / later_size)
                  for earlier, later, earlier_size, later_size in zip(
                      seconds, seconds[1:], args.sizes, args.sizes[1:])]
        report["shapes"][name] = {"cpu_seconds": seconds, "growth_per_4x": growth}
        print(f"{name:32} " + " ".join(f"{s:>10.4f}s" for s in seconds) + "   "
              + " ".join(f"{g:.1f}x" for g in growth), file=sys.stderr)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
