"""Tagging a group of records at once, in this process: what RunInference's handler and
``beamtagger.Tagger`` run.

A group is tokenized at once into a block of numbered tokens (``token_blocks.tokenize_block``),
its long records cut into chunks of at most ``chunk`` tokens like TagText does
(``chunk_spans``), sorted into the same length buckets under ``max_batch_tokens``
(``length_buckets``), turned into the model inputs ``record_batches.build_record_batch`` puts
in TagText's batches (``entry_model_inputs``, without the Arrow batch) and run by the runtime
(``LoadedTagger.predict``): the code paths TagText uses, so all three give the same labels.

No Beam here. What a group adds to the counters goes where the caller says
(``TaggingCounters``): Beam's ``beamtagger`` counters for ``TaggerModelHandler``, nowhere for
``beamtagger.Tagger`` (``NOT_COUNTED``).
"""
from typing import Any, List, NamedTuple, Sequence, Union

import numpy as np

from beamtagger.model import runtimes
from beamtagger.model.model_inputs import check_vector_dtype
from beamtagger.tagging.chunk_spans import check_chunk, chunk_spans
from beamtagger.tagging.length_buckets import check_batch_options, length_batches
from beamtagger.tagging.loaded_tagger import LoadedTagger
from beamtagger.tagging.token_blocks import (TokenizedBlock, WholeRecords, token_positions,
                                             tokenize_block)
from beamtagger.tagging_defaults import CHUNK, MAX_BATCH_TOKENS, OVERLAP
from beamtagger.token_vocabulary import TokenVocabulary
from beamtagger.transforms.records import Segment, TaggedRecord, TextRecord, TokenizedRecord

__all__ = ["NOT_COUNTED", "RecordTagger", "TaggingCounters"]


class TaggingCounters(NamedTuple):
    """Where ``RecordTagger`` counts, each anything with ``inc(n)``; the names are those of
    the ``beamtagger`` counters (``transforms/counters.py``) they stand for."""
    tokens: Any             # tokens of the tagged records
    records_tagged: Any
    batches: Any            # model calls
    batched_tokens: Any     # real tokens sent to the model
    padded_slots: Any       # B x T summed over the model calls
    oov_tokens: Any         # tokens without a stored vector


class _NotCounted:
    __slots__ = ()

    def inc(self, n=1):
        pass


NOT_COUNTED = TaggingCounters(*[_NotCounted()] * len(TaggingCounters._fields))


