"""ReadRecords counts the parts of the input it could not read (``unread_parts``) apart from
the records that failed, one record read and one dead letter each as before, in records and in
blocks alike."""
import gzip

import apache_beam as beam
import pytest

from beamtagger.transforms import counters
from beamtagger.transforms.reading import ReadRecords


@pytest.mark.parametrize("blocks", [False, True])
def test_a_damaged_gzip_is_one_unread_part_beside_a_record_that_failed(tmp_path, blocks):
    (tmp_path / "a.txt").write_bytes(b"one\ntwo \xff\nthree\n")
    whole = gzip.compress(b"".join(b"line %d\n" % n for n in range(2000)))
    (tmp_path / "b.txt.gz").write_bytes(whole[:len(whole) // 2])
    with beam.Pipeline() as pipeline:
        _ = pipeline | ReadRecords(str(tmp_path / "*.txt*"), "text", blocks=blocks)
    counts = counters.query_counters(pipeline.result)
    assert (counts["dead_letters"], counts["unread_parts"]) == (2, 1)
    assert counts["records_read"] > 100
