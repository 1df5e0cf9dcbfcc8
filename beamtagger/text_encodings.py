"""Which encoding other than UTF-8 a file's first bytes are in, for the readers of ``tag``
(``transforms/reading``: one dead letter), ``tag``'s warning before launch (``likely_encoding``)
and the readers of ``train`` and ``evaluate`` (``corpus_readers``: one error before training).
Standard library only.
"""
import codecs
import re
from typing import NamedTuple, Optional

__all__ = ["ENCODING_SAMPLE_BYTES", "OtherEncoding", "likely_encoding", "other_encoding",
           "nul_note", "starts_with_utf8_lines", "utf8_read_as", "wide_line"]

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

# UTF-16 of a script whose characters hold no NUL byte (Chinese, Japanese, Greek, Cyrillic) has
# one only in its ASCII characters (newlines, spaces, digits): far fewer than the rules above ask
# for, so it was read as UTF-8 (lines of dead letters and mojibake). Such a head is taken for
# UTF-16 where it decodes as UTF-16 strictly (surrogates paired: random bytes seldom are), as text
# (no control character but tab, line ending and form feed, so no U+0000), with two ASCII
# characters at least and a space or line ending among them: one stray NUL in UTF-8 or Latin-1
# text makes one ASCII character. UTF-8 text with stray NULs may decode as UTF-16 too: where the
# head is UTF-8 text once its NULs are taken out (Cyrillic UTF-16 is not: its high byte 04 is a
# control character in UTF-8), every NUL must be where the UTF-16 puts them, and a line ending
# among its ASCII characters; and a line of it, cut at bytes 0A as the readers cut it, must be
# one they refuse alone as UTF-16 text (``wide_line``), or its line ends UTF-16's
# (``_utf16_line_ends``): a UTF-16 CR (0D 00 in UTF-16LE), more than half of its code units
# whose low byte is 0A UTF-16 newlines (0A 00), or one such newline and no byte 0A at a high
# byte's place. beamtagger's own CoNLL and CoNLL-U results, whose writers refuse a line the
# readers refuse (transforms/nul_lines.py), passed the first rules where a record's id or tokens held NULs ("# id = 1<NUL>" then
# "aa<NUL>b<TAB>X": a NUL before a newline and one before a letter, where UTF-16BE puts them),
# and the whole file was refused as UTF-16BE, every good record in it too: 182 of 16,508
# random results holding NULs, 1 now (bench/unmarked_utf16_guess.py, 2026-12-08: a record of
# tokens starting with a NUL, which only pre-tokenized input gives, at most of its newlines'
# places). The line ends keep short UTF-16 found where each character's bytes are UTF-8 text
# and no line is refused alone: one word a line ("सेब" is 38 09 47 09 2C 09: ASCII and tabs),
# and words of characters whose low byte is 0A (上, U+4E0A, is 0A 4E): "上海" and "上午", one
# a line, have as many of those as newlines, and with CR line ends no 0A 00 at all; the
# newline clause alone left them to UTF-8, tagged as "Nwm" and "NHS". Neither of the other two
# clauses meets a result: UTF-8 has the byte 0D only as CR, which the writers write as \r or
# refuse, and a record ends with a blank line, whose two bytes 0A side by side put one at a
# high byte's place. Of 90,791 UTF-16 and UTF-32 heads holding a NUL (English
# corpora; random words and prose of eleven scripts, with LF, CRLF and CR line ends; short
# files of words whose UTF-16 bytes are UTF-8 text), none found before this rule (06d2848) is
# left to UTF-8; the newline clause alone left 3,457 (3,386 with CR line ends). A result is
# never taken for UTF-16 so where no token, label or id starts or ends with a NUL (the
# tokenizer's tokens never do): it has no UTF-16 newline, no byte 0D, and every line passes
# ``wide_line``. The guess costs 10.1-10.3 CPU s for those heads and the results, as with the
# newline clause alone (10.3-10.4 in the same run), 9.9-10.2 before the rule; at most 11 ms a head, where 1,000 lines of its
# 4 KB hold a NUL, each checked by ``wide_line`` (1.4 ms before), and only where the line
# ends do not say UTF-16, which are looked at first (bench/unmarked_utf16_guess.py, 2026-12-08).
# charset-normalizer (there with Beam's requests, not a dependency of beamtagger) is not used:
# it guesses from character statistics, which a short file does not settle (3.5.3 took the 8
# random bytes 19 A9 87 F7 0C 00 77 00 for UTF-16BE), where this rule asks for UTF-16's
# structure; and its answers change with its version.
_UTF16_HIGH_BYTE = (("UTF-16LE", codecs.utf_16_le_decode, 1),
                    ("UTF-16BE", codecs.utf_16_be_decode, 0))
