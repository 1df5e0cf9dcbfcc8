"""BucketByLength: segments -> batches of similar length under a token budget.

A batch of bucket length L holds at most ``max_batch_tokens // L`` segments, so the padded slots
(B x T) of every batch, and with them memory per batch, are bounded however long the records are.

Two strategies, by how the input ends:

* Bounded input (``max_buffering_secs=None``): batches are collected inside each bundle, one
  buffer per bucket length; when the buffers hold ``max_buffered_tokens`` (default 16
  budgets) the fullest goes out, and what is left is flushed in ``finish_bundle`` (as
  BatchElements does). No shuffle, no state. Measured against the stateful DoFn below on EWT
  train text (bench/throughput_bench.py, 2 cores): 205k tokens in-process 14.7 -> 11.3 s, 1M
  tokens with two worker processes 43.6 -> 34.0 s. The stateful version held every segment until
  the end of input and released all batches from one end-of-input timer bundle, so one worker
  ran 91% of the model work; Beam also sized its state cache with objsize (1.6 s of 16.6
  profiled).
* Streaming (``max_buffering_secs`` set): segments are keyed by (length bucket, shard) and
  collected by a stateful DoFn that emits a batch at the budget, when a partial batch has waited
  ``max_buffering_secs``, and at the end of the window. Why not
  ``GroupIntoBatches.WithShardedKey``: it has one batch size for every key, while a token budget
  needs ``max_batch_tokens // length`` records for each length. The sharding is the same idea:
  the shard is the worker thread, so one very common length is batched on every worker instead
  of funnelling through one hot key.

Buckets are exact lengths up to 64 tokens and then ``2**(bit_length - 6)`` tokens wide (1/32
to 1/64 of the length), so a batch pads at most ~3% of its slots while long, rarer lengths still
fill batches. EWT train sentences: padding efficiency 0.99+ (see transforms_bucket_test.py).
"""
import random
import threading
import time

import apache_beam as beam
from apache_beam import typehints
from apache_beam.transforms.combiners import CountCombineFn
from apache_beam.coders import coders
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.utils.windowed_value import WindowedValue
from apache_beam.transforms.userstate import (BagStateSpec, CombiningValueStateSpec, TimerSpec,
                                              on_timer)

from beamtagger import tagging_defaults

DEFAULT_MAX_BATCH_TOKENS = tagging_defaults.MAX_BATCH_TOKENS
EXACT_LENGTHS_UP_TO = 64
# Bounded input: how many budgets' worth of tokens a bundle buffers before it sends out its
# fullest partial batch (see _CollectBatchesInBundleFn).
BUFFERED_BATCHES = 16

# Per process, like GroupIntoBatches.WithShardedKey's uuid prefix: with the thread id it makes
# one shard per worker thread.
_PROCESS_SHARD = random.getrandbits(31)


