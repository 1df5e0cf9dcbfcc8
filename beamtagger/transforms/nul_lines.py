"""Lines of a CoNLL or CoNLL-U block, holding a NUL, that beamtagger's own readers would not read
as they are written.

Those readers (``corpus_readers`` for ``train`` and ``evaluate``, ``reading.record_parsers``
for ``tag``) take a UTF-8 line for UTF-16 or UTF-32 text where its NULs are where those put
them in ASCII characters (``text_encodings.wide_line``), and refuse it. A token "a\\x00b" with
the same label in UPOS is such a line, ``1<TAB>a<NUL>b<TAB>_<TAB>a<NUL>b...``: its bytes
decode as UTF-16LE text holding two ASCII characters, the two NULs with the letters before
them. After a line holding a NUL they drop a NUL that starts the next line (the second byte
of a UTF-16LE newline, 0A 00), so a CoNLL token "\\x00b" there comes back as "b". CoNLL-U has
no escape for a form, and CoNLL keeps every character but line breaks and tabs as it is, so
the writers refuse such a record (a dead letter of stage "format") rather than write a line
their readers refuse or change; a NUL elsewhere ("a\\x00", "\\x00a" in UPOS) is written as
it is. Only a block holding a NUL is looked at: the writers check that first, one scan of
text that is already built.
"""
from typing import Optional, Sequence, Tuple

from beamtagger.text_encodings import wide_line

__all__ = ["nul_line_problem"]


def nul_line_problem(lines: Sequence[str], *,
                     leading_nul_dropped: bool = True) -> Optional[Tuple[int, str]]:
    """(index, why) of the first of a block's ``lines`` (without their newlines, UTF-8
    encodable) that beamtagger's readers would refuse or read as another line, or None.
    ``leading_nul_dropped``: whether a line may start with a NUL (CoNLL's token lines);
    False for lines written back as they were read (CoNLL-U's kept lines), which that reader
    read the same way before."""
    after_nul = False
    for index, line in enumerate(lines):
        if "\x00" not in line:
            after_nul = False
            continue
        wide = wide_line(line.encode("utf-8"))
        if wide is not None:
            family = "UTF-32" if "UTF-32" in wide else "UTF-16"
            return index, (f"its line's NUL bytes are where {family} puts them in ASCII "
                           f"characters, so beamtagger's readers would refuse it as "
                           f"{family} text")
        if leading_nul_dropped and after_nul and line.startswith("\x00"):
            return index, ("its line starts with a NUL after a line holding one, which "
                           "beamtagger's readers drop as the end of a UTF-16 newline")
        after_nul = True
    return None
