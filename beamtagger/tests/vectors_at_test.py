"""``vectors_at="tag"``: the batches carry store rows, and the tag stage gathers their vectors
(on the device for JAX, on the host for the other runtimes); what comes out is what
``vectors_at="attach"`` gives, record for record."""
import json
import types

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.corpus_readers import read_conllu
from beamtagger.errors import BeamtaggerError
from beamtagger.transforms import TagBatches, TagText
from beamtagger.transforms.tag import _TagFn
from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.model_training_test import tiny_store  # noqa: F401 (fixture)


def assert_same_records_either_way(model_dir, store_path, records, **options):
    """TagText over ``records`` with vectors_at "attach" and "tag" in one pipeline: every
    record tagged once by each, with the same labels and scores, and no dead letter."""
    with beam.Pipeline() as p:
        created = p | beam.Create(records)
        keyed = {}
        for vectors_at in ("attach", "tag"):
            out = created | f"Tag{vectors_at}" >> TagText(
                model_dir=model_dir, store_path=store_path, max_batch_tokens=1024, chunk=24,
                overlap=6, vectors_at=vectors_at, **options)
            keyed[vectors_at] = out.tagged | f"Key{vectors_at}" >> beam.Map(
                lambda r: (r.id, (r.labels, r.scores)))
            assert_that(out.errors, equal_to([]), label=f"no dead letters {vectors_at}")
        compared = keyed | beam.CoGroupByKey() | beam.MapTuple(
            lambda id_, both: (id_, len(both["attach"]), both["attach"] == both["tag"],
                               len(both["attach"][0][0]) if both["attach"] else 0))
        assert_that(compared | beam.MapTuple(lambda id_, count, same, _: (id_, count, same)),
                    equal_to([(r.id, 1, True) for r in records]), label="same records")
        # The long record went through the chunks (24 tokens) and was stitched.
        assert_that(compared | beam.Filter(lambda c: c[0] == "long" and c[3] > 24)
                    | beam.combiners.Count.Globally(), equal_to([1]), label="long one")


@pytest.fixture(scope="module")
def ewt_records(shared_data):
    from beamtagger.transforms import TextRecord

    dev = shared_data / "ud-english-ewt" / "en_ewt-ud-dev.conllu"
    sentences = [s for s, _ in zip(read_conllu(str(dev)), range(300))]
    # Some records longer than a chunk (24 tokens): stitched from chunks in either setting.
    return [TextRecord(s.sent_id, " ".join(s.tokens)) for s in sentences] + [
        TextRecord("long", " ".join(t for s in sentences[:8] for t in s.tokens))]


@pytest.mark.parametrize("runtime, vector_dtype", [
    ("numpy", "float32"), ("numpy", "float16"), ("jax", "float16"),
    pytest.param("tensorflow", "float32", marks=pytest.mark.slow)])
def test_vectors_gathered_by_the_tag_stage_give_the_attached_vectors_labels(
        upos_model, subset_store, ewt_records, runtime, vector_dtype):
    pytest.importorskip({"numpy": "numpy", "jax": "jax", "tensorflow": "tensorflow"}[runtime])
    assert_same_records_either_way(upos_model, subset_store, ewt_records, runtime=runtime,
                                   vector_dtype=vector_dtype, allow_other_embeddings=True)


def tagged_either_way(out_dir, model_dir, store_path, records, **options):
    """{(vectors_at, id): (labels, scores)} of TagText over ``records`` with vectors_at "attach"
    and "tag" in one pipeline (written out, so two pipelines' results can be compared)."""
    with beam.Pipeline() as p:
        created = p | beam.Create(records)
        for vectors_at in ("attach", "tag"):
            out = created | f"Tag{vectors_at}" >> TagText(
                model_dir=model_dir, store_path=store_path, max_batch_tokens=1024, chunk=24,
                overlap=6, vectors_at=vectors_at, **options)
            assert_that(out.errors, equal_to([]), label=f"no dead letters {vectors_at}")
            _ = (out.tagged
                 | f"Json{vectors_at}" >> beam.Map(
                     lambda r, at: json.dumps([at, r.id, r.labels, r.scores],
                                              default=lambda x: x.tolist()), vectors_at)
                 | f"Write{vectors_at}" >> beam.io.WriteToText(str(out_dir / vectors_at)))
    found = {}
    for path in out_dir.glob("*-of-*"):
        for line in path.read_text(encoding="utf-8").splitlines():
            vectors_at, id_, labels, scores = json.loads(line)
            assert (vectors_at, id_) not in found
            found[vectors_at, id_] = (labels, scores)
    return found


@pytest.mark.parametrize("runtime", [
    "numpy", "jax", pytest.param("tensorflow", marks=pytest.mark.slow)])