def bucket_length(length):
    """The padded length of the bucket holding records of ``length`` tokens."""
    if length <= EXACT_LENGTHS_UP_TO:
        return length
    width = 1 << (length.bit_length() - 6)
    return -(-length // width) * width


class BucketByLength(beam.PTransform):
    """Segment -> list of Segments of one length bucket, with ``len(batch) x bucket <= budget``.

    ``max_buffering_secs`` (streaming) bounds how long a partial batch waits; ``None`` waits for
    the budget, the end of the bundle or ``max_buffered_tokens`` (bounded input: the tokens a
    bundle may hold before its fullest partial batch goes out; default 16 budgets). ``clock`` is
    for tests (TestStream's processing time).
    """

    def __init__(self, max_batch_tokens=DEFAULT_MAX_BATCH_TOKENS, max_buffering_secs=None,
                 clock=time.time, max_buffered_tokens=None):
        super().__init__()
        if max_batch_tokens < 1:
            raise ValueError(f"max_batch_tokens must be at least 1, not {max_batch_tokens}")
        self.max_batch_tokens = max_batch_tokens
        self.max_buffered_tokens = (BUFFERED_BATCHES * max_batch_tokens
                                    if max_buffered_tokens is None else max_buffered_tokens)
        if self.max_buffered_tokens < max_batch_tokens:
            raise ValueError(f"max_buffered_tokens ({self.max_buffered_tokens}) must be at least "
                             f"max_batch_tokens ({max_batch_tokens})")
        self.max_buffering_secs = max_buffering_secs
        self.clock = clock

    def expand(self, segments):
        if not self.max_buffering_secs:
            return segments | "CollectBatches" >> beam.ParDo(
                _CollectBatchesInBundleFn(self.max_batch_tokens, self.max_buffered_tokens))
        return (
            segments
            | "KeyByLength" >> beam.Map(_key_by_length).with_output_types(
                typehints.Tuple[typehints.Tuple[int, int], typehints.Any])
            | "CollectBatches" >> beam.ParDo(
                _CollectBatchesWithBufferingFn(
                    self.max_batch_tokens, self.max_buffering_secs, self.clock)))


def _key_by_length(segment):
    shard = hash((_PROCESS_SHARD, threading.get_ident())) & 0x7FFFFFFF
    return (bucket_length(len(segment.tokens)), shard), segment


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

    def __init__(self, max_batch_tokens, max_buffered_tokens):
        self.max_batch_tokens = max_batch_tokens
        self.max_buffered_tokens = max_buffered_tokens

    def start_bundle(self):
        self._buffers = {}
        self._buffered_tokens = 0

    def process(self, segment, window=beam.DoFn.WindowParam):
        length = bucket_length(len(segment.tokens))
        key = (window, length)
        buffer = self._buffers.setdefault(key, [])
        buffer.append(segment)
        self._buffered_tokens += length
        if len(buffer) >= max(1, self.max_batch_tokens // length):
            yield self._take(key)
        elif self._buffered_tokens > self.max_buffered_tokens:
            fullest = max(self._buffers, key=lambda k: len(self._buffers[k]) * k[1])
            yield _in_window(self._take(fullest), fullest[0])

    def finish_bundle(self):
        for window, length in list(self._buffers):
            yield _in_window(self._take((window, length)), window)

    def _take(self, key):
        batch = self._buffers.pop(key)
        self._buffered_tokens -= len(batch) * key[1]
        return batch


def _in_window(batch, window):
    # max_timestamp (as BatchElements): the batch is stamped inside its window.
    return WindowedValue(batch, window.max_timestamp(), (window,))


class _CollectBatchesWithBufferingFn(beam.DoFn):
    """Streaming: flushes at the budget, after ``max_buffering_secs`` and at window end.

    A separate DoFn because a processing-time timer in a pipeline makes Beam's DirectRunner
    leave the fast FnApiRunner for the BundleBasedDirectRunner (direct_runner.py,
    _FnApiRunnerSupportVisitor), so batch jobs must not declare one.
    """
    SEGMENTS = BagStateSpec("segments", coders.FastPrimitivesCoder())
    COUNT = CombiningValueStateSpec("count", coders.VarIntCoder(), CountCombineFn())
    WINDOW_END = TimerSpec("window_end", TimeDomain.WATERMARK)
    BUFFERING_END = TimerSpec("buffering_end", TimeDomain.REAL_TIME)

    def __init__(self, max_batch_tokens, max_buffering_secs, clock):
        self.max_batch_tokens = max_batch_tokens
        self.max_buffering_secs = max_buffering_secs
        self.clock = clock

    def process(self, element, window=beam.DoFn.WindowParam,
                segments=beam.DoFn.StateParam(SEGMENTS), count=beam.DoFn.StateParam(COUNT),
                window_end=beam.DoFn.TimerParam(WINDOW_END),
                buffering_end=beam.DoFn.TimerParam(BUFFERING_END)):
        (length, _), segment = element
        window_end.set(window.max_timestamp())
        segments.add(segment)
        count.add(1)
        size = count.read()
        if size == 1:
            buffering_end.set(self.clock() + self.max_buffering_secs)
        if size >= max(1, self.max_batch_tokens // length):
            buffering_end.clear()
            yield from _flush(segments, count)

    @on_timer(WINDOW_END)
    def on_window_end(self, segments=beam.DoFn.StateParam(SEGMENTS),
                      count=beam.DoFn.StateParam(COUNT),
                      buffering_end=beam.DoFn.TimerParam(BUFFERING_END)):
        buffering_end.clear()
        yield from _flush(segments, count)

    @on_timer(BUFFERING_END)
    def on_buffering_end(self, segments=beam.DoFn.StateParam(SEGMENTS),
                         count=beam.DoFn.StateParam(COUNT)):
        yield from _flush(segments, count)


def _flush(segments, count):
    batch = list(segments.read())
    segments.clear()
    count.clear()
    if batch:
        yield batch
