"""Reading files in byte ranges: every line exactly once, whatever the cut; several workers."""
import glob
import gzip
import json

import apache_beam as beam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.transforms.reading import ReadRecords
from beamtagger.transforms.reading.byte_ranges import (ReadRecordsInRanges, claimed_lines,
                                                      range_records)
from beamtagger.transforms.reading.file_lines import not_utf8
from beamtagger.transforms.reading.record_parsers import read_path_records
from beamtagger.transforms.records import DeadLetter, TextRecord

CONTENT = (b"\xef\xbb\xbffirst line\n\nthird\r\n" + b"x" * 40 + b"\nshort\n\n\n"
           + "naïve ünïcode\n".encode() + b"no newline at the end")


def lines_of_all_ranges(path, size, split_bytes):
    provider = ReadRecordsInRanges("text", split_bytes=split_bytes)
    found = []
    for restriction in provider.split(None, OffsetRange(0, size)):
        tracker = OffsetRestrictionTracker(restriction)
        found.extend(claimed_lines(str(path), tracker))
        tracker.check_done()  # the range was read to its end
    return found


@pytest.mark.parametrize("split_bytes", [1, 2, 3, 5, 7, 11, 16, 40, 41, 42, 1000])
def test_every_line_is_read_once_wherever_the_ranges_cut(tmp_path, split_bytes):
    path = tmp_path / "f.txt"
    path.write_bytes(CONTENT)
    found = lines_of_all_ranges(path, len(CONTENT), split_bytes)
    expected_lines = CONTENT[3:].splitlines(keepends=True)
    assert [raw for _, raw in found] == expected_lines
    for locator, raw in found:
        offset = int(locator[1:])
        assert CONTENT[offset:].startswith(raw) or (offset == 0 and raw == expected_lines[0])



def outputs_of_all_ranges(path, listed_size, split_bytes):
    provider = ReadRecordsInRanges("text", split_bytes=split_bytes)
    found = []
    for restriction in provider.split(None, OffsetRange(0, listed_size)):
        tracker = OffsetRestrictionTracker(restriction)
        found.extend(range_records(str(path), tracker, "text"))
        tracker.check_done()  # each range claimed to its end, however it stopped
    return found


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("split_bytes", [3, 16, 100, 10_000])
def test_a_utf16_or_utf32_file_is_one_dead_letter_not_lines_of_mojibake(tmp_path, encoding,
                                                                        split_bytes):
    # Read as UTF-8, its first line was a dead letter and every other line was tagged as text
    # with a NUL in each ASCII character.
    text = "".join(f"Line {n} of a file saved as Unicode.\n" for n in range(40))
    path = tmp_path / "windows.txt"
    path.write_bytes(("\ufeff" if encoding == "utf-16-be" else "").encode(encoding)
                     + text.encode(encoding))
    found = outputs_of_all_ranges(path, path.stat().st_size, split_bytes)
    whole = list(read_path_records(path))
    for letters, source in ((found, f"{path}:@0"), (whole, f"{path}:1")):
        letter, = letters
        assert isinstance(letter, DeadLetter) and letter.source == source
        assert letter.stage == "read" and encoding[:6].upper() in letter.reason


@pytest.mark.parametrize("encoding", ["UTF-16LE", "UTF-16BE", "UTF-32LE", "UTF-32BE"])
@pytest.mark.parametrize("split_bytes", [3, 16, 100, 10_000])
def test_utf16_or_utf32_without_a_byte_order_mark_is_one_dead_letter_too(tmp_path, encoding,
                                                                         split_bytes):
    # iconv -t UTF-16LE and Python's "utf-16-le" write no mark: read as UTF-8, every line was
    # tagged as text with a NUL in each character, and a NUL line came after the last.
    text = "\n" + "".join(f"Line {n} of a file with no mark.\n" for n in range(40))
    path = tmp_path / "unmarked.txt"
    path.write_bytes(text.encode(encoding))
    assert_one_unmarked_dead_letter(path, encoding, split_bytes)


def assert_one_unmarked_dead_letter(path, encoding, split_bytes):
    """Every byte range of ``path``, and the file read whole (text and JSON Lines), give one
    decode dead letter naming ``encoding`` and the iconv command."""
    found = outputs_of_all_ranges(path, path.stat().st_size, split_bytes)
    whole = list(read_path_records(path)) + list(read_path_records(path, "jsonl"))
    for letters, source in ((found, f"{path}:@0"), (whole, f"{path}:1")):
        assert {letter.source for letter in letters} == {source}
        letter = letters[0]
        assert isinstance(letter, DeadLetter) and letter.stage == "read"
        assert letter.reason.startswith(f"the file is {encoding} without a byte-order mark")
        assert letter.reason.endswith(f"(iconv -f {encoding} -t UTF-8)")


