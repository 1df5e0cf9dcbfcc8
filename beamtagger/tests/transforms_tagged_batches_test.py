"""Tagged batches: the columns give the files the per-record formatters give, byte for byte."""
import json

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from beamtagger.transforms import tagged_batches
from beamtagger.transforms.records import TaggedRecord
from beamtagger.transforms.write_results import (RESULT_SCHEMA, to_conll_block, to_json_line,
                                                 to_parquet_row)

LABELS = ("NOUN", "VERB", 'odd "label"\\', "PUNCT")
# Exact ties of round(p, 4) (k + 0.5) / 10^4 that float32 can hold, the ends of [0, 1], values
# just outside it, and NaN: the score texts the table must get right or leave out.
SCORES = st.one_of(
    st.floats(0, 1, width=32),
    st.sampled_from([0.0, 1.0, 0.00005, 0.12345, 0.5, 0.99995, 1.0000001, -0.0, 1.5,
                     float("nan"), 0.03125, 0.96875]))
TOKEN = st.one_of(st.sampled_from(["the", "Cat", '"', "\\", 'a"b\\c', "naïve", "日本", "👍🏽",
                                   "x\x7f", "\u2028", "tab\there", "nul\x00"]),
                  st.text(min_size=1, max_size=8))
FIELDS = st.one_of(st.none(), st.fixed_dictionaries({}, optional={
    "lang": st.text(max_size=5), "id": st.integers(), "tokens": st.lists(st.integers(), max_size=2),
    "input_id": st.just("taken"), "big": st.just(2 ** 70), "nan": st.just(float("nan")),
    "nested": st.dictionaries(st.text(max_size=3), st.floats(allow_nan=True), max_size=2)}))
RECORD = st.tuples(st.text(max_size=10), st.lists(st.tuples(TOKEN, SCORES,
                                                            st.integers(0, len(LABELS) - 1)),
                                                  min_size=0, max_size=6), FIELDS)


def batch_of(records):
    """(tagged batch, TaggedRecords) of ``records`` [(id, [(token, score, label id)], fields)]."""
    columns = {"key": [], "id": [], "tokens": [], "starts": [], "ends": [], "fields": []}
    label_ids, scores, expected = [], [], []
    for number, (record_id, tokens, fields) in enumerate(records):
        texts = [token for token, _, _ in tokens]
        starts = list(range(0, 3 * len(texts), 3))
        ends = [start + len(text) for start, text in zip(starts, texts)]
        columns["key"].append(f"file:{number}")
        columns["id"].append(record_id)
        columns["tokens"].append(texts)
        columns["starts"].append(starts)
        columns["ends"].append(ends)
        columns["fields"].append(json.dumps(fields, ensure_ascii=False) if fields else None)
        label_ids += [label for _, _, label in tokens]
        scores += [score for _, score, _ in tokens]
        row_scores = np.asarray([score for _, score, _ in tokens], np.float32)
        expected.append(TaggedRecord(record_id, tuple(texts), tuple(starts), tuple(ends),
                                     tuple(LABELS[label] for _, _, label in tokens),
                                     tuple(row_scores.tolist()), f"file:{number}", fields or None))
    batch = pa.RecordBatch.from_pydict({
        "key": pa.array(columns["key"], pa.string()), "id": pa.array(columns["id"], pa.string()),
        "tokens": pa.array(columns["tokens"], pa.list_(pa.string())),
        "starts": pa.array(columns["starts"], pa.list_(pa.int32())),
        "ends": pa.array(columns["ends"], pa.list_(pa.int32())),
        "fields": pa.array(columns["fields"], pa.string())})
    return (tagged_batches.tagged_batch(batch, label_ids, np.asarray(scores, np.float32),
                                        LABELS), expected)


def comparable(records):
    """Records as text: NaN (in scores, in fields) is equal to NaN there."""
    return [repr(record) for record in records]


