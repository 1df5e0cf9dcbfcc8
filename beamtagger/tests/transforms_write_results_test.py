"""WriteResults: several inputs merged after formatting; JSON lines for any record."""
import glob
import json

import apache_beam as beam
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beamtagger.transforms.records import TaggedRecord
from beamtagger.transforms.write_results import WriteResults, to_json_line


def record(id, tokens, fields=None):
    n = len(tokens)
    return TaggedRecord(id, tuple(tokens), tuple(range(n)), tuple(range(1, n + 1)),
                        ("X",) * n, (0.123456,) * n, id, fields)


@pytest.mark.parametrize("output_format", ["jsonl", "conll", "conllu", "parquet"])
def test_several_inputs_go_to_one_set_of_files(tmp_path, output_format):
    prefix = str(tmp_path / "out" / "r")
    with beam.Pipeline() as p:
        whole = p | "Whole" >> beam.Create([record("a", ["x", "y"]), record("b", ["z"])])
        stitched = p | "Stitched" >> beam.Create([record("long", ["w"] * 300)])
        empty = p | "Empty" >> beam.Create([record("e", [])])
        _ = (whole, stitched, empty) | WriteResults(prefix, output_format)
    files = glob.glob(f"{prefix}-*-of-*.{output_format}")
    assert files
    if output_format == "jsonl":
        rows = [json.loads(line) for path in files for line in open(path, encoding="utf-8")]
        assert sorted(row["id"] for row in rows) == ["a", "b", "e", "long"]
    elif output_format == "conll":
        text = "".join(open(path, encoding="utf-8").read() for path in files)
        assert sorted(line for line in text.splitlines() if line.startswith("# id")) == [
            "# id = a", "# id = b", "# id = e", "# id = long"]
    elif output_format == "conllu":   # "e", without tokens, is a dead letter: no empty sentence
        text = "".join(open(path, encoding="utf-8").read() for path in files)
        assert sorted(line for line in text.splitlines() if line.startswith("# sent_id")) == [
            "# sent_id = a", "# sent_id = b", "# sent_id = long"]
    else:
        import pyarrow.parquet as pq
        assert sorted(pq.read_table(files).column("id").to_pylist()) == ["a", "b", "e", "long"]


def test_json_lines_round_scores_and_keep_passthrough_fields():
    line = to_json_line(record("a", ["naïve", "x"], {"lang": "en", "n": 3}))
    assert "naïve" in line  # UTF-8, not \u escapes
    row = json.loads(line)
    assert row["lang"] == "en" and row["n"] == 3
    assert [t["score"] for t in row["tokens"]] == [0.1235, 0.1235]


def test_records_orjson_refuses_still_become_valid_utf8_json():
    huge = to_json_line(record("a", ["x"], {"big": 2 ** 70}))
    assert json.loads(huge)["big"] == 2 ** 70
    surrogate = to_json_line(record("b", ["bad\ud800"]))
    surrogate.encode("utf-8")  # what the text sink does; a lone surrogate would raise here
    assert json.loads(surrogate)["tokens"][0]["text"] == "bad\ud800"


def test_passthrough_fields_named_like_output_keys_are_kept_under_another_name():
    row = json.loads(to_json_line(record("a", ["x"], {"tokens": [1, 2], "id": "theirs",
                                                      "input_id": "taken"})))
    assert row["id"] == "a" and [t["text"] for t in row["tokens"]] == ["x"]
    assert row["input_tokens"] == [1, 2] and row["input_id"] == "taken"
    assert row["input_input_id"] == "theirs"


def test_passthrough_fields_named_like_output_keys_in_another_case_are_renamed_too():
    """DuckDB's read_json_auto reads column names in any case: beside "id", a field "ID" was
    read as a column "ID_1" while ``SELECT ID`` gave beamtagger's id, and a field "Tokens"
    ahead of "tokens" took the name ``tokens`` from the tagged tokens ("tokens_1")."""
    fields = {"ID": "theirs", "Tokens": 5, "ENTITIES": [], "Label": "kept"}
    row = json.loads(to_json_line(record("a", ["x"], fields), entities=True))
    assert row["id"] == "a" and [t["text"] for t in row["tokens"]] == ["x"]
    assert (row["input_ID"], row["input_Tokens"], row["input_ENTITIES"]) == ("theirs", 5, [])
    assert row["Label"] == "kept"
    assert len({key.lower() for key in row}) == len(row), list(row)


