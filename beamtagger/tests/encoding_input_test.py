"""Input in another encoding than UTF-8 (``tag --encoding``, ``ReadRecords(encoding=...)``):
Excel's cp1252 CSV tagged as its UTF-8 copy, UTF-16 TSV with and without a byte-order mark,
Shift-JIS text in byte ranges, Latin-1 CoNLL-U; a line that does not decode is its own dead
letter naming the encoding; a bad name refused before launch; the warning before launch where
a UTF-8 run's first files look like cp1252 or UTF-16."""
import types

import apache_beam as beam
import pytest
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.pipeline import tag_inputs
from beamtagger.tests.conftest import run_tag_command as tag
from beamtagger.tests.tag_pipeline_test import read_jsonl
from beamtagger.transforms.reading import ReadRecords
from beamtagger.transforms.reading.byte_ranges import ReadRecordsInRanges, range_records
from beamtagger.transforms.reading.csv_rows import read_path_csv_records
from beamtagger.transforms.reading.decoded_lines import reads_line_by_line
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.reading.record_parsers import read_path_records
from beamtagger.transforms.records import DeadLetter, TextRecord

# What Excel on Windows saves as "CSV (Comma delimited)": cp1252, CRLF, curly quotes, a quoted
# field over two lines.
EXCEL_ROWS = ('id,text,price\r\n'
              'r1,"Café “crème” costs 5 €, she said .",5 €\r\n'
              'r2,"Señor Müller’s naïve façade\r\nis déjà vu .",7\r\n'
              'r3,The cat sat on the mat .,0\r\n')


def _run(capsys, tiny_tagger, source, prefix, *more):
    return tag(capsys, "--input", str(source), "--output", str(prefix), "--model",
               tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path, *more)


def _tokens(rows):
    return {row["id"]: [(t["text"], t["start"], t["end"], t["label"]) for t in row["tokens"]]
            for row in rows}


def test_excel_cp1252_csv_is_tagged_as_its_utf8_copy_and_a_bad_byte_is_its_row(
        tiny_tagger, tmp_path, capsys):
    excel = tmp_path / "excel.csv"
    excel.write_bytes(EXCEL_ROWS.encode("cp1252") + b"r4,bad \x81 byte,1\r\n")
    copy = tmp_path / "copy.csv"
    copy.write_bytes(EXCEL_ROWS.encode("utf-8"))
    code, out, err = _run(capsys, tiny_tagger, excel, tmp_path / "w", "--encoding", "cp1252")
    assert code == 0, err
    assert "warning" not in err and "dead letters                1" in out, (out, err)
    code, _, err = _run(capsys, tiny_tagger, copy, tmp_path / "u")
    assert code == 0, err
    rows = read_jsonl(str(tmp_path / "w") + "-[0-9]*.jsonl")
    assert _tokens(rows) == _tokens(read_jsonl(str(tmp_path / "u") + "-[0-9]*.jsonl"))
    assert {row["id"]: row["price"] for row in rows} == {"r1": "5 €", "r2": "7", "r3": "0"}
    assert {"€", "“", "”"} <= {token["text"] for token in _only(rows, "r1")["tokens"]}
    (letter,) = read_jsonl(str(tmp_path / "w") + "-errors-*.jsonl")
    assert letter == {"source": f"{excel}:6", "stage": "decode", "record": "r4,bad \\x81 byte,1",
                      "reason": "line 6: not valid cp1252 (character 7: b'\\x81')"}


def _only(rows, record_id):
    (row,) = [row for row in rows if row["id"] == record_id]
    return row


