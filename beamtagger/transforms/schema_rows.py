"""Schema'd elements (``beam.Row``, the NamedTuples Beam generates for them, a user's own
NamedTuple) as TextRecords, read by column name.

Beam YAML's ``Create`` and schema'd sources give rows whose columns come in the source's
order; read positionally, a row of ``text, id`` was tagged with its id as the text and its
text as the id, without a dead letter.
"""
from typing import Any, Dict, Optional

import apache_beam as beam

from beamtagger.transforms.records import TextRecord

__all__ = ["how_to_make_a_record", "row_columns", "text_record_of_row"]


def row_columns(element) -> Optional[Dict[str, Any]]:
    """The columns of a schema'd element that has a ``text`` column; None for anything else
    (a TextRecord, a plain tuple, a NamedTuple without ``text``: read positionally)."""
    if isinstance(element, beam.Row):
        columns = element.as_dict()
    elif isinstance(element, tuple) and hasattr(element, "_asdict") and not isinstance(
            element, TextRecord):
        columns = element._asdict()
    else:
        return None
    return columns if "text" in columns else None


def _named(value):
    """``value`` with each nested row (a struct column, Beam YAML's ``fields: {...}``) as a dict
    of its columns: carried as it is, a row is a tuple, and its JSON in the output a list
    without the columns' names."""
    if isinstance(value, beam.Row):
        value = value.as_dict()
    elif isinstance(value, tuple) and hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        return {name: _named(item) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_named(item) for item in value)
    return value


def text_record_of_row(columns: Dict[str, Any]) -> TextRecord:
    """The TextRecord of a row's columns: ``id`` and ``text``, ``source`` and ``fields`` where
    present; any other column is passed through as a field (the row's ``lang`` comes out in
    the TaggedRecord's ``fields``), nested rows as dicts. TypeError for a row without ``id``,
    or with a ``fields`` column and other columns too (which of them the output should hold is
    not clear)."""
    if "id" not in columns:
        raise TypeError(f"a row needs an id column beside its text (it has "
                        f"{', '.join(columns)})")
    others = {name: _named(value) for name, value in columns.items()
              if name not in TextRecord._fields}
    fields = _named(columns.get("fields"))
    if others and fields is not None:
        raise TypeError(f"a row has a fields column and other columns too "
                        f"({', '.join(others)}): put them in its fields, or drop the fields "
                        "column")
    return TextRecord(columns["id"], columns["text"], columns.get("source") or "",
                      others or fields)


def how_to_make_a_record(element) -> str:
    """What to do with ``element``, which is no record, for the end of a TypeError: a dict
    (``json.loads`` of a JSON Lines record) is the element a pipeline most often gives, and
    "not dict" alone did not say which of its keys a record needs."""
    if isinstance(element, dict):
        return (": make each a TextRecord(d['id'], d['text']) first (or a beam.Row with id and "
                "text columns)")
    return ": make each a TextRecord(id, text) first"