class RecordTagger:
    """Tags groups of checked records with a ``LoadedTagger``: ``tagged_records``.

    One a thread: it tokenizes with a tokenizer of its own, made at its first group (the
    tokenizer's caches are not for sharing), and numbers tokens in its own token vocabulary; a
    copy of one that has tagged nothing yet is a fresh one. The loaded model may be shared.

    Args:
      max_batch_tokens: padded slots (batch size x padded length) of one model call.
      chunk: records longer than this many tokens are tagged in overlapping chunks and
        stitched back together.
      overlap: tokens shared by neighbouring chunks.
      vector_dtype: "float32" or "float16" vectors fed to the model.
      counters: where the groups are counted (``TaggingCounters``; ``NOT_COUNTED``).
    Each option is checked here: ValueError for one no tagging can follow.
    """

    def __init__(self, *, max_batch_tokens: int = MAX_BATCH_TOKENS, chunk: int = CHUNK,
                 overlap: int = OVERLAP, vector_dtype: str = "float32",
                 counters: TaggingCounters = NOT_COUNTED):
        check_batch_options(max_batch_tokens)
        check_chunk(chunk, overlap)
        self.max_batch_tokens = max_batch_tokens
        self.chunk = chunk
        self.overlap = overlap
        self.vector_dtype = check_vector_dtype(vector_dtype)
        self.counters = counters
        self._tokenizer = None
        self._vocabulary = None

    def tagged_records(self, records: Sequence[Union[TextRecord, TokenizedRecord]],
                       model: LoadedTagger, runtime: str) -> List[TaggedRecord]:
        """The TaggedRecord of each of ``records`` (TextRecord or TokenizedRecord, already
        checked: ``TaggerModelHandler``'s ``record_of``, or ``beamtagger.Tagger``'s checks),
        in order, tagged by ``model`` (loaded for ``runtime``, whose bucket widths the
        batches take)."""
        block = self._tokenize(records)
        self.counters.tokens.inc(block.token_count)
        self.counters.records_tagged.inc(len(records))
        label_ids, scores = self._predict(block, model, runtimes.bucket_widths(runtime))
        # Every token's label and score as Python objects at once, each record a slice.
        labels = np.asarray(model.labels(), dtype=object)[label_ids].tolist()
        scores = scores.tolist()
        bounds, texts = block.bounds, block.tokens
        starts, ends = block.starts.tolist(), block.ends.tolist()
        tagged = []
        for r, record in enumerate(records):
            first, stop = bounds[r], bounds[r + 1]
            tagged.append(TaggedRecord(record.id, tuple(texts[first:stop]),
                                       tuple(starts[first:stop]), tuple(ends[first:stop]),
                                       tuple(labels[first:stop]), tuple(scores[first:stop]),
                                       record.source, record.fields))
        return tagged

    def _tokenize(self, records) -> TokenizedBlock:
        """The group's records tokenized at once, as TagText tokenizes a block of records."""
        if self._tokenizer is None:  # one a RecordTagger, i.e. a thread
            from beamtagger.tokenizer import Tokenizer
            self._tokenizer = Tokenizer()
            self._vocabulary = TokenVocabulary()
        block = tokenize_block(self._tokenizer, records, self._vocabulary)
        if block.vocabulary is None and not self._vocabulary.has_room(block.token_count):
            self._vocabulary = TokenVocabulary()   # full: the next batches number afresh
        return block

    def _predict(self, block, model, widths):
        """(label ids int32, scores float64) of every token of ``block``, record after record.
        Records of at most ``chunk`` tokens go to the model as rows of the block
        (``WholeRecords``: their tokens by number) and are decoded with the batch they ran in;
        longer ones go as chunk Segments and are decoded once their chunks are stitched."""
        bounds = block.bound_array()
        length_array = np.diff(bounds)
        lengths = length_array.tolist()
        label_ids = np.zeros(block.token_count, np.int32)
        # float64 holds float32 scores exactly, and a head's float64 scores too.
        scores = np.zeros(block.token_count, np.float64)
        items = []   # (tokens, record, chunk span or None): one model row each
        spans = {}   # record -> its chunk spans, for the records longer than a chunk
        for r, length in enumerate(lengths):
            if length <= self.chunk:
                if length:
                    items.append((length, r, None))
                continue
            spans[r] = chunk_spans(length, self.chunk, self.overlap)
            items += [(span.end - span.start, r, span) for span in spans[r]]
        chunk_probs = {}   # (record, chunk start) -> (n, L)
        counters = self.counters
        for indices in length_batches([item[0] for item in items], self.max_batch_tokens,
                                      widths):
            whole = [items[j][1] for j in indices if items[j][2] is None]
            chunks = [items[j] for j in indices if items[j][2] is not None]
            entries = [WholeRecords(block, whole)] if whole else []
            entries += [self._chunk_segment(block, r, span) for _, r, span in chunks]
            probs, (tokens, slots, oov) = model.predict(entries, self.vector_dtype)
            counters.batches.inc()
            counters.batched_tokens.inc(tokens)
            counters.padded_slots.inc(slots)
            counters.oov_tokens.inc(oov)
            if whole:
                rows = np.asarray(whole)
                ids, row_scores = model.decode_rows(probs[:len(whole)], length_array[rows])
                positions = token_positions(bounds[rows], length_array[rows])
                label_ids[positions] = ids
                scores[positions] = row_scores
            for row, (_, r, span) in enumerate(chunks, start=len(whole)):
                chunk_probs[r, span.start] = probs[row, span.keep_start - span.start:
                                                   span.keep_end - span.start]
        long_records = sorted(spans)
        stitched = [np.concatenate([chunk_probs[r, span.start] for span in spans[r]], axis=0)
                    for r in long_records]
        for r, (ids, record_scores) in zip(long_records,
                                           model.decode_all(stitched, label_ids=True)):
            label_ids[bounds[r]:bounds[r + 1]] = ids
            scores[bounds[r]:bounds[r + 1]] = record_scores
        return label_ids, scores

    @staticmethod
    def _chunk_segment(block, r, span):
        first = block.bounds[r]
        tokens = tuple(block.token_texts(first + span.start, first + span.end))
        offsets = tuple(range(len(tokens)))   # a chunk's offsets are not needed, only its tokens
        return Segment(str(r), tokens, str(r), offsets, offsets)
