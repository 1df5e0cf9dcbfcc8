"""CSV input against JSON Lines of the same records, side by side in one run, the two formats
alternating round by round, each a fresh process:

1. reading alone: every record of a large file made and dropped (``csv_rows`` row by row;
   ``record_parsers.read_path_records`` line by line), as a worker reads a file: CPU seconds,
   the read rate (MB of file a CPU second: what one worker reading one big CSV alone gets,
   ``csv_rows`` being read by one worker a file) and peak RSS of the process;
2. ``beamtagger tag --runtime numpy`` (bundled model and store) over a smaller file of the two
   formats: whole-run CPU seconds (user + system) and peak RSS.

Records: EWT train's sentence texts (``# text =``), repeated, each copy numbered, with an id and
two columns to carry (a number and a language code); the CSV is written by Python's csv module
(texts with commas and quotes quoted), and every 8th text holds a line break, so that rows run
over two lines (the JSON Lines' texts hold the same, escaped). Prints the ratio CSV / JSON
Lines of the medians and of each round.

  python bench/csv_input_bench.py --work /tmp/csv-bench --rounds 3
  python bench/csv_input_bench.py --work /tmp/csv-bench --tiny   # seconds: checks the script
"""
import argparse
import csv
import json
import os
import pathlib
import sys
import time

import bench_common
from parquet_input_bench import ewt_texts, peak_rss_mib, read_and_tag, tag_child

FORMATS = ("jsonl", "csv")


def write_inputs(work, copies):
    """``work/records-<copies>.jsonl`` and ``.csv``, the same records."""
    stem = work / f"records-{copies}"
    if stem.with_suffix(".csv").exists():
        return stem
    texts = [f"{text} ({copy})" for copy in range(copies) for text in ewt_texts()]
    texts = [text.replace(" ", "\n", 1) if i % 8 == 0 else text for i, text in enumerate(texts)]
    with open(stem.with_suffix(".jsonl"), "w", encoding="utf-8") as jsonl, \
            open(stem.with_suffix(".csv"), "w", encoding="utf-8", newline="") as csv_file:
        writer = csv.writer(csv_file)
        writer.writerow(["id", "text", "n", "lang"])
        for number, text in enumerate(texts):
            writer.writerow([f"doc-{number}", text, number, "en"])
            jsonl.write(json.dumps({"id": f"doc-{number}", "text": text, "n": str(number),
                                    "lang": "en"}, ensure_ascii=False) + "\n")
    return stem


def read_child(path, input_format):
    from beamtagger.transforms.reading.csv_rows import read_path_csv_records
    from beamtagger.transforms.reading.record_parsers import read_path_records

    started = time.process_time()
    items = (read_path_csv_records(path) if input_format == "csv"
             else read_path_records(path, "jsonl"))
    records = characters = 0
    for item in items:
        records += 1
        characters += len(item.text)
    cpu = time.process_time() - started
    bench_common.child_result(records=records, characters=characters, read_cpu_s=round(cpu, 3),
                              read_mb_per_cpu_s=round(os.path.getsize(path) / 1e6 / cpu, 1),
                              peak_rss_mib=peak_rss_mib())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=pathlib.Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--read-copies", type=int, default=32,
                        help="EWT train's texts this many times in the reading-alone files")
    parser.add_argument("--tag-copies", type=int, default=2,
                        help="EWT train's texts this many times in the tag runs' files")
    parser.add_argument("--skip-tag-runs", action="store_true")
    parser.add_argument("--tiny", action="store_true",
                        help="one round, one copy, no tag runs: checks the script, measures "
                        "nothing")
    parser.add_argument("--child", choices=("read", "tag"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--format", choices=FORMATS, help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "read":
        return read_child(args.path, args.format)
    if args.child == "tag":
        return tag_child(args.path, args.prefix)
    if args.tiny:
        args.rounds, args.read_copies, args.skip_tag_runs = 1, 1, True
    if args.work is None:
        parser.error("--work is required")
    bench_common.require_shared_data()
    args.work.mkdir(parents=True, exist_ok=True)
    print(bench_common.machine())
    print(bench_common.now(), "python bench/csv_input_bench.py " + " ".join(sys.argv[1:]))
    script = pathlib.Path(__file__).resolve()
    read_stem = write_inputs(args.work, args.read_copies)
    tag_stem = None if args.skip_tag_runs else write_inputs(args.work, args.tag_copies)
    for stem in filter(None, (read_stem, tag_stem)):
        print(f"{stem.name}: " + ", ".join(
            f"{f} {stem.with_suffix('.' + f).stat().st_size / bench_common.MIB:.1f} MiB"
            for f in FORMATS))
    measured = {name: {f: [] for f in FORMATS}
                for name in ("read_cpu", "read_rate", "read_rss", "tag_cpu", "tag_rss")}
    counts, written = {}, {}
    for round_number in range(args.rounds):
        for input_format in FORMATS if round_number % 2 == 0 else FORMATS[::-1]:
            read_and_tag(script, input_format, read_stem, tag_stem, args.work, measured, counts,
                         written)
    assert counts["jsonl"] == counts["csv"], counts
    print(f"reading alone: {counts['csv'][0]:,} records, {counts['csv'][1]:,} characters each")
    if tag_stem is not None:
        assert written["jsonl"] == written["csv"], written
        print(f"beamtagger tag: {written['csv']:,} records written each")
    for name, title, unit in (("read_cpu", "reading alone, CPU", "s"),
                              ("read_rate", "reading alone, MB of file a CPU second", "MB/s"),
                              ("read_rss", "reading alone, peak RSS", "MiB"),
                              ("tag_cpu", "beamtagger tag, whole-run CPU", "s"),
                              ("tag_rss", "beamtagger tag, peak RSS", "MiB")):
        if measured[name]["csv"]:
            print(bench_common.alternating_summary(title, measured[name], *FORMATS, unit))


if __name__ == "__main__":
    sys.exit(main())
