"""TagText's bounded path (blocks of records) keeps each record's own timestamp and window, as
its streaming path does: whole records, long ones (chunked and stitched), empty ones and dead
letters alike, so that a window after TagText counts each record where it belongs."""
import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue

from beamtagger.transforms import TagText, TextRecord

# id -> (text, its timestamp in seconds); "long" is cut into chunks of 3 tokens, "huge" is
# longer than max_record_chars (a dead letter of stage tokenize).
RECORDS = {"a": ("I like green apples.", 10), "b": ("They went home.", 110),
           "long": ("They went home yesterday and it rained all day.", 250),
           "empty": ("", 370), "huge": ("x" * 60, 490)}
OPTIONS = {"chunk": 3, "overlap": 1, "max_record_chars": 50}


def _stamped(p):
    return p | beam.Create([TimestampedValue(TextRecord(i, text), seconds)
                            for i, (text, seconds) in RECORDS.items()])


def _id_and_timestamp(record, timestamp=beam.DoFn.TimestampParam):
    return getattr(record, "id", None) or record.source, float(timestamp)


def _id_and_window_start(record, own_window=beam.DoFn.WindowParam):
    return getattr(record, "id", None) or record.source, float(own_window.start)


def test_records_in_the_global_window_keep_their_own_timestamps(tiny_tagger):
    with beam.Pipeline() as p:
        out = _stamped(p) | TagText(**OPTIONS, **tiny_tagger.options)
        assert_that(out.tagged | beam.Map(_id_and_timestamp),
                    equal_to([(i, float(s)) for i, (_, s) in RECORDS.items() if i != "huge"]))
        assert_that(out.errors | "Errors" >> beam.Map(_id_and_timestamp),
                    equal_to([("huge", 490.0)]), label="ErrorTimes")
        # A window after TagText counts each record in its own hour... of minutes here.
        counts = (out.tagged | beam.WindowInto(window.FixedWindows(100))
                  | beam.combiners.Count.Globally().without_defaults()
                  | beam.Map(lambda n, w=beam.DoFn.WindowParam: (float(w.start), n)))
        assert_that(counts, equal_to([(0.0, 1), (100.0, 1), (200.0, 1), (300.0, 1)]),
                    label="Counts")


def test_records_in_fixed_windows_keep_their_own_timestamps_and_windows(tiny_tagger):
    with beam.Pipeline() as p:
        out = (_stamped(p) | beam.WindowInto(window.FixedWindows(60))
               | TagText(**OPTIONS, **tiny_tagger.options))
        tagged = [(i, float(s)) for i, (_, s) in RECORDS.items() if i != "huge"]
        assert_that(out.tagged | beam.Map(_id_and_timestamp), equal_to(tagged))
        assert_that(out.tagged | "Windows" >> beam.Map(_id_and_window_start),
                    equal_to([(i, s // 60 * 60) for i, s in tagged]), label="TaggedWindows")
        assert_that(out.errors | "Errors" >> beam.Map(_id_and_timestamp),
                    equal_to([("huge", 490.0)]), label="ErrorTimes")
        assert_that(out.errors | "ErrorWindows" >> beam.Map(_id_and_window_start),
                    equal_to([("huge", 480.0)]), label="ErrorWindows")


def test_records_of_one_window_at_many_timestamps_share_a_block():
    # One open block a window, whatever its records' timestamps: it carries each record's
    # own and is stamped with the earliest (not the first), behind none of them.
    from apache_beam.transforms.window import GlobalWindow
    from apache_beam.utils.timestamp import Timestamp

    from beamtagger.transforms import blocks

    collect = blocks._CollectBlocksFn(own_timestamps=True)
    collect.start_bundle()
    seconds = [(37 * n) % 200 + 5 for n in range(200)]   # 200 distinct, shuffled
    out = [value for n, s in enumerate(seconds)
           for value in collect.process(TextRecord(str(n), "a b"), GlobalWindow(),
                                        Timestamp(s))]
    out += list(collect.finish_bundle())
    [block] = out
    assert [record.id for record in block.value] == [str(n) for n in range(200)]
    assert block.value.timestamps == [s * 1_000_000 for s in seconds]
    assert block.timestamp == Timestamp(5)


def test_records_each_in_their_own_window_are_not_held_to_the_bundles_end():
    # One open block a window: records each in their own window fill none, so a bundle held
    # all its records until its end; past OPEN_BLOCKS they all go out.
    from apache_beam.transforms.window import IntervalWindow
    from apache_beam.utils.timestamp import Timestamp

    from beamtagger.transforms import blocks

    collect = blocks._CollectBlocksFn(own_timestamps=True)
    collect.start_bundle()
    records = [TextRecord(str(n), "a b") for n in range(3 * blocks.OPEN_BLOCKS)]
    out = [value for n, record in enumerate(records)
           for value in collect.process(record, IntervalWindow(n, n + 1), Timestamp(n))]
    assert len(out) >= 2 * blocks.OPEN_BLOCKS and len(collect._blocks) <= blocks.OPEN_BLOCKS
    out += list(collect.finish_bundle())
    assert [(value.value[0].id, value.timestamp, value.value.timestamps) for value in out] == [
        (record.id, Timestamp(n), [n * 1_000_000]) for n, record in enumerate(records)]


def _length_and_timestamps(block, timestamp=beam.DoFn.TimestampParam):
    return len(block), block.timestamps, float(timestamp)


def test_records_at_200_timestamps_are_tokenized_in_one_block_that_keeps_theirs():
    # Each record at its own timestamp made a block of its own (1.3x the CPU of records at
    # one timestamp, BENCHMARKS.md); now the records of a window share blocks, each keeping
    # its own timestamp (the tests above: each result leaves at it). "huge" is a dead letter
    # at its own timestamp, out of a shared block.
    from beamtagger.transforms.blocks import CollectRecordBlocks
    from beamtagger.transforms.tokenize import Tokenize

    records = [TimestampedValue(TextRecord(str(n), "x" * 60 if n == 7 else "They went home."),
                                1000 - n) for n in range(200)]
    with beam.Pipeline() as p:
        tokenized = (p | beam.Create(records, reshuffle=False)
                     | CollectRecordBlocks(own_timestamps=True) | Tokenize(blocks=True,
                                                                            max_record_chars=50))
        assert_that(tokenized.records | beam.Map(_length_and_timestamps),
                    equal_to([(199, [(1000 - n) * 1_000_000 for n in range(200) if n != 7],
                               801.0)]))
        assert_that(tokenized.errors | beam.Map(_id_and_timestamp), equal_to([("7", 993.0)]),
                    label="ErrorTimes")
