"""What ``--partition-fields`` adds to reading: the same Hive-partitioned JSON Lines files read
whole without it and with it (each record's fields merged with its file's two folder values,
``partition_fields.with_partition_fields``), side by side in one process, alternating round by
round: CPU seconds of each read and their ratio, and the difference a record in microseconds.

Reading only, through the reading DoFn itself (``read_records._ReadFileRecords``), not a Beam
pipeline: the runner's cost is the same either way and would hide the difference. Records:
short synthetic texts with an id and one field of their own, 4 files in
``year=YYYY/month=MM/`` folders.

  python bench/partition_fields_bench.py --work /tmp/partition-bench --records 200000 --rounds 5
"""
import argparse
import json
import pathlib
import statistics
import time

from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems

from beamtagger.transforms.reading.read_records import _ReadFileRecords
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.reading.record_parsers import pattern_id_folder

MODES = ("without", "with")
FILES = (("2024", "01"), ("2024", "02"), ("2025", "01"), ("2025", "02"))


def write_lake(work, records):
    lake = work / f"lake-{records}"
    if not lake.exists():
        for number, (year, month) in enumerate(FILES):
            folder = lake / f"year={year}" / f"month={month}"
            folder.mkdir(parents=True)
            with open(folder / "part-0.jsonl", "w", encoding="utf-8") as handle:
                for n in range(number, records, len(FILES)):
                    handle.write(json.dumps({"id": f"r{n}", "text": f"The cat {n} sat on the "
                                             "mat .", "n": n}) + "\n")
    return str(lake / "*" / "*" / "*.jsonl")


def read_seconds(files, pattern, partition_fields):
    """CPU seconds to read every record of ``files``; the records read."""
    layout = RecordLayout(id_folder=pattern_id_folder(pattern), partition_fields=partition_fields)
    reader = _ReadFileRecords("jsonl", layout)
    started, count = time.process_time(), 0
    for metadata in files:
        for _ in reader.process(fileio.ReadableFile(metadata)):
            count += 1
    return time.process_time() - started, count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=pathlib.Path, required=True)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    pattern = write_lake(args.work, args.records)
    files = FileSystems.match([pattern])[0].metadata_list
    seconds = {mode: [] for mode in MODES}
    for round_number in range(args.rounds):
        for mode in MODES if round_number % 2 == 0 else reversed(MODES):
            cpu, count = read_seconds(files, pattern, mode == "with")
            assert count == args.records, (count, args.records)
            seconds[mode].append(cpu)
            print(f"round {round_number + 1} {mode}: cpu {cpu:.2f} s", flush=True)
    ratios = [w / wo for wo, w in zip(seconds["without"], seconds["with"])]
    extra = [(w - wo) / args.records * 1e6 for wo, w in zip(seconds["without"], seconds["with"])]
    print("with / without per round: " + ", ".join(f"{x:.2f}" for x in ratios))
    print(f"median: {statistics.median(ratios):.2f}x the CPU, "
          f"+{statistics.median(extra):.2f} µs a record ({args.records:,} records, "
          f"without {statistics.median(seconds['without']) / args.records * 1e6:.2f} µs)")


if __name__ == "__main__":
    main()
