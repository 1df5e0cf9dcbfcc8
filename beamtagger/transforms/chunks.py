"""SplitIntoChunks and StitchChunks: records longer than the chunk, tagged in pieces, never cut.

A record of more than ``chunk`` tokens is cut into overlapping chunks of exactly ``chunk``
tokens (the last one ends at the record's end), each chunk is batched and tagged like a
short record, and every token takes its label probabilities from the chunk where it is most
central, i.e. farthest from that chunk's edges, where the BiLSTM saw the most context on
both sides. Chunks of equal length make "most central" the same as "nearest chunk centre",
so each chunk owns one contiguous run of tokens, decided before tagging. The stitched
probabilities are then decoded over the whole record at once (so BIO Viterbi decoding sees
the record, not the chunks); a tagger that decodes each token on its own (arg-max,
threshold) sends the chunks' labels instead, which are the record's.

On bounded input a GroupByKey brings each record and its chunk results together; on
unbounded input a stateful DoFn keyed by record, in the global window (``global_window``),
completes a record as soon as its last chunk arrives.
"""
import itertools
import uuid
from typing import NamedTuple, Optional

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam import typehints
from apache_beam.coders import coders
from apache_beam.transforms.combiners import CountCombineFn
from apache_beam.transforms.userstate import (BagStateSpec, CombiningValueStateSpec,
                                               ReadModifyWriteStateSpec)
from apache_beam.utils.timestamp import Timestamp

from beamtagger import tagging_defaults
from beamtagger.model.batch_decoding import decode_ragged
from beamtagger.model.flag_threshold import threshold_option, with_threshold
from beamtagger.tagging.chunk_spans import ChunkSpan, check_chunk, chunk_spans
from beamtagger.transforms import counters, worker_resources
from beamtagger.transforms.built_against import BuiltAgainst
from beamtagger.transforms.global_window import (GLOBAL_WINDOWING, in_own_window,
                                                 into_global_window, refuse_merging_windows,
                                                 windowed_as)
from beamtagger.transforms.records import (DeadLetter, Segment, TaggedRecord, TokenizedRecord,
                                           one_line)
from beamtagger.transforms.tagged_batches import tagged_batch_of_records
from beamtagger.transforms.token_blocks import SegmentBlock, TokenizedBlock
from beamtagger.transforms.typed_outputs import typed_outputs

# ChunkSpan, chunk_spans and check_chunk are tagging/chunk_spans.py's (no Beam there:
# beamtagger.Tagger cuts long records by them), re-exported.
__all__ = ["ChunkSpan", "ChunkedRecords", "DEFAULT_CHUNK", "DEFAULT_OVERLAP", "SplitIntoChunks",
           "StitchChunks", "StitchResult", "check_chunk", "chunk_spans"]

DEFAULT_CHUNK = tagging_defaults.CHUNK
DEFAULT_OVERLAP = tagging_defaults.OVERLAP
LONG_RECORDS = "long_records"
# Record keys are strings: a deterministic key coder for the stateful stitching.
_KEYED = typehints.Tuple[str, typehints.Any]
EMPTY = "empty"
ERRORS = "errors"


class ChunkedRecords(NamedTuple):
    """What SplitIntoChunks returns.

    Args:
      segments: Segment, whole short records and chunks of long ones.
      long_records: (key, TokenizedRecord) of the records cut into chunks, for StitchChunks;
        the key is the one their chunks' Segments carry, unique to the record.
      empty: TaggedRecord of the records without tokens (nothing to tag).
    """
    segments: beam.PCollection
    long_records: beam.PCollection
    empty: beam.PCollection


