"""A UTF-8 file holding a line of UTF-16 (two tools' output concatenated): the file is read as
UTF-8, the line is its own dead letter (an error before training), its neighbours are read."""
import random

import pytest

from beamtagger.corpus_readers import ReadStats, read_conll, read_conllu
from beamtagger.errors import InputFormatError
from beamtagger.tests.text_encodings_test import FEW_NUL_TEXTS
from beamtagger.text_encodings import (ENCODING_SAMPLE_BYTES, likely_encoding, other_encoding,
                                       wide_line)
from beamtagger.transforms.reading.csv_rows import read_path_csv_records
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.reading.record_parsers import read_path_records
from beamtagger.transforms.records import DeadLetter, TextRecord

GOOD = [f"Line {n}: John Smith moved to Paris in 2019.\n".encode() for n in range(41)]
WIDE_REASON = "holds NUL bytes where UTF-16 puts them in ASCII characters: UTF-16 text?"


def mixed(where, wide_line):
    """The 41 UTF-8 lines with ``wide_line`` after the first ``where`` of them."""
    return b"".join(GOOD[:where]) + wide_line + b"".join(GOOD[where:])


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("where", [1, 20, 41])
def test_a_utf16_line_after_utf8_lines_is_its_own_dead_letter(tmp_path, encoding, where):
    # The whole file was one "the file is UTF-16LE without a byte-order mark" dead letter,
    # whose advice (--encoding utf-16-le) garbled the 41 UTF-8 lines.
    path = tmp_path / "mixed.txt"
    path.write_bytes(mixed(where, "UTF-16 inside: hello world\n".encode(encoding)))
    head = path.read_bytes()[:ENCODING_SAMPLE_BYTES]
    assert other_encoding(head) is None and likely_encoding(head) is None
    records = list(read_path_records(path))
    letter, = [record for record in records if isinstance(record, DeadLetter)]
    assert letter.source == f"{path}:{where + 1}" and letter.stage == "decode"
    assert letter.reason == WIDE_REASON
    texts = [record.text for record in records if isinstance(record, TextRecord)]
    # UTF-16LE's newline 0A 00 leaves its NUL at the next line's start: a stray NUL, kept in
    # that line's text as any stray NUL is (the tokenizer leaves it out of the first token).
    # After the last line, that NUL is a line of its own: a record without tokens, as a blank
    # line is.
    expected = [line.decode().rstrip("\n") for line in GOOD] + [""]
    if encoding == "utf-16-le":
        expected[where] = "\x00" + expected[where]
    assert texts == (expected if expected[-1] else expected[:-1])


