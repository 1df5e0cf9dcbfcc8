"""What ``TaggerModelHandler`` refuses, where RunInference is applied, of Beam's stateful
batching (``max_batch_duration_secs``): the pipelines in which Beam 2.77 and 2.78 lose records
or fail the run at its end.

``check_stateful_batching`` is called from the handler's ``validate_inference_args`` with the
options and the pipeline being applied to (``worker_threads.options_being_applied`` and
``pipeline_being_applied``). Each refusal below names the Beam issue behind it and the way
out; ``transforms_model_handler_test.py`` holds a Beam-only test of each loss, which will fail
once a Beam release keeps the records.
"""
import weakref
from typing import Any, Dict, Optional

from beamtagger.errors import BeamtaggerError
from beamtagger.worker_threads import runner_name, runner_of

__all__ = ["check_stateful_batching", "step_flushing_at_the_end_above"]

# --runner names (lower case, "Runner" left off) of Beam's direct runners.
_DIRECT_RUNNERS = ("direct", "bundlebaseddirect", "switchingdirect", "testdirect")
# The RunInference stages with max_batch_duration_secs applied so far to each pipeline being
# built: by the pipeline, or by its options where it is not known (Beam gives each pipeline its
# own copy of them).
_BATCH_DURATION_STAGES: "weakref.WeakKeyDictionary[Any, int]" = weakref.WeakKeyDictionary()


def check_stateful_batching(batching: Dict[str, Any], options, pipeline=None) -> None:
    """BeamtaggerError, one line, for RunInference options ``batching`` (BatchElements'
    kwargs) that lose records or fail the run on the runner of the pipeline with ``options``
    (``pipeline``: the Pipeline being applied to, where known; its runner object counts
    where the options name none). Nothing without ``max_batch_duration_secs``."""
    if batching.get("max_batch_duration_secs") is None:
        return
    runner = _runner_name(options, None if pipeline is None else pipeline.runner)
    refusal = (_min_batch_on_a_direct_runner(batching, runner)
               or _second_stage_on_the_fn_api_runner(runner, options, pipeline)
               or _below_an_end_flush(runner, pipeline))
    if refusal:
        raise BeamtaggerError(f"TaggerModelHandler: {refusal}")


def _min_batch_on_a_direct_runner(batching, runner) -> Optional[str]:
    """A ``min_batch_size`` above 1 with ``max_batch_duration_secs`` on the DirectRunner.

    Beam's stateful batching makes the DirectRunner run the pipeline on its
    BundleBasedDirectRunner, where a timer holds no watermark: the batch that the end of the
    input flushes (the window's end timer) reaches the steps below after their GroupByKeys
    have finished, so an ``assert_that`` sees none of its records and a ``WriteToText`` fails
    with a bare AssertionError (apache/beam#28716; Beam 2.77 and 2.78). A batch that reaches
    ``min_batch_size`` is flushed as it fills; one that waits for more than the input holds is
    flushed only at its end."""
    if batching.get("min_batch_size", 1) <= 1 or runner not in _DIRECT_RUNNERS:
        return None
    return (f"min_batch_size={batching['min_batch_size']} with max_batch_duration_secs loses "
            "records on the DirectRunner (Beam's direct runner sends the batch the end of the "
            "input flushes after the steps below have finished, apache/beam#28716): leave "
            "max_batch_duration_secs out (a batch pipeline does not need it), keep "
            "min_batch_size at 1, or run on Dataflow (Beam's Prism runner may not lose them; "
            "beamtagger is not tested on it)")


def _second_stage_on_the_fn_api_runner(runner, options, pipeline) -> Optional[str]:
    """A second RunInference with ``max_batch_duration_secs`` in one pipeline on the
    FnApiRunner.

    Each such RunInference batches by Beam's stateful BatchElements, whose DoFn has timers
    named "window_end" and "buffering_end". The FnApiRunner fuses two of them into one stage
    when they read the same input, or one reads the other's output, and keeps the timers of a
    stage in one buffer per timer name, not per step (apache/beam#21995): both steps' timers
    fire in one of them, and the other never flushes the batch it holds when the input ends.
    Which step they reach follows the order of a set of step names, so of str hashes, which
    differ from process to process. Of 150 records (Beam 2.78, RunInference with a
    ModelHandler returning its batch), one of two parallel stages silently lost 23 (or 51),
    its last batch, for 20 of 36 pairs of step names; two chained stages lost 21 to 57
    records, with or without length buckets, or failed with "A total of 1 time-pending
    bundles did not execute", in the processes tried. A Reshuffle before the second stage
    kept parallel stages whole, but chained ones still failed so. Beam's own
    ``BatchElements(max_batch_duration_secs=...)`` elsewhere in the pipeline has the same
    timers and is not seen here."""
    if runner != "fnapi":
        return None
    key = options if pipeline is None else pipeline
    stages = _BATCH_DURATION_STAGES[key] = _BATCH_DURATION_STAGES.get(key, 0) + 1
    if stages == 1:
        return None
    return ("a second RunInference with max_batch_duration_secs in one pipeline loses "
            "records on the FnApiRunner (the two stateful batchings share their timers, and "
            "one never flushes its last batch: apache/beam#21995): set max_batch_duration_secs "
            "on one RunInference only (a batch pipeline needs none)")


