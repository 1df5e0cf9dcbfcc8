"""Which encoding other than UTF-8 a file's first bytes are in, for the readers of ``tag``
(``transforms/reading``: one dead letter) and of ``train`` and ``evaluate``
(``corpus_readers``: one error before training). Standard library only.
"""
from typing import NamedTuple, Optional

__all__ = ["ENCODING_SAMPLE_BYTES", "OtherEncoding", "other_encoding"]

# Byte-order marks of text in another encoding than UTF-8 (Windows PowerShell 5's "> file" and
# Notepad's "Unicode" write UTF-16 with one). UTF-8 never holds the bytes FF and FE: read as
# UTF-8, the first line was a dead letter and every other line tagged as text with a NUL in
# each ASCII character.
_OTHER_ENCODING_MARKS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                         (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))

# Where there is no mark, the NULs of the file's first bytes tell: Latin-script text in UTF-16
# or UTF-32 puts one in every code unit, where the encoding says (iconv -t UTF-16LE, Python's
# "utf-16-le" and most UTF-16 writers other than Windows' own write no mark). Each rule asks for a
# NUL where the encoding puts it and a non-NUL byte where the character is, in more than half of
# the code units and in two at least: UTF-8 text with a stray NUL fits one unit at most.
ENCODING_SAMPLE_BYTES = 4096
_UNMARKED_ENCODINGS = (
    ("UTF-32LE", 4, lambda unit: unit[0] != 0 and unit[2] == unit[3] == 0),
    ("UTF-32BE", 4, lambda unit: unit[3] != 0 and unit[0] == unit[1] == 0),
    ("UTF-16LE", 2, lambda unit: unit[0] != 0 and unit[1] == 0),
    ("UTF-16BE", 2, lambda unit: unit[1] != 0 and unit[0] == 0))


class OtherEncoding(NamedTuple):
    """What ``other_encoding`` found: the encoding's name as iconv spells it, and what showed
    it ("(it starts with the byte-order mark FF FE)", "without a byte-order mark (...)")."""
    encoding: str
    evidence: str

    def reason(self, consequence):
        """The sentence readers report: the encoding, ``consequence`` (", so none of its lines
        was read"), and the command that converts the file."""
        return (f"the file is {self.encoding} {self.evidence}, not UTF-8{consequence}; convert "
                f"it to UTF-8 (iconv -f {self.encoding} -t UTF-8)")


def other_encoding(head: bytes) -> Optional[OtherEncoding]:
    """The encoding other than UTF-8 that a file whose first bytes are ``head`` (up to
    ENCODING_SAMPLE_BYTES) is in: another encoding's byte-order mark says it, or, without one,
    where the NULs of UTF-16 or UTF-32 are; None where nothing says so."""
    for mark, encoding in _OTHER_ENCODING_MARKS:
        if head.startswith(mark):
            return OtherEncoding(encoding,
                                 f"(it starts with the byte-order mark {mark.hex(' ').upper()})")
    if b"\x00" not in head:
        return None
    head = head[:ENCODING_SAMPLE_BYTES]
    for encoding, width, fits in _UNMARKED_ENCODINGS:
        units = [head[start:start + width] for start in range(0, len(head) - width + 1, width)]
        fitting = sum(map(fits, units))
        if fitting >= 2 and fitting * 2 > len(units):
            return OtherEncoding(encoding, f"without a byte-order mark (a NUL in {fitting:,} of "
                                 f"the {len(units):,} code units of its first {len(head):,} "
                                 "bytes)")
    return None
