"""Tokenized blocks: the same tokens and offsets as record by record; batches of them hold
every record once, and a bundle holds only a bounded number of blocks."""
import pickle
from collections import Counter

import numpy as np
from apache_beam.transforms.window import GlobalWindow, IntervalWindow
from apache_beam.utils.timestamp import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beamtagger.model.features import TokenFeaturizer
from beamtagger.model.token_inputs import TokenInputs
from beamtagger.token_vocabulary import TokenVocabulary
from beamtagger.tokenizer import Tokenizer
from beamtagger.tagging.token_blocks import _segment_columns
from beamtagger.transforms.bucket import _CollectBatchesFromBlocksFn
from beamtagger.transforms.chunks import _SplitBlocksFn
from beamtagger.transforms.records import Segment, TextRecord, TokenizedRecord
from beamtagger.transforms.token_blocks import (ByLength, SegmentBlock, WholeRecords,
                                                entry_columns, entry_segments,
                                                one_record_entries, tokenize_block)

WORDS = st.lists(st.sampled_from(["The", "cat", "sat", ".", "etc.", "don't", "U.S.", "3:15",
                                  "naïve", "👍🏽", "Inc.", "x", "(s)"]), max_size=10)
TEXT = st.one_of(WORDS.map(" ".join), WORDS.map("  ".join), WORDS.map("\t".join),
                 st.text(max_size=30))
RECORD = st.one_of(TEXT.map(lambda text: ("text", text)),
                   WORDS.map(lambda words: ("tokens", tuple(words))))


def records_of(drawn):
    return [TextRecord(f"r{i}", value, f"f:{i}", {"n": i} if i % 3 == 0 else None)
            if kind == "text" else TokenizedRecord.from_tokens(f"r{i}", value, f"f:{i}")
            for i, (kind, value) in enumerate(drawn)]


class _NoStore:
    """A store that knows no token (TokenInputs needs ``rows``)."""

    @staticmethod
    def rows(tokens):
        return np.full(len(tokens), -1, dtype=np.int64)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORD, max_size=12), st.sampled_from([None, 3, 1 << 17]))
def test_a_block_holds_each_records_own_tokens_and_offsets(drawn, vocabulary_capacity):
    """Also with its tokens numbered by a vocabulary (that may be too small for them: then
    they are held as text), and after the block was pickled (as text)."""
    records = records_of(drawn)
    vocabulary = vocabulary_capacity and TokenVocabulary(vocabulary_capacity)
    block = tokenize_block(Tokenizer(), records, vocabulary)
    if vocabulary is not None and block.token_count and len(set(block.tokens)) <= 3:
        assert block.vocabulary is vocabulary and block.numbers is not None
    expected = Tokenizer()
    assert len(block) == len(records)
    for r, record in enumerate(records):
        if isinstance(record, TokenizedRecord):
            wanted = record
        else:
            texts, starts, ends = expected.tokenize_columns(record.text)
            wanted = TokenizedRecord(record.id, texts, starts, ends, record.source, record.fields)
        assert block.record(r) == wanted
    copied = pickle.loads(pickle.dumps(block))
    assert copied.vocabulary is None and copied.tokens == block.tokens
    assert [copied.record(r) for r in range(len(copied))] == [
        block.record(r) for r in range(len(block))]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORD, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_batch_columns_of_block_records_equal_those_of_their_segments(drawn, random):
    block = tokenize_block(Tokenizer(), records_of(drawn))
    rows = [r for r in range(len(block)) if block.length(r)]
    if not rows:
        return
    # The records in any order, cut into entries at random, some of one record.
    random.shuffle(rows)
    entries, start = [], 0
    for i in range(1, len(rows)):
        if random.random() < 0.4:
            entries.append(WholeRecords(block, rows[start:i]))
            start = i
    entries.append(WholeRecords(block, rows[start:]))
    random.shuffle(entries)
    found = entry_columns(entries)
    wanted = _segment_columns([segment for entry in entries for segment in entry_segments(entry)])
    # Slices of the block's ByLength (as BucketByLength cuts them): the same columns as the
    # same records given by index, with the tokens as text and as numbers.
    numbered = tokenize_block(Tokenizer(), records_of(drawn), TokenVocabulary())
    for sliced_block in (block, numbered):
        by_length = ByLength(sliced_block, rows)
        cuts = sorted(random.sample(range(1, len(rows)), random.randint(0, len(rows) - 1)))
        sliced = [WholeRecords(sliced_block, by_length.rows[a:b], by_length, a)
                  for a, b in zip([0, *cuts], [*cuts, len(rows)])]
        random.shuffle(sliced)
        by_index = [WholeRecords(sliced_block, entry.rows) for entry in sliced]
        assert_same_columns(entry_columns(sliced), entry_columns(by_index))
        token_inputs = TokenInputs(_NoStore(), TokenFeaturizer())
        assert_same_columns(entry_columns(sliced, token_inputs),
                            entry_columns(by_index, token_inputs))
    # By number: the same columns, the tokens as numbers of a TokenInputs' tables (a small
    # one: they may start afresh), with entries of a second block numbered by another
    # vocabulary, and Segments, in one batch.
    token_inputs = TokenInputs(_NoStore(), TokenFeaturizer(), capacity=random.choice([4, 64]))
    other = tokenize_block(Tokenizer(), records_of(drawn), TokenVocabulary())
    mixed = ([WholeRecords(numbered, entry.rows) for entry in entries]
             + [WholeRecords(other, entry.rows) for entry in entries[:1]]
             + entry_segments(entries[-1]))
    by_number = entry_columns(mixed, token_inputs)
    by_text = entry_columns(mixed)
    if by_number is None:   # more distinct tokens than the tables hold
        assert len(set(by_text["tokens"])) > token_inputs.capacity
    else:
        assert set(by_number) == set(by_text) - {"tokens"} | {"token_numbers"}
        assert [token_inputs.texts[n] for n in by_number["token_numbers"].tolist()] == list(
            by_text["tokens"])
        for name, column in by_text.items():
            if name != "tokens":
                assert np.array_equal(np.asarray(by_number[name], dtype=object),
                                      np.asarray(column, dtype=object)), name
    single = one_record_entries(entries)
    assert [len(entry) for entry in single] == [1] * len(rows)
    assert [segment for entry in single for segment in entry_segments(entry)] == [
        segment for entry in entries for segment in entry_segments(entry)]
    assert_same_columns(found, wanted)


