"""beamtagger.testing: the tiny tagger behind users' fast pipeline tests, used as a user would."""
import shutil

import pytest

import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue

from beamtagger.testing import TINY_LABELS
from beamtagger.transforms import TagText, TextRecord

TEXTS = {"s1": "I like green apples.", "s2": "They went home yesterday.",
         "s3": "Beam tags this text in a pipeline test, with words it never saw: zyzzyva!"}


def expected_labels(tiny_tagger, ids):
    return [(i, tuple(tiny_tagger.labels(TEXTS[i]))) for i in ids]


def test_tagtext_with_the_tiny_tagger_gives_the_tiny_models_own_labels(tiny_tagger):
    expected = expected_labels(tiny_tagger, TEXTS)
    assert {label for _, labels in expected for label in labels} <= set(TINY_LABELS)
    with TestPipeline() as p:
        out = (p | beam.Create([TextRecord(i, text) for i, text in TEXTS.items()])
               | TagText(**tiny_tagger.options))
        assert_that(out.tagged | beam.Map(lambda r: (r.id, r.labels)), equal_to(expected))


def test_applying_tagtext_logs_no_warning(tiny_tagger, caplog):
    # Beam warned on every use while expand() was annotated with TagTextResult, a NamedTuple
    # it cannot use as an output type hint.
    p = beam.Pipeline()
    with caplog.at_level("WARNING"):
        _ = p | beam.Create([TextRecord("s1", TEXTS["s1"])]) | TagText(**tiny_tagger.options)
    assert [record.getMessage() for record in caplog.records] == []


