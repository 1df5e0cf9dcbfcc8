"""TaggerModelHandler under RunInference: same labels as TagText, keyed, failures, model refresh."""
import logging

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.ml.inference.base import (KeyedModelHandler, ModelHandler, ModelMetadata,
                                            RunInference)
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.testing import build_tiny_tagger
from beamtagger.tests.faulty_filesystem import PREFIX
from beamtagger.transforms import TaggerModelHandler, TagText, TextRecord, TokenizedRecord

LONG = " ".join(["the cat sat on the mat ."] * 6)  # 42 tokens
RECORDS = [TextRecord("s1", "I like green apples."), TextRecord("s2", "They went home yesterday."),
           TextRecord("empty", "   "), TextRecord("long", LONG),
           TextRecord("oov", "Zyzzyva quux, frobnicated!")]


def tagtext_labels(tiny, records, **options):
    with TestPipeline() as p:
        out = p | beam.Create(records) | TagText(**tiny.options, **options)
        assert_that(out.tagged | beam.Map(lambda r: (r.id, r.tokens, r.labels)),
                    equal_to(expected_of(tiny, records, **options)))


def expected_of(tiny, records, chunk=256, overlap=64):
    """TaggedRecords from RunInference in a pipeline of its own, as (id, tokens, labels)."""
    results = []
    handler = TaggerModelHandler(**tiny.options, chunk=chunk, overlap=overlap)
    model = handler.load_model()
    for result in handler.run_inference(records, model):
        results.append((result.inference.id, result.inference.tokens, result.inference.labels))
    return results


def test_run_inference_gives_the_labels_tagtext_gives(tiny_tagger):
    # TagText (bucketing across the bundle, chunks stitched by StitchChunks) against the
    # handler run directly; then RunInference itself against the same.
    tagtext_labels(tiny_tagger, RECORDS, chunk=10, overlap=2)
    expected = expected_of(tiny_tagger, RECORDS, chunk=10, overlap=2)
    assert [len(tokens) for _, tokens, _ in expected] == [5, 5, 0, 42, 5]
    handler = TaggerModelHandler(**tiny_tagger.options, chunk=10, overlap=2)
    for record, result in zip(RECORDS, handler.run_inference(RECORDS, handler.load_model())):
        tagged = result.inference
        assert [record.text[s:e] for s, e in zip(tagged.starts, tagged.ends)] == list(
            tagged.tokens)
        assert len(tagged.labels) == len(tagged.scores) == len(tagged.tokens)
    with TestPipeline() as p:
        out = (p | beam.Create(RECORDS)
               | RunInference(TaggerModelHandler(**tiny_tagger.options, chunk=10, overlap=2)))
        assert_that(out | beam.Map(lambda r: (r.inference.id, r.inference.tokens,
                                              r.inference.labels)), equal_to(expected))


def test_keyed_model_handler_and_plain_strings(tiny_tagger):
    expected = {i: labels for i, _, labels in expected_of(tiny_tagger, RECORDS)}
    with TestPipeline() as p:
        out = (p | beam.Create([(r.id, r.text) for r in RECORDS])
               | RunInference(KeyedModelHandler(TaggerModelHandler(**tiny_tagger.options))))
        assert_that(out | beam.MapTuple(lambda key, r: (key, r.example, r.inference.labels)),
                    equal_to([(r.id, r.text, expected[r.id]) for r in RECORDS]))


def test_with_exception_handling_sends_a_failing_batch_to_the_failed_output(tiny_tagger):
    handler = TaggerModelHandler(**tiny_tagger.options, max_batch_size=1)
    with TestPipeline() as p:
        main, other = (p | beam.Create(["A fine sentence.", 42])
                       | RunInference(handler).with_exception_handling())
        assert_that(main | beam.Map(lambda r: r.inference.tokens),
                    equal_to([("A", "fine", "sentence", ".")]), label="tagged")
        assert_that(other.failed_inferences | beam.Map(lambda f: f[0]), equal_to([[42]]),
                    label="failed")


def test_a_model_update_bound_to_another_store_is_refused_and_the_old_model_serves(
        tiny_tagger, tmp_path):
    other_store = build_tiny_tagger(tmp_path / "other", seed=11)
    handler = TaggerModelHandler(**tiny_tagger.options)
    handler.update_model_path(other_store.model_dir)
    assert handler.model_dir == tiny_tagger.model_dir
    handler.update_model_path(other_store.model_dir + "/tagger.keras")
    assert handler.model_dir == tiny_tagger.model_dir
    with pytest.raises(Exception, match="fingerprint"):
        TaggerModelHandler(other_store.model_dir, tiny_tagger.store_path).load_model()


def test_model_refresh_through_a_side_input(tiny_tagger, tmp_path):
    same_store = build_tiny_tagger(tmp_path / "same", seed=12, store_path=tiny_tagger.store_path)
    other_store = build_tiny_tagger(tmp_path / "other", seed=13)
    records = RECORDS[:2]
    old = [labels for _, _, labels in expected_of(tiny_tagger, records)]
    new = [labels for _, _, labels in expected_of(same_store, records)]
    assert old != new  # else the test could not tell the models apart
    for refreshed, expected in ((same_store, new), (other_store, old)):
        with TestPipeline() as p:
            metadata = p | "Metadata" >> beam.Create(
                [ModelMetadata(model_id=refreshed.model_dir, model_name="refreshed")])
            out = (p | beam.Create(records)
                   | RunInference(TaggerModelHandler(**tiny_tagger.options),
                                  model_metadata_pcoll=metadata))
            assert_that(out | beam.Map(lambda r: r.inference.labels), equal_to(expected))


def test_resource_hints_and_bad_options():
    assert TaggerModelHandler(accelerator="type:nvidia-l4;count:1").get_resource_hints() == {
        "accelerator": "type:nvidia-l4;count:1"}
    assert TaggerModelHandler().get_resource_hints() == {}
    with pytest.raises(ValueError):
        TaggerModelHandler(max_batch_tokens=0)
    with pytest.raises(ValueError):
        TaggerModelHandler(chunk=8, overlap=8)


def test_large_model_serves_from_one_shared_process(tiny_tagger):
    # large_model: RunInference holds the model in a process of its own and hands out a proxy
    # that forwards method calls only; the handler reaches LoadedTagger through methods.
    expected = {i: labels for i, _, labels in expected_of(tiny_tagger, RECORDS)}
    handler = TaggerModelHandler(**tiny_tagger.options, large_model=True)
    assert handler.share_model_across_processes()
    with TestPipeline() as p:
        out = p | beam.Create(RECORDS) | RunInference(handler)
        assert_that(out | beam.Map(lambda r: (r.inference.id, r.inference.labels)),
                    equal_to(list(expected.items())))


