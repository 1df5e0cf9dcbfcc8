"""TagTextWithModels: each model's results are its own TagText's, the stages before the tag
stage applied once; and what it refuses where it is built."""
import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue

from beamtagger.errors import BeamtaggerError
from beamtagger.testing import build_tiny_tagger
from beamtagger.transforms import TagText, TagTextWithModels, TextRecord
from beamtagger.transforms.tag_text import TagTextInParts

# chunk=16: the long record is chunked and stitched; max_record_chars=120: the last record is a
# dead letter of stage tokenize; the lone surrogate one of stage featurize.
OPTIONS = {"runtime": "numpy", "chunk": 16, "overlap": 4, "max_record_chars": 120}
TEXTS = [("a", "The cat sat on the mat .", 5), ("empty", "", 17),
         ("long", " ".join(["the dog ran home"] * 6), 30), ("b", "A bird flew .", 75),
         ("surrogate", "one \ud800 token", 80), ("too-long", "word " * 30, 90)]


@pytest.fixture(scope="module")
def other_tagger(tiny_tagger, tmp_path_factory):
    """Another tiny model over the tiny tagger's store: other weights, the same inputs."""
    return build_tiny_tagger(tmp_path_factory.mktemp("other-model"), seed=8,
                             store_path=tiny_tagger.store_path)


def _records(p, streaming=False):
    records = [TimestampedValue(TextRecord(i, text, f"s:{i}"), ts) for i, text, ts in TEXTS
               # TestStream encodes its elements, and no coder encodes a lone surrogate.
               if not (streaming and i == "surrogate")]
    if streaming:
        return p | test_stream.TestStream().add_elements(records).advance_watermark_to_infinity()
    return (p | beam.Create(records) | beam.Map(lambda record: record)
            | beam.WindowInto(window.FixedWindows(60)))


def _assert_same(together, alone, label):
    """Asserts the two PCollections hold the same elements in the same windows at the same
    timestamps (each as its repr: a float's repr gives it back exactly)."""
    def placed(side):
        return beam.Map(lambda e, w=beam.DoFn.WindowParam, t=beam.DoFn.TimestampParam:
                        (side, repr((e, w, t))))

    def same(found):
        sides = {side: sorted(text for named, text in found if named == side)
                 for side in ("together", "alone")}
        assert sides["together"] == sides["alone"], sides

    assert_that((together | f"Together{label}" >> placed("together"),
                 alone | f"Alone{label}" >> placed("alone")) | f"Both{label}" >> beam.Flatten(),
                same, label=f"Same{label}")


def _records_of(parts, label):
    """The TaggedRecords of TagTextInParts' parts (tagged batches on bounded input), each
    at 0 in the global window: where a record's batch is stamped is not TagTextInParts' to
    keep."""
    import pyarrow as pa

    from beamtagger.transforms.tagged_batches import tagged_records

    return (parts | f"Parts{label}" >> beam.Flatten()
            | f"Records{label}" >> beam.FlatMap(
                lambda e: tagged_records(e) if isinstance(e, pa.RecordBatch) else [e])
            | f"Unplaced{label}" >> beam.WindowInto(window.GlobalWindows())
            | f"AtZero{label}" >> beam.Map(lambda r: TimestampedValue(r, 0)))


@pytest.mark.parametrize("streaming", [False, True], ids=["bounded", "streaming"])
def test_each_model_gives_what_its_own_tagtext_gives(tiny_tagger, other_tagger, streaming):
    # And TagTextInParts (beamtagger tag's) given several models, what it gives for each alone
    # (bounded: what beamtagger tag runs, and the path that differs from TagText's).
    models = {"tiny": tiny_tagger.model_dir, "other": other_tagger.model_dir}
    options = {**OPTIONS, "store_path": tiny_tagger.store_path, "keep_text": True}
    if streaming:
        options["max_buffering_secs"] = 1
    p = beam.Pipeline(options=beam.options.pipeline_options.PipelineOptions())
    p.options.view_as(StandardOptions).streaming = streaming
    with p:
        records = _records(p, streaming)
        together = records | TagTextWithModels(models, **options)
        assert list(together) == ["tiny", "other"]
        if not streaming:
            in_parts = records | TagTextInParts(models=models, **options)
            assert list(in_parts) == ["tiny", "other"]
        labels = {}
        for name, model_dir in models.items():
            alone = records | f"Alone{name}" >> TagText(model_dir, **options)
            for output in ("tagged", "errors"):
                _assert_same(getattr(together[name], output), getattr(alone, output),
                             f"{name}{output}")
            if not streaming:
                alone = records | f"PartsAlone{name}" >> TagTextInParts(model_dir, **options)
                assert len(in_parts[name].tagged) == 3
                _assert_same(_records_of(in_parts[name].tagged, name),
                             _records_of(alone.tagged, f"{name}Alone"), f"InParts{name}")
                _assert_same(in_parts[name].errors, alone.errors, f"InPartsErrors{name}")
            labels[name] = together[name].tagged | f"Labels{name}" >> beam.Map(
                lambda r, name=name: (name, r.id, r.labels))
            # Every record once: tagged, or a dead letter of its stage.
            assert_that(
                (together[name].tagged | f"Ids{name}" >> beam.Map(lambda r: (r.id, "tagged")),
                 together[name].errors | f"Dead{name}" >> beam.Map(lambda e: (e.source, e.stage)))
                | f"Outcomes{name}" >> beam.Flatten(),
                equal_to([("a", "tagged"), ("empty", "tagged"), ("long", "tagged"),
                          ("b", "tagged"), ("s:too-long", "tokenize")]
                         + [("s:surrogate", "featurize")] * (not streaming)),
                label=f"Once{name}")

        def differ(found):
            # Two models of other weights: the comparisons above hold two different taggers.
            tiny, other = ({i: labels for name, i, labels in found if name == side}
                           for side in ("tiny", "other"))
            assert tiny.keys() == other.keys() == {"a", "empty", "long", "b"}, found
            assert tiny != other, found

        assert_that((labels["tiny"], labels["other"]) | "BothLabels" >> beam.Flatten(), differ,
                    label="LabelsDiffer")