def assert_same_columns(found, wanted):
    assert set(found) == set(wanted)
    for name, column in wanted.items():
        if isinstance(column, np.ndarray):
            assert np.array_equal(found[name], column) and found[name].dtype == column.dtype, name
        else:
            assert list(found[name]) == list(column), name


def test_a_bundle_holds_at_most_so_many_blocks_and_every_record_comes_out_once():
    """One record of a rare length in each of many blocks: they wait in one buffer, and the
    oldest blocks' waiting records become Segments so that those blocks can go."""
    collect = _CollectBatchesFromBlocksFn(max_batch_tokens=10_000,
                                          max_buffered_tokens=100_000)
    collect.PINNED_BUFFERS = 0.02   # hold about 2,000 tokens of blocks: five blocks
    limit = collect.PINNED_BUFFERS * collect.max_buffered_tokens
    split = _SplitBlocksFn(chunk=256, overlap=64)
    collect.start_bundle()
    tokenizer, batches, expected = Tokenizer(), [], []
    for b in range(40):
        rare = TextRecord(f"rare{b}", " ".join(["word"] * 97), f"f:rare{b}")
        common = [TextRecord(f"c{b}-{i}", "a common record .", f"f:c{b}-{i}") for i in range(3)]
        # Now and then a long record, whose chunks (Segments) wait beside the block records.
        long = [TextRecord(f"long{b}", " ".join(["w"] * 300), f"f:long{b}")] if b % 5 else []
        block = tokenize_block(tokenizer, [rare, *common, *long])
        for segments in split.process(block):
            if not isinstance(segments, SegmentBlock):
                continue   # the long record itself, for StitchChunks
            expected += [segment for r in segments.whole
                         for segment in entry_segments(WholeRecords(block, [r]))]
            expected += segments.chunks
            batches += list(collect.process(segments, window=GlobalWindow()))
        assert collect._pinned_tokens <= limit or len(collect._pinned) == 1
        assert collect._pinned_tokens == sum(len(held.tokens) for held, _ in
                                             collect._pinned.values())
    batches += [value.value for value in collect.finish_bundle()]
    found = [segment for batch in batches for entry in batch for segment in entry_segments(entry)]
    assert sorted(found) == sorted(expected)
    # The rare records of the oldest blocks left their blocks as Segments.
    assert any(isinstance(entry, Segment) and entry.key.startswith("f:rare")
               for batch in batches for entry in batch)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.integers(1, 40), max_size=30), min_size=1, max_size=6),
       st.integers(1, 200), st.integers(0, 400))
