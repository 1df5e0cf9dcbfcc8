"""TagText on unbounded input without ``max_buffering_secs`` takes the block path (blocks of a
window's records at many timestamps, collected per bundle): under TestStream and the streaming
DirectRunner each record still comes out at its own timestamp, and none turns late on the way
to a window after TagText (a block and a batch are stamped with their records' earliest)."""
import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue

from beamtagger.transforms import TagText, TextRecord

# Three bundles of records at distinct timestamps, the watermark past each before the next;
# "long" ones are cut into chunks of 3 tokens and stitched.
GROUPS = [[(f"{g}-{k}", "x " * k + "They went home.", g * 100 + 10 * k) for k in range(4)]
          for g in range(3)]


def _id_and_timestamp(record, timestamp=beam.DoFn.TimestampParam):
    return record.id, float(timestamp)


def test_streaming_records_without_buffering_keep_their_timestamps_and_are_not_late(
        tiny_tagger):
    stream = test_stream.TestStream()
    for g, group in enumerate(GROUPS):
        stream = stream.add_elements([TimestampedValue(TextRecord(i, text), seconds)
                                      for i, text, seconds in group])
        stream = stream.advance_watermark_to(g * 100 + 99)
    stream = stream.advance_watermark_to_infinity()
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        out = p | stream | TagText(chunk=3, overlap=1, **tiny_tagger.options)
        assert_that(out.tagged | beam.Map(_id_and_timestamp),
                    equal_to([(i, float(s)) for group in GROUPS for i, _, s in group]))
        counts = (out.tagged | beam.WindowInto(window.FixedWindows(100))
                  | beam.combiners.Count.Globally().without_defaults()
                  | beam.Map(lambda n, w=beam.DoFn.WindowParam: (float(w.start), n)))
        assert_that(counts, equal_to([(0.0, 4), (100.0, 4), (200.0, 4)]), label="Counts")
