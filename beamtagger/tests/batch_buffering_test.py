"""max_buffering_secs in a batch pipeline over bounded input: left out, with an INFO line, where
its trigger failed the run on Beam's DirectRunner (no clock for AfterProcessingTime in batch
mode: "'NoneType' object has no attribute 'time'"), so one pipeline runs over files in batch
and over Pub/Sub streaming."""
import logging

import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue

from beamtagger.tests.transforms_bucket_test import segment
from beamtagger.transforms import TagText, TextRecord
from beamtagger.transforms.bucket import BucketByLength, buffering_secs_on

TEXTS = {"s1": "I like green apples.", "s2": "They went home yesterday.",
         "s3": "Rain again", "empty": ""}


def test_tag_text_with_max_buffering_secs_tags_a_batch_pipelines_records(tiny_tagger, caplog):
    expected = [(record_id, tuple(tiny_tagger.labels(text))) for record_id, text in TEXTS.items()]
    caplog.set_level(logging.INFO, logger="beamtagger.transforms.bucket")
    with beam.Pipeline() as p:
        records = (p | beam.Create([TimestampedValue(TextRecord(i, text), 65 * n)
                                    for n, (i, text) in enumerate(TEXTS.items())])
                   | beam.WindowInto(window.FixedWindows(60)))
        out = records | TagText(max_buffering_secs=5, **tiny_tagger.options)
        assert_that(out.tagged | beam.Map(lambda r: (r.id, tuple(r.labels))), equal_to(expected))
        # Each record stays in its own window, as it would have without the option.
        assert_that(out.tagged | beam.Map(lambda r, w=beam.DoFn.WindowParam: (r.id, w.start)),
                    equal_to([(i, 60 * n) for n, i in enumerate(TEXTS)]), label="Windows")
        assert_that(out.errors, equal_to([]), label="NoErrors")
    said = [record.getMessage() for record in caplog.records
            if "max_buffering_secs" in record.getMessage()]
    assert said == ["beamtagger: TagText leaves max_buffering_secs=5 out: this batch pipeline's "
                    "input is bounded, and every partial batch goes out when its bundle ends"]


def test_bucket_by_length_with_max_buffering_secs_batches_bounded_input():
    with beam.Pipeline() as p:
        batches = (p | beam.Create([segment(3, "a"), segment(3, "b"), segment(5, "c")])
                   | BucketByLength(max_batch_tokens=1000, max_buffering_secs=1))
        assert_that(batches | beam.Map(lambda batch: sorted(len(s.tokens) for s in batch)),
                    equal_to([[3, 3], [5]]))


def test_the_option_is_kept_where_it_takes_effect():
    streaming = beam.Pipeline(options=StandardOptions(streaming=True))
    assert buffering_secs_on(streaming | beam.Create([1]), 5, "TagText") == 5
    batch = beam.Pipeline()
    bounded = batch | beam.Create([1])
    assert buffering_secs_on(bounded, 5, "TagText") is None
    assert buffering_secs_on(bounded, None, "TagText") is None
    # Unbounded input runs streaming on Dataflow whatever the option says.
    unbounded = beam.pvalue.PCollection(batch, is_bounded=False)
    assert buffering_secs_on(unbounded, 5, "TagText") == 5
