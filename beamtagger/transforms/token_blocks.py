"""Tokenized blocks: a block of records after the tokenizer, held as columns.

``TagText``'s bounded path tokenizes a block of records at once (``tokenize.Tokenize(blocks=
True)``): its tokens go into one list and their character offsets into two NumPy arrays, so a
record that fits one chunk never becomes a ``TokenizedRecord`` or a ``Segment`` of its own.
BucketByLength batches such a record as a reference ``(block, index)`` and AttachVectors takes
its columns by slicing. Records whose chunks are each one token, one space apart (96% of EWT
train as text) get their offsets from the token lengths for the whole block in one NumPy pass,
where a tuple of offsets per record cost 0.15 core-microseconds a token (bench/throughput_bench
.py case G, issue 18). Long records (more than a chunk) and empty ones leave the block as
TokenizedRecords, as in the per-record path.
"""
import itertools

import numpy as np
from apache_beam import coders

from beamtagger.transforms.records import Segment, TokenizedRecord

__all__ = ["SegmentBlock", "TokenizedBlock", "entry_segment", "tokenize_block"]


class TokenizedBlock:
    """Records and their tokens as columns.

    Args:
      records: the records (TextRecord or TokenizedRecord); their id, key and fields are used.
      tokens: every record's tokens, one record after the other.
      bounds: record ``r``'s tokens are ``tokens[bounds[r]:bounds[r + 1]]`` (R + 1 ints).
      starts, ends: int32 (N,) character offsets of every token.
    """
    __slots__ = ("records", "tokens", "bounds", "starts", "ends", "_record_columns")

    def __init__(self, records, tokens, bounds, starts, ends):
        self.records, self.tokens, self.bounds = records, tokens, bounds
        self.starts, self.ends = starts, ends
        self._record_columns = None

    def record_columns(self):
        """(keys, ids, fields) of the records, as lists (made on first use)."""
        if self._record_columns is None:
            records = self.records
            ids = [record.id for record in records]
            self._record_columns = ([record.source or record.id for record in records], ids,
                                    [record.fields for record in records])
        return self._record_columns

    def __reduce__(self):
        return TokenizedBlock, (self.records, self.tokens, self.bounds, self.starts, self.ends)

    def __len__(self):
        return len(self.records)

    def length(self, r):
        return self.bounds[r + 1] - self.bounds[r]

    def record(self, r):
        """Record ``r`` as a TokenizedRecord."""
        start, stop = self.bounds[r], self.bounds[r + 1]
        record = self.records[r]
        return TokenizedRecord(record.id, tuple(self.tokens[start:stop]),
                               tuple(self.starts[start:stop].tolist()),
                               tuple(self.ends[start:stop].tolist()), record.source,
                               record.fields)

    def estimated_size(self):
        return 24 * len(self.tokens) + 64 * len(self.records)


class SegmentBlock:
    """What ``SplitIntoChunks(blocks=True)`` gives BucketByLength: the records of ``block``
    that fit one chunk (indices in ``whole``) and the chunks (Segments) of its long records.

    A plain class, not a NamedTuple: Beam would give a NamedTuple type hint a schema coder.
    """
    __slots__ = ("block", "whole", "chunks")

    def __init__(self, block, whole, chunks):
        self.block, self.whole, self.chunks = block, whole, chunks

    def __reduce__(self):
        return SegmentBlock, (self.block, self.whole, self.chunks)

    def estimated_size(self):
        return self.block.estimated_size()


def tokenize_block(tokenizer, records):
    """A TokenizedBlock of ``records`` (TextRecord or TokenizedRecord, already checked) and
    the ``tokenizer``; raises whatever the tokenizer raises on one of them (the caller then
    tokenizes record by record)."""
    tokens, bounds, explicit, spaced, text_lengths = [], [0], [], [], []
    extend, bound = tokens.extend, bounds.append
    token_chunks = tokenizer.token_chunks
    for r, record in enumerate(records):
        if isinstance(record, TokenizedRecord):
            texts, starts, ends = record.tokens, record.starts, record.ends
            if not len(texts) == len(starts) == len(ends):
                raise ValueError(f"{len(texts)} tokens but {len(starts)} starts and "
                                 f"{len(ends)} ends")
            explicit.append((r, starts, ends))
        else:
            texts = token_chunks(record.text)
            if texts is None:   # a chunk in pieces (or first seen): cut chunk by chunk
                texts, starts, ends = tokenizer.chunk_columns(record.text)
                explicit.append((r, starts, ends))
            else:
                spaced.append(r)   # offsets from the lengths, below
                text_lengths.append(len(record.text))
        extend(texts)
        bound(len(tokens))
    lengths = np.fromiter(map(len, tokens), np.int32, len(tokens))
    # Each token starts one past the end of the one before it in its record: running[i] is
    # the sum of (length + 1) over the tokens before token i, less that sum at its record's
    # first token.
    running = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=running[1:])
    edges = np.asarray(bounds, dtype=np.int64)
    starts = (running[:-1] - np.repeat(running[edges[:-1]], np.diff(edges))).astype(np.int32)
    ends = starts + lengths
    if spaced:
        # A record of chunks that are its tokens, one space apart, spans exactly their
        # lengths and one space between each two; others (two spaces, a leading tab) are
        # located chunk by chunk.
        rows = np.asarray(spaced, dtype=np.int64)
        counts = edges[rows + 1] - edges[rows]
        spans = running[edges[rows + 1]] - running[edges[rows]] - 1
        apart = np.flatnonzero((counts > 0) & (spans != np.asarray(text_lengths)))
        for r in rows[apart].tolist():
            explicit.append((r,) + _located(records[r].text, tokens[bounds[r]:bounds[r + 1]]))
    for r, record_starts, record_ends in explicit:
        starts[bounds[r]:bounds[r + 1]] = record_starts
        ends[bounds[r]:bounds[r + 1]] = record_ends
    return TokenizedBlock(records, tokens, bounds, starts, ends)