_SPACES = frozenset(" \t\n\r")
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffe\uffff]")

# A file is UTF-16 or UTF-32 only where its text is so from its first byte: a UTF-8 file that
# holds a line of UTF-16 (two tools' output concatenated) was refused whole as UTF-16, with
# advice that garbled every other line, where a stray bad line elsewhere is its record's dead
# letter. Where the head's bytes before its first NUL are UTF-8 text lines (ending at a byte
# 0A) of 32 bytes at least, not counting lines of fewer than two characters, it is UTF-8. UTF-16
# whose first characters hold no NUL (no ASCII: Chinese, Japanese) looks so only where they
# are pairs of bytes that are UTF-8 ("獀" is "@s" in UTF-16LE) and a line ends there, or a
# character holds the byte 0A (上, U+4E0A, is 0A 4E): at 8 bytes, 22 of 120,000 heads of random
# Chinese, Japanese and Gurmukhi UTF-16LE and BE did (random characters of each script with
# its punctuation and newlines, 20,000 heads each, 2026-12-07), at 16 or 32 none. Gurmukhi
# (U+0A00..U+0A7F) has a 0A in every character: lines of one byte, not counted. UTF-32 has a
# NUL in its first 3 bytes. Real text is not random: hiragana あ..ま are 42 30..7E 30 in
# UTF-16LE ("B0".."~0"), and a question of 16 of them without a question mark
# ("あなたはきのうどこにいきましたか") was a 32-byte UTF-8 line. So the head's line ends must
# be UTF-8's too: fewer than half of its bytes 0A followed by 00, as each UTF-16LE newline
# is, where a UTF-8 file's lines end in 0A and a character. A UTF-16 line first in the file,
# or of 4 KB or more, or UTF-16 lines holding half the head's line ends, leave the file
# UTF-16 from its first byte: refused whole, as before.
_UTF8_LINES_BYTES = 32


class OtherEncoding(NamedTuple):
    """What ``other_encoding`` found: the encoding's name as iconv spells it, and what showed
    it ("(it starts with the byte-order mark FF FE)", "without a byte-order mark (...)")."""
    encoding: str
    evidence: str

    @property
    def codec(self):
        """The encoding as Python's codecs and ``tag --encoding`` name it ("utf-16-le")."""
        return re.sub("(LE|BE)$", r"-\1", self.encoding).lower()

    def reason(self, consequence, read_as=None):
        """The sentence readers report: the encoding, ``consequence`` (", so none of its lines
        was read"), and the command that converts the file; ``read_as``: the encoding it was
        read in, where ``tag --encoding`` may name another (None: UTF-8, which train and
        evaluate read only)."""
        if read_as is None:
            return (f"the file is {self.encoding} {self.evidence}, not UTF-8{consequence}; "
                    f"convert it to UTF-8 (iconv -f {self.encoding} -t UTF-8)")
        return (f"the file is {self.encoding} {self.evidence}, not {read_as}{consequence}; read "
                f"it with --encoding {self.codec}, or convert it to UTF-8 (iconv -f "
                f"{self.encoding} -t UTF-8)")


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
    if starts_with_utf8_lines(head):
        return None
    found = _latin_script_nuls(head)
    if found is not None:
        encoding, fitting, units = found
        return OtherEncoding(encoding, f"without a byte-order mark (a NUL in {fitting:,} of the "
                             f"{units:,} code units of its first {len(head):,} bytes)")
    return _unmarked_utf16(head)


def _latin_script_nuls(data):
    """(encoding, code units holding a NUL as it puts one in an ASCII character, all code
    units) of the first of _UNMARKED_ENCODINGS that more than half of ``data``'s code units
    (and two at least) fit; None where none does."""
    for encoding, width, fits in _UNMARKED_ENCODINGS:
        units = [data[start:start + width] for start in range(0, len(data) - width + 1, width)]
        fitting = sum(map(fits, units))
        if fitting >= 2 and fitting * 2 > len(units):
            return encoding, fitting, len(units)
    return None