def _below_an_end_flush(runner, pipeline) -> Optional[str]:
    """A RunInference with ``max_batch_duration_secs`` on the DirectRunner, applied to records
    that a step above it flushes at the end of the input (``step_flushing_at_the_end_above``:
    another RunInference or ``BatchElements`` with ``max_batch_duration_secs``, a
    ``GroupIntoBatches``).

    On the DirectRunner's BundleBasedDirectRunner that step's last batch comes out once the
    input has ended (apache/beam#28716); the stateful batching below takes it in and flushes
    its own last batch later still, after the GroupByKeys below have finished: ``assert_that``
    misses records and a ``WriteToText`` fails with a bare AssertionError, with
    ``min_batch_size`` 1 too. Every record still reaches the steps right below. With Beam 2.78
    and ``max_batch_duration_secs=1`` on both stages (the handler, or a ModelHandler returning
    its batch), inputs of 8, 10, 16, 20, 40, 60, 150 and 1000 records failed so in every
    process tried (6 str hash seeds each for 150 and 1000), and 3, 4 and 100 ran whole: it
    fails where the second stage still holds a batch short of its size when the input ends.
    A GroupByKey between the two (``beam.Reshuffle()``) waits for the whole input and kept
    every record; so did two stages side by side, or no duration on the second. Only the
    stage that comes second is seen: a plain ``BatchElements(max_batch_duration_secs=...)`` or
    ``GroupIntoBatches`` below a RunInference with a duration fails alike."""
    if pipeline is None or runner not in _DIRECT_RUNNERS:
        return None
    step = step_flushing_at_the_end_above(pipeline.transforms_stack[-1])
    if step is None:
        return None
    return (f"max_batch_duration_secs on a RunInference below {step!r}, which flushes its "
            "last batch at the end of the input, fails the run on the DirectRunner (the last "
            "batch reaches the steps below after they have finished: assert_that misses it "
            "and WriteToText fails, apache/beam#28716): set max_batch_duration_secs on one of "
            "the two only (a batch pipeline needs none), or put a beam.Reshuffle() between "
            "them")


def step_flushing_at_the_end_above(applied) -> Optional[str]:
    """The full label of a step above the AppliedPTransform ``applied``, by its main inputs
    and with no GroupByKey between, whose DoFn has a watermark timer: a stateful
    ``BatchElements`` (``max_batch_duration_secs``, so RunInference's too) or a
    ``GroupIntoBatches`` flushing what it holds at the end of the window. None if there is
    none; a GroupByKey (``beam.Reshuffle``, ``CombinePerKey``) ends the search, since it waits
    for the whole input before it gives out anything."""
    import apache_beam as beam
    from apache_beam.transforms.timeutil import TimeDomain
    from apache_beam.transforms.userstate import get_dofn_specs

    to_visit, visited = list(applied.inputs), set()
    while to_visit:
        step = getattr(to_visit.pop(), "producer", None)
        if step is None or id(step) in visited or isinstance(step.transform, beam.GroupByKey):
            continue
        visited.add(id(step))
        if isinstance(step.transform, beam.ParDo) and any(
                timer.time_domain == TimeDomain.WATERMARK
                for timer in get_dofn_specs(step.transform.fn)[1]):
            return step.full_label
        to_visit.extend(step.inputs)
    return None


def _runner_name(options, runner=None) -> str:
    """The runner of a pipeline with ``options`` (``worker_threads.runner_of``: their
    ``--runner``, else the pipeline's ``runner`` object), lower case with "Runner" left off;
    "direct" for neither, Beam's default."""
    return (runner_name(runner_of(options, runner)) or "Direct").lower().removesuffix("runner")