@typehints.with_input_types(TokenizedRecord)
class SplitIntoChunks(beam.PTransform):
    """TokenizedRecord -> Segments of at most ``chunk`` tokens (see module docstring);
    returns ``ChunkedRecords(segments, long_records, empty)``.

    Args:
      chunk: records longer than this many tokens are cut into overlapping chunks of it.
      overlap: tokens shared by neighbouring chunks (``0 <= overlap < chunk``).
      blocks: internal (``TagText``'s bounded path): the input is TokenizedBlocks and
        ``segments`` holds SegmentBlocks (``token_blocks``).
    """

    def __init__(self, chunk: int = DEFAULT_CHUNK, overlap: int = DEFAULT_OVERLAP,
                 blocks: bool = False):
        super().__init__()
        check_chunk(chunk, overlap)
        self.chunk = chunk
        self.overlap = overlap
        self.blocks = blocks
        if blocks:
            self.with_input_types(TokenizedBlock)

    def expand(self, records):
        split = beam.ParDo((_SplitBlocksFn if self.blocks else _SplitFn)(self.chunk,
                                                                         self.overlap))
        out = typed_outputs(records, "Split", split, "segments",
                            SegmentBlock if self.blocks else Segment,
                            **{LONG_RECORDS: _KEYED, EMPTY: TaggedRecord})
        return ChunkedRecords(out.segments, out[LONG_RECORDS], out[EMPTY])


class _SplitFn(beam.DoFn):
    """A long record and its chunks are keyed for StitchChunks by a key made here, unique to
    the record (this DoFn instance's random prefix and a count), not by the record's own
    ``source`` or id: a caller's records may bring an id that is not a string (an int, None),
    one no UTF-8 can hold (a lone surrogate), which the stitching's string key coder cannot
    encode, or the same id twice, which the streaming stitching's state would mix up."""

    def __init__(self, chunk, overlap):
        self.chunk = chunk
        self.overlap = overlap

    def setup(self):
        # Per DoFn instance, after unpickling: instances never share a prefix.
        self._key_prefix = uuid.uuid4().hex
        self._key_numbers = itertools.count()

    def _stitch_key(self):
        if getattr(self, "_key_numbers", None) is None:   # process() called without setup()
            self.setup()
        return f"{next(self._key_numbers)}@{self._key_prefix}"

    # The window is taken, not read, so that a record in several windows (sliding) is split
    # once in each, with a key of its own: the streaming stitch keeps state in the global
    # window, where one key in two windows mixed both copies' chunks and lost one record.
    def process(self, record, unused_window=beam.DoFn.WindowParam):
        segments = []
        others = self._split(record, segments)
        return [*others, *segments]

    def _split(self, record, segments):
        """Appends the record's segments to ``segments``; returns its other outputs."""
        tokens = record.tokens
        if not tokens:
            counters.RECORDS_TAGGED.inc()
            return [beam.pvalue.TaggedOutput(EMPTY, TaggedRecord(
                record.id, (), (), (), (), (), record.source, record.fields))]
        if len(tokens) <= self.chunk:
            segments.append(Segment(record.key, tuple(tokens), record.id, tuple(record.starts),
                                    tuple(record.ends), record.fields, 0, 1, 0, len(tokens)))
            return ()
        key = self._stitch_key()
        spans = chunk_spans(len(tokens), self.chunk, self.overlap)
        counters.LONG_RECORDS.inc()
        counters.CHUNKS.inc(len(spans))
        segments.extend(Segment(key, tuple(tokens[span.start:span.end]), chunk=k,
                                num_chunks=len(spans), keep_start=span.keep_start - span.start,
                                keep_end=span.keep_end - span.start)
                        for k, span in enumerate(spans))
        return [beam.pvalue.TaggedOutput(LONG_RECORDS, (key, record))]


