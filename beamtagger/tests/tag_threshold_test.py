"""A yes/no flag tagger's threshold chosen where it tags: ``beamtagger tag --threshold X`` and
the library's ``threshold=`` (Tagger, TagText, TagBatches, StitchChunks, TaggerModelHandler).

Before, the threshold was the model folder's (``tagger.json``): a model in a bucket or a
read-only shared folder, or two runs at two thresholds from one model, needed a copy of the
folder rewritten by ``model set-threshold``. An override must tag exactly as such a copy
does, on every runtime and through every path (whole records, chunks stitched back), leave
the model's files and the pinning of them alone, and be refused in one line where it cannot
apply.
"""
import json
import pathlib
import re
import shutil

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.errors import BeamtaggerError
from beamtagger.model.saving import set_threshold
from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.flaguser_threshold_test import (TEXT, _threshold_that_changes_the_flags,
                                                      _yes_probabilities)
from beamtagger.transforms import TextRecord

# The second record is longer than CHUNK tokens: tagged in chunks stitched back together.
CHUNK, OVERLAP = 24, 4
RECORDS = [TextRecord("whole", TEXT), TextRecord("long", f"{TEXT} {TEXT}")]


@pytest.fixture(scope="module")
def chosen(binary_tagger):
    """A threshold whose flags differ from the model's own 0.5 on TEXT."""
    return _threshold_that_changes_the_flags(
        _yes_probabilities(binary_tagger.model_dir, binary_tagger.store_path))


@pytest.fixture(scope="module")
def set_to_it(binary_tagger, chosen, tmp_path_factory):
    """A copy of the flag tagger whose own threshold ``model set-threshold`` made ``chosen``."""
    model = shutil.copytree(binary_tagger.model_dir, tmp_path_factory.mktemp("set") / "model")
    assert set_threshold(model, chosen) == 0.5
    return str(model)


def labels_of(model_dir, store_path, runtime="numpy", **options):
    from beamtagger import Tagger

    tagger = Tagger(model_dir, store_path, runtime=runtime, chunk=CHUNK, overlap=OVERLAP,
                    **options)
    return tagger, [(tagged.id, tagged.labels) for tagged in tagger.tag_many(RECORDS)]


@pytest.mark.parametrize("runtime", ["numpy", "tensorflow", "jax"])
def test_the_tagger_at_an_override_tags_as_the_model_set_to_it(
        runtime, binary_tagger, chosen, set_to_it):
    if runtime == "jax":
        pytest.importorskip("jax", reason="the jax extra is not installed")
    store = binary_tagger.store_path
    overridden, at_override = labels_of(binary_tagger.model_dir, store, runtime,
                                        threshold=chosen)
    own, at_own = labels_of(binary_tagger.model_dir, store, runtime)
    assert at_override == labels_of(set_to_it, store, runtime)[1]
    assert at_override != at_own
    assert (overridden.threshold, own.threshold) == (chosen, 0.5)


def test_the_model_handler_tags_at_the_override(binary_tagger, chosen, set_to_it):
    from beamtagger.transforms.model_handler import TaggerModelHandler

    handler = TaggerModelHandler(binary_tagger.model_dir, binary_tagger.store_path,
                                 runtime="numpy", chunk=CHUNK, overlap=OVERLAP,
                                 threshold=chosen)
    tagged = handler.tagged_records(RECORDS, handler.load_model())
    assert [(record.id, record.labels) for record in tagged] == labels_of(
        set_to_it, binary_tagger.store_path)[1]


def test_tagtext_tags_at_the_override_and_its_pinned_model_still_counts(
        binary_tagger, flag_model, chosen, set_to_it):
    from beamtagger.transforms import TagText

    store = binary_tagger.store_path
    expected = labels_of(set_to_it, store)[1]
    options = dict(runtime="numpy", chunk=CHUNK, overlap=OVERLAP, threshold=chosen)
    # Built against flag_model's tagger.json where it is applied (validate, workers here):
    # the override, which is no change to that file, tags and passes the comparison.
    pipeline = beam.Pipeline()
    tagged = pipeline | beam.Create(RECORDS) | TagText(flag_model, store, **options)
    assert_that(tagged.tagged | beam.Map(lambda record: (record.id, record.labels)),
                equal_to(expected))
    pipeline.run().wait_until_finish()
    # The model's own threshold set after the pipeline was built is still a model saved again.
    pipeline = beam.Pipeline()
    _ = pipeline | beam.Create(RECORDS) | TagText(flag_model, store, **options)
    set_threshold(flag_model, 0.9)
    with pytest.raises(BeamtaggerError, match=f"^model {flag_model} was saved again after "
                       "this pipeline was built"):
        pipeline.run().wait_until_finish()


