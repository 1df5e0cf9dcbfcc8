"""TagText: the whole tagging job for a PCollection of records, as one composite transform.

    records (TextRecord | TokenizedRecord)
      -> Tokenize -> SplitIntoWindows -> BucketByLength -> AttachVectors -> TagBatches
      -> (StitchWindows for long records) -> TaggedRecord, plus DeadLetters

Without an accelerator every stage fuses into one CPU stage and batches never leave the worker
that built them. With ``accelerator="type:nvidia-l4;count:1;install-nvidia-driver"`` only
TagBatches carries the resource hint: Dataflow right fitting runs it on GPU workers, and the
Arrow batches cross to them through ArrowRecordBatchCoder (never pickled).
"""
from typing import NamedTuple

import apache_beam as beam

from beamtagger.transforms.attach_vectors import AttachVectors
from beamtagger.transforms.bucket import DEFAULT_MAX_BATCH_TOKENS, BucketByLength
from beamtagger.transforms.tag import TagBatches
from beamtagger.transforms.tokenize import Tokenize
from beamtagger.transforms.windows import (DEFAULT_OVERLAP, DEFAULT_WINDOW, SplitIntoWindows,
                                           StitchWindows)


class TagTextResult(NamedTuple):
    tagged: beam.PCollection   # TaggedRecord, one per input record that could be tagged
    errors: beam.PCollection   # DeadLetter, one per record that could not


# With merge_tagged=False, ``tagged`` is a tuple of these three PCollections instead.
TAGGED_PARTS = ("whole records", "stitched long records", "empty records")


class TagText(beam.PTransform):
    """Tags every token of every record; returns ``TagTextResult(tagged, errors)``.

    ``model_dir`` / ``store_path``: the tagger and its embedding store (None: the bundled
    model and the default store). ``window``/``overlap``: records longer than ``window``
    tokens are tagged in overlapping windows and stitched. ``max_batch_tokens`` bounds the
    padded slots (B x T) of a batch. ``max_buffering_secs``: how long a partial batch may wait
    in a streaming pipeline. ``accelerator``: a Beam accelerator resource hint for the tag
    stage only. ``vector_dtype``: "float32" or "float16" vectors in the batches.
    ``tagger_threads``: TensorFlow threads per worker process (see TagBatches).

    ``merge_tagged=False`` returns ``tagged`` as a tuple of PCollections (``TAGGED_PARTS``) for
    a consumer that takes several inputs, such as WriteResults. Beam's local runner copies
    every element of a multi-input Flatten through an encoded buffer into a stage of its own
    (fn_api_runner ``translations.sink_flattens``), so formatting and writing all records
    waited for the last batch; ``beamtagger tag`` formats each part where it is produced
    (bench/throughput_bench.py case D).
    """

    def __init__(self, model_dir=None, store_path=None, window=DEFAULT_WINDOW,
                 overlap=DEFAULT_OVERLAP, max_batch_tokens=DEFAULT_MAX_BATCH_TOKENS,
                 max_buffering_secs=None, accelerator=None, vector_dtype="float32",
                 allow_other_embeddings=False, progress_every_secs=None,
                 merge_tagged=True, tagger_threads=None):
        super().__init__()
        self.model_dir = None if model_dir is None else str(model_dir)
        self.store_path = None if store_path is None else str(store_path)
        self.window = window
        self.overlap = overlap
        self.max_batch_tokens = max_batch_tokens
        self.max_buffering_secs = max_buffering_secs
        self.accelerator = accelerator
        self.vector_dtype = vector_dtype
        self.allow_other_embeddings = allow_other_embeddings
        self.progress_every_secs = progress_every_secs
        self.merge_tagged = merge_tagged
        self.tagger_threads = tagger_threads

    def expand(self, records):
        tokenized = records | "Tokenize" >> Tokenize()
        windowed = tokenized.records | "SplitIntoWindows" >> SplitIntoWindows(
            self.window, self.overlap)
        batches = (
            windowed.segments
            | "BucketByLength" >> BucketByLength(
                self.max_batch_tokens, self.max_buffering_secs)
            | "AttachVectors" >> AttachVectors(
                self.store_path, self.model_dir, self.vector_dtype, self.allow_other_embeddings))
        tag = TagBatches(self.model_dir, self.progress_every_secs, self.tagger_threads)
        if self.accelerator:
            tag = tag.with_resource_hints(accelerator=self.accelerator)
        tagged = batches | "Tag" >> tag
        stitched = ((windowed.long_records, tagged.windows)
                    | "StitchWindows" >> StitchWindows(self.model_dir))
        parts = (tagged.tagged, stitched.tagged, windowed.empty)
        return TagTextResult(
            parts | "AllTagged" >> beam.Flatten() if self.merge_tagged else parts,
            (tokenized.errors, tagged.errors, stitched.errors) | "AllErrors" >> beam.Flatten())
