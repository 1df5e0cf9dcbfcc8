"""TagBatches: labels equal the runner's own, outputs keep their batch's window, the model runs
on a helper thread, and the background load reports its errors."""
import os
import threading

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue

from beamtagger.errors import BeamtaggerError
from beamtagger.tests.embedding_store_test import make_store
from beamtagger.transforms.attach_vectors import AttachVectors
from beamtagger.transforms.bucket import BucketByLength
from beamtagger.transforms.records import Segment

pytest.importorskip("tensorflow")

WORDS = ["the", "cat", "sat", "on", "a", "mat", "dogs", "bark", "."]


@pytest.fixture(scope="module")
def store_and_model(tmp_path_factory):
    """A 12-d store over a few words and a random tagger bound to it (no shared data needed)."""
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.saving import save_model_dir
    from beamtagger.model.tagger_spec import TaggerSpec
    from beamtagger.tests.model_tagger_test import DIM, make_model

    work = tmp_path_factory.mktemp("tag")
    store_path, _ = make_store(work, words=WORDS, dim=DIM)
    model, spec = make_model()
    spec = TaggerSpec(labels=spec.labels, head=spec.head, featurizer=spec.featurizer,
                      binding=TaggerSpec.binding_of(EmbeddingStore.open(store_path)),
                      model_config=spec.model_config)
    save_model_dir(model, spec, {"epochs": []}, work / "model")
    return str(store_path), str(work / "model")


def segments(count, length, prefix):
    rng = np.random.default_rng(length)
    return [Segment(f"{prefix}{i}", tuple(rng.choice(WORDS + ["qzxv"], length)), f"{prefix}{i}",
                    tuple(range(0, 2 * length, 2)), tuple(range(1, 2 * length, 2)))
            for i in range(count)]


def expected_labels(all_segments, store_path, model_dir):
    """What the runner gives for each record on its own, without Beam."""
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.inference import TaggerRunner
    from beamtagger.transforms.arrow_batches import build_record_batch, model_inputs

    runner, store = TaggerRunner.load(model_dir), EmbeddingStore.open(store_path)
    out = {}
    for segment in all_segments:
        batch, _ = build_record_batch([segment], store, runner.spec.featurizer)
        probs = runner.predict(model_inputs(batch))
        out[segment.id] = tuple(runner.spec.decode(probs[0], len(segment.tokens))[0])
    return out


def tag_stage(records, store_path, model_dir, budget):
    from beamtagger.transforms.tag import TagBatches
    attached = (records
                | BucketByLength(max_batch_tokens=budget)
                | AttachVectors(store_path, model_dir))
    return attached.batches | TagBatches(model_dir)


def test_labels_equal_the_runner_and_outputs_keep_their_batch_window(store_and_model):
    store_path, model_dir = store_and_model
    early = segments(7, 5, "early-") + segments(3, 8, "early-long-")
    late = segments(6, 5, "late-")
    stamped = ([TimestampedValue(s, 10) for s in early]
               + [TimestampedValue(s, 70) for s in late])
    expected = expected_labels(early + late, store_path, model_dir)
    with beam.Pipeline() as p:
        records = (p | beam.Create(stamped).with_output_types(Segment)
                   | beam.WindowInto(window.FixedWindows(60)))
        out = tag_stage(records, store_path, model_dir, budget=20)
        assert_that(out.tagged | "Labels" >> beam.Map(lambda r: (r.id, r.labels)),
                    equal_to(list(expected.items())), label="labels")
        windows = out.tagged | "Windows" >> beam.Map(
            lambda r, w=beam.DoFn.WindowParam: (r.id, int(w.start)))
        assert_that(windows, equal_to([(s.id, 0) for s in early] + [(s.id, 60) for s in late]),
                    label="windows")
        assert_that(out.errors, equal_to([]), label="no errors")


def test_a_batch_built_for_other_inputs_is_refused(store_and_model):
    """A batch whose schema carries another spec fingerprint (built by another featurizer, or
    none) fails the stage with a clear error instead of feeding the model ids it never saw."""
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.tagger_spec import TaggerSpec
    from beamtagger.transforms.arrow_batches import build_record_batch
    from beamtagger.transforms.tag import TagBatches

    store_path, model_dir = store_and_model
    spec = TaggerSpec.load(model_dir)
    store = EmbeddingStore.open(store_path)
    for fingerprint in ("0" * 64, None):
        batch, _ = build_record_batch(segments(2, 4, "x-"), store, spec.featurizer,
                                      fingerprint=fingerprint)
        with pytest.raises(Exception, match="fingerprint") as raised:
            with beam.Pipeline() as p:
                _ = p | beam.Create([batch]) | TagBatches(model_dir)
        assert "must load the same model" in str(raised.value)
    good, _ = build_record_batch(segments(2, 4, "x-"), store, spec.featurizer,
                                 fingerprint=spec.inputs_fingerprint)
    with beam.Pipeline() as p:
        tagged = p | beam.Create([good]) | TagBatches(model_dir)
        assert_that(tagged.tagged | beam.Map(lambda r: r.id), equal_to(["x-0", "x-1"]))


