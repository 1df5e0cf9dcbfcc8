"""Lines of a file in another encoding than UTF-8 (``ReadRecords(encoding=...)``, ``tag
--encoding``), transcoded to UTF-8 for the parsers above, which read UTF-8 only (no Beam).

Two ways, by what the encoding does to the byte 0A:
- ``reads_line_by_line``: every byte 0A is a newline, so the file is split into lines as bytes
  (byte ranges and ``@byte`` ids intact) and each line is decoded on its own. Single-byte
  encodings whose 0A is "\\n" (cp1252, latin-1, iso8859-*, koi8-r...), checked byte by byte,
  and the multibyte ones of ``_LINE_SAFE_MULTIBYTE``.
- the others (UTF-16, UTF-32, the EBCDIC code pages, whose newline is 25 or 15, and the stateful
  ISO-2022-*, HZ and UTF-7, whose lines share a shift state) are decoded as one stream by an
  incremental decoder and split into lines after decoding (``transcoded_lines``): one worker
  reads such a file from its start, as a compressed one, and its line numbers count the
  decoded text's newlines. In EBCDIC a line also ends at NL (byte 15, U+0085), the line end
  of z/OS text files: split at "\\n" only, such a file was one record.

A line with bytes that do not decode keeps them as lone surrogates U+DC00 + byte, encoded with
``surrogatepass`` (ED B0..B3 xx): never valid UTF-8, so each parser makes the line (row,
sentence) its own dead letter, as for an invalid UTF-8 line, and ``undecodable`` and
``shown_line`` give back the file's own bytes for its reason and text.
"""
import codecs
import functools
import re

__all__ = ["UTF8", "WrongEncoding", "bad_utf8", "encoding_problem", "is_utf8",
           "reads_line_by_line", "shown_line", "transcoded_line", "transcoded_lines",
           "undecodable"]