def test_empty_whole_and_long_records_come_out_once_with_their_source_and_window(tiny_tagger):
    # Bounded input: TagText carries them as tagged batches until after its Flatten.
    long_text = " ".join(["word"] * 600)
    texts = [("a", TEXTS["s1"], "s:a", 5), ("b", "", "s:b", 17), ("e", "  ", "", 18),
             ("c", long_text, "s:c", 30), ("d", TEXTS["s2"], "s:d", 75)]
    with TestPipeline() as p:
        out = (p | beam.Create(texts)
               | beam.MapTuple(lambda i, text, source, ts: TimestampedValue(
                   TextRecord(i, text, source), ts))
               | beam.WindowInto(window.FixedWindows(60))
               | TagText(**tiny_tagger.options))
        seen = out.tagged | beam.Map(
            lambda r, w=beam.DoFn.WindowParam: (r.id, r.source, len(r.tokens), len(r.labels),
                                                w.start.micros // 10 ** 6))
        assert_that(seen, equal_to([("a", "s:a", 5, 5, 0), ("b", "s:b", 0, 0, 0),
                                    ("e", "", 0, 0, 0), ("c", "s:c", 600, 600, 0),
                                    ("d", "s:d", 5, 5, 60)]))
        assert_that(out.errors, equal_to([]), label="no dead letters")


def test_a_record_no_utf8_can_hold_is_a_dead_letter_and_the_others_are_tagged(tiny_tagger):
    # Readers refuse lone surrogates; a pipeline's own records can still bring one. Before,
    # it failed every later batch of the worker at the featurize stage.
    records = [TextRecord(i, text, f"s:{i}") for i, text in TEXTS.items()]
    records.insert(1, TextRecord("bad", "one \ud800 token", "s:bad"))
    with TestPipeline() as p:
        out = p | beam.Create(records) | TagText(**tiny_tagger.options)
        assert_that(out.tagged | beam.Map(lambda r: (r.id, r.labels)),
                    equal_to(expected_labels(tiny_tagger, TEXTS)))
        assert_that(out.errors | beam.Map(lambda e: (e.source, e.stage, "surrogate" in e.reason)),
                    equal_to([("s:bad", "featurize", True)]), label="one dead letter")


def test_a_batch_the_model_fails_on_costs_only_its_failing_record(tiny_tagger, monkeypatch):
    # TagText's records path and streaming TagBatches make TaggedRecords from the tagged batch;
    # a failed batch is still retried record by record first.
    from beamtagger.model.numpy_inference import NumpyTaggerRunner
    from beamtagger.tests.conftest import fail_batches_of_width

    fail_batches_of_width(monkeypatch, NumpyTaggerRunner, 7)
    poison = TextRecord("poison", "one two three four five six seven", "s:poison")
    records = [TextRecord(i, text, f"s:{i}") for i, text in TEXTS.items()] + [poison]
    with TestPipeline() as p:
        out = p | beam.Create(records) | TagText(**tiny_tagger.options)
        assert_that(out.tagged | beam.Map(lambda r: (r.id, r.labels)),
                    equal_to(expected_labels(tiny_tagger, TEXTS)))
        assert_that(out.errors | beam.Map(lambda e: (e.source, e.stage, e.reason)),
                    equal_to([("s:poison", "tag", "tagger failed: RuntimeError("
                               "'simulated tagger failure')")]), label="one dead letter")


def test_a_tagged_batch_row_that_cannot_become_a_record_is_a_dead_letter():
    import pyarrow as pa

    from beamtagger.transforms.records import TokenizedRecord
    from beamtagger.transforms.tag import tagged_records_or_dead_letters
    from beamtagger.transforms.tagged_batches import tagged_batch_of_records

    records = [TokenizedRecord.from_tokens(i, ["a", "b"], f"s:{i}") for i in ("ok", "bad")]
    batch = tagged_batch_of_records(records, [0, 1, 1, 0], [0.5, 0.25, 0.75, 1.0], ("X", "Y"))
    fields = batch.schema.get_field_index("fields")
    batch = batch.set_column(fields, "fields", pa.array([None, "{not json"], pa.string()))
    outputs = list(tagged_records_or_dead_letters(batch))
    assert [o.id for o in outputs if not isinstance(o, beam.pvalue.TaggedOutput)] == ["ok"]
    (dead,) = [o.value for o in outputs if isinstance(o, beam.pvalue.TaggedOutput)]
    assert (dead.source, dead.record, dead.stage) == ("s:bad", "a b", "tag")
    assert "building the result failed" in dead.reason


def test_the_numpy_runtime_gives_the_labels_tensorflow_gives(tiny_tagger):
    assert tiny_tagger.options["runtime"] == "numpy"
    records = [TextRecord(i, text) for i, text in TEXTS.items()]
    with TestPipeline() as p:
        labels = {}
        for name, options in (("numpy", tiny_tagger.options),
                              ("tensorflow", tiny_tagger.tensorflow_options)):
            out = p | f"Create {name}" >> beam.Create(records) | name >> TagText(**options)
            labels[name] = out.tagged | f"Labels {name}" >> beam.Map(lambda r: (r.id, r.labels))
        assert_that(labels["numpy"], equal_to(expected_labels(tiny_tagger, TEXTS)),
                    label="numpy labels")
        assert_that(labels["tensorflow"], equal_to(expected_labels(tiny_tagger, TEXTS)),
                    label="tensorflow labels")


def test_a_users_pipeline_test_never_imports_tensorflow_and_needs_no_pytest(tiny_tagger,
                                                                            tmp_path):
    """One fresh interpreter for two things a user's own test relies on (each child imported
    Beam again, a third of this file's CPU). A pipeline test on the tiny tagger never imports
    TensorFlow: the point of the NumPy runtime, whose import is most of a fresh test's
    start-up. And docs/library.md's "without pytest" path (another test framework, no test
    extra): importing beamtagger.testing imported pytest, a ModuleNotFoundError. The pipeline
    runs first and must leave pytest unimported, so that the finder below refuses every import
    of it that building the tiny tagger makes."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import sys
        import apache_beam as beam
        from apache_beam.testing.test_pipeline import TestPipeline
        from apache_beam.testing.util import assert_that, equal_to
        from beamtagger.transforms import TagText, TextRecord
        with TestPipeline() as p:
            out = (p | beam.Create([TextRecord("a", "Beam tags this.")])
                   | TagText(model_dir={tiny_tagger.model_dir!r},
                             store_path={tiny_tagger.store_path!r}, runtime="numpy"))
            assert_that(out.tagged | beam.Map(lambda r: len(r.labels)), equal_to([4]))
        print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
        print(sorted(m for m in ("pytest", "_pytest") if m in sys.modules))

        class NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("pytest", "_pytest"):
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

        sys.meta_path.insert(0, NotInstalled())
        from beamtagger.testing import build_tiny_tagger
        built = build_tiny_tagger({str(tmp_path / "tiny")!r})
        print(built.labels("Beam tags this.") == {tiny_tagger.labels("Beam tags this.")!r})
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-3:] == ["[]", "[]", "True"]


def test_the_tiny_tagger_is_the_same_on_every_build(tiny_tagger, tmp_path):
    from beamtagger.testing import build_tiny_tagger

    again = build_tiny_tagger(tmp_path)
    text = "Beam tags this text, with words it never saw: zyzzyva!"
    assert again.labels(text) == tiny_tagger.labels(text)
    assert len(again.labels(text)) == 13


def test_labels_follow_a_tiny_tagger_rebuilt_in_the_same_folder(tmp_path):
    # Its cache was keyed by the paths: the rebuilt model kept the first one's labels.
    from beamtagger.testing import build_tiny_tagger

    text = "Beam tags this text, with words it never saw: zyzzyva!"
    first = build_tiny_tagger(tmp_path / "t", seed=7).labels(text)
    other = build_tiny_tagger(tmp_path / "other", seed=11).labels(text)
    assert first != other   # else the check below could not fail
    shutil.rmtree(tmp_path / "t")
    assert build_tiny_tagger(tmp_path / "t", seed=11).labels(text) == other


def test_labels_keep_only_the_last_few_tiny_models_loaded(tmp_path):
    # One kept per tiny tagger built: a session building one per test (tmp_path) held every
    # loaded model and its store's mapping until it ended.
    from beamtagger import testing

    text = "Beam tags this text."
    taggers = [testing.build_tiny_tagger(tmp_path / str(seed), seed=seed)
               for seed in range(testing._LOADED_KEPT + 2)]
    for tagger in taggers:
        tagger.labels(text)
    assert len(testing._LOADED) <= testing._LOADED_KEPT
    # The one dropped first is loaded again, with its own labels.
    assert taggers[0].labels(text) == testing.build_tiny_tagger(
        tmp_path / "again", seed=0).labels(text)


def test_the_issue_11_streaming_example_passes_as_written(tiny_tagger):
    # The example of issue #11 (there with the bundled model): no fake clock.
    stream = (TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue(TextRecord(id="s1", text=TEXTS["s1"]), 1)])
              .advance_processing_time(30)
              .add_elements([TimestampedValue(TextRecord(id="s2", text=TEXTS["s2"]), 3)])
              .advance_processing_time(30).advance_watermark_to_infinity())
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        out = p | stream | TagText(max_buffering_secs=1, **tiny_tagger.options)
        assert_that(out.tagged | beam.Map(lambda r: (r.id, len(r.labels))),
                    equal_to([("s1", 5), ("s2", 5)]))


def test_streaming_in_fixed_windows_each_record_comes_out_in_its_own_window(tiny_tagger):
    # No processing time passes: only the end of the input flushes, one window per record.
    stream = (TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue(TextRecord("s1", TEXTS["s1"]), 1)])
              .add_elements([TimestampedValue(TextRecord("s2", TEXTS["s2"]), 61)])
              .advance_watermark_to_infinity())
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        out = (p | stream | beam.WindowInto(window.FixedWindows(60))
               | TagText(max_buffering_secs=5, **tiny_tagger.options))
        assert_that(out.tagged | beam.Map(
            lambda r, w=beam.DoFn.WindowParam: (r.id, float(w.start))), equal_to([("s1", 0.0), ("s2", 60.0)]))


def test_streaming_long_records_split_into_chunks_in_different_batches_and_late_data(
        tiny_tagger):
    long_text = " ".join(["the cat sat on the mat ."] * 6)  # 42 tokens: 6 chunks of 10
    stream = (TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue(TextRecord("long", long_text), 5)])
              .advance_processing_time(10)
              .add_elements([TimestampedValue(TextRecord("s1", TEXTS["s1"]), 70)])
              .advance_watermark_to(200)
              # Behind the watermark: its window [0, 60) has closed; it is tagged all the same.
              .add_elements([TimestampedValue(TextRecord("late", TEXTS["s2"]), 30)])
              .advance_processing_time(10)
              .advance_watermark_to_infinity())
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        out = (p | stream | beam.WindowInto(window.FixedWindows(60))
               | TagText(max_buffering_secs=5, chunk=10, overlap=2, max_batch_tokens=10,
                         **tiny_tagger.options))
        assert_that(out.tagged | beam.Map(
            lambda r, w=beam.DoFn.WindowParam: (r.id, len(r.labels), float(w.start))),
            equal_to([("long", 42, 0.0), ("s1", 5, 60.0), ("late", 5, 0.0)]))


def test_the_fixture_copies_the_tiny_tagger_cached_on_the_first_build(tmp_path, monkeypatch):
    import filecmp
    import pathlib

    from beamtagger import testing

    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "cache"))
    first = testing.cached_tiny_tagger(tmp_path / "first")
    (cached,) = (tmp_path / "cache" / "tiny-tagger").iterdir()
    assert not [p for p in cached.parent.iterdir() if p.name.startswith(".")]  # published whole

    def no_build(*args, **kwargs):
        raise AssertionError("built again although cached")

    monkeypatch.setattr(testing, "build_tiny_tagger", no_build)
    second = testing.cached_tiny_tagger(tmp_path / "second")
    for name, path in (("model", second.model_dir), ("store", second.store_path)):
        files = sorted(p.name for p in (cached / name).iterdir())
        assert files and sorted(p.name for p in pathlib.Path(path).iterdir()) == files
        same, different, failed = filecmp.cmpfiles(cached / name, path, files, shallow=False)
        assert sorted(same) == files, (different, failed)
    assert second.model_dir != first.model_dir  # each session has its own copy
    # Another seed is another model: another cache entry.
    assert testing._cache_dir(8) != testing._cache_dir(7)
    monkeypatch.setenv("BEAMTAGGER_TINY_TAGGER_CACHE", "0")
    assert testing._cache_dir(7) is None


def test_a_second_cached_tiny_tagger_in_one_folder_is_refused(tmp_path, monkeypatch):
    # It was copytree's FileExistsError; now build_tiny_tagger's refusal (the cache turned
    # off), naming the folder in the way. The test below holds the two the same without
    # building a tagger (5 s) here.
    from beamtagger import testing
    from beamtagger.errors import BeamtaggerError

    monkeypatch.setenv("BEAMTAGGER_TINY_TAGGER_CACHE", "1")
    first = testing.cached_tiny_tagger(tmp_path)
    copied = sorted(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(BeamtaggerError, match=f"^{tmp_path / 'store'} already exists; "
                                              "choose another directory"):
        testing.cached_tiny_tagger(tmp_path)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == copied   # the first copy left whole
    assert first.model_dir in copied and first.store_path in copied


@pytest.mark.parametrize("cache", ["1", "0"])
def test_a_folder_holding_only_a_model_gets_nothing_written_into_it(tmp_path, monkeypatch,
                                                                     cache):
    from beamtagger import testing
    from beamtagger.errors import BeamtaggerError

    monkeypatch.setenv("BEAMTAGGER_TINY_TAGGER_CACHE", cache)
    (tmp_path / "model").mkdir()
    with pytest.raises(BeamtaggerError, match="model already exists; choose another directory"):
        testing.cached_tiny_tagger(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