def lines_of(tagged, formatter, column_text):
    """Every output element: the batch's text (split into records) and the rows left out of
    it, each through the per-record formatter, in row order."""
    text, left_out = column_text(tagged)
    text = text.decode("utf-8")
    found = text.split(formatter.separator) if text else []
    records = tagged_batches.tagged_records(tagged, left_out) if left_out else []
    return found, [written_or_refused(formatter, record) for record in records], left_out


def written_or_refused(formatter, record):
    """What ``formatter`` writes of ``record``, or the reason it refuses it (CoNLL: a line
    its readers would refuse as UTF-16 text, ``nul_lines``)."""
    try:
        return formatter(record)
    except ValueError as error:
        if formatter is not conll:   # JSON Lines writes every record
            raise
        return f"refused: {error}"


def jsonl(record):
    return to_json_line(record)


jsonl.separator = "\n"


def conll(record):
    return to_conll_block(record)


conll.separator = "\n\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORD, min_size=1, max_size=8), st.sampled_from([1, 64, 10 ** 9]))
# A CoNLL line the readers would refuse as UTF-16 text, which the formatter refuses.
@example([("r", [("x\x00y\x00z", 0.5, 0)], None), ("s", [("nul\x00", 0.5, 0)], None)], 64)
def test_json_lines_and_conll_are_the_per_record_texts(records, slices_up_to):
    """Also with the escaped texts put back by slices always, sometimes and never."""
    saved, tagged_batches._SLICES_UP_TO = tagged_batches._SLICES_UP_TO, slices_up_to
    try:
        check_json_lines_and_conll(records)
    finally:
        tagged_batches._SLICES_UP_TO = saved


def check_json_lines_and_conll(records):
    tagged, expected = batch_of(records)
    assert comparable(tagged_batches.tagged_records(tagged)) == comparable(expected)
    for formatter, column_text in ((jsonl, tagged_batches.json_lines_text),
                                   (conll, tagged_batches.conll_text)):
        found, left_out_texts, left_out = lines_of(tagged, formatter, column_text)
        kept = [formatter(record) for row, record in enumerate(expected) if row not in left_out]
        if formatter is conll:  # blocks end in "\n" inside the joined text, not the last one
            kept = [block.rstrip("\n") for block in kept]
            found = [block.rstrip("\n") for block in found]
        assert found == kept
        assert left_out_texts == [written_or_refused(formatter, expected[row])
                                  for row in left_out]


def test_plain_records_are_never_left_out_and_quotes_stay_in_the_columns():
    tagged, expected = batch_of([("a", [("He", 0.5, 0), ('"', 0.99995, 3), ("\\", 1.0, 1)], None),
                                 ("b", [("x", 0.12345, 2)], {"lang": "en", "id": 5})])
    text, left_out = tagged_batches.json_lines_text(tagged)
    assert left_out == []
    assert text.decode().split("\n") == [to_json_line(record) for record in expected]


def test_records_with_what_the_columns_do_not_reproduce_are_left_out():
    tagged, _ = batch_of([("ctl", [("a\x01", 0.5, 0)], None), ("nan", [("b", float("nan"), 0)], None),
                          ("big", [("c", 0.5, 0)], {"n": 2 ** 70}), ("ok", [("d", 0.5, 0)], None)])
    text, left_out = tagged_batches.json_lines_text(tagged)
    assert left_out == [0, 1, 2] and json.loads(text)["id"] == "ok"
    tagged, _ = batch_of([("id\x01", [("a", 0.5, 0)], None), ("ok", [("b", 0.5, 0)], None)])
    assert tagged_batches.json_lines_text(tagged)[1] == [0]   # a control character in the id


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORD, min_size=1, max_size=8))
def test_the_parquet_table_holds_the_per_record_rows(records):
    tagged, expected = batch_of(records)
    rows = [to_parquet_row(record) for record in expected]
    wanted = pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)
    found = tagged_batches.parquet_table(tagged)
    assert found.schema == RESULT_SCHEMA
    assert repr(found.to_pylist()) == repr(wanted.to_pylist())   # NaN equal to NaN


