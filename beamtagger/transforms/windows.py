"""SplitIntoWindows and StitchWindows: records longer than the window, tagged in pieces, never cut.

A record of more than ``window`` tokens is cut into overlapping windows of exactly ``window``
tokens (the last one ends at the record's end), each window is batched and tagged like a
short record, and every token takes its label probabilities from the window where it is most
central, i.e. farthest from that window's edges, where the BiLSTM saw the most context on
both sides. Windows of equal length make "most central" the same as "nearest window centre",
so each window owns one contiguous run of tokens, decided before tagging. The stitched
probabilities are then decoded over the whole record at once (so BIO Viterbi decoding sees
the record, not the windows).

Stitching is a stateful DoFn keyed by record (not a CoGroupByKey), so it completes a record as
soon as its last window arrives, in batch and in streaming pipelines alike.
"""
from typing import NamedTuple

import apache_beam as beam
from apache_beam import typehints
from apache_beam.transforms.combiners import CountCombineFn
import numpy as np
from apache_beam.coders import coders
from apache_beam.transforms.userstate import (BagStateSpec, CombiningValueStateSpec,
                                               ReadModifyWriteStateSpec)

from beamtagger.transforms import counters, worker_resources
from beamtagger.transforms.records import DeadLetter, Segment, TaggedRecord, TokenizedRecord

DEFAULT_WINDOW = 256
DEFAULT_OVERLAP = 64
LONG_RECORDS = "long_records"
# Record keys are strings: a deterministic key coder for the stateful stitching.
_KEYED = typehints.Tuple[str, typehints.Any]
EMPTY = "empty"
ERRORS = "errors"


class WindowSpan(NamedTuple):
    """One window ``[start, end)`` of a record and the tokens ``[keep_start, keep_end)`` it owns."""
    start: int
    end: int
    keep_start: int
    keep_end: int


def window_spans(length, window=DEFAULT_WINDOW, overlap=DEFAULT_OVERLAP):
    """The windows covering ``length`` tokens; the owned runs partition ``[0, length)``."""
    check_window(window, overlap)
    if length <= window:
        return [WindowSpan(0, length, 0, length)]
    stride = window - overlap
    starts = list(range(0, length - window, stride)) + [length - window]
    spans, keep_start = [], 0
    for k, start in enumerate(starts):
        if k + 1 < len(starts):
            # Token i is nearer the centre of window k than of window k+1 (ties go to k)
            # iff 2i <= start_k + start_{k+1} + window - 1.
            keep_end = (start + starts[k + 1] + window - 1) // 2 + 1
        else:
            keep_end = length
        spans.append(WindowSpan(start, start + window, keep_start, keep_end))
        keep_start = keep_end
    return spans


def check_window(window, overlap):
    if window < 1:
        raise ValueError(f"window must be at least 1 token, not {window}")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must lie in [0, window), not {overlap} (window {window})")


class WindowedRecords(NamedTuple):
    segments: beam.PCollection      # Segment: whole short records and windows of long ones
    long_records: beam.PCollection  # (key, TokenizedRecord) of records cut into windows
    empty: beam.PCollection         # TaggedRecord of records without tokens (nothing to tag)


@typehints.with_input_types(TokenizedRecord)
class SplitIntoWindows(beam.PTransform):
    """TokenizedRecord -> Segments of at most ``window`` tokens (see module docstring)."""

    def __init__(self, window=DEFAULT_WINDOW, overlap=DEFAULT_OVERLAP):
        super().__init__()
        check_window(window, overlap)
        self.window = window
        self.overlap = overlap

    def expand(self, records):
        out = records | "Split" >> beam.ParDo(
            _SplitFn(self.window, self.overlap)).with_outputs(LONG_RECORDS, EMPTY, main="segments")
        return WindowedRecords(out.segments, out[LONG_RECORDS], out[EMPTY])


