"""Where the time of a ``beamtagger tag`` run goes: py-spy samples grouped by pipeline stage.

py-spy records every thread of the process tree (``--subprocesses`` reaches Beam's
multi-processing workers) including waiting threads (``--idle``): the tag stage's helper thread
blocked in TensorFlow's ``quick_execute`` is the model computing on TensorFlow's own threads,
which py-spy cannot see, and a bundle thread blocked on that helper is "waiting for the model".
Only samples of threads that are processing a Beam bundle (``process_bundle`` on the stack),
setting up a DoFn, predicting or loading the tagger count; the rest is the runner waiting. Each
counted sample goes to the stage of the innermost frame on its stack that names one (a
beamtagger module or a part of Beam's machinery), else to "Beam runner, other".
"""
import argparse
import collections
import shutil
import sys

# (category, substrings of a frame that put a sample there), innermost frame first.
BEAMTAGGER_STAGES = [
    ("model compute (TaggerRunner.predict)", ("model/inference.py", "numpy_inference.py")),
    # The bundle thread blocked on the tag stage's helper thread (or on the background load).
    ("waiting for the model", ("concurrent/futures/_base.py",)),
    ("import TensorFlow + load tagger (per worker)", ("configure_tensorflow", "_SharedRunner",
                                                      "TaggerRunner.load", "load_keras_model")),
    ("tokenize", ("tokenizer.py", "transforms/tokenize.py")),
    ("featurize (extra ids, feature ids)", ("model/features.py",)),
    ("store lookup (rows, gather)", ("embeddings/store.py",)),
    ("per-token inputs table (TokenInputs)", ("model/token_inputs.py",)),
    ("build Arrow batches", ("arrow_batches.py", "attach_vectors.py")),
    ("bucket by length (stateful DoFn)", ("transforms/bucket.py",)),
    ("split/stitch chunks", ("transforms/chunks.py",)),
    ("decode labels (Viterbi/argmax)", ("tagger_spec.py", "viterbi.py", "batch_decoding.py")),
    ("tag stage: rows to records", ("transforms/tag.py",)),
    ("format + write output", ("write_results.py", "write_parts.py", "dead_letters.py",
                               "records.py", "tagged_batches.py")),
    ("read + decode input", ("read_records.py", "byte_ranges.py", "record_parsers.py",
                             "file_lines.py", "transforms/blocks.py")),
]
BEAM_STAGES = [
    ("Beam state cache sizing (objsize)", ("objsize/", "statecache.py")),
    ("Beam user state (bag/combining state commit, read)", ("FnApiUserStateContext",
                                                              "RuntimeState", "_StateBackedIterable",
                                                              "_ConcatIterable")),
    ("Beam coders / pickling", ("coders", "pickle", "coder_impl")),
    ("Beam file IO (read/write)", ("apache_beam/io/",)),
]
# The tag stage predicts on its own thread and loads the tagger on another: neither has
# process_bundle on its stack.
IN_BUNDLE = ("process_bundle", "BundleProcessor.__init__", "DoFnRunner.setup", ".setup (",
             "TaggerRunner.predict", "_SharedRunner._load")
WAITING_FOR_THE_MODEL = "concurrent/futures/_base.py"


def py_spy():
    """Path of the py-spy executable next to this Python, or on PATH; None if absent."""
    candidate = shutil.which("py-spy", path=str(__import__("pathlib").Path(sys.executable).parent))
    return candidate or shutil.which("py-spy")


def record_command(output, rate=50):
    return [py_spy(), "record", "--rate", str(rate), "--idle", "--subprocesses", "--threads",
            "--format", "raw", "--output", str(output), "--"]


def categorize(frames):
    """The stage of the innermost frame that names one (a state-cache sizing call made from
    the bucket DoFn counts as state-cache sizing, not as bucketing)."""
    for frame in reversed(frames):
        for name, needles in BEAMTAGGER_STAGES + BEAM_STAGES:
            if any(needle in frame for needle in needles):
                return name
    return "Beam runner (bundle processing, other)"


def summarize(raw_path, rate=50):
    """[(stage, seconds, share of counted samples)] sorted by time, plus the total seconds.

    Seconds are thread-seconds: two workers busy for one second count two.
    """
    counts = collections.Counter()
    for frames, number in _samples(raw_path):
        if not any(marker in frame for frame in frames for marker in IN_BUNDLE):
            continue
        if (frames and ("Condition.wait" in frames[-1] or "Event.wait" in frames[-1])
                and not any(WAITING_FOR_THE_MODEL in frame for frame in frames)):
            continue  # a bundle thread parked between bundles
        counts[categorize(frames)] += number
    total = sum(counts.values()) or 1
    rows = [(name, count / rate, count / total) for name, count in counts.most_common()]
    return rows, total / rate


def _samples(raw_path):
    """(frames, count) of each line of py-spy's raw output."""
    for line in open(raw_path, encoding="utf-8", errors="replace"):
        stack, _, number = line.rstrip("\n").rpartition(" ")
        if number.isdigit():
            yield stack.split(";"), int(number)


def compute_by_process(raw_path, rate=50):
    """{pid: seconds in TaggerRunner.predict}: how the model work is spread over processes."""
    seconds = collections.Counter()
    for frames, number in _samples(raw_path):
        if categorize(frames) != BEAMTAGGER_STAGES[0][0]:
            continue
        processes = [frame for frame in frames if frame.startswith("process ")]
        pid = processes[-1].split(":")[0].split()[-1] if processes else "?"
        seconds[pid] += number / rate
    return dict(seconds.most_common())


def markdown(rows, total_seconds, title, tokens=None):
    """The stage table; with ``tokens``, also each stage's thread-microseconds per token."""
    lines = [f"{title} ({total_seconds:.1f} thread-seconds sampled inside bundles):", ""]
    if tokens:
        lines += ["| stage | thread-seconds | share | µs per token |", "|---|---|---|---|"]
        lines += [f"| {name} | {seconds:.1f} | {share:.0%} | {seconds / tokens * 1e6:.2f} |"
                  for name, seconds, share in rows]
        lines.append(f"| all stages | {total_seconds:.1f} | 100% | "
                     f"{total_seconds / tokens * 1e6:.2f} |")
    else:
        lines += ["| stage | thread-seconds | share |", "|---|---|---|"]
        lines += [f"| {name} | {seconds:.1f} | {share:.0%} |" for name, seconds, share in rows]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="The stage table of a py-spy raw profile (py-spy record --format raw), as "
        "bench/throughput_bench.py --profile writes it.")
    parser.add_argument("raw", help="py-spy's raw output")
    parser.add_argument("--rate", type=int, default=50, help="py-spy's --rate (samples a second)")
    args = parser.parse_args(argv)
    try:
        found, seconds = summarize(args.raw, args.rate)
    except OSError as error:
        parser.error(f"cannot read {args.raw}: {error.strerror}")
    print(markdown(found, seconds, args.raw))


if __name__ == "__main__":
    main()
