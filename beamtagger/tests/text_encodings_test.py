"""Which files text_encodings takes for UTF-16 without a byte-order mark, and which it leaves."""
import random

import pytest

from beamtagger.text_encodings import ENCODING_SAMPLE_BYTES, other_encoding

# Scripts whose UTF-16 has a NUL only in its ASCII characters (newlines, spaces, digits).
FEW_NUL_TEXTS = {
    "Chinese": "北京是中国的首都，有2100万人口。我们在上海上班。\n第3行：一二三，丁一。\n",
    "Japanese": "東京は日本の首都です。\nひらがなとカタカナ、漢字。\n",
    "Greek": "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.\nΚαλημέρα κόσμε.\n",
    "Russian": "Москва — столица России.\nПривет, мир.\n",
}
ONE_LINES = {
    "Chinese": "北京是中国的首都，有2100万人口。\n",
    "Japanese": "東京は日本の首都で、人口は1400万人です。\n",
    "Greek": "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.\n",
    "Russian": "Москва — столица России.",
}


def utf16(text, encoding, line_ending="\n"):
    return text.replace("\n", line_ending).encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("script", sorted(FEW_NUL_TEXTS))
@pytest.mark.parametrize("line_ending", ["\n", "\r\n"])
def test_utf16_of_scripts_with_few_nuls_is_found_without_a_mark(script, encoding, line_ending):
    # Read as UTF-8, its lines that were not UTF-8 were dead letters and the others (all of
    # them in Russian, whose high bytes 04 are ASCII) tagged as mojibake.
    named = encoding.upper().replace("-LE", "LE").replace("-BE", "BE")
    many_lines = FEW_NUL_TEXTS[script] * 200
    for head in (utf16(FEW_NUL_TEXTS[script], encoding, line_ending),
                 utf16(many_lines, encoding, line_ending)[:ENCODING_SAMPLE_BYTES],
                 # a head that ends inside a character, or between a surrogate pair's halves
                 utf16(many_lines, encoding, line_ending)[:ENCODING_SAMPLE_BYTES - 1],
                 utf16(ONE_LINES[script], encoding, line_ending)):
        found = other_encoding(head)
        assert found is not None and found.encoding == named
        assert found.reason("").startswith(f"the file is {named} without a byte-order mark (")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_characters_beyond_the_basic_plane_is_found(encoding):
    text = "𠀋𡈁𩸽 は 難しい 漢字 です 😀\n" * 50
    found = other_encoding(text.encode(encoding)[:ENCODING_SAMPLE_BYTES])
    assert found is not None and found.encoding == {"utf-16-le": "UTF-16LE",
                                                     "utf-16-be": "UTF-16BE"}[encoding]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_one_line_whose_only_ascii_character_is_its_newline_is_left_to_utf8(encoding):
    # One NUL cannot be told from a stray one: the line stays a "not valid UTF-8" dead letter.
    assert other_encoding("東京は日本の首都です。\n".encode(encoding)) is None


@pytest.mark.parametrize("script", sorted(FEW_NUL_TEXTS))
def test_utf8_of_any_script_with_stray_nuls_is_left_to_utf8(script):
    text = FEW_NUL_TEXTS[script] * 40
    chosen = random.Random(script)
    for nuls in (1, 2, 3, 8):
        for _ in range(50):
            head = bytearray(text.encode()[:ENCODING_SAMPLE_BYTES])
            for _ in range(nuls):
                head.insert(chosen.randrange(len(head) + 1), 0)
            assert other_encoding(bytes(head)) is None
    # NULs after line endings, where UTF-16LE puts them (a file of C strings)
    assert other_encoding(text.replace("\n", "\n\x00").encode()) is None
    assert other_encoding("Line one.\n\x00Line two.\n\x00Line 3!\n\x00".encode()) is None


def test_latin1_and_cp1252_text_is_left_to_utf8_with_or_without_a_stray_nul():
    text = ("Café crème, naïve façade: Größe über Ärger. Señor Müller's “quotes” — "
            "déjà vu 1,000 €.\n") * 40
    chosen = random.Random(1)
    for encoding in ("latin-1", "cp1252"):
        encoded = text.encode(encoding, errors="replace")[:ENCODING_SAMPLE_BYTES]
        assert other_encoding(encoded) is None
        for _ in range(200):
            head = bytearray(encoded)
            head.insert(chosen.randrange(len(head) + 1), 0)
            assert other_encoding(bytes(head)) is None


def test_binary_junk_is_not_taken_for_utf16():
    chosen = random.Random(2)
    for size in (8, 64, 512, ENCODING_SAMPLE_BYTES):
        for _ in range(200):
            junk = bytearray(chosen.randbytes(size))
            junk[chosen.randrange(size)] = 0
            found = other_encoding(bytes(junk))
            assert found is None or "code units" in found.evidence  # the Latin-script rule's
    # Text padded with NULs where a crash cut the file, and runs of zeros
    assert other_encoding("Москва — столица России.\n".encode() + b"\x00" * 300) is None
    assert other_encoding(b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x03\x00>\x00") is None


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", ["सेब\nनल\n", "नमस्ते दुनिया\n", "あいう\nおか\n", "ਪਰ\nਵਲ\n"])
def test_short_utf16_whose_bytes_are_utf8_text_is_found_by_its_newlines(text, encoding):
    # Every character's two bytes are UTF-8 text (सेब is 38 09 47 09 2C 09 in UTF-16LE: ASCII
    # and tabs), and no line is one the readers refuse alone (one ASCII character a line):
    # only the newlines, 0A 00 (00 0A) in each code unit whose low byte is 0A, say UTF-16.
    found = other_encoding(text.encode(encoding))
    assert found is not None and found.encoding == encoding.upper().replace("-16-", "-16")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", ["上海\n上午\n", "尊敬\n上学 上海\n", "上海\t上午\r\n", "上海\r上午\r"])
def test_short_utf16_of_characters_whose_low_byte_is_0a_is_found(text, encoding):
    # 上 (U+4E0A) is 0A 4E in UTF-16LE: as many code units whose low byte is 0A as newlines,
    # or more, and every byte UTF-8 text once the NULs are out ("\nNwm\nNHS\n"): read as UTF-8,
    # "上海" and "上午" were tagged as "Nwm" and "NHS". No byte 0A at a high byte's place (the
    # newlines of a UTF-8 file fall at both), or a UTF-16 CR (UTF-8 has byte 0D only as CR,
    # which beamtagger's results escape), says UTF-16.
    found = other_encoding(text.encode(encoding))
    assert found is not None and found.encoding == encoding.upper().replace("-16-", "-16")
