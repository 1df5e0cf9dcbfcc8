"""Length buckets: which records share a batch, and how many fit under a token budget.

Buckets are exact lengths up to 64 tokens and then ``2**(bit_length - 6)`` tokens wide (1/32
to 1/64 of the length), so a batch pads at most ~3% of its slots while long, rarer lengths still
fill batches. EWT train sentences: padding efficiency 0.99+ (see transforms_bucket_test.py).
A batch of bucket length L holds at most ``max_batch_tokens // L`` records, so the padded slots
(B x T) of every batch are bounded however long the records are.

No Beam here: ``BucketByLength`` (``transforms/bucket.py``) batches a pipeline's segments by
these buckets, and ``TaggerModelHandler`` and ``beamtagger.Tagger`` a group of records at once
(``length_batches``).
"""
import numbers

from beamtagger.model.shape_grid import grid_width
from beamtagger.tagging_defaults import check_whole_number, shown

__all__ = ["EXACT_LENGTHS_UP_TO", "bucket_length", "check_batch_options", "length_batches"]

EXACT_LENGTHS_UP_TO = 64


def bucket_length(length, widths=None):
    """The padded length of the bucket holding records of ``length`` tokens; with ``widths``
    (a runtime's compiled widths, ``model/shape_grid.py``) the smallest that holds them."""
    if widths is not None:
        return grid_width(length, widths)
    if length <= EXACT_LENGTHS_UP_TO:
        return length
    width = 1 << (length.bit_length() - 6)
    return -(-length // width) * width


def length_batches(lengths, max_batch_tokens, widths=None):
    """Indices into ``lengths`` sorted by length, in batches of one length bucket each under
    ``max_batch_tokens`` padded slots (at least one a batch), as BucketByLength batches a
    bounded input all at once."""
    by_bucket = {}
    for j in sorted(range(len(lengths)), key=lengths.__getitem__):
        by_bucket.setdefault(bucket_length(lengths[j], widths), []).append(j)
    for bucket, indices in by_bucket.items():
        size = max(1, max_batch_tokens // bucket)
        for start in range(0, len(indices), size):
            yield indices[start:start + size]


def check_batch_options(max_batch_tokens, max_buffering_secs=None):
    """ValueError for a batch size or buffering time no batching can follow, where the
    transform is built (a string got as far as the pipeline's construction, as a TypeError
    from a comparison)."""
    # Integers only: a batch holds max_batch_tokens // length records, which for inf is NaN,
    # and max(1, NaN) made every batch one record (fuzzing the transforms' arguments); True
    # and 1.5 passed as 1.
    check_whole_number("max_batch_tokens", max_batch_tokens, 1)
    if max_buffering_secs is not None and not (isinstance(max_buffering_secs, numbers.Real)
                                               and not isinstance(max_buffering_secs, bool)
                                               and 0 < max_buffering_secs < float("inf")):
        raise ValueError(f"max_buffering_secs must be a positive number of seconds, not "
                         f"{shown(max_buffering_secs)}")
