"""Tokenize: TextRecord -> TokenizedRecord with character offsets (pre-tokenized records pass).

Each DoFn instance (one per worker thread) builds its own Tokenizer in ``setup``: the spaCy
tokenizer keeps caches that are not meant to be shared between threads.
"""
from typing import NamedTuple

import apache_beam as beam
from apache_beam.utils.timestamp import Timestamp

from beamtagger.tagging.record_checks import (check_max_record_chars, check_tokenized,
                                              checked_record, tokenizer_dead_letter)
from beamtagger.tagging_defaults import MAX_RECORD_CHARS
from beamtagger.token_vocabulary import TokenVocabulary
from beamtagger.transforms import counters
from beamtagger.transforms.global_window import in_own_window
from beamtagger.transforms.token_blocks import TokenizedBlock, tokenize_block
from beamtagger.transforms.records import DeadLetter, TextRecord, TokenizedRecord
from beamtagger.transforms.schema_rows import (how_to_make_a_record, row_columns,
                                               text_record_of_row)
from beamtagger.transforms.typed_outputs import typed_outputs

# check_max_record_chars, check_tokenized and checked_record are tagging/record_checks.py's (no
# Beam there: beamtagger.Tagger checks its records by them), re-exported.
__all__ = ["Tokenize", "TokenizeResult", "check_max_record_chars", "check_tokenized",
           "checked_record"]

ERRORS = "errors"


class TokenizeResult(NamedTuple):
    """What Tokenize returns.

    Args:
      records: TokenizedRecord, one per record that could be tokenized.
      errors: DeadLetter, one per record that could not.
    """
    records: beam.PCollection
    errors: beam.PCollection


# Input: TextRecord or TokenizedRecord (or a tuple shaped like a TextRecord, or a schema'd
# row with id and text columns, schema_rows.py). Not declared as a
# type hint: Beam would refuse those tuples while the pipeline is built.
class Tokenize(beam.PTransform):
    """TextRecords are tokenized, TokenizedRecords pass through; returns
    ``TokenizeResult(records, errors)``, with spaCy's English rules and the conventions of EWT
    and the Penn Treebank (``beamtagger.tokenizer``). A record of more than
    ``max_record_chars`` characters (a TokenizedRecord's tokens counted one space apart) is a
    dead letter: it would be held whole in a worker's memory, about 0.8 kB a token.

    ``blocks=True`` (internal, ``TagText``'s bounded path): the input is blocks (lists) of
    records (``transforms/blocks.py``) and ``records`` holds one ``token_blocks.TokenizedBlock``
    a block.
    """

    def __init__(self, blocks=False, max_record_chars=MAX_RECORD_CHARS):
        super().__init__()
        self.blocks = blocks
        self.max_record_chars = check_max_record_chars(max_record_chars)

    def expand(self, records):
        if not self.blocks:
            check_record_type(records, "Tokenize")
        tokenize = beam.ParDo((_TokenizeBlocksFn if self.blocks else _TokenizeFn)(
            self.max_record_chars))
        out = typed_outputs(records, "Tokenize", tokenize, "records",
                            TokenizedBlock if self.blocks else TokenizedRecord,
                            **{ERRORS: DeadLetter})
        return TokenizeResult(out.records, out[ERRORS])


class _TokenizeFn(beam.DoFn):
    """Counts tokens per bundle, not per record: one Beam counter update costs about 2 µs
    (measured here), 0.12 µs a token on EWT's 16-token sentences, where the whole CPU side
    of a run is about 5 µs a token (bench/throughput_bench.py case G)."""

    def __init__(self, max_record_chars=MAX_RECORD_CHARS):
        self.max_record_chars = max_record_chars

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
        record = checked_record(record, self.max_record_chars, as_record=_text_record_of)
        if isinstance(record, TokenizedRecord):
            # What tokenize_block checks on the block path: one start and one end a token,
            # every token a string. Unchecked, a record with fewer offsets than tokens was
            # tagged and then written with as many tokens as it had offsets.
            try:
                check_tokenized(record)
            except Exception as error:  # noqa: BLE001  (one record's failure must not fail the job)
                return _dead_letter(record, error)
            self._tokens += len(record.tokens)
            return record
        if isinstance(record, DeadLetter):
            counters.DEAD_LETTERS.inc()
            return record
        try:
            texts, starts, ends = self._tokenizer.tokenize_columns(record.text)
        except Exception as error:  # noqa: BLE001  (one record's failure must not fail the job)
            return _dead_letter(record, error)
        self._tokens += len(texts)
        return TokenizedRecord(record.id, texts, starts, ends, record.source, record.fields)