def _located(text, chunks):
    """(starts, ends) of ``chunks`` found one after the other in ``text``."""
    starts, ends, end = [], [], 0
    for chunk in chunks:
        start = text.find(chunk, end)
        end = start + len(chunk)
        starts.append(start)
        ends.append(end)
    return starts, ends


def entry_segment(entry):
    """A batch entry (a Segment, or a whole record ``(TokenizedBlock, index)``) as a Segment."""
    if isinstance(entry, Segment):
        return entry
    block, r = entry
    record = block.record(r)
    return Segment(record.key, record.tokens, record.id, record.starts, record.ends,
                   record.fields, 0, 1, 0, len(record.tokens))


def entry_columns(entries):
    """The columns of a batch's entries, whole records of each block taken together.

    Returns a dict: lengths (int32 array), tokens (list), keys, ids, fields (lists), chunk,
    num_chunks, keep_start, keep_end (int32 arrays), starts, ends (int32 arrays of the
    whole records' tokens, in row order).
    """
    by_block, segments = {}, []
    for entry in entries:
        if isinstance(entry, Segment):
            segments.append(entry)
        else:
            group = by_block.get(id(entry[0]))
            if group is None:
                group = by_block[id(entry[0])] = (entry[0], [])
            group[1].append(entry[1])
    parts = []
    if by_block:
        # A batch of one length draws a few records from each of many blocks: per record, the
        # spans are Python ints and the offsets NumPy views, joined once for the whole batch
        # (NumPy calls per block cost 70 us each, 1 core-us a token on EWT train).
        lengths, tokens, keys, ids, fields, starts, ends = [], [], [], [], [], [], []
        for block, rows in by_block.values():
            bounds, block_tokens = block.bounds, block.tokens
            block_starts, block_ends = block.starts, block.ends
            for r in rows:
                first, stop = bounds[r], bounds[r + 1]
                lengths.append(stop - first)
                tokens += block_tokens[first:stop]
                starts.append(block_starts[first:stop])
                ends.append(block_ends[first:stop])
            block_keys, block_ids, block_fields = block.record_columns()
            keys += [block_keys[r] for r in rows]
            ids += [block_ids[r] for r in rows]
            fields += [block_fields[r] for r in rows]
        count = len(lengths)
        lengths = np.array(lengths, dtype=np.int32)
        whole = {"lengths": lengths, "tokens": tokens, "keys": keys, "ids": ids,
                 "fields": fields, "starts": np.concatenate(starts).astype(np.int32, copy=False),
                 "ends": np.concatenate(ends).astype(np.int32, copy=False),
                 "chunk": np.zeros(count, np.int32), "num_chunks": np.ones(count, np.int32),
                 "keep_start": np.zeros(count, np.int32), "keep_end": lengths}
        if not segments:
            return whole
        parts.append(whole)
    parts.append(_segment_columns(segments))
    if len(parts) == 1:
        return parts[0]
    return {name: (np.concatenate([part[name] for part in parts])
                   if isinstance(parts[0][name], np.ndarray)
                   else list(itertools.chain.from_iterable(part[name] for part in parts)))
            for name in parts[0]}


def _segment_columns(segments):
    # One transposition of the segments' fields in C, then whole columns.
    (keys, tokens, ids, starts, ends, fields, chunk, num_chunks, keep_start,
     keep_end) = zip(*segments)
    return {"lengths": np.fromiter(map(len, tokens), np.int32, len(segments)),
            "tokens": list(itertools.chain.from_iterable(tokens)),
            "keys": list(keys), "ids": list(ids), "fields": list(fields),
            "chunk": np.asarray(chunk, np.int32), "num_chunks": np.asarray(num_chunks, np.int32),
            "keep_start": np.asarray(keep_start, np.int32),
            "keep_end": np.asarray(keep_end, np.int32),
            "starts": np.fromiter(itertools.chain.from_iterable(starts), np.int32),
            "ends": np.fromiter(itertools.chain.from_iterable(ends), np.int32)}


def _register_coders():
    from beamtagger.transforms.blocks import _TokenBlockCoder

    for kind in (TokenizedBlock, SegmentBlock):
        coders.registry.register_coder(kind, _TokenBlockCoder)


_register_coders()
