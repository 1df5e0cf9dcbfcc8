"""Record blocks: records carried between the tagging stages in lists, not one by one.

Beam's runner costs about a microsecond and a half per element at every step it crosses
(measured: 1.25 µs a step for an identity Map on the DirectRunner, 2 cores), about 0.1
core-microseconds per token at EWT's 16 tokens a record, for each of the five steps a record
crossed between reading and batching. In lists of up to ``BLOCK_RECORDS`` records (a "block")
the runner's cost is paid per block, and each stage loops over the block in Python instead.

Blocks never change what happens to a record: each stage still treats every record of a block
on its own (a record that fails is one dead letter; the others go on), and a block holds
records of one Beam window only (at any timestamps: ``CollectRecordBlocks``' ``own_timestamps``
carries each record's in the block). Where the block path is used, and where not (streaming keeps
single records, which carry their own windows and timestamps through ``BucketByLength``'s
trigger): ``tag_text.TagText``.
"""
import pickle

import apache_beam as beam
from apache_beam.coders import coder_impl
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from beamtagger.transforms import counters
from beamtagger.transforms.records import ERRORS, UNREAD_STAGE, DeadLetter, TextRecord

__all__ = ["BLOCK_CHARACTERS", "BLOCK_RECORDS", "Block", "BlockCoder", "CollectRecordBlocks",
           "in_blocks", "reader_outputs"]

# A block ends at whichever comes first. 1,024 records: the runner's per-element cost is then
# under 0.1% of a record's; the character bound keeps a block of 2 MB lines from holding
# gigabytes.
BLOCK_RECORDS = 1024
BLOCK_CHARACTERS = 4 << 20
# Open blocks a bundle may hold (one a window): past it, all go out. Records each in their own
# window fill no block, and a bundle held every one of them until its end.
OPEN_BLOCKS = 256


class Block(list):
    """A list of records, segments or a batch of segments, carried as one element; its type
    tells Beam to use ``BlockCoder``.

    ``timestamps``: each record's own timestamp, in microseconds, in the records' order
    (``CollectRecordBlocks(own_timestamps=True)``), or None."""
    __slots__ = ("timestamps",)

    def __init__(self, items=(), timestamps=None):
        super().__init__(items)
        self.timestamps = timestamps

    def __reduce__(self):
        return Block, (list(self), self.timestamps)


class BlockCoder(beam.coders.Coder):
    """Pickles a Block, and estimates its size without pickling it.

    Beam samples the size of about 10 ln(n) of the n elements of every PCollection through its
    coder (``opcounters.OutputCounter``); for a block of 1,024 records a pickled estimate
    cost a millisecond, 0.3 core-microseconds a token over the four block PCollections of a
    1M-token run (py-spy, case G). The estimate here counts the characters of the records.
    """

    def _create_impl(self):
        return coder_impl.CallbackCoderImpl(_pickled, _unpickled, _estimated_size)

    def is_deterministic(self):
        return False

    def to_type_hint(self):
        return Block

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))


def _pickled(block):
    return pickle.dumps((list(block), block.timestamps), pickle.HIGHEST_PROTOCOL)


def _unpickled(encoded):
    return Block(*pickle.loads(encoded))


def _estimated_size(block):
    if hasattr(block, "estimated_size"):
        return block.estimated_size()
    return sum(map(record_size, block)) + 16 * len(block)


class _TokenBlockCoder(BlockCoder):
    """BlockCoder for the tokenized blocks (``token_blocks``): pickled whole."""

    def _create_impl(self):
        return coder_impl.CallbackCoderImpl(
            lambda value: pickle.dumps(value, pickle.HIGHEST_PROTOCOL), pickle.loads,
            _estimated_size)

    def to_type_hint(self):
        return object


beam.coders.registry.register_coder(Block, BlockCoder)


def record_size(record):
    """Characters a record (or segment, or batch of them) holds, near enough for bounding a
    block and estimating its size."""
    if isinstance(record, TextRecord) and isinstance(record.text, str):
        return len(record.text)
    if isinstance(record, list):
        return _estimated_size(record)
    estimated_size = getattr(record, "estimated_size", None)
    if estimated_size is not None:   # whole records of a TokenizedBlock (token_blocks)
        return estimated_size()
    tokens = getattr(record, "tokens", ())
    return 8 * len(tokens) if isinstance(tokens, (tuple, list)) else 0


