"""Tokenized blocks: a block of records after the tokenizer, held as columns.

``TagText``'s bounded path tokenizes a block of records at once (``tokenize.Tokenize(blocks=
True)``): its tokens become one int32 array of numbers of the tokenizer's ``TokenVocabulary``
(or, without one, one list of str) and their character offsets two NumPy arrays, so a record
that fits one chunk never becomes a ``TokenizedRecord`` or a ``Segment`` of its own.
BucketByLength sorts a block's whole records by token count once (``ByLength``: the block's
columns in that order) and batches the records of one length as one ``WholeRecords`` entry, a
slice of it (one entry a block and length, not a tuple a record); AttachVectors takes their
columns as slices and their model inputs by number (``model.token_inputs``). Records whose
chunks are each one token, one space apart (96% of EWT train as text) get their offsets from
the token lengths for the whole block in one NumPy pass, where a tuple of offsets per record
cost 0.15 core-microseconds a token (bench/throughput_bench.py case G, issue 18). Long records
(more than a chunk) and empty ones leave the block as TokenizedRecords, as in the per-record
path. ``beamtagger.Tagger`` and ``TaggerModelHandler`` tokenize a group of records the same way.

No Beam here: the coders a pipeline carries the blocks with are registered by
``transforms/token_blocks.py``, which every Beam step that makes or takes them imports.
"""
import itertools
from operator import itemgetter

import numpy as np

from beamtagger.transforms.records import Segment, TokenizedRecord

__all__ = ["ByLength", "SegmentBlock", "TokenizedBlock", "WholeRecords", "entry_columns",
           "entry_segments", "one_record_entries", "token_positions", "tokenize_block"]


class TokenizedBlock:
    """Records and their tokens as columns.

    Args:
      records: the records (TextRecord or TokenizedRecord); their id, key and fields are used.
      tokens: every record's tokens, one record after the other; None with ``numbers``.
      bounds: record ``r``'s tokens are ``tokens[bounds[r]:bounds[r + 1]]`` (R + 1 ints).
      starts, ends: int32 (N,) character offsets of every token.
      numbers, vocabulary: the tokens as int32 (N,) numbers of a ``TokenVocabulary`` of this
        process, or both None. A pickled block carries its tokens as text, not numbers.
      timestamps: each record's own timestamp in microseconds (``TagText``'s bounded path,
        whose blocks hold records of one window at any timestamps), or None.
    """
    __slots__ = ("records", "_tokens", "bounds", "starts", "ends", "numbers", "vocabulary",
                 "timestamps", "_record_columns", "_bound_array")

    def __init__(self, records, tokens, bounds, starts, ends, numbers=None, vocabulary=None,
                 timestamps=None):
        if (numbers is None) != (vocabulary is None) or (tokens is None and numbers is None):
            raise ValueError("a TokenizedBlock needs its tokens, or numbers and their vocabulary")
        self.records, self._tokens, self.bounds = records, tokens, bounds
        self.starts, self.ends = starts, ends
        self.numbers, self.vocabulary = numbers, vocabulary
        self.timestamps = timestamps
        self._record_columns = None
        self._bound_array = None

    @property
    def tokens(self):
        """Every record's tokens as a list of str (made from the numbers on first use)."""
        if self._tokens is None:
            self._tokens = self.vocabulary.texts_of(self.numbers)
        return self._tokens

    def token_texts(self, start, stop):
        """The texts of tokens ``start:stop``, as a list."""
        if self._tokens is None:
            return self.vocabulary.texts_of(self.numbers[start:stop])
        return self._tokens[start:stop]

    @property
    def token_count(self):
        return self.bounds[-1]

    def bound_array(self):
        """``bounds`` as an int64 NumPy array (made on first use)."""
        if self._bound_array is None:
            self._bound_array = np.asarray(self.bounds, dtype=np.int64)
        return self._bound_array

    def record_columns(self):
        """(keys, ids, fields) of the records, as lists (made on first use)."""
        if self._record_columns is None:
            records = self.records
            ids = [record.id for record in records]
            self._record_columns = ([record.source or record.id for record in records], ids,
                                    [record.fields for record in records])
        return self._record_columns

    def __reduce__(self):
        # Numbers mean something only in this process: the tokens travel as text.
        return TokenizedBlock, (self.records, self.tokens, self.bounds, self.starts, self.ends,
                                None, None, self.timestamps)

    def __len__(self):
        return len(self.records)

    def length(self, r):
        return self.bounds[r + 1] - self.bounds[r]

    def record(self, r):
        """Record ``r`` as a TokenizedRecord."""
        start, stop = self.bounds[r], self.bounds[r + 1]
        record = self.records[r]
        return TokenizedRecord(record.id, tuple(self.token_texts(start, stop)),
                               tuple(self.starts[start:stop].tolist()),
                               tuple(self.ends[start:stop].tolist()), record.source,
                               record.fields)

    def estimated_size(self):
        return 24 * self.token_count + 64 * len(self.records)


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


