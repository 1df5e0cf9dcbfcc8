"""BucketByLength: token budget, fine buckets (padding efficiency on EWT), streaming flushes."""
import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from beamtagger.corpus_readers import read_conllu
from beamtagger.tagging.length_buckets import check_batch_options, length_batches
from beamtagger.transforms.bucket import BucketByLength, bucket_length
from beamtagger.transforms.records import Segment


def segment(n, key="k"):
    return Segment(f"{key}{n}", tuple(f"w{i}" for i in range(n)))


def batch_shape(batch):
    return len(batch), max(len(s.tokens) for s in batch)


def test_buckets_are_exact_up_to_64_then_at_most_a_64th_wider_than_the_length():
    assert [bucket_length(n) for n in (1, 17, 64)] == [1, 17, 64]
    assert bucket_length(65) == 66 and bucket_length(130) == 132 and bucket_length(257) == 264
    for n in range(1, 5000):
        assert n <= bucket_length(n) <= n * (1 + 1 / 32)


@pytest.mark.parametrize("lengths,budget,widths,expected", [
    # Sorted by length (ties in input order), one bucket a batch, budget // length a batch:
    # 2-token records two a batch under 4 slots, a 5-token record over the budget alone.
    ([5, 2, 5, 2, 2], 4, None, [[1, 3], [4], [0], [2]]),
    # With a runtime's widths, lengths 1 to 4 share the 4-wide bucket: two a batch under 8.
    ([3, 2, 4, 1], 8, (4,), [[3, 1], [0, 2]]),
    ([3, 2, 4, 1], 8, None, [[3], [1], [0], [2]]),
    ([], 8, None, []),
])
def test_length_batches_are_the_sorted_indices_cut_by_bucket_and_budget(lengths, budget, widths,
                                                                        expected):
    # Tagger and the model handler batch by length_batches, which only TensorFlow-trained tests
    # checked: a mutant that yields nothing at all passed the fast tests.
    assert list(length_batches(lengths, budget, widths)) == expected


@pytest.mark.parametrize("max_batch_tokens", [1, 16384])
def test_any_whole_token_budget_from_1_is_taken(max_batch_tokens):
    assert check_batch_options(max_batch_tokens) is None


@pytest.mark.parametrize("max_batch_tokens", [0, -5, True, 1.5, "16384", float("inf")])
def test_a_token_budget_that_is_no_whole_number_from_1_is_refused(max_batch_tokens):
    with pytest.raises(ValueError, match=r"^max_batch_tokens must be a whole number of at "
                                         r"least 1, not "):
        check_batch_options(max_batch_tokens)


@pytest.mark.parametrize("secs", [0, -1, float("inf"), float("nan"), True, "5"])
def test_a_buffering_time_that_is_no_positive_finite_number_is_refused(secs):
    with pytest.raises(ValueError, match=r"^max_buffering_secs must be a positive number of "
                                         r"seconds, not "):
        check_batch_options(16384, secs)


@pytest.mark.parametrize("secs", [None, 0.001, 5, 86400.0])
def test_a_positive_finite_buffering_time_or_none_is_taken(secs):
    assert check_batch_options(16384, secs) is None


def test_batches_respect_the_token_budget_and_keep_every_segment():
    lengths = [3] * 25 + [7] * 9 + [100] * 3 + [300]
    with beam.Pipeline() as p:
        batches = (p | beam.Create([segment(n, f"r{i}-") for i, n in enumerate(lengths)])
                   | BucketByLength(max_batch_tokens=30))
        assert_that(batches | "Shapes" >> beam.Map(batch_shape)
                    | "Over" >> beam.Filter(lambda bt: bt[0] > 1 and bt[0] * bt[1] > 30),
                    equal_to([]), label="budget")
        assert_that(batches | "Count" >> beam.Map(len) | beam.CombineGlobally(sum),
                    equal_to([len(lengths)]), label="all kept")
        assert_that(batches | "Mixed" >> beam.Map(lambda b: len({len(s.tokens) for s in b}))
                    | "Max" >> beam.CombineGlobally(max), equal_to([1]), label="one length")