def wide_line(line: bytes) -> Optional[str]:
    """Why a line of a UTF-8 file (its newline stripped) is not text where its NULs are those
    UTF-16 or UTF-32 puts in Latin-script text (the rules of ``other_encoding``, on the line's
    bytes), else None. Such a line is valid UTF-8 (ASCII and NULs): ``tag`` tagged it as text
    with a NUL in every character, ``train`` refused it as a bad column ("word id '1\\x00'").
    A stray NUL (the one a UTF-16LE line's newline 0A 00 leaves at the next line's start)
    fits one code unit at most. So is a line of UTF-16 whose characters hold no NUL
    (``_few_nul_utf16_line``)."""
    found = _latin_script_nuls(line)
    if found is not None:
        # "UTF-16", not its byte order: a line after a UTF-16LE newline's stray 00 reads as BE.
        family = found[0][:6]
        return f"holds NUL bytes where {family} puts them in ASCII characters: {family} text?"
    if _few_nul_utf16_line(line) or (line.startswith(b"\x00")
                                     and _few_nul_utf16_line(line[1:])):
        return "holds NUL bytes where UTF-16 puts them in ASCII characters: UTF-16 text?"
    return None


def _few_nul_utf16_line(line):
    """Whether ``line`` (valid UTF-8 holding a NUL) is UTF-16 of a script whose characters hold
    no NUL and are valid UTF-8 (Cyrillic U+04xx, Arabic U+06xx, Devanagari U+09xx, Thai:
    control characters, tabs and ASCII), its NULs those of its spaces and punctuation: fewer
    than the rules of ``wide_line`` ask for, it was tagged as mojibake. As for a file's head
    (``_unmarked_utf16``), the line must decode as UTF-16 strictly as text with a NUL in the
    high byte of each of its ASCII characters only, and hold two ASCII characters (one stray
    NUL in UTF-8 makes one at most), or one (or a UTF-16BE newline) where its UTF-8 reading
    holds control characters besides NULs, which UTF-8 text does not. A UTF-16LE line of such
    characters only (one Cyrillic word) holds no NUL: its newline's 00 starts the next line,
    and it is read as UTF-8, control characters and all."""
    utf8_text_with_controls = None
    for _, decode, high_byte in _UTF16_HIGH_BYTE:
        if b"\x00" in line[1 - high_byte::2]:
            continue
        text = _decodes(decode, line)
        if text is None or _NOT_TEXT.search(text):
            continue
        ascii_characters = sum(character < "\x80" for character in text)
        if ascii_characters >= 2:
            return True
        # UTF-16BE's newline 00 0A, cut at its 0A, leaves its 00 at the line's end.
        ends_in_newline = high_byte == 0 and len(line) % 2 == 1 and line.endswith(b"\x00")
        if ascii_characters + ends_in_newline:
            if utf8_text_with_controls is None:
                utf8_text_with_controls = bool(_NOT_TEXT.search(
                    line.replace(b"\x00", b"").decode("utf-8", "replace")))
            if utf8_text_with_controls:
                return True
    return False


def nul_note(line: bytes) -> str:
    """What to add to "not valid UTF-8 (...)" of ``line``: that it holds NUL bytes, where it
    does. A line of Chinese UTF-16 in a UTF-8 file is not UTF-8, and its NULs (its ASCII
    characters') say what it is."""
    return "; it holds NUL bytes: UTF-16 text?" if b"\x00" in line else ""


def starts_with_utf8_lines(head: bytes) -> bool:
    """Whether ``head``, a file's first bytes holding a NUL, starts with UTF-8 lines without
    one, so that the file is UTF-8, not UTF-16 or UTF-32 (see _UTF8_LINES_BYTES)."""
    lines = head[:head.find(b"\x00")]
    lines = lines[:lines.rfind(b"\n") + 1]
    if len(lines) < _UTF8_LINES_BYTES:
        return False
    text = _decodes(codecs.utf_8_decode, lines)
    if text is None or _NOT_TEXT.search(text):
        return False
    if head.count(b"\n\x00") * 2 >= head.count(b"\n"):
        return False  # line ends of UTF-16LE (see _UTF8_LINES_BYTES)
    return sum(len(line.encode()) for line in text.split("\n")
               if len(line.rstrip("\r")) >= 2) >= _UTF8_LINES_BYTES


def _unmarked_utf16(head):
    """UTF-16 without a mark whose NULs are those of its ASCII characters only (see
    _UTF16_HIGH_BYTE), or None. Read in the wrong byte order, the ASCII characters are those
    of the characters U+xx00 (一, U+4E00), fewer than the newlines, spaces and digits of the
    right one: the order with more is taken, and a tie is no evidence."""
    utf8_text = _decodes(codecs.utf_8_decode, head.replace(b"\x00", b""))
    head_is_utf8 = utf8_text is not None and not _NOT_TEXT.search(utf8_text)
    lines_are_utf8_text = None
    found = []
    for encoding, decode, high_byte in _UTF16_HIGH_BYTE:
        text = _decodes(decode, head)
        if text is None or _NOT_TEXT.search(text):
            continue
        ascii_characters = [character for character in text if character < "\x80"]
        if len(ascii_characters) < 2 or not _SPACES & set(ascii_characters):
            continue
        if head_is_utf8:
            if (b"\x00" in head[1 - high_byte::2]
                    or not {"\n", "\r"} & set(ascii_characters)):
                continue
            if not _utf16_line_ends(head, high_byte):
                if lines_are_utf8_text is None:
                    lines_are_utf8_text = _lines_read_as_utf8_text(head)
                if lines_are_utf8_text:
                    continue
        found.append((len(ascii_characters), encoding))
    if not found or (len(found) == 2 and found[0][0] == found[1][0]):
        return None
    ascii_count, encoding = max(found)
    return OtherEncoding(encoding, f"without a byte-order mark (its first {len(head):,} bytes "
                         f"are {encoding} text, with a NUL in each of its {ascii_count:,} "
                         "ASCII characters)")


