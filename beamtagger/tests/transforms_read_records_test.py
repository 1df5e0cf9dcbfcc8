"""ReadRecords: per-record decoding, ids and line numbers, dead letters, nothing lost."""
import gzip
import json

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.transforms import counters
from beamtagger.transforms.reading import ReadRecords
from beamtagger.transforms.reading.record_parsers import parse_records
from beamtagger.transforms.records import DeadLetter, TextRecord, TokenizedRecord


def numbered(raw_lines):
    return list(enumerate(raw_lines, start=1))


def test_text_lines_become_records_with_file_line_ids_and_bad_utf8_becomes_a_dead_letter():
    lines = numbered([b"\xef\xbb\xbfFirst line.\n", b"caf\xe9 au lait\r\n", b"\n", b"Last one"])
    items = list(parse_records(lines, "/data/in.txt", "text"))
    assert items[0] == TextRecord("in.txt:1", "First line.", "/data/in.txt:1")
    assert isinstance(items[1], DeadLetter)
    assert items[1].source == "/data/in.txt:2"
    assert "not valid UTF-8" in items[1].reason
    assert items[1].record == "caf\\xe9 au lait"
    assert items[2] == TextRecord("in.txt:3", "", "/data/in.txt:3")
    assert items[3].text == "Last one"


def test_jsonl_takes_text_and_id_fields_and_passes_the_rest_through():
    lines = numbered([
        json.dumps({"doc": "d1", "body": "Hello there", "lang": "en"}).encode(),
        b"   ",
        b"{not json",
        json.dumps({"doc": "d2"}).encode(),
        json.dumps({"body": 7}).encode(),
        b"[1, 2]",
        json.dumps({"body": "no id here"}).encode(),
    ])
    items = list(parse_records(lines, "x/in.jsonl", "jsonl", text_field="body", id_field="doc"))
    assert items[0] == TextRecord("d1", "Hello there", "x/in.jsonl:1", {"lang": "en"})
    reasons = [item.reason for item in items[1:5]]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1] == "missing text field 'body'"
    assert reasons[2] == "text field 'body' is a number, not a string"
    assert reasons[3] == "expected a JSON object, found list"
    assert items[5] == TextRecord("in.jsonl:7", "no id here", "x/in.jsonl:7", None)
    assert len(items) == 6  # the blank line is not a record


def test_conllu_sentences_keep_sent_id_and_a_malformed_sentence_costs_only_itself():
    text = ("# sent_id = s1\n1\tHello\t_\t_\t_\t_\t_\t_\t_\t_\n2\tworld\t_\t_\t_\t_\t_\t_\t_\t_\n\n"
            "1\tbroken\n\n"
            "# sent_id = s3\n1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n1\tdo\t_\t_\t_\t_\t_\t_\t_\t_\n"
            "2\tn't\t_\t_\t_\t_\t_\t_\t_\t_\n")
    items = list(parse_records(numbered(text.encode().splitlines(True)), "c.conllu", "conllu"))
    assert items[0] == TokenizedRecord("s1", ("Hello", "world"), (0, 6), (5, 11), "c.conllu:2")
    assert isinstance(items[1], DeadLetter) and items[1].source == "c.conllu:5"
    assert "c.conllu:5" in items[1].reason
    assert items[2].id == "s3" and items[2].tokens == ("do", "n't")


def test_conll_reads_tagged_and_token_only_blocks_and_skips_docstart():
    text = b"-DOCSTART- O\n\nNew\tB-LOC\nYork\tI-LOC\n\nplain\ntokens\n\n\t\nx y z\n"
    items = list(parse_records(numbered(text.splitlines(True)), "w.conll", "conll"))
    assert [(i.id, i.tokens) for i in items[:2]] == [("w.conll:3", ("New", "York")),
                                                   ("w.conll:6", ("plain", "tokens"))]
    assert isinstance(items[2], DeadLetter) and "expected 2 columns" in items[2].reason
    assert len(items) == 3