def test_bounded_batches_never_mix_windows():
    from apache_beam.transforms import window

    stamped = [TimestampedValue(segment(4, f"t{t}-"), t) for t in (1, 2, 3, 61, 62)]
    with beam.Pipeline() as p:
        batches = (p | beam.Create(stamped).with_output_types(Segment)
                   | beam.WindowInto(window.FixedWindows(60))
                   | BucketByLength(max_batch_tokens=400))
        ids_per_batch = batches | beam.Map(lambda b: sorted(s.key for s in b))
        assert_that(ids_per_batch, equal_to([["t1-4", "t2-4", "t3-4"], ["t61-4", "t62-4"]]))


@pytest.mark.slow
def test_padding_efficiency_on_ewt_train_is_at_least_095(shared_data):
    sentences = list(read_conllu(shared_data / "ud-english-ewt" / "en_ewt-ud-train.conllu"))
    assert len(sentences) > 10_000
    with beam.Pipeline() as p:
        shapes = (p | beam.Create([Segment(s.sent_id, s.tokens) for s in sentences])
                  | BucketByLength(max_batch_tokens=4096)
                  | beam.Map(lambda b: (sum(len(s.tokens) for s in b), batch_shape(b)))
                  | beam.combiners.ToList())

        def check(results):
            shape_list = results[0]
            real = sum(r for r, _ in shape_list)
            padded = sum(b * t for _, (b, t) in shape_list)
            assert real == sum(len(s.tokens) for s in sentences)
            assert real / padded >= 0.95, real / padded
            assert all(b * t <= 4096 for _, (b, t) in shape_list if b > 1)
        assert_that(shapes, check)


def assert_streaming_batches(stream, expected, windowing=None, **bucket_options):
    """``expected``: [(sorted keys of a batch, its window's start, None in the global window)]."""
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        segments = p | stream
        if windowing is not None:
            segments = segments | beam.WindowInto(windowing[0], allowed_lateness=windowing[1])
        batches = segments | BucketByLength(**bucket_options)
        described = batches | beam.Map(
            lambda b, w=beam.DoFn.WindowParam: (
                sorted(s.key for s in b),
                float(w.start) if isinstance(w, window.IntervalWindow) else None))
        assert_that(described, equal_to(expected))


def test_streaming_partial_batches_flush_after_the_buffering_time_of_the_test_stream_clock():
    stream = (test_stream.TestStream()
              .advance_watermark_to(Timestamp(0))
              .add_elements([TimestampedValue(segment(5, "a"), 1),
                             TimestampedValue(segment(5, "b"), 2)])
              .advance_processing_time(30)
              .add_elements([TimestampedValue(segment(5, "c"), 3)])
              .advance_processing_time(30)
              .advance_watermark_to_infinity())
    # The budget (200 segments of 5 tokens) is never reached: the buffering time flushes, as
    # TestStream's processing time says (no fake clock).
    assert_streaming_batches(stream, [
        (["a5", "b5"], None), (["c5"], None)], max_batch_tokens=1000, max_buffering_secs=10)


def test_streaming_without_processing_time_flushes_everything_when_the_input_ends():
    stream = (test_stream.TestStream()
              .advance_watermark_to(Timestamp(0))
              .add_elements([TimestampedValue(segment(5, "a"), 1)])
              .add_elements([TimestampedValue(segment(5, "b"), 2),
                             TimestampedValue(segment(3, "c"), 2)])
              .advance_watermark_to_infinity())
    assert_streaming_batches(stream, [
        (["a5", "b5"], None), (["c3"], None)], max_batch_tokens=1000, max_buffering_secs=10)


