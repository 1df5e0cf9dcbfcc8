"""``ReadRecords(partition_fields=True)``: Hive's ``key=value`` folders become fields of every
record, of JSON Lines, CSV, TSV and Parquet files read whole, in byte ranges and by row group;
folders that cannot be fields are the file's one dead letter; a record's own field of a key's
name must agree with its folder (``partition_fields``)."""
import apache_beam as beam
from apache_beam.options.value_provider import StaticValueProvider
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beamtagger.transforms.reading import ReadRecords
from beamtagger.transforms.reading.partition_fields import (PartitionProblem, file_partitions,
                                                            with_partition_fields)
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.records import DeadLetter, TextRecord


# What a pipeline's records and dead letters reach, in this process (the DirectRunner runs
# them here; a module function is pickled by reference, so it appends to this list).
_RECEIVED = []


def _receive(item):
    _RECEIVED.append(item)


def _collect(pattern, input_format, partition_fields=True, **options):
    """(sorted (id, text, fields) of the records, sorted (source, reason, stage) of the dead
    letters) that ``ReadRecords`` reads."""
    _RECEIVED.clear()
    with beam.Pipeline() as pipeline:
        read = pipeline | ReadRecords(str(pattern), input_format,
                                      partition_fields=partition_fields, **options)
        (read.records, read.errors) | beam.Flatten() | beam.Map(_receive)
    records = [item for item in _RECEIVED if isinstance(item, TextRecord)]
    errors = [item for item in _RECEIVED if isinstance(item, DeadLetter)]
    return (sorted((r.id, r.text, r.fields) for r in records),
            sorted((e.source, e.reason, e.stage) for e in errors))


def _write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, pa.Table):
        pq.write_table(content, path, row_group_size=2)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


@pytest.mark.parametrize("split_bytes", [None, 8], ids=["whole", "byte-ranges"])
def test_jsonl_records_carry_their_folders_values_after_their_own_fields(tmp_path, split_bytes):
    lake = tmp_path / "lake"
    _write(lake / "year=2024" / "month=01" / "part-0.jsonl",
           '{"text": "a b", "n": 1}\n{"text": "c", "year": 2024}\n')
    _write(lake / "year=2025" / "month=%2F02%3D" / "part-0.jsonl", '{"text": "d"}\n')
    _write(lake / "year=__HIVE_DEFAULT_PARTITION__" / "month=" / "part-0.jsonl", '{"text": "e"}\n')
    _write(lake / "plain" / "lang=en=gb" / "part-0.jsonl", '{"text": "f"}\n')
    records, errors = _collect(lake / "*" / "*" / "*.jsonl", "jsonl", split_bytes=split_bytes)
    assert errors == []
    place = "@0" if split_bytes else "1"
    assert sorted((text, fields) for _, text, fields in records) == [
        ("a b", {"n": 1, "year": "2024", "month": "01"}),   # a string: the leading zero kept
        ("c", {"year": 2024, "month": "01"}),               # its own 2024 agrees: kept as it is
        ("d", {"year": "2025", "month": "/02="}),           # URL-decoded
        ("e", {"year": None, "month": ""}),                 # Hive's null; an empty value
        ("f", {"lang": "en=gb"}),                           # split at the first '='
    ]
    assert records[-1][0] == f"year=__HIVE_DEFAULT_PARTITION__/month=/part-0.jsonl:{place}"


def test_csv_tsv_and_parquet_rows_carry_them_and_fields_may_select_them(tmp_path):
    lake = tmp_path / "lake"
    _write(lake / "lang=en" / "a.csv", "id,text,n\nr1,one,1\n")
    _write(lake / "lang=de" / "b.tsv", "text\tn\nzwei\t2\n")
    _write(lake / "lang=fr" / "c.parquet", pa.table({"text": ["trois", "quatre", "cinq"],
                                                     "n": [3, 4, 5]}))
    assert _collect(lake / "*" / "*.csv", "csv")[0] == [("r1", "one", {"n": "1", "lang": "en"})]
    assert _collect(lake / "*" / "*.tsv", "tsv", fields=("lang", "n"), split_bytes=4)[0] == [
        ("lang=de/b.tsv:@7", "zwei", {"lang": "de", "n": "2"})]
    # Named by fields, the key is no column the Parquet reader looks for.
    records, errors = _collect(lake / "*" / "*.parquet", "parquet", fields=("lang",))
    assert errors == [] and records == [
        (f"lang=fr/c.parquet:{row}", text, {"lang": "fr"})
        for row, text in ((1, "trois"), (2, "quatre"), (3, "cinq"))]


def test_a_record_whose_own_field_differs_from_its_folder_is_a_dead_letter():
    layout = RecordLayout(id_folder="lake/", partition_fields=True)
    values, _ = file_partitions("lake/year=2024/x.jsonl", layout)
    items = [TextRecord("1", "a", "s:1", {"year": 2023}), TextRecord("2", "b", "s:2", None),
             TextRecord("3", "c", "s:3", {"year": float("nan")}),
             DeadLetter("s:4", "bad", "", "decode")]
    out = list(with_partition_fields(items, values))
    assert out[0] == DeadLetter("s:1", "its field 'year' is 2023, but its folder says "
                                       "year='2024'", "a", "decode")
    assert out[1].fields == {"year": "2024"}
    assert out[2].stage == "decode" and out[3] == items[3]


