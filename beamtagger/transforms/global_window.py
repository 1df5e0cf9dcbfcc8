"""Streaming steps that group or keep state in the global window while every record keeps its own.

BucketByLength's batching and StitchChunks' stitching gather elements of many records (a batch)
or of one record over time (its chunks). Done in the user's windows, a runner may drop what
arrives after the window's end plus its allowed lateness, or garbage-collect the state kept
for it (Beam's model allows both; Flink and Dataflow do), and a late record would be lost in
part or whole inside the tagger. So each element goes into the global window carrying its
window and timestamp in its value (``into_global_window``), the step runs there, where nothing
is late, and its DoFn gives each result its own window back (``in_own_window``) under the
input's windowing (``windowed_as``). Whether a late record counts is for the user's own
aggregations downstream.

The steps' own maps and DoFns move the elements between windows and the PCollections are
declared under the windowing that holds them, as Beam's own Reshuffle does
(``transforms/util.py``), instead of WindowInto steps before and after them: a WindowInto into
the global window, and one back plus a DoFn keeping each output in its own window only (a
record in two sliding windows was assigned to both again), were nine of the 23 steps of a
streaming TagText, and Beam's DirectRunner pays its per-bundle work for every step
(BENCHMARKS.md, "Streaming: long records stitched in the global window").
"""
import apache_beam as beam
from apache_beam.transforms.core import Windowing
from apache_beam.transforms.window import GlobalWindow, GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

__all__ = ["GLOBAL_WINDOWING", "in_own_window", "into_global_window", "refuse_merging_windows",
           "windowed_as"]

# The windows of a WindowedValue in the global window.
GLOBAL_WINDOWS = (GlobalWindow(),)
# A stateful DoFn needs no trigger: the global window's default one.
GLOBAL_WINDOWING = Windowing(GlobalWindows())


def into_global_window(key, value, timestamp=beam.DoFn.TimestampParam,
                       window=beam.DoFn.WindowParam):
    """For ``beam.MapTuple``, then ``windowed_as`` a global windowing: (key, value) -> (key,
    (value, timestamp micros, window)) in the global window at its own timestamp, one element
    a window (an element in two sliding windows becomes two)."""
    return WindowedValue((key, (value, timestamp.micros, window)), timestamp, GLOBAL_WINDOWS)


def in_own_window(value, timestamp, own_window):
    """What a DoFn in the global window outputs for a value of the window it came in: that
    window only, not every window of its timestamp (a sliding window's neighbour already has
    a value of its own)."""
    return WindowedValue(value, timestamp, (own_window,))


def windowed_as(pcoll, windowing):
    """``pcoll`` declared under ``windowing`` (window fn, trigger, accumulation mode, allowed
    lateness), whose elements its producer put in their windows itself (``into_global_window``,
    ``in_own_window``); what runners read to group it (``pcoll.windowing``), as a WindowInto
    would have declared it."""
    pcoll._windowing = windowing    # noqa: SLF001  (Beam's Reshuffle sets it the same way)
    return pcoll


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