@pytest.mark.parametrize("text", ["北京是中国的首都。\n我们在上海上班。\n", "東京は日本の首都です。\r\n",
                                  "Η Αθήνα είναι η πρωτεύουσα.\n", "Москва — столица России.\n"])
@pytest.mark.parametrize("encoding", ["UTF-16LE", "UTF-16BE"])
@pytest.mark.parametrize("split_bytes", [16, 100, 10_000])
def test_unmarked_utf16_of_a_script_with_few_nuls_is_one_dead_letter(tmp_path, text, encoding,
                                                                     split_bytes):
    # A NUL only in each ASCII character (newlines, spaces): its lines that were not UTF-8 were
    # dead letters and the others tagged as they decoded (every line, in Russian).
    path = tmp_path / "unmarked.txt"
    path.write_bytes((text * 300).encode(encoding))
    assert_one_unmarked_dead_letter(path, encoding, split_bytes)


@pytest.mark.parametrize("split_bytes", [50, 100, 1000])
def test_a_range_of_chinese_utf16_is_no_record_wherever_it_starts(tmp_path, split_bytes):
    # A range starts after a byte 0A: in UTF-16 also the low byte of 上 (U+4E0A). The range
    # starting there began with "Nwm\n" (上海), no NUL, so it and the lines after were tagged.
    text = "".join(f"第{n}行：我们在上海上班。\n" for n in range(200))
    path = tmp_path / "windows.txt"
    path.write_bytes(text.encode("utf-16"))
    letter, = outputs_of_all_ranges(path, path.stat().st_size, split_bytes)
    assert letter.source == f"{path}:@0" and "UTF-16" in letter.reason


@given(st.text(max_size=3000), st.integers(min_value=0), st.booleans())
@settings(max_examples=300, deadline=None)
def test_utf8_text_with_a_stray_nul_is_never_taken_for_utf16_or_utf32(text, where, line_start):
    text = text.replace("\x00", "")
    where = where % (len(text) + 1)
    head = (text[:where] + ("\n\x00" if line_start else "\x00") + text[where:]).encode()
    assert not_utf8("f.txt", "f.txt:1", head) is None


@pytest.mark.parametrize("split_bytes", [1, 2, 3, 5, 8])
def test_utf8_lines_that_start_with_a_nul_are_read_once_each(tmp_path, split_bytes):
    content = b"\x00one\n\x00two\x00\n\x00\x00\n\x00\n" * 3
    path = tmp_path / "nul.txt"
    path.write_bytes(content)
    found = outputs_of_all_ranges(path, len(content), split_bytes)
    assert [record.text.encode() + b"\n" for record in found] == content.splitlines(True)


@pytest.mark.parametrize("split_bytes", [4, 7, 16, 30, 31, 32, 45])
@pytest.mark.parametrize("kept", [0, 1, 30, 31, 33])
def test_a_file_that_got_shorter_since_it_was_listed_ends_in_one_dead_letter(tmp_path,
                                                                             split_bytes, kept):
    # Beam failed the whole run: the range past the new end was never claimed to its end.
    content = b"line one\nline two\nline three\nline four\nline five\n"
    path = tmp_path / "log.txt"
    path.write_bytes(content[:kept])
    found = outputs_of_all_ranges(path, len(content), split_bytes)
    records, letters = found[:-1], found[-1:]
    letter, = letters
    assert isinstance(letter, DeadLetter) and letter.stage == "read"
    assert "before the end it had when the run listed it" in letter.reason
    assert all(isinstance(record, TextRecord) for record in records)
    assert [record.text.encode() for record in records] == content[:kept].splitlines()

def test_small_and_compressed_files_are_read_whole_with_line_numbers(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"one\ntwo\n")
    with gzip.open(tmp_path / "b.txt.gz", "wb") as handle:
        handle.write("".join(f"line {n} {n * n}\n" for n in range(200)).encode())
    assert (tmp_path / "b.txt.gz").stat().st_size > 64  # would be split if it were plain text
    with beam.Pipeline() as p:
        read = p | ReadRecords(str(tmp_path / "*"), "text", reshuffle=False, split_bytes=64)
        ids = read.records | beam.Map(lambda record: record.id)
        assert_that(ids, equal_to(
            ["a.txt:1", "a.txt:2"] + [f"b.txt.gz:{n}" for n in range(1, 201)]))