class ByLength:
    """The columns of some of a block's records (``rows``), sorted by token count (records of
    one count in block order), so the records of one count are a slice of each: BucketByLength
    makes one a block, and its ``WholeRecords`` entries are slices of it.

    ``token_bounds[k]:token_bounds[k + 1]`` are record ``rows[k]``'s tokens in ``numbers``
    (or ``tokens``), ``starts`` and ``ends``."""
    __slots__ = ("rows", "lengths", "token_bounds", "numbers", "tokens", "starts", "ends",
                 "keys", "ids", "fields")

    def __init__(self, block, rows):
        rows = np.asarray(rows, dtype=np.int64)
        bounds = block.bound_array()
        lengths = bounds[rows + 1] - bounds[rows]
        order = np.argsort(lengths, kind="stable")
        rows, lengths = rows[order], lengths[order]
        self.rows, self.lengths = rows.tolist(), lengths
        self.token_bounds = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.token_bounds[1:])
        positions = token_positions(bounds[rows], lengths)
        self.starts, self.ends = block.starts.take(positions), block.ends.take(positions)
        if block.vocabulary is not None:
            self.numbers, self.tokens = block.numbers.take(positions), None
        else:
            self.numbers, self.tokens = None, list(_items(block.tokens, positions.tolist()))
        keys, ids, fields = block.record_columns()
        self.keys, self.ids, self.fields = (list(_items(column, self.rows))
                                            for column in (keys, ids, fields))


class WholeRecords:
    """A batch entry: the records ``rows`` (a list of indices) of ``block``, each of them whole
    (one chunk). BucketByLength makes one for the records of one length in a block, so a batch
    holds one entry a block it draws from, not one a record; then ``rows`` are
    ``by_length.rows[first:first + len(rows)]`` (``by_length``: the block's ``ByLength``), and
    the entry's columns are slices of it. Its length is the number of records; their own
    timestamps are their block's (``timestamps``)."""
    __slots__ = ("block", "rows", "by_length", "first")

    def __init__(self, block, rows, by_length=None, first=None):
        self.block, self.rows, self.by_length, self.first = block, rows, by_length, first

    def __reduce__(self):   # the ByLength is not pickled
        return WholeRecords, (self.block, self.rows)

    def timestamps(self):
        """Each record's own timestamp (microseconds), in ``rows``' order, as a Segment's
        ``timestamp_micros``; None where the block carries none."""
        timestamps = self.block.timestamps
        return None if timestamps is None else list(_items(timestamps, self.rows))

    def __len__(self):
        return len(self.rows)

    def __repr__(self):
        return f"WholeRecords(<block of {len(self.block)}>, {self.rows!r})"

    @property
    def token_count(self):
        bounds = self.block.bounds
        return sum(bounds[r + 1] - bounds[r] for r in self.rows)

    def estimated_size(self):
        return 8 * self.token_count


def token_positions(firsts, lengths):
    """The positions of the tokens of records that start at ``firsts`` and have ``lengths``
    tokens, record after record (int64)."""
    if not len(lengths):
        return np.zeros(0, dtype=np.int64)
    runs = np.cumsum(lengths) - lengths   # tokens before each record
    return (np.arange(int(runs[-1] + lengths[-1]), dtype=np.int64)
            + np.repeat(firsts - runs, lengths))


def tokenize_block(tokenizer, records, vocabulary=None, timestamps=None):
    """A TokenizedBlock of ``records`` (TextRecord or TokenizedRecord, already checked), their
    own ``timestamps`` (or None) and the ``tokenizer``; raises whatever the tokenizer raises on one of them (the caller then
    tokenizes record by record). With ``vocabulary`` (a ``TokenVocabulary``) the block holds
    its tokens as that vocabulary's numbers, unless they do not fit in it (then as text: the
    caller starts a new vocabulary when ``block.numbers`` is None)."""
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
    numbers = None if vocabulary is None else vocabulary.numbers(tokens)
    if numbers is None:
        vocabulary = None
        lengths = np.fromiter(map(len, tokens), np.int32, len(tokens))
    else:
        lengths = vocabulary.lengths(numbers)
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
    if numbers is not None:   # the strings go: the vocabulary holds one of each
        tokens = None
    return TokenizedBlock(records, tokens, bounds, starts, ends, numbers, vocabulary,
                          timestamps)


