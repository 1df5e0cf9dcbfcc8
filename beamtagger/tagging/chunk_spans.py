"""Chunk spans: where a record longer than the chunk is cut, and which tokens each chunk owns.

Every token takes its label probabilities from the chunk where it is most central (the
reasons: ``transforms/chunks.py``, which cuts and stitches a pipeline's long records). No
Beam here: ``TaggerModelHandler`` and ``beamtagger.Tagger`` cut a group's long records by the
same spans.
"""
import numbers
from typing import NamedTuple

from beamtagger import tagging_defaults

__all__ = ["ChunkSpan", "check_chunk", "chunk_spans"]


class ChunkSpan(NamedTuple):
    """One chunk ``[start, end)`` of a record and the tokens ``[keep_start, keep_end)`` it owns.

    Args:
      start, end: the chunk's tokens in the record.
      keep_start, keep_end: the tokens it owns (its probabilities are theirs), in the record.
    """
    start: int
    end: int
    keep_start: int
    keep_end: int


def chunk_spans(length, chunk=tagging_defaults.CHUNK, overlap=tagging_defaults.OVERLAP):
    """The chunks covering ``length`` tokens; the owned runs partition ``[0, length)``.

    Chunks start every ``chunk - overlap`` tokens and the last one ends with the record, so it
    may be shorter. Each overlap is split in its middle: every owned token sees at least half
    the overlap on each side within its chunk, or the record's own edge.

    The last chunk used to end at the record's end with all ``chunk`` tokens: a record of 260
    tokens then ran two full chunks (512 tokens) where it now runs 324. On documents of EWT
    dev and of WNUT-17 tweets (bench/chunking_quality.py, 3 groupings, the bundled tagger)
    the model ran 1.21-1.24x the tokens instead of 1.34-1.42x, and the labels differed from
    those of the whole documents on 0-2 tokens in 15-25 thousand either way (UPOS accuracy
    the same to four digits).
    """
    check_chunk(chunk, overlap)
    if length <= chunk:
        return [ChunkSpan(0, length, 0, length)]
    stride = chunk - overlap
    starts = list(range(0, length - overlap, stride))
    spans, keep_start = [], 0
    for k, start in enumerate(starts):
        if k + 1 < len(starts):
            # Token i is nearer the centre of chunk k than of a full chunk k+1 (ties go to k)
            # iff 2i <= start_k + start_{k+1} + chunk - 1: the middle of their overlap.
            keep_end = (start + starts[k + 1] + chunk - 1) // 2 + 1
        else:
            keep_end = length
        spans.append(ChunkSpan(start, min(start + chunk, length), keep_start, keep_end))
        keep_start = keep_end
    return spans


def check_chunk(chunk, overlap):
    # A float passed these bounds and then failed the whole job in the worker that first cut
    # a long record ("'float' object cannot be interpreted as an integer").
    for name, value in (("chunk", chunk), ("overlap", overlap)):
        # A bool is an int to Python: overlap=True read as 1.
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise ValueError(f"{name} must be a whole number of tokens, not {value!r}")
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 token, not {chunk}")
    if not 0 <= overlap < chunk:
        raise ValueError(f"overlap must lie in [0, chunk), not {overlap} (chunk {chunk})")
