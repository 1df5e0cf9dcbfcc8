"""When the model runs during ``beamtagger tag``: a timeline of case D (bench/throughput_bench.py).

Runs case D once in this process on the 1M-token input, with the tag stage's load and predict
calls and the tokenizer timed, and prints when the tagger finished loading, when the model first
ran on real records, how long it was busy in all, and the gaps where it waited for records. C
(the model alone on the same batches, bench/throughput_bench.py) is the comparison: a model
busier than C for the same tokens is a model sharing the cores with the Python stages.

  python bench/tag_timeline.py            # about 1.5 minutes on 2 cores
  python bench/tag_timeline.py --tiny     # seconds, for CI: correctness only
"""
import argparse
import pathlib
import sys
import tempfile
import threading
import time

import bench_common
import throughput_bench


class Timeline:
    """(seconds since start, event) pairs, appended from any thread."""

    def __init__(self):
        self.start = time.monotonic()
        self.events = []
        self._lock = threading.Lock()

    def mark(self, event):
        with self._lock:
            self.events.append((time.monotonic() - self.start, event))

    def wrap(self, owner, name, event):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            self.mark(event + " start")
            try:
                return original(*args, **kwargs)
            finally:
                self.mark(event + " end")

        setattr(owner, name, timed)


def summary(events):
    """Load end, first and last real prediction, busy seconds and the gaps between predictions
    (predictions made inside ``warm_up`` are not real ones)."""
    times = {}
    for seconds, event in events:
        times.setdefault(event, seconds)
    warm_up_end = max((i for i, (_, e) in enumerate(events) if e == "warm-up end"), default=-1)
    real = events[warm_up_end + 1:]
    starts = [s for s, e in real if e == "predict start"]
    ends = [s for s, e in real if e == "predict end"]
    gaps = [b - a for a, b in zip(ends, starts[1:]) if b - a > 0.05]
    return {"clock_start": times.get("run start"), "load_end": times.get("load end"),
            "first_predict": starts[0] if starts else None,
            "last_predict_end": ends[-1] if ends else None,
            "predict_busy_seconds": sum(e - s for s, e in zip(starts, ends)),
            "predictions": len(starts), "gaps_over_50ms": len(gaps),
            "gap_seconds": sum(gaps), "run_end": times.get("run end")}


def child_main(args):
    """Case D with the tag stage's calls timed, in a fresh process: TensorFlow not yet imported,
    as in a real run."""
    from beamtagger.model.inference import TaggerRunner
    from beamtagger.transforms import tag

    timeline = Timeline()
    timeline.wrap(TaggerRunner, "predict", "predict")
    timeline.wrap(TaggerRunner, "warm_up", "warm-up")
    timeline.wrap(tag._SharedRunner, "_load", "load")
    case_args = throughput_bench.parse_args([
        "--child", "--case", "D", "--input", args.input, "--output", args.output,
        "--store", args.store, "--model", args.model])
    timeline.start = time.monotonic()
    timeline.mark("run start")
    result = throughput_bench.case_d(case_args)
    timeline.mark("run end")
    bench_common.child_result(**summary(timeline.events), tokens=result["tokens"],
                              seconds=result["seconds"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="small input and model (CI)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name in ("input", "output", "store", "model"):
        parser.add_argument("--" + name, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args)
        return 0
    bench_common.require_shared_data()
    sizes = throughput_bench.TINY_SIZES if args.tiny else throughput_bench.FULL_SIZES
    size = list(sizes)[2]
    with tempfile.TemporaryDirectory(prefix="beamtagger-timeline-") as temp:
        work = pathlib.Path(temp)
        store, inputs, model_dir, _ = throughput_bench.prepare(work, args.tiny, sizes)
        found = bench_common.run_child(
            [__file__, "--child", "--input", inputs[size]["pattern"],
             "--output", work / "out" / "tagged", "--store", store.path, "--model", model_dir],
            label="timeline of case D")
    report = {"machine": bench_common.machine(), "date": bench_common.now(),
              "command": "python bench/tag_timeline.py" + (" --tiny" if args.tiny else ""),
              "input": size, "timeline": found}
    bench_common.save_results("tag_timeline", report, {None: markdown(report)})
    return 0


def markdown(report):
    t = report["timeline"]
    rows = [["tagger loaded (TensorFlow import, load, warm-up)", f"{t['load_end']:.1f} s"],
            ["model first runs on records", f"{t['first_predict']:.1f} s"],
            ["model last returns", f"{t['last_predict_end']:.1f} s"],
            ["run ends", f"{t['run_end']:.1f} s"],
            ["model busy (sum of predict calls)", f"{t['predict_busy_seconds']:.1f} s in "
             f"{t['predictions']} calls"],
            ["model waiting for records (gaps over 50 ms)", f"{t['gap_seconds']:.1f} s in "
             f"{t['gaps_over_50ms']} gaps"]]
    return "\n".join([
        "### When the model runs in D", "",
        f"Command: `{report['command']}` ({report['date']}): case D once more on the "
        f"{report['input']} input ({t['tokens']:,} tokens, {t['seconds']:.1f} s on the clock), "
        "with the tag stage's calls timed. Seconds from the start of the clock.", "",
        bench_common.markdown_table(["event", "when"], rows),
        f"Between its first and last prediction the model waited {t['gap_seconds']:.1f} s for "
        f"records: for the {t['last_predict_end'] - t['first_predict']:.1f} s after start-up, D "
        "runs as fast as the model does while it shares the cores with the Python stages (its "
        "busy time against case C's seconds above, the same tokens alone). The "
        f"{t['first_predict']:.1f} s before the first prediction are start-up (TensorFlow's "
        "import, the tagger's load and warm-up, the runner's start), mostly GIL-bound "
        "Python on one core.", ""])


if __name__ == "__main__":
    sys.exit(main())
