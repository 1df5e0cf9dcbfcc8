"""TagText, TagBatches and TaggerModelHandler check a remote model directory and store where
they are applied, before launch, without copying them (``remote_paths``), as Beam's
``ReadFromText(validate=True)`` matches its pattern; ``validate=False`` leaves them to the
workers. ``faultyfs://`` (``faulty_filesystem``, a Beam file system over the local disk)
stands for ``gs://``.

Before this, each remote path below built and applied without a word: on Dataflow the job
launched, started its workers and failed every bundle."""
import shutil

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.ml.inference.base import RunInference

from beamtagger.errors import BeamtaggerError
from beamtagger.testing import build_tiny_tagger
from beamtagger.tests.faulty_filesystem import PREFIX
from beamtagger.transforms import TagBatches, TaggerModelHandler, TagText, TextRecord


def _tag_text(model, store, **options):
    pipeline = beam.Pipeline()
    pipeline | beam.Create([TextRecord("1", "A record.")]) | TagText(
        model, store, runtime="numpy", **options)


def _tag_batches(model, store, **options):
    # TagBatches opens a store only to gather store rows.
    pipeline = beam.Pipeline()
    (pipeline | beam.Create([]).with_output_types(pa.RecordBatch)
     | TagBatches(model, runtime="numpy", vectors_at="tag", store_path=store, **options))


def _run_inference(model, store, **options):
    pipeline = beam.Pipeline()
    pipeline | beam.Create(["A record."]) | RunInference(
        TaggerModelHandler(model, store, runtime="numpy", **options))


APPLIED = {"TagText": _tag_text, "TagBatches": _tag_batches, "RunInference": _run_inference}


def _remote(path):
    return PREFIX + str(path)


def _without_spec(tiny, tmp_path):
    model = shutil.copytree(tiny.model_dir, tmp_path / "model")
    (model / "tagger.json").unlink()
    return _remote(model), _remote(tiny.store_path), "is not a tagger model: tagger.json is missing"


def _model_file_of_other_size(tiny, tmp_path):
    # A model directory copied half over: tagger.keras cut short, tagger.json whole.
    model = shutil.copytree(tiny.model_dir, tmp_path / "model")
    keras = model / "tagger.keras"
    keras.write_bytes(keras.read_bytes()[:-100])
    return (_remote(model), _remote(tiny.store_path),
            "tagger.keras is not the model file saved with the tagger.json beside it")


def _no_store(tiny, tmp_path):
    return (_remote(tiny.model_dir), _remote(tmp_path / "no-such-store"),
            "no-such-store: no embedding store there")


def _store_of_other_fingerprint(tiny, tmp_path):
    # The same words, dimension and normalization, other vectors: another store.
    other = build_tiny_tagger(tmp_path / "other", seed=24)
    return (_remote(tiny.model_dir), _remote(other.store_path),
            f"model {_remote(tiny.model_dir)} was trained on the embedding store with "
            "fingerprint")


def _matrix_cut_short(tiny, tmp_path):
    store = shutil.copytree(tiny.store_path, tmp_path / "store")
    vectors = store / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:-4])
    return _remote(tiny.model_dir), _remote(store), "vectors.npy: unreadable or truncated matrix"


def _unreachable(tiny, tmp_path):
    # A launcher without the bucket's file system (gs:// without Beam's gcp extra) or its
    # credentials cannot read it.
    return ("nofs://bucket/model", _remote(tiny.store_path),
            "cannot read nofs://bucket/model where the pipeline is built: .*pass validate=False")


CASES = [_without_spec, _model_file_of_other_size, _no_store, _store_of_other_fingerprint,
         _matrix_cut_short, _unreachable]


@pytest.mark.parametrize("apply", APPLIED.values(), ids=APPLIED)
@pytest.mark.parametrize("case", CASES, ids=[case.__name__[1:] for case in CASES])
def test_a_remote_model_or_store_the_workers_would_fail_on_is_refused_where_applied(
        tiny_tagger, tmp_path, apply, case):
    model, store, message = case(tiny_tagger, tmp_path)
    with pytest.raises(BeamtaggerError, match=message) as refused:
        apply(model, store)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("apply", APPLIED.values(), ids=APPLIED)
@pytest.mark.parametrize("case", CASES, ids=[case.__name__[1:] for case in CASES])
def test_validate_false_leaves_remote_paths_to_the_workers(tiny_tagger, tmp_path, apply, case):
    model, store, _ = case(tiny_tagger, tmp_path)
    apply(model, store, validate=False)


@pytest.mark.parametrize("apply", APPLIED.values(), ids=APPLIED)
def test_a_good_remote_model_and_store_pass(tiny_tagger, tmp_path, apply):
    remote_model, remote_store = _remote(tiny_tagger.model_dir), _remote(tiny_tagger.store_path)
    for model, store in [(remote_model, remote_store), (remote_model, tiny_tagger.store_path),
                         (tiny_tagger.model_dir, remote_store), (remote_model, None)]:
        apply(model, store)
    other = build_tiny_tagger(tmp_path / "other", seed=24)
    apply(remote_model, _remote(other.store_path), allow_other_embeddings=True)


def test_a_local_model_is_checked_against_a_remote_store_and_the_other_way(tiny_tagger,
                                                                          tmp_path):
    other = build_tiny_tagger(tmp_path / "other", seed=24)
    for model, store in [(tiny_tagger.model_dir, _remote(other.store_path)),
                         (_remote(tiny_tagger.model_dir), other.store_path)]:
        with pytest.raises(BeamtaggerError, match="was trained on the embedding store with"):
            _tag_text(model, store)


def test_the_check_reads_neither_the_model_file_nor_the_matrix(tiny_tagger, tmp_path,
                                                               monkeypatch):
    from beamtagger.tests.faulty_filesystem import FaultyFileSystem

    opened = []
    original = FaultyFileSystem.open

    def recording_open(self, path, *args, **kwargs):
        stream = original(self, path, *args, **kwargs)
        opened.append((path.rsplit("/", 1)[-1], stream))
        return stream

    monkeypatch.setattr(FaultyFileSystem, "open", recording_open)
    _tag_text(_remote(tiny_tagger.model_dir), _remote(tiny_tagger.store_path))
    assert sorted(name for name, _ in opened) == ["manifest.json", "tagger.json", "vectors.npy",
                                                  "vocab.parquet"]
    vectors = next(stream for name, stream in opened if name == "vectors.npy")
    assert vectors.closed
    assert not any(name == "tagger.keras" for name, _ in opened)


@pytest.mark.parametrize("validate", ["no", 0, None])
def test_validate_is_a_bool(validate):
    for build in (lambda: TagText(validate=validate), lambda: TagBatches(validate=validate),
                  lambda: TaggerModelHandler(validate=validate)):
        with pytest.raises(ValueError, match="validate must be True or False"):
            build()