class _SplitBlocksFn(_SplitFn):
    """A TokenizedBlock -> one SegmentBlock: its records that fit one chunk stay in the block
    (by index), long ones are cut into chunk Segments, empty ones leave as TaggedRecords.
    Where the block carries its records' own timestamps, a long or empty record leaves at its
    own, and its chunks carry it (``Segment.timestamp_micros``)."""

    def process(self, block, window=beam.DoFn.WindowParam):
        lengths = np.diff(block.bound_array())
        fits = (lengths > 0) & (lengths <= self.chunk)
        chunks = []
        for r in np.flatnonzero(~fits).tolist():
            if block.timestamps is None:
                yield from self._split(block.record(r), chunks)
                continue
            micros = block.timestamps[r]
            first = len(chunks)
            for output in self._split(block.record(r), chunks):
                yield beam.pvalue.TaggedOutput(output.tag, in_own_window(
                    output.value, Timestamp(micros=micros), window))
            chunks[first:] = [chunk._replace(timestamp_micros=micros)
                              for chunk in chunks[first:]]
        whole = np.flatnonzero(fits).tolist()
        if whole or chunks:
            yield SegmentBlock(block, whole, chunks)


class StitchResult(NamedTuple):
    """What StitchChunks returns.

    Args:
      tagged: TaggedRecord, one per long record whose chunks were all tagged.
      errors: DeadLetter, one per long record any of whose chunks failed.
    """
    tagged: beam.PCollection
    errors: beam.PCollection


# Both inputs are keyed by the record's key; Beam checks each PCollection of the pair against it.
@typehints.with_input_types(_KEYED)
class StitchChunks(beam.PTransform):
    """(long_records, chunk results...) -> one TaggedRecord per long record.

    Input: a tuple of PCollections, ``(key, TokenizedRecord)`` from SplitIntoChunks, then one
    or more of ``(key, ChunkResult)`` (the tag stage's, AttachVectors' failed chunks). A record
    any of whose chunks failed becomes one dead letter, so no record is ever lost or
    half-written. Returns ``StitchResult(tagged, errors)``.

    On bounded input a GroupByKey gathers each record's chunks; on unbounded input a stateful
    DoFn stitches each record as soon as its last chunk arrives, in the global window, so that
    no runner drops a late long record there (``_StitchFn``); each output leaves in its
    record's own window with its record's timestamp. Merging windows (sessions) are refused.

    Args:
      model_dir: the tagger's model directory (None: the bundled model), for its decoding.
      output_batches: internal (``beamtagger tag``): ``tagged`` holds tagged batches
        (``tagged_batches``, ``pa.RecordBatch``) of the records stitched together, which
        WriteResults formats column by column, instead of a TaggedRecord a record.
      built_against: internal (TagText): the model its ``validate`` recorded, which the
        workers compare as they read it (``built_against.py``).
      threshold: a yes/no flag tagger's threshold to decode at instead of the model's own
        (None: the model's), as TagText's ``threshold`` says; give the tag stage the same.
    """

    def __init__(self, model_dir: Optional[str] = None, *, output_batches: bool = False,
                 built_against: BuiltAgainst = BuiltAgainst(),
                 threshold: Optional[float] = None):
        super().__init__()
        self.model_dir = tagging_defaults.model_dir_option("model_dir", model_dir)
        self.output_batches = output_batches
        self.built_against = built_against
        self.threshold = threshold_option(threshold, self.model_dir)

    def expand(self, long_records_and_chunks):
        long_records, *chunk_results = long_records_and_chunks
        streaming = not all(part.is_bounded for part in (long_records, *chunk_results))
        windowing = long_records.windowing
        if streaming:
            refuse_merging_windows(windowing, "StitchChunks (streaming)")
        # One Flatten straight into the GroupByKey: Beam's local runner writes every element
        # of a Flatten that feeds another step to a buffer of its own, so each Flatten in
        # between cost every chunk result one more encoding and decoding.
        parts = [long_records | "AsRecordPart" >> beam.MapTuple(
            _as_part(0, streaming)).with_output_types(_KEYED)]
        parts += [results | f"AsChunkPart{i or ''}" >> beam.MapTuple(
            _as_part(1, streaming)).with_output_types(_KEYED)
            for i, results in enumerate(chunk_results)]
        if streaming:
            # The maps put each part in the global window themselves (no WindowInto step).
            parts = [windowed_as(part, GLOBAL_WINDOWING) for part in parts]
        out = parts | "Merge" >> beam.Flatten()
        if streaming:
            stitch = beam.ParDo(_StitchFn(self.model_dir, self.output_batches,
                                          self.built_against, self.threshold))
        else:
            out = out | "GroupByRecord" >> beam.GroupByKey()
            stitch = beam.ParDo(_StitchGroupFn(self.model_dir, self.output_batches,
                                               self.built_against, self.threshold))
        tagged_type = pa.RecordBatch if self.output_batches else TaggedRecord  # Arrow's coder
        out = typed_outputs(out, "Stitch", stitch, "tagged", tagged_type, **{ERRORS: DeadLetter})
        if not streaming:
            return StitchResult(out.tagged, out[ERRORS])
        # _StitchFn puts each output in its record's window itself.
        return StitchResult(windowed_as(out.tagged, windowing),
                            windowed_as(out[ERRORS], windowing))