def _steps(pipeline, label):
    """The labels of the steps directly inside the step ``label`` of ``pipeline``."""
    [applied] = [t for t in pipeline.transforms_stack[0].parts if t.full_label == label]
    return [part.full_label[len(label) + 1:] for part in applied.parts]


def test_the_stages_before_tagging_are_applied_once(tiny_tagger, other_tagger,
                                                    tmp_path_factory):
    from beamtagger.testing import cached_tiny_tagger

    # A model over another store (allowed in): other inputs, so vectors of its own.
    apart = cached_tiny_tagger(tmp_path_factory.mktemp("apart"), seed=3)
    p = beam.Pipeline()
    _ = p | beam.Create([TextRecord("a", "x")]) | "Multi" >> TagTextWithModels(
        {"tiny": tiny_tagger.model_dir, "other": other_tagger.model_dir,
         "apart": apart.model_dir}, tiny_tagger.store_path, allow_other_embeddings=True,
        keep_text=True, **OPTIONS)
    steps = _steps(p, "Multi")
    once = ["CollectRecordBlocks", "KeepText", "Tokenize", "SplitIntoChunks", "BucketByLength"]
    assert [step for step in steps if step in once] == once
    assert [step for step in steps if step.startswith("AttachVectors")] == [
        "AttachVectors[tiny+other]", "AttachVectors[apart]"]
    for name in ("tiny", "other", "apart"):
        assert [step for step in steps if step.endswith(f"[{name}]")
                and not step.startswith("AttachVectors")] == [
            f"Tag[{name}]", f"StitchChunks[{name}]", f"AllTagged[{name}]",
            f"AsTaggedRecords[{name}]", f"AllErrors[{name}]"]
    # Two models of the same inputs: one AttachVectors, labelled as TagText's.
    p = beam.Pipeline()
    _ = p | beam.Create([TextRecord("a", "x")]) | "Two" >> TagTextWithModels(
        {"tiny": tiny_tagger.model_dir, "other": other_tagger.model_dir},
        tiny_tagger.store_path, **OPTIONS)
    assert [step for step in _steps(p, "Two") if "AttachVectors" in step or "Tokenize" in step] \
        == ["Tokenize", "AttachVectors"]


@pytest.mark.parametrize("models, thresholds, refused", [
    ({}, None, r"^models is empty: give at least one name -> model directory$"),
    (["models/upos"], None, r"^models must be a mapping of names to model directories"),
    ({"": None}, None, r"^model name '' is not one: give 1 to 64 ASCII letters"),
    ({"a/b": None}, None, r"^model name 'a/b' is not one"),
    ({"-x": None}, None, r"^model name '-x' is not one"),
    ({"x" * 65: None}, None, r"^model name 'x{65}' is not one"),
    ({7: None}, None, r"^model name 7 is not one"),
    ({"upos": None, "UPOS": None}, None,
     r"^model names 'upos' and 'UPOS' differ only in case: their files would be one"),
    ({"upos": None}, {"ner": 0.5}, r"^thresholds given for 'ner', not a model's name \('upos'\)$"),
])
def test_what_is_no_set_of_models_is_refused_where_it_is_built(models, thresholds, refused):
    from beamtagger.transforms.models_to_tag import ModelsRefused

    with pytest.raises(ModelsRefused, match=refused) as caught:
        TagTextWithModels(models, thresholds=thresholds)
    assert isinstance(caught.value, ValueError) and "\n" not in str(caught.value)