def _text_record_of(element):
    """The TextRecord of a schema'd row (by column name, ``schema_rows``) or of a tuple or list
    like one (id, text[, source[, fields]]); TypeError for anything else. Unpacked as it came,
    a str of two to four characters was a record ("abc": the token "b" of id "a") and a dict
    the tuple of its keys, its key "text" tagged."""
    columns = row_columns(element)
    if columns is not None:
        return text_record_of_row(columns)
    if isinstance(element, (tuple, list)) and 2 <= len(element) <= 4:
        return TextRecord(*element)
    raise TypeError(f"records are TextRecord or TokenizedRecord, not {type(element).__name__}"
                    f"{how_to_make_a_record(element)}")


def check_record_type(records, transform):
    """TypeError, where the pipeline is built, for a PCollection of texts or bytes (as
    ``ReadFromText`` gives): each of its elements would be a dead letter."""
    if records.element_type in (str, bytes):
        raise TypeError(f"{transform} takes TextRecord or TokenizedRecord elements, not "
                        f"{records.element_type.__name__}: make each text a "
                        "TextRecord(id, text) first")


def _dead_letter(record, error):
    counters.DEAD_LETTERS.inc()
    return tokenizer_dead_letter(record, error)


class _TokenizeBlocksFn(_TokenizeFn):
    """A block of records -> one TokenizedBlock (``token_blocks``); dead letters one by one.

    The block is tokenized at once; if that fails, record by record, so a record that fails
    costs only itself."""

    def setup(self):
        super().setup()
        self._vocabulary = TokenVocabulary()

    def process(self, block, window=beam.DoFn.WindowParam):
        # Each record's own timestamp, where the block carries them (TagText): its dead
        # letter leaves at it, and its TokenizedBlock row keeps it.
        timestamps = getattr(block, "timestamps", None)
        records, kept = [], None if timestamps is None else []
        for r, record in enumerate(block):
            record = checked_record(record, self.max_record_chars, as_record=_text_record_of)
            if isinstance(record, DeadLetter):
                counters.DEAD_LETTERS.inc()
                yield _error_at(record, timestamps, r, window)
            else:
                records.append(record)
                if kept is not None:
                    kept.append(timestamps[r])
        try:
            tokenized = tokenize_block(self._tokenizer, records, self._vocabulary, kept)
        except Exception:  # noqa: BLE001  (find the records that fail, keep the others)
            good, good_timestamps = [], None if kept is None else []
            for r, record in enumerate(records):
                try:
                    tokenize_block(self._tokenizer, [record])
                    good.append(record)
                    if kept is not None:
                        good_timestamps.append(kept[r])
                except Exception as error:  # noqa: BLE001
                    yield _error_at(_dead_letter(record, error), kept, r, window)
            tokenized = tokenize_block(self._tokenizer, good, self._vocabulary, good_timestamps)
        if tokenized.vocabulary is None and not self._vocabulary.has_room(
                tokenized.token_count):
            # Its tokens did not fit: the next blocks are numbered afresh (blocks still
            # held keep the full vocabulary alive).
            self._vocabulary = TokenVocabulary()
        self._tokens += tokenized.token_count
        if len(tokenized):
            yield tokenized


def _error_at(letter, timestamps, r, window):
    """The dead letter of record ``r`` as an error output, at the record's own timestamp
    where ``timestamps`` holds it, else at the block's."""
    if timestamps is not None:
        letter = in_own_window(letter, Timestamp(micros=timestamps[r]), window)
    return beam.pvalue.TaggedOutput(ERRORS, letter)
