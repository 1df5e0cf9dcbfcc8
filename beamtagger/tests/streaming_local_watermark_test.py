"""What a user's windows after TagText see on the streaming DirectRunner (docs/library.md,
"Streaming"): with ``max_buffering_secs`` the watermark after TagText stays at the earliest
record's timestamp until the input ends, so a record that arrived behind the watermark is in
its window's on-time pane there; without it, in a late pane, as the input had it.

The cause is Beam's Python trigger driver (``trigger.GeneralTriggerDriver._output``, Beam
2.77 and 2.78), which the local runners use: after a pane of a window whose end the watermark
has not passed, under a trigger with an on-time pane, it keeps the grouping's watermark hold
"in case there is an empty pane that needs to be fired at the end of the window". The
batching groups in the global window under ``AfterWatermark(early=...)``, whose end is never
passed, so the first record's hold is kept for the life of the run. The Beam-only test below
fails once a Beam release releases the hold; the docs' paragraph goes then. (A trigger without
an on-time pane, ``Repeatedly(AfterProcessingTime)``, releases it, but this runner then drops
what the last pane held when the input ends: apache/beam#21260.)
"""
import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import trigger, window
from apache_beam.transforms.window import TimestampedValue

from beamtagger.transforms import TagText, TextRecord


def _first_then_late(first, late):
    """``first`` at 5 s; the watermark passes 130 and the processing time moves on; then
    ``late`` at 40 s, behind the watermark, in [0, 60) as ``first``."""
    return (TestStream().advance_watermark_to(0)
            .add_elements([TimestampedValue(first, 5)])
            .advance_processing_time(10)
            .advance_watermark_to(130)
            .advance_processing_time(10)
            .add_elements([TimestampedValue(late, 40)])
            .advance_processing_time(10)
            .advance_watermark_to_infinity())


def _panes(ids):
    """(window start, the pane's ids, late?) a pane of the user's windows of 60 s."""
    return (ids | beam.WindowInto(window.FixedWindows(60), allowed_lateness=1000)
            | beam.combiners.ToList().without_defaults()
            | beam.Map(lambda pane, w=beam.DoFn.WindowParam, p=beam.DoFn.PaneInfoParam:
                       (float(w.start), sorted(pane),
                        p.timing == beam.utils.windowed_value.PaneInfoTiming.LATE)))


def test_beams_local_trigger_driver_keeps_the_hold_of_a_global_window_with_an_on_time_pane():
    # Beam only: the second pane of the global window is stamped with the first pane's
    # earliest timestamp, 5, not its own element's 40: the hold was kept.
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        panes = (p | _first_then_late("a", "late")
                 | beam.WindowInto(
                     window.GlobalWindows(),
                     trigger=trigger.AfterWatermark(
                         early=trigger.Repeatedly(trigger.AfterProcessingTime(5))),
                     accumulation_mode=trigger.AccumulationMode.DISCARDING,
                     timestamp_combiner=window.TimestampCombiner.OUTPUT_AT_EARLIEST)
                 | beam.Map(lambda element: (0, element)) | beam.GroupByKey()
                 | beam.Map(lambda pane, t=beam.DoFn.TimestampParam: (pane[1], float(t))))
        assert_that(panes | beam.Filter(lambda pane: pane[0]),
                    equal_to([(["a"], 5.0), (["late"], 5.0)]))


def test_a_late_record_after_tag_text_is_in_a_late_pane_without_max_buffering_secs(
        tiny_tagger):
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        records = p | _first_then_late(TextRecord("a", "the cat sat ."),
                                       TextRecord("late", "they went home ."))
        out = records | TagText(**tiny_tagger.options)
        assert_that(_panes(out.tagged | beam.Map(lambda r: r.id)),
                    equal_to([(0.0, ["a"], False), (0.0, ["late"], True)]))

