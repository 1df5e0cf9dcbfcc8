"""TSV files read in byte ranges: every row once whatever the cut, under the file's header."""
import apache_beam as beam
import pytest
from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.transforms.reading import ReadRecords, byte_ranges, csv_rows
from beamtagger.transforms.reading.byte_ranges import ReadRecordsInRanges, range_records
from beamtagger.transforms.reading.csv_rows import read_path_csv_records
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.reading.tsv_ranges import TsvHeaders
from beamtagger.transforms.records import DeadLetter, TextRecord

# A byte-order mark and blank lines before the header, a quote that is text, a row of too
# many and one of too few cells, a row that is not UTF-8, one without an id, CRLF, no newline
# at the end.
CONTENT = (b"\xef\xbb\xbf\n\r\nid\ttext\tlang\n\nr1\t\"He said\ten\nr2\ttoo\tmany\tcells\n"
           b"r3\tfew\n\tno id\tfr\r\nr5\t\xff\tde\n" + b"r6\t" + b"x" * 30 + b"\ten\n"
           + b"r7\tlast\tnl")


def all_ranges(path, split_bytes, layout=RecordLayout(), size=None, input_format="tsv",
               delimiter=None):
    """What every byte range of ``path`` gives, read by one worker (one TsvHeaders or
    CsvHeaders)."""
    read = ReadRecordsInRanges(input_format, layout, split_bytes=split_bytes,
                               delimiter=delimiter)
    headers, found = byte_ranges._range_headers(input_format, delimiter), []
    size = path.stat().st_size if size is None else size
    for restriction in read.split(FileMetadata(str(path), size), OffsetRange(0, size)):
        tracker = read.create_tracker(restriction)
        found.extend(range_records(str(path), tracker, input_format, layout, headers,
                                   delimiter))
        tracker.check_done()  # every range claimed to its end
    return found


def line_starts(content):
    """The byte offset where each line of ``content`` starts, as the readers split it: at LF
    only (a lone CR is inside a line)."""
    starts = [0]
    for line in content.split(b"\n"):
        starts.append(starts[-1] + len(line) + 1)
    return starts


def located_by_byte(items, content):
    """The whole-file reading's records and dead letters, their line numbers turned into the
    byte offsets where those lines start."""
    starts = line_starts(content)

    def at(locator):
        head, line = locator.rsplit(":", 1)
        return f"{head}:@{starts[int(line) - 1]}"

    def reason(text):  # "line 9: ..." names the line by its byte in a range
        number = text.split(":", 1)[0].removeprefix("line ")
        return (f"the line at byte {starts[int(number) - 1]:,}{text[len('line ' + number):]}"
                if text.startswith("line ") else text)

    return [item._replace(id=at(item.id) if ":" in item.id else item.id,
                                 source=at(item.source)) if isinstance(item, TextRecord)
            else item._replace(source=at(item.source), reason=reason(item.reason))
            for item in items]


@pytest.mark.parametrize("split_bytes", [1, 2, 3, 5, 7, 11, 16, 23, 24, 25, 40, 64, 1000])
def test_every_row_is_read_once_under_the_header_wherever_the_ranges_cut(tmp_path, split_bytes):
    path = tmp_path / "f.tsv"
    path.write_bytes(CONTENT)
    whole = list(read_path_csv_records(path, "tsv"))
    assert len(whole) == 7 and sum(isinstance(item, TextRecord) for item in whole) == 4
    assert all_ranges(path, split_bytes) == located_by_byte(whole, CONTENT)


@pytest.mark.parametrize("split_bytes", [1, 4, 9, 1000])
def test_fields_projection_and_a_line_by_line_encoding_in_ranges(tmp_path, split_bytes):
    path = tmp_path / "cp.tsv"
    content = "lang\ttext\tid\tscore\nfr\tcafé crème\ta\t1\nde\tÜber\tb\t2\n".encode("cp1252")
    path.write_bytes(content)
    layout = RecordLayout(fields=("score",), encoding="cp1252")
    assert [(r.id, r.text, r.fields) for r in all_ranges(path, split_bytes, layout)] == [
        ("a", "café crème", {"score": "1"}), ("b", "Über", {"score": "2"})]


@pytest.mark.parametrize("content", [b"id\ttext\n", b"id\ttext", b"\n\n", b"\n\nid\ttext\n\n\n"])
@pytest.mark.parametrize("split_bytes", [1, 3, 100])
def test_a_header_only_or_blank_file_is_no_record(tmp_path, content, split_bytes):
    path = tmp_path / "h.tsv"
    path.write_bytes(content)
    assert all_ranges(path, split_bytes) == []


