"""Default record ids of files that share a name in different folders (Spark's, Hive's and
pyarrow's ``part-00000`` in every partition folder): each file is named by its path from the
folder of the input pattern before its first wildcard, so the ids differ; a pattern whose
wildcards are all in its last component (no ``**``) keeps the base-name ids it always gave."""
import re

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.tests.conftest import run_tag_command as tag
from beamtagger.tests.tag_pipeline_test import read_jsonl
from beamtagger.transforms.reading import ReadRecords
from beamtagger.transforms.reading.record_parsers import (file_name, pattern_id_folder,
                                                          read_path_records)

FOLDERS = ("2024-01", "2024-02")
CONLLU = ("# text = Cats sleep\n1\tCats\t_\tNOUN\t_\t_\t0\troot\t_\t_\n"
          "2\tsleep\t_\tVERB\t_\t_\t1\tnsubj\t_\t_\n\n"
          "# sent_id = own-{folder}\n1\tDogs\t_\tNOUN\t_\t_\t0\troot\t_\t_\n\n")
# Two records a file: text and CoNLL without ids, the others one without and one with; line 2
# of each JSON Lines file is a dead letter.
CONTENTS = {
    "text": lambda folder: "Cats sleep .\nDogs bark .\n",
    "jsonl": lambda folder: ('{"text": "Cats sleep ."}\n{"text": 7}\n'
                             f'{{"text": "Dogs bark .", "id": "own-{folder}"}}\n'),
    "conllu": lambda folder: CONLLU.format(folder=folder),
    # Tokens alone, then tokens and tags: the two ways CoNLL gives a sentence without an id.
    "conll": lambda folder: "Cats\nsleep\n\nDogs\tNOUN\nbark\tVERB\n",
}
NAMES = {"text": "part-00000.txt", "jsonl": "part-00000.jsonl",
         "conllu": "part-00000.conllu", "conll": "part-00000.conll",
         "parquet": "part-00000.parquet"}
# The ids each format gives the records of the file named ``name`` in default ids.
EXPECTED = {
    "text": lambda name, folder: [f"{name}:1", f"{name}:2"],
    "jsonl": lambda name, folder: [f"{name}:1", f"own-{folder}"],
    "conllu": lambda name, folder: [f"{name}:2", f"own-{folder}"],
    "conll": lambda name, folder: [f"{name}:1", f"{name}:4"],
    "parquet": lambda name, folder: [f"{name}:1", f"own-{folder}"],
}


@pytest.fixture
def partitions(tmp_path):
    """``logs/<month>/part-00000.<format>`` for every format, the same name in both months."""
    for folder in FOLDERS:
        month = tmp_path / "logs" / folder
        month.mkdir(parents=True)
        for input_format, content in CONTENTS.items():
            (month / NAMES[input_format]).write_text(content(folder), encoding="utf-8")
        pq.write_table(pa.table({"text": ["Cats sleep .", "Dogs bark ."],
                                 "id": [None, f"own-{folder}"]}), month / NAMES["parquet"])
    return tmp_path / "logs"


def _expected(input_format, name, folder):
    return EXPECTED[input_format](name, folder)


def _read_ids(expected):
    """Checks that ReadRecords gives the records of each (format, pattern) of ``expected`` the
    ids it maps them to, all read in one pipeline."""
    with beam.Pipeline() as pipeline:
        for index, ((input_format, pattern), ids) in enumerate(expected.items()):
            read = pipeline | f"Read{index}" >> ReadRecords(pattern, input_format,
                                                            reshuffle=False)
            assert_that(read.records | f"Ids{index}" >> beam.Map(lambda record: record.id),
                        equal_to(ids), label=f"Check{index}")


@pytest.mark.parametrize("pattern,folder", [
    ("logs/*/part-*.jsonl", "logs/"),
    ("logs/**", "logs/"),
    ("logs/**.jsonl", "logs/"),
    ("gs://b/x/*/y.txt", "gs://b/x/"),
    ("/data/20[0-9][0-9]/*/part-*", "/data/"),
    ("*/part-0.txt", ""),
    ("C:\\logs\\*\\part-0.txt", "C:/logs/"),
    ("in/*.txt", None),
    ("in/doc?.txt", None),
    ("in/doc[12].txt", None),
    ("in/doc1.txt", None),
    ("in[/x/*.txt", None),  # a "[" without a "]" is no wildcard to Beam
])
def test_the_id_folder_is_before_the_first_wildcard_folder_none_for_a_flat_pattern(pattern,
                                                                                    folder):
    assert pattern_id_folder(pattern) == folder


