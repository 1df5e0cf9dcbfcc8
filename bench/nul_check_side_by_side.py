"""What the NUL check of CoNLL and CoNLL-U output (``transforms/nul_lines``) costs text without
a NUL, side by side with a checkout before it, in one run.

Each round runs one child process a checkout (the order alternating every round), which
formats EWT train's sentences (tagged as NOUN, VERB, PUNCT, DET in turn) four ways, each
``REPEATS`` times, and reports the CPU seconds of each: the tagged batches' columns (``conll_text``, ``conllu_text`` in UPOS,
batches of about 6,000 tokens, the tag stage's average), and the per-record formatters
(``to_conll_block``, ``conllu_block``) over every record. Building the batches and records is
not timed. Prints each case's seconds a round and after / before of the medians and round by
round.

  git archive fe9c24d beamtagger | tar -x -C /tmp/before
  python bench/nul_check_side_by_side.py --before /tmp/before --rounds 5
"""
import argparse
import json
import os
import pathlib
import sys
import time

import bench_common
import bench_models
from conllu_output_bench import tagged_batches_of

CASES = ("conll_text", "conllu_text", "to_conll_block", "conllu_block")
# Each case formats all of EWT train this many times a round: once is 0.04 s for conll_text.
REPEATS = 10


def child():
    """The CPU seconds of each case in this process (its beamtagger from PYTHONPATH)."""
    import beamtagger
    from beamtagger.transforms import tagged_batches
    from beamtagger.transforms.conllu_blocks import conllu_block
    from beamtagger.transforms.write_results import to_conll_block

    sentences = bench_models.ewt_sentences()
    batches = tagged_batches_of(sentences)
    records = [record for batch in batches for record in tagged_batches.tagged_records(batch)]
    calls = {"conll_text": lambda: [tagged_batches.conll_text(b) for b in batches],
             "conllu_text": lambda: [tagged_batches.conllu_text(b, "upos") for b in batches],
             "to_conll_block": lambda: [to_conll_block(r) for r in records],
             "conllu_block": lambda: [conllu_block(r, "upos") for r in records]}
    seconds = {}
    for name, call in calls.items():
        started = time.process_time()
        for _ in range(REPEATS):
            call()
        seconds[name] = time.process_time() - started
    print(bench_common.RESULT_MARKER + json.dumps(
        {"package": beamtagger.__file__, "tokens": sum(map(len, sentences)),
         "records": len(records), "seconds": seconds}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=pathlib.Path,
                        help="a folder holding the beamtagger package to compare against")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    if not (args.before / "beamtagger" / "__init__.py").is_file():
        parser.error(f"--before {args.before} holds no beamtagger package")
    bench_common.require_shared_data()
    print(bench_common.machine())
    checkouts = {"before": args.before.resolve(), "after": bench_common.REPO_ROOT}
    seconds = {case: {"before": [], "after": []} for case in CASES}
    tokens = records = None
    for round_number in range(args.rounds):
        order = list(checkouts) if round_number % 2 == 0 else list(checkouts)[::-1]
        for name in order:
            result = bench_common.run_child(
                [pathlib.Path(__file__).resolve(), "--before", args.before, "--child"],
                env={"PYTHONPATH": os.pathsep.join(
                    [str(checkouts[name]), str(pathlib.Path(__file__).resolve().parent)])},
                label=name)
            assert result["package"].startswith(str(checkouts[name])), result["package"]
            tokens, records = result["tokens"], result["records"]
            for case in CASES:
                seconds[case][name].append(result["seconds"][case])
    for case in CASES:
        print(bench_common.alternating_summary(
            f"{case}, EWT train: {tokens:,} tokens, {records:,} records", seconds[case],
            "before", "after", "CPU s"))


if __name__ == "__main__":
    sys.exit(main())
