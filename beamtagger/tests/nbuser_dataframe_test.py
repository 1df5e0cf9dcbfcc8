"""A data scientist's pandas column through beamtagger.Tagger: missing values and other
elements that are no text, the results back into the DataFrame, and an entity table
(docs/library.md, "In a pandas DataFrame", run as written)."""
import functools

import pandas as pd
import pytest

import beamtagger
from beamtagger.transforms import DeadLetter, TaggedRecord


def test_a_missing_value_in_a_column_says_it_is_one_and_what_to_do(tiny_tagger):
    tagger = beamtagger.Tagger(**tiny_tagger.options)
    for missing in (None, float("nan"), pd.NA):
        column = pd.Series(["the cat", missing, "the dog"], dtype=object)
        tagged = tagger.tag_many(column)
        assert next(tagged).tokens == ("the", "cat")
        with pytest.raises(TypeError, match=r"^Tagger.tag_many's record 1 is .*, a missing value, "
                                            r"not a text: leave it out \(series.dropna\(\)\), "
                                            r'.* errors="dead_letter"'):
            next(tagged)
    with pytest.raises(ValueError, match="errors must be one of 'raise', 'dead_letter', not "
                                         "'ignore'"):
        tagger.tag_many(["the cat"], errors="ignore")


def test_errors_dead_letter_gives_one_result_a_row_a_dead_letter_where_it_cannot_tag(
        tiny_tagger):
    tagger = beamtagger.Tagger(**tiny_tagger.options, max_record_chars=30)
    frame = pd.DataFrame({"text": ["the cat sat", None, "the dog", float("nan"), 42,
                                   "sat \ud800 on", "the mat " * 5, "a cat"]},
                         index=[10, 11, 12, 13, 14, 15, 16, 17])
    results = list(tagger.tag_many(frame["text"], errors="dead_letter"))
    assert [type(result) for result in results] == [
        TaggedRecord, DeadLetter, TaggedRecord, DeadLetter, DeadLetter, DeadLetter, DeadLetter,
        TaggedRecord]
    # The rows that can be tagged get what they get alone, in their rows.
    texts = ["the cat sat", "the dog", "a cat"]
    assert [r for r in results if isinstance(r, TaggedRecord)] == list(tagger.tag_many(texts))
    dead = {int(r.source.removeprefix("record ")): r for r in results
            if isinstance(r, DeadLetter)}
    assert sorted(dead) == [1, 3, 4, 5, 6] and {r.stage for r in dead.values()} == {"tokenize"}
    assert dead[1].reason.startswith("the element is None, a missing value")
    assert dead[3].reason.startswith("the element is nan, a missing value")
    assert dead[4] == DeadLetter("record 4", "the element is of type int, not a str, TextRecord "
                                             "or TokenizedRecord", "42", "tokenize")
    assert dead[5].record == "sat \ud800 on" and "lone surrogate" in dead[5].reason
    assert dead[6].record == "the mat " * 5 and "max_record_chars (30)" in dead[6].reason
    # Small groups too: each dead letter stays in its place.
    assert list(tagger.tag_many(frame["text"], errors="dead_letter", batch_chars=4)) == results

    frame["labels"] = [r.labels if isinstance(r, TaggedRecord) else None for r in results]
    frame["error"] = [None if isinstance(r, TaggedRecord) else r.reason for r in results]
    assert frame.loc[12, "labels"] == results[2].labels and frame.loc[12, "error"] is None
    assert frame.loc[11, "labels"] is None and "missing value" in frame.loc[11, "error"]


def library_dataframe_recipe():
    """docs/library.md's "In a pandas DataFrame" block, as written (indented in its list
    item)."""
    from beamtagger.tests.docs_examples_test import the_block

    return the_block("docs/library.md", "In Python, without a pipeline: `Tagger`",
                     "import pandas as pd")


def test_the_library_dataframe_recipe_runs_as_written(entity_tagger, monkeypatch):
    # Its bundled entity model is the tiny one here, on the tiny one's store.
    asked = []
    monkeypatch.setattr(beamtagger, "bundled_model",
                        lambda name: asked.append(name) or entity_tagger.model_dir)
    monkeypatch.setattr(beamtagger, "Tagger", functools.partial(
        beamtagger.Tagger, store_path=entity_tagger.store_path, runtime="numpy"))
    df = pd.DataFrame({"text": ["Bob went to Paris .", None, "Alice  met Bob in Paris ."]},
                      index=["d1", "d2", "d3"])
    names = {"df": df}
    exec(compile(library_dataframe_recipe(), "library.md", "exec"), names)
    assert df["labels"].map(lambda labels: labels is None).tolist() == [False, True, False]
    assert len(df.loc["d1", "labels"]) == 5 and "missing value" in df.loc["d2", "error"]
    # The entity model, not Tagger()'s parts of speech, whose entities() are all [].
    assert asked == ["ner"]
    entities = names["entities"]
    assert list(entities.columns) == ["doc_id", "text", "label", "start", "end"]
    assert len(entities) and set(entities["doc_id"]) <= {"d1", "d3"}
    # The offsets index the row's own text; a gap of two spaces reads as two.
    assert all(df.loc[row.doc_id, "text"][row.start:row.end] == row.text
               for row in entities.itertuples())