def test_the_documented_pandas_recipe_reads_json_lines_shards_as_written(tmp_path):
    """docs/tagging.md's pandas line for JSON Lines shards, a 0-byte one among them: with
    read_json's defaults the id "007" came back as 7, "1e3" as 1000, a field "02134" as 2134
    and a field named created_at as a date."""
    import pandas

    ids = ["007", "1e3", "12345678901234567890123"]
    lines = [to_json_line(record(record_id, ["x"], {"zip": "02134", "created_at": 1700000000}))
             for record_id in ids]
    (tmp_path / "r-00000-of-00002.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "r-00001-of-00002.jsonl").write_bytes(b"")
    files = sorted(glob.glob(str(tmp_path / "r-?????-of-?????.jsonl")))
    frame = pandas.concat(pandas.read_json(f, lines=True, dtype=False, convert_dates=False)
                          for f in files)
    assert frame["id"].tolist() == ids
    assert frame["zip"].tolist() == ["02134"] * 3
    assert frame["created_at"].tolist() == [1700000000] * 3


def test_nan_and_infinity_in_passthrough_fields_are_written_as_null():
    from beamtagger.transforms.write_results import to_parquet_row

    fields = {"v": float("nan"), "w": [float("inf"), 1.5], "big": 2 ** 70}
    assert json.loads(to_json_line(record("a", ["x"], fields)))["w"] == [None, 1.5]
    stored = json.loads(to_parquet_row(record("a", ["x"], fields))["fields"])  # strict JSON
    assert stored == {"v": None, "w": [None, 1.5], "big": 2 ** 70}


def test_records_a_format_cannot_hold_become_format_dead_letters(tmp_path):
    import pyarrow.parquet as pq

    prefix = str(tmp_path / "r")
    with beam.Pipeline() as p:
        written = (p | beam.Create([record("good", ["x"]), record("bad", ["x\ud800"])])
                   | WriteResults(prefix, "parquet"))
        errors = written.errors | beam.Map(lambda letter: (letter.stage, letter.source))
        from apache_beam.testing.util import assert_that, equal_to
        assert_that(errors, equal_to([("format", "bad")]))
    assert pq.read_table(glob.glob(prefix + "-*.parquet")).column("id").to_pylist() == ["good"]


@pytest.mark.parametrize("bad", [
    record("a\udfff", ["x"]), record("a", ["x", "y\ud800"]),
    TaggedRecord("a", ("x",), (0,), (1,), ("B-\ud83d",), (0.5,))])
def test_a_lone_surrogate_in_a_parquet_row_is_refused_by_its_code_point(bad):
    from beamtagger.transforms.write_results import to_parquet_row

    # Left to pyarrow, the dead letter's reason was "'utf-8' codec can't encode character
    # '\ud800' in position 1: surrogates not allowed", naming no output format; the test
    # above checks only that such a record is a format dead letter.
    with pytest.raises(ValueError, match=r"^a lone surrogate \(\\ud[8-9a-f][0-9a-f]{2}\) "
                                         r"cannot be written to Parquet$"):
        to_parquet_row(bad)


def test_conll_blocks_keep_one_line_per_token_whatever_the_id_and_tokens_hold():
    from beamtagger.transforms.write_results import to_conll_block

    block = to_conll_block(record("id\nwith\r\nbreaks\u2028", ["a\tb", "c\x0bd", "e\ud800"]))
    lines = block.splitlines()
    assert lines == ['# id = "id\\nwith\\r\\nbreaks\\u2028"', "a\\tb\tX", "c\\u000bd\tX",
                     "e\\ud800\tX"]
    block.encode("utf-8")


def test_beams_type_check_refuses_records_that_are_not_tagged_records(tmp_path):
    from apache_beam.typehints.decorators import TypeCheckError

    from beamtagger.transforms import TextRecord

    for wrong in ((beam.Create([TextRecord("a", "some text")]),),
                  (beam.Create([record("a", ["x"])]), beam.Create([TextRecord("b", "text")]))):
        with pytest.raises(TypeCheckError, match="WriteResults.*TaggedRecord.*TextRecord"):
            with beam.Pipeline() as p:
                parts = tuple(p | f"Part{i}" >> create for i, create in enumerate(wrong))
                _ = (parts[0] if len(parts) == 1 else parts) | WriteResults(
                    str(tmp_path / "out"))


# Records as a user's pipeline may hand them over: float32 scores (the tag stage's) or not,
# tuples of unequal length, fields JSON cannot give back, tokens a column may refuse.
_SCORE = st.one_of(st.floats(0, 1, width=32), st.floats(0, 1), st.just(float("nan")),
                   st.just(1.5), st.just(0.12345 - 1e-12))   # 0.1234, but 0.1235 as float32
_TEXT = st.one_of(st.sampled_from(["the", '"', "\\", "naïve", "x\x01", "tab\there", "\u2028",
                                   "\ud800"]), st.text(max_size=6))
_FIELDS = st.one_of(st.none(), st.fixed_dictionaries({}, optional={
    "lang": st.text(max_size=4), "id": st.integers(), "pair": st.just((1, 2)),
    "nan": st.just(float("nan")), "big": st.just(2 ** 70), "key": st.just({1: "a"})}))


@st.composite
def _records(draw):
    tokens = draw(st.lists(_TEXT, max_size=5))
    n = len(tokens)
    labels = draw(st.lists(st.sampled_from(["NOUN", "VERB", "B-x", 'q"\\', "ta\tb"]),
                           min_size=n, max_size=n))
    scores = draw(st.lists(_SCORE, min_size=n, max_size=n))
    if n and draw(st.booleans()) and draw(st.booleans()):
        labels = labels[:-1]               # unequal lengths: the formatters zip them
    if draw(st.integers(0, 20)) == 0:
        tokens = tokens + [7]              # not a string: a column refuses it
    return TaggedRecord(draw(st.text(max_size=4)), tuple(tokens), tuple(range(len(tokens))),
                        tuple(range(1, len(tokens) + 1)), tuple(labels), tuple(scores),
                        draw(st.sampled_from(["", "f:1"])), draw(_FIELDS))


def _run_format_fn(fn, records):
    """Every output of ``fn`` over ``records`` in one bundle: (rows, dead letters)."""
    from apache_beam.transforms.window import GlobalWindow
    from apache_beam.utils.timestamp import Timestamp

    from beamtagger.transforms.write_results import _FormatRecordsFn
    fn.setup()
    if not isinstance(fn, _FormatRecordsFn):   # record by record: the reference
        outputs = [out for record in records for out in fn.process(record)]
    else:
        fn.start_bundle()
        outputs = [out for record in records
                   for out in fn.process(record, GlobalWindow(), Timestamp(0))]
        outputs += [out.value if not isinstance(out, beam.pvalue.TaggedOutput) else
                    beam.pvalue.TaggedOutput(out.tag, out.value.value)
                    for out in fn.finish_bundle()]
    dead = [out.value for out in outputs if isinstance(out, beam.pvalue.TaggedOutput)]
    return [out for out in outputs if not isinstance(out, beam.pvalue.TaggedOutput)], dead


def _as_rows(output_format, outputs):
    import pyarrow as pa
    if output_format == "parquet":
        rows = [row for table in outputs for row in (
            table.to_pylist() if isinstance(table, pa.Table) else [table])]
        return sorted(map(repr, rows))   # repr: NaN equal to NaN
    # The sink writes a newline after each element, one record's text or a group's.
    text = "".join((out.decode() if isinstance(out, bytes) else out) + "\n" for out in outputs)
    separator = "\n\n" if output_format in ("conll", "conllu") else "\n"
    return sorted(part.rstrip("\n") for part in text.split(separator) if part.strip("\n"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_records(), max_size=12), st.sampled_from(["jsonl", "conll", "conllu", "parquet"]),
       st.sampled_from([1, 5, 10 ** 6]))
def test_records_formatted_in_groups_write_what_each_record_alone_writes(records, output_format,
                                                                         group_tokens):
    import pyarrow as pa

    from beamtagger.transforms import write_results
    saved, write_results.FORMAT_TOKENS = write_results.FORMAT_TOKENS, group_tokens
    try:
        rows, dead = _run_format_fn(write_results._FormatRecordsFn(output_format), records)
    finally:
        write_results.FORMAT_TOKENS = saved
    wanted, wanted_dead = _run_format_fn(write_results.FormatResultFn(output_format), records)
    if output_format == "parquet":   # the sink takes tables: a row Arrow refuses is dead
        wanted_tables = []
        for row in wanted:
            try:
                wanted_tables.append(pa.Table.from_pylist(
                    [row], schema=write_results.RESULT_SCHEMA))
            except Exception:  # noqa: BLE001
                wanted_dead.append(row["id"])
        wanted = wanted_tables
    assert _as_rows(output_format, rows) == _as_rows(output_format, wanted)
    assert len(dead) == len(wanted_dead)


def test_more_labels_than_a_group_keeps_tables_for_go_record_by_record():
    from beamtagger.transforms import tagged_batches, write_results
    records = [TaggedRecord(str(i), ("w",), (0,), (1,), (f"L{i}",), (0.5,), f"f:{i}")
               for i in range(tagged_batches.MAX_RECORD_LABELS + 5)]
    rows, dead = _run_format_fn(write_results._FormatRecordsFn("jsonl"), records)
    assert dead == []
    assert _as_rows("jsonl", rows) == sorted(map(to_json_line, records))


@pytest.mark.parametrize("as_batches", [False, True])
def test_groups_of_many_windows_are_written_before_the_bundle_ends(monkeypatch, as_batches):
    # Each window's group stays under FORMAT_TOKENS; all of them together reach WAITING_TOKENS.
    from apache_beam.transforms.window import IntervalWindow
    from apache_beam.utils.windowed_value import WindowedValue

    from beamtagger.transforms import tagged_batches, write_results
    monkeypatch.setattr(write_results, "FORMAT_TOKENS", 100)
    monkeypatch.setattr(write_results, "WAITING_TOKENS", 10)
    records = [TaggedRecord(str(i), ("a", "b"), (0, 2), (1, 3), ("X", "Y"), (0.5, 0.25), f"f:{i}")
               for i in range(12)]
    windows = [IntervalWindow(60 * (i % 6), 60 * (i % 6) + 60) for i in range(12)]
    fn = (write_results._FormatBatchesFn if as_batches else write_results._FormatRecordsFn)("jsonl")
    fn.setup()
    fn.start_bundle()
    during, names = [], []
    for record, window in zip(records, windows):
        element = (tagged_batches.tagged_batch_of_tagged_records([record], names)[0]
                   if as_batches else record)
        during += list(fn.process(element, window, window.start))
    after = list(fn.finish_bundle())
    assert during and all(isinstance(out, WindowedValue) for out in during + after)
    lines = {line: out.windows for out in during + after for line in out.value.decode().split("\n")}
    assert sorted(lines) == sorted(map(to_json_line, records))
    for record, window in zip(records, windows):
        assert lines[to_json_line(record)] == (window,)


@pytest.mark.parametrize("output_format", ["jsonl", "conll", "conllu", "parquet"])
def test_a_record_whose_token_tuples_differ_in_length_is_a_dead_letter_not_cut_short(
        tmp_path, output_format):
    # Zipped by the formatters, a record of two tokens and one label was written with one
    # token, and no error.
    from apache_beam.testing.util import assert_that, equal_to

    short = record("short", ["x", "y"])._replace(labels=("X",))
    prefix = str(tmp_path / "r")
    with beam.Pipeline() as p:
        written = (p | beam.Create([record("good", ["x", "y"]), short])
                   | WriteResults(prefix, output_format))
        assert_that(written.errors | beam.Map(lambda d: (d.source, d.stage, d.reason)),
                    equal_to([("short", "format", "cannot write the result: its per-token "
                               "tuples differ in length: 2 tokens, 2 starts, 2 ends, 1 labels, "
                               "2 scores")]))
    files = glob.glob(f"{prefix}-*-of-*.{output_format}")
    if output_format == "parquet":
        import pyarrow.parquet as pq
        assert pq.read_table(files).column("id").to_pylist() == ["good"]
    else:
        text = "".join(open(path, encoding="utf-8").read() for path in files)
        assert "good" in text and "short" not in text


def test_unbounded_records_in_the_global_window_are_written_every_triggering_frequency(
        tmp_path, tiny_tagger):
    """Beam's sinks refuse an unbounded global window without ``triggering_frequency``, which
    WriteResults and WriteDeadLetters did not take: a streaming TagText in the global window
    could not be written at all."""
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.testing.test_stream import TestStream
    from apache_beam.transforms.window import TimestampedValue

    from beamtagger.transforms import TagText, TextRecord, WriteDeadLetters

    stream = (TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue(TextRecord("a", "The dog went home ."), 1),
                             TimestampedValue(TextRecord("b", "The d\ud800g ."), 2)])
              .advance_processing_time(10).advance_watermark_to(100)
              .add_elements([TimestampedValue(TextRecord("c", "The cat sat ."), 101)])
              .advance_processing_time(10).advance_watermark_to_infinity())
    prefix = str(tmp_path / "run")
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        out = p | stream | TagText(max_buffering_secs=1, **tiny_tagger.options)
        _ = out.tagged | WriteResults(prefix, triggering_frequency=60)
        _ = out.errors | WriteDeadLetters(prefix, triggering_frequency=60)
    written = lambda pattern: sorted(json.loads(line)["id" if "errors" not in pattern  # noqa
                                                     else "source"]
                                     for path in glob.glob(pattern) for line in open(path))
    assert written(prefix + "-[[]*.jsonl") == ["a", "c"]
    assert written(prefix + "-errors-*.jsonl") == ["b"]


