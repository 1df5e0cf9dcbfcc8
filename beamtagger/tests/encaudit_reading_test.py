"""Unhappy paths of ``--encoding`` (``decoded_lines``) found by the encoding audit: EBCDIC
files whose lines end in NL (byte 15), a UTF-8 file read as UTF-16 or UTF-32, a byte-order
mark of another order or width than the encoding named, a lone surrogate from UTF-7, a reason
holding a long run of bytes, and Windows' own code page names."""
import codecs

import pytest

from beamtagger.tests.encoding_input_test import _run
from beamtagger.transforms.reading.csv_rows import read_path_csv_records
from beamtagger.transforms.reading.decoded_lines import encoding_problem
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.reading.record_parsers import read_path_records
from beamtagger.transforms.records import DeadLetter, TextRecord


def _read(path, encoding, input_format="text"):
    return list(read_path_records(str(path), input_format, encoding=encoding))


@pytest.mark.parametrize("encoding", ["cp037", "cp500", "cp1140"])
def test_ebcdic_lines_ending_in_nl_are_lines(tmp_path, encoding):
    # z/OS writes text files with NL (15), which Python decodes as U+0085; LF (25) too.
    path = tmp_path / "mainframe.txt"
    path.write_bytes("Café one .\x85Line two .\x85".encode(encoding)
                     + "third .\n".encode(encoding))
    assert [(r.id, r.text) for r in _read(path, encoding)] == [
        ("mainframe.txt:1", "Café one ."), ("mainframe.txt:2", "Line two ."),
        ("mainframe.txt:3", "third .")]


UTF8_LINES = "Hello world .\nCafé au lait , 東京 .\n" * 3


@pytest.mark.parametrize("encoding, width", [("utf-16", "UTF-16"), ("utf-16-le", "UTF-16LE"),
                                             ("utf-32", "UTF-32"), ("utf-32-be", "UTF-32BE")])
def test_a_utf8_file_read_as_utf16_or_utf32_is_one_dead_letter_saying_so(
        tmp_path, encoding, width):
    path = tmp_path / "plain.txt"
    path.write_bytes(UTF8_LINES.encode("utf-8"))
    (letter,) = _read(path, encoding)
    assert isinstance(letter, DeadLetter) and letter.stage == "read", letter
    assert letter.source == f"{path}:1"
    assert letter.reason == (
        f"the file is not {encoding}: its first {path.stat().st_size} bytes are UTF-8 lines "
        f"without a NUL, where {width} puts one in every newline and space, so none of its "
        "lines was read; read it without --encoding (UTF-8)")
    csv = tmp_path / "plain.csv"
    csv.write_bytes(b"id,text\n" + UTF8_LINES.replace("\n", ",x\n").encode("utf-8"))
    (row_letter,) = read_path_csv_records(str(csv), "csv", RecordLayout(encoding=encoding))
    assert row_letter.reason.startswith(f"the file is not {encoding}: "), row_letter


def test_a_utf16_file_still_reads_and_cjk_without_ascii_is_not_taken_for_utf8(tmp_path):
    path = tmp_path / "wide.txt"
    path.write_bytes("東京は日本の首都です。".encode("utf-16-le") * 200)  # no NUL, no newline
    (record,) = _read(path, "utf-16-le")
    assert isinstance(record, TextRecord) and record.text.startswith("東京は")


@pytest.mark.parametrize("encoding, mark, named, reread", [
    ("utf-16-le", codecs.BOM_UTF16_BE, "UTF-16BE", "utf-16"),
    ("utf-16-be", codecs.BOM_UTF16_LE, "UTF-16LE", "utf-16"),
    ("utf-16", codecs.BOM_UTF32_LE, "UTF-32LE", "utf-32"),
    ("utf-32-be", codecs.BOM_UTF32_LE, "UTF-32LE", "utf-32")])
def test_a_byte_order_mark_of_another_order_or_width_is_one_dead_letter(
        tmp_path, encoding, mark, named, reread):
    path = tmp_path / "marked.txt"
    body = {"UTF-16BE": "utf-16-be", "UTF-16LE": "utf-16-le", "UTF-32LE": "utf-32-le"}[named]
    path.write_bytes(mark + "Hello .\nWorld .\n".encode(body))
    (letter,) = _read(path, encoding)
    assert letter.reason == (f"the file starts with the byte-order mark of {named}, not "
                             f"{encoding}, so none of its lines was read; read it with "
                             f"--encoding {reread}, which reads the byte order its mark shows")
    assert [r.text for r in _read(path, reread)] == ["Hello .", "World ."]


def test_a_utf7_lone_surrogate_is_named_as_such(tmp_path):
    path = tmp_path / "seven.txt"
    path.write_bytes(b"ok line\nbad +2AA- here\n")
    first, letter = _read(path, "utf-7")
    assert first.text == "ok line"
    assert letter.reason == ("not valid utf-7 (character 4: the lone surrogate U+D800, which "
                             "is no character)")


def test_a_long_run_of_bytes_that_do_not_decode_is_cut_in_the_reason(tmp_path):
    path = tmp_path / "junk.txt"
    path.write_bytes(b"\xff" * 4000 + "\n".encode("utf-32-le"))
    (letter,) = _read(path, "utf-32-le")
    assert letter.reason == ("not valid utf-32-le (character 0: "
                             "b'\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff"
                             "\\xff\\xff\\xff\\xff'... (4,000 bytes))")


@pytest.mark.parametrize("name", ["mbcs", "MBCS", "oem", "dbcs"])
def test_windows_current_code_page_names_are_refused_naming_the_code_page_to_give(name):
    problem = encoding_problem("text", name)
    assert problem.startswith(f"{name!r} is the code page of the Windows machine at hand, "
                              "which other machines (the workers) do not know: name the code "
                              "page itself, such as cp1252"), problem


@pytest.mark.parametrize("name", ["UTF8", "utf_8", "cp65001", "latin1", "windows-1252",
                                  "utf-8-sig", "ascii"])
def test_spellings_python_knows_are_taken(name):
    assert encoding_problem("text", name) is None


def test_the_tag_command_refuses_mbcs_in_one_line(tiny_tagger, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("Hello .\n", encoding="utf-8")
    code, _, err = _run(capsys, tiny_tagger, source, tmp_path / "out" / "r", "--encoding", "mbcs")
    assert code == 2, err
    (line,) = err.strip().splitlines()
    assert line.startswith("beamtagger tag: error: --encoding: 'mbcs' is the code page of "), line