@pytest.mark.parametrize("folders,reason", [
    ("=2024", "its folder '=2024' has no partition key before '='"),
    ("a%0Ab=1", "its folder 'a%0Ab=1' names the partition key 'a\\nb', which holds a character "
                "that does not print"),
    ("year=1/year=2", "the partition key 'year' names two of its folders"),
    ("text=x", "its folder names the partition key 'text', the text field: a record's text "
               "cannot be a folder's value"),
    ("id=x", "its folder names the partition key 'id', the id field: a record's id cannot be "
             "a folder's value"),
    ("k=%FF", "its folder 'k=%FF' is not UTF-8 text (or its %-escapes are not), so it cannot "
              "be a field"),
    ("k=\udcff", "its folder 'k=\\xff' is not UTF-8 text (or its %-escapes are not), so it "
                 "cannot be a field"),
])
def test_folders_that_cannot_be_fields_are_refused(folders, reason):
    layout = RecordLayout(id_folder="lake/", partition_fields=True)
    with pytest.raises(PartitionProblem) as refusal:
        file_partitions(f"lake/{folders}/x.jsonl", layout)
    assert str(refusal.value) == reason


def test_a_refused_folder_is_the_files_one_dead_letter_read_whole_or_in_ranges(tmp_path):
    bad = _write(tmp_path / "lake" / "=2024" / "x.jsonl", '{"text": "a"}\n' * 20)
    _write(tmp_path / "lake" / "k=v" / "y.jsonl", '{"text": "b"}\n')
    for split_bytes in (None, 16):  # 16: x.jsonl in 18 ranges, y.jsonl whole
        records, errors = _collect(tmp_path / "lake" / "*" / "*.jsonl", "jsonl",
                                   split_bytes=split_bytes)
        assert records == [("k=v/y.jsonl:1", "b", {"k": "v"})]
        assert errors == [(str(bad), "its folder '=2024' has no partition key before '='; none "
                                     "of its records was read", "read")]
    parquet = _write(tmp_path / "pq" / "text=x" / "z.parquet", pa.table({"text": ["a"]}))
    assert _collect(tmp_path / "pq" / "*" / "*.parquet", "parquet")[1] == [
        (str(parquet), "its folder names the partition key 'text', the text field: a record's "
                       "text cannot be a folder's value; none of its records was read", "read")]


@pytest.mark.parametrize("pattern,input_format,message", [
    ("lake/year=2024/*.jsonl", "jsonl", "the pattern's wildcards are in its file name only: "
                                        "its folders are the same for every record"),
    ("lake/year=2024/part-0.jsonl", "jsonl", "the pattern has no wildcard, so it names one "
                                             "file: its folders are the same for every record"),
    (StaticValueProvider(str, "lake/*/*.jsonl"), "jsonl",
     "the pattern is a ValueProvider, known only when the pipeline runs"),
    ("lake/*/*.txt", "text", "only jsonl, csv, tsv and parquet records carry fields, not text"),
    ("lake/*/*.conllu", "conllu", "not conllu (its default ids name the partition folders)"),
])
def test_read_records_refuses_what_cannot_carry_partition_fields(pattern, input_format, message):
    with pytest.raises(ValueError, match="partition_fields: ") as refusal:
        ReadRecords(pattern, input_format, partition_fields=True)
    assert message in str(refusal.value)


def test_without_the_option_the_folders_are_in_the_ids_only(tmp_path):
    _write(tmp_path / "lake" / "k=v" / "y.jsonl", '{"text": "b"}\n')
    assert _collect(tmp_path / "lake" / "*" / "*.jsonl", "jsonl", partition_fields=False) == (
        [("k=v/y.jsonl:1", "b", None)], [])


def test_a_pattern_from_inside_the_lake_and_a_wildcard_in_a_fixed_folder(tmp_path, monkeypatch):
    _write(tmp_path / "lake" / "year=2024" / "lang=en" / "p.jsonl", '{"text": "a"}\n')
    _write(tmp_path / "lake" / "year=2025" / "lang=de" / "p.jsonl", '{"text": "b"}\n')
    monkeypatch.chdir(tmp_path / "lake")
    # */*/*.jsonl matched nothing in Beam (it listed the folder "" before the first wildcard).
    assert _collect("*/*/*.jsonl", "jsonl")[0] == [
        ("year=2024/lang=en/p.jsonl:1", "a", {"year": "2024", "lang": "en"}),
        ("year=2025/lang=de/p.jsonl:1", "b", {"year": "2025", "lang": "de"})]
    # A fixed year=2024 is not carried; one matched by a wildcard is, for that year alone.
    assert _collect("year=202[4]/*/*.jsonl", "jsonl")[0] == [
        ("year=2024/lang=en/p.jsonl:1", "a", {"year": "2024", "lang": "en"})]