def _as_part(kind, in_global_window):
    """(key, value) -> (key, (kind, value)): 0 for the record, 1 for a chunk result; on
    unbounded input in the global window, with the element's window and timestamp
    (``into_global_window``). On bounded input the record's value is (record, its timestamp
    in µs): the GroupByKey stamps the group with the window's end, and the record's result
    leaves at its own (``TagText``: its record's, ``blocks.CollectRecordBlocks``)."""
    if not in_global_window:
        if kind == 0:
            return lambda key, value, timestamp=beam.DoFn.TimestampParam: (
                key, (kind, (value, timestamp.micros)))
        return lambda key, value: (key, (kind, value))

    def part_in_global_window(key, value, timestamp=beam.DoFn.TimestampParam,
                              window=beam.DoFn.WindowParam):
        return into_global_window(key, (kind, value), timestamp, window)
    return part_in_global_window


class _Stitcher(beam.DoFn):
    """A record and all its chunk results -> its TaggedRecord or one DeadLetter."""
    # Records whose chunks have all arrived wait here (until this many tokens wait, or the
    # bundle ends) and are decoded together: BIO Viterbi over a batch of records costs a
    # tenth of what it costs a record at a time (bench/decode_bench.py).
    DECODE_TOKENS = 1 << 16

    def __init__(self, model_dir, output_batches=False, built_against=BuiltAgainst(),
                 threshold=None):
        self.model_dir = model_dir
        self.output_batches = output_batches
        self.built_against = built_against
        self.threshold = threshold
        self._spec = None

    def setup(self):
        self._spec = with_threshold(
            worker_resources.load_spec(self.model_dir, self.built_against), self.threshold,
            self.model_dir)

    def start_bundle(self):
        self._stitched = []     # _Stitched
        self._stitched_tokens = 0

    def finish_bundle(self):
        yield from self._decode_stitched()

    def _stitch(self, record, chunks, window, timestamp):
        failed = [w for w in chunks if w.error]
        if failed:
            counters.DEAD_LETTERS.inc()
            reason = failed[0].error
            stage = reason.split(" ", 1)[0]  # AttachVectors' "lookup failed: ..." and the like
            yield beam.pvalue.TaggedOutput(ERRORS, in_own_window(_dead_letter(
                record, reason, stage if stage in ("lookup", "featurize") else "tag"),
                timestamp, window))
            return
        try:
            stitched = _Stitched.of(record, chunks, window, timestamp)
        except Exception as error:  # noqa: BLE001  (one record's failure must not fail the job)
            counters.DEAD_LETTERS.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, in_own_window(_dead_letter(
                record, f"stitching failed: {error!r}", "stitch"), timestamp, window))
            return
        self._stitched.append(stitched)
        self._stitched_tokens += len(record.tokens)
        if self._stitched_tokens >= self.DECODE_TOKENS:
            yield from self._decode_stitched()

    def _decode_stitched(self):
        """The waiting records decoded together; each output in its record's window, the
        tagged batches (``output_batches``) one a window and timestamp."""
        stitched, self._stitched, self._stitched_tokens = self._stitched, [], 0
        if not stitched:
            return
        undecoded = [k for k, part in enumerate(stitched) if part.decoded is None]
        found = decode_ragged(self._spec, [stitched[k].probs for k in undecoded],
                              label_ids=True)
        for k, result in zip(undecoded, found):
            stitched[k] = stitched[k]._replace(decoded=result)
        tagged = {}     # (window, timestamp) -> [_Stitched]
        for part in stitched:
            if isinstance(part.decoded, Exception):
                counters.DEAD_LETTERS.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, in_own_window(
                    _dead_letter(part.record, f"decoding failed: {part.decoded!r}"),
                    part.timestamp, part.window))
            else:
                tagged.setdefault((part.window, part.timestamp), []).append(part)
        labels = self._spec.labels
        for (window, timestamp), parts in tagged.items():
            if self.output_batches:
                for output in _tagged_batches(parts, labels):
                    yield (in_own_window(output, timestamp, window)
                           if isinstance(output, pa.RecordBatch) else beam.pvalue.TaggedOutput(
                               ERRORS, in_own_window(output.value, timestamp, window)))
                continue
            counters.RECORDS_TAGGED.inc(len(parts))
            names = np.asarray(labels, dtype=object)
            for part in parts:
                record, (label_ids, scores) = part.record, part.decoded
                yield in_own_window(
                    TaggedRecord(record.id, record.tokens, record.starts, record.ends,
                                 tuple(names[label_ids].tolist()), tuple(scores.tolist()),
                                 record.source, record.fields), timestamp, window)