def test_a_gzip_file_named_dot_gzip_is_read_whole_not_in_byte_ranges_of_compressed_bytes(tmp_path):
    lines = [f"line {n} {n * n}" for n in range(200)]
    (tmp_path / "b.txt.gzip").write_bytes(gzip.compress("\n".join(lines).encode() + b"\n"))
    with beam.Pipeline() as p:
        read = p | ReadRecords(str(tmp_path / "*"), "text", reshuffle=False, split_bytes=64)
        assert_that(read.records | beam.Map(lambda record: record.text), equal_to(lines))
        assert_that(read.errors, equal_to([]), label="no dead letters")

def test_split_files_locate_records_and_dead_letters_by_byte_offset(tmp_path):
    content = b'{"text": "a"}\n' + b'{"text": "b"\n' + b'{"text": "c", "id": "kept"}\n' * 10
    (tmp_path / "r.jsonl").write_bytes(content)
    with beam.Pipeline() as p:
        read = p | ReadRecords(str(tmp_path / "r.jsonl"), "jsonl", reshuffle=False,
                               split_bytes=32)
        assert_that(
            read.records | beam.Map(lambda r: r.id),
            equal_to(["r.jsonl:@0"] + ["kept"] * 10), label="records")
        assert_that(
            read.errors | beam.Map(lambda d: d.source),
            equal_to([f"{tmp_path / 'r.jsonl'}:@14"]), label="errors")


def _record_with_pid(record):
    import os

    return json.dumps([record.id, os.getpid()])


def test_one_large_file_is_split_across_worker_processes(tmp_path):
    lines = [f"line {n} " + "word " * (n % 13) for n in range(3000)]
    (tmp_path / "big.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = PipelineOptions(["--direct_running_mode=multi_processing",
                               "--direct_num_workers=2"])
    with beam.Pipeline(options=options) as p:
        read = p | ReadRecords(str(tmp_path / "big.txt"), "text", reshuffle=False,
                               split_bytes=4096)
        _ = (read.records | beam.Map(_record_with_pid)
             | beam.io.WriteToText(str(tmp_path / "out" / "ids")))
    rows = [json.loads(line) for path in glob.glob(str(tmp_path / "out" / "ids*"))
            for line in open(path, encoding="utf-8")]
    texts = {}
    offset = 0
    for line in lines:
        texts[f"big.txt:@{offset}"] = line
        offset += len(line.encode()) + 1
    ids = [record_id for record_id, _ in rows]
    assert len(ids) == len(lines) and set(ids) == set(texts)  # every record out exactly once
    assert len({pid for _, pid in rows}) >= 2, "one worker read the whole file"


@pytest.mark.parametrize("input_format, content", [
    ("text", CONTENT),
    ("jsonl", b'{"text": "a"}\n' + b'{"text": "b"\n' + b'{"text": "c", "id": "kept"}\n' * 10
     + b'{"text": "no id"}'),
])
def test_a_streaming_pipeline_locates_the_records_of_a_large_file_as_a_batch_one(
        tmp_path, input_format, content):
    # A streaming pipeline reads every file whole (Beam's streaming DirectRunner cannot expand
    # the splittable DoFn); the records of a file over split_bytes got "big.txt:17" there and
    # "big.txt:@1234" on every other runner.
    path = tmp_path / "big.data"
    path.write_bytes(content)

    def ids(streaming):
        out = tmp_path / f"ids-{streaming}"
        options = PipelineOptions(["--streaming"] if streaming else [])
        with beam.Pipeline(options=options) as p:
            read = p | ReadRecords(str(path), input_format, reshuffle=False, split_bytes=32)
            _ = ((read.records | "Ids" >> beam.Map(lambda r: ["record", r.id, r.text]),
                  read.errors | "Sources" >> beam.Map(lambda d: ["error", d.source, d.record]))
                 | beam.Flatten() | beam.Map(json.dumps)
                 | beam.io.WriteToText(str(out / "ids"), num_shards=1))
        return sorted(json.loads(line) for name in glob.glob(str(out / "ids*"))
                      for line in open(name, encoding="utf-8"))

    batch = ids(streaming=False)
    assert any(entry[1].startswith("big.data:@") for entry in batch)
    assert ids(streaming=True) == batch
