"""What each non-model stage of ``beamtagger tag`` costs a token, called in turn in one process
without Beam: less noisy than case G's whole-process marginal (which subtracts two runs of
several seconds each) and split by stage.

On case G's inputs (``bench/throughput_bench.py --cases G --work DIR`` writes them and the thin
model): the records of one input file are read, tokenized in blocks of 1,024, cut into batches
of one length by BucketByLength's bounded-input DoFn (one bundle, as ``beamtagger tag`` runs
it on one worker), and each batch is built as Arrow, run through the thin model, decoded, made
a tagged batch and formatted as JSON Lines (batches joined to ``FORMAT_TOKENS`` tokens first,
as ``WriteResults`` does). A first pass warms the tokenizer's and the token table's memories
(case G's marginal leaves the first sight of each word out too); the second is timed, process
CPU per stage, the garbage collector set as ``beamtagger tag`` sets it. Also the fixed cost of a batch: the same stages over batches of at most
``--small-batch`` slots.

  python bench/stage_costs.py --work /tmp/tb --size x5

Two versions side by side (``--before A --after B``): each round runs this script once for
each checkout (in a child process with that checkout first on the path, alternating, the first
of a round changing every round), and the
table gives each stage's median over the rounds for both, with their ratio. Stage figures move
with the machine's load from minute to minute; alternating shows a change of a tenth of a
core-µs a token that two runs minutes apart do not.

  python bench/stage_costs.py --work /tmp/tb --size x5 --before /tmp/old --after . --rounds 5
"""
import argparse
import collections
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import bench_common


def stage_costs(work, size, max_batch_tokens, store_path=None, passes=1):
    """{stage: CPU seconds} over the timed passes (each stage's least), and the counts
    (tokens, batches)."""
    import pyarrow as pa
    from apache_beam.transforms.window import GlobalWindow
    from apache_beam.utils.windowed_value import WindowedValue

    from beamtagger.embeddings.default import open_store
    from beamtagger.model.numpy_inference import NumpyTaggerRunner
    from beamtagger.model.token_inputs import TokenInputs
    from beamtagger.tokenizer import Tokenizer
    from beamtagger.transforms.arrow_batches import build_record_batch, model_inputs
    from beamtagger.transforms.bucket import BUFFERED_BATCHES, _CollectBatchesFromBlocksFn
    from beamtagger.transforms.reading.file_lines import FileLines
    from beamtagger.transforms.reading.record_parsers import text_records
    from beamtagger.transforms.tag import _decode_flat_or_none
    from beamtagger.transforms.tagged_batches import json_lines_text, tagged_batch
    from beamtagger.transforms.token_blocks import SegmentBlock, tokenize_block
    from beamtagger.transforms.write_results import FORMAT_TOKENS

    path = pathlib.Path(work) / f"g-text-{size}" / "part-00.txt"
    runner = NumpyTaggerRunner.load(str(pathlib.Path(work) / "thin-model"))
    spec = runner.spec
    store = open_store(store_path)
    token_inputs = TokenInputs(store, spec.featurizer)
    tokenizer = Tokenizer()
    try:   # the tokens as numbers of a vocabulary, as beamtagger tag's tokenizer gives them
        from beamtagger.token_vocabulary import TokenVocabulary
        numbered_as_tag_does = (TokenVocabulary(),)
    except ImportError:   # a checkout from before the vocabulary (--before)
        numbered_as_tag_does = ()
    spent = collections.Counter()

    def timed(stage, function, *args):
        started = time.process_time()
        result = function(*args)
        spent[stage] += time.process_time() - started
        return result

    def collect_batches(segment_blocks):
        # BucketByLength's bounded-input DoFn, as the pipeline runs it on one bundle.
        collect = _CollectBatchesFromBlocksFn(max_batch_tokens,
                                              BUFFERED_BATCHES * max_batch_tokens)
        collect.start_bundle()
        batches = [batch for block in segment_blocks
                   for batch in collect.process(block, GlobalWindow())]
        batches += collect.finish_bundle()
        return [batch.value if isinstance(batch, WindowedValue) else batch
                for batch in batches]

    def one_pass():
        records = timed("read", lambda: list(text_records(
            FileLines(path, lambda: open(path, "rb")), str(path))))
        blocks = [timed("tokenize", tokenize_block, tokenizer, records[i:i + 1024],
                        *numbered_as_tag_does)
                  for i in range(0, len(records), 1024)]
        segment_blocks = [SegmentBlock(block, [r for r in range(len(block)) if block.length(r)],
                                       []) for block in blocks]
        batches = timed("bucket", collect_batches, segment_blocks)
        waiting, waiting_tokens = [], 0
        for batch_entries in batches:
            batch, _ = timed("build Arrow batch", build_record_batch, batch_entries, store,
                             spec.featurizer, "float32", spec.inputs_fingerprint, token_inputs)
            inputs = timed("model inputs", model_inputs, batch, spec.inputs_fingerprint)
            probs = timed("model (thin)", runner.predict, inputs)
            decoded = timed("decode", _decode_flat_or_none, spec, probs, inputs.lengths)
            waiting.append(timed("tagged batch", tagged_batch, batch, *decoded, spec.labels))
            waiting_tokens += int(inputs.lengths.sum())
            if waiting_tokens >= FORMAT_TOKENS or batch_entries is batches[-1]:
                joined = waiting[0] if len(waiting) == 1 else pa.concat_batches(waiting)
                timed("JSON Lines", json_lines_text, joined)
                waiting, waiting_tokens = [], 0
        return sum(len(block.tokens) for block in blocks), len(batches)

    with _garbage_collection_as_tag_runs():
        one_pass()
        least = None
        for _ in range(passes):
            spent.clear()
            tokens, batches = one_pass()
            least = spent.copy() if least is None else collections.Counter(
                {stage: min(seconds, least[stage]) for stage, seconds in spent.items()})
    return least, tokens, batches