def _lines_read_as_utf8_text(head):
    """Whether each whole line of ``head`` (UTF-8 text once its NULs are out) holding a NUL is
    one the readers read as UTF-8 text, as they cut and check it (at bytes 0A, its line end
    and a UTF-8 byte-order mark stripped): none is ``wide_line``'s. The head's last line,
    which its end may cut (a line's start can look wider than the line), is not looked at."""
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    whole_lines = head[:head.rfind(b"\n") + 1].split(b"\n")
    return not any(b"\x00" in line and wide_line(line.rstrip(b"\r\n")) is not None
                   for line in whole_lines)


def _utf16_line_ends(head, high_byte):
    """Whether ``head``'s line ends are UTF-16's, its high byte at ``high_byte`` (0: UTF-16BE):
    a code unit of it is a UTF-16 CR (0D 00 in UTF-16LE); or more than half of those whose low
    byte is 0A (a newline's place) are UTF-16 newlines, their high byte 00; or one is, and no
    byte 0A is at a high byte's place."""
    lows, highs = head[1 - high_byte::2], head[high_byte::2]
    units = list(zip(lows, highs))   # (low byte, high byte); an odd last byte left out
    if (0x0D, 0) in units:
        return True
    at_newline_place = [high for low, high in units if low == 0x0A]
    newlines = at_newline_place.count(0)
    return newlines * 2 > len(at_newline_place) or (newlines > 0 and 0x0A not in highs)


def _decodes(decode, head):
    """``head`` decoded strictly by ``decode`` up to a character its end may cut, or None."""
    try:
        return decode(head, "strict", False)[0]
    except UnicodeDecodeError:
        return None


# Windows' code page of Western European languages: what Excel on Windows saves "CSV (Comma
# delimited)" in, and Python on Windows writes with open(path, "w").
LIKELY_CODE_PAGE = "cp1252"


def likely_encoding(head: bytes) -> Optional[str]:
    """Why a file whose first bytes are ``head`` is most likely not UTF-8, naming the encoding
    to read it in ("... read it with --encoding cp1252"), or None: UTF-16 or UTF-32
    (``other_encoding``), or bytes that are not UTF-8 where all of them decode as cp1252."""
    found = other_encoding(head)
    if found is not None:
        return found.reason("", read_as="UTF-8")
    try:
        codecs.utf_8_decode(head, "strict", False)
        return None
    except UnicodeDecodeError as error:
        bad = error.start
    try:
        head.decode(LIKELY_CODE_PAGE)
    except UnicodeDecodeError:
        return None
    return (f"its byte {bad:,} ({head[bad]:#04x}) is not UTF-8, and its first {len(head):,} "
            f"bytes read as {LIKELY_CODE_PAGE} (Windows' Western European code page, Excel's "
            f"\"CSV (Comma delimited)\"): if it is, read it with --encoding {LIKELY_CODE_PAGE}")


def utf8_read_as(head: bytes, encoding: str) -> Optional[str]:
    """Why a file whose first bytes are ``head``, to be read in ``encoding`` (another than
    UTF-8 that keeps ASCII as it is), is most likely UTF-8, or None: its bytes are UTF-8 with
    characters outside ASCII, which the other encoding reads as other characters ("é" as
    "Ã©" in cp1252). Text in a single-byte code page is almost never valid UTF-8 once it holds
    a character outside ASCII: each would have to be followed by the right continuation bytes."""
    if head.isascii():
        return None
    try:
        text, _ = codecs.utf_8_decode(head, "strict", False)
    except UnicodeDecodeError:
        return None
    first = next(character for character in text if not character.isascii())
    shown = first.encode("utf-8").decode(encoding, "replace")
    return (f"its first {len(head):,} bytes are UTF-8 with characters outside ASCII, which "
            f"--encoding {encoding} reads as others ({first!r} as {shown!r}): if the file is "
            "UTF-8, leave --encoding out")
