"""One large TSV read whole by one worker (before: split_bytes over the file's size) and in
byte ranges (``tsv_ranges``, the 64 MiB default), side by side, alternating round by round,
each a fresh process running ``ReadRecords`` and a count on Beam's DirectRunner with
``--direct_num_workers 2 --direct_running_mode=multi_processing``: whole-run wall seconds and
CPU seconds (user + system of the process and its workers). Reading only, not tagging: the
tagger's time is the same either way, and the reading is what ranges spread.

Records: EWT train's sentence texts, repeated, each copy numbered, with an id column.

  python bench/tsv_ranges_bench.py --work /tmp/tsv-bench --megabytes 200 --rounds 2
"""
import argparse
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


def read_child(path, mode):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.transforms.reading import ReadRecords

    split_bytes = os.path.getsize(path) + 1 if mode == "whole" else None
    options = PipelineOptions(["--direct_num_workers=2",
                               "--direct_running_mode=multi_processing"])
    with beam.Pipeline(options=options) as p:
        read = p | ReadRecords(path, "tsv", split_bytes=split_bytes)
        _ = (read.records | beam.combiners.Count.Globally()
             | beam.Map(lambda n: print("records", n, flush=True)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=pathlib.Path, required=True)
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        read_child(*args.child)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    path = write_tsv(args.work, args.megabytes)
    print(f"{path}: {path.stat().st_size / 1e6:.0f} MB")
    results = {mode: [] for mode in MODES}
    for round_number in range(args.rounds):
        for mode in MODES if round_number % 2 == 0 else reversed(MODES):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--work", str(args.work), "--child",
                            str(path), mode], check=True)
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            results[mode].append((wall, cpu))
            print(f"round {round_number + 1} {mode}: wall {wall:.1f} s, cpu {cpu:.1f} s",
                  flush=True)
    for index, name in ((0, "wall"), (1, "cpu")):
        ratios = [r[index] / w[index] for w, r in zip(results["whole"], results["ranges"])]
        print(f"{name} ranges / whole per round: " + ", ".join(f"{x:.2f}" for x in ratios))


if __name__ == "__main__":
    main()
