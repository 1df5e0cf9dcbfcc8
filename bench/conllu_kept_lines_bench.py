"""What keeping CoNLL-U input lines costs (``ReadRecords(keep_conllu_lines=True)``, which
``beamtagger tag --input-format conllu --output-format conllu`` asks for), side by side in one
run on EWT train (one CoNLL-U file), with and without keeping alternating, each a fresh process:

1. reading alone: ``record_parsers.read_path_records`` over the file, every record held in a
   list (a worker holding a whole bundle of them); CPU seconds, and the RSS the records add
   (after - before, MiB);
2. ``beamtagger tag --runtime numpy --input-format conllu --output-format conllu`` (bundled
   model and store): with keeping, the sentences written back; without (the pipeline's
   ReadRecords patched to keep nothing), beamtagger's own CoNLL-U. CPU seconds (user + system)
   and peak RSS of the process.

Each prints the ratio kept / not kept of the medians and of each round.

  python bench/conllu_kept_lines_bench.py --work /tmp/kept-bench --rounds 3
"""
import argparse
import functools
import pathlib
import sys
import time

import bench_common

MODES = ("not kept", "kept")


def read_child(keep):
    import psutil

    from beamtagger.transforms.reading.record_parsers import read_path_records

    process = psutil.Process()
    before = process.memory_info().rss
    started = time.process_time()
    records = list(read_path_records(str(bench_common.EWT_TRAIN), "conllu",
                                     keep_conllu_lines=keep))
    cpu = time.process_time() - started
    added = process.memory_info().rss - before
    bench_common.child_result(records=len(records), tokens=sum(len(r.tokens) for r in records),
                              read_cpu_s=round(cpu, 3),
                              added_rss_mib=round(added / bench_common.MIB, 1))


def tag_child(keep, prefix):
    from beamtagger.pipeline import cli, tag_pipeline

    if not keep:
        tag_pipeline.ReadRecords = functools.partial(_keeping_nothing, tag_pipeline.ReadRecords)
    code = cli.main(["tag", "--input", str(bench_common.EWT_TRAIN), "--input-format", "conllu",
                     "--output", prefix, "--output-format", "conllu", "--runtime", "numpy",
                     "--progress-every", "0", "--overwrite"])
    assert code == 0
    bench_common.child_result()


def _keeping_nothing(read_records, *args, **kwargs):
    kwargs["keep_conllu_lines"] = False
    return read_records(*args, **kwargs)


def _summary(title, values, unit):
    return bench_common.alternating_summary(title, values, *MODES, unit)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=pathlib.Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-tag-runs", action="store_true")
    parser.add_argument("--child", choices=("read", "tag"), help=argparse.SUPPRESS)
    parser.add_argument("--keep", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "read":
        return read_child(bool(args.keep))
    if args.child == "tag":
        return tag_child(bool(args.keep), args.prefix)
    if args.work is None:
        parser.error("--work is required")
    bench_common.require_shared_data()
    print(bench_common.machine())
    script = pathlib.Path(__file__).resolve()
    read = {"cpu": {m: [] for m in MODES}, "rss": {m: [] for m in MODES}}
    tag = {"cpu": {m: [] for m in MODES}, "rss": {m: [] for m in MODES}}
    tokens = None
    for round_number in range(args.rounds):
        order = MODES if round_number % 2 == 0 else MODES[::-1]
        for mode in order:
            keep = str(MODES.index(mode))
            result = bench_common.run_child([script, "--child", "read", "--keep", keep],
                                            label=f"read {mode}")
            tokens = result["tokens"]
            read["cpu"][mode].append(result["read_cpu_s"])
            read["rss"][mode].append(result["added_rss_mib"])
            if args.skip_tag_runs:
                continue
            result = bench_common.run_child(
                [script, "--child", "tag", "--keep", keep, "--prefix",
                 args.work / f"out-{keep}" / "r"], label=f"tag {mode}")
            tag["cpu"][mode].append(result["cpu_seconds"])
            tag["rss"][mode].append(result["child_maxrss_mib"])
    print(f"EWT train: {tokens:,} tokens")
    print(_summary("reading alone, CPU", read["cpu"], "s"))
    print(_summary("reading alone, RSS the records add", read["rss"], "MiB"))
    if not args.skip_tag_runs:
        print(_summary("beamtagger tag conllu -> conllu, CPU", tag["cpu"], "s"))
        print(_summary("beamtagger tag conllu -> conllu, peak RSS", tag["rss"], "MiB"))


if __name__ == "__main__":
    sys.exit(main())
