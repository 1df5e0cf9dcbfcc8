"""One large TSV or CSV read whole by one worker (before: split_bytes over the file's size) and
in byte ranges (``tsv_ranges``, ``csv_ranges``, the 64 MiB default), side by side, alternating
round by round, each a fresh process running ``ReadRecords`` and a count on Beam's DirectRunner
with ``--direct_num_workers 2 --direct_running_mode=multi_processing``: whole-run wall seconds and
CPU seconds (user + system of the process and its workers). Reading only, not tagging: the
tagger's time is the same either way, and the reading is what ranges spread.

Records: EWT train's sentence texts, repeated, each copy numbered, with an id column (CSV:
written by Python's csv, quoting the texts that hold a comma or a quote, and a language
column). For CSV each round also times the scan that finds the ranges' row starts
(``csv_ranges.row_ranges``, run alone in this process): its wall and CPU seconds.

  python bench/tsv_ranges_bench.py --work /tmp/tsv-bench --megabytes 200 --rounds 2
  python bench/tsv_ranges_bench.py --work /tmp/csv-bench --megabytes 160 --format csv
"""
import argparse
import csv
import os
import pathlib
import resource
import subprocess
import sys
import time

from parquet_input_bench import ewt_texts

MODES = ("whole", "ranges")


def write_tsv(work, megabytes):
    path = work / f"ewt-{megabytes}mb.tsv"
    if path.exists():
        return path
    texts = [text.replace("\t", " ") for text in ewt_texts()]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("id\ttext\n")
        copy = 0
        while handle.tell() < megabytes << 20:
            handle.writelines(f"d{copy}-{n}\t{text} ({copy})\n" for n, text in enumerate(texts))
            copy += 1
    return path


def write_csv(work, megabytes):
    path = work / f"ewt-{megabytes}mb.csv"
    if path.exists():
        return path
    texts = ewt_texts()
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "lang"])
        copy = 0
        while handle.tell() < megabytes << 20:
            writer.writerows([f"d{copy}-{n}", f"{text} ({copy})", "en"]
                             for n, text in enumerate(texts))
            copy += 1
    return path


def time_scan(path):
    """Wall and CPU seconds of finding the row starts of a CSV's ranges, and their count."""
    from apache_beam.io.restriction_trackers import OffsetRange

    from beamtagger.transforms.reading.byte_ranges import DEFAULT_SPLIT_BYTES
    from beamtagger.transforms.reading.csv_ranges import row_ranges

    started, cpu = time.perf_counter(), time.process_time()
    ranges = row_ranges(str(path), OffsetRange(0, path.stat().st_size), DEFAULT_SPLIT_BYTES)
    return time.perf_counter() - started, time.process_time() - cpu, len(ranges)


def read_child(path, mode, input_format="tsv"):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.transforms.reading import ReadRecords

    split_bytes = os.path.getsize(path) + 1 if mode == "whole" else None
    options = PipelineOptions(["--direct_num_workers=2",
                               "--direct_running_mode=multi_processing"])
    with beam.Pipeline(options=options) as p:
        read = p | ReadRecords(path, input_format, split_bytes=split_bytes)
        _ = (read.records | beam.combiners.Count.Globally()
             | beam.Map(lambda n: print("records", n, flush=True)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=pathlib.Path, required=True)
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--format", choices=("tsv", "csv"), default="tsv")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        read_child(*args.child)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    path = (write_csv if args.format == "csv" else write_tsv)(args.work, args.megabytes)
    print(f"{path}: {path.stat().st_size / 1e6:.0f} MB")
    results = {mode: [] for mode in MODES}
    for round_number in range(args.rounds):
        for mode in MODES if round_number % 2 == 0 else reversed(MODES):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--work", str(args.work), "--child",
                            str(path), mode, args.format], check=True)
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            results[mode].append((wall, cpu))
            print(f"round {round_number + 1} {mode}: wall {wall:.1f} s, cpu {cpu:.1f} s",
                  flush=True)
        if args.format == "csv":
            wall, cpu, count = time_scan(path)
            results.setdefault("scan", []).append((wall, cpu))
            print(f"round {round_number + 1} scan ({count} ranges): wall {wall:.2f} s, "
                  f"cpu {cpu:.2f} s", flush=True)
    for index, name in ((0, "wall"), (1, "cpu")):
        ratios = [r[index] / w[index] for w, r in zip(results["whole"], results["ranges"])]
        print(f"{name} ranges / whole per round: " + ", ".join(f"{x:.2f}" for x in ratios))
        if "scan" in results:
            ratios = [s[index] / w[index] for w, s in zip(results["whole"], results["scan"])]
            print(f"{name} scan / whole per round: " + ", ".join(f"{x:.3f}" for x in ratios))


if __name__ == "__main__":
    main()
