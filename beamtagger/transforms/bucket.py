"""BucketByLength: segments -> batches of similar length under a token budget.

A batch of bucket length L holds at most ``max_batch_tokens // L`` segments, so the padded slots
(B x T) of every batch, and with them memory per batch, are bounded however long the records are.

Two strategies, by how the input ends:

* Bounded input (``max_buffering_secs=None``): batches are collected inside each bundle, one
  buffer per bucket length; when the buffers hold ``max_buffered_tokens`` (default 16
  budgets) the fullest goes out, and what is left is flushed in ``finish_bundle`` (as
  BatchElements does). No shuffle, no state. Measured against a stateful DoFn (an earlier
  design) on EWT train text (bench/throughput_bench.py, 2 cores): 205k tokens in-process
  14.7 -> 11.3 s, 1M tokens with two worker processes 43.6 -> 34.0 s. The stateful version
  held every segment until the end of input and released all batches from one end-of-input
  timer bundle, so one worker ran 91% of the model work; Beam also sized its state cache with
  objsize (1.6 s of 16.6 profiled).
* Streaming (``max_buffering_secs`` set): segments are keyed by (length bucket, shard) and
  grouped under a trigger that fires ``max_buffering_secs`` (processing time) after a pane's
  first segment and when the input ends; each pane is cut into batches of one Beam window
  each under the budget (see ``_BatchInPanes`` for why a trigger and not timers). Why
  not ``GroupIntoBatches.WithShardedKey``: it has one batch size for every key, while a token
  budget needs ``max_batch_tokens // length`` records for each length; and its buffering timer
  is set from the wall clock. The sharding is the same idea: the shard is the worker thread,
  so one very common length is batched on every worker instead of funnelling through one hot
  key.

The buckets and the budget are ``tagging/length_buckets.py``'s (``bucket_length``,
``length_batches``), which RunInference's handler and ``beamtagger.Tagger`` batch by too.
"""
import logging
import math
import random
import threading
from typing import Any, List, Optional, Tuple

import apache_beam as beam
import numpy as np
from apache_beam import typehints
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.transforms import trigger, window
from apache_beam.transforms.core import Windowing
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import TimerSpec, on_timer
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from beamtagger.tagging.record_batches import segment_timestamps
from beamtagger.tagging.length_buckets import (bucket_length, check_batch_options,
                                               length_batches)
from beamtagger.transforms.blocks import Block
from beamtagger.transforms.global_window import (in_own_window, into_global_window,
                                                 refuse_merging_windows, windowed_as)
from beamtagger.transforms.token_blocks import (ByLength, SegmentBlock, WholeRecords,
                                                entry_segments)
from beamtagger.transforms.records import Segment

# bucket_length, check_batch_options and length_batches are tagging/length_buckets.py's (no
# Beam there: beamtagger.Tagger batches by them), re-exported.
__all__ = ["BucketByLength", "DEFAULT_MAX_BATCH_TOKENS", "bucket_length", "buffering_secs_on",
           "check_batch_options", "length_batches"]

from beamtagger import tagging_defaults

DEFAULT_MAX_BATCH_TOKENS = tagging_defaults.MAX_BATCH_TOKENS
# Bounded input: how many budgets' worth of tokens a bundle buffers before it sends out its
# fullest partial batch (see _CollectBatchesInBundleFn).
BUFFERED_BATCHES = 16

# Per process, like GroupIntoBatches.WithShardedKey's uuid prefix: with the thread id it makes
# one shard per worker thread.
_PROCESS_SHARD = random.getrandbits(31)


