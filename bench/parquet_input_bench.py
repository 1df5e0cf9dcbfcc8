"""Parquet input against JSON Lines of the same records, side by side in one run, the two formats
alternating round by round, each a fresh process:

1. reading alone: every record of a large file made and dropped (``parquet_rows`` row group by
   row group; ``record_parsers.read_path_records`` line by line), as a worker reads a file;
   CPU seconds and peak RSS of the process. The Parquet file is one row group (all its rows:
   pyarrow's default holds up to 1,048,576 rows a group), the worst case for memory;
2. ``beamtagger tag --runtime numpy`` (bundled model and store) over a smaller file of the same
   two formats, one row group: whole-run CPU seconds (user + system) and peak RSS;
3. a wide table: ``beamtagger tag --runtime numpy`` over a Parquet file whose rows hold, beside
   their text, id and language, a binary column of ``--wide-kib`` KiB (base64 of random bytes:
   an image as a data lake holds it, UTF-8 so that it can be carried at all), without
   ``--fields`` (every column carried) and with ``--fields lang``, alternating the same way.

Records: EWT train's sentence texts (``# text =``), repeated, each copy numbered, with an id and two columns to
carry (a number and a language code). Prints the ratio Parquet / JSON Lines (and, for the
wide table, with / without ``--fields``) of the medians and of each round.

  python bench/parquet_input_bench.py --work /tmp/parquet-bench --rounds 3
  python bench/parquet_input_bench.py --work /tmp/parquet-bench --rounds 3 \
      --row-group-rows 65536 --skip-tag-runs --skip-wide   # reading alone, smaller row groups
  python bench/parquet_input_bench.py --work /tmp/parquet-bench --rounds 3 --skip-reading \
      --skip-tag-runs   # the wide table alone
  python bench/parquet_input_bench.py --work /tmp/parquet-bench --tiny   # seconds: CI's check
"""
import argparse
import base64
import glob
import json
import os
import pathlib
import sys
import time

import bench_common

FORMATS = ("jsonl", "parquet")
WIDE_CASES = ("all", "named")   # the wide table tagged without --fields, and with --fields lang
WIDE_FIELDS = "lang"


def ewt_texts():
    with open(bench_common.EWT_TRAIN, encoding="utf-8") as handle:
        return [line[len("# text = "):].rstrip("\n") for line in handle
                if line.startswith("# text = ")]


def write_inputs(work, copies, row_group_rows=0):
    """``work/records-<copies>[-<row_group_rows>].jsonl`` and ``.parquet``, the same records
    (``row_group_rows`` rows a row group; 0: all in one)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    stem = work / (f"records-{copies}" + (f"-{row_group_rows}" if row_group_rows else ""))
    if stem.with_suffix(".parquet").exists():
        return stem
    # Each copy its own texts (a number at the end): repeated texts would be one Parquet
    # dictionary entry each, a file and a decoding far smaller than real text gives.
    texts = [f"{text} ({copy})" for copy in range(copies) for text in ewt_texts()]
    ids = [f"doc-{i}" for i in range(len(texts))]
    numbers = list(range(len(texts)))
    with open(stem.with_suffix(".jsonl"), "w", encoding="utf-8") as handle:
        for record_id, text, number in zip(ids, texts, numbers):
            handle.write(json.dumps({"id": record_id, "text": text, "n": number, "lang": "en"},
                                    ensure_ascii=False) + "\n")
    table = pa.table({"id": ids, "text": texts, "n": numbers, "lang": ["en"] * len(texts)})
    pq.write_table(table, stem.with_suffix(".parquet"),
                   row_group_size=row_group_rows or len(texts))
    return stem


def write_wide_input(work, rows, kib):
    """``work/wide-<rows>-<kib>k.parquet``: EWT train's first texts with an id, a language and
    an ``image`` of ``kib`` KiB a row, in row groups of 256 rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = work / f"wide-{rows}-{kib}k.parquet"
    if path.exists():
        return path
    texts = ewt_texts()
    texts = [texts[i % len(texts)] for i in range(rows)]
    # base64 of random bytes: UTF-8 text that neither Snappy nor a dictionary shrinks, as
    # images and embeddings do not shrink.
    images = [base64.b64encode(os.urandom(kib * 768)) for _ in range(rows)]
    table = pa.table({"id": [f"doc-{i}" for i in range(rows)], "text": texts,
                      "image": pa.array(images, pa.binary()), "lang": ["en"] * rows})
    pq.write_table(table, path, row_group_size=256)
    return path