@pytest.mark.parametrize("split_bytes", [1, 5, 13, 1000])
def test_a_header_without_the_text_column_is_one_dead_letter_from_one_range(tmp_path,
                                                                            split_bytes):
    path = tmp_path / "bad.tsv"
    path.write_bytes(b"\nid\tbody\n" + b"1\tsome text\n" * 5)
    letter, = all_ranges(path, split_bytes)
    assert letter == next(read_path_csv_records(path, "tsv"))  # the same, at PATH:2
    assert letter.source == f"{path}:2" and letter.stage == "read"


def test_a_header_longer_than_a_row_may_be_is_one_dead_letter_not_a_cut_header(tmp_path,
                                                                                monkeypatch):
    monkeypatch.setattr(csv_rows, "MAX_ROW_CHARS", 20)
    path = tmp_path / "wide.tsv"
    path.write_bytes(b"text\tid\t" + b"c" * 30 + b"\n" + b"a\tb\tc\n" * 4)
    letter, = all_ranges(path, 6)
    assert letter.source == f"{path}:1" and "more than 20 bytes" in letter.reason


@pytest.mark.parametrize("rewritten", [b"text\tid\n", b"ID\ttext\n"])
def test_a_header_that_changes_after_a_worker_read_it_is_a_dead_letter_not_other_columns(
        tmp_path, rewritten):
    # The worker's first range read the header "id<tab>text"; the file is then rewritten with
    # its columns swapped (the same size): its later ranges must not read "text" as the id.
    path = tmp_path / "moving.tsv"
    rows = b"".join(b"id%d\ttext %d\n" % (n, n) for n in range(10))
    path.write_bytes(b"id\ttext\n" + rows)
    headers, size = TsvHeaders(), path.stat().st_size
    first, *rest = ReadRecordsInRanges("tsv", split_bytes=40).split(None, OffsetRange(0, size))
    tracker = OffsetRestrictionTracker(first)
    before = list(range_records(str(path), tracker, "tsv", RecordLayout(), headers))
    assert before and all(record.id.startswith("id") for record in before)
    path.write_bytes(rewritten + rows)
    for restriction in rest:
        tracker = OffsetRestrictionTracker(restriction)
        letter, = range_records(str(path), tracker, "tsv", RecordLayout(), headers)
        tracker.check_done()
        assert isinstance(letter, DeadLetter) and letter.stage == "read"
        assert letter.source == f"{path}:@{restriction.start}"
        assert "rewritten while read" in letter.reason


def test_read_records_splits_a_tsv_over_the_threshold_and_keeps_small_ones_whole(
        tmp_path, monkeypatch):
    monkeypatch.setattr(byte_ranges, "DEFAULT_SPLIT_BYTES", 64)
    (tmp_path / "big.tsv").write_bytes(b"id\ttext\n" + b"".join(
        b"\tline %d of the large file\n" % n for n in range(20)))
    (tmp_path / "small.tsv").write_bytes(b"text\nshort\n")
    (tmp_path / "wide.utf16.tsv").write_bytes(("text\n" * 30).encode("utf-16"))
    big = b"id\ttext\n"
    expected = []
    for n in range(20):
        expected.append(f"big.tsv:@{len(big)}")
        big += b"\tline %d of the large file\n" % n
    with beam.Pipeline() as p:
        read = p | ReadRecords(str(tmp_path / "*.tsv"), "tsv", reshuffle=False)
        assert_that(read.records | beam.Map(lambda record: record.id),
                    equal_to(expected + ["small.tsv:2"]))
        assert_that(read.errors | beam.Map(lambda letter: letter.source),
                    equal_to([f"{tmp_path / 'wide.utf16.tsv'}:@0"]), label="errors")
    with beam.Pipeline() as p:  # read as what it is, a UTF-16 file is one stream: line ids
        read = p | "utf16" >> ReadRecords(str(tmp_path / "wide.utf16.tsv"), "tsv",
                                           reshuffle=False, encoding="utf-16")
        assert_that(read.records | beam.Map(lambda record: record.id),
                    equal_to([f"wide.utf16.tsv:{n}" for n in range(2, 31)]))


def test_a_streaming_pipeline_locates_the_rows_of_a_large_tsv_as_a_batch_one(tmp_path):
    # A streaming pipeline reads every file whole (Beam's streaming DirectRunner cannot expand
    # the splittable DoFn): its rows must keep the ids the byte ranges give.
    path = tmp_path / "big.tsv"
    path.write_bytes(CONTENT)

    def read(streaming):
        options = beam.options.pipeline_options.PipelineOptions(
            ["--streaming"] if streaming else [])
        p = beam.Pipeline(options=options)
        read = p | ReadRecords(str(path), "tsv", reshuffle=False, split_bytes=16)
        return p, read

    whole = located_by_byte(list(read_path_csv_records(path, "tsv")), CONTENT)
    for streaming in (False, True):
        p, result = read(streaming)
        assert_that(result.records, equal_to([r for r in whole if isinstance(r, TextRecord)]))
        assert_that(result.errors, equal_to([d for d in whole if isinstance(d, DeadLetter)]),
                    label="errors")
        p.run().wait_until_finish()