# Output hints stay Any: a NamedTuple element type would make Beam encode the PCollection with
# a schema RowCoder, which cannot describe the records' free-form ``fields`` dict.
@typehints.with_input_types(Segment)
@typehints.with_output_types(List[Any])
class BucketByLength(beam.PTransform):
    """Segment -> list of Segments of one length bucket, with ``len(batch) x bucket <= budget``.

    Batches never mix Beam windows; each is stamped inside its window.

    Args:
      max_batch_tokens: the token budget: padded slots (batch size x bucket length) of a batch.
        A segment longer than the budget goes out alone.
      max_buffering_secs: streaming: how long (processing time, as the runner keeps it) a
        partial batch may wait for more segments of its length; rounded up to whole
        seconds. None: bounded input, batches are collected within each bundle. Given to a
        batch pipeline's bounded input, it is left out (``buffering_secs_on``).
      max_buffered_tokens: bounded input: the tokens a bundle may hold before its fullest
        partial batch goes out (default 16 budgets).
      blocks: internal (``TagText``'s bounded path): the input is SegmentBlocks and the
        batches hold whole records as ``token_blocks.WholeRecords`` (the records of one length
        in a block); bounded input only. Where the blocks carry their records' own
        timestamps (``TagText``: ``blocks.CollectRecordBlocks(own_timestamps=True)``), the
        batches carry them (AttachVectors makes them a ``timestamp`` column) and are stamped
        with their earliest.
      widths: bucket by these widths instead of exact lengths up to 64: the compiled widths
        of a runtime that pads batches to a fixed grid of shapes
        (``runtimes.bucket_widths("jax")``), so its full batches are already on the grid.
        Whole numbers of at least 1, kept sorted without repeats
        (``tagging_defaults.check_widths``).
    """

    def __init__(self, max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
                 max_buffering_secs: Optional[float] = None,
                 max_buffered_tokens: Optional[int] = None, blocks: bool = False,
                 widths: Optional[Tuple[int, ...]] = None):
        super().__init__()
        self.widths = None if widths is None else tagging_defaults.check_widths("widths", widths)
        check_batch_options(max_batch_tokens, max_buffering_secs)
        self.max_batch_tokens = max_batch_tokens
        # A str failed as "'<' not supported between instances of 'str' and 'int'", and NaN or
        # inf passed the comparison below (fuzzing the transforms' arguments).
        self.max_buffered_tokens = (BUFFERED_BATCHES * max_batch_tokens
                                    if max_buffered_tokens is None else
                                    tagging_defaults.check_whole_number(
                                        "max_buffered_tokens", max_buffered_tokens, 1))
        if self.max_buffered_tokens < max_batch_tokens:
            raise ValueError(f"max_buffered_tokens ({self.max_buffered_tokens}) must be at least "
                             f"max_batch_tokens ({max_batch_tokens})")
        self.max_buffering_secs = max_buffering_secs
        if blocks and max_buffering_secs is not None:
            raise ValueError("blocks of segments are batched on bounded input only")
        self.blocks = blocks
        if blocks:
            self.with_input_types(SegmentBlock).with_output_types(Block)

    def expand(self, segments):
        if buffering_secs_on(segments, self.max_buffering_secs, "BucketByLength") is None:
            if self.blocks:
                collect = _CollectBatchesFromBlocksFn(self.max_batch_tokens,
                                                      self.max_buffered_tokens, self.widths)
            else:
                collect = _CollectBatchesInBundleFn(self.max_batch_tokens,
                                                    self.max_buffered_tokens, self.widths)
            return segments | "CollectBatches" >> beam.ParDo(collect).with_output_types(
                Block if self.blocks else List[Any])
        return segments | "CollectBatches" >> _BatchInPanes(
            self.max_batch_tokens, self.max_buffering_secs, self.widths)


def buffering_secs_on(pcoll, max_buffering_secs, transform):
    """``max_buffering_secs`` where it takes effect on ``pcoll``: in a streaming pipeline, or on
    unbounded input (which Dataflow runs as streaming whatever the option says); else None,
    with an INFO line saying so. A batch pipeline's bounded input sends every partial batch
    out at its bundle's end, so the limit has nothing to do there (as GroupIntoBatches'
    ``max_buffering_duration_secs`` in batch), and the trigger that keeps it failed there on
    Beam's DirectRunner, which gives ``AfterProcessingTime`` a clock in streaming mode only (a
    traceback at run time: "'NoneType' object has no attribute 'time'"). So one pipeline
    built with ``max_buffering_secs`` runs over files in batch and over Pub/Sub streaming."""
    if max_buffering_secs is None:
        return None
    if not pcoll.is_bounded or pcoll.pipeline.options.view_as(StandardOptions).streaming:
        return max_buffering_secs
    logging.getLogger(__name__).info(
        "beamtagger: %s leaves max_buffering_secs=%s out: this batch pipeline's input is "
        "bounded, and every partial batch goes out when its bundle ends", transform,
        max_buffering_secs)
    return None


def _length_key(segment, widths=None):
    shard = hash((_PROCESS_SHARD, threading.get_ident())) & 0x7FFFFFFF
    return bucket_length(len(segment.tokens), widths), shard