def test_a_bad_encoding_name_and_one_parquet_cannot_take_are_refused_before_launch(
        tiny_tagger, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("Hello .\n", encoding="utf-8")
    for more, expected in ((("--encoding", "cp-1252x"), "'cp-1252x' is no encoding Python knows"),
                           (("--encoding", "base64"), "is no encoding of text files"),
                           (("--encoding", "cp1252", "--input-format", "parquet"),
                            "Parquet's strings are UTF-8")):
        code, _, err = _run(capsys, tiny_tagger, source, tmp_path / "out" / "r", *more)
        assert code == 2, err
        (line,) = err.strip().splitlines()  # one line, no traceback
        assert line.startswith("beamtagger tag: error: --encoding: ") and expected in line, line
    with pytest.raises(ValueError, match="encoding: 'nope' is no encoding"):
        ReadRecords(str(source), encoding="nope")


UTF8_TSV = "id\ttext\n1\tCafé au lait , 東京 .\n2\tdeux 😀 mots\n"


@pytest.mark.parametrize("encoding, written", [
    ("utf-16", UTF8_TSV.encode("utf-16-le").join([b"\xff\xfe", b""])),   # Excel's "Unicode Text"
    ("utf-16", UTF8_TSV.encode("utf-16-be")),        # no mark: the byte order its NULs show
    ("utf-16-le", UTF8_TSV.encode("utf-16-le")),
    ("utf-16-le", UTF8_TSV.encode("utf-16-le").join([b"\xff\xfe", b""]))],
    ids=["utf-16 marked", "utf-16 unmarked big-endian", "utf-16-le", "utf-16-le marked"])
def test_utf16_tsv_with_and_without_a_byte_order_mark_reads_as_its_utf8_copy(
        tmp_path, encoding, written):
    path = tmp_path / "unicode.tsv"
    path.write_bytes(written + "3\tcut \ud800 here\n".encode("utf-16-be" if written.startswith(
        b"\x00") else "utf-16-le", "surrogatepass"))
    copy = tmp_path / "copy.tsv"
    copy.write_text(UTF8_TSV, encoding="utf-8")
    found = list(read_path_csv_records(str(path), "tsv", RecordLayout(encoding=encoding)))
    expected = [record._replace(source=record.source.replace("copy", "unicode"))
                for record in read_path_csv_records(str(copy), "tsv")]
    assert found[:2] == expected
    assert found[2].source == f"{path}:4" and found[2].reason.startswith(
        f"line 4: not valid {encoding} (character 6: b'"), found[2]


def test_a_utf16_file_over_the_range_size_is_read_whole_with_line_ids(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(("first line\n" * 30 + "last é\n").encode("utf-16"))
    with beam.Pipeline() as p:
        read = p | ReadRecords(str(tmp_path / "*.txt"), "text", reshuffle=False, split_bytes=64,
                               encoding="utf-16")
        assert_that(read.records | beam.Map(lambda r: (r.id, r.text)), equal_to(
            [(f"big.txt:{n}", "first line") for n in range(1, 31)] + [("big.txt:31", "last é")]))
        assert_that(read.errors, equal_to([]), label="no dead letters")


SHIFT_JIS_LINES = ["東京は日本の首都です。", "ソースコード、表示", "", "ascii only"]


def _all_range_records(path, split_bytes, encoding):
    provider = ReadRecordsInRanges("text", RecordLayout(encoding=encoding), split_bytes)
    found = []
    for restriction in provider.split(None, OffsetRange(0, path.stat().st_size)):
        tracker = OffsetRestrictionTracker(restriction)
        found.extend(range_records(str(path), tracker, "text", RecordLayout(encoding=encoding)))
        tracker.check_done()
    return found


@pytest.mark.parametrize("split_bytes", [1, 5, 16, 1000])
@pytest.mark.parametrize("encoding, lines", [
    ("shift_jis", SHIFT_JIS_LINES),
    ("cp1252", ["Café “crème” 5 €", "naïve façade", "", "Señor Müller’s"])])
def test_byte_ranges_of_a_line_by_line_encoding_keep_byte_offsets(tmp_path, split_bytes,
                                                                   encoding, lines):
    content = "\r\n".join(lines).encode(encoding) + b"\n\x81\x20bad\n" + "end".encode(encoding)
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    assert reads_line_by_line(encoding)
    found = _all_range_records(path, split_bytes, encoding)
    starts = [0] + [index + 1 for index, byte in enumerate(content[:-1]) if byte == 0x0A]
    assert [item.source for item in found] == [f"{path}:@{start}" for start in starts]
    assert [item.text for item in found if isinstance(item, TextRecord)] == lines + ["end"]
    (letter,) = [item for item in found if isinstance(item, DeadLetter)]
    assert letter.reason.startswith(f"not valid {encoding} (character 0: b'\\x81")
    # read whole, the same lines by number
    whole = list(read_path_records(str(path), "text", encoding=encoding))
    assert [item.source for item in whole] == [f"{path}:{n}" for n in range(1, len(starts) + 1)]


def test_latin1_conllu_reads_as_its_utf8_copy_and_a_bad_line_is_its_sentence(tmp_path):
    text = ("# sent_id = s1\n# text = Café crème\n1\tCafé\t_\tNOUN\t_\t_\t_\t_\t_\t_\n"
            "2\tcrème\t_\tNOUN\t_\t_\t_\t_\t_\tSpaceAfter=No\n\n"
            "# sent_id = s2\n1\tÀ\t_\tADP\t_\t_\t_\t_\t_\t_\n\n")
    path, copy = tmp_path / "fr.conllu", tmp_path / "copy.conllu"
    path.write_bytes(text.encode("latin-1"))
    copy.write_bytes(text.encode("utf-8"))
    found = list(read_path_records(str(path), "conllu", encoding="latin-1",
                                   keep_conllu_lines=True))
    expected = list(read_path_records(str(copy), "conllu", keep_conllu_lines=True))
    assert [r._replace(source="") for r in found] == [r._replace(source="") for r in expected]
    assert found[0].tokens == ("Café", "crème")
    ascii_read = list(read_path_records(str(path), "conllu", encoding="ascii"))
    assert [(item.source, item.reason) for item in ascii_read] == [
        (f"{path}:1", f"{path}:2: not valid ascii (character 12: b'\\xe9')"),
        (f"{path}:6", f"{path}:7: not valid ascii (character 2: b'\\xc0')")]
    assert "Caf\\xe9" in ascii_read[0].record


def _warning(capsys, tmp_path, pattern, encoding="utf-8", input_format="csv"):
    matched = FileSystems.match([str(tmp_path / pattern)])[0].metadata_list
    tag_inputs._check_heads(matched, types.SimpleNamespace(
        input_format=input_format, encoding=encoding, stdin_spool=None))
    out, err = capsys.readouterr()
    assert out == ""
    return err


def test_the_warning_before_launch_names_the_file_the_byte_and_the_encoding(tmp_path, capsys):
    excel = tmp_path / "a.csv"
    excel.write_bytes(EXCEL_ROWS.encode("cp1252"))
    (line,) = _warning(capsys, tmp_path, "*.csv").splitlines()
    assert line.startswith(f"warning: --input {excel}: its byte 22 (0xe9) is not UTF-8, ")
    assert "read it with --encoding cp1252; tagging it as UTF-8" in line
    assert _warning(capsys, tmp_path, "*.csv", encoding="cp1252") == ""

    unicode_text = tmp_path / "b.tsv"
    unicode_text.write_bytes(UTF8_TSV.encode("utf-16"))
    (line,) = _warning(capsys, tmp_path, "b.tsv", input_format="tsv").splitlines()
    assert "is UTF-16 (it starts with the byte-order mark FF FE), not UTF-8; read it with " \
           "--encoding utf-16, or convert it" in line


def test_a_utf8_file_read_in_a_code_page_is_warned_of(tmp_path, capsys):
    # "é" read as cp1252 is "Ã©": tagged without a word, every accented word was mojibake.
    path = tmp_path / "a.csv"
    path.write_bytes(EXCEL_ROWS.encode("utf-8"))
    (line,) = _warning(capsys, tmp_path, "*.csv", encoding="cp1252").splitlines()
    assert line.startswith(f"warning: --input {path}: its first ")
    assert "UTF-8 with characters outside ASCII, which --encoding cp1252 reads as others " \
           "('é' as 'Ã©'): if the file is UTF-8, leave --encoding out; tagging it as cp1252" \
           in line
    # The same rows in cp1252, or in ASCII only, are what they are said to be.
    path.write_bytes(EXCEL_ROWS.encode("cp1252"))
    assert _warning(capsys, tmp_path, "*.csv", encoding="cp1252") == ""
    path.write_bytes(b"id,text\n1,plain words\n")
    assert _warning(capsys, tmp_path, "*.csv", encoding="cp1252") == ""


def test_no_warning_for_utf8_with_one_bad_line_deep_inside(tmp_path, capsys):
    path = tmp_path / "big.txt"
    path.write_bytes("Une ligne en français .\n".encode() * 4000 + b"caf\xe9\n")
    assert path.stat().st_size > tag_inputs.ENCODING_CHECK_BYTES
    assert _warning(capsys, tmp_path, "big.txt", input_format="text") == ""
    path.write_bytes(b"caf\xe9\n" + "Une ligne en français .\n".encode() * 10)
    assert "its byte 3 (0xe9) is not UTF-8" in _warning(capsys, tmp_path, "big.txt",
                                                        input_format="text")


def test_which_encodings_are_read_line_by_line():
    for encoding in ("utf-8", "cp1252", "latin-1", "iso8859-15", "koi8-r", "shift_jis", "cp932",
                     "euc-jp", "euc-kr", "gb18030", "big5"):
        assert reads_line_by_line(encoding), encoding
    # UTF-16's 0A may be half of 上 (U+4E0A); EBCDIC's newline is 25; ISO-2022-JP and UTF-7
    # shift state across bytes.
    for encoding in ("utf-16", "utf-16-le", "utf-32", "cp037", "iso2022_jp", "utf-7"):
        assert not reads_line_by_line(encoding), encoding