def test_ids_in_their_narrow_types_give_the_labels_and_scores_of_int32_ids(
        upos_model, subset_store, ewt_records, runtime, tmp_path, monkeypatch):
    """The batches carry the ids in the model's narrow types (TaggerSpec.id_dtypes); each
    runtime tags with them exactly as with the int32 ids the batches carried before."""
    pytest.importorskip(runtime)
    from beamtagger.model.tagger_spec import TaggerSpec
    from beamtagger.tagging import record_batches

    assert "int32" not in TaggerSpec.load(upos_model).id_dtypes.values()
    options = dict(runtime=runtime, vector_dtype="float32", allow_other_embeddings=True)
    narrow = tagged_either_way(tmp_path / "narrow", upos_model, subset_store, ewt_records,
                               **options)
    monkeypatch.setattr(record_batches, "id_dtypes", lambda featurizer: {})   # FIELDS' int32
    wide = tagged_either_way(tmp_path / "wide", upos_model, subset_store, ewt_records,
                             **options)
    assert len(narrow) == 2 * len(ewt_records)
    assert max(len(labels) for labels, _ in narrow.values()) > 24   # a long, chunked record
    assert narrow == wide


def fn_with(store, spec_fingerprint):
    fn = _TagFn(None, None, None, 0, None)
    runner = types.SimpleNamespace(spec=types.SimpleNamespace(inputs_fingerprint=spec_fingerprint))
    fn._holder = types.SimpleNamespace(runner=runner)
    fn._store = store
    return fn


def test_a_batch_of_store_rows_is_refused_by_a_stage_without_its_store(tiny_store):  # noqa: F811
    from beamtagger.model.features import TokenFeaturizer
    from beamtagger.transforms.arrow_batches import build_record_batch
    from beamtagger.transforms.records import Segment

    featurizer = TokenFeaturizer(oov_buckets=16)
    segments = [Segment("a", ("the", "cat"), "a", (0, 4), (3, 7))]
    batch, _ = build_record_batch(segments, tiny_store, featurizer, fingerprint="f" * 64,
                                  store_rows=True)
    assert "store_rows" in batch.schema.names and "vectors" not in batch.schema.names
    assert fn_with(tiny_store, "f" * 64)._model_inputs(batch).store_rows.tolist() == [
        tiny_store.rows(["the", "cat"]).tolist()]
    with pytest.raises(BeamtaggerError, match="no store to gather them from: give it "
                                              "vectors_at='tag'"):
        fn_with(None, "f" * 64)._model_inputs(batch)
    other = types.SimpleNamespace(fingerprint="0" * 64, path="/stores/other")
    with pytest.raises(BeamtaggerError, match=r"rows of the store with fingerprint "
                                              rf"{tiny_store.fingerprint[:12]}\.\.\., but this "
                                              r"stage gathers from /stores/other"):
        fn_with(other, "f" * 64)._model_inputs(batch)
    with pytest.raises(BeamtaggerError, match="fingerprint"):   # another model's, as before
        fn_with(tiny_store, "e" * 64)._model_inputs(batch)


def test_a_wrong_setting_or_a_store_that_is_not_one_is_refused_where_built(tmp_path):
    with pytest.raises(ValueError, match="vectors_at must be one of .'attach', 'tag'."):
        TagText(vectors_at="gpu")
    with pytest.raises(ValueError, match="vectors_at must be one of"):
        TagBatches(vectors_at="device")
    # The tag stage opens the store itself: one on this machine is checked where it is built.
    with pytest.raises(BeamtaggerError, match="manifest"):
        TagBatches(vectors_at="tag", store_path=str(tmp_path))
    TagBatches(vectors_at="attach", store_path=str(tmp_path))   # not read: no store needed


def test_the_command_gives_the_same_results_and_summary_with_either_setting(
        tiny_tagger, tmp_path, capsys):
    text = tmp_path / "in.txt"
    text.write_text("the cat sat on the mat .\nwe went home yesterday\n\nit rained all day\n")
    outputs = {}
    for vectors_at in ("attach", "tag"):
        prefix = tmp_path / vectors_at / "tagged"
        code, out, err = run_tag_command(
            capsys, "--input", str(text), "--output", str(prefix), "--model",
            tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path, "--vectors-at",
            vectors_at, "--print-results")
        assert code == 0, err
        results = [json.loads(line) for path in sorted(prefix.parent.glob("tagged-*.jsonl"))
                   if "errors" not in path.name for line in path.read_text().splitlines()]
        # Everything it prints but times and the results' paths (each run's own folder); the
        # printed results, like the files, in no particular order.
        summary = sorted(line for line in out.splitlines() if not line.startswith(
            ("results ", "wall time", "model load", "batch latency")))
        outputs[vectors_at] = (sorted(results, key=lambda r: r["id"]), summary)
    assert outputs["tag"] == outputs["attach"] and len(outputs["tag"][0]) == 4


def test_help_says_when_to_gather_in_the_tag_stage(capsys):
    code, out, _ = run_tag_command(capsys, "--help")
    assert code == 0
    assert "--vectors-at {attach,tag}" in out and "right fitting" in " ".join(out.split())