def _garbage_collection_as_tag_runs():
    """The collector set as ``beamtagger tag`` sets it for its run (where the checkout does):
    with Python's defaults, collections walking the buffered batches and the memories took a
    third of the bucket stage's figure here."""
    import contextlib

    try:
        from beamtagger.pipeline.tag_process_settings import fewer_garbage_collections
    except ImportError:   # a checkout from before tag_process_settings: tag_command held it
        from beamtagger.pipeline import tag_command
        fewer_garbage_collections = getattr(tag_command, "_fewer_garbage_collections",
                                            contextlib.nullcontext)
    return fewer_garbage_collections()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, type=pathlib.Path,
                        help="throughput_bench.py's --work folder after case G ran")
    parser.add_argument("--size", default="x5", help="case G's input: x1 or x5")
    parser.add_argument("--max-batch-tokens", type=int, default=16384)
    parser.add_argument("--small-batch", type=int, default=256,
                        help="slots of the small batches that show a batch's fixed cost (0: not run)")
    parser.add_argument("--passes", type=int, default=1,
                        help="timed passes; each stage's least CPU over them is reported")
    parser.add_argument("--embeddings", help="the store (default: the default store; "
                        "throughput_bench.py --tiny uses WORK/store-subset)")
    parser.add_argument("--before", type=pathlib.Path,
                        help="with --after: compare two checkouts, alternating (see above)")
    parser.add_argument("--after", type=pathlib.Path)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of --before/--after")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)   # the child
    args = parser.parse_args(argv)
    if args.json:
        spent, tokens, batches = stage_costs(args.work, args.size, args.max_batch_tokens,
                                             args.embeddings, args.passes)
        print(json.dumps({"tokens": tokens, "batches": batches,
                          "us": {stage: seconds / tokens * 1e6
                                 for stage, seconds in spent.items()}}))
        return 0
    bench_common.require_case_g_work(parser, args.work, (args.size,))
    for tree in filter(None, (args.before, args.after)):
        if not (tree / "beamtagger").is_dir():
            parser.error(f"{tree} holds no beamtagger package")
    print(f"# stage costs, {bench_common.now()}, {bench_common.machine()}")
    print(f"# command: python bench/stage_costs.py {' '.join(sys.argv[1:])}")
    if args.before or args.after:
        return side_by_side(args)
    for budget in filter(None, (args.max_batch_tokens, args.small_batch)):
        spent, tokens, batches = stage_costs(args.work, args.size, budget, args.embeddings,
                                              args.passes)
        print(f"\n{tokens:,} tokens in {batches:,} batches of at most {budget:,} slots "
              f"({tokens / batches:,.0f} tokens a batch)\n")
        print("| stage | core-µs a token | µs a batch |\n|---|---|---|")
        for stage, seconds in spent.most_common():
            print(f"| {stage} | {seconds / tokens * 1e6:.2f} | {seconds / batches * 1e6:,.0f} |")
        non_model = sum(seconds for stage, seconds in spent.items() if stage != "model (thin)")
        print(f"| **all but the model** | **{non_model / tokens * 1e6:.2f}** | "
              f"{non_model / batches * 1e6:,.0f} |")
    return 0