def test_streaming_batches_in_fixed_windows_keep_each_segment_in_its_own_window():
    stream = (test_stream.TestStream()
              .advance_watermark_to(Timestamp(0))
              .add_elements([TimestampedValue(segment(4, "a"), 1),
                             TimestampedValue(segment(4, "b"), 59)])
              .add_elements([TimestampedValue(segment(4, "c"), 61)])
              .advance_watermark_to_infinity())
    assert_streaming_batches(stream, [(["a4", "b4"], 0.0), (["c4"], 60.0)],
                             (window.FixedWindows(60), 0), max_batch_tokens=1000,
                             max_buffering_secs=5)


def test_streaming_late_segments_are_batched_not_dropped():
    stream = (test_stream.TestStream()
              .advance_watermark_to(Timestamp(0))
              .add_elements([TimestampedValue(segment(4, "a"), 1)])
              .advance_processing_time(10)
              .advance_watermark_to(Timestamp(200))
              # Behind the watermark: its window [0, 60) has closed.
              .add_elements([TimestampedValue(segment(4, "late"), 30)])
              .advance_processing_time(10)
              .advance_watermark_to_infinity())
    assert_streaming_batches(stream, [(["a4"], 0.0), (["late4"], 0.0)],
                             (window.FixedWindows(60), 0), max_batch_tokens=1000,
                             max_buffering_secs=5)


def test_streaming_batches_keep_the_inputs_windowing_allowed_lateness_included():
    # Beam's WindowInto(windowing) takes the window fn, trigger, accumulation mode and timestamp
    # combiner of ``windowing`` but not its allowed lateness: the batches had none, and so had
    # TagText's records, where the caller's own aggregations read it.
    p = beam.Pipeline(options=StandardOptions(streaming=True))
    segments = (p | beam.Create([segment(3)])
                | beam.WindowInto(window.FixedWindows(10), allowed_lateness=300))
    batches = segments | BucketByLength(max_buffering_secs=1)
    assert batches.windowing.allowed_lateness == 300
    assert batches.windowing == segments.windowing


def test_streaming_batches_respect_the_token_budget():
    stream = (test_stream.TestStream()
              .advance_watermark_to(Timestamp(0))
              .add_elements([TimestampedValue(segment(10, f"r{i}-"), i) for i in range(7)])
              .advance_watermark_to_infinity())
    # 3 segments of 10 tokens a batch; the pane is cut in arrival order.
    assert_streaming_batches(stream, [(["r0-10", "r1-10", "r2-10"], None),
                                      (["r3-10", "r4-10", "r5-10"], None), (["r6-10"], None)],
                             max_batch_tokens=30, max_buffering_secs=5)


def test_sessions_are_refused_in_streaming():
    import pytest
    with pytest.raises(ValueError, match="non-merging windows"):
        with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
            _ = (p | beam.Create([segment(3)]) | beam.WindowInto(window.Sessions(10))
                 | BucketByLength(max_buffering_secs=1))


def test_a_bundle_holds_at_most_max_buffered_tokens_and_sends_out_its_fullest_batch():
    from apache_beam.transforms.window import GlobalWindow
    from apache_beam.utils.windowed_value import WindowedValue

    from beamtagger.transforms.bucket import _CollectBatchesInBundleFn

    collect = _CollectBatchesInBundleFn(max_batch_tokens=100, max_buffered_tokens=30)
    collect.start_bundle()
    lengths = [2, 5, 5, 2, 5, 3, 2, 5, 3, 5, 2, 5, 3]
    out = []
    for i, n in enumerate(lengths):
        out.extend(collect.process(segment(n, f"r{i}-"), window=GlobalWindow()))
        assert collect._buffered_tokens <= 30
    early = [value.value for value in out]
    # 32 tokens with the 9th segment: the fullest bucket (four 5-token segments) goes out.
    assert [[len(s.tokens) for s in batch] for batch in early] == [[5] * 4]
    rest = [value.value for value in collect.finish_bundle()]
    # The count goes back to nothing with the buffers: a count that started off by one held
    # every bound of the bundle one token early or late.
    assert (collect._buffered_tokens, collect._buffers, collect._records) == (0, {}, {})
    assert all(isinstance(value, WindowedValue) for value in out)
    batches = early + rest
    assert sorted(s.key for batch in batches for s in batch) == sorted(
        f"r{i}-{n}" for i, n in enumerate(lengths))
    assert all(len({len(s.tokens) for s in batch}) == 1 for batch in batches)