def test_a_docstart_token_in_beamtaggers_own_conll_output_stays_in_its_record():
    # Tagging "-DOCSTART- is here ." wrote a "-DOCSTART-<TAB>X" line inside the record's block;
    # read back with --input-format conll it ended the record there: 2 records in, 3 out (one
    # empty, one with an id of its own), and the tokens around it tagged without each other.
    from beamtagger.transforms.records import TaggedRecord
    from beamtagger.transforms.write_results import to_conll_block

    tagged = [TaggedRecord("t.txt:1", ("-DOCSTART-", "is", "here", "."), (0, 11, 14, 19),
                           (10, 13, 18, 20), ("X", "AUX", "ADV", "PUNCT"), (1.0,) * 4),
              TaggedRecord("t.txt:2", ("Middle", "-DOCSTART-", "token"), (0, 7, 18),
                           (6, 17, 23), ("ADJ", "X", "NOUN"), (1.0,) * 3)]
    text = "\n".join(to_conll_block(record) for record in tagged).encode()
    items = list(parse_records(numbered(text.splitlines(True)), "r.conll", "conll"))
    assert [(item.id, item.tokens) for item in items] == [
        ("t.txt:1", ("-DOCSTART-", "is", "here", ".")),
        ("t.txt:2", ("Middle", "-DOCSTART-", "token"))]
    # Between sentences, it still marks a document (CoNLL-2003), with or without a tag.
    text = b"-DOCSTART- -X- O O\n\nEU\tB-ORG\n\n-DOCSTART-\nx\tO\n"
    items = list(parse_records(numbered(text.splitlines(True)), "c.conll", "conll"))
    assert [(item.id, item.tokens) for item in items] == [("c.conll:3", ("EU",)),
                                                        ("c.conll:6", ("x",))]


def test_read_records_in_a_pipeline_accounts_for_every_record(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"one\ntwo \xff\n\nthree\n")
    with gzip.open(tmp_path / "b.txt.gz", "wb") as out:
        out.write(b"four\nfive\n")
    with beam.Pipeline() as p:
        read = p | ReadRecords(str(tmp_path / "*.txt*"), "text")
        assert_that(read.records | "Ids" >> beam.Map(lambda r: r.id),
                    equal_to(["a.txt:1", "a.txt:3", "a.txt:4", "b.txt.gz:1", "b.txt.gz:2"]),
                    label="records")
        assert_that(read.errors | "Sources" >> beam.Map(lambda e: e.source.rsplit("/", 1)[1]),
                    equal_to(["a.txt:2"]), label="errors")
    counts = counters.query_counters(p.result)
    assert counts["records_read"] == 6
    assert counts["dead_letters"] == 1


def test_every_json_line_is_a_record_or_a_dead_letter_whatever_it_holds():
    lines = numbered([
        b'{"text": "a\\ud800b"}',                               # lone surrogate in the text
        b'{"id": "x\\udfff", "text": "ok"}',                    # ... in the id
        b'{"text": "ok", "meta": {"k": ["\\ud83d"]}}',          # ... deep in a passthrough field
        b'{"text": "ok \\ud83d\\ude00"}',                       # a valid pair is fine
        # Deeper than the parser goes on every Python: 5,000 was on 3.11 and 3.12, not on
        # 3.13, whose json module reads it (then found a list, not an object).
        b'[' * 100_000 + b']' * 100_000,
        b'{"text": "ok", "f": ' + b'[' * 150 + b']' * 150 + b'}',  # deeper than the writers go
        b'{"text": "ok", "n": ' + b'7' * 5000 + b'}',           # beyond Python's digit limit
        b'{"text": null}',
        b'{"id": {"a": [1, 2]}, "text": "object id"}',
        b'{"id": 12.5, "text": "number id"}',
        b'{"id": null, "text": "null id"}',
        b'{"id": true, "text": "boolean id"}',                 # JSON's text, not Python's True
        b'{"id": NaN, "text": "NaN id"}',                      # Python's json reads NaN
        b'{"id": 5, "text": "number id"}',
        # MAX_JSON_NESTING's edge, the object itself as level 1 and a scalar no level: 100
        # levels are read (a "g" takes the line past the cheap bracket count: the walk must
        # agree with it), 101 are not, in lists and in objects alike.
        b'{"text": "ok", "g": [1], "f": ' + b'[' * 99 + b']' * 99 + b'}',
        b'{"text": "ok", "g": [1], "f": ' + b'{"a": ' * 99 + b'1' + b'}' * 99 + b'}',
        b'{"text": "ok", "f": ' + b'[' * 100 + b']' * 100 + b'}',
        b'{"text": "ok", "g": [1], "f": ' + b'{"a": ' * 100 + b'1' + b'}' * 100 + b'}',
        b'{"text": "ok", "m": {"\\ud800": 1}}',                 # ... in a key
    ])
    items = list(parse_records(lines, "d/in.jsonl", "jsonl"))
    assert len(items) == len(lines)
    reasons = {i + 1: item.reason for i, item in enumerate(items) if isinstance(item, DeadLetter)}
    assert sorted(reasons) == [1, 2, 3, 5, 6, 7, 8, 13, 17, 18, 19]
    assert reasons[17] == reasons[18] == "JSON nested more than 100 levels deep"
    assert "field 'm' holds a lone surrogate (\\ud800)" in reasons[19]
    assert "field 'text' holds a lone surrogate (\\ud800)" in reasons[1]
    assert "field 'id'" in reasons[2] and "field 'meta'" in reasons[3]
    assert reasons[5] == "invalid JSON: nested too deeply to read"
    assert reasons[6] == "JSON nested more than 100 levels deep"
    assert reasons[7].startswith("invalid JSON: Exceeds the limit")
    assert reasons[8] == "text field 'text' is null"
    assert items[3].text == "ok \U0001F600"
    assert [items[i].id for i in (8, 9, 10, 11, 13)] == [
        '{"a":[1,2]}', "12.5", "in.jsonl:11", "true", "5"]
    assert reasons[13] == "the id is nan, which is not JSON"
    for item in items:
        if isinstance(item, DeadLetter):
            assert item.stage == "decode"
            json.loads(item.to_json().encode("utf-8"))  # valid UTF-8 JSON, one line
            assert "\n" not in item.to_json()