def in_blocks(items, errors_tag, on_dead_letter=None):
    """Records of ``items`` in lists of at most ``BLOCK_RECORDS`` records / ``BLOCK_CHARACTERS``
    characters; each DeadLetter among them goes out at once as ``TaggedOutput(errors_tag, ...)``
    (after ``on_dead_letter(letter)``, for counting), in its place in the stream."""
    block, characters = Block(), 0
    for item in items:
        if isinstance(item, DeadLetter):
            if on_dead_letter is not None:
                on_dead_letter(item)
            yield beam.pvalue.TaggedOutput(errors_tag, item)
            continue
        block.append(item)
        characters += len(item.text) if type(item) is TextRecord else record_size(item)
        if len(block) >= BLOCK_RECORDS or characters >= BLOCK_CHARACTERS:
            yield block
            block, characters = Block(), 0
    if block:
        yield block


def reader_outputs(items, blocks=False):
    """A reading DoFn's outputs: its records (or, with ``blocks``, lists of them) and its dead
    letters (tagged ``records.ERRORS``), counted once per file or range when the reader is
    done: a counter update costs ~2 µs (tokenize.py). Dead letters that stand for a part of
    the input not read (``records.UNREAD_STAGE``) are counted apart too."""
    read = dead = unread = 0

    def one_more_dead_letter(letter):
        nonlocal dead, unread
        dead += 1
        unread += letter.stage == UNREAD_STAGE

    try:
        if blocks:
            for output in in_blocks(items, ERRORS, one_more_dead_letter):
                read += 1 if isinstance(output, beam.pvalue.TaggedOutput) else len(output)
                yield output
            return
        for item in items:
            read += 1
            if isinstance(item, DeadLetter):
                one_more_dead_letter(item)
                yield beam.pvalue.TaggedOutput(ERRORS, item)
            else:
                yield item
    finally:
        counters.RECORDS_READ.inc(read)
        counters.DEAD_LETTERS.inc(dead)
        if unread:
            counters.UNREAD_PARTS.inc(unread)


@beam.typehints.with_output_types(Block)
class CollectRecordBlocks(beam.PTransform):
    """Records -> blocks of records of one window, collected within each bundle.

    ``own_timestamps``: a block carries each record's own timestamp (``Block.timestamps``), so
    that each stage's outputs of a record (its dead letters, its long or empty record, its
    batch row) leave at the record's own timestamp (``TagText``), and is stamped with the
    earliest of them, behind none of its records: a streaming runner holds its watermark
    there while the block is on its way. Otherwise a block is stamped with its window's end
    (``beamtagger tag``, whose records' timestamps mean nothing). Records of one window make
    the same blocks either way, whatever their timestamps.
    """

    def __init__(self, own_timestamps=False):
        super().__init__()
        self.own_timestamps = own_timestamps

    def expand(self, records):
        return records | "CollectBlocks" >> beam.ParDo(
            _CollectBlocksFn(self.own_timestamps)).with_output_types(Block)


class _CollectBlocksFn(beam.DoFn):
    """One open block per window; a full block goes out at once, the rest at the bundle's end,
    stamped with their records' earliest timestamp (``own_timestamps``) or their window's end
    (as BucketByLength's bounded batches are)."""

    def __init__(self, own_timestamps=False):
        self.own_timestamps = own_timestamps

    def start_bundle(self):
        self._blocks = {}   # window -> [block, characters]

    def process(self, record, window=beam.DoFn.WindowParam,
                timestamp=beam.DoFn.TimestampParam):
        block = self._blocks.get(window)
        if block is None:
            block = self._blocks[window] = [Block(timestamps=[] if self.own_timestamps
                                                  else None), 0]
        block[0].append(record)
        if self.own_timestamps:
            block[0].timestamps.append(timestamp.micros)
        block[1] += record_size(record)
        if len(block[0]) >= BLOCK_RECORDS or block[1] >= BLOCK_CHARACTERS:
            del self._blocks[window]
            yield _stamped(block[0], window)
        elif len(self._blocks) > OPEN_BLOCKS:
            yield from self.finish_bundle()

    def finish_bundle(self):
        for window, (records, _) in self._blocks.items():
            yield _stamped(records, window)
        self._blocks = {}


def _stamped(block, window):
    timestamp = (window.max_timestamp() if block.timestamps is None
                 else Timestamp(micros=min(block.timestamps)))
    return WindowedValue(block, timestamp, (window,))
