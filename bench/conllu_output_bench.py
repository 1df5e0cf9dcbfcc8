"""What CoNLL-U output costs against two-column CoNLL, side by side in one run.

1. ``beamtagger tag --runtime numpy`` (bundled model and store) on EWT train as text (one file
   of space-joined sentences), ``--output-format conll`` and ``conllu`` alternating for
   ``--rounds`` rounds, each a fresh process; CPU seconds of the process (user + system, its
   children included).
2. The formatting alone: ``tagged_batches.conll_text`` and ``conllu_text`` over EWT train's
   sentences as tagged batches of about 6,000 tokens (the tag stage's average), alternating,
   CPU seconds of this process.

Both print the ratio conllu / conll of the medians, and of each round (its median).

  python bench/conllu_output_bench.py --work /tmp/conllu-bench --rounds 3
"""
import argparse
import os
import pathlib
import resource
import subprocess
import sys
import time

import numpy as np

import bench_common
import bench_models

FORMATS = ("conll", "conllu")


def tag_run_cpu(source, prefix, output_format):
    """CPU seconds of one ``beamtagger tag`` process writing ``output_format``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "beamtagger", "tag", "--input", str(source),
                    "--output", str(prefix), "--output-format", output_format, "--runtime",
                    "numpy", "--progress-every", "0", "--overwrite"],
                   check=True, capture_output=True, cwd=bench_common.REPO_ROOT,
                   env={**os.environ, **bench_common.CHILD_ENV,
                        "PYTHONPATH": str(bench_common.REPO_ROOT)})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def tagged_batches_of(sentences, tokens_per_batch=6000):
    from beamtagger.transforms import tagged_batches
    from beamtagger.transforms.records import TaggedRecord

    labels = ("NOUN", "VERB", "PUNCT", "DET")
    batches, records, count = [], [], 0
    for number, tokens in enumerate(sentences):
        starts = np.cumsum([0] + [len(t) + 1 for t in tokens[:-1]]).tolist()
        ends = [start + len(token) for start, token in zip(starts, tokens)]
        records.append(TaggedRecord(f"ewt:{number}", tuple(tokens), tuple(starts), tuple(ends),
                                    tuple(labels[i % 4] for i in range(len(tokens))),
                                    (0.5,) * len(tokens), f"ewt:{number}"))
        count += len(tokens)
        if count >= tokens_per_batch:
            batches.append(tagged_batches.tagged_batch_of_tagged_records(records, [])[0])
            records, count = [], 0
    return batches


def formatting_cpu(batches, output_format):
    from beamtagger.transforms import tagged_batches

    started = time.process_time()
    for batch in batches:
        if output_format == "conll":
            tagged_batches.conll_text(batch)
        else:
            tagged_batches.conllu_text(batch, "upos")
    return time.process_time() - started


def _summary(title, seconds, tokens):
    return bench_common.alternating_summary(f"{title}, {tokens:,} tokens", seconds, *FORMATS,
                                            "CPU s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, type=pathlib.Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-tag-runs", action="store_true")
    args = parser.parse_args()
    bench_common.require_shared_data()
    sentences = bench_models.ewt_sentences()
    tokens = sum(map(len, sentences))
    print(bench_common.machine())
    if not args.skip_tag_runs:
        pattern, _, _ = bench_models.write_text_files(sentences, args.work / "text", parts=1)
        seconds = {name: [] for name in FORMATS}
        for round_number in range(args.rounds):
            order = FORMATS if round_number % 2 == 0 else FORMATS[::-1]
            for name in order:
                seconds[name].append(tag_run_cpu(pattern, args.work / f"out-{name}" / "r",
                                                 name))
        print(_summary("beamtagger tag --runtime numpy, EWT train as text", seconds, tokens))
    batches = tagged_batches_of(sentences)
    seconds = {name: [] for name in FORMATS}
    for round_number in range(max(args.rounds, 5)):
        order = FORMATS if round_number % 2 == 0 else FORMATS[::-1]
        for name in order:
            seconds[name].append(formatting_cpu(batches, name))
    print(_summary(f"formatting alone, {len(batches)} tagged batches", seconds, tokens))


if __name__ == "__main__":
    main()