def side_by_side(args):
    """Each round, this script once per checkout in a child process; medians per stage."""
    if not (args.before and args.after):
        raise SystemExit("--before and --after go together")
    trees = [args.before.resolve(), args.after.resolve()]
    child = [sys.executable, str(pathlib.Path(__file__).resolve()), "--json", "--work",
             str(args.work.resolve()), "--size", args.size, "--max-batch-tokens",
             str(args.max_batch_tokens), "--passes", str(args.passes)]
    if args.embeddings:
        child += ["--embeddings", args.embeddings]
    runs = {tree: [] for tree in trees}
    with tempfile.TemporaryDirectory() as elsewhere:   # no beamtagger/ in the child's cwd
        for round_number in range(args.rounds):
            # Which goes first changes every round: the second run of a pair came out a few
            # percent slower on stages neither version changed.
            for tree in (trees if round_number % 2 == 0 else trees[::-1]):
                env = {**os.environ, **bench_common.CHILD_ENV, "PYTHONPATH": str(tree)}
                done = subprocess.run(child, capture_output=True, text=True, env=env,
                                      cwd=elsewhere)
                if done.returncode:
                    raise RuntimeError(f"{tree}: {done.stderr[-2000:]}")
                runs[tree].append(json.loads(done.stdout.strip().splitlines()[-1]))
    first = runs[trees[0]][0]
    print(f"\n{first['tokens']:,} tokens in {first['batches']:,} batches (before), "
          f"{runs[trees[1]][0]['batches']:,} (after); medians of {args.rounds} rounds, "
          f"each the least of {args.passes} pass(es); core-µs a token\n")
    print(f"| stage | before ({trees[0]}) | after ({trees[1]}) | after / before |")
    print("|---|---|---|---|")
    stages = list(dict.fromkeys(stage for tree in trees for run in runs[tree]
                                for stage in run["us"]))

    def median(tree, pick):
        return statistics.median(pick(run["us"]) for run in runs[tree])

    rows = [(stage, lambda us, stage=stage: us.get(stage, 0.0)) for stage in stages]
    rows.append(("**all but the model**",
                 lambda us: sum(v for stage, v in us.items() if stage != "model (thin)")))
    for name, pick in rows:
        before, after = median(trees[0], pick), median(trees[1], pick)
        ratio = f"{after / before:.2f}" if before else "-"
        print(f"| {name} | {before:.3f} | {after:.3f} | {ratio} |")
    return 0

if __name__ == "__main__":
    sys.exit(main())