def read_child(path, input_format):
    from beamtagger.transforms.reading.parquet_rows import row_group_records, row_groups
    from beamtagger.transforms.reading.record_parsers import read_path_records

    started = time.process_time()
    if input_format == "parquet":
        items = (item for group in row_groups(path, "text")
                 for item in row_group_records(group, "text", "id"))
    else:
        items = read_path_records(path, "jsonl")
    records = characters = 0
    for item in items:
        records += 1
        characters += len(item.text)
    bench_common.child_result(records=records, characters=characters,
                              read_cpu_s=round(time.process_time() - started, 3),
                              peak_rss_mib=peak_rss_mib())


def tag_child(path, prefix, fields=None):
    from beamtagger.pipeline import cli

    code = cli.main(["tag", "--input", path, "--output", prefix, "--runtime", "numpy",
                     "--progress-every", "0", "--overwrite",
                     *(["--fields", fields] if fields is not None else [])])
    assert code == 0
    outputs = glob.glob(glob.escape(prefix) + "-[0-9]*-of-*.jsonl")
    records = 0
    for output in outputs:
        with open(output, "rb") as handle:
            records += sum(1 for _ in handle)
    bench_common.child_result(peak_rss_mib=peak_rss_mib(), records_written=records,
                              output_mib=round(sum(map(os.path.getsize, outputs))
                                               / bench_common.MIB, 3))


# What a child's result holds for each measured series: bench's name -> the child's field.
READ_FIELDS = {"read_cpu": "read_cpu_s", "read_rate": "read_mb_per_cpu_s",
               "read_rss": "peak_rss_mib"}
TAG_FIELDS = {"tag_cpu": "cpu_seconds", "tag_rss": "peak_rss_mib"}


def read_and_tag(script, input_format, read_stem, tag_stem, work, measured, counts, written):
    """One round's runs of ``input_format`` (this module's and csv_input_bench's children): the
    reading-alone child of ``read_stem``'s file and the tag child of ``tag_stem``'s (each
    skipped where its stem is None), their figures appended to the series of ``measured``
    (those it has), the records counted into ``counts`` and ``written``."""
    if read_stem is not None:
        result = bench_common.run_child(
            [script, "--child", "read", "--format", input_format, "--path",
             read_stem.with_suffix("." + input_format)], label=f"read {input_format}")
        counts.setdefault(input_format, (result["records"], result["characters"]))
        for name, field in READ_FIELDS.items():
            if name in measured:
                measured[name][input_format].append(result[field])
    if tag_stem is not None:
        result = bench_common.run_child(
            [script, "--child", "tag", "--path", tag_stem.with_suffix("." + input_format),
             "--prefix", work / f"out-{input_format}" / "r"], label=f"tag {input_format}")
        written.setdefault(input_format, result["records_written"])
        for name, field in TAG_FIELDS.items():
            measured[name][input_format].append(result[field])