def test_a_batch_of_records_is_decoded_together_as_each_alone_would_be():
    import types

    import numpy as np

    from beamtagger.model.features import TokenFeaturizer
    from beamtagger.model.tagger_spec import TaggerSpec
    from beamtagger.transforms.model_handler import LoadedTagger

    binding = {"fingerprint": "f", "dim": 4, "normalization": ["lower"]}
    spec = TaggerSpec(["O", "B-loc", "I-loc"], "softmax", TokenFeaturizer(), binding, {})
    loaded = LoadedTagger(types.SimpleNamespace(spec=spec), None, None)
    rng = np.random.default_rng(0)
    probs = [rng.dirichlet(np.full(3, 0.3), size=n).astype(np.float32) for n in (5, 1, 40, 7)]
    found = loaded.decode_all(probs)
    for (labels, scores), record_probs in zip(found, probs):
        expected_labels, expected_scores = spec.decode(record_probs, len(record_probs))
        assert labels == expected_labels and scores.tolist() == expected_scores.tolist()
    with pytest.raises(Exception):   # RunInference's failed batch, as a record's decode raised
        loaded.decode_all(probs + [np.zeros(4, np.float32)])


def test_batches_are_sized_by_their_text_unless_the_caller_sizes_them():
    """Without a batch size of the caller's, RunInference batches hold 64k to 1M characters
    of text, whatever form the examples take (str, TextRecord, KeyedModelHandler's pairs);
    a caller's min/max batch size, size function or batch duration is used as given."""
    from beamtagger.transforms.model_handler import (MAX_BATCH_CHARACTERS,
                                                     MIN_BATCH_CHARACTERS, text_length)

    kwargs = TaggerModelHandler().batch_elements_kwargs()
    assert (kwargs["min_batch_size"], kwargs["max_batch_size"]) == (MIN_BATCH_CHARACTERS,
                                                                     MAX_BATCH_CHARACTERS)
    size = kwargs["element_size_fn"]
    assert size is text_length
    assert size("four") == 4 and size("") == 1
    assert size(TextRecord("id", "six ch")) == 6
    assert size(("key", "eight ch")) == 8
    assert size(("key", TextRecord("id", "nine char"))) == 9
    assert size(42) == 1 and size(("key",)) == 1 and size(("k", ("k", ("k", "deep")))) == 1
    # Beam 2.78 wraps the size function to take the pair's example; 2.77 passes it as it is.
    keyed = KeyedModelHandler(TaggerModelHandler()).batch_elements_kwargs()["element_size_fn"]
    assert keyed(("key", "eight ch")) == 8 and keyed(("key", TextRecord("id", "nine char"))) == 9
    assert TaggerModelHandler(max_batch_size=10).batch_elements_kwargs() == {
        "max_batch_size": 10}
    assert TaggerModelHandler(min_batch_size=3, max_batch_duration_secs=1
                              ).batch_elements_kwargs() == {"min_batch_size": 3,
                                                            "max_batch_duration_secs": 1}
    # Beam's stateful batching (max_batch_duration_secs) counts records: no characters there.
    assert TaggerModelHandler(max_batch_duration_secs=1).batch_elements_kwargs() == {
        "max_batch_duration_secs": 1}


def test_run_inference_with_a_batch_duration_gives_the_labels_of_the_handler(tiny_tagger):
    # Beam's stateful batching, counting records from one: the first batch is flushed as it
    # arrives. Sized by the handler's characters (64 Ki to 1 Mi, which 2.78 would honour), no
    # batch filled and every record was flushed at the input's end, too late on the
    # DirectRunner (the test below); counted, none is lost, on 2.77 and 2.78.
    expected = expected_of(tiny_tagger, RECORDS)
    by_id = {i: labels for i, _, labels in expected}
    with TestPipeline() as p:
        records = p | beam.Create(RECORDS)
        plain = records | "Plain" >> RunInference(
            TaggerModelHandler(**tiny_tagger.options, max_batch_duration_secs=1))
        keyed = (records | beam.Map(lambda r: (r.id, r.text))
                 | "Keyed" >> RunInference(KeyedModelHandler(TaggerModelHandler(
                     **tiny_tagger.options, max_batch_duration_secs=1))))
        assert_that(plain | beam.Map(lambda r: (r.inference.id, r.inference.tokens,
                                                r.inference.labels)),
                    equal_to(expected), label="PlainLabels")
        assert_that(keyed | beam.MapTuple(lambda key, r: (key, r.inference.labels)),
                    equal_to(list(by_id.items())), label="KeyedLabels")


def test_beam_direct_runner_loses_the_batch_flushed_at_the_end_of_the_input():
    """Beam's bug that the handler refuses max_batch_duration_secs with min_batch_size above
    1 on the DirectRunner for (apache/beam#28716): a stateful BatchElements whose batch waits
    for more records than the input holds flushes it by the window's end timer, which holds
    no watermark on the DirectRunner, and the records reach the GroupByKey of assert_that
    after it has finished. Without beamtagger; 2.77 and 2.78 alike. If this fails, the Beam
    installed keeps them: stateful_batching can let such pipelines run there."""
    words = ["a", "bb", "ccc"]
    with pytest.raises(Exception, match=r"== \[\], missing elements"):
        with TestPipeline() as p:
            # A buffering time no test reaches: the end of the input alone flushes the batch.
            batched = (p | beam.Create(words)
                       | beam.BatchElements(min_batch_size=100, max_batch_duration_secs=600))
            assert_that(batched | beam.FlatMap(lambda batch: batch), equal_to(words))
    # With length buckets, an input of min_batch_size records is lost too, none of its
    # buckets filling; Beam 2.78.
    with pytest.raises(Exception, match=r"== \[\], missing elements"):
        with TestPipeline() as p:
            batched = (p | beam.Create(words)
                       | beam.BatchElements(min_batch_size=3, max_batch_duration_secs=600,
                                            length_fn=len, bucket_boundaries=[2, 3]))
            assert_that(batched | beam.FlatMap(lambda batch: batch), equal_to(words))


@pytest.mark.parametrize("keyed", [False, True])
def test_a_batch_duration_with_a_minimum_batch_is_refused_on_the_direct_runner(tiny_tagger,
                                                                               keyed):
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.errors import BeamtaggerError

    def apply(options, **batching):
        handler = TaggerModelHandler(**tiny_tagger.options, **batching)
        p = TestPipeline(options=PipelineOptions(options))
        records = p | beam.Create(RECORDS)
        if keyed:
            records = records | beam.Map(lambda r: (r.id, r.text))
            handler = KeyedModelHandler(handler)
        return records | RunInference(handler)

    for runner in ([], ["--runner=DirectRunner"], ["--runner=BundleBasedDirectRunner"]):
        with pytest.raises(BeamtaggerError, match="min_batch_size=3 with max_batch_duration_"
                                                  "secs loses records on the DirectRunner"):
            apply(runner, min_batch_size=3, max_batch_duration_secs=1)
    # Where a batch is flushed as it fills, or the runner holds the watermark for its timers.
    apply([], max_batch_duration_secs=1)
    apply([], min_batch_size=3)
    apply(["--runner=PrismRunner"], min_batch_size=3, max_batch_duration_secs=1)
    # Length buckets split the records among keys: the same refusal, the same loss below.
    for runner in ([], ["--runner=DirectRunner"]):
        with pytest.raises(BeamtaggerError, match="min_batch_size=3 with max_batch_duration_"):
            apply(runner, min_batch_size=3, max_batch_duration_secs=1,
                  batch_bucket_boundaries=[16, 64])
    apply([], max_batch_duration_secs=1, batch_bucket_boundaries=[16, 64])


