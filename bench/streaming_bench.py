"""TagText on unbounded input (a TestStream, Beam's DirectRunner) for two checkouts side by side:
what a streaming run over short and long records costs in one version against another (the
streaming stitch of long records, BucketByLength's trigger, the restored windows).

The records are EWT dev's sentences (short) and the same sentences joined into documents of 15
to 60 (seeded; 190 to 750 tokens, cut into chunks of 256), ``--copies`` times, with timestamps
0.1 s apart in fixed windows of 60 s (``--sliding``: windows of 60 s every 30 s, so each record
is tagged twice), in steps of 500 records with the watermark and the processing time advanced
between steps. The tiny tagger of ``beamtagger.testing`` (NumPy runtime) tags them, so the model
is a small share and the pipeline's own work shows. Each run is a fresh process of that
checkout's code (its folder first on ``sys.path``); rounds alternate the checkouts so a busy
spell of the machine hits both; the after's wall and CPU over the before's, round by round,
with their median.

  python bench/streaming_bench.py --work /tmp/sb --before /tmp/before-checkout --after .
"""
import argparse
import json
import pathlib
import statistics
import sys

import bench_common

BENCH = pathlib.Path(__file__).resolve().parent

CHILD = r'''
import json, resource, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms import trigger, window
from apache_beam.transforms.window import TimestampedValue
import beamtagger
from beamtagger.transforms import TagText, TextRecord
from bench_common import RESULT_MARKER
config = json.loads(sys.argv[3])
texts = json.load(open(config["texts"]))
stream = TestStream().advance_watermark_to(0)
for start in range(0, len(texts), 500):
    stream = stream.add_elements([TimestampedValue(TextRecord(str(i), text), i / 10)
                                  for i, text in enumerate(texts[start:start + 500], start)])
    stream = stream.advance_processing_time(10).advance_watermark_to((start + 500) / 10)
stream = stream.advance_watermark_to_infinity()
windows = window.SlidingWindows(60, 30) if config["sliding"] else window.FixedWindows(60)
started = time.perf_counter()
p = beam.Pipeline(options=StandardOptions(streaming=True))
out = (p | stream | "Windows" >> beam.WindowInto(windows)
       | TagText(max_buffering_secs=1, model_dir=config["model_dir"],
                 store_path=config["store_path"], runtime="numpy"))
# Counted in the global window at the end (the DirectRunner that runs a TestStream reports
# no user metrics).
counts = config["texts"] + ".counts"
_ = ((out.tagged | "Tagged" >> beam.Map(lambda r: "tagged"),
      out.errors | "Dead" >> beam.Map(lambda d: "dead")) | beam.Flatten()
     | "AllInOne" >> beam.WindowInto(window.GlobalWindows(), trigger=trigger.AfterWatermark(),
                                     accumulation_mode=trigger.AccumulationMode.DISCARDING)
     | beam.combiners.Count.PerElement()
     | beam.combiners.ToList()
     | beam.Map(lambda found: open(counts, "w").write(json.dumps(dict(found)))))
p.run().wait_until_finish()
wall = time.perf_counter() - started
found = json.load(open(counts))
usage = resource.getrusage(resource.RUSAGE_SELF)
print(RESULT_MARKER + json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                                  "tagged": found.get("tagged", 0), "dead": found.get("dead", 0),
                                  "beamtagger": beamtagger.__file__}))
'''


def records(copies, seed):
    """EWT dev's sentences and its documents (as chunking_quality makes them), as texts."""
    sys.path.insert(0, str(BENCH))
    from chunking_quality import documents
    from beamtagger.corpus_readers import read_conllu
    sentences = list(read_conllu(bench_common.EWT_DEV))
    texts = [" ".join(s.tokens) for s in sentences]
    texts += [" ".join(tokens) for tokens, _ in documents(sentences, seed)]
    return texts * copies


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=pathlib.Path, required=True)
    parser.add_argument("--before", type=pathlib.Path, required=True)
    parser.add_argument("--after", type=pathlib.Path, default=pathlib.Path("."))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--sliding", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    bench_common.require_shared_data()
    from beamtagger.testing import cached_tiny_tagger
    args.work.mkdir(parents=True, exist_ok=True)
    tiny = args.work / "tiny"
    if not tiny.is_dir():
        cached_tiny_tagger(tiny)
    texts = records(args.copies, args.seed)
    texts_file = args.work / "texts.json"
    texts_file.write_text(json.dumps(texts))
    child = args.work / "streaming_child.py"
    child.write_text(CHILD)
    config = json.dumps({"texts": str(texts_file), "model_dir": str(tiny / "model"),
                         "store_path": str(tiny / "store"), "sliding": args.sliding})
    runs = {"before": [], "after": []}
    for round_ in range(args.rounds):
        for name in (("before", "after") if round_ % 2 == 0 else ("after", "before")):
            checkout = getattr(args, name).resolve()
            found = bench_common.run_child([child, checkout, BENCH, config], label=name)
            print(f"round {round_} {name}: {json.dumps(found)}", file=sys.stderr)
            runs[name].append(found)
    tokens = sum(len(text.split()) for text in texts)
    wall_ratios = [a["wall"] / b["wall"] for a, b in zip(runs["after"], runs["before"])]
    cpu_ratios = [a["cpu"] / b["cpu"] for a, b in zip(runs["after"], runs["before"])]
    report = {"date": bench_common.now(), "machine": bench_common.machine(),
              "command": "python bench/streaming_bench.py " + " ".join(sys.argv[1:]),
              "records": len(texts), "tokens": tokens, "runs": runs,
              "wall_after_over_before": wall_ratios, "cpu_after_over_before": cpu_ratios,
              "median_wall_ratio": statistics.median(wall_ratios),
              "median_cpu_ratio": statistics.median(cpu_ratios)}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
