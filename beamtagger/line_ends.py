"""Files whose lines end in CR alone, as classic Mac OS wrote them (Excel for Mac's "CSV
(Macintosh)" still does), for the readers of ``tag``, ``train``, ``evaluate`` and ``embeddings
import``. Standard library only.

Every reader splits lines at LF (byte 0A) only, as Beam's ReadFromText does, so such a file is
one line: a text file was one record of all its lines' tokens, exit 0 without a word; a CoNLL-U
file one sentence of no tokens; a JSON Lines file one "invalid JSON" dead letter. A file is
taken for one only where its first bytes hold no LF and several CRs: a CR inside a line of a
file whose lines end in LF or CRLF (a record's raw text holding one) is its line's own.
"""
from typing import Optional

__all__ = ["CR_LINES", "cr_line_ends"]

# The hint every refusal of such a file ends with (csv_rows' too).
CR_LINES = ("the file's lines may end in CR alone, as classic Mac OS wrote them (tr '\\r' "
            "'\\n' converts them)")

# One CR in a file without an LF is a line of text holding a CR (or a last line's CR); two
# are two lines.
_FEWEST_CRS = 2


def cr_line_ends(head: bytes, size: Optional[int] = None) -> Optional[str]:
    """Why a file whose first bytes (``size`` of them, default ``len(head)``) are ``head``
    (UTF-8, or transcoded to it) cannot be read line by line, ending in CR_LINES, or None: it
    holds no LF and _FEWEST_CRS CRs at least."""
    # The LF first: a search that stops at it, where a count reads all 64 KB (47 us).
    if b"\n" in head:
        return None
    crs = head.count(b"\r")
    if crs < _FEWEST_CRS:
        return None
    return (f"its first {len(head) if size is None else size:,} bytes hold {crs:,} CRs and no "
            f"LF, so its lines would be read as one (lines end at LF): {CR_LINES}")
