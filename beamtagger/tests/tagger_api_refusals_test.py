"""beamtagger.Tagger's refusals: each a one-line error naming what is wrong, before anything is
tagged, with TagText's (and the CLI's) messages where they have one."""
import os
import subprocess
import sys

import pytest

import beamtagger
from beamtagger.embeddings.importers import import_embeddings
from beamtagger.errors import BeamtaggerError
from beamtagger.model import runtimes
from beamtagger.tests.conftest import REPO_ROOT
from beamtagger.transforms import TagText, TextRecord, TokenizedRecord


def refusal(build):
    with pytest.raises(BeamtaggerError) as refused:
        build()
    return str(refused.value)


def test_import_beamtagger_imports_no_beam_and_tagger_is_there_on_first_use():
    code = ("import sys, beamtagger; heavy = [m for m in ('apache_beam', 'numpy', 'tensorflow') "
            "if m in sys.modules]; from beamtagger import Tagger; "
            "print(heavy, Tagger.__module__)")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}   # this checkout's beamtagger
    printed = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, check=True,
                             capture_output=True, text=True).stdout
    assert printed.strip() == "[] beamtagger.tagger"
    with pytest.raises(AttributeError, match="no attribute 'Tagge'"):
        beamtagger.Tagge


def test_a_model_dir_that_is_no_model_and_a_store_it_cannot_read_as_tagtext_says(tiny_tagger,
                                                                                 tmp_path):
    paths = {"model_dir": tiny_tagger.store_path, "store_path": tiny_tagger.store_path}
    said = refusal(lambda: beamtagger.Tagger(**paths))
    assert said == refusal(lambda: TagText(**paths)) and "tagger.json" in said
    vectors = tmp_path / "other.txt"
    vectors.write_text("the " + " ".join(["0.5"] * 8) + "\ncat " + " ".join(["-0.5"] * 8) + "\n")
    import_embeddings(vectors, tmp_path / "other")
    paths = {"model_dir": tiny_tagger.model_dir, "store_path": str(tmp_path / "other")}
    said = refusal(lambda: beamtagger.Tagger(**paths))
    assert said == refusal(lambda: TagText(**paths)) and "fingerprint" in said
    tagger = beamtagger.Tagger(**paths, allow_other_embeddings=True)
    assert len(tagger.tag("the cat").labels) == 2


def test_a_runtime_not_installed_is_refused_as_the_cli_refuses_it(tiny_tagger, monkeypatch):
    monkeypatch.setattr(runtimes, "module_installed", lambda module: module != "jax")
    paths = {"model_dir": tiny_tagger.model_dir, "store_path": tiny_tagger.store_path}
    said = refusal(lambda: beamtagger.Tagger(**paths, runtime="jax"))
    assert said == runtimes.get("jax").missing and said.startswith("JAX is not installed here")
    with pytest.raises(ValueError, match="runtime must be one of tensorflow, numpy, jax, not "
                                         "'torch'"):
        beamtagger.Tagger(**paths, runtime="torch")


def test_an_element_that_is_no_text_or_record_is_a_type_error_naming_its_position(tiny_tagger):
    tagger = beamtagger.Tagger(**tiny_tagger.options)
    tagged = tagger.tag_many(["the cat", b"the dog", "sat"])
    assert next(tagged).tokens == ("the", "cat")   # the record before it, in the same group
    with pytest.raises(TypeError, match=r"^Tagger.tag_many's record 1 is of type bytes, not a str, "
                                        r"TextRecord or TokenizedRecord$"):
        next(tagged)
    with pytest.raises(TypeError, match="^Tagger.tag's record is None, a missing value, not a "
                                        "text: leave it out"):
        tagger.tag(None)
    with pytest.raises(TypeError, match="record 0 is of type tuple"):
        list(tagger.tag_many([("id", "a tuple is not taken")]))
    with pytest.raises(ValueError, match="batch_chars must be a whole number of at least 1"):
        tagger.tag_many(["the cat"], batch_chars=0)
    # Found by fuzzing the API's arguments: True passed as 1, a group a record.
    with pytest.raises(ValueError, match="batch_chars must be a whole number of at least 1, "
                                         "not True"):
        tagger.tag_many(["the cat"], batch_chars=True)