def test_block_records_go_out_once_in_batches_of_one_length_under_both_bounds(
        blocks_lengths, max_batch_tokens, extra_buffered):
    """Whole records are buffered a length at a time: the batches still hold one length and at
    most the budget's records, every record once, and the buffers stay under their bound after
    every block."""
    from beamtagger.transforms.bucket import bucket_length

    collect = _CollectBatchesFromBlocksFn(max_batch_tokens, max_batch_tokens + extra_buffered)
    collect.start_bundle()
    tokenizer, batches, expected = Tokenizer(), [], []
    for b, lengths in enumerate(blocks_lengths):
        records = [TextRecord(f"r{b}-{i}", " ".join(["w"] * n), f"f:{b}-{i}")
                   for i, n in enumerate(lengths)]
        block = tokenize_block(tokenizer, records)
        whole = list(range(len(records)))
        expected += [f"f:{b}-{i}" for i in whole]
        batches += [getattr(batch, "value", batch)
                    for batch in collect.process(SegmentBlock(block, whole, []), GlobalWindow())]
        assert collect._buffered_tokens <= collect.max_buffered_tokens
        # A block stays pinned exactly while records of it wait in a buffer, counted right:
        # one whose records all went out is let go, not held until the bound unpins it.
        waiting = Counter()
        for buffer in collect._buffers.values():
            for entry in buffer:
                if isinstance(entry, WholeRecords):
                    waiting[id(entry.block)] += len(entry)
        assert {key: held for key, (_, held) in collect._pinned.items()} == waiting
    batches += [value.value for value in collect.finish_bundle()]
    assert collect._pinned == {} and collect._pinned_tokens == 0
    segments = [[segment for entry in batch for segment in entry_segments(entry)]
                for batch in batches]
    assert sorted(segment.key for batch in segments for segment in batch) == sorted(expected)
    for batch, entries in zip(segments, batches):
        widths = {bucket_length(len(segment.tokens)) for segment in batch}
        assert len(widths) == 1
        assert 1 <= len(batch) <= max(1, max_batch_tokens // widths.pop())
        # A block's records of one length are one range: a batch takes one from each block
        # (records of blocks let go early are Segments).
        blocks = [id(entry.block) for entry in entries if isinstance(entry, WholeRecords)]
        assert len(blocks) == len(set(blocks))


def test_a_batch_of_records_with_their_own_timestamps_is_stamped_with_the_earliest():
    """TagText's blocks carry each record's timestamp: a batch, full or taken out at the
    bundle's end, is stamped with its earliest row's, in the block's window, so that a
    streaming watermark held at the batch passes none of its rows."""
    from beamtagger.transforms.bucket import bucket_length

    window = IntervalWindow(0, 60)
    collect = _CollectBatchesFromBlocksFn(max_batch_tokens=2 * bucket_length(2),
                                          max_buffered_tokens=1_000)
    collect.start_bundle()
    records = [TextRecord(f"r{i}", "two words", f"f:{i}") for i in range(3)]
    block = tokenize_block(Tokenizer(), records, timestamps=[5_000_000, 2_000_000, 9_000_000])
    full, = collect.process(SegmentBlock(block, [0, 1, 2], []), window)
    last, = collect.finish_bundle()
    assert [(value.timestamp, value.windows) for value in (full, last)] == [
        (Timestamp(micros=2_000_000), (window,)), (Timestamp(micros=9_000_000), (window,))]
    assert [[segment.key for entry in value.value for segment in entry_segments(entry)]
            for value in (full, last)] == [["f:0", "f:1"], ["f:2"]]


def test_blocks_stay_pinned_while_their_tokens_are_within_the_bound():
    """Only past the bound do the oldest blocks' waiting records become Segments: up to it,
    every block with a record waiting stays pinned and its records stay WholeRecords."""
    collect = _CollectBatchesFromBlocksFn(max_batch_tokens=10_000, max_buffered_tokens=9)
    collect.PINNED_BUFFERS = 1   # three blocks of 3 tokens: at the bound, not past it
    collect.start_bundle()
    tokenizer = Tokenizer()
    blocks = [tokenize_block(tokenizer, [TextRecord(f"r{b}", "a few words", f"f:{b}")])
              for b in range(3)]
    for block in blocks:
        assert list(collect.process(SegmentBlock(block, [0], []), GlobalWindow())) == []
    assert list(collect._pinned) == [id(block) for block in blocks]
    (buffer,) = collect._buffers.values()
    assert [type(entry) for entry in buffer] == [WholeRecords] * 3


def test_the_newest_block_stays_pinned_even_past_the_bound():
    """Letting the block just read go would make Segments of every record of it that waits;
    the bound lets only older blocks go."""
    collect = _CollectBatchesFromBlocksFn(max_batch_tokens=9, max_buffered_tokens=8)
    collect.PINNED_BUFFERS = 0.5   # a bound of 4 tokens
    collect.start_bundle()
    records = [TextRecord("full", "a b c d e", "f:0"), TextRecord("waits", "a few words", "f:1")]
    tokenizer, keys = Tokenizer(), []
    for _ in range(2):   # blocks of 8 tokens, past the bound alone
        block = tokenize_block(tokenizer, records)
        (batch,) = collect.process(SegmentBlock(block, [0, 1], []), GlobalWindow())
        keys += [segment.key for entry in batch for segment in entry_segments(entry)]
        assert list(collect._pinned) == [id(block)]
    assert keys == ["f:0", "f:0"]   # the record of 5 tokens fills a batch alone
    # The older block went: its waiting record is a Segment now, the newer one's is not.
    (buffer,) = collect._buffers.values()
    assert [type(entry) for entry in buffer] == [Segment, WholeRecords]
