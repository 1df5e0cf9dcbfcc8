"""Tokenize: TextRecord -> TokenizedRecord with character offsets (pre-tokenized records pass).

Each DoFn instance (one per worker thread) builds its own Tokenizer in ``setup``: the spaCy
tokenizer keeps caches that are not meant to be shared between threads.
"""
from typing import NamedTuple

import apache_beam as beam

from beamtagger.transforms import counters
from beamtagger.transforms.blocks import Block
from beamtagger.transforms.records import DeadLetter, TextRecord, TokenizedRecord, one_line

__all__ = ["Tokenize", "TokenizeResult"]

ERRORS = "errors"


class TokenizeResult(NamedTuple):
    """What Tokenize returns.

    Args:
      records: TokenizedRecord, one per record that could be tokenized.
      errors: DeadLetter, one per record that could not.
    """
    records: beam.PCollection
    errors: beam.PCollection


# Input: TextRecord or TokenizedRecord. Not declared: Beam turns a Union of NamedTuples into a
# union schema, which cannot describe the records' free-form ``fields`` dict.
class Tokenize(beam.PTransform):
    """TextRecords are tokenized, TokenizedRecords pass through; returns
    ``TokenizeResult(records, errors)``. Takes no arguments: spaCy's English rules, with the
    conventions of EWT and the Penn Treebank (``beamtagger.tokenizer``).

    ``blocks=True`` (internal, ``TagText``'s bounded path): the input and ``records`` are
    blocks (lists) of records (``transforms/blocks.py``).
    """

    def __init__(self, blocks=False):
        super().__init__()
        self.blocks = blocks

    def expand(self, records):
        tokenize = beam.ParDo(_TokenizeBlocksFn() if self.blocks else _TokenizeFn())
        if self.blocks:
            tokenize = tokenize.with_output_types(Block)
        out = records | "Tokenize" >> tokenize.with_outputs(ERRORS, main="records")
        return TokenizeResult(out.records, out[ERRORS])


class _TokenizeFn(beam.DoFn):
    """Counts tokens per bundle, not per record: one Beam counter update costs about 2 µs
    (measured here), 0.12 µs a token on EWT's 16-token sentences, where the whole CPU side
    of a run is about 5 µs a token (bench/throughput_bench.py case G)."""

    def setup(self):
        from beamtagger.tokenizer import Tokenizer
        self._tokenizer = Tokenizer()

    def start_bundle(self):
        self._tokens = 0

    def finish_bundle(self):
        if self._tokens:
            counters.TOKENS.inc(self._tokens)
            self._tokens = 0

    def process(self, record):
        tokenized = self._tokenized(record)
        if isinstance(tokenized, DeadLetter):
            yield beam.pvalue.TaggedOutput(ERRORS, tokenized)
        else:
            yield tokenized

    def _tokenized(self, record):
        """The record's TokenizedRecord, or the DeadLetter saying why it has none."""
        if isinstance(record, TokenizedRecord):
            self._tokens += len(record.tokens)
            return record
        try:
            if not isinstance(record, TextRecord):
                record = TextRecord(*record)
            if not isinstance(record.text, str):
                raise TypeError(f"the text is a {type(record.text).__name__}, not a string")
            texts, starts, ends = self._tokenizer.tokenize_columns(record.text)
        except Exception as error:  # noqa: BLE001  (one record's failure must not fail the job)
            counters.DEAD_LETTERS.inc()
            key = record.key if isinstance(record, TextRecord) else repr(record)[:200]
            text = record.text if isinstance(record, TextRecord) else repr(record)
            return DeadLetter(str(key), one_line(f"tokenizer failed: {error!r}"), str(text),
                              "tokenize")
        self._tokens += len(texts)
        return TokenizedRecord(record.id, texts, starts, ends, record.source, record.fields)


class _TokenizeBlocksFn(_TokenizeFn):
    """A block of records -> the block of their TokenizedRecords; dead letters one by one."""

    def process(self, block):
        tokenized = Block()
        for record in block:
            result = self._tokenized(record)
            if isinstance(result, DeadLetter):
                yield beam.pvalue.TaggedOutput(ERRORS, result)
            else:
                tokenized.append(result)
        if tokenized:
            yield tokenized
