"""Tokenized blocks as Beam elements: their coder registered for the pipelines that carry them.

The blocks themselves (``TokenizedBlock``, ``SegmentBlock``, ``WholeRecords``, ``tokenize_block``
...) are ``beamtagger/tagging/token_blocks.py``'s, which has no Beam import (``beamtagger.Tagger``
tokenizes through it); they are re-exported here. Tokenize, SplitIntoChunks and BucketByLength,
which make and take the blocks, import this module, so a pipeline that carries them has their
coder (``blocks._TokenBlockCoder``: pickled whole, sized without pickling).
"""
from apache_beam import coders

from beamtagger.tagging.token_blocks import (ByLength, SegmentBlock, TokenizedBlock, WholeRecords,
                                             entry_columns, entry_segments, one_record_entries,
                                             token_positions, tokenize_block)

__all__ = ["ByLength", "SegmentBlock", "TokenizedBlock", "WholeRecords", "entry_columns",
           "entry_segments", "one_record_entries", "token_positions", "tokenize_block"]


def _register_coders():
    from beamtagger.transforms.blocks import _TokenBlockCoder

    for kind in (TokenizedBlock, SegmentBlock):
        coders.registry.register_coder(kind, _TokenBlockCoder)


_register_coders()
