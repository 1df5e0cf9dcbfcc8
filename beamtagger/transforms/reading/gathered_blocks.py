"""GatherBlocks: the blocks of many small files gathered into full blocks before tagging.

A reader makes blocks (``blocks.in_blocks``) file by file, so a folder of one-message files
gave blocks of 1-3 records, and every stage after the read paid its per-block cost
(the runner's per-element cost, the tokenizer's and batcher's set-up per block) per file:
50,000 files of 1-3 lines took 1.83x the CPU of their text in one file, 1.43x gathered
(``bench/small_files_bench.py``, BENCHMARKS.md). Gathered here, within each bundle and window,
the stages see blocks as full as one large file's.
"""
import apache_beam as beam
from apache_beam.utils.windowed_value import WindowedValue

from beamtagger.transforms.blocks import BLOCK_CHARACTERS, BLOCK_RECORDS, Block, record_size

__all__ = ["GatherBlocks"]


@beam.typehints.with_input_types(Block)
@beam.typehints.with_output_types(Block)
class GatherBlocks(beam.PTransform):
    """Blocks -> blocks of the same records, those under ``BLOCK_RECORDS`` records joined (in
    the order they came, within one window) into blocks of at most ``BLOCK_RECORDS`` records
    and ``BLOCK_CHARACTERS`` characters (``blocks.record_size``; a block over that bound alone
    stays one block); a full block passes as it is."""

    def expand(self, blocks):
        return blocks | "GatherBlocks" >> beam.ParDo(_GatherBlocksFn()).with_output_types(Block)


class _GatherBlocksFn(beam.DoFn):
    """One open block per window; it goes out when the next block would not fit it, the rest
    at the bundle's end, stamped with its window's end (as ``blocks.CollectRecordBlocks``'
    are)."""

    def start_bundle(self):
        self._open = {}

    def process(self, block, window=beam.DoFn.WindowParam):
        if len(block) >= BLOCK_RECORDS:
            yield block
            return
        size = record_size(block)
        gathered = self._open.get(window)
        if gathered is not None and (len(gathered[0]) + len(block) > BLOCK_RECORDS
                                     or gathered[1] + size > BLOCK_CHARACTERS):
            yield WindowedValue(gathered[0], window.max_timestamp(), (window,))
            gathered = None
        if gathered is None:
            gathered = self._open[window] = [Block(), 0]
        gathered[0].extend(block)
        gathered[1] += size

    def finish_bundle(self):
        for window, (records, _) in self._open.items():
            yield WindowedValue(records, window.max_timestamp(), (window,))
        self._open = {}