def test_a_model_each_tagtext_would_refuse_is_refused_by_its_name(tiny_tagger, other_tagger,
                                                                   binary_tagger, tmp_path):
    from beamtagger.testing import cached_tiny_tagger

    store = tiny_tagger.store_path
    # A threshold for a model that is no flag tagger: TagText's line, naming the option.
    with pytest.raises(ValueError, match=(
            r"^thresholds\['other'\]: model .* is not a binary tagger \(a softmax head\)")):
        TagTextWithModels({"tiny": tiny_tagger.model_dir, "other": other_tagger.model_dir},
                          store, thresholds={"other": 0.4})
    with pytest.raises(ValueError, match=r"^thresholds\['tiny'\] must be a number from 0 to 1"):
        TagTextWithModels({"tiny": tiny_tagger.model_dir}, store, thresholds={"tiny": 2})
    # A model that cannot read the store the others read: TagText's store check, per model.
    apart = cached_tiny_tagger(tmp_path / "apart", seed=3)
    with pytest.raises(BeamtaggerError, match=(
            f"^model {apart.model_dir} was trained on the embedding store with fingerprint")):
        TagTextWithModels({"tiny": tiny_tagger.model_dir, "apart": apart.model_dir}, store)
    with pytest.raises(BeamtaggerError, match=f"^{tiny_tagger.store_path} is not a tagger model"):
        TagTextWithModels({"tiny": tiny_tagger.model_dir, "store": store}, store)
    with pytest.raises(ValueError, match="^TagTextWithModels takes models and thresholds, not "
                                         "threshold$"):
        TagTextWithModels({"tiny": tiny_tagger.model_dir}, store, threshold=0.5)
    with pytest.raises(ValueError, match="^give models \\(and thresholds\\), or model_dir"):
        TagTextInParts(tiny_tagger.model_dir, store, models={"tiny": tiny_tagger.model_dir})
    # A flag tagger given a threshold under its name is taken (over a store it can read).
    TagTextWithModels({"flag": binary_tagger.model_dir}, binary_tagger.store_path,
                      thresholds={"flag": 0.3})


def test_tagtext_still_shows_the_model_and_threshold_it_tags_with(tiny_tagger, binary_tagger):
    # Public before TagText became the one-model case of TagTextWithModels: a user's code (a
    # RunInference beside it, a log line) reads them; read-only, as they were checked where
    # the transform was built.
    tag = TagText(binary_tagger.model_dir, binary_tagger.store_path, threshold=0.25)
    assert (tag.model_dir, tag.threshold) == (binary_tagger.model_dir, 0.25)
    bundled = TagText(runtime="numpy")
    assert (bundled.model_dir, bundled.threshold) == (None, None)
    with pytest.raises(AttributeError):
        tag.model_dir = tiny_tagger.model_dir
    # Several models have no one model_dir: the line says where they are.
    several = TagTextWithModels({"tiny": tiny_tagger.model_dir, "again": tiny_tagger.model_dir},
                                tiny_tagger.store_path)
    for name in ("model_dir", "threshold"):
        with pytest.raises(AttributeError, match=(
                f"^TagTextWithModels tags with models by name: read its models, not {name}$")):
            getattr(several, name)


@pytest.mark.parametrize("model_dir, refused", [
    ("", r"^models\['tiny'\] is an empty path: give the model's directory, or None for the "
         r"bundled model$"),
    (7, r"^models\['tiny'\] must be a model directory \(a str or os.PathLike\), or None for "
        r"the bundled model, not int$"),
    (b"models/upos", r"^models\['tiny'\] must be a model directory .* not bytes$"),
])
def test_a_path_that_is_none_is_refused_by_the_models_name(model_dir, refused):
    # They were "expected str, bytes or os.PathLike object, not int", "cannot use a string
    # pattern on a bytes-like object" and ". is not a tagger model" (the current folder).
    from beamtagger.transforms.models_to_tag import ModelsRefused

    with pytest.raises(ModelsRefused, match=refused):
        TagTextWithModels({"tiny": model_dir})


def test_tagtextinparts_refuses_thresholds_without_models(tiny_tagger, binary_tagger):
    from beamtagger.transforms.models_to_tag import ModelsRefused

    # They were dropped: the run tagged at the model's own threshold.
    with pytest.raises(ModelsRefused, match=r"^thresholds are models' \(by name\): give "
                                            r"models with them, or threshold with model_dir$"):
        TagTextInParts(binary_tagger.model_dir, binary_tagger.store_path,
                       thresholds={"flag": 0.3})