UTF8 = "utf-8"
_UNDECODABLE = "beamtagger.undecodable"
# Bytes U+DC00..U+DCFF: surrogateescape's range (DC80..DCFF) and, for bytes below 80 (a UTF-16
# half surrogate's 00 D8), DC00..DC7F, which surrogateescape never makes.
_AS_SURROGATES = re.compile("[\udc00-\udcff]+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _as_surrogates(error):
    bad = error.object[error.start:error.end]
    return "".join(chr(0xDC00 + byte) for byte in bad), error.end


codecs.register_error(_UNDECODABLE, _as_surrogates)

# Stateless multibyte encodings in which a byte after a lead byte is never 0A: encoding every
# code point Python's codecs take (Python 3.11, 2026-12-06), no such byte is below 40 but
# GB18030's digits 30-39 (its four-byte form) and Johab's 3A-3F. So 0A is always a newline.
_LINE_SAFE_MULTIBYTE = frozenset({
    "shift_jis", "cp932", "shift_jis_2004", "shift_jisx0213", "euc_jp", "euc_jis_2004",
    "euc_jisx0213", "euc_kr", "cp949", "johab", "gb2312", "gbk", "gb18030", "big5",
    "big5hkscs", "cp950"})
# Codecs that are no text file's encoding: Python's literal escapes, domain names, and the
# codec that refuses everything.
_NOT_FILE_ENCODINGS = frozenset({"undefined", "idna", "punycode", "unicode-escape",
                                 "raw-unicode-escape"})
# Windows' own code pages of the machine at hand, known to Python on Windows only: the workers
# (Linux on Dataflow) failed every file with LookupError, and another Windows machine may have
# another code page.
_WINDOWS_CURRENT_CODE_PAGES = frozenset({"mbcs", "dbcs", "oem"})
# The bytes that did not decode shown in a reason: a file in UTF-32 read as another encoding
# has no line end, and its one reason held the whole file.
_BAD_BYTES_SHOWN = 16


class WrongEncoding(ValueError):
    """A file whose first bytes show it is not in the encoding it is read in; the message is
    the reason of its one dead letter."""


def encoding_problem(input_format, encoding):
    """Why ``encoding`` cannot be the encoding of ``input_format`` files, or None."""
    if not isinstance(encoding, str) or not encoding:
        return f"an encoding is a codec's name, such as cp1252, not {encoding!r}"
    if encoding.lower().replace("-", "_") in _WINDOWS_CURRENT_CODE_PAGES:
        return (f"{encoding!r} is the code page of the Windows machine at hand, which other "
                "machines (the workers) do not know: name the code page itself, such as cp1252 "
                "(python -c \"import locale; print(locale.getencoding())\" on Windows shows it)")
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        return (f"{encoding!r} is no encoding Python knows (such as cp1252, latin-1, utf-16, "
                "shift_jis, gb18030: docs.python.org/3/library/codecs.html#standard-encodings)")
    if input_format == "parquet" and not is_utf8(encoding):
        return "Parquet's strings are UTF-8 by its format: --encoding applies to the other formats"
    if not codec._is_text_encoding or codec.name in _NOT_FILE_ENCODINGS:
        return f"{encoding!r} ({codec.name}) is no encoding of text files"
    return None


@functools.lru_cache(maxsize=None)
def is_utf8(encoding):
    """Whether ``encoding`` reads as UTF-8 (the BOM rule of UTF-8 included: ``utf-8-sig``)."""
    return codecs.lookup(encoding).name in (UTF8, "utf-8-sig")


@functools.lru_cache(maxsize=None)
def reads_line_by_line(encoding):
    """Whether a file in ``encoding`` may be split at its bytes 0A and each line decoded alone
    (the module docstring says which)."""
    name = codecs.lookup(encoding).name
    if is_utf8(encoding) or name in _LINE_SAFE_MULTIBYTE:
        return True
    new_decoder = codecs.getincrementaldecoder(encoding)
    newlines = []
    for byte in range(256):
        try:
            text = new_decoder("strict").decode(bytes((byte,)))
        except UnicodeDecodeError:
            continue  # a byte the code page leaves undefined (cp1252's 81)
        if not text:
            return False  # a byte that waits for more: multibyte, or a shift of state
        if "\n" in text:
            newlines.append(byte)
    return newlines == [0x0A]


def transcoded_line(raw, encoding):
    """A line in ``encoding`` (``reads_line_by_line``) as UTF-8; bytes that do not decode kept
    as the module docstring says."""
    return raw.decode(encoding, _UNDECODABLE).encode(UTF8, "surrogatepass")


def transcoded_lines(handle, encoding, chunk_bytes=1 << 16):
    """The lines (UTF-8, ending in "\\n" but the last) of the text that ``handle``'s bytes in
    ``encoding`` decode to, read ``chunk_bytes`` at a time. UTF-16 and UTF-32 without a
    byte-order mark are read in the byte order their first bytes show (``text_encodings``),
    little-endian where they show none, whatever this machine's own order."""
    from beamtagger.text_encodings import ENCODING_SAMPLE_BYTES, other_encoding

    chunk = handle.read(chunk_bytes)
    problem = _not_wide_text(encoding, chunk[:ENCODING_SAMPLE_BYTES])
    if problem is not None:
        raise WrongEncoding(problem)
    decoder = codecs.getincrementaldecoder(_byte_order(encoding, chunk, other_encoding))(
        _UNDECODABLE)
    ends_at_nl = _is_ebcdic(encoding)
    parts = []
    while True:
        text = decoder.decode(chunk, final=not chunk)
        if ends_at_nl:
            text = text.replace("\x85", "\n")
        lines = text.split("\n")
        if len(lines) > 1:
            parts.append(lines[0])
            yield ("".join(parts) + "\n").encode(UTF8, "surrogatepass")
            for line in lines[1:-1]:
                yield (line + "\n").encode(UTF8, "surrogatepass")
            parts = []
        if lines[-1]:
            parts.append(lines[-1])
        if not chunk:
            if parts:
                yield "".join(parts).encode(UTF8, "surrogatepass")
            return
        chunk = handle.read(chunk_bytes)


@functools.lru_cache(maxsize=None)
def _is_ebcdic(encoding):
    """Whether ``encoding`` is an EBCDIC code page (cp037, cp500, cp1140...): "\\n" is its
    byte 25, and NL (15) decodes as U+0085."""
    return "\n".encode(encoding) == b"\x25"


_WIDE = {"utf-16": "UTF-16", "utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE",
         "utf-32": "UTF-32", "utf-32-le": "UTF-32LE", "utf-32-be": "UTF-32BE"}
# UTF-32LE's mark first: it starts with UTF-16LE's.
_MARKS = ((codecs.BOM_UTF32_LE, "UTF-32LE"), (codecs.BOM_UTF32_BE, "UTF-32BE"),
          (codecs.BOM_UTF16_LE, "UTF-16LE"), (codecs.BOM_UTF16_BE, "UTF-16BE"))


def _not_wide_text(encoding, head):
    """Why a file whose first bytes are ``head`` is not in ``encoding`` where that is UTF-16 or
    UTF-32 (``_WIDE``), or None: it starts with the byte-order mark of another, or it reads
    as UTF-8 lines without a NUL, which UTF-16 and UTF-32 put in every newline and space. Read
    as UTF-16, a UTF-8 file was one line of CJK characters (tagged, or one dead letter), held
    whole in memory; as UTF-32, one dead letter holding every byte of the file."""
    wide = _WIDE.get(codecs.lookup(encoding).name)
    if wide is None:
        return None
    marked = next((found for mark, found in _MARKS if head.startswith(mark)), None)
    if marked is not None and wide not in (marked, marked[:6]):
        return (f"the file starts with the byte-order mark of {marked}, not {encoding}, so none "
                f"of its lines was read; read it with --encoding {marked[:6].lower()}, which "
                "reads the byte order its mark shows")
    if b"\x00" in head:
        from beamtagger.text_encodings import starts_with_utf8_lines

        if not starts_with_utf8_lines(head):
            return None
        # A UTF-8 file holding a UTF-16 line, which beamtagger advised reading as UTF-16
        # before it read such a file as UTF-8: its UTF-8 lines were tagged as CJK characters.
        utf8_bytes = head.index(b"\x00")
        return (f"the file is not {encoding}: its first {utf8_bytes:,} bytes, up to its first "
                f"NUL, are UTF-8 lines, where {wide} puts a NUL in every newline and space, so "
                "none of its lines was read (a line in another encoding further on is its own "
                "dead letter in UTF-8); read it without --encoding (UTF-8)")
    if b"\n" not in head:
        return None
    try:
        codecs.utf_8_decode(head, "strict", False)
    except UnicodeDecodeError:
        return None
    return (f"the file is not {encoding}: its first {len(head):,} bytes are UTF-8 lines without "
            f"a NUL, where {wide} puts one in every newline and space, so none of its lines "
            "was read; read it without --encoding (UTF-8)")


_MARKED = {"utf-16": ((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "utf-16-le", "utf-16-be"),
           "utf-32": ((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-32-le", "utf-32-be")}


def _byte_order(encoding, head, other_encoding):
    """``encoding``, or for utf-16 and utf-32 without a byte-order mark the byte order that
    ``head`` shows: Python's own decoders take this machine's order there."""
    marked = _MARKED.get(codecs.lookup(encoding).name)
    if marked is None or head.startswith(marked[0]):
        return encoding
    found = other_encoding(head)
    big_endian = found is not None and found.encoding.endswith("BE")
    return marked[2] if big_endian else marked[1]


def bad_utf8(raw, error):
    """The reason of a line ``raw`` that is not UTF-8, from its UnicodeDecodeError, and what
    its NULs say where it holds any (``text_encodings.nul_note``)."""
    from beamtagger.text_encodings import nul_note

    return (f"not valid UTF-8 (byte {error.start}: {raw[error.start:error.start + 1]!r})"
            f"{nul_note(raw)}")


def undecodable(raw, error, encoding):
    """The reason of a line ``raw`` that did not decode: ``bad_utf8``'s where ``encoding`` is
    UTF-8, else the encoding, the line's first bytes that do not decode in it and where."""
    if is_utf8(encoding):
        return bad_utf8(raw, error)
    try:
        text = raw.decode(UTF8, "surrogatepass")
    except UnicodeDecodeError:  # not one of transcoded_line's lines
        return bad_utf8(raw, error)
    found = _AS_SURROGATES.search(text)
    if found is None:
        lone = _LONE_SURROGATE.search(text)
        if lone is None:
            return bad_utf8(raw, error)
        # UTF-7 decodes a lone surrogate ("+2AA-"), which is no character
        return (f"not valid {encoding} (character {lone.start()}: the lone surrogate "
                f"U+{ord(lone.group()):04X}, which is no character)")
    bad = bytes(ord(character) - 0xDC00 for character in found.group())
    shown = (repr(bad) if len(bad) <= _BAD_BYTES_SHOWN
             else f"{bad[:_BAD_BYTES_SHOWN]!r}... ({len(bad):,} bytes)")
    return f"not valid {encoding} (character {found.start()}: {shown})"


def shown_line(raw, encoding):
    """A line for a dead letter: as ``records.raw_text`` shows it, the bytes that did not
    decode in ``encoding`` as \\x.. escapes of the file's own bytes."""
    if not is_utf8(encoding):
        try:
            text = raw.decode(UTF8, "surrogatepass")
        except UnicodeDecodeError:  # not one of transcoded_line's lines
            pass
        else:
            return _AS_SURROGATES.sub(lambda found: "".join(
                f"\\x{ord(character) - 0xDC00:02x}" for character in found.group()), text)
    return raw.decode(UTF8, "backslashreplace")