def test_file_names_are_paths_from_the_folder_or_base_names():
    assert file_name("gs://b/x/a/y.txt", "gs://b/x/") == "a/y.txt"
    assert file_name("C:\\logs\\2024-01\\part-0.txt", "C:/logs/") == "2024-01/part-0.txt"
    assert file_name("C:\\logs\\2024-01\\part-0.txt") == "part-0.txt"
    # Outside the folder (a library caller's path): the whole path, not a base name another
    # folder's file may share.
    assert file_name("/else/2024-01/part-0.txt", "logs/") == "/else/2024-01/part-0.txt"


def test_same_named_files_of_two_folders_get_ids_that_are_their_paths_from_the_pattern(
        partitions):
    patterns = {}
    for input_format in EXPECTED:
        pattern = partitions / "*" / NAMES[input_format].replace("00000", "*")
        patterns[input_format, str(pattern)] = [
            record_id for folder in FOLDERS for record_id in _expected(
                input_format, f"{folder}/{NAMES[input_format]}", folder)]
    _read_ids(patterns)
    for ids in patterns.values():
        assert len(set(ids)) == len(ids) == 2 * len(FOLDERS), ids


def test_flat_patterns_and_single_files_keep_their_base_name_ids(partitions):
    folder = FOLDERS[0]
    patterns = {}
    for input_format in EXPECTED:
        name = NAMES[input_format]
        expected = _expected(input_format, name, folder)
        patterns[input_format, str(partitions / folder / name.replace("00000", "*"))] = expected
        patterns[input_format, str(partitions / folder / name)] = expected
        if input_format != "parquet":  # the library reader of one file, no pattern
            records = read_path_records(partitions / folder / name, input_format)
            assert [record.id for record in records if hasattr(record, "id")] == expected
    _read_ids(patterns)


def test_byte_range_ids_of_big_files_are_located_from_the_pattern_folder(partitions):
    lines = [f"Line {n} of a big file ." for n in range(40)]
    offsets = []
    for folder in FOLDERS:
        big = partitions / folder / "big.txt"
        big.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    position = 0
    for line in lines:
        offsets.append(position)
        position += len(line) + 1
    expected = sorted(f"{folder}/big.txt:@{offset}" for folder in FOLDERS for offset in offsets)
    for streaming in (False, True):
        # Streaming reads a big file whole, as one byte range, with the same ids.
        options = PipelineOptions(["--streaming"] if streaming else [])
        with beam.Pipeline(options=options) as pipeline:
            read = pipeline | ReadRecords(str(partitions / "*" / "big.txt"), "text",
                                          reshuffle=False, split_bytes=256)
            assert_that(read.records | beam.Map(lambda record: record.id), equal_to(expected))


def test_tag_gives_the_records_of_same_named_files_their_paths_and_sources_stay_full_paths(
        partitions, tiny_tagger, tmp_path, capsys):
    prefix = str(tmp_path / "out" / "run")
    code, out, err = tag(capsys, "--input", str(partitions / "*" / "part-*.jsonl"),
                         "--output", prefix, "--model", tiny_tagger.model_dir,
                         "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    summary = dict(re.findall(r"^(records read|records tagged|dead letters)\s+([\d,]+)", out,
                              re.M))
    assert summary == {"records read": "6", "records tagged": "4", "dead letters": "2"}, out
    rows = read_jsonl(prefix + "-[0-9]*-of-*.jsonl")
    assert sorted(row["id"] for row in rows) == sorted(
        record_id for folder in FOLDERS
        for record_id in _expected("jsonl", f"{folder}/{NAMES['jsonl']}", folder))
    letters = read_jsonl(prefix + "-errors-*.jsonl")
    assert sorted(letter["source"] for letter in letters) == [
        f"{partitions / folder / 'part-00000.jsonl'}:2" for folder in FOLDERS]
