"""What a long-lived process keeps as it tags again and again: one process runs the pipeline
test of docs/library.md (``TagText`` in a ``TestPipeline(runner=FnApiRunner())``) or
``RunInference(TaggerModelHandler)`` ``--runs`` times, and after every ``--every`` runs reads
its open file descriptors (/proc/self/fd), threads (/proc/self/task), resident memory (VmRSS),
the mappings of store files (/proc/self/maps lines under the store), logging handlers, atexit
handlers and the entries of its temporary folder (a fresh ``TMPDIR`` of its own, so other
processes' files are not counted; the staging folder of gs:// copies is below it).

``--refresh-model`` measures a RunInference handler copy switched to a new model (a copy of the
tiny model in a new folder, as ``watch_model_pattern`` reports them) before each run instead;
with ``--shared large_model`` or ``--shared model_copies`` (2 copies), RunInference's own DoFn
(Beam's ``_RunInferenceDoFn``) makes the update, as a streaming job's model refresh does: the
model is then held through Beam's ``MultiProcessShared``, served from this process.

  python bench/lifetime_bench.py --runtime numpy --through tagtext --runs 200 --every 50
  python bench/lifetime_bench.py --runtime tensorflow --through runinference --runs 100
"""
import argparse
import atexit
import gc
import json
import logging
import os
import pathlib
import shutil
import sys
import tempfile
import time


def atexit_handlers():
    """How many atexit handlers are registered (CPython's count, read through unregistering
    nothing: ``atexit._ncallbacks``)."""
    return atexit._ncallbacks()


def snapshot(store_path, scratch):
    maps = pathlib.Path("/proc/self/maps").read_text().splitlines()
    rss_kib = next(int(line.split()[1]) for line in
                   pathlib.Path("/proc/self/status").read_text().splitlines()
                   if line.startswith("VmRSS:"))
    handlers = sum(len(logger.handlers) for logger in
                   [logging.getLogger()] + [item for item in
                                            logging.Logger.manager.loggerDict.values()
                                            if isinstance(item, logging.Logger)])
    return {"fds": len(os.listdir("/proc/self/fd")),
            "threads": len(os.listdir("/proc/self/task")),
            "rss_mib": round(rss_kib / 1024, 1),
            "store_maps": sum(str(store_path) in line for line in maps),
            "logging_handlers": handlers,
            "atexit_handlers": atexit_handlers(),
            "tmp_entries": sum(1 for _ in pathlib.Path(scratch).rglob("*"))}


def tag_text_run(tiny, runtime):
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from beamtagger.transforms import TagText, TextRecord

    with TestPipeline(runner=FnApiRunner()) as p:
        out = (p | beam.Create([TextRecord("a", "Beam tags this."),
                                TextRecord("b", "Fast tests.")])
               | TagText(**{**tiny.options, "runtime": runtime}))
        assert_that(out.tagged | beam.Map(lambda r: (r.id, len(r.labels))),
                    equal_to([("a", 4), ("b", 3)]))


def run_inference_run(handler):
    import apache_beam as beam
    from apache_beam.ml.inference.base import RunInference
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    with TestPipeline(runner=FnApiRunner()) as p:
        out = (p | beam.Create(["Beam tags this.", "Fast tests."]) | RunInference(handler))
        assert_that(out | beam.Map(lambda r: len(r.inference.labels)), equal_to([4, 3]))


def refreshing_dofn(handler):
    """RunInference's DoFn over ``handler``, set up as a worker does."""
    from apache_beam.ml.inference.base import _RunInferenceDoFn

    class Clock:
        def time_ns(self):
            return time.time_ns()

    dofn = _RunInferenceDoFn(handler, Clock(), None, model_tag=f"lifetime-{os.getpid()}")
    dofn.setup()
    return dofn


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", default="numpy", choices=("numpy", "tensorflow", "jax"))
    parser.add_argument("--through", default="tagtext", choices=("tagtext", "runinference"))
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--shared", choices=("large_model", "model_copies"),
                        help="with --refresh-model: the handler shares its model across "
                             "processes, and RunInference's DoFn makes each update")
    parser.add_argument("--refresh-model", action="store_true",
                        help="switch a handler to a new copy of the model before each run "
                             "(its load_model, as RunInference does at an update)")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="lifetime-bench-")
    os.environ["TMPDIR"] = scratch
    tempfile.tempdir = None   # gettempdir() reads TMPDIR again
    logging.getLogger().setLevel(logging.ERROR)
    from beamtagger.testing import build_tiny_tagger
    from beamtagger.transforms.model_handler import TaggerModelHandler

    models = pathlib.Path(tempfile.mkdtemp(prefix="lifetime-models-"))
    try:
        tiny = build_tiny_tagger(models / "tiny")
        shared = {"large_model": {"large_model": True}, "model_copies": {"model_copies": 2},
                  None: {}}[args.shared]
        handler = TaggerModelHandler(**{**tiny.options, "runtime": args.runtime}, **shared)
        dofn = refreshing_dofn(handler) if args.shared else None
        rows = []
        started = time.perf_counter()
        for run in range(args.runs + 1):
            if run % args.every == 0:
                gc.collect()
                rows.append({"runs": run, "seconds": round(time.perf_counter() - started, 1),
                             **snapshot(tiny.store_path, scratch)})
                print(json.dumps(rows[-1]), flush=True)
            if run == args.runs:
                break
            if args.refresh_model:
                fresh = models / f"model-{run}"
                shutil.copytree(tiny.model_dir, fresh)
                if dofn is not None:
                    dofn.update_model(str(fresh))
                    (result,) = dofn._run_inference(["Beam tags this."], None)
                else:
                    handler.update_model_path(str(fresh))
                    model = handler.load_model()
                    (result,) = handler.run_inference(["Beam tags this."], model)
                    del model
                assert len(result.inference.labels) == 4
                shutil.rmtree(models / f"model-{run - 1}", ignore_errors=True)
            elif args.through == "tagtext":
                tag_text_run(tiny, args.runtime)
            else:
                run_inference_run(handler)
        first, last = rows[1] if len(rows) > 1 else rows[0], rows[-1]
        span = last["runs"] - first["runs"] or 1
        print("growth per run after the first checkpoint: " + json.dumps(
            {key: round((last[key] - first[key]) / span, 4) for key in last
             if key not in ("runs", "seconds")}))
    finally:
        shutil.rmtree(models, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