def _located(text, chunks):
    """(starts, ends) of ``chunks`` found one after the other in ``text``."""
    starts, ends, end = [], [], 0
    for chunk in chunks:
        start = text.find(chunk, end)
        end = start + len(chunk)
        starts.append(start)
        ends.append(end)
    return starts, ends


def _items(values, indices):
    """``values[i]`` for each of ``indices`` (a list), as a tuple, in one C call."""
    if len(indices) == 1:   # itemgetter of one index returns the item, not a 1-tuple
        return (values[indices[0]],)
    return itemgetter(*indices)(values) if indices else ()


def entry_segments(entry):
    """The Segments of a batch entry (a Segment, or a ``WholeRecords``): one per record."""
    if isinstance(entry, Segment):
        return [entry]
    block = entry.block
    segments = []
    for r in entry.rows:
        record = block.record(r)
        segments.append(Segment(record.key, record.tokens, record.id, record.starts,
                                record.ends, record.fields, 0, 1, 0, len(record.tokens),
                                None if block.timestamps is None else block.timestamps[r]))
    return segments


def one_record_entries(entries):
    """``entries`` with each ``WholeRecords`` of several records cut into one a record (for
    finding the one record of a batch that fails)."""
    cut = []
    for entry in entries:
        if isinstance(entry, WholeRecords) and len(entry) > 1:
            cut += [WholeRecords(entry.block, [r]) for r in entry.rows]
        else:
            cut.append(entry)
    return cut


def entry_columns(entries, token_inputs=None):
    """The columns of a batch's entries: the records of ``WholeRecords`` first, in order, then
    Segments.

    Returns a dict: lengths (int32 array), tokens (list), keys, ids, fields (lists), chunk,
    num_chunks, keep_start, keep_end (int32 arrays), starts, ends (int32 arrays of the
    whole records' tokens, in row order). With ``token_inputs`` (a ``TokenInputs``), the
    tokens come as "token_numbers", their numbers in its tables (an int array), not as
    texts; None when the batch holds more distinct tokens than its tables.
    """
    whole_entries, segments = [], []
    for entry in entries:
        (segments if isinstance(entry, Segment) else whole_entries).append(entry)
    generation = None if token_inputs is None else token_inputs.generation
    parts = []
    if whole_entries:
        parts.append(_whole_record_columns(whole_entries, token_inputs))
    if segments or not parts:
        parts.append(_segment_columns(segments, token_inputs))
    if any(part is None for part in parts):
        return None
    if len(parts) > 1 and token_inputs is not None and token_inputs.generation != generation:
        # The tables started afresh after the first part's numbers: all by text at once.
        columns = entry_columns(entries)
        numbers = token_inputs.numbers(columns.pop("tokens"))
        if numbers is None:
            return None
        columns["token_numbers"] = numbers
        return columns
    if len(parts) == 1:
        return parts[0]
    return {name: (np.concatenate([part[name] for part in parts])
                   if isinstance(parts[0][name], np.ndarray)
                   else list(itertools.chain.from_iterable(part[name] for part in parts)))
            for name in parts[0]}


