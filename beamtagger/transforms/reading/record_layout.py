"""RecordLayout: where a line's or a row's text, id and carried fields are, one value for every
reader (no Beam, no imports).

Every reading DoFn (``read_records``, ``byte_ranges``) needs the same settings to make a
record of what it reads; passed one by one they were spelled out in each DoFn's constructor.
"""
from typing import NamedTuple, Optional, Tuple

__all__ = ["RecordLayout"]


class RecordLayout(NamedTuple):
    """What makes a record of a line (JSON Lines), a row (Parquet, CSV) or a text line.

    Args:
      text_field: the field or column that holds the text.
      id_field: the field or column that holds the id, where a record has one ("" or None:
        every record gets its default id).
      fields: the names of the only fields (columns) carried beside the text, in this order
        (``()``: none; None: all but the text and id).
      id_folder: the folder that a record without an id names its file from
        (``record_parsers.pattern_id_folder``; None: the file's base name).
      encoding: the encoding of the files' text (``decoded_lines``; not Parquet's).
      partition_fields: each record carries its file's Hive partition folders
        (``year=2024/``) between ``id_folder`` and the file's name as fields
        (``partition_fields``).
    """
    text_field: str = "text"
    id_field: Optional[str] = "id"
    fields: Optional[Tuple[str, ...]] = None
    id_folder: Optional[str] = None
    encoding: str = "utf-8"
    partition_fields: bool = False