def test_tag_threshold_tags_as_the_model_set_to_it_and_says_which(
        binary_tagger, chosen, set_to_it, tmp_path, capsys):
    (tmp_path / "in.txt").write_text("".join(f"{record.text}\n" for record in RECORDS),
                                     encoding="utf-8")
    spec_file = pathlib.Path(binary_tagger.model_dir, "tagger.json")
    before = spec_file.read_bytes()

    def tag(name, model, *extra):
        summary = tmp_path / f"{name}.json"
        code, out, err = run_tag_command(
            capsys, "--model", model, "--embeddings", binary_tagger.store_path, "--input",
            str(tmp_path / "in.txt"), "--output", str(tmp_path / name / "run"), "--chunk",
            str(CHUNK), "--overlap", str(OVERLAP), "--summary-json", str(summary), *extra)
        assert code == 0, err
        labels = {}
        for path in sorted((tmp_path / name).glob("run-*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                labels[record["id"]] = [token["label"] for token in record["tokens"]]
        return labels, out, json.loads(summary.read_text(encoding="utf-8"))["threshold"]

    at_override, out, threshold = tag("override", binary_tagger.model_dir,
                                      "--threshold", str(chosen))
    assert f"threshold        {chosen}  (--threshold; the model's own is 0.5)\n" in out
    assert threshold == {"value": chosen, "set_by": "--threshold"}
    at_set, out, threshold = tag("set", set_to_it)
    assert f"threshold        {chosen}  (the model's; --threshold sets another)\n" in out
    assert threshold == {"value": chosen, "set_by": "model"}
    assert at_override == at_set and len(at_set) == 2
    assert spec_file.read_bytes() == before


@pytest.mark.parametrize("model, threshold, message", [
    ("{flag}", "1.5", "--threshold for model {flag} must be a number from 0 to 1, not 1.5"),
    ("{flag}", "nan", "--threshold for model {flag} must be a number from 0 to 1, not nan"),
    ("{flag}", "-inf", "--threshold for model {flag} must be a number from 0 to 1, not -inf"),
    ("{tags}", "0.3", "--threshold: model {tags} is not a binary tagger (a softmax head): a "
     "threshold applies to taggers trained with train --binary-label"),
    (None, "0.3", "--threshold: the bundled model is not a binary tagger (a softmax head)"),
])
def test_tag_refuses_a_threshold_in_one_line_before_launch(
        model, threshold, message, binary_tagger, tiny_tagger, tmp_path, text_in, capsys):
    names = {"flag": binary_tagger.model_dir, "tags": tiny_tagger.model_dir}
    chosen_model = ["--model", model.format(**names)] if model else []
    code, out, err = run_tag_command(capsys, *chosen_model, "--input", str(text_in), "--output",
                                     str(tmp_path / "out" / "run"), f"--threshold={threshold}")
    assert code == 2
    assert message.format(**names) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def _made(name, model_dir, store_path, threshold):
    from beamtagger import Tagger
    from beamtagger.transforms import StitchChunks, TagBatches, TagText
    from beamtagger.transforms.model_handler import TaggerModelHandler

    return {
        "Tagger": lambda: Tagger(model_dir, store_path, runtime="numpy", threshold=threshold),
        "TagText": lambda: TagText(model_dir, store_path, threshold=threshold),
        "TagBatches": lambda: TagBatches(model_dir, threshold=threshold),
        "StitchChunks": lambda: StitchChunks(model_dir, threshold=threshold),
        "TaggerModelHandler": lambda: TaggerModelHandler(model_dir, store_path,
                                                         threshold=threshold),
    }[name]()


@pytest.mark.parametrize("name", ["Tagger", "TagText", "TagBatches", "StitchChunks",
                                  "TaggerModelHandler"])
@pytest.mark.parametrize("model, threshold, message", [
    ("{flag}", 1.5, "^threshold must be a number from 0 to 1, not 1.5$"),
    ("{flag}", float("nan"), "^threshold must be a number from 0 to 1, not nan$"),
    ("{flag}", True, "^threshold must be a number from 0 to 1, not True$"),
    ("{flag}", "0.3", "^threshold must be a number from 0 to 1, not '0.3'$"),
    ("{tags}", 0.3, r"^threshold: model {tags} is not a binary tagger \(a softmax head\): a "
     "threshold applies to taggers trained with train --binary-label$"),
])
def test_the_library_refuses_a_threshold_where_it_is_given(
        name, model, threshold, message, binary_tagger, tiny_tagger):
    tagger = {"{flag}": binary_tagger, "{tags}": tiny_tagger}[model]
    with pytest.raises(ValueError, match=message.format(flag=re.escape(binary_tagger.model_dir),
                                                        tags=re.escape(tiny_tagger.model_dir))):
        _made(name, tagger.model_dir, tagger.store_path, threshold)