def test_a_second_run_inference_with_a_batch_duration_is_refused_on_the_fn_api_runner(
        tiny_tagger):
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.errors import BeamtaggerError

    def stages(options, *batchings, keyed_last=False):
        p = TestPipeline(options=options)
        records = p | beam.Create(RECORDS)
        for n, batching in enumerate(batchings):
            handler = TaggerModelHandler(**tiny_tagger.options, **batching)
            examples = records
            if keyed_last and n == len(batchings) - 1:
                examples = records | f"Key{n}" >> beam.Map(lambda r: (r.id, r.text))
                handler = KeyedModelHandler(handler)
            examples | f"Tag{n}" >> RunInference(handler)

    fn_api = PipelineOptions(["--runner=FnApiRunner"])
    duration = {"max_batch_duration_secs": 1}
    for keyed_last in (False, True):
        with pytest.raises(BeamtaggerError, match="a second RunInference with max_batch_"
                                                  "duration_secs in one pipeline loses "
                                                  "records on the FnApiRunner"):
            stages(fn_api, duration, duration, keyed_last=keyed_last)
    with pytest.raises(BeamtaggerError, match="apache/beam#21995"):
        stages(PipelineOptions(["--runner=apache_beam.runners.portability.fn_api_runner."
                                "FnApiRunner"]), duration, {"min_batch_size": 1,
                                                            **duration})
    # One stage with a duration per pipeline, however many pipelines share the options; the
    # other runners (the DirectRunner's two stages: the test of the handler's labels above).
    stages(fn_api, duration, {}, {"max_batch_size": 8})
    stages(fn_api, duration)
    stages(PipelineOptions([]), duration, duration)


class _ReturnsItsBatch(ModelHandler):
    def load_model(self):
        return None

    def run_inference(self, batch, model, inference_args=None):
        return list(batch)


def _records_out_of_two_stages(first, second, records, labels=("First", "Second"),
                               chained=False):
    """(records out of ``first``, out of ``second``), both fed ``records`` on the FnApiRunner,
    or ``second`` fed by ``first``'s output; counted by a Beam counter each."""
    from apache_beam.metrics import Metrics, MetricsFilter
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    def count(name):
        counter = Metrics.counter("two_stages", name)
        return lambda element: counter.inc()

    p = beam.Pipeline(runner=FnApiRunner())
    created = p | beam.Create(records)
    out_of_first = created | labels[0] >> first
    out_of_second = (out_of_first if chained else created) | labels[1] >> second
    out_of_first | f"Count{labels[0]}" >> beam.Map(count("first"))
    out_of_second | f"Count{labels[1]}" >> beam.Map(count("second"))
    result = p.run()
    result.wait_until_finish()
    counted = {m.key.metric.name: m.committed for m in result.metrics().query(
        MetricsFilter().with_namespace("two_stages"))["counters"]}
    return counted.get("first", 0), counted.get("second", 0)


class _FlushAtTheEnd(beam.DoFn):
    """Holds its records until the end of the input, as a stateful BatchElements holds the
    last batch (its "window_end" timer)."""
    from apache_beam.coders import VarIntCoder
    from apache_beam.transforms.timeutil import TimeDomain
    from apache_beam.transforms.userstate import BagStateSpec, TimerSpec

    HELD = BagStateSpec("held", VarIntCoder())
    END = TimerSpec("end", TimeDomain.WATERMARK)

    def process(self, element, window=beam.DoFn.WindowParam,
                held=beam.DoFn.StateParam(HELD), end=beam.DoFn.TimerParam(END)):
        held.add(element[1])
        end.set(window.end)

    from apache_beam.transforms.userstate import on_timer

    @on_timer(END)
    def flush(self, held=beam.DoFn.StateParam(HELD)):
        yield from held.read()
        held.clear()


def test_beam_fn_api_runner_loses_the_records_of_one_of_two_stateful_steps():
    """Beam's bug that the handler refuses a second RunInference with max_batch_duration_secs
    on the FnApiRunner for (apache/beam#21995): two stateful steps fused into one stage whose
    timers have one name share one timer buffer, every timer fires in one of them, and the
    other never flushes what it holds. Without beamtagger; Beam 2.78. If this fails, the Beam
    installed keeps them: stateful_batching can let such pipelines run."""
    # The mechanism: two steps flushing at the end of the input, side by side; one gives
    # out nothing.
    flushed = _records_out_of_two_stages(beam.ParDo(_FlushAtTheEnd()),
                                         beam.ParDo(_FlushAtTheEnd()),
                                         [("key", n) for n in range(10)])
    assert sorted(flushed) == [0, 10]
    # Two RunInference stages with a batch duration, side by side: one loses its last batch
    # where both stages' timers reach the other, which depends on the order of a set of step
    # names (str hashes differ from process to process): 20 of 36 pairs of names lost 23 of
    # 150 records, in 3 processes. Other step names, until one pair loses records.
    outs = []
    for pair in range(12):
        outs.append(_records_out_of_two_stages(
            RunInference(_ReturnsItsBatch(max_batch_duration_secs=1)),
            RunInference(_ReturnsItsBatch(max_batch_duration_secs=1)), list(range(150)),
            labels=(f"First{pair}", f"Second{pair}")))
        if min(outs[-1]) < 150:
            break
    assert min(outs[-1]) < 150 and max(outs[-1]) == 150, outs



def test_beam_direct_runner_fails_below_two_chained_stateful_batchings():
    """Beam's bug that the handler refuses a RunInference with max_batch_duration_secs below
    another for on the DirectRunner (stateful_batching): the first
    stage's last batch comes out once the input has ended (apache/beam#28716), the second
    holds part of it and flushes it after assert_that's GroupByKey has finished, with
    min_batch_size 1. Without beamtagger; Beam 2.78. If this fails, the Beam installed keeps
    them: the handler can let such chains run there."""
    from apache_beam.testing.util import BeamAssertException

    def chain(*between):
        with TestPipeline() as p:
            stage = (p | beam.Create(range(150))
                     | "First" >> RunInference(_ReturnsItsBatch(max_batch_duration_secs=1)))
            for n, step in enumerate(between):
                stage = stage | f"Between{n}" >> step
            assert_that(stage | "Second" >> RunInference(_ReturnsItsBatch(
                max_batch_duration_secs=1)), equal_to(list(range(150))))

    # A bare AssertionError from the DirectRunner's GroupByKey, or assert_that's own. The loss
    # depends on when the second stage's timer fires against the end of the input: once in a
    # whole CI run (2026-12-06, xdist on 2 quiet cores) the first try kept every element, so
    # up to three tries, the first that loses ending them.
    for _ in range(3):
        try:
            chain()
        except (AssertionError, BeamAssertException):
            break
    else:
        pytest.fail("three chained stateful batchings kept every element: Beam may have fixed "
                    "apache/beam#28716, and the handler's refusal may be lifted")
    # The way out the refusal names: a GroupByKey between waits for the whole input.
    chain(beam.Reshuffle())


