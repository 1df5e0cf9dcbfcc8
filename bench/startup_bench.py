"""Start-up of ``beamtagger tag`` and of a user's pipeline test, against ``import tensorflow``.

Issue 18's target: the demo (``beamtagger tag`` on ``beamtagger/data/example.txt``, bundled model,
default store, the CLI's defaults: no ``--runtime``, so the command picks it from the input's
size) within 1.0x the time of ``python -c "import tensorflow"`` on the same machine (issue 12's
was 1.5x). Then where the runtime choice's crossover lies: ``beamtagger tag --runtime numpy``
and ``--runtime tensorflow`` on EWT train prefixes of growing size, wall time of the whole
command (``--crossover``, on by default; ``runtime_choice.SMALL_INPUT_BYTES`` comes from it).
Issue 11's target: a pipeline unit test with ``beamtagger.testing`` (the example test of
docs/library.md, "Testing your pipeline", taken from that page itself) in a fresh ``pytest``
process within 3 s more than that import.
``tiny_tagger.options`` runs the tiny model in NumPy (no TensorFlow import); the same test with
``tiny_tagger.tensorflow_options`` is timed too, to show what the TensorFlow runtime costs.
All run as fresh processes, alternately, ``--repeat`` times each (median reported), so a busy
moment hits all alike. Then one more demo run in a child process with its stages timed from the
moment the process was created (psutil), for the timeline: imports, job checks, pipeline start,
TensorFlow import, model load, warm-up traces, the first batch, the end.

Python caches compiled modules (``__pycache__``; pip compiles an installed package's modules at
install time), so the children run with that cache, warmed by a first untimed run, whatever
``PYTHONDONTWRITEBYTECODE`` says here: with it set, every run compiles beamtagger's modules
from source and pytest rewrites plugins' modules again (about 0.5-0.9 s more per run on the
2-core machine). ``--no-bytecode-cache`` measures that case instead.

  python bench/startup_bench.py            # about 6 minutes on 2 cores
  python bench/startup_bench.py --tiny     # one repetition, no untimed first runs, small sizes
                                           # (CI: the script works)
"""
import argparse
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import bench_common

DEMO_INPUT = bench_common.REPO_ROOT / "beamtagger" / "data" / "example.txt"
LIBRARY_PAGE = bench_common.REPO_ROOT / "docs" / "library.md"
TARGET_RATIO = 1.0
# --crossover: EWT train prefixes, in tokens (--tiny: the first two).
CROSSOVER_TOKENS = (50_000, 100_000, 200_000, 400_000, 800_000)
TARGET_TEST_EXTRA_SECONDS = 3.0
PIPELINE_TEST = "test_every_record_is_tagged"


def demo_argv(output):
    return ["-m", "beamtagger.pipeline.cli", "tag", "--input", str(DEMO_INPUT), "--output",
            str(output), "--output-format", "jsonl", "--progress-every", "0", "--overwrite"]


def child_env(bytecode_cache=True):
    env = {**os.environ, **bench_common.CHILD_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(bench_common.REPO_ROOT),
                                                      env.get("PYTHONPATH")]))
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def timed_process(argv, env, cwd=bench_common.REPO_ROOT):
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *map(str, argv)], capture_output=True, text=True,
                          env=env, cwd=cwd)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return seconds


def documented_pipeline_tests(folder):
    """Writes docs/library.md's "Testing your pipeline" conftest and test module into ``folder``,
    and a copy of the module that uses the TensorFlow runtime; returns the pytest argvs that
    run its first test there: (as written, with TensorFlow)."""
    blocks = re.findall(r"```python\n(.*?)```", LIBRARY_PAGE.read_text(encoding="utf-8"), re.S)
    conftest = next(block for block in blocks if "pytest_plugins" in block)
    test_module = next(block for block in blocks if f"def {PIPELINE_TEST}(" in block)
    with_tensorflow = test_module.replace("tiny_tagger.options", "tiny_tagger.tensorflow_options")
    if with_tensorflow == test_module:
        raise RuntimeError("docs/library.md's test no longer passes tiny_tagger.options")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conftest.py").write_text(conftest, encoding="utf-8")
    argvs = []
    for name, text in (("my_pipeline_test.py", test_module),
                       ("my_pipeline_tf_test.py", with_tensorflow)):
        (folder / name).write_text(text, encoding="utf-8")
        argvs.append(["-m", "pytest", "-q", "-p", "no:cacheprovider",
                      f"{name}::{PIPELINE_TEST}"])
    return argvs


