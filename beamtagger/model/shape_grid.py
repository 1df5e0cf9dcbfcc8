"""The fixed grid of batch shapes a compiling runtime (``runtime="jax"``) runs, so the number of
compiled shapes is bounded whatever the input.

XLA compiles one program per input shape, 1.0-2.2 s each on an H200 (issue 17: 27 shapes of
Keras-on-JAX took 45 s), where TensorFlow traces one function for every (B, T). The tag stage's
default buckets (exact lengths up to 64, ``bucket.bucket_length``) give dozens of widths and,
with partial batches, hundreds of (B, T) shapes. So:

* **widths** (T) come from ``WIDTHS``, the ten widths of the issue's Keras-on-JAX measurement
  (padding efficiency 0.79 on EWT train when sentences are bucketed by them); a longer segment
  (only with ``--chunk`` above 256) is rounded up to the next power of two or three quarters of
  one (384, 512, 768, 1,024, ...), so a longer chunk adds widths by its logarithm, padding each
  segment less than 1.5 times over (as multiples of 128, ``--chunk 10000`` allowed 77 more
  widths, several shapes each, 1-2 s of compilation a shape on a GPU). ``BucketByLength``
  buckets by these widths when the runtime asks for them (``runtimes.Runtime.bucket_widths``),
  so the tag stage's full batches are already on the grid;
* **rows** (B) are ``slots // width`` for ``slots`` a power of two from ``MIN_SLOTS`` to
  ``MAX_SLOTS``: a full batch of a power-of-two token budget (16,384, 65,536, 262,144) fills
  its class exactly, a partial batch is padded to less than twice its rows, and a batch of more
  than ``MAX_SLOTS`` slots is run in several calls.

A batch is padded up to its grid shape (zero inputs, length 0 rows) inside the runtime, and the
padding is counted: the tag stage adds the extra slots to the ``padded_slots`` counter, so
``beamtagger tag``'s padding efficiency is over the slots the model ran. Bound on compiled shapes:
``len(widths up to the longest segment) x len(slot classes)`` (10 x 9 with the default chunk,
21 x 9 with ``--chunk 10000``); a run of one token budget uses about one class per width for its
full batches plus the classes of its partial batches (``jax_inference`` counts them).

No NumPy: ``BucketByLength`` and the runtime registry import this module.
"""
import bisect

WIDTHS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256)
MIN_SLOTS = 1 << 10          # smallest class: a tiny batch is padded to 1,024 slots at most
MAX_SLOTS = 1 << 18          # largest class (the 256k-slot budget of gpu_bench)
SLOT_CLASSES = tuple(1 << k for k in range(MIN_SLOTS.bit_length() - 1,
                                           MAX_SLOTS.bit_length()))


def grid_width(length, widths=WIDTHS):
    """The smallest grid width holding ``length`` tokens (>= 1)."""
    if length <= widths[-1]:
        return widths[bisect.bisect_left(widths, length)]
    power_of_two = 1 << (length - 1).bit_length()
    three_quarters = power_of_two // 4 * 3
    return three_quarters if three_quarters >= length else power_of_two


def grid_rows(width):
    """The row counts of every slot class at ``width`` (ascending; at least one row)."""
    return tuple(sorted({max(1, slots // width) for slots in SLOT_CLASSES}))


def grid_shapes(batch_size, length):
    """[(rows, width), ...]: the grid calls that run a batch of ``batch_size`` rows padded to
    ``length``: as many calls of the largest class as needed, then the smallest class that holds
    the rest."""
    width = grid_width(length)
    rows = grid_rows(width)
    calls = [(rows[-1], width)] * ((batch_size - 1) // rows[-1])
    rest = batch_size - len(calls) * rows[-1]
    calls.append((rows[bisect.bisect_left(rows, rest)], width))
    return calls


def computed_slots(batch_size, length):
    """Slots (rows x width summed over calls) the grid runs for a (batch_size, length) batch."""
    return sum(rows * width for rows, width in grid_shapes(batch_size, length))