@pytest.mark.parametrize("keyed", [False, True])
def test_a_batch_duration_below_an_end_flush_is_refused_on_the_direct_runner(tiny_tagger,
                                                                             keyed):
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner

    from beamtagger.errors import BeamtaggerError

    duration = {"max_batch_duration_secs": 1}

    def tagged_above(**batching):
        return [RunInference(TaggerModelHandler(**tiny_tagger.options, **batching)),
                beam.Map(lambda result: result.example)]

    def chain(options, above, second=duration, runner=None):
        p = beam.Pipeline(runner=runner, options=PipelineOptions(options))
        records = p | beam.Create(RECORDS)
        for n, step in enumerate(above):
            records = records | f"Above{n}" >> step
        handler = TaggerModelHandler(**tiny_tagger.options, **second)
        if keyed:
            records = records | "Keys" >> beam.Map(lambda r: (r.id, r.text))
            handler = KeyedModelHandler(handler)
        return records | "Second" >> RunInference(handler)

    refused = "fails the run on the DirectRunner"
    for options in ([], ["--runner=DirectRunner"], ["--runner=BundleBasedDirectRunner"]):
        with pytest.raises(BeamtaggerError, match=r"below 'Above0/BatchElements/ParDo\("
                                                  r"_StatefulBatchElementsDoFn\)', which "
                                                  r"flushes its last batch at the end"):
            chain(options, tagged_above(**duration))
    with pytest.raises(BeamtaggerError, match=refused):
        chain([], tagged_above(**duration), runner=BundleBasedDirectRunner())
    with pytest.raises(BeamtaggerError, match=refused):
        chain([], tagged_above(**duration), second={"min_batch_size": 1, **duration})
    # Beam's own stateful batchings above it, each flushing at the end of the input.
    with pytest.raises(BeamtaggerError, match=refused):
        chain([], [beam.BatchElements(**duration), beam.FlatMap(lambda batch: batch)])
    with pytest.raises(BeamtaggerError, match=r"below 'Above1/ParDo\(_GroupIntoBatchesDoFn"):
        chain([], [beam.Map(lambda r: (r.id, r)), beam.GroupIntoBatches(2),
                   beam.FlatMap(lambda keyed_batch: keyed_batch[1])])
    # Allowed: no duration on one of the two, a GroupByKey between, stages side by side
    # (run in the test of the handler's labels above), another runner.
    chain([], tagged_above(**duration), second={})
    chain([], tagged_above())
    chain([], tagged_above(**duration) + [beam.Reshuffle()])
    chain([], tagged_above(**duration) + [beam.Map(lambda r: (r.id, r)), beam.GroupByKey(),
                                          beam.FlatMap(lambda group: group[1])])
    chain(["--runner=PrismRunner"], tagged_above(**duration))
    p = beam.Pipeline()
    records = p | beam.Create(RECORDS)
    for n in range(2):
        records | f"Tag{n}" >> RunInference(TaggerModelHandler(**tiny_tagger.options,
                                                               **duration))


def test_run_inference_below_another_with_a_reshuffle_between_tags_every_record(tiny_tagger):
    # The way out the refusal above names, with the handler on both stages.
    records = [TextRecord(f"r{i}", f"Record {i} of the chain went home .") for i in range(40)]
    expected = expected_of(tiny_tagger, records)
    with TestPipeline() as p:
        first = (p | beam.Create(records)
                 | "First" >> RunInference(TaggerModelHandler(**tiny_tagger.options,
                                                              max_batch_duration_secs=1))
                 | beam.Map(lambda result: result.example) | beam.Reshuffle())
        second = first | "Second" >> RunInference(TaggerModelHandler(
            **tiny_tagger.options, max_batch_duration_secs=1))
        assert_that(second | beam.Map(lambda r: (r.inference.id, r.inference.tokens,
                                                 r.inference.labels)), equal_to(expected))


# Records of 2 to 61 words, 12 to 370 characters: six of Beam's default length buckets.
VARIED = [TextRecord(f"v{i}", " ".join(["word"] * (1 + i % 60)) + " .") for i in range(120)]


class _CountingMixedBatches(TaggerModelHandler):
    """The handler, counting the RunInference batches whose records span more than one of
    ``BOUNDARIES``' length buckets (in characters)."""

    BOUNDARIES = [64, 128, 256]

    def run_inference(self, batch, model, inference_args=None):
        import bisect

        from apache_beam.metrics import Metrics

        from beamtagger.transforms.model_handler import text_length

        buckets = {bisect.bisect_right(self.BOUNDARIES, text_length(e)) for e in batch}
        Metrics.counter("test", "batches").inc()
        if len(buckets) > 1:
            Metrics.counter("test", "mixed_batches").inc()
        return super().run_inference(batch, model, inference_args)


def _batches_and_mixed_batches(tiny, pipeline_args, **batching):
    """(RunInference batches, of them mixing length buckets) of VARIED through RunInference
    with ``batching``, after checking every record came out once with the handler's labels."""
    from apache_beam.metrics import MetricsFilter
    from apache_beam.options.pipeline_options import PipelineOptions

    expected = expected_of(tiny, VARIED)
    p = TestPipeline(options=PipelineOptions(pipeline_args))
    out = p | beam.Create(VARIED) | RunInference(_CountingMixedBatches(**tiny.options,
                                                                     **batching))
    assert_that(out | beam.Map(lambda r: (r.inference.id, r.inference.tokens,
                                          r.inference.labels)), equal_to(expected))
    result = p.run()
    result.wait_until_finish()
    counted = {m.key.metric.name: m.committed for m in result.metrics().query(
        MetricsFilter().with_namespace("test"))["counters"]}
    return counted["batches"], counted.get("mixed_batches", 0)