def _whole_record_columns(entries, token_inputs):
    """The columns of ``WholeRecords``: slices of their block's ``ByLength`` (or, for an entry
    of any rows, the gathers of its token positions), per entry a few C calls whatever its
    records and tokens, where a slice of each column a record was a few a record."""
    lengths, texts, numbered, keys, ids, fields, starts, ends = [], [], [], [], [], [], [], []
    for entry in entries:
        block, rows = entry.block, entry.rows
        if not rows:
            continue
        by_length = entry.by_length
        if by_length is not None:
            first, stop = entry.first, entry.first + len(rows)
            token_first, token_stop = by_length.token_bounds[[first, stop]].tolist()
            lengths.append(by_length.lengths[first:stop])
            starts.append(by_length.starts[token_first:token_stop])
            ends.append(by_length.ends[token_first:token_stop])
            if by_length.numbers is not None and token_inputs is not None:
                numbered.append((block.vocabulary, by_length.numbers[token_first:token_stop]))
            else:
                entry_texts = (by_length.tokens[token_first:token_stop] if by_length.tokens
                               is not None else block.vocabulary.texts_of(
                                   by_length.numbers[token_first:token_stop]))
                if token_inputs is not None:
                    numbered.append((None, entry_texts))
                else:
                    texts += entry_texts
            keys += by_length.keys[first:stop]
            ids += by_length.ids[first:stop]
            fields += by_length.fields[first:stop]
            continue
        bounds = block.bound_array()
        row_array = np.asarray(rows, dtype=np.int64)
        firsts = bounds[row_array]
        entry_lengths = bounds[row_array + 1] - firsts
        lengths.append(entry_lengths)
        positions = token_positions(firsts, entry_lengths)
        starts.append(block.starts.take(positions))
        ends.append(block.ends.take(positions))
        if token_inputs is not None and block.vocabulary is not None:
            numbered.append((block.vocabulary, block.numbers.take(positions)))
        elif token_inputs is not None:
            numbered.append((None, _items(block.tokens, positions.tolist())))
        else:
            texts += block.vocabulary.texts_of(block.numbers.take(positions)) if (
                block.vocabulary is not None) else _items(block.tokens, positions.tolist())
        block_keys, block_ids, block_fields = block.record_columns()
        keys += _items(block_keys, rows)
        ids += _items(block_ids, rows)
        fields += _items(block_fields, rows)
    lengths = (np.concatenate(lengths) if lengths else np.zeros(0, np.int64)).astype(np.int32)
    count = len(lengths)
    columns = {"lengths": lengths, "keys": keys, "ids": ids, "fields": fields,
               "starts": _joined(starts), "ends": _joined(ends),
               "chunk": np.zeros(count, np.int32), "num_chunks": np.ones(count, np.int32),
               "keep_start": np.zeros(count, np.int32), "keep_end": lengths}
    if token_inputs is None:
        columns["tokens"] = texts
        return columns
    numbers = _table_numbers(numbered, token_inputs)
    if numbers is None:
        return None
    columns["token_numbers"] = numbers
    return columns


def _table_numbers(numbered, token_inputs):
    """``token_inputs``' numbers of the tokens of (vocabulary, its numbers) and (None, texts)
    pairs, in order."""
    vocabularies = {id(vocabulary) for vocabulary, _ in numbered}
    if len(vocabularies) == 1 and numbered[0][0] is not None:   # the usual batch: one gather
        vocabulary = numbered[0][0]
        return token_inputs.vocabulary_numbers(
            vocabulary, np.concatenate([numbers for _, numbers in numbered]))
    parts = []
    for vocabulary, tokens in numbered:
        generation = token_inputs.generation
        part = (token_inputs.numbers(list(tokens)) if vocabulary is None
                else token_inputs.vocabulary_numbers(vocabulary, tokens))
        if part is None or token_inputs.generation != generation:
            # More distinct tokens than the tables hold, or they started afresh and the
            # parts before point into the old ones: by text, in one call.
            texts = [text for vocabulary, tokens in numbered for text in (
                tokens if vocabulary is None else vocabulary.texts_of(tokens))]
            return token_inputs.numbers(texts)
        parts.append(part)
    return np.concatenate(parts) if parts else np.zeros(0, np.intp)


def _joined(arrays):
    return (np.concatenate(arrays) if arrays else np.zeros(0, np.int32)).astype(np.int32,
                                                                                copy=False)


def _segment_columns(segments, token_inputs=None):
    if not segments:
        columns = _whole_record_columns([], None)
    else:
        # One transposition of the segments' fields in C, then whole columns.
        (keys, tokens, ids, starts, ends, fields, chunk, num_chunks, keep_start,
         keep_end, _) = zip(*segments)
        columns = {
            "lengths": np.fromiter(map(len, tokens), np.int32, len(segments)),
            "tokens": list(itertools.chain.from_iterable(tokens)),
            "keys": list(keys), "ids": list(ids), "fields": list(fields),
            "chunk": np.asarray(chunk, np.int32), "num_chunks": np.asarray(num_chunks, np.int32),
            "keep_start": np.asarray(keep_start, np.int32),
            "keep_end": np.asarray(keep_end, np.int32),
            "starts": np.fromiter(itertools.chain.from_iterable(starts), np.int32),
            "ends": np.fromiter(itertools.chain.from_iterable(ends), np.int32)}
    if token_inputs is not None:
        numbers = token_inputs.numbers(columns.pop("tokens"))
        if numbers is None:
            return None
        columns["token_numbers"] = numbers
    return columns

