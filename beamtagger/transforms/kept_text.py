"""A record's own text, kept for the writers that need it: CoNLL-U's ``# text`` and spacing, and
each entity's ``text`` (``text[start:end]``), which the tokens alone give back only where every
gap between two of them is one space.

``TagText(keep_text=True)`` (``beamtagger tag`` asks for it when text, JSON Lines, CSV, TSV or
Parquet input is written as CoNLL-U or with entities) puts each TextRecord's text in its
pass-through fields under ``KEPT_TEXT_FIELD``, before it is tokenized; the text then travels
with the record like any pass-through field (JSON text in the stages' Arrow batches; once for a
long record, whose chunks carry only their tokens: ``chunks.SplitIntoChunks``) and
``WriteResults(keep_text=True)`` takes it out again (``split_kept_text``) before anything is
written, so the files hold the fields the record came with. Other runs carry nothing.

The value is a list: ``[text]``, or ``[text, value]`` where the record's own fields already
held ``KEPT_TEXT_FIELD`` (a JSON Lines record may), its value kept in its place; a
TokenizedRecord, which has no text, gets ``[None, value]`` then, and nothing otherwise. The
writers give a record without a kept text what they gave before: the tokens with their gaps
as spaces.

Not free: the record's text travels a second time, beside its tokens (BENCHMARKS.md, "The
record's own text in CoNLL-U and entities").
"""
from beamtagger.transforms.blocks import Block
from beamtagger.transforms.records import TextRecord, TokenizedRecord
from beamtagger.transforms.schema_rows import row_columns, text_record_of_row

__all__ = ["KEPT_TEXT_FIELD", "split_kept_text", "with_kept_text", "with_kept_texts"]

KEPT_TEXT_FIELD = "beamtagger_text"


def with_kept_texts(records):
    """``with_kept_text`` of a record, or of each record of a Block (``blocks.py``)."""
    if isinstance(records, Block):
        return Block(map(with_kept_text, records), records.timestamps)
    return with_kept_text(records)


def with_kept_text(record):
    """The record with its text in its fields (module docstring); a schema'd row
    (``schema_rows``) as the TextRecord Tokenize would make of it; anything else that is not
    a TextRecord or TokenizedRecord as it is, for Tokenize to make a dead letter of or read as
    a tuple (whose text is then not kept: the writers rebuild it)."""
    columns = row_columns(record)
    if columns is not None:
        try:
            record = text_record_of_row(columns)
        except TypeError:
            return record   # Tokenize makes the dead letter that names what the row lacks
    if isinstance(record, TextRecord):
        text = record.text
    elif isinstance(record, TokenizedRecord):
        text = None
    else:
        return record
    fields = record.fields
    if isinstance(fields, dict) and KEPT_TEXT_FIELD in fields:
        fields = dict(fields)   # the caller's dict stays as it was
        fields[KEPT_TEXT_FIELD] = [text, fields[KEPT_TEXT_FIELD]]
    elif text is None:
        return record
    elif fields is None or isinstance(fields, dict):
        fields = {**(fields or {}), KEPT_TEXT_FIELD: [text]}
    else:
        return record   # fields that are no dict: Tokenize's to refuse
    return record._replace(fields=fields)


def split_kept_text(fields):
    """(the kept text, or None; the fields without it, None where none are left) of a record's
    fields carried with ``with_kept_text``."""
    if not isinstance(fields, dict) or KEPT_TEXT_FIELD not in fields:
        return None, fields
    kept = fields[KEPT_TEXT_FIELD]
    if not isinstance(kept, list) or not 1 <= len(kept) <= 2:
        raise ValueError(f"its kept text ({KEPT_TEXT_FIELD!r}) is not what TagText(keep_text="
                         "True) makes: was it tagged without it?")
    text = kept[0]
    if text is not None and not isinstance(text, str):
        raise ValueError(f"its kept text is a {type(text).__name__}, not a string")
    rest = dict(fields)
    if len(kept) == 2:
        rest[KEPT_TEXT_FIELD] = kept[1]
    else:
        del rest[KEPT_TEXT_FIELD]
    return text, rest or None
