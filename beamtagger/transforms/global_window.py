"""Streaming steps that group or keep state in the global window while every record keeps its own.

BucketByLength's batching and StitchChunks' stitching gather elements of many records (a batch)
or of one record over time (its chunks). Done in the user's windows, a runner may drop what
arrives after the window's end plus its allowed lateness, or garbage-collect the state kept
for it (Beam's model allows both; Flink and Dataflow do), and a late record would be lost in
part or whole inside the tagger. So each element carries its window and timestamp in its value
(``with_own_window``), the step runs in the global window, where nothing is late, and
``RestoreWindowing`` gives the results back the input's windowing and their own windows.
Whether a late record counts is for the user's own aggregations downstream.
"""
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow

__all__ = ["RestoreWindowing", "refuse_merging_windows", "with_own_window"]


def with_own_window(key, value, timestamp=beam.DoFn.TimestampParam,
                    window=beam.DoFn.WindowParam):
    """For ``beam.MapTuple``: (key, value) -> (key, (value, timestamp micros, window)), one
    element a window (an element in two sliding windows becomes two)."""
    return key, (value, timestamp.micros, window)


def refuse_merging_windows(windowing, transform):
    """ValueError, where the pipeline is built, for merging windows (sessions): their windows
    are merged by the key of a GroupByKey, which the grouping in the global window is not."""
    if windowing.windowfn.is_merging():
        raise ValueError(
            f"{transform} needs non-merging windows such as FixedWindows, SlidingWindows or "
            f"GlobalWindows, not {type(windowing.windowfn).__name__}: records are grouped in "
            "the global window, by length or by record, not by the key that sessions are "
            "merged on; window into sessions after tagging (each record keeps its own "
            "timestamp)")


class RestoreWindowing(beam.PTransform):
    """Timestamped (window, value) in the global window -> each value in that window only,
    under ``windowing`` (window fn, trigger, accumulation mode, allowed lateness).

    Args:
      windowing: the input's windowing strategy (``pcoll.windowing``) to put back.
      output_type: the values' type hint (an Arrow batch needs its own coder).
    """

    def __init__(self, windowing, output_type=Any):
        super().__init__()
        self.windowing = windowing
        self.output_type = output_type

    def expand(self, in_global_window):
        return (
            in_global_window
            # allowed_lateness given again: WindowInto(windowing) takes the rest of it, not that.
            | "AsInput" >> beam.WindowInto(self.windowing,
                                           allowed_lateness=self.windowing.allowed_lateness)
            | "KeepOwnWindow" >> beam.ParDo(_KeepOwnWindowFn()).with_output_types(
                self.output_type))


class _KeepOwnWindowFn(beam.DoFn):
    """(the window the value came in, value) -> the value, in that window only.

    WindowInto assigns each value the windows of its timestamp: one, for fixed windows, but
    every window that holds it for overlapping ones (SlidingWindows), where each of a record's
    windows already has a value of its own: without this, a record in two sliding windows came
    out four times, and its long records' chunks were stitched twice over."""

    def process(self, element, window=beam.DoFn.WindowParam):
        own_window, value = element
        if window == own_window:
            yield value


# The windows of a WindowedValue a DoFn in the global window outputs itself (finish_bundle).
GLOBAL_WINDOWS = (GlobalWindow(),)