class _SplitFn(beam.DoFn):
    def __init__(self, window, overlap):
        self.window = window
        self.overlap = overlap

    def process(self, record):
        tokens = record.tokens
        if not tokens:
            counters.RECORDS_TAGGED.inc()
            yield beam.pvalue.TaggedOutput(EMPTY, TaggedRecord(
                record.id, (), (), (), (), (), record.source, record.fields))
            return
        key = record.key
        if len(tokens) <= self.window:
            yield Segment(key, tuple(tokens), record.id, tuple(record.starts),
                          tuple(record.ends), record.fields, 0, 1, 0, len(tokens))
            return
        spans = window_spans(len(tokens), self.window, self.overlap)
        counters.LONG_RECORDS.inc()
        counters.WINDOWS.inc(len(spans))
        yield beam.pvalue.TaggedOutput(LONG_RECORDS, (key, record))
        for k, span in enumerate(spans):
            yield Segment(key, tuple(tokens[span.start:span.end]), window=k,
                          num_windows=len(spans), keep_start=span.keep_start - span.start,
                          keep_end=span.keep_end - span.start)


class StitchResult(NamedTuple):
    tagged: beam.PCollection   # TaggedRecord
    errors: beam.PCollection   # DeadLetter


class StitchWindows(beam.PTransform):
    """(long_records, window results) -> one TaggedRecord per long record.

    Input: a pair of PCollections, ``(key, TokenizedRecord)`` from SplitIntoWindows and
    ``(key, WindowResult)`` from the tag stage. A record any of whose windows failed becomes
    one dead letter, so no record is ever lost or half-written.
    """

    def __init__(self, model_dir=None):
        super().__init__()
        self.model_dir = model_dir

    def expand(self, long_records_and_windows):
        long_records, window_results = long_records_and_windows
        out = (
            (long_records | "AsRecordPart" >> beam.MapTuple(
                lambda k, record: (k, (0, record))).with_output_types(_KEYED),
             window_results | "AsWindowPart" >> beam.MapTuple(
                 lambda k, result: (k, (1, result))).with_output_types(_KEYED))
            | "Merge" >> beam.Flatten()
            | "Stitch" >> beam.ParDo(_StitchFn(self.model_dir)).with_outputs(ERRORS, main="tagged"))
        return StitchResult(out.tagged, out[ERRORS])


class _StitchFn(beam.DoFn):
    # The record and a count of arrived windows are kept apart from the bag of window results,
    # so that the bag is read once, when the record is complete, not once per window.
    RECORD = ReadModifyWriteStateSpec("record", coders.PickleCoder())
    ARRIVED = CombiningValueStateSpec("arrived", coders.VarIntCoder(), CountCombineFn())
    WINDOWS = BagStateSpec("windows", coders.PickleCoder())

    def __init__(self, model_dir):
        self.model_dir = model_dir
        self._spec = None

    def setup(self):
        self._spec = worker_resources.load_spec(self.model_dir)

    def process(self, element, record_state=beam.DoFn.StateParam(RECORD),
                arrived_state=beam.DoFn.StateParam(ARRIVED),
                windows_state=beam.DoFn.StateParam(WINDOWS)):
        _, (kind, value) = element
        if kind == 0:
            record_state.write(value)
            record, expected = value, None
        else:
            windows_state.add(value)
            arrived_state.add(1)
            record, expected = None, value.num_windows
        if expected is None:
            windows = list(windows_state.read())
            expected = windows[0].num_windows if windows else None
        if expected is None or arrived_state.read() < expected:
            return
        record = record or record_state.read()
        if record is None:
            return
        windows = list(windows_state.read())
        record_state.clear()
        arrived_state.clear()
        windows_state.clear()
        yield from self._stitch(record, windows)

    def _stitch(self, record, windows):
        failed = [w for w in windows if w.error]
        if failed:
            counters.DEAD_LETTERS.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, _dead_letter(record, failed[0].error))
            return
        windows.sort(key=lambda w: w.window)
        probs = np.concatenate([w.probs for w in windows], axis=0)
        try:
            labels, scores = self._spec.decode(probs, len(record.tokens))
        except Exception as error:  # noqa: BLE001  (one record's failure must not fail the job)
            counters.DEAD_LETTERS.inc()
            yield beam.pvalue.TaggedOutput(
                ERRORS, _dead_letter(record, f"decoding failed: {error!r}"))
            return
        counters.RECORDS_TAGGED.inc()
        yield TaggedRecord(record.id, record.tokens, record.starts, record.ends, tuple(labels),
                           tuple(scores.tolist()), record.source, record.fields)


def _dead_letter(record, reason):
    return DeadLetter(record.source or record.id, reason, " ".join(record.tokens), "tag")