def peak_rss_mib():
    """This process's own peak RSS (VmHWM, reset by exec): ``ru_maxrss`` keeps the peak of the
    parent it was forked from, which had held every text of the inputs it wrote."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=pathlib.Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--read-copies", type=int, default=64,
                        help="EWT train's texts this many times in the reading-alone files")
    parser.add_argument("--tag-copies", type=int, default=2,
                        help="EWT train's texts this many times in the tag runs' files")
    parser.add_argument("--row-group-rows", type=int, default=0,
                        help="rows a row group in the reading-alone file (default 0: all)")
    parser.add_argument("--skip-tag-runs", action="store_true",
                        help="no tag runs of the JSON Lines and Parquet files")
    parser.add_argument("--skip-reading", action="store_true",
                        help="no reading-alone runs")
    parser.add_argument("--wide-rows", type=int, default=1000,
                        help="rows of the wide table (default 1000)")
    parser.add_argument("--wide-kib", type=int, default=256,
                        help="KiB of its image column a row (default 256)")
    parser.add_argument("--skip-wide", action="store_true", help="no wide-table runs")
    parser.add_argument("--tiny", action="store_true",
                        help="one round of tiny inputs, no tag runs but the wide table's "
                        "(16 rows of 16 KiB): checks the script, measures nothing")
    parser.add_argument("--child", choices=("read", "tag"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--format", choices=FORMATS, help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--fields", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "read":
        return read_child(args.path, args.format)
    if args.child == "tag":
        return tag_child(args.path, args.prefix, args.fields)
    if args.tiny:
        args.rounds, args.read_copies, args.skip_tag_runs = 1, 1, True
        args.wide_rows, args.wide_kib = 16, 16
    if args.work is None:
        parser.error("--work is required")
    bench_common.require_shared_data()
    args.work.mkdir(parents=True, exist_ok=True)
    print(bench_common.machine())
    print(bench_common.now(), "python bench/parquet_input_bench.py " + " ".join(sys.argv[1:]))
    script = pathlib.Path(__file__).resolve()
    read_stem = (None if args.skip_reading
                 else write_inputs(args.work, args.read_copies, args.row_group_rows))
    tag_stem = None if args.skip_tag_runs else write_inputs(args.work, args.tag_copies)
    for stem in filter(None, (read_stem, tag_stem)):
        sizes = ", ".join(f"{f} {stem.with_suffix('.' + f).stat().st_size / bench_common.MIB:.1f}"
                          " MiB" for f in FORMATS)
        print(f"{stem.name}: {sizes}")
    wide = None if args.skip_wide else write_wide_input(args.work, args.wide_rows, args.wide_kib)
    if wide is not None:
        print(f"{wide.name}: {wide.stat().st_size / bench_common.MIB:.1f} MiB, "
              f"{args.wide_rows:,} rows of text, id, lang and a {args.wide_kib} KiB image")
    measured = {name: {f: [] for f in FORMATS}
                for name in ("read_cpu", "read_rss", "tag_cpu", "tag_rss")}
    measured.update({name: {case: [] for case in WIDE_CASES}
                     for name in ("wide_cpu", "wide_rss", "wide_out")})
    counts, wide_written = {}, {}
    for round_number in range(args.rounds):
        order = FORMATS if round_number % 2 == 0 else FORMATS[::-1]
        for input_format in order:
            read_and_tag(script, input_format, read_stem, tag_stem, args.work, measured, counts,
                         {})
        for case in (WIDE_CASES if round_number % 2 == 0 else WIDE_CASES[::-1]):
            if wide is None:
                break
            result = bench_common.run_child(
                [script, "--child", "tag", "--path", wide, "--prefix",
                 args.work / f"out-wide-{case}" / "r",
                 *(["--fields", WIDE_FIELDS] if case == "named" else [])],
                label=f"tag wide, {case}")
            wide_written.setdefault(case, result["records_written"])
            measured["wide_cpu"][case].append(result["cpu_seconds"])
            measured["wide_rss"][case].append(result["peak_rss_mib"])
            measured["wide_out"][case].append(result["output_mib"])
    if read_stem is not None:
        assert counts["jsonl"] == counts["parquet"], counts
        print(f"reading alone: {counts['jsonl'][0]:,} records, {counts['jsonl'][1]:,} "
              "characters each format")
    if wide is not None:
        assert wide_written == dict.fromkeys(WIDE_CASES, args.wide_rows), wide_written
        print(f"wide table: {args.wide_rows:,} records written each way")
    for name, title, unit in (("read_cpu", "reading alone, CPU", "s"),
                              ("read_rss", "reading alone, peak RSS", "MiB"),
                              ("tag_cpu", "beamtagger tag, whole-run CPU", "s"),
                              ("tag_rss", "beamtagger tag, peak RSS", "MiB"),
                              ("wide_cpu", "wide table, beamtagger tag, whole-run CPU", "s"),
                              ("wide_rss", "wide table, beamtagger tag, peak RSS", "MiB"),
                              ("wide_out", "wide table, results written", "MiB")):
        inputs = {"read": read_stem, "tag": tag_stem, "wide": wide}[name.split("_")[0]]
        if inputs is not None:
            cases = WIDE_CASES if name.startswith("wide") else FORMATS
            print(bench_common.alternating_summary(title, measured[name], *cases, unit))


if __name__ == "__main__":
    sys.exit(main())