def test_offsets_beyond_the_table_of_decimals_are_written_too():
    tagged, expected = batch_of([("far", [("x", 0.5, 0), ("y", 0.25, 1)], None)])
    columns = {name: tagged.column(name) for name in tagged.schema.names}
    columns["starts"] = pa.array([[70_000, 1 << 20]], pa.list_(pa.int32()))
    columns["ends"] = pa.array([[70_001, (1 << 20) + 1]], pa.list_(pa.int32()))
    far = pa.RecordBatch.from_pydict(columns)
    record = expected[0]._replace(starts=(70_000, 1 << 20), ends=(70_001, (1 << 20) + 1))
    text, left_out = tagged_batches.json_lines_text(far)
    assert left_out == [] and text.decode() == to_json_line(record)


def test_the_formatter_writes_batches_together_and_every_record_once(monkeypatch):
    # Batches are formatted together once they hold FORMAT_TOKENS tokens (here 3), the rest at
    # the bundle's end; records the columns leave out still come out, one by one.
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from beamtagger.transforms import write_results

    monkeypatch.setattr(write_results, "FORMAT_TOKENS", 3)
    parts = [[("a", [("He", 0.5, 0), ("ran", 0.25, 1)], None)],
             [("b", [("x", 0.125, 2)], {"lang": "en"}), ("ctl", [("c\x01", 0.5, 0)], None)],
             [("c", [("y", 0.5, 3)], None)], [("d", [("z", 1.0, 0)], None)]]
    batches, expected = zip(*(batch_of(part) for part in parts))
    wanted = [to_json_line(record) for records in expected for record in records]
    with TestPipeline() as pipeline:
        formatted = (pipeline | beam.Create(list(batches)) | beam.ParDo(
            write_results._FormatBatchesFn("jsonl")).with_outputs(write_results.ERRORS,
                                                                  main="rows"))
        lines = formatted.rows | beam.FlatMap(
            lambda text: text.decode().split("\n") if isinstance(text, bytes) else [text])
        assert_that(lines, equal_to(wanted))
        assert_that(formatted[write_results.ERRORS], equal_to([]), label="no dead letters")


def test_a_slice_of_a_batch_gives_its_own_records():
    # A sliced list column's offsets start past 0 (its flattened values do not).
    records = [("a", [("He", 0.5, 0), ("ran", 0.25, 1)], None), ("b", [("x", 0.125, 2)], None),
               ("c", [("y", 0.5, 3), ("z", 1.0, 0), ("w", 0.75, 1)], None)]
    batch, _ = batch_of(records)
    sliced = batch.slice(1, 2)
    whole = tagged_batches.tagged_records(batch)
    assert tagged_batches.tagged_records(sliced) == whole[1:]
    assert tagged_batches.tagged_records(batch, [2, 0]) == [whole[2], whole[0]]
    expected = [to_json_line(record) for record in whole[1:]]
    assert tagged_batches.json_lines_text(sliced)[0].decode().split("\n") == expected
    source = batch.select(["key", "id", "tokens", "starts", "ends", "fields"]).slice(1, 2)
    retagged = tagged_batches.tagged_batch(source, [2, 3, 0, 1], np.asarray(
        [0.125, 0.5, 1.0, 0.75], np.float32), LABELS)
    assert tagged_batches.json_lines_text(retagged)[0].decode().split("\n") == expected


def test_labels_read_back_from_a_plain_string_column_too():
    batch, expected = batch_of([("a", [("He", 0.5, 0), ("ran", 0.25, 1)], None),
                                ("b", [("x", 0.125, 2)], {"lang": "en"})])
    plain = batch.set_column(batch.schema.get_field_index("labels"), "labels",
                             batch.column("labels").cast(pa.list_(pa.string())))
    assert tagged_batches.tagged_records(plain) == tagged_batches.tagged_records(batch)
    assert comparable(tagged_batches.tagged_records(plain)) == comparable(expected)
