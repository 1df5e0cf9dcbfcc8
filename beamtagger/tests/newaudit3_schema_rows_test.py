"""Schema'd rows with nested rows: Beam YAML's ``fields: {lang: en}`` in a Create is a row, as
is a struct column of a schema'd source. Carried as they came, a nested row was a tuple and
came out as a JSON list without its columns' names (``{"meta": [1, "q"]}``)."""
from typing import NamedTuple

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.transforms import TagText
from beamtagger.transforms.schema_rows import text_record_of_row


class Inner(NamedTuple):
    x: int
    y: str


def test_nested_rows_are_carried_as_dicts_of_their_columns():
    record = text_record_of_row({"id": "a", "text": "Hi.", "meta": beam.Row(x=1, y="q"),
                                 "many": [Inner(2, "r")], "pair": (1, 2)})
    assert record.fields == {"meta": {"x": 1, "y": "q"}, "many": [{"x": 2, "y": "r"}],
                             "pair": (1, 2)}
    record = text_record_of_row({"id": "a", "text": "Hi.",
                                 "fields": beam.Row(lang="en", tags=beam.Row(k="v"))})
    assert record.fields == {"lang": "en", "tags": {"k": "v"}}


def test_a_yaml_style_fields_row_comes_out_by_name(tiny_tagger):
    rows = [beam.Row(id="a", text="Hi there.", fields=beam.Row(lang="en", n=1)),
            beam.Row(id="b", text="Hi there.", meta=beam.Row(lang="de", n=2))]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = (p | "Fields" >> beam.Create(rows[:1]),
               p | "Struct" >> beam.Create(rows[1:])) | beam.Flatten() | TagText(
                   **tiny_tagger.options)
        assert_that(out.tagged | beam.Map(lambda record: (record.id, record.fields)),
                    equal_to([("a", {"lang": "en", "n": 1}),
                              ("b", {"meta": {"lang": "de", "n": 2}})]))