def test_the_last_line_in_utf16_without_a_newline_is_its_own_dead_letter(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes(mixed(41, "UTF-16 at the end".encode("utf-16-le")))
    *records, letter = read_path_records(path)
    assert letter.reason == WIDE_REASON and len(records) == 41


def test_a_utf16_json_line_says_so_not_invalid_json(tmp_path):
    path = tmp_path / "mixed.jsonl"
    rows = [f'{{"id": "r{n}", "text": "Row {n} of the file."}}\n'.encode() for n in range(30)]
    path.write_bytes(b"".join(rows[:10]) + '{"id": "x", "text": "wide"}\n'.encode("utf-16-le")
                     + b"".join(rows[10:]))
    records = list(read_path_records(path, "jsonl"))
    letter, = [record for record in records if isinstance(record, DeadLetter)]
    assert letter.source == f"{path}:11" and letter.reason == WIDE_REASON
    # The next line starts with the NUL of the UTF-16LE newline 0A 00: it was "invalid JSON".
    assert [record.id for record in records if isinstance(record, TextRecord)] == [
        f"r{n}" for n in range(30)]


def test_a_utf16_csv_row_says_so_and_the_row_after_it_is_read(tmp_path):
    path = tmp_path / "mixed.csv"
    rows = [f"Row {n} of the file,{n}\n".encode() for n in range(20)]
    path.write_bytes(b"text,n\n" + b"".join(rows[:5]) + "wide row,9\n".encode("utf-16-le")
                     + b"".join(rows[5:]))
    records = list(read_path_csv_records(str(path), "csv", RecordLayout(), None))
    letter, = [record for record in records if isinstance(record, DeadLetter)]
    # It was "holds a NUL byte (is the file binary...)", and so was the row after it, which
    # starts with the NUL of the UTF-16LE newline 0A 00.
    assert letter.source == f"{path}:7" and letter.reason == f"line 7 {WIDE_REASON}"
    assert [record.text for record in records if isinstance(record, TextRecord)] == [
        f"Row {n} of the file" for n in range(20)]


def test_a_chinese_utf16_line_is_not_utf8_and_says_it_holds_nuls(tmp_path):
    path = tmp_path / "mixed.txt"
    # (A character holding the byte 0A, such as 上, U+4E0A, would cut it into two lines.)
    path.write_bytes(mixed(5, "北京是中国的首都，有2100万人口。\n".encode("utf-16-le")))
    records = list(read_path_records(path))
    letter, = [record for record in records if isinstance(record, DeadLetter)]
    assert letter.source == f"{path}:6"
    assert letter.reason.startswith("not valid UTF-8 (byte ")
    assert letter.reason.endswith("; it holds NUL bytes: UTF-16 text?")
    assert len(records) == 42


@pytest.mark.parametrize("wide_first", [
    "UTF-16 first: hello\n".encode("utf-16-le"),  # the file is UTF-16 from its first byte
    ("A UTF-16 line of more than 4 KB. " * 80 + "\n").encode("utf-16-le"),
    b"id\n" + "A UTF-16 line after a short one.\n".encode("utf-16-le")])  # under 32 bytes
def test_a_file_whose_text_is_utf16_from_its_start_is_still_refused_whole(tmp_path,
                                                                          wide_first):
    found = other_encoding((wide_first + b"".join(GOOD))[:ENCODING_SAMPLE_BYTES])
    assert found is not None and found.encoding.startswith("UTF-16")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_starting_with_characters_that_are_also_utf8_lines_is_still_found(encoding):
    # Chinese whose first characters are pairs of UTF-8 bytes ("獀" is "@s" in UTF-16LE),
    # ending at a byte 0A of a character (上, U+4E0A) or of a newline: their UTF-8 lines are
    # fewer than 32 bytes, not counting those of one character (Gurmukhi: 0A in each).
    chosen = random.Random(encoding)
    chinese = [chr(code) for code in range(0x4E00, 0x9FA6)]
    gurmukhi = [chr(code) for code in range(0x0A05, 0x0A75) if chr(code).isprintable()]
    for pool in (chinese, gurmukhi):
        for _ in range(50):
            text = "".join(chosen.choice(pool) if chosen.random() > 0.03 else "\n"
                           for _ in range(2100))
            found = other_encoding(text.encode(encoding)[:ENCODING_SAMPLE_BYTES])
            assert found is not None and found.encoding == encoding.upper().replace("-16-",
                                                                                    "-16")
    for text in ("獀獀獀獀\n" + FEW_NUL_TEXTS["Chinese"], "獀獀獀上海" + FEW_NUL_TEXTS["Chinese"],
                 "ਪੰਜਾਬ ਪੰਜਾਬੀ\n" * 20):
        found = other_encoding(text.encode(encoding))
        assert found is not None and found.encoding == encoding.upper().replace("-16-", "-16")


def test_a_utf16_line_in_a_corpus_is_one_error_naming_it(tmp_path):
    # It was "word id '1\x00' is not an integer" (or, before, the whole corpus refused as
    # UTF-16LE).
    sentence = "# sent_id = a\n1\tHello\thello\tINTJ\tUH\t_\t0\troot\t_\t_\n\n"
    path = tmp_path / "corpus.conllu"
    path.write_bytes((sentence * 20).encode()
                     + "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n".encode("utf-16-le")
                     + sentence.encode())
    with pytest.raises(InputFormatError, match=rf"corpus.conllu:61: {WIDE_REASON}"):
        list(read_conllu(path))


def corpus_with_a_utf16_last_token(input_format, encoding):
    """Six sentences, the last token line of the third in ``encoding``: its newline is then
    followed by the blank line that ends the sentence."""
    def sentence(number):
        if input_format == "conllu":
            return [f"# sent_id = s{number}\n",
                    f"1\tHello{number}\thello\tINTJ\tUH\t_\t0\troot\t_\t_\n",
                    "2\tthere\tthere\tADV\tRB\t_\t1\tadvmod\t_\t_\n", "\n"]
        return [f"Hello{number}\tO\n", "there\tO\n", "\n"]
    lines = [line.encode() for number in range(6) for line in sentence(number)]
    wide = len(sentence(0)) * 2 + len(sentence(0)) - 2  # the third sentence's last token
    lines[wide] = lines[wide].decode().encode(encoding)
    return b"".join(lines), wide + 1


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("input_format", ["conll", "conllu"])
def test_a_utf16_last_token_line_costs_its_own_sentence_only(tmp_path, input_format,
                                                             encoding):
    # UTF-16LE's newline 0A 00 left its NUL on the blank line after the sentence: not blank,
    # that line joined the next sentence to the UTF-16 one, two sentences in one dead letter
    # (tag), or two lost and one counted (read_conll(on_error="skip")).
    content, wide_number = corpus_with_a_utf16_last_token(input_format, encoding)
    path = tmp_path / f"corpus.{input_format}"
    path.write_bytes(content)
    records = list(read_path_records(path, input_format))
    letter, = [record for record in records if isinstance(record, DeadLetter)]
    assert WIDE_REASON in letter.reason and f":{wide_number}:" in letter.reason
    assert len(records) == 6 and "Hello3" in records[3].tokens
    reader = read_conllu if input_format == "conllu" else read_conll
    stats = ReadStats()
    read = list(reader(path, on_error="skip", stats=stats))
    assert stats.skipped_sentences == 1 and len(read) == 5
    assert [sentence.tokens[0] for sentence in read] == [
        f"Hello{number}" for number in (0, 1, 3, 4, 5)]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("wide_text", ["Москва — столица России.", "القاهرة هي عاصمة مصر.",
                                       "नमस्ते, दुनिया के लोग।"])
def test_a_utf16_line_of_a_script_without_nuls_is_its_own_dead_letter(tmp_path, encoding,
                                                                      wide_text):
    # Cyrillic (U+04xx), Arabic (U+06xx) and Devanagari (U+09xx) in UTF-16 are valid UTF-8
    # (control characters, tabs and ASCII), with a NUL in their spaces and punctuation only:
    # fewer than the Latin rule asks for, so the line was tagged as mojibake.
    path = tmp_path / "mixed.txt"
    path.write_bytes(mixed(5, f"{wide_text}\n".encode(encoding)))
    records = list(read_path_records(path))
    letter, = [record for record in records if isinstance(record, DeadLetter)]
    assert letter.source == f"{path}:6" and letter.reason == WIDE_REASON
    assert [record.text.lstrip("\x00") for record in records
            if isinstance(record, TextRecord)] == [line.decode().rstrip("\n") for line in GOOD]


@pytest.mark.parametrize("line", [b"Line 5: John\x00 Smith moved to Paris.",
                                  b"\x00Line 5: John Smith moved to Paris.",
                                  "Zoë\x00 moved to Москва in 2019.".encode()])
def test_a_utf8_line_with_a_stray_nul_is_still_read(line):
    assert wide_line(line) is None


def test_utf16le_whose_first_line_is_also_a_utf8_line_is_still_found():
    # Hiragana あ..ま are 42 30..7E 30 in UTF-16LE ("B0".."~0"): this question of 16 of them,
    # without a question mark, is 32 bytes of a UTF-8 line before the first NUL, its
    # newline's 00. The file was read as UTF-8, that line tagged as "B0j0_0o0M0n0...".
    text = "あなたはきのうどこにいきましたか\nこうえんにいきました。\n東京は日本の首都です。\n" * 40
    head = text.encode("utf-16-le")[:ENCODING_SAMPLE_BYTES]
    assert head.startswith(b"B0j0_0o0")
    found = other_encoding(head)
    assert found is not None and found.encoding == "UTF-16LE"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16"])
def test_a_utf8_file_holding_a_utf16_line_read_as_utf16_is_refused(tmp_path, encoding):
    # What the file's refusal as UTF-16LE advised before it was read as UTF-8: read so, its
    # UTF-8 lines were tagged as two records of CJK characters, without a word.
    path = tmp_path / "mixed.txt"
    path.write_bytes(mixed(10, "wide line\n".encode("utf-16-le")))
    letter, = read_path_records(path, encoding=encoding)
    assert letter.stage == "read" and letter.reason.startswith(f"the file is not {encoding}: ")
    assert letter.reason.endswith("read it without --encoding (UTF-8)")
    # Japanese UTF-16LE whose first line is also a UTF-8 line is read as named.
    path.write_bytes("あなたはきのうどこにいきましたか\nこうえんにいきました。\n".encode("utf-16-le"))
    assert [record.text for record in read_path_records(path, encoding=encoding)] == [
        "あなたはきのうどこにいきましたか", "こうえんにいきました。"]