def test_the_model_runs_on_the_helper_thread(store_and_model, monkeypatch):
    from beamtagger.model.inference import TaggerRunner

    store_path, model_dir = store_and_model
    threads = []
    real_predict = TaggerRunner.predict

    def recording_predict(self, *args):
        threads.append(threading.current_thread().name)
        return real_predict(self, *args)

    monkeypatch.setattr(TaggerRunner, "predict", recording_predict)
    records = segments(9, 4, "a-") + segments(4, 6, "b-")
    with beam.Pipeline() as p:
        out = tag_stage(p | beam.Create(records), store_path, model_dir, budget=12)
        assert_that(out.tagged | beam.Map(lambda r: r.id),
                    equal_to([s.id for s in records]))
    # 9 records of 4 tokens in batches of at most 3, 4 of 6 tokens in batches of at most 2:
    # at least 5 batches, besides the warm-up call of the background load (full path only;
    # none where an earlier test of this process loaded the model: worker_resources.loaded_runner).
    model_calls = [name for name in threads if name.startswith("beamtagger-predict")]
    assert len(model_calls) >= 5
    assert threads.count("beamtagger-load-tagger") <= 1
    assert set(threads) <= {"beamtagger-predict_0", "beamtagger-load-tagger"}


def test_a_model_that_cannot_load_fails_where_the_runner_is_used(tmp_path):
    from beamtagger.transforms.tag import _SharedRunner

    loading = _SharedRunner(str(tmp_path / "no-such-model"))
    with pytest.raises(BeamtaggerError, match="no-such-model"):
        loading.runner


@pytest.mark.slow
def test_tagger_threads_set_tensorflows_thread_pools_in_a_fresh_worker(store_and_model):
    import subprocess
    import sys

    _, model_dir = store_and_model
    script = ("import tensorflow as tf\n"
              "from beamtagger.transforms.tag import _SharedRunner\n"
              f"_SharedRunner({model_dir!r}, threads=1).runner\n"
              "print(tf.config.threading.get_intra_op_parallelism_threads(),"
              " tf.config.threading.get_inter_op_parallelism_threads())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1"]


def test_the_tag_stage_reports_runinference_style_metrics(tiny_tagger):
    from beamtagger.transforms import TagText, TextRecord, counters

    texts = ["the cat sat on the mat .", "dogs bark .", "a cat .", "the dogs sat ."]
    pipeline = beam.Pipeline()
    _ = (pipeline | beam.Create([TextRecord(str(i), t) for i, t in enumerate(texts)])
         | TagText(**tiny_tagger.options, max_batch_tokens=8))
    result = pipeline.run()
    result.wait_until_finish()
    distributions = counters.query_distributions(result)
    counts = counters.query_counters(result)
    # Budget 8: the 7-token record alone, 3-token ones two a batch, the 4-token one alone.
    sizes = distributions["inference_request_batch_size"]
    tokens = distributions["inference_request_batch_tokens"]
    assert (sizes.count, sizes.sum, sizes.max) == (3, 4, 2) == (counts["batches"], 4, 2)
    assert (tokens.count, tokens.sum, tokens.max) == (3, 17, 7)
    assert distributions["inference_batch_latency_micro_secs"].count == 3
    assert distributions["inference_batch_latency_micro_secs"].min > 0
    assert distributions["load_model_latency_milli_secs"].count == 1
    lines = counters.format_model_metrics(distributions)
    assert lines[0].startswith("model load") and lines[1].startswith("batch latency")


def test_a_process_loads_a_model_once_while_it_is_held_and_again_when_its_files_change(
        tmp_path):
    from beamtagger.testing import cached_tiny_tagger
    from beamtagger.transforms.worker_resources import loaded_runner

    model_dir = cached_tiny_tagger(tmp_path).model_dir
    first = loaded_runner(model_dir)
    assert loaded_runner(model_dir) is first
    keras_file = os.path.join(model_dir, "tagger.keras")
    stat = os.stat(keras_file)
    os.utime(keras_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # saved over
    assert loaded_runner(model_dir) is not first