def test_a_json_line_that_is_not_utf8_is_a_dead_letter_that_says_so():
    lines = numbered([b'{"text": "caf\xe9"}', b'{"text": "next"}'])
    letter, record = parse_records(lines, "d/in.jsonl", "jsonl")
    assert letter == DeadLetter("d/in.jsonl:1", "not valid UTF-8 (byte 13: b'\\xe9')",
                                '{"text": "caf\\xe9"}', "decode")
    assert record == TextRecord("in.jsonl:2", "next", "d/in.jsonl:2")


def test_a_json_record_that_fails_unforeseen_is_its_own_dead_letter(monkeypatch):
    from beamtagger.transforms.reading import record_parsers

    def fail(raw, *args):
        if b"boom" in raw:
            raise RuntimeError("boom")
        return real(raw, *args)

    real = record_parsers._json_record
    monkeypatch.setattr(record_parsers, "_json_record", fail)
    lines = numbered([b'{"text": "boom"}', b'{"text": "fine"}'])
    letter, record = parse_records(lines, "d/in.jsonl", "jsonl")
    assert letter == DeadLetter("d/in.jsonl:1", "cannot read the record: RuntimeError('boom')",
                                '{"text": "boom"}', "decode")
    assert record.text == "fine"


def test_a_conll_sentence_that_fails_unforeseen_is_its_own_dead_letter(monkeypatch):
    from beamtagger.transforms.reading import record_parsers

    def fail(block, *args):
        if block[0][1] == b"boom":
            raise RuntimeError("boom")
        return real(block, *args)

    real = record_parsers._conll_block_sentences
    monkeypatch.setattr(record_parsers, "_conll_block_sentences", fail)
    lines = numbered([b"boom", b"", b"fine"])
    letter, record = parse_records(lines, "d/in.conll", "conll")
    assert letter == DeadLetter("d/in.conll:1", "cannot read the sentence: RuntimeError('boom')",
                                "boom", "decode")
    assert record.tokens == ("fine",)


def test_a_token_only_conll_line_that_is_not_utf8_makes_its_sentence_a_dead_letter():
    letter, = parse_records(numbered([b"ok", b"caf\xe9"]), "d/in.conll", "conll")
    assert letter == DeadLetter("d/in.conll:1", "d/in.conll:2: not valid UTF-8 (byte 3: "
                                "b'\\xe9')", "ok\ncaf\\xe9", "decode")


def test_a_dead_letter_holding_lone_surrogates_is_still_valid_utf8_json():
    letter = DeadLetter("s\ud800", "bad \udfff\nreason", "raw \ud800 record", "tokenize")
    line = letter.to_json()
    row = json.loads(line.encode("utf-8"))
    assert row == {"source": "s\\ud800", "stage": "tokenize", "reason": "bad \\udfff reason",
                   "record": "raw \\ud800 record"}