# ---------------------------------------------------------------- child: one timed demo run

class Marks:
    """(seconds since the process was created, event), appended from any thread."""

    def __init__(self):
        import psutil

        self.zero = psutil.Process().create_time()
        self.events = []
        self._lock = threading.Lock()

    def mark(self, event):
        with self._lock:
            self.events.append((round(time.time() - self.zero, 3), event))

    def wrap(self, owner, name, event, only_first=False):
        original = getattr(owner, name)
        seen = []

        def timed(*args, **kwargs):
            first = not seen
            seen.append(1)
            if first or not only_first:
                self.mark(event + " starts")
            try:
                return original(*args, **kwargs)
            finally:
                if first or not only_first:
                    self.mark(event + " ends")

        setattr(owner, name, timed)


def child_main(output):
    marks = Marks()
    marks.mark("Python started, timing begins")
    import apache_beam as beam  # noqa: F401  (what tag_command.run imports first)
    from apache_beam.options.pipeline_options import PipelineOptions  # noqa: F401
    marks.mark("Beam imported")
    from beamtagger import tensorflow_setup, tokenizer
    from beamtagger.model import inference
    from beamtagger.pipeline import cli, tag_command, tag_pipeline

    marks.wrap(tag_command, "check_job", "job checks (model spec, store, input files)")
    marks.wrap(beam.Pipeline, "run", "pipeline run (runner start to end)")
    from beamtagger.model import numpy_inference

    marks.wrap(tensorflow_setup, "configure_tensorflow", "TensorFlow import")
    marks.wrap(inference, "load_keras_model", "Keras model load")
    marks.wrap(numpy_inference.NumpyTaggerRunner, "warm_up", "NumPy runtime warm-up")
    marks.wrap(tokenizer.Tokenizer, "__init__", "tokenizer build", only_first=True)
    predict = inference.TaggerRunner.predict
    warm_up = inference.TaggerRunner.warm_up
    state = {"warming_up": False, "seen": False}

    def warm_up_flagged(self, *args, **kwargs):
        state["warming_up"] = True
        try:
            return warm_up(self, *args, **kwargs)
        finally:
            state["warming_up"] = False

    def first_real_predict(self, *args, **kwargs):
        real = not state["warming_up"] and not state["seen"]
        state["seen"] = state["seen"] or real
        if real:
            marks.mark("first batch of records: predict starts")
        try:
            return predict(self, *args, **kwargs)
        finally:
            if real:
                marks.mark("first batch of records: predict ends")

    inference.TaggerRunner.warm_up = warm_up_flagged
    inference.TaggerRunner.predict = first_real_predict
    numpy_predict = numpy_inference.NumpyTaggerRunner.predict
    numpy_seen = []

    def first_numpy_predict(self, *args, **kwargs):
        first = not numpy_seen
        numpy_seen.append(1)
        if first:
            marks.mark("first batch of records (NumPy runtime): predict starts")
        try:
            return numpy_predict(self, *args, **kwargs)
        finally:
            if first:
                marks.mark("first batch of records (NumPy runtime): predict ends")

    numpy_inference.NumpyTaggerRunner.predict = first_numpy_predict
    marks.wrap(inference.TaggerRunner, "warm_up", "warm-up traces")
    marks.wrap(tag_pipeline, "build_tag_pipeline", "pipeline construction")
    status = cli.main(["tag", *demo_argv(output)[3:]])
    marks.mark("summary printed, process ends")
    bench_common.child_result(events=marks.events, status=status)