def test_a_bundle_holding_exactly_max_buffered_tokens_sends_nothing_out_early():
    from apache_beam.transforms.window import GlobalWindow

    from beamtagger.transforms.bucket import _CollectBatchesInBundleFn

    collect = _CollectBatchesInBundleFn(max_batch_tokens=100, max_buffered_tokens=30)
    collect.start_bundle()
    early = [batch for i in range(6)
             for batch in collect.process(segment(5, f"r{i}-"), window=GlobalWindow())]
    assert (early, collect._buffered_tokens) == ([], 30)
    early = list(collect.process(segment(2, "r6-"), window=GlobalWindow()))
    assert [len(batch.value) for batch in early] == [6]


def test_a_streaming_pane_of_segments_over_half_the_budget_is_cut_into_batches_of_one():
    from apache_beam.transforms.window import GlobalWindow

    from beamtagger.transforms.bucket import _CutPaneFn

    pane = ((60, 0), [(segment(60, "a"), 2_000_000, GlobalWindow()),
                      (segment(60, "b"), 1_000_000, GlobalWindow())])
    batches = list(_CutPaneFn(max_batch_tokens=100).process(pane))
    assert [[s.key for s in batch.value] for batch in batches] == [["a60"], ["b60"]]
    assert [batch.timestamp.micros for batch in batches] == [2_000_000, 1_000_000]


def test_max_buffered_tokens_below_the_budget_is_refused():
    import pytest
    with pytest.raises(ValueError, match="max_buffered_tokens"):
        BucketByLength(max_batch_tokens=100, max_buffered_tokens=50)


def test_beams_type_check_refuses_a_text_record_passed_into_bucket_by_length():
    import pytest
    from apache_beam.typehints.decorators import TypeCheckError

    from beamtagger.transforms import TextRecord

    with pytest.raises(TypeCheckError, match="BucketByLength.*Segment.*TextRecord"):
        with beam.Pipeline() as p:
            _ = p | beam.Create([TextRecord("a", "some text")]) | BucketByLength()


def test_widths_that_cannot_be_iterated_are_refused_naming_the_parameter():
    with pytest.raises(ValueError, match=r"^widths must be a list of whole numbers, not 5$"):
        BucketByLength(widths=5)


def test_widths_are_taken_from_a_list_a_tuple_or_a_generator():
    import numpy as np

    for widths in ([8, 16], (8, 16), (width for width in (8, 16)), np.array([8, 16]),
                   [np.int32(8), 16]):
        taken = BucketByLength(widths=widths).widths
        assert taken == (8, 16) and all(type(width) is int for width in taken), taken


def test_widths_out_of_order_or_repeated_are_sorted():
    # Bisected as given, (16, 8) put a 10-token segment in a bucket 12 wide, off the grid.
    assert BucketByLength(widths=[16, 8, 16]).widths == (8, 16)


@pytest.mark.parametrize("widths,message", [
    # int() read these as 1 (1.5, True); none at all failed on the workers (IndexError).
    ([8, 1.5], r"^widths\[1\] must be a whole number of at least 1, not 1\.5$"),
    ([True, 8], r"^widths\[0\] must be a whole number of at least 1, not True$"),
    ([0, 8], r"^widths\[0\] must be a whole number of at least 1, not 0$"),
    (["8"], r"^widths\[0\] must be a whole number of at least 1, not '8'$"),
    ((), r"^widths must hold at least one width, not \(\)$"),
])
def test_widths_that_are_not_whole_numbers_are_refused_naming_the_item(widths, message):
    with pytest.raises(ValueError, match=message):
        BucketByLength(widths=widths)