@pytest.mark.parametrize("seconds", [0, -5, 1.5, "60", True])
def test_a_triggering_frequency_no_sink_can_follow_is_refused_where_it_is_built(seconds):
    from beamtagger.transforms import WriteDeadLetters

    for build in (lambda: WriteResults("/tmp/x", triggering_frequency=seconds),
                  lambda: WriteDeadLetters("/tmp/x", triggering_frequency=seconds)):
        with pytest.raises(ValueError, match="triggering_frequency"):
            build()


@pytest.mark.parametrize("options, error, said", [
    ({"num_shards": 1.5}, ValueError, "num_shards must be a whole number of at least 0, not 1.5"),
    ({"num_shards": -1}, ValueError, "num_shards must be a whole number of at least 0, not -1"),
    ({"num_shards": "3"}, ValueError, "num_shards must be a whole number"),
    ({"num_shards": True}, ValueError, "num_shards must be a whole number"),
    ({"output_prefix": None}, TypeError, "output_prefix must be a path (a str or os.PathLike) "
                                         "or a ValueProvider, not NoneType None"),
    ({"output_prefix": 5}, TypeError, "output_prefix must be a path"),
    # It said "give the folder, or None", where None is refused and a prefix is no folder.
    ({"output_prefix": ""}, ValueError, "output_prefix is an empty path: give the prefix of the "
                                        "files to write, such as out/tagged"),
])
def test_a_shard_count_or_prefix_no_sink_can_follow_is_refused_where_it_is_built(options, error,
                                                                                said):
    # Found by fuzzing the API's arguments: num_shards=1.5 failed inside the running job
    # (randrange's "non-integer stop"), -1 and True ran as other counts without a word, and a
    # prefix that is no path failed where the writer was applied, as "file_path_prefix must be
    # a string" (WriteResults) or "unsupported operand type(s) for +" (WriteDeadLetters).
    from beamtagger.transforms import WriteDeadLetters

    options = {"output_prefix": "/tmp/x", **options}
    for build in (lambda: WriteResults(**options), lambda: WriteDeadLetters(**options)):
        with pytest.raises(error) as refused:
            build()
        assert str(refused.value).startswith(said), refused.value


