"""ReadRecords and the layers under it; each module imports only those below it.

=================  ===============================================================
module             does
=================  ===============================================================
read_records       ReadRecords: file pattern -> records + dead letters (the PTransform)
byte_ranges        large uncompressed files read in parallel byte ranges (a splittable DoFn)
partition_fields   a file's Hive partition folders (year=2024/) -> fields of its records
csv_ranges         where a CSV file's byte ranges start: one scan for row starts
tsv_ranges         a TSV or CSV file's header for its byte ranges, their rows -> records
csv_rows           a CSV or TSV file's rows -> records and dead letters (csv module, no Beam)
parquet_rows       a Parquet file's row groups -> records and dead letters (pyarrow, no Beam)
record_parsers     one file's lines -> records and dead letters, per input format (no Beam)
file_lines         one file's numbered lines; damaged compression -> DamagedInput
record_layout      RecordLayout: where a line's or row's text, id and fields are (every reader)
=================  ===============================================================
"""
from beamtagger.transforms.reading.read_records import INPUT_FORMATS, ReadRecords, ReadResult
from beamtagger.transforms.reading.record_parsers import default_record_id

__all__ = ["INPUT_FORMATS", "ReadRecords", "ReadResult", "default_record_id"]
