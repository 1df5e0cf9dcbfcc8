"""Schema'd elements in and out: what Beam YAML, Beam SQL and Beam DataFrames users hand
beamtagger and do with what it gives back.

Beam YAML's ``Create`` and every schema'd source give ``beam.Row``s, which reach the next
stage as Beam's generated NamedTuples, their columns in the source's order. A row whose
columns were ``text, id`` was read positionally as a TextRecord, so its text became the
record's id and its id was tagged as the text: no dead letter, no error.
"""
from typing import NamedTuple

import apache_beam as beam
import pytest
from apache_beam.ml.inference.base import RunInference
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.transforms import TaggerModelHandler, TagText, TextRecord
from beamtagger.transforms.model_handler import record_of, text_length

TEXTS = {"a": "Beam tags this.", "b": "I like green apples."}


class Document(NamedTuple):   # a user's own schema type, its columns in another order
    text: str
    lang: str
    id: str


def ids_tokens_and_fields(record):
    return record.id, tuple(record.tokens), record.fields


def test_rows_are_read_by_column_name_whatever_their_order(tiny_tagger):
    # One Create infers one schema for all its rows (as Beam YAML's does): columns in common.
    rows = [beam.Row(text=TEXTS["a"], lang="en", id="a"),
            beam.Row(text=TEXTS["b"], lang="de", id="b")]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = (p | beam.Create(rows) | TagText(**tiny_tagger.options))
        assert_that(out.tagged | beam.Map(ids_tokens_and_fields),
                    equal_to([("a", ("Beam", "tags", "this", "."), {"lang": "en"}),
                              ("b", ("I", "like", "green", "apples", "."), {"lang": "de"})]),
                    label="ByName")
        assert_that(out.errors, equal_to([]), label="NoErrors")


def test_a_named_tuple_of_the_users_is_read_by_column_name(tiny_tagger):
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = (p | beam.Create([Document(TEXTS["a"], "en", "a")])
               | TagText(**tiny_tagger.options))
        assert_that(out.tagged | beam.Map(ids_tokens_and_fields),
                    equal_to([("a", ("Beam", "tags", "this", "."), {"lang": "en"})]))


def test_a_row_without_an_id_or_with_fields_and_other_columns_is_a_dead_letter(tiny_tagger):
    with beam.Pipeline(runner=FnApiRunner()) as p:
        rows = (p | "NoId" >> beam.Create([beam.Row(text="No id here.")]),
                p | "FieldsAndMore" >> beam.Create(
                    [beam.Row(id="c", text="Two kinds.", fields={"x": 1}, lang="en")]))
        out = rows | beam.Flatten() | TagText(**tiny_tagger.options)
        assert_that(out.tagged, equal_to([]), label="NoneTagged")
        assert_that(out.errors | beam.Map(lambda e: (e.stage, "needs an id column" in e.reason,
                                                     "columns too (lang)" in e.reason)),
                    equal_to([("tokenize", True, False), ("tokenize", False, True)]),
                    label="Errors")


def test_runinference_reads_rows_by_column_name(tiny_tagger):
    with beam.Pipeline(runner=FnApiRunner()) as p:
        results = (p | beam.Create([beam.Row(text=TEXTS["b"], id="b")])
                   | RunInference(TaggerModelHandler(**tiny_tagger.options)))
        assert_that(results | beam.Map(lambda r: (r.inference.id, len(r.inference.labels))),
                    equal_to([("b", 5)]))
    assert record_of(Document("Fast tests.", "en", "d")) == TextRecord(
        "d", "Fast tests.", "", {"lang": "en"})
    assert text_length(beam.Row(text="Fast tests.", id="d")) == len("Fast tests.")


def test_the_tagged_output_is_schema_d_for_field_selections_and_groupings(tiny_tagger):
    # Beam's schema transforms read TaggedRecord's declared columns: no Map to a Row first.
    with beam.Pipeline(runner=FnApiRunner()) as p:
        tagged = (p | beam.Create([TextRecord(id, text) for id, text in TEXTS.items()])
                  | TagText(**tiny_tagger.options)).tagged
        selected = tagged | beam.Select("id", tokens=lambda r: len(r.tokens))
        assert_that(selected | "SelectedTuples" >> beam.Map(tuple), equal_to([("a", 4), ("b", 5)]),
                    label="Selected")
        counted = (tagged | beam.GroupBy(labelled=lambda r: len(r.labels) == len(r.tokens))
                   .aggregate_field("id", beam.combiners.CountCombineFn(), "records"))
        assert_that(counted | "GroupedTuples" >> beam.Map(tuple), equal_to([(True, 2)]), label="Grouped")


def test_the_outputs_become_dataframes(tiny_tagger):
    pytest.importorskip("pandas", reason="Beam DataFrames need pandas (apache-beam[dataframe])")
    from apache_beam.dataframe.convert import to_dataframe, to_pcollection

    records = [TextRecord("a", TEXTS["a"]), TextRecord("b", "", "in:2"),
               TextRecord("c", 7, "in:3")]   # a text that is no string: a dead letter
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(records) | TagText(**tiny_tagger.options)
        tagged = to_dataframe(out.tagged, label="TaggedFrame")
        errors = to_dataframe(out.errors, label="ErrorFrame")
        assert_that(to_pcollection(tagged[["id", "source"]], include_indexes=False,
                                   label="TaggedRows") | "TaggedTuples" >> beam.Map(tuple),
                    equal_to([("a", "a"), ("b", "in:2")]), label="Tagged")
        assert_that(to_pcollection(errors[["source", "stage"]], include_indexes=False,
                                   label="ErrorRows") | "ErrorTuples" >> beam.Map(tuple),
                    equal_to([("in:3", "tokenize")]), label="Errors")