# ---------------------------------------------------------------- parent

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true",
                        help="one repetition, no untimed first runs (CI)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="children compile every module from source (PYTHONDONTWRITEBYTECODE)")
    parser.add_argument("--no-crossover", dest="crossover", action="store_false",
                        help="skip timing both runtimes on inputs of growing size")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child)
        return 0
    repeat = 1 if args.tiny else args.repeat
    from beamtagger.embeddings import default as default_store

    default_store.ensure_default_store()  # the demo's first run imports it; not timed here
    env = child_env(bytecode_cache=not args.no_bytecode_cache)
    os.environ.clear()
    os.environ.update(env)   # bench_common.run_child's timeline child too
    tensorflow, demo, pipeline_test, tensorflow_test = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="beamtagger-startup-") as temp:
        output = pathlib.Path(temp) / "demo" / "example"
        test_folder = pathlib.Path(temp) / "user-tests"
        test_argv, tensorflow_test_argv = documented_pipeline_tests(test_folder)
        # Untimed first runs: page cache and bytecode cache warm (as on a user's 2nd run), and
        # the tiny tagger built into its cache. Not in --tiny, whose figures nobody reads (CI
        # checks the script works): three fewer processes, about 15 s of CI's 2 cores.
        if not args.tiny:
            timed_process(demo_argv(output), env)
            timed_process(test_argv, env, cwd=test_folder)
            timed_process(tensorflow_test_argv, env, cwd=test_folder)
        for _ in range(repeat):
            tensorflow.append(timed_process(["-c", "import tensorflow"], env))
            demo.append(timed_process(demo_argv(output), env))
            pipeline_test.append(timed_process(test_argv, env, cwd=test_folder))
            tensorflow_test.append(timed_process(tensorflow_test_argv, env, cwd=test_folder))
        timeline = bench_common.run_child([__file__, "--child", output], env=env,
                                          label="timed demo run")
    command = "python bench/startup_bench.py" + (" --tiny" if args.tiny else "") + (
        " --no-bytecode-cache" if args.no_bytecode_cache else "")
    report = {"machine": bench_common.machine(), "date": bench_common.now(), "command": command,
              "bytecode_cache": not args.no_bytecode_cache,
              "tensorflow_seconds": tensorflow, "demo_seconds": demo,
              "pipeline_test_seconds": pipeline_test,
              "tensorflow_test_seconds": tensorflow_test,
              "tensorflow_test_median": statistics.median(tensorflow_test),
              "tensorflow_median": statistics.median(tensorflow),
              "demo_median": statistics.median(demo),
              "pipeline_test_median": statistics.median(pipeline_test),
              "timeline": timeline["events"]}
    report["ratio"] = report["demo_median"] / report["tensorflow_median"]
    report["pipeline_test_extra_seconds"] = (report["pipeline_test_median"]
                                             - report["tensorflow_median"])
    sections = {None: markdown(report)}
    if args.crossover:
        report["crossover"] = crossover(env, args.tiny, repeat)
        sections["crossover"] = crossover_markdown(report)
    bench_common.save_results("startup", report, sections)
    return 0


def crossover(env, tiny, repeat):
    """Wall seconds of ``beamtagger tag --runtime R`` (bundled model, default store) on EWT
    train prefixes of growing size, the runtimes alternating; the fastest of ``repeat`` runs."""
    import bench_models

    sentences = bench_models.ewt_sentences()
    rows = []
    with tempfile.TemporaryDirectory(prefix="beamtagger-crossover-") as temp:
        for target in CROSSOVER_TOKENS[:2] if tiny else CROSSOVER_TOKENS:
            folder = pathlib.Path(temp) / f"text-{target}"
            pattern, lines, tokens = bench_models.write_text_files(sentences, folder, target,
                                                                   parts=1)
            size = os.path.getsize(pattern.replace("*", "00"))
            seconds = {"numpy": [], "tensorflow": []}
            for run in range(repeat):
                for runtime in seconds:
                    output = pathlib.Path(temp) / f"out-{target}-{runtime}-{run}" / "r"
                    seconds[runtime].append(timed_process(
                        ["-m", "beamtagger.pipeline.cli", "tag", "--input", pattern, "--output",
                         str(output), "--runtime", runtime, "--progress-every", "0"], env))
            rows.append({"tokens": tokens, "bytes": size, "lines": lines,
                         "seconds": seconds,
                         "best": {runtime: min(runs) for runtime, runs in seconds.items()}})
    return rows


def crossover_bytes(rows):
    """The input size where TensorFlow's best time meets NumPy's, interpolated linearly in
    size between the two measured sizes around it (None if no sign change)."""
    points = [(row["bytes"], row["best"]["numpy"] - row["best"]["tensorflow"]) for row in rows]
    for (size_a, gap_a), (size_b, gap_b) in zip(points, points[1:]):
        if gap_a <= 0 < gap_b:
            return size_a + (size_b - size_a) * (-gap_a) / (gap_b - gap_a)
    return None