def _key_by_length_into_global_window(segment, widths=None, timestamp=beam.DoFn.TimestampParam,
                                      window=beam.DoFn.WindowParam):
    return into_global_window(_length_key(segment, widths), segment, timestamp, window)


class _CollectBatchesInBundleFn(beam.DoFn):
    """Bounded input: one buffer per (window, bucket length) within a bundle.

    When the buffers together hold more than ``max_buffered_tokens``, the fullest one goes out
    as a (partial) batch. That bounds the memory of a bundle of any size, and lets the model
    start before a large bundle ends: batches of common lengths otherwise wait for the budget
    until ``finish_bundle``. The bound is wide because a batch costs the tag stage a few ms
    whatever its size (bench/throughput_bench.py case D, 1M tokens in one bundle, 2 cores):
    2 budgets gave 1,211 batches and 33.9 s, 4 budgets 611 and 31.2 s, 16 budgets 170 and
    27.2 s, no bound 115 and 27.3 s.
    """

    _new_batch = list

    def __init__(self, max_batch_tokens, max_buffered_tokens, widths=None):
        self.max_batch_tokens = max_batch_tokens
        self.max_buffered_tokens = max_buffered_tokens
        self.widths = widths

    def start_bundle(self):
        self._buffers = {}   # (window, bucket length) -> the batch being filled
        self._records = {}   # the same key -> records in that batch
        self._buffered_tokens = 0

    def process(self, segment, window=beam.DoFn.WindowParam):
        yield from self._add([segment], len(segment.tokens), window)

    def _add(self, entries, length, window):
        """Buffers ``entries`` (a list of batch entries of one record each, of ``length``
        tokens): full batches go out as they fill (stamped like the element that filled them),
        then the fullest buffers while the buffers together hold more than
        ``max_buffered_tokens``."""
        key, capacity = self._key(window, length)
        done = 0
        while done < len(entries):
            taken = entries[done:done + capacity - self._records.get(key, 0)]
            self._buffer(key).extend(taken)
            done += len(taken)
            yield from self._counted(key, len(taken), capacity)
        yield from self._within_bound()

    def _key(self, window, length):
        length = bucket_length(length, self.widths)
        return (window, length), max(1, self.max_batch_tokens // length)

    def _buffer(self, key):
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = self._new_batch()
            self._records[key] = 0
        return buffer

    def _counted(self, key, records, capacity):
        """``records`` more in the buffer of ``key``; its batch goes out when full."""
        self._records[key] += records
        self._buffered_tokens += records * key[1]
        if self._records[key] >= capacity:
            yield self._taken_out(key, full=True)

    def _within_bound(self):
        while self._buffered_tokens > self.max_buffered_tokens:
            fullest = max(self._buffers, key=lambda k: self._records[k] * k[1])
            yield self._taken_out(fullest)

    def finish_bundle(self):
        for key in list(self._buffers):
            yield self._taken_out(key)

    def _taken_out(self, key, full=False):
        """The batch of ``key``, taken out of the buffers: a full one stamped like the element
        that filled it, any other with its window's end."""
        batch = self._take(key)
        return batch if full else _in_window(batch, key[0])

    def _take(self, key):
        batch = self._buffers.pop(key)
        self._buffered_tokens -= self._records.pop(key) * key[1]
        return batch


class _CollectBatchesFromBlocksFn(_CollectBatchesInBundleFn):
    """The same, fed SegmentBlocks (``token_blocks``) of one window each: the whole records of
    one length in a block are buffered as one ``WholeRecords`` entry, a chunk as its Segment.
    The batches are Blocks of both (``token_blocks.entry_columns`` reads them).

    A buffered record keeps its whole block in memory. A rare length can hold one record from
    each of many blocks, so the blocks held are bounded: past ``PINNED_BUFFERS`` times the
    tokens the buffers may hold, the records still buffered from the oldest block become
    Segments of their own. Four times the buffer is far enough back that few records are left
    in a block by then: with 16 blocks' worth (EWT train, 1M tokens in one bundle) every block
    still had a quarter of its records buffered when it was let go, and making their Segments
    cost 0.6 core-µs a token.
    """
    _new_batch = Block
    PINNED_BUFFERS = 4

    def start_bundle(self):
        super().start_bundle()
        self._pinned = {}   # id(block) -> [block, records buffered], oldest block first
        self._pinned_tokens = 0

    def process(self, segments, window=beam.DoFn.WindowParam):
        block = segments.block
        if segments.whole:
            self._pinned[id(block)] = [block, len(segments.whole)]
            self._pinned_tokens += block.token_count
            yield from self._add_whole_records(block, segments.whole, window)
        for segment in segments.chunks:
            yield from self._add([segment], len(segment.tokens), window)
        while (self._pinned_tokens > self.PINNED_BUFFERS * self.max_buffered_tokens
               and len(self._pinned) > 1):
            self._unpin_oldest()

    def _add_whole_records(self, block, whole, window):
        """Buffers the block's records ``whole`` (indices) a length at a time: the records
        of one length go into a buffer as one ``WholeRecords`` entry, cut only where a batch
        fills (bench/stage_costs.py's bucket stage on EWT x5: a tuple a record cost 0.10-0.12
        core-µs a token, this 0.04-0.05)."""
        by_length = ByLength(block, whole)
        lengths, rows = by_length.lengths, by_length.rows
        cuts = (np.flatnonzero(np.diff(lengths)) + 1).tolist()
        for start, stop in zip([0, *cuts], [*cuts, len(rows)]):
            key, capacity = self._key(window, int(lengths[start]))
            while start < stop:
                taken = min(stop - start, capacity - self._records.get(key, 0))
                self._buffer(key).append(
                    WholeRecords(block, rows[start:start + taken], by_length, start))
                start += taken
                yield from self._counted(key, taken, capacity)
            yield from self._within_bound()

    def _taken_out(self, key, full=False):
        """As the base class's, except that a batch whose records carry their own timestamps
        (``TagText``) is stamped with the earliest of them, in its window: behind none of
        its rows, to which the tag stage gives back their own (so a streaming runner's
        watermark, held at the batch, passes none of them before its result is out)."""
        batch = self._take(key)
        timestamps = segment_timestamps(batch)
        if timestamps is None:
            return batch if full else _in_window(batch, key[0])
        return WindowedValue(batch, Timestamp(micros=min(timestamps)), (key[0],))

    def _take(self, key):
        batch = super()._take(key)
        pinned = self._pinned
        for entry in batch:
            if type(entry) is WholeRecords:
                held = pinned[id(entry.block)]
                held[1] -= len(entry)
                if not held[1]:
                    del pinned[id(entry.block)]
                    self._pinned_tokens -= entry.block.token_count
        return batch

    def _unpin_oldest(self):
        """The oldest block's buffered records as Segments; the block is let go."""
        oldest, _ = self._pinned.pop(next(iter(self._pinned)))
        self._pinned_tokens -= oldest.token_count
        for buffer in self._buffers.values():
            # Records arrive block after block, so the oldest block's come before any other
            # block's in a buffer (Segments may stand between them).
            for i, entry in enumerate(buffer):
                if type(entry) is WholeRecords and entry.block is not oldest:
                    break
            else:
                i = len(buffer)
            buffer[:i] = [segment for entry in buffer[:i] for segment in entry_segments(entry)]


def _in_window(batch, window):
    # max_timestamp (as BatchElements): the batch is stamped inside its window.
    return WindowedValue(batch, window.max_timestamp(), (window,))


class _BatchInPanes(beam.PTransform):
    """Streaming: Segments -> batches, grouped by length under a processing-time trigger.

    Why a trigger and not a stateful DoFn with timers (what this was until issue #11): a DoFn
    cannot read the runner's processing time, so a timer "``max_buffering_secs`` from now" had
    to be set from the wall clock (as GroupIntoBatches does, with its ``clock`` argument). Under
    TestStream the DirectRunner's processing time starts at 0 and moves only with
    ``advance_processing_time``, so that timer never fired; and the window-end flush fired after
    the watermark had already passed on downstream, because Beam's Python DirectRunner does not
    hold the watermark for a DoFn's timers (``direct_userstate.py``: "add corresponding
    watermark holds"), so an ``assert_that`` downstream saw an empty, finished window. A
    trigger's processing time comes from the runner (TestStream's clock, or the real one), and
    a GroupByKey holds the watermark at its earliest buffered element until its pane is out, on
    every runner.

    Segments are grouped in the global window, so no record is ever dropped here as late
    (tagging is element-wise; whether a late record counts is for the user's own aggregations
    to decide), each carrying its own window. A pane goes out ``max_buffering_secs`` after its
    first segment and when the input ends; it is cut into batches of one window each, under
    the token budget, stamped with their earliest segment's timestamp (each segment keeps its
    own for the record's result, ``Segment.timestamp_micros``) and put back under the
    input's windowing strategy (window fn, trigger, allowed lateness), so downstream sees the
    user's windows and trigger, not ours.
    """

    def __init__(self, max_batch_tokens, max_buffering_secs, widths=None):
        super().__init__()
        self.max_batch_tokens = max_batch_tokens
        self.max_buffering_secs = max_buffering_secs
        self.widths = widths

    def expand(self, segments):
        windowing = segments.windowing
        refuse_merging_windows(windowing,
                               "TagText and TagBatches (BucketByLength, streaming)")
        # Whole seconds: Beam's trigger protocol reads the delay back as delay_millis // 1000
        # (trigger.AfterProcessingTime.from_runner_api), so 0.5 would become 0.
        panes = trigger.AfterWatermark(early=trigger.Repeatedly(
            trigger.AfterProcessingTime(math.ceil(self.max_buffering_secs))))
        keyed = segments | "KeyByLength" >> beam.Map(
            _key_by_length_into_global_window, self.widths).with_output_types(
                typehints.Tuple[typehints.Tuple[int, int], typehints.Any])
        buffered = windowed_as(keyed, Windowing(
            window.GlobalWindows(), triggerfn=panes,
            accumulation_mode=trigger.AccumulationMode.DISCARDING,
            timestamp_combiner=window.TimestampCombiner.OUTPUT_AT_EARLIEST))
        batches = buffered | "GroupPanes" >> beam.GroupByKey() | "CutIntoBatches" >> beam.ParDo(
            _CutPaneFn(self.max_batch_tokens)).with_output_types(List[Any])
        # _CutPaneFn puts each batch in its segments' window itself.
        return windowed_as(batches, windowing)


class _CutPaneFn(beam.DoFn):
    """(key, pane of (Segment, timestamp, window)) -> batches of one window each, in that
    window only, of at most ``max_batch_tokens // length`` segments. Each segment carries its
    record's timestamp (``Segment.timestamp_micros``), which the tag stage gives back to the
    record's result; the batch is stamped with the earliest, where the grouping held the
    watermark.

    It declares a processing-time timer and never sets it: Beam's DirectRunner runs a pipeline
    with such a timer on its BundleBasedDirectRunner (direct_runner.py,
    ``_FnApiRunnerSupportVisitor``), the one of its runners that gives triggers a clock, in
    streaming mode only (in batch mode it has none either: ``buffering_secs_on`` keeps this
    path out of batch pipelines over bounded input); the FnApiRunner it otherwise picks has none
    and fails on ``AfterProcessingTime`` (``trigger.create_trigger_driver`` without a clock).
    Other runners ignore the unused timer.
    """
    _DIRECT_RUNNER_NEEDS_A_CLOCK = TimerSpec("unused", TimeDomain.REAL_TIME)

    def __init__(self, max_batch_tokens):
        self.max_batch_tokens = max_batch_tokens

    def process(self, pane, unused=beam.DoFn.TimerParam(_DIRECT_RUNNER_NEEDS_A_CLOCK)):
        (length, _), entries = pane
        size = max(1, self.max_batch_tokens // length)
        by_window = {}
        for segment, micros, segment_window in entries:
            by_window.setdefault(segment_window, []).append(
                segment._replace(timestamp_micros=micros))
        for segment_window, in_window in by_window.items():
            for start in range(0, len(in_window), size):
                part = in_window[start:start + size]
                yield in_own_window(part, Timestamp(micros=min(
                    segment.timestamp_micros for segment in part)), segment_window)

    # A public name: under --runtime_type_check Beam wraps the DoFn, and its wrapper hands on
    # no attribute whose name starts with "_" (typecheck.AbstractDoFnWrapper), so Beam's
    # check that a timer's callback is the DoFn's own method failed on None
    # ("'NoneType' object has no attribute '__func__'") while the pipeline was built.
    @on_timer(_DIRECT_RUNNER_NEEDS_A_CLOCK)
    def never_set(self):
        pass
