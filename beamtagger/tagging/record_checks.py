"""The checks a record passes before it is tokenized: what ``Tokenize`` makes a dead letter.

No Beam here: ``Tokenize`` (``transforms/tokenize.py``) checks a pipeline's records by
``checked_record`` and counts its dead letters; ``beamtagger.Tagger`` refuses the records it
would dead-letter, naming them.
"""
from beamtagger.tagging_defaults import MAX_RECORD_CHARS, check_whole_number
from beamtagger.transforms.records import DeadLetter, TextRecord, TokenizedRecord, one_line

__all__ = ["check_max_record_chars", "check_tokenized", "checked_record",
           "tokenizer_dead_letter"]


def checked_record(record, max_record_chars=MAX_RECORD_CHARS, *, as_record=None,
                   in_process=False):
    """A TextRecord with a str text or a TokenizedRecord, of at most ``max_record_chars``
    characters, or the DeadLetter of one that is not (the caller counts it).

    ``as_record``: reads an element that is neither as a TextRecord (``Tokenize``: a tuple
    or a schema'd row), raising TypeError where it cannot; None: such an element is a
    DeadLetter. ``in_process``: the record is tagged in this process (``beamtagger.Tagger``),
    not by a pipeline's workers, so a too-long record's reason names Tagger's
    ``max_record_chars``, not the CLI's ``--max-record-chars``."""
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
            if as_record is None:
                raise TypeError(f"records are TextRecord or TokenizedRecord, not "
                                f"{type(record).__name__}")
            record = as_record(record)
            _check_id_and_source(record)
        if not isinstance(record.text, str):
            raise TypeError(_not_text(record.text))
        if len(record.text) > max_record_chars:
            return _too_long(record, len(record.text), max_record_chars, in_process)
        return record
    except Exception as error:  # noqa: BLE001  (one record's failure must not fail the job)
        return tokenizer_dead_letter(record, error)


def _not_text(text):
    """Why a record's text is refused, and what to do: "not a string" alone left the reader
    of a dead letter to work out that bytes want decoding and a None text a record left out."""
    if isinstance(text, (bytes, bytearray)):
        return ("the text is bytes, not a string: decode it first (text.decode('utf-8'), or "
                "the encoding it is in)")
    if text is None:
        return "the text is None, not a string: leave the record out, or give it \"\" to tag nothing"
    return f"the text is {_a_kind(text)}, not a string: make it one, e.g. str(text)"


def _a_kind(value):
    """'a float', 'an int': the value's type named as a sentence names it."""
    kind = type(value).__name__
    return f"{'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}"


def _check_id_and_source(record):
    """TypeError for an id or source that is no string. An int id used to be a dead letter of
    Arrow's ("Expected bytes, got a 'int' object") in bounded runs and was tagged in
    streaming ones; long records came out with an int as their dead letter's source."""
    for name in ("id", "source"):
        value = getattr(record, name)
        if not isinstance(value, str):
            raise TypeError(f"the record's {name} is {type(value).__name__}, not a string "
                            f"({value!r:.60}); make it one, e.g. str({name})")


def check_max_record_chars(max_record_chars):
    # max_record_chars=True passed as 1 and made every record of a run a dead letter.
    return check_whole_number("max_record_chars", max_record_chars, 1)


def _too_long(record, chars, max_record_chars, in_process):
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
            raise TypeError(f"a token is {_a_kind(token)}, not a string")


def tokenizer_dead_letter(record, error):
    """The DeadLetter (stage tokenize) of a record the tokenizer, or ``checked_record``,
    failed on with ``error``; the caller counts it."""
    if isinstance(record, TokenizedRecord):
        key = record.key
        try:
            text = " ".join(map(str, record.tokens))
        except TypeError:   # tokens that are not a sequence (None, a number)
            text = repr(record.tokens)
    elif isinstance(record, TextRecord):
        key, text = record.key, record.text
    elif isinstance(record, dict) and isinstance(record.get("id"), str):
        key, text = record["id"], repr(record)   # json.loads' record: its id locates it
    else:
        key, text = repr(record)[:200], repr(record)
    return DeadLetter(str(key), one_line(f"tokenizer failed: {error!r}"), str(text), "tokenize")