def _tagged_batches(parts, labels):
    """The tagged batch of ``parts`` (decoded _Stitched); where Arrow refuses it (a string no
    UTF-8 can hold, from a caller's own records), one a record, and a record it refuses is a
    dead letter of stage "format" (TaggedOutput), as the writers would have made it."""
    try:
        batches = [_tagged_batch(parts, labels)]
    except Exception:  # noqa: BLE001  (record by record below: only what fails is lost)
        batches = []
        for part in parts:
            try:
                batches.append(_tagged_batch([part], labels))
            except Exception as error:  # noqa: BLE001
                counters.DEAD_LETTERS.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, _dead_letter(
                    part.record, f"cannot write the result: {error}", "format"))
    for batch in batches:
        counters.RECORDS_TAGGED.inc(batch.num_rows)
        yield batch


def _tagged_batch(parts, labels):
    return tagged_batch_of_records([part.record for part in parts],
                                   np.concatenate([part.decoded[0] for part in parts]),
                                   np.concatenate([part.decoded[1] for part in parts]), labels)


class _Stitched(NamedTuple):
    """A record whose chunk results all arrived: its probabilities to decode, or its labels
    (``decoded``: (label ids, scores), or the exception decoding raised)."""
    record: TokenizedRecord
    probs: Optional[np.ndarray]
    decoded: Optional[tuple]
    window: object
    timestamp: object

    @classmethod
    def of(cls, record, chunks, window, timestamp):
        """Raises where the chunks do not make the record's tokens."""
        chunks = sorted(chunks, key=lambda c: c.chunk)
        decoded = [c.labels is not None for c in chunks]
        if all(decoded):
            labels = np.concatenate([c.labels for c in chunks])
            scores = np.concatenate([c.scores for c in chunks])
            probs, found = None, (labels, scores)
        elif any(decoded):
            raise ValueError("some chunks came with labels, others with probabilities")
        else:
            probs = np.concatenate([c.probs for c in chunks], axis=0)
            found = None
        tokens = len(probs) if probs is not None else len(found[0])
        if tokens != len(record.tokens):
            raise ValueError(f"its chunks cover {tokens} tokens, the record has "
                             f"{len(record.tokens)}")
        return cls(record, probs, found, window, timestamp)


