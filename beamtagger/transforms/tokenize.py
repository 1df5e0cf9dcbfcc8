"""Tokenize: TextRecord -> TokenizedRecord with character offsets (pre-tokenized records pass).

Each DoFn instance (one per worker thread) builds its own Tokenizer in ``setup``: the spaCy
tokenizer keeps caches that are not meant to be shared between threads.
"""
from typing import NamedTuple

import apache_beam as beam

from beamtagger.tagging_defaults import MAX_RECORD_CHARS
from beamtagger.token_vocabulary import TokenVocabulary
from beamtagger.transforms import counters
from beamtagger.transforms.token_blocks import TokenizedBlock, tokenize_block
from beamtagger.transforms.records import DeadLetter, TextRecord, TokenizedRecord, one_line
from beamtagger.transforms.schema_rows import row_columns, text_record_of_row
from beamtagger.transforms.typed_outputs import typed_outputs

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
        record = checked_record(record, self.max_record_chars)
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
            return record
        try:
            texts, starts, ends = self._tokenizer.tokenize_columns(record.text)
        except Exception as error:  # noqa: BLE001  (one record's failure must not fail the job)
            return _dead_letter(record, error)
        self._tokens += len(texts)
        return TokenizedRecord(record.id, texts, starts, ends, record.source, record.fields)


def checked_record(record, max_record_chars=MAX_RECORD_CHARS, *, in_process=False):
    """A TextRecord with a str text or a TokenizedRecord, of at most ``max_record_chars``
    characters, or the DeadLetter of one that is not.

    ``in_process``: the record is tagged in this process (``beamtagger.Tagger``), not by a
    pipeline's workers, so a too-long record's reason names Tagger's ``max_record_chars``,
    not the CLI's ``--max-record-chars``."""
    try:
        if isinstance(record, (TextRecord, TokenizedRecord)) and not (
                isinstance(record.id, str) and isinstance(record.source, str)):
            _check_id_and_source(record)   # raises: inline, the common case costs less
        if isinstance(record, TokenizedRecord):
            # Counted for every record: the token count alone bounds it from below only (a
            # gate on tokens * 2 let 20,000 words of 5 characters through a limit of 50,000).
            # The sum runs in C: 0.36 us for a sentence of 20 tokens (timeit, 2026-12-06).
            tokens = record.tokens
            chars = sum(map(len, tokens)) + len(tokens) - 1
            if chars > max_record_chars:
                return _too_long(record, chars, max_record_chars, in_process)
            return record
        if not isinstance(record, TextRecord):
            record = _text_record_of(record)
            _check_id_and_source(record)
        if not isinstance(record.text, str):
            raise TypeError(f"the text is a {type(record.text).__name__}, not a string")
        if len(record.text) > max_record_chars:
            return _too_long(record, len(record.text), max_record_chars, in_process)
        return record
    except Exception as error:  # noqa: BLE001  (one record's failure must not fail the job)
        return _dead_letter(record, error)


def _check_id_and_source(record):
    """TypeError for an id or source that is no string. An int id used to be a dead letter of
    Arrow's ("Expected bytes, got a 'int' object") in bounded runs and was tagged in
    streaming ones; long records came out with an int as their dead letter's source."""
    for name in ("id", "source"):
        value = getattr(record, name)
        if not isinstance(value, str):
            raise TypeError(f"the record's {name} is {type(value).__name__}, not a string "
                            f"({value!r:.60}); make it one, e.g. str({name})")


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
    raise TypeError(f"records are TextRecord or TokenizedRecord, not {type(element).__name__}")


def check_record_type(records, transform):
    """TypeError, where the pipeline is built, for a PCollection of texts or bytes (as
    ``ReadFromText`` gives): each of its elements would be a dead letter."""
    if records.element_type in (str, bytes):
        raise TypeError(f"{transform} takes TextRecord or TokenizedRecord elements, not "
                        f"{records.element_type.__name__}: make each text a "
                        "TextRecord(id, text) first")


def check_max_record_chars(max_record_chars):
    if not isinstance(max_record_chars, int) or max_record_chars < 1:
        raise ValueError(f"max_record_chars must be a whole number of at least 1, not "
                         f"{max_record_chars!r}")
    return max_record_chars


def _too_long(record, chars, max_record_chars, in_process):
    counters.DEAD_LETTERS.inc()
    text = record.text if isinstance(record, TextRecord) else " ".join(record.tokens)
    said = (f"the record holds {chars:,} characters, more than max_record_chars "
            f"({max_record_chars:,}")
    if in_process:
        said += ("): held whole, it would take about 0.8 kB of this process's memory a token; "
                 "split it, or give Tagger a larger max_record_chars where there is the memory")
    else:
        said += ("; --max-record-chars): held whole, it would take about 0.8 kB of a worker's "
                 "memory a token; split it, or raise the limit where workers have the memory")
    return DeadLetter(str(record.key), said, text, "tokenize")


def check_tokenized(record):
    """Raises where a TokenizedRecord's tokens and offsets do not line up, or a token is not a
    string."""
    tokens, starts, ends = record.tokens, record.starts, record.ends
    if not len(tokens) == len(starts) == len(ends):
        raise ValueError(f"{len(tokens)} tokens but {len(starts)} starts and {len(ends)} ends")
    for token in tokens:
        if not isinstance(token, str):
            raise TypeError(f"a token is a {type(token).__name__}, not a string")


def _dead_letter(record, error):
    counters.DEAD_LETTERS.inc()
    if isinstance(record, TokenizedRecord):
        key = record.key
        try:
            text = " ".join(map(str, record.tokens))
        except TypeError:   # tokens that are not a sequence (None, a number)
            text = repr(record.tokens)
    elif isinstance(record, TextRecord):
        key, text = record.key, record.text
    else:
        key, text = repr(record)[:200], repr(record)
    return DeadLetter(str(key), one_line(f"tokenizer failed: {error!r}"), str(text), "tokenize")


class _TokenizeBlocksFn(_TokenizeFn):
    """A block of records -> one TokenizedBlock (``token_blocks``); dead letters one by one.

    The block is tokenized at once; if that fails, record by record, so a record that fails
    costs only itself."""

    def setup(self):
        super().setup()
        self._vocabulary = TokenVocabulary()

    def process(self, block):
        records = []
        for record in block:
            record = checked_record(record, self.max_record_chars)
            if isinstance(record, DeadLetter):
                yield beam.pvalue.TaggedOutput(ERRORS, record)
            else:
                records.append(record)
        try:
            tokenized = tokenize_block(self._tokenizer, records, self._vocabulary)
        except Exception:  # noqa: BLE001  (find the records that fail, keep the others)
            good = []
            for record in records:
                try:
                    tokenize_block(self._tokenizer, [record])
                    good.append(record)
                except Exception as error:  # noqa: BLE001
                    yield beam.pvalue.TaggedOutput(ERRORS, _dead_letter(record, error))
            tokenized = tokenize_block(self._tokenizer, good, self._vocabulary)
        if tokenized.vocabulary is None and not self._vocabulary.has_room(
                tokenized.token_count):
            # Its tokens did not fit: the next blocks are numbered afresh (blocks still
            # held keep the full vocabulary alive).
            self._vocabulary = TokenVocabulary()
        self._tokens += tokenized.token_count
        if len(tokenized):
            yield tokenized