@pytest.mark.parametrize("runner", [[], ["--runner=FnApiRunner"]])
def test_length_buckets_batch_records_of_one_length_bucket_each(tiny_tagger, runner):
    """Beam 2.78's length buckets (batch_bucket_boundaries; the length in characters,
    text_length, unless batch_length_fn says otherwise) with max_batch_duration_secs: every
    record once, with the handler's labels, on the DirectRunner (its BundleBasedDirectRunner)
    and the FnApiRunner, and no RunInference batch mixes buckets, where without them
    batches of more than a record or two do."""
    boundaries = _CountingMixedBatches.BOUNDARIES
    batches, mixed = _batches_and_mixed_batches(tiny_tagger, runner, max_batch_duration_secs=1,
                                                batch_bucket_boundaries=boundaries)
    assert batches >= len(boundaries) + 1 and mixed == 0
    batches, mixed = _batches_and_mixed_batches(tiny_tagger, runner, max_batch_duration_secs=1)
    assert mixed > 0


def test_length_buckets_of_keyed_examples_measure_the_example(tiny_tagger):
    expected = {i: labels for i, _, labels in expected_of(tiny_tagger, VARIED)}
    handler = KeyedModelHandler(TaggerModelHandler(**tiny_tagger.options,
                                                   max_batch_duration_secs=1,
                                                   batch_bucket_boundaries=[64, 128]))
    length = handler.batch_elements_kwargs()["length_fn"]
    assert length(("key", "eight ch")) == 8 and length(("k", TextRecord("i", "nine char"))) == 9
    with TestPipeline() as p:
        out = (p | beam.Create([(r.id, r.text) for r in VARIED]) | RunInference(handler))
        assert_that(out | beam.MapTuple(lambda key, r: (key, r.inference.labels)),
                    equal_to(list(expected.items())))


def test_length_buckets_measure_characters_unless_given_a_length_function():
    from beamtagger.transforms.model_handler import text_length

    kwargs = TaggerModelHandler(max_batch_duration_secs=1,
                                batch_bucket_boundaries=[32, 64]).batch_elements_kwargs()
    assert kwargs == {"max_batch_duration_secs": 1, "length_fn": text_length,
                      "bucket_boundaries": [32, 64]}
    words = lambda example: len(example.split())   # noqa: E731
    kwargs = TaggerModelHandler(max_batch_duration_secs=1, batch_length_fn=words,
                                min_batch_size=1).batch_elements_kwargs()
    # Beam's own boundaries (16 to 512) where none are given; records counted, no characters.
    assert kwargs == {"max_batch_duration_secs": 1, "length_fn": words, "min_batch_size": 1}


@pytest.mark.parametrize("asked", [{"batch_bucket_boundaries": [64]},
                                   {"batch_length_fn": len},
                                   {"batch_length_fn": len, "max_batch_size": 100}])
def test_length_buckets_without_a_batch_duration_are_refused(asked):
    """BatchElements buckets by length in its stateful batching only: without a duration it
    would ignore them, with a warning in the log."""
    from beamtagger.errors import BeamtaggerError

    with pytest.raises(BeamtaggerError, match=r"take effect only with max_batch_duration_secs"):
        TaggerModelHandler(**asked)


def test_length_buckets_on_beam_2_77_are_refused_naming_the_version_they_need(monkeypatch):
    from apache_beam.ml.inference import base

    from beamtagger.errors import BeamtaggerError

    def init_of_beam_2_77(self, *, min_batch_size=None, max_batch_size=None,
                          max_batch_duration_secs=None, large_model=False, model_copies=None,
                          **kwargs):
        raise AssertionError("reached Beam with options it does not take")

    monkeypatch.setattr(base.ModelHandler, "__init__", init_of_beam_2_77)
    with pytest.raises(BeamtaggerError, match=r"batch_bucket_boundaries need apache-beam 2\.78 "
                                              r"or later \(installed: "):
        TaggerModelHandler(max_batch_duration_secs=1, batch_bucket_boundaries=[64])
    with pytest.raises(BeamtaggerError, match=r"batch_length_fn and batch_bucket_boundaries "
                                              r"need apache-beam 2\.78"):
        TaggerModelHandler(max_batch_duration_secs=1, batch_length_fn=len,
                           batch_bucket_boundaries=[64])

def test_threads_sharing_a_loaded_tagger_each_get_their_own_token_tables(tiny_tagger):
    """RunInference may share one loaded model between the threads of a process: each thread
    builds its batches through its own token tables, and the probabilities are those of one
    thread alone."""
    import threading

    import numpy as np

    from beamtagger.transforms.records import Segment

    handler = TaggerModelHandler(**tiny_tagger.options)
    model = handler.load_model()
    words = "the cat sat on a mat while dogs bark at the moon".split()
    batches = [[Segment(str(i), tuple(words[(i + k) % len(words)] for k in range(n)), str(i),
                        tuple(range(n)), tuple(range(n))) for i in range(8)]
               for n in (3, 5, 7, 9)]
    expected = [model.predict(batch)[0] for batch in batches]
    found, errors = {}, []

    def run(t):
        try:
            for round_ in range(5):
                for b, batch in enumerate(batches):
                    found[t, round_, b] = model.predict(batch)[0]
        except Exception as error:  # noqa: BLE001
            errors.append(error)
    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(found) == 4 * 5 * len(batches)
    for (_, _, b), probs in found.items():
        np.testing.assert_array_equal(probs, expected[b])