class _StitchFn(_Stitcher):
    """Streaming: each record stitched as soon as its last chunk arrives, in the global window.

    Each element carries its own window and timestamp (``global_window.into_global_window``),
    and the record's are kept with it in state; every result and dead letter leaves in the
    record's window only, with the record's timestamp. In the records' own
    windows (as this was), a runner may drop what reaches a stateful DoFn after its window has
    expired (the window's end plus its allowed lateness behind the watermark) and collect the
    state kept for it (Beam's model allows both): a late long record, or some of its chunks,
    was lost where a late short record, batched in the global window by BucketByLength, was
    tagged. Beam's DirectRunner drops neither (a long record whose window had expired came out
    tagged before this change too).

    A key's state is cleared when its record completes. The key is the record's own in each of
    its windows (``_SplitFn``), and each chunk ends as one ChunkResult, labelled or failed
    (AttachVectors, the tag stage), after steps that drop none (BucketByLength groups in the
    global window too), so every record completes. Only chunks a runner itself lost would keep
    their record's state, in the global window, until the pipeline ends (a bounded run's
    GroupByKey makes such a record a dead letter)."""
    # The record and a count of arrived chunks are kept apart from the bag of chunk results,
    # so that the bag is read once, when the record is complete, not once per chunk.
    RECORD = ReadModifyWriteStateSpec("record", coders.PickleCoder())
    ARRIVED = CombiningValueStateSpec("arrived", coders.VarIntCoder(), CountCombineFn())
    CHUNKS = BagStateSpec("chunks", coders.PickleCoder())

    def process(self, element, record_state=beam.DoFn.StateParam(RECORD),
                arrived_state=beam.DoFn.StateParam(ARRIVED),
                chunks_state=beam.DoFn.StateParam(CHUNKS)):
        _, ((kind, value), micros, own_window) = element
        if kind == 0:
            # The record's own timestamp is what its result leaves with, where a chunk's is its
            # batch's, the earliest of the records batched with it.
            record_state.write((value, micros, own_window))
            record, expected = value, None
        else:
            chunks_state.add(value)
            arrived_state.add(1)
            record, expected = None, value.num_chunks
        if expected is None:
            chunks = list(chunks_state.read())
            expected = chunks[0].num_chunks if chunks else None
        if expected is None or arrived_state.read() < expected:
            return
        if record is None:
            kept = record_state.read()
            if kept is None:
                return
            record, micros, own_window = kept
        chunks = list(chunks_state.read())
        record_state.clear()
        arrived_state.clear()
        chunks_state.clear()
        yield from self._stitch(record, chunks, own_window, Timestamp(micros=micros))


class _StitchGroupFn(_Stitcher):
    """Bounded input: a record's key with the record and its chunk results, grouped."""

    def process(self, element, window=beam.DoFn.WindowParam):
        key, parts = element
        records = [value for kind, value in parts if kind == 0]
        chunks = [value for kind, value in parts if kind == 1]
        if len(records) != 1:
            # Keys are unique per record (records.py): this is a bug upstream. Each record
            # still comes out once, as a dead letter, and so does a key left with chunks only.
            reason = (f"stitching failed: {len(records)} records share the key {key!r}"
                      if records else "stitching failed: chunk results without their record")
            for record, micros in records or [(None, None)]:
                counters.DEAD_LETTERS.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, in_own_window(
                    _dead_letter(record, reason, "stitch") if record
                    else DeadLetter(str(key), reason, "", "stitch"),
                    window.max_timestamp() if micros is None else Timestamp(micros=micros),
                    window))
            return
        record, micros = records[0]
        timestamp = Timestamp(micros=micros)
        expected = chunks[0].num_chunks if chunks else 0
        if not chunks or sorted(c.chunk for c in chunks) != list(range(expected)):
            counters.DEAD_LETTERS.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, in_own_window(_dead_letter(
                record, f"stitching failed: {len(chunks)} chunk results arrived for "
                f"{expected or 'its'} chunks", "stitch"), timestamp, window))
            return
        yield from self._stitch(record, chunks, window, timestamp)


def _dead_letter(record, reason, stage="tag"):
    return DeadLetter(record.source or record.id, one_line(reason),
                      " ".join(map(str, record.tokens)), stage)