def damaged_gzip(tmp_path, name, data, keep):
    compressed = gzip.compress(data)
    path = tmp_path / name
    path.write_bytes(compressed[:keep] if keep > 0 else compressed[:keep or None])
    return path


def test_a_truncated_gzip_yields_the_lines_before_the_cut_and_one_dead_letter(tmp_path):
    from beamtagger.transforms.reading.record_parsers import read_path_records

    data = b"".join(b"line %d has some words in it\n" % i for i in range(2000))
    path = damaged_gzip(tmp_path, "cut.txt.gz", data, len(gzip.compress(data)) // 2)
    items = list(read_path_records(path))
    records, letters = items[:-1], items[-1:]
    assert all(isinstance(r, TextRecord) for r in records) and len(records) > 100
    assert [r.text for r in records] == [f"line {i} has some words in it"
                                         for i in range(len(records))]  # no half line
    letter, = letters
    assert letter.stage == "read" and letter.source == f"{path}:{len(records) + 1}"
    assert f"after line {len(records):,}" in letter.reason and "EOFError" in letter.reason


def test_a_corrupt_gzip_a_plain_file_named_gz_and_a_cut_bz2_cost_only_what_follows(tmp_path):
    import bz2

    from beamtagger.transforms.reading.record_parsers import read_path_records

    plain = tmp_path / "plain.txt.gz"
    plain.write_bytes(b"not compressed\nat all\n")
    items = list(read_path_records(plain))
    assert len(items) == 1 and "before its first line" in items[0].reason
    data = b"".join(b"%d\n" % i for i in range(50000))
    corrupt = bytearray(gzip.compress(data))
    corrupt[len(corrupt) // 2] ^= 0xFF
    (tmp_path / "corrupt.txt.gz").write_bytes(bytes(corrupt))
    items = list(read_path_records(tmp_path / "corrupt.txt.gz"))
    assert isinstance(items[-1], DeadLetter) and items[-1].stage == "read"
    # Deflate notices a flipped byte where the data stops decoding (at worst at the CRC at the
    # end), so only the lines before the damaged byte are sure to be right.
    assert all(r.text == str(i) for i, r in enumerate(items[:10000]))
    (tmp_path / "cut.txt.bz2").write_bytes(bz2.compress(data)[:-100])
    items = list(read_path_records(tmp_path / "cut.txt.bz2"))
    assert isinstance(items[-1], DeadLetter) and len(items) < 50001
    assert all(r.text == str(i) for i, r in enumerate(items[:-1]))



def _compressors():
    import lzma
    import zlib

    import zstandard

    return {".xz": lzma.compress, ".lzma": lambda data: lzma.compress(data, lzma.FORMAT_ALONE),
            ".deflate": zlib.compress, ".zst": zstandard.ZstdCompressor().compress}


@pytest.mark.parametrize("suffix", [".xz", ".lzma", ".deflate", ".zst"])
def test_every_compression_that_is_cut_short_ends_in_a_dead_letter_not_in_silence(tmp_path,
                                                                                  suffix):
    # Beam read a cut .deflate with its half last line as a record, a cut .xz to its last
    # whole block and a cut .zst as no line at all, with no dead letter.
    from beamtagger.transforms.reading.record_parsers import read_path_records

    compress = _compressors()[suffix]
    data = b"".join(b"line %d has some words in it\n" % i for i in range(50000))
    whole = compress(data)
    path = tmp_path / f"cut.txt{suffix}"
    path.write_bytes(whole[:len(whole) // 2])
    items = list(read_path_records(path))
    records, (letter,) = items[:-1], items[-1:]
    assert [r.text for r in records] == [f"line {i} has some words in it"
                                         for i in range(len(records))]  # no half line
    assert isinstance(letter, DeadLetter) and letter.stage == "read"
    assert letter.source == f"{path}:{len(records) + 1}"
    # Concatenated streams (zstd frames, xz streams, zlib streams) read as one text.
    path.write_bytes(whole + compress(b"the last line\n"))
    items = list(read_path_records(path))
    assert len(items) == 50001 and items[-1].text == "the last line"
    assert all(isinstance(item, TextRecord) for item in items)

@pytest.mark.parametrize("suffix", [".gz", ".gzip", ".bz2", ".xz", ".lzma", ".deflate", ".zst",
                                    ".zstd"])
@pytest.mark.parametrize("input_format", ["text", "jsonl", "conll"])
def test_a_0_byte_compressed_file_is_one_dead_letter_saying_it_is_empty(tmp_path, suffix,
                                                                        input_format):
    # Cut before its first byte: gzip, zlib and zstd read it as an empty text (0 records, no
    # dead letter), bzip2 and xz as "damaged before its first line".
    from beamtagger.transforms.reading.record_parsers import read_path_records

    path = tmp_path / f"cut.txt{suffix}"
    path.write_bytes(b"")
    letter, = read_path_records(path, input_format)
    assert isinstance(letter, DeadLetter) and letter.stage == "read"
    assert letter.source == f"{path}:1" and letter.record == ""
    assert letter.reason.startswith(f"the file is empty (0 bytes), but a {suffix} file holds")
    import bz2

    compressors = {**_compressors(), ".gz": gzip.compress, ".gzip": gzip.compress,
                   ".bz2": bz2.compress}
    compressors[".zstd"] = compressors[".zst"]
    path.write_bytes(compressors[suffix](b""))
    assert list(read_path_records(path, input_format)) == []  # a whole file of no text
    plain = tmp_path / "empty.txt"
    plain.write_bytes(b"")
    assert list(read_path_records(plain, input_format)) == []


def test_a_cut_conll_file_reports_the_unfinished_sentence_with_the_damage(tmp_path):
    from beamtagger.transforms.reading.record_parsers import read_path_records

    text = "".join(f"w{i}\tO\n" + ("\n" if i % 3 == 2 else "") for i in range(3000))
    whole = gzip.compress(text.encode())
    path = tmp_path / "cut.conll.gz"
    path.write_bytes(whole[:len(whole) * 2 // 3])
    items = list(read_path_records(path, "conll"))
    letter = items[-1]
    assert isinstance(letter, DeadLetter) and letter.stage == "read"
    assert all(len(r.tokens) == 3 for r in items[:-1])  # only whole sentences are tagged
    pending = letter.record.splitlines()
    # The unfinished sentence's lines, those after the last one tagged (this cut leaves two):
    # the dead letter holds them, where an empty record would lose them without a word.
    sentences = len(items) - 1
    assert 0 < len(pending) < 3
    assert pending == [f"w{3 * sentences + i}\tO" for i in range(len(pending))]


def test_beamtaggers_own_conll_output_reads_back_with_its_ids():
    from beamtagger.transforms.records import TaggedRecord
    from beamtagger.transforms.write_results import to_conll_block

    records = [TaggedRecord("a\nb", ("x", "y\u2028z"), (0, 2), (1, 5), ("N", "V"), (1.0, 1.0)),
               TaggedRecord("empty", (), (), (), (), ()),
               TaggedRecord(" spaced ", ("#",), (0,), (1,), ("SYM",), (1.0,)),
               TaggedRecord("tags", ("#hashtag", "="), (0, 9), (8, 10), ("X", "SYM"), (1, 1))]
    text = "".join(to_conll_block(r) + "\n" for r in records)  # WriteToText adds the newline
    lines = numbered(text.encode("utf-8").splitlines(keepends=True))
    items = list(parse_records(lines, "out.conll", "conll"))
    # Tokens keep their escapes (a token is one line of one column); ids come back whole.
    assert [(r.id, r.tokens) for r in items] == [
        ("a\nb", ("x", "y\\u2028z")), ("empty", ()), (" spaced ", ("#",)),
        ("tags", ("#hashtag", "="))]


IDS = ["plain", "C:\\data\\in.txt:3", "tab\there", "line\nbreak", "cr\rlf", "sep\u2028x",
       "nel\x85", "lone \ud800", '"quoted"', '"', 'say "hi"', "back\\n slash", " spaced "]


def test_every_id_reads_back_as_it_was_written_by_both_conll_writers(tmp_path):
    """Escaped, an id with a tab came back with a backslash and a "t" in it; ids that need it
    are now written as JSON strings, and plain ids (Windows paths too) as they are."""
    from beamtagger.corpus_readers import read_conll
    from beamtagger.transforms.records import TaggedRecord
    from beamtagger.transforms.tagged_batches import conll_text, tagged_batch_of_records
    from beamtagger.transforms.write_results import to_conll_block

    records = [TaggedRecord(i, ("w",), (0,), (1,), ("X",), (1.0,)) for i in IDS]
    by_record = "".join(to_conll_block(r) + "\n" for r in records).encode("utf-8")
    # Arrow holds no lone surrogate: such an id is a dead letter before a batch is built.
    arrow_ids = [i for i in IDS if i.isascii() or "\ud800" not in i]
    batch = tagged_batch_of_records([r for r in records if r.id in arrow_ids],
                                    np.zeros(len(arrow_ids), np.uint8),
                                    np.ones(len(arrow_ids), np.float32), ["X"], keys=arrow_ids)
    by_batch, left_out = conll_text(batch)
    assert left_out == []
    assert "# id = plain\n" in by_batch.decode() and "# id = C:\\data\\in.txt:3\n" in (
        by_batch.decode())
    for text, ids in ((by_record, IDS), (by_batch + b"\n", arrow_ids)):
        assert all(line.startswith((b"# id = ", b"w\t")) or line == b""
                   for line in text.split(b"\n")), text   # each id on one line
        text.decode("utf-8")
        items = list(parse_records(numbered(text.splitlines(True)), "o.conll", "conll"))
        assert [item.id for item in items] == ids
        (tmp_path / "o.conll").write_bytes(text)
        assert [sentence.sent_id for sentence in read_conll(tmp_path / "o.conll")] == ids



def test_the_reading_package_modules_import_only_the_layers_below_them():
    """read_records > gathered_blocks > byte_ranges > partition_fields > csv_ranges > tsv_ranges > csv_rows > parquet_rows > record_parsers >
    file_lines > decoded_lines > record_layout: no module imports one above it (importing a
    submodule runs ``beamtagger.transforms``' __init__, so this reads the source)."""
    import ast
    import pathlib

    from beamtagger.transforms import reading

    layers = ["record_layout", "decoded_lines", "file_lines", "record_parsers", "parquet_rows",
              "csv_rows", "tsv_ranges", "csv_ranges", "partition_fields", "byte_ranges",
              "gathered_blocks", "read_records"]
    folder = pathlib.Path(reading.__file__).parent
    for level, name in enumerate(layers):
        tree = ast.parse((folder / f"{name}.py").read_text())
        imported = {node.module.rsplit(".", 1)[-1] for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("beamtagger.transforms.reading.")}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                     and node.module == "beamtagger.transforms.reading" for alias in node.names}
        assert imported <= set(layers[:level]), (name, imported)


@pytest.mark.parametrize("options, error, said", [
    ({"file_pattern": None}, TypeError, "file_pattern must be a glob (a str or os.PathLike), "
                                        "not NoneType None"),
    ({"file_pattern": b"in/*.txt"}, TypeError, "file_pattern must be a glob"),
    ({"file_pattern": ""}, ValueError, "file_pattern is an empty path: give a glob of the files "
                                        "to read, such as in/*.txt"),
    ({"split_bytes": 1.5}, ValueError, "split_bytes must be a whole number of at least 1, not 1.5"),
    ({"split_bytes": 0}, ValueError, "split_bytes must be a whole number of at least 1, not 0"),
    ({"reshuffle": "no"}, ValueError, "reshuffle must be True or False, not 'no'"),
    ({"blocks": 1}, ValueError, "blocks must be True or False, not 1"),
])
def test_an_option_no_reader_can_follow_is_refused_where_it_is_built(options, error, said):
    # Found by fuzzing the API's arguments: a file_pattern of None or bytes failed where the
    # pipeline ran (a TypeCheckError of Beam's MatchFiles), split_bytes=1.5 in the workers that
    # split the files ("'float' object cannot be interpreted as an integer"), and
    # reshuffle="no" was read as True.
    with pytest.raises(error) as refused:
        ReadRecords(**{"file_pattern": "in/*.txt", **options})
    assert str(refused.value).startswith(said), refused.value


def test_fields_that_cannot_be_iterated_are_refused_naming_the_parameter():
    with pytest.raises(ValueError, match=r"^fields must be a list of names, not 5$"):
        ReadRecords("in.jsonl", input_format="jsonl", fields=5)


def test_fields_are_taken_from_a_list_a_tuple_or_a_generator():
    for fields in (["a", "b"], ("a", "b"), (name for name in ("a", "b"))):
        assert ReadRecords("in.jsonl", input_format="jsonl", fields=fields).fields == ("a", "b")