def test_a_model_update_whose_model_file_is_damaged_is_refused_and_the_old_model_serves(
        tiny_tagger, tmp_path):
    """An update to a model directory whose tagger.keras was cut short (a copy still being
    written when watch_model_pattern saw it) was accepted: every batch after it failed to load
    the model. It is refused like a model bound to another store."""
    import shutil

    from beamtagger.errors import BeamtaggerError

    newer = build_tiny_tagger(tmp_path / "newer", seed=12, store_path=tiny_tagger.store_path)
    cut = tmp_path / "cut"
    shutil.copytree(newer.model_dir, cut)
    whole = (cut / "tagger.keras").read_bytes()
    (cut / "tagger.keras").write_bytes(whole[:len(whole) // 2])
    handler = TaggerModelHandler(**tiny_tagger.options)
    handler.update_model_path(str(cut / "tagger.keras"))
    assert handler.model_dir == tiny_tagger.model_dir
    handler.load_model()   # the serving model still loads
    with pytest.raises(BeamtaggerError, match="damaged"):
        TaggerModelHandler(str(cut), tiny_tagger.store_path, runtime="numpy").load_model()
    # A whole model bound to the same store is taken.
    handler.update_model_path(newer.model_dir)
    assert handler.model_dir == newer.model_dir


def test_an_example_that_is_no_text_record_is_refused_naming_what_it_is(tiny_tagger):
    """A dict example was read as the tuple of its keys: {"id": "a", "text": "Hello there"}
    came back as record "id" with the one token "text", labelled. None, bytes and numbers
    failed with "argument after * must be an iterable". Each is a TypeError naming it, which
    with_exception_handling() sends to the failed output with its batch."""
    handler = TaggerModelHandler(**tiny_tagger.options)
    model = handler.load_model()
    refused = {"dict": ({"id": "a", "text": "Hello there"}, "not dict"),
               "none": (None, "not NoneType"), "bytes": (b"Hello there", "not bytes"),
               "number": (42, "not int"), "set": ({"a", "Hello"}, "not set"),
               "short tuple": (("a",), "not a tuple of 1"),
               "text none": (TextRecord("a", None), "text must be a str, not NoneType"),
               "text bytes": (("a", b"Hello"), "text must be a str, not bytes"),
               "id number": (TextRecord(5, "Hello there"), "id must be a str, not int")}
    for name, (example, problem) in refused.items():
        with pytest.raises(TypeError, match=problem):
            list(handler.run_inference(["A fine sentence.", example], model))
    # What was taken before still is: str, TextRecord, and tuples or lists like one.
    taken = ["Hello there", TextRecord("a", "Hello there"), ("b", "Hello there"),
             ["c", "Hello there", "src"]]
    results = list(handler.run_inference(taken, model))
    assert [(r.inference.id, r.inference.tokens) for r in results] == [
        ("", ("Hello", "there")), ("a", ("Hello", "there")), ("b", ("Hello", "there")),
        ("c", ("Hello", "there"))]
    assert results[3].inference.source == "src"
    with TestPipeline() as p:
        main, other = (p | beam.Create(["A fine sentence.", {"id": "x", "text": "y"}])
                       | RunInference(TaggerModelHandler(**tiny_tagger.options,
                                                         max_batch_size=1)
                                      ).with_exception_handling())
        assert_that(main | beam.Map(lambda r: r.inference.tokens),
                    equal_to([("A", "fine", "sentence", ".")]), label="tagged")
        assert_that(other.failed_inferences | beam.Map(lambda f: "not dict" in str(f[1])),
                    equal_to([True]), label="failed")


def test_one_create_may_mix_the_record_types_each_transform_takes(tiny_tagger):
    # Beam infers a schema for a Create of several element types; it failed on the records'
    # untyped `fields` while the pipeline was built.
    text, record = "I like green apples.", TextRecord("s2", "They went home yesterday.")
    tokenized = TokenizedRecord.from_tokens("t3", ("Zyzzyva", "quux", "!"))
    expected = [(tokens, labels) for _, tokens, labels in expected_of(tiny_tagger, [
        TextRecord("a", text), record, TextRecord("c", "Zyzzyva quux !")])]
    assert len({tokens for tokens, _ in expected}) == 3
    with TestPipeline() as p:
        tagged = (p | "Records" >> beam.Create([record, tokenized])
                  | TagText(**tiny_tagger.options))
        inferred = (p | "Texts" >> beam.Create([text, record])
                    | RunInference(TaggerModelHandler(**tiny_tagger.options)))
        assert_that(tagged.tagged | beam.Map(lambda r: (r.tokens, r.labels)),
                    equal_to(expected[1:]), label="TagTextLabels")
        assert_that(inferred | beam.Map(lambda r: (r.inference.tokens, r.inference.labels)),
                    equal_to(expected[:2]), label="RunInferenceLabels")


def _load_reaching_the_runner(handler, monkeypatch):
    """(runtime, threads) that ``handler``'s load_model loads the runner with, after it
    travels to a worker (pickled as RunInference's DoFn is)."""
    from apache_beam.internal import pickler

    from beamtagger.transforms import worker_resources

    given = []
    monkeypatch.setattr(worker_resources, "loaded_runner",
                        lambda model_dir, runtime, threads=None, **feed: given.append(
                            (runtime, threads)))
    pickler.loads(pickler.dumps(handler)).load_model()
    (load,) = given
    return load


def _threads_reaching_the_runner(handler, monkeypatch):
    """The threads ``handler``'s load_model gives the runtime on a worker."""
    return _load_reaching_the_runner(handler, monkeypatch)[1]


def _run_inference_load(handler_options, pipeline_args, monkeypatch, keyed=False, hint=None):
    """(runtime, threads) a ``TaggerModelHandler(**handler_options)``'s runner is loaded with
    in a pipeline built with ``pipeline_args`` (``hint``: an accelerator hint on the
    RunInference); a DirectRunner object keeps a ``--runner=DataflowRunner`` pipeline from
    reaching Google Cloud while it is built."""
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.direct.direct_runner import DirectRunner

    handler = TaggerModelHandler(**handler_options)
    pipeline = beam.Pipeline(runner=DirectRunner(), options=PipelineOptions(pipeline_args))
    examples = pipeline | beam.Create(["a cat ."])
    if keyed:
        examples = examples | beam.Map(lambda text: ("k", text))
    inference = RunInference(KeyedModelHandler(handler) if keyed else handler)
    if hint:
        inference = inference.with_resource_hints(accelerator=hint)
    _ = examples | inference
    return _load_reaching_the_runner(handler, monkeypatch)


def _run_inference_threads(tiny, pipeline_args, monkeypatch, keyed=False, **options):
    """The threads a TaggerModelHandler's runner gets in a pipeline built with
    ``pipeline_args`` (``_run_inference_load``)."""
    return _run_inference_load({**tiny.options, **options}, pipeline_args, monkeypatch,
                               keyed)[1]


def _without_runtime(tiny):
    """The tiny tagger's handler options, its runtime left to the handler to choose."""
    return {name: value for name, value in tiny.options.items() if name != "runtime"}


def test_run_inference_on_dataflow_gives_each_sdk_process_one_tensorflow_thread_unless_told(
        tiny_tagger, monkeypatch):
    # The handler had no threads option: on Dataflow's one SDK process per vCPU, each process
    # ran TensorFlow's default pool of one thread per vCPU, as TagText did before it read
    # the pipeline's options.
    monkeypatch.setattr("os.cpu_count", lambda: 8)

    def threads(args, **options):
        return _run_inference_threads(tiny_tagger, args, monkeypatch, **options)
    dataflow = ["--runner=DataflowRunner"]
    assert threads(dataflow) == 1
    assert threads(dataflow, keyed=True) == 1
    assert threads(dataflow, tagger_threads=3) == 3
    assert threads(dataflow, tagger_threads=0) == 0   # TensorFlow's default
    assert threads(dataflow + ["--experiments=no_use_multiple_sdk_containers"]) is None
    assert threads(["--direct_running_mode=multi_processing", "--direct_num_workers=2"]) == 4
    assert threads([]) is None
    # A model process shared by all of a machine's SDK processes is not one of them.
    assert threads(dataflow, large_model=True) is None
    assert threads(dataflow, model_copies=2, tagger_threads=2) == 2
    # Outside a pipeline: what was given.
    for given in (2, None):
        handler = TaggerModelHandler(**tiny_tagger.options, tagger_threads=given)
        assert _threads_reaching_the_runner(handler, monkeypatch) == given


@pytest.mark.parametrize("threads", [-1, 1.5, "2", True])
def test_tagger_threads_no_run_can_follow_are_refused_where_the_handler_is_built(threads):
    with pytest.raises(ValueError, match="tagger_threads must be"):
        TaggerModelHandler(tagger_threads=threads)


@pytest.fixture
def remote_models(tiny_tagger, tmp_path, monkeypatch):
    """Three models bound to the tiny tagger's store, each at a remote path of its own
    (``faultyfs://``, a Beam file system over the local disk, as ``gs://`` would be), staged
    into a staging folder of this test's, with this process holding no copy yet."""
    from beamtagger.tests.faulty_filesystem import FaultyFileSystem
    from beamtagger.transforms import worker_resources

    pytest.importorskip("fcntl", reason="copies are kept where there is no fcntl")
    FaultyFileSystem.heal()
    monkeypatch.setenv("BEAMTAGGER_STAGING", str(tmp_path / "staging"))
    for name in ("_LOCAL_COPIES", "_HELD_COPIES", "_COPY_USES"):
        monkeypatch.setattr(worker_resources, name, {}, raising=False)
    for name in ("_KEPT_FOR_LIFE", "_KEEP_NEWEST"):
        monkeypatch.setattr(worker_resources, name, set(), raising=False)
    return [PREFIX + build_tiny_tagger(tmp_path / f"model-{seed}", seed=seed,
                                       store_path=tiny_tagger.store_path).model_dir
            for seed in (21, 22, 23)]


def staged_copies(tmp_path):
    """{the remote path it copies: its folder} of each staged copy on this machine."""
    from beamtagger.transforms import worker_resources

    root = tmp_path / "staging" / worker_resources.staging_folder_name()
    return {(folder / "source").read_text(): folder for folder in root.iterdir()
            if not folder.name.startswith(".")} if root.exists() else {}


def labels_of(handler, model):
    return [result.inference.labels for result in handler.run_inference(RECORDS[:2], model)]


def labels_here(tiny, remote_model):
    """The labels the remote model gives, read where it is on this disk."""
    handler = TaggerModelHandler(remote_model[len(PREFIX):], tiny.store_path, runtime="numpy")
    return labels_of(handler, handler.load_model())


def test_model_updates_leave_one_staged_copy_plus_those_another_process_holds(
        tiny_tagger, remote_models, tmp_path):
    # Each remote model an update named was staged and held for the process's life: a
    # streaming job given a new model every hour filled its workers' disks.
    import fcntl
    import os

    first, second, third = remote_models
    handler = TaggerModelHandler(first, tiny_tagger.store_path, runtime="numpy")
    handler.load_model()
    # Another process of the VM using the first model's copy.
    other_process = os.open(staged_copies(tmp_path)[first] / "lock", os.O_RDONLY)
    fcntl.flock(other_process, fcntl.LOCK_SH)
    try:
        for path in (second, third):
            handler.update_model_path(path + "/tagger.keras")   # as watch_model_pattern says
            assert handler.model_dir == path
            model = handler.load_model()
        assert staged_copies(tmp_path).keys() == {first, third}
    finally:
        os.close(other_process)
    assert labels_of(handler, model) == labels_here(tiny_tagger, third)
    # A refused update's copy goes too; the serving model's stays.
    other_store = build_tiny_tagger(tmp_path / "other-store", seed=24)
    handler.update_model_path(PREFIX + other_store.model_dir)
    assert handler.model_dir == third
    assert staged_copies(tmp_path).keys() == {first, third}


def test_a_copy_another_handler_or_tagtext_of_the_process_uses_is_kept(
        tiny_tagger, remote_models, tmp_path):
    # RunInference gives each DoFn instance (thread) a handler copy of its own, and each
    # switches model when it sees the update: the old copy stays while one still serves it.
    from apache_beam.internal import pickler

    from beamtagger.transforms import worker_resources

    first, second, third = remote_models
    handler = TaggerModelHandler(first, tiny_tagger.store_path, runtime="numpy")
    behind, tagtext = pickler.loads(pickler.dumps(handler)), pickler.loads(pickler.dumps(handler))
    handler.load_model()
    behind.load_model()
    handler.update_model_path(second)
    handler.load_model()
    assert staged_copies(tmp_path).keys() == {first, second}
    assert labels_of(behind, behind.load_model()) == labels_here(tiny_tagger, first)
    behind.update_model_path(second)
    assert staged_copies(tmp_path).keys() == {second}
    # TagText's stages keep the newest copy of what they load (TagBatches' runner).
    tagtext.update_model_path(third)
    worker_resources.loaded_runner(third, "numpy")
    tagtext.update_model_path(second)
    assert staged_copies(tmp_path).keys() == {second, third}


def test_a_model_whose_copy_went_is_staged_again_when_an_update_names_it_again(
        tiny_tagger, remote_models, tmp_path):
    first, second, _ = remote_models
    handler = TaggerModelHandler(first, tiny_tagger.store_path, runtime="numpy")
    handler.load_model()
    handler.update_model_path(second)
    assert staged_copies(tmp_path).keys() == {second}
    handler.update_model_path(first)   # a rollback
    assert handler.model_dir == first
    assert staged_copies(tmp_path).keys() == {first}
    assert labels_of(handler, handler.load_model()) == labels_here(tiny_tagger, first)


def test_threads_switching_models_never_read_a_removed_copy(tiny_tagger, remote_models,
                                                           tmp_path):
    # Handler copies on several threads, each moving through the models at its own pace and
    # loading each: a copy removed under one of them fails its check or its load.
    import threading

    from apache_beam.internal import pickler

    handler = TaggerModelHandler(remote_models[0], tiny_tagger.store_path, runtime="numpy")
    copies = [pickler.loads(pickler.dumps(handler)) for _ in range(4)]
    errors = []

    def switch_models(copy, start):
        try:
            for step in range(6):
                path = remote_models[(start + step) % len(remote_models)]
                copy.update_model_path(path)
                assert copy.model_dir == path
                copy.load_model()
        except Exception as error:  # noqa: BLE001
            errors.append(error)
    threads = [threading.Thread(target=switch_models, args=(copy, start))
               for start, copy in enumerate(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert staged_copies(tmp_path).keys() == {copy.model_dir for copy in copies}


@pytest.mark.parametrize("runtime", ["numpy", "tensorflow", "jax"])
def test_a_loaded_runner_reads_no_model_file_after_loading(tiny_tagger, tmp_path, runtime):
    # What lets a handler remove the copy of a model it moved on from while other threads
    # still run that model's runner.
    import shutil

    from beamtagger.model import runtimes
    from beamtagger.model.model_inputs import ModelInputs

    if not runtimes.is_installed(runtime):
        pytest.skip(f"{runtime} is not installed")
    copy = tmp_path / "copy"
    shutil.copytree(tiny_tagger.model_dir, copy)
    runner = runtimes.load_runner(runtime, copy)
    runner.warm_up()
    shutil.rmtree(copy)
    # Unequal lengths: TensorFlow traces its masked path now, after the files went.
    inputs = ModelInputs.zeros(runner.spec.input_dims, [3, 5, 9])
    expected = runtimes.load_runner(runtime, tiny_tagger.model_dir).predict(inputs)
    assert expected.shape == (3, 9, len(runner.spec.labels))
    np.testing.assert_allclose(runner.predict(inputs), expected, atol=1e-6)


def test_the_runner_object_a_pipeline_was_given_counts_where_its_options_name_none(
        tiny_tagger):
    # The handler saw only --runner: a FnApiRunner given as an object took a second stage with
    # a duration (the loss of apache/beam#21995), and a non-direct runner object was refused
    # as if it ran on the DirectRunner.
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from beamtagger.errors import BeamtaggerError

    def stages(runner, *batchings, options=()):
        p = beam.Pipeline(runner=runner, options=PipelineOptions(list(options)))
        records = p | beam.Create(RECORDS)
        for n, batching in enumerate(batchings):
            records | f"Tag{n}" >> RunInference(TaggerModelHandler(**tiny_tagger.options,
                                                                   **batching))

    duration = {"max_batch_duration_secs": 1}
    with pytest.raises(BeamtaggerError, match="apache/beam#21995"):
        stages(FnApiRunner(), duration, duration)
    stages(FnApiRunner(), duration)
    # The count is the pipeline's: two pipelines of one stage each.
    stages(FnApiRunner(), duration)
    with pytest.raises(BeamtaggerError, match="loses records on the DirectRunner"):
        stages(BundleBasedDirectRunner(), {"min_batch_size": 3, **duration})
    stages(FnApiRunner(), {"min_batch_size": 3, **duration})
    # Options that name a runner win over the object (as TagText reads them).
    stages(FnApiRunner(), duration, duration, options=["--runner=PrismRunner"])


def test_pipeline_being_applied_is_the_pipeline_of_the_apply_under_way():
    from beamtagger.worker_threads import pipeline_being_applied

    seen = []

    class Sees(beam.PTransform):
        def expand(self, pcoll):
            seen.append(pipeline_being_applied())
            return pcoll

    p = beam.Pipeline()
    _ = p | beam.Create([1]) | Sees()
    assert seen == [p]
    assert pipeline_being_applied() is None


def test_a_dataflow_runner_object_gives_each_sdk_process_one_thread_as_tagtext_does(
        tiny_tagger, monkeypatch):
    # A DirectRunner object taken for Dataflow's, so that nothing reaches Google Cloud while
    # the pipeline is built.
    from apache_beam.runners.direct.direct_runner import DirectRunner

    monkeypatch.setattr("beamtagger.worker_threads._REMOTE_RUNNERS", ("SwitchingDirectRunner",))
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    handler = TaggerModelHandler(**tiny_tagger.options)
    pipeline = beam.Pipeline(runner=DirectRunner())
    _ = pipeline | beam.Create(["a cat ."]) | RunInference(handler)
    assert _threads_reaching_the_runner(handler, monkeypatch) == 1


GPU_HINT = "type:nvidia-l4;count:1;install-nvidia-driver"


def test_run_inference_on_dataflow_cpu_workers_runs_numpy_unless_told(tiny_tagger, monkeypatch,
                                                                     caplog):
    # The handler ran TensorFlow whatever the runner: on Dataflow's CPU workers each SDK
    # process, with one tagger thread, paid TensorFlow's start-up and twice NumPy's memory
    # (BENCHMARKS.md, "One thread each, the whole job").
    monkeypatch.setattr("os.cpu_count", lambda: 8)

    def runtime(args, keyed=False, hint=None, **options):
        return _run_inference_load({**_without_runtime(tiny_tagger), **options}, args,
                                   monkeypatch, keyed, hint)[0]
    dataflow = ["--runner=DataflowRunner"]
    with caplog.at_level(logging.INFO):
        assert runtime(dataflow) == "numpy"
    assert any(r.getMessage().startswith("beamtagger: TaggerModelHandler runs the numpy runtime "
                                         "(") and "one tagger thread a process" in r.getMessage()
               for r in caplog.records), caplog.text
    assert runtime(dataflow, keyed=True) == "numpy"
    assert runtime(dataflow, tagger_threads=1) == "numpy"
    # A GPU stage: the handler's hint, one on RunInference, or the pipeline's.
    assert runtime(dataflow, accelerator=GPU_HINT) == "tensorflow"
    assert runtime(dataflow, hint=GPU_HINT) == "tensorflow"
    assert runtime(dataflow + [f"--resource_hints=accelerator={GPU_HINT}"]) == "tensorflow"
    # The tagger has more than one thread a process.
    assert runtime(dataflow, tagger_threads=4) == "tensorflow"
    assert runtime(dataflow + ["--experiments=no_use_multiple_sdk_containers"]) == "tensorflow"
    assert runtime(dataflow, large_model=True) == "tensorflow"   # a model process a machine
    # Locally, the tagger having every core: TensorFlow where it is installed.
    from beamtagger.model import runtimes
    assert runtime([]) == ("tensorflow" if runtimes.is_installed("tensorflow") else "numpy")
    # One tagger thread a process locally too (multi_processing at a worker a core); the
    # DirectRunner ignores hints.
    multi = ["--direct_running_mode=multi_processing", "--direct_num_workers=8"]
    assert runtime(multi) == runtime(multi, accelerator=GPU_HINT) == "numpy"
    # A runtime given is kept.
    assert runtime(dataflow, runtime="tensorflow") == "tensorflow"
    assert runtime([], runtime="numpy") == "numpy"


def test_a_handler_outside_a_pipeline_runs_tensorflow_where_installed_else_numpy(
        tiny_tagger, monkeypatch):
    from beamtagger.model import runtimes

    handler = TaggerModelHandler(**_without_runtime(tiny_tagger))
    assert handler.runtime is None
    expected = "tensorflow" if runtimes.is_installed("tensorflow") else "numpy"
    assert _load_reaching_the_runner(handler, monkeypatch)[0] == expected
    monkeypatch.setattr(runtimes, "is_installed", lambda name: name != "tensorflow")
    assert _load_reaching_the_runner(TaggerModelHandler(**_without_runtime(tiny_tagger)),
                                     monkeypatch)[0] == "numpy"


def test_a_dataflow_runner_object_gives_the_handler_numpy_as_tagtext_does(tiny_tagger,
                                                                         monkeypatch):
    from apache_beam.runners.direct.direct_runner import DirectRunner

    monkeypatch.setattr("beamtagger.worker_threads._REMOTE_RUNNERS", ("SwitchingDirectRunner",))
    handler = TaggerModelHandler(**_without_runtime(tiny_tagger))
    pipeline = beam.Pipeline(runner=DirectRunner())
    _ = pipeline | beam.Create(["a cat ."]) | RunInference(handler)
    assert _load_reaching_the_runner(handler, monkeypatch) == ("numpy", 1)