@pytest.mark.parametrize("option", ["entities", "keep_text", "keep_conllu_lines"])
def test_a_flag_that_is_no_bool_is_refused_where_the_writer_is_built(option):
    # entities="no" was read as True (and keep_text="no" too): a string is truthy.
    output_format = "conllu" if option == "keep_conllu_lines" else "jsonl"
    with pytest.raises(ValueError, match=f"^{option} must be True or False, not 'no'"):
        WriteResults("/tmp/x", output_format, **{option: "no"})


@pytest.mark.parametrize("option", ["entities", "keep_text", "keep_conllu_lines"])
def test_a_numpy_bool_flag_is_taken_as_the_bool_it_is(option):
    # np.True_ (a comparison's value, ``(df.kind == "ner").any()``) is no bool subclass; the
    # writers took it as truthy before the flag check of 2026-12-07, which refused it.
    import numpy as np

    output_format = "conllu" if option == "keep_conllu_lines" else "jsonl"
    for flag in (np.True_, np.False_):
        value = getattr(WriteResults("/tmp/x", output_format, **{option: flag}), option)
        assert value is bool(flag)


@pytest.mark.parametrize("provider", ["static", "runtime"])
def test_a_value_provider_prefix_of_a_beam_template_is_written_to(tmp_path, provider):
    # WriteResults passed its output_prefix to Beam's sinks, which take a ValueProvider (a
    # classic template's --output); the prefix check of 2026-12-07 refused it as "no path".
    # WriteDeadLetters added its suffix with +, which failed on one where it was applied.
    from apache_beam.options.value_provider import RuntimeValueProvider, StaticValueProvider

    from beamtagger.transforms import DeadLetter, WriteDeadLetters

    prefix = str(tmp_path / "r")
    given = (StaticValueProvider(str, prefix) if provider == "static" else
             RuntimeValueProvider(option_name="output", value_type=str, default_value=prefix))
    with beam.Pipeline() as p:
        _ = p | "Tagged" >> beam.Create([record("a", ["x"])]) | WriteResults(given)
        _ = (p | "Letters" >> beam.Create([DeadLetter("b.txt:1", "too long", "x", "tokenize")])
             | WriteDeadLetters(given))
    assert [json.loads(line)["id"] for path in glob.glob(prefix + "-0*.jsonl")
            for line in open(path, encoding="utf-8")] == ["a"]
    assert [json.loads(line)["source"] for path in glob.glob(prefix + "-errors-*.jsonl")
            for line in open(path, encoding="utf-8")] == ["b.txt:1"]