def crossover_markdown(report):
    from beamtagger.runtime_choice import SMALL_INPUT_BYTES

    rows = report["crossover"]
    table = bench_common.markdown_table(
        ["input", "tokens", "MB of text", "numpy: s (runs)", "tensorflow: s (runs)",
         "numpy / tensorflow"],
        [[f"{row['lines']:,} lines", f"{row['tokens']:,}", f"{row['bytes'] / 1e6:.2f}",
          f"{row['best']['numpy']:.2f} (" + ", ".join(f"{s:.2f}" for s in
                                                      row["seconds"]["numpy"]) + ")",
          f"{row['best']['tensorflow']:.2f} (" + ", ".join(f"{s:.2f}" for s in
                                                           row["seconds"]["tensorflow"]) + ")",
          f"{row['best']['numpy'] / row['best']['tensorflow']:.2f}"] for row in rows])
    found = crossover_bytes(rows)
    where = (f"NumPy is faster up to about **{found / 1e6:.1f} MB** of text and TensorFlow above"
             if found else "the two runtimes did not cross within these sizes")
    return "\n".join([
        "### Which runtime for which input size", "",
        f"Command: `{report['command']}` ({report['date']}): `beamtagger tag --runtime numpy` "
        "and `--runtime tensorflow`, bundled model, default store, on EWT train prefixes as "
        "text (one sentence a line, one file), fresh processes, the runtimes alternating, wall "
        "time of the whole command, the fastest run of each.", "", table,
        f"On this machine {where}. `beamtagger tag` without `--runtime` picks NumPy for inputs "
        f"up to {SMALL_INPUT_BYTES / 1e6:.1f} MB (`runtime_choice.SMALL_INPUT_BYTES`), "
        "TensorFlow above, and prints which it picked and why.", ""])


def markdown(report):
    runs = len(report["demo_seconds"])
    verdict = "met" if report["ratio"] <= TARGET_RATIO else "**missed**"
    extra = report["pipeline_test_extra_seconds"]
    test_verdict = "met" if extra <= TARGET_TEST_EXTRA_SECONDS else "**missed**"
    warmed = ("cold: --tiny makes no untimed first run" if " --tiny" in report["command"]
              else "warmed by a first untimed run")
    bytecode = (f"with Python's bytecode cache, {warmed}" if report["bytecode_cache"] else
                "with PYTHONDONTWRITEBYTECODE=1: every module compiled from source in every run")
    rows = [[f"{seconds:.2f} s", event] for seconds, event in report["timeline"]]
    return "\n".join([
        "### Start-up: the 12-line demo", "",
        f"Command: `{report['command']}` ({report['date']}). Both as fresh processes, "
        f"alternately, {runs} runs each, median: `python -c \"import tensorflow\"` and "
        "`beamtagger tag --input beamtagger/data/example.txt ...` (bundled model, default "
        f"store, page cache warm) and a fresh `python -m pytest` of docs/library.md's "
        f"`{PIPELINE_TEST}` "
        f"(`beamtagger.testing`'s tiny tagger, run in NumPy: no TensorFlow import), {bytecode}.", "",
        "| what | median s | runs |", "|---|---|---|",
        f"| `python -c \"import tensorflow\"` | {report['tensorflow_median']:.2f} | "
        + ", ".join(f"{s:.2f}" for s in report["tensorflow_seconds"]) + " |",
        f"| `beamtagger tag`, 12-line demo, end to end | {report['demo_median']:.2f} | "
        + ", ".join(f"{s:.2f}" for s in report["demo_seconds"]) + " |",
        f"| `pytest`, docs/library.md's pipeline test, end to end | "
        f"{report['pipeline_test_median']:.2f} | "
        + ", ".join(f"{s:.2f}" for s in report["pipeline_test_seconds"]) + " |",
        "| the same test with `tiny_tagger.tensorflow_options` (TensorFlow runtime) | "
        f"{report['tensorflow_test_median']:.2f} | "
        + ", ".join(f"{s:.2f}" for s in report["tensorflow_test_seconds"]) + " |", "",
        "| what | measured | target | verdict |", "|---|---|---|---|",
        f"| demo / import tensorflow | {report['ratio']:.2f} | <= {TARGET_RATIO} | {verdict} |",
        f"| pipeline test - import tensorflow | {extra:+.2f} s | <= +{TARGET_TEST_EXTRA_SECONDS:.0f}"
        f" s | {test_verdict} |",
        "| the same with the TensorFlow runtime - import tensorflow | "
        f"{report['tensorflow_test_median'] - report['tensorflow_median']:+.2f} s | (not a "
        "target) | |",
        "", "Timeline of one more demo run (seconds since the process was created; the tagger "
        "loads on a background thread while the runner starts and the records are read):", "",
        bench_common.markdown_table(["when", "event"], rows)])


if __name__ == "__main__":
    sys.exit(main())
