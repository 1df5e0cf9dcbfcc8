"""TagText under the type-check options users turn on: Beam's runtime checks, batch and streaming,
and the element types a user's next step is checked against when the pipeline is built."""
import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.typehints.decorators import TypeCheckError

from beamtagger.transforms import DeadLetter, TaggedRecord, TagText, TextRecord

# One record of each way through TagText: whole, cut into chunks and stitched, without tokens,
# and two dead letters (tokenize: too long; featurize: a lone surrogate).
RECORDS = [TextRecord("short", "The cat sat."), TextRecord("long", " ".join(["dog"] * 40)),
           TextRecord("empty", "   "), TextRecord("surrogate", "bad \udc80 text"),
           TextRecord("big", "x " * 150)]
TAGGED = ["short", "long", "empty"]
DEAD = [("surrogate", "featurize"), ("big", "tokenize")]
SMALL = {"chunk": 16, "overlap": 4, "max_record_chars": 200}


def _assert_every_record_comes_out(out):
    assert_that(out.tagged | beam.Map(lambda record: record.id), equal_to(TAGGED))
    assert_that(out.errors | beam.Map(lambda letter: (letter.source, letter.stage)),
                equal_to(DEAD), label="dead letters")


@pytest.mark.parametrize("check", ["--runtime_type_check", "--performance_runtime_type_check"])
def test_every_kind_of_record_comes_out_under_a_runtime_type_check(tiny_tagger, check):
    # Failed on the first dead letter: Beam checked it against the main output's hint.
    options = PipelineOptions([check, "--runner=FnApiRunner"])
    with beam.Pipeline(options=options) as p:
        _assert_every_record_comes_out(
            p | beam.Create(RECORDS) | TagText(**tiny_tagger.options, **SMALL))


@pytest.mark.parametrize("check", ["--runtime_type_check", "--performance_runtime_type_check"])
def test_streaming_under_a_runtime_type_check(tiny_tagger, check):
    # --runtime_type_check failed while the pipeline was built (BucketByLength's timer
    # callback, named with a leading "_", was hidden by Beam's type-checking wrapper).
    stream = test_stream.TestStream().add_elements(RECORDS).advance_watermark_to_infinity()
    with beam.Pipeline(options=PipelineOptions([check, "--streaming"])) as p:
        _assert_every_record_comes_out(p | stream | TagText(
            **tiny_tagger.options, **SMALL, max_buffering_secs=1))


def test_the_outputs_declare_their_element_types(tiny_tagger):
    p = beam.Pipeline()
    out = p | beam.Create(RECORDS) | TagText(**tiny_tagger.options)
    assert out.tagged.element_type is TaggedRecord
    assert out.errors.element_type is DeadLetter
    # A next step whose hints do not fit is refused where it is applied, not at run time.
    with pytest.raises(TypeCheckError, match="TaggedRecord"):
        _ = out.tagged | beam.Map(len).with_input_types(str)
    with pytest.raises(TypeCheckError, match="DeadLetter"):
        _ = out.errors | "ErrorLength" >> beam.Map(len).with_input_types(str)
    # And one that fits type-checks and runs.
    _ = out.tagged | "Ids" >> beam.Map(lambda record: record.id).with_input_types(
        TaggedRecord).with_output_types(str)


def test_streaming_outputs_declare_their_element_types(tiny_tagger):
    stream = test_stream.TestStream().add_elements(RECORDS[:1]).advance_watermark_to_infinity()
    out = beam.Pipeline(options=PipelineOptions(["--streaming"])) | stream | TagText(
        **tiny_tagger.options, max_buffering_secs=1)
    assert out.tagged.element_type is TaggedRecord
    assert out.errors.element_type is DeadLetter


def test_a_users_typed_step_on_tagged_sees_no_dead_letter_under_the_performance_check(
        tiny_tagger, monkeypatch):
    # --performance_runtime_type_check holds every output of the step that makes the tagged
    # records to the hints of each step reading any of its outputs: a dead letter of that step
    # (its result could not be built) failed the job at a user's step typed TaggedRecord.
    from beamtagger.transforms import tag

    built = tag.tagged_records

    def failing_for_short(tagged, rows=None):
        records = built(tagged, rows)
        if any(record.id == "short" for record in records):
            raise ValueError("cannot build it")
        return records

    monkeypatch.setattr(tag, "tagged_records", failing_for_short)
    options = PipelineOptions(["--performance_runtime_type_check", "--runner=FnApiRunner"])
    with beam.Pipeline(options=options) as p:
        out = p | beam.Create(RECORDS) | TagText(**tiny_tagger.options, **SMALL)
        ids = out.tagged | "Ids" >> beam.Map(lambda record: record.id).with_input_types(
            TaggedRecord)
        assert_that(ids, equal_to(["long", "empty"]))
        assert_that(out.errors | beam.Map(lambda letter: (letter.source, letter.stage)),
                    equal_to(DEAD + [("short", "tag")]), label="dead letters")


def test_a_users_typed_step_on_tokenize_errors_is_not_held_to_the_tokenized_records(tiny_tagger):
    # Tokenize's records and dead letters leave one ParDo: a user's step typed DeadLetter on the
    # dead letters was held to every tokenized record under the performance check.
    from beamtagger.transforms import Tokenize

    options = PipelineOptions(["--performance_runtime_type_check", "--runner=FnApiRunner"])
    with beam.Pipeline(options=options) as p:
        out = p | beam.Create(RECORDS) | Tokenize(max_record_chars=200)
        stages = out.errors | "Stages" >> beam.Map(
            lambda letter: (letter.source, letter.stage)).with_input_types(DeadLetter)
        assert_that(stages, equal_to([("big", "tokenize")]))