def test_a_dataframe_a_str_or_a_dict_given_whole_is_refused_not_tagged_as_its_names(
        tiny_tagger):
    import pandas as pd

    tagger = beamtagger.Tagger(**tiny_tagger.options)
    frame = pd.DataFrame({"doc_id": [1, 2], "body": ["the cat", "the dog"]})
    # Each iterates over strings that are not its texts: column names, characters, keys.
    for whole, message in ((frame, r"a DataFrame, whose elements are its columns .* "
                                   r'give its text column, tag_many\(df\["body"\]\)$'),
                           (frame[["body"]], "a DataFrame, whose elements are its columns"),
                           ("the cat", "one str, whose elements are its characters: tag one "
                                       r"text with tag\(text\)"),
                           ({"a": "the cat"}, r"a dict, whose elements are its keys: give its "
                                              r"texts, d.values\(\)")):
        with pytest.raises(TypeError, match="^Tagger.tag_many's records are " + message):
            tagger.tag_many(whole)
    assert [tagged.tokens for tagged in tagger.tag_many(frame["body"])] == [
        ("the", "cat"), ("the", "dog")]


def test_a_record_tagtext_would_dead_letter_is_refused_naming_it_after_the_ones_before(
        tiny_tagger):
    tagger = beamtagger.Tagger(**tiny_tagger.options, max_record_chars=20)
    tagged = tagger.tag_many([TextRecord("a", "the cat sat"), TextRecord("b", "the dog " * 5)],
                             batch_chars=1)
    assert next(tagged).id == "a"
    said = refusal(lambda: next(tagged))
    assert said.startswith("Tagger.tag_many's record 1 (id 'b') cannot be tagged: the record "
                           "holds 40 characters, more than max_record_chars (20): ")
    assert "\n" not in said
    said = refusal(lambda: tagger.tag(TokenizedRecord("t", ("the", "cat"), (0,), (3, 7))))
    assert said == "Tagger.tag's record (id 't') cannot be tagged: 2 tokens but 1 starts and 2 ends"
    said = refusal(lambda: tagger.tag(TextRecord(7, "the cat")))
    assert "the record's id is int, not a string" in said
    with pytest.raises(ValueError, match="max_record_chars must be a whole number"):
        beamtagger.Tagger(**tiny_tagger.options, max_record_chars=0)


def test_a_text_over_max_record_chars_is_refused_naming_tagger_s_argument_not_the_cli_s(
        tiny_tagger):
    tagger = beamtagger.Tagger(**tiny_tagger.options, max_record_chars=20)
    said = refusal(lambda: tagger.tag("the dog " * 5))
    assert said.startswith("Tagger.tag's record (id '') cannot be tagged: the record holds 40 "
                           "characters, more than max_record_chars (20): ")
    assert "--max-record-chars" not in said and "give Tagger a larger max_record_chars" in said
    said = refusal(lambda: list(tagger.tag_many(["the cat", TokenizedRecord.from_tokens(
        "t", ["the", "dog"] * 5)])))
    assert said.startswith("Tagger.tag_many's record 1 (id 't') cannot be tagged: the record "
                           "holds 39 characters") and "--max-record-chars" not in said


def test_a_lone_surrogate_is_refused_naming_the_record_after_the_records_before_it(
        tiny_tagger):
    tagger = beamtagger.Tagger(**tiny_tagger.options)
    # One group (the default batch_chars): the records before the bad one still come first.
    tagged = tagger.tag_many(["the cat", TextRecord("b", "the dog"), "sat \ud83d on", "mat"])
    assert [next(tagged).tokens, next(tagged).id] == [("the", "cat"), "b"]
    said = refusal(lambda: next(tagged))
    assert said == ("Tagger.tag_many's record 2 (id '') cannot be tagged: its text holds a lone "
                    "surrogate (\\ud83d) at character 4, which no UTF-8 output can hold")
    said = refusal(lambda: tagger.tag(TokenizedRecord.from_tokens("t", ["a", "\udc00"])))
    assert said.startswith("Tagger.tag's record (id 't') cannot be tagged: its text holds a "
                           "lone surrogate (\\udc00) at character 2")
    # The tagger is left as it was: the next texts are tagged.
    assert tagger.tag("the cat sat").tokens == ("the", "cat", "sat")
