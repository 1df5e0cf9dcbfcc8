"""The Keras tagger and its runners on synthetic arrays: masking, trainable rows, projection,
tracing, save/load without optimizer state or embedding table, and the NumPy and JAX runners'
forward passes against the Keras model's."""
import json
import zipfile

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from beamtagger.model.features import TokenFeaturizer  # noqa: E402
from beamtagger.model.inference import TaggerRunner  # noqa: E402
from beamtagger.errors import BeamtaggerError  # noqa: E402
from beamtagger.model.model_inputs import ModelInputs  # noqa: E402
from beamtagger.model.numpy_inference import NumpyTaggerRunner  # noqa: E402
from beamtagger.model.saving import keras_file_arrays, save_model_dir  # noqa: E402
from beamtagger.model.tagger_model import Tagger  # noqa: E402
from beamtagger.model.tagger_spec import TaggerSpec  # noqa: E402
from beamtagger.model.training import TrainingConfig, compile_tagger, tagger_loss  # noqa: E402

DIM = 12
FEATURIZER = TokenFeaturizer(oov_buckets=20, feature_columns=(("casing", 10), ("suffix3", 30)),
                             char_vocab="abcdefgh", max_chars=5)
BINDING = {"fingerprint": "f" * 64, "dim": DIM, "normalization": ["exact", "lower"]}


def make_model(head="softmax", outputs=5, projection=8, layers=1, seed=0, **overrides):
    keras.utils.set_random_seed(seed)
    config = {"dim": DIM, "num_outputs": outputs, "num_extra_rows": FEATURIZER.num_extra_rows,
              "feature_sizes": FEATURIZER.feature_sizes, "feature_dim": 4,
              "projection": projection, "units": 6, "layers": layers, "dropout": 0.2,
              "head": head, "char_vocab_size": FEATURIZER.char_vocab_size, "char_dim": 3,
              "char_filters": 4, **overrides}
    if head == "crf":
        config.update(crf_allowed_start=[True] * outputs, crf_allowed=[[True] * outputs] * outputs)
    model = Tagger(**config)
    labels = ["no", "yes"] if head == "sigmoid" else [f"L{i}" for i in range(outputs)]
    spec = TaggerSpec(labels=labels, head=head, featurizer=FEATURIZER, binding=BINDING,
                      model_config=config)
    return model, spec


def sentence(length, seed):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(length, DIM)).astype(np.float32)
    extra = rng.integers(0, FEATURIZER.num_extra_rows, length).astype(np.int32)
    vectors[extra > 7] = 0.0  # OOV words: zero external vector, hashed row
    features = np.stack([rng.integers(1, size, length) for size in FEATURIZER.feature_sizes],
                        axis=-1).astype(np.int32)
    chars = rng.integers(0, FEATURIZER.char_vocab_size, (length, FEATURIZER.max_chars))
    targets = rng.integers(0, 5, length).astype(np.int32)
    return vectors, extra, features, chars.astype(np.int32), targets


def batch_of(sentences, width=None):
    width = width or max(len(s[0]) for s in sentences)
    count = len(sentences)
    vectors = np.zeros((count, width, DIM), np.float32)
    extra = np.zeros((count, width), np.int32)
    features = np.zeros((count, width, len(FEATURIZER.feature_sizes)), np.int32)
    chars = np.zeros((count, width, FEATURIZER.max_chars), np.int32)
    targets = np.zeros((count, width), np.int32)
    weights = np.zeros((count, width), np.float32)
    for b, (v, e, f, c, t) in enumerate(sentences):
        n = len(v)
        vectors[b, :n], extra[b, :n], features[b, :n], chars[b, :n] = v, e, f, c
        targets[b, :n], weights[b, :n] = t, 1
    lengths = np.array([len(s[0]) for s in sentences], np.int32)
    inputs = {"vectors": vectors, "lengths": lengths, "extra_ids": extra, "feature_ids": features,
              "char_ids": chars}
    return inputs, targets, weights


def predict(runner, inputs):
    return runner.predict(ModelInputs(**inputs))


def test_sentence_alone_equals_sentence_inside_padded_bucket():
    model, spec = make_model(layers=2)
    runner = TaggerRunner(spec, model)
    sentences = [sentence(n, seed) for seed, n in enumerate([5, 9, 2, 7])]
    together = predict(runner, batch_of(sentences, width=11)[0])
    for b, s in enumerate(sentences):
        alone = predict(runner, batch_of([s])[0])  # full length: the unmasked path
        np.testing.assert_allclose(together[b, :len(s[0])], alone[0], atol=1e-5)


def test_loss_on_padded_batch_equals_token_weighted_unpadded_losses():
    model, _ = make_model()
    loss = tagger_loss("softmax")
    sentences = [sentence(n, seed) for seed, n in enumerate([3, 8])]
    inputs, targets, weights = batch_of(sentences, width=12)
    padded = float(loss(targets, model(inputs, training=False), sample_weight=weights))
    alone = []
    for s in sentences:
        x, y, w = batch_of([s])
        alone.append(float(loss(y, model(x, training=False), sample_weight=w)) * len(s[0]))
    assert padded == pytest.approx(sum(alone) / 11, rel=1e-5)


def test_zero_vectors_are_tokens_not_padding():
    # The mask comes from the lengths: an OOV word (zero vector, no extra row) still counts.
    model, spec = make_model()
    runner = TaggerRunner(spec, model)
    vectors, extra, features, chars, targets = sentence(4, 3)
    vectors[3], extra[3], chars[3] = 0.0, 0, 0
    full = predict(runner, batch_of([(vectors, extra, features, chars, targets)])[0])
    shorter = predict(runner, batch_of([(vectors[:3], extra[:3], features[:3], chars[:3],
                                         targets[:3])])[0])
    assert np.abs(full[0, :3] - shorter[0]).max() > 1e-4


def test_one_trace_for_all_lengths_and_one_for_full_batches():
    model, spec = make_model()
    runner = TaggerRunner(spec, model)
    for n in (3, 7, 12, 30):
        predict(runner, batch_of([sentence(n, n), sentence(2, n + 1)])[0])  # padded
        predict(runner, batch_of([sentence(n, n), sentence(n, n + 2)])[0])  # all full length
    assert runner.tracing_counts() == {("float32", True): 1, ("float32", False): 1}


def test_float16_vectors_give_the_same_labels():
    model, spec = make_model()
    runner = TaggerRunner(spec, model)
    inputs, _, _ = batch_of([sentence(6, 1), sentence(4, 2)])
    probs32 = predict(runner, inputs)
    probs16 = predict(runner, {**inputs, "vectors": inputs["vectors"].astype(np.float16)})
    assert probs16.dtype == np.float32
    np.testing.assert_allclose(probs16, probs32, atol=2e-3)


def test_extra_rows_train_and_model_holds_no_vocabulary_table():
    model, _ = make_model()
    compile_tagger(model, TrainingConfig(learning_rate=0.05))
    inputs, targets, weights = batch_of([sentence(8, 5), sentence(6, 6)])
    used = np.unique(inputs["extra_ids"][weights > 0])
    chars_before = keras.ops.convert_to_numpy(model.chars.table).copy()
    before = keras.ops.convert_to_numpy(model.extra_rows.table).copy()
    vectors_before = inputs["vectors"].copy()
    model.train_on_batch(inputs, targets, sample_weight=weights)
    after = keras.ops.convert_to_numpy(model.extra_rows.table)
    changed = np.abs(after - before).max(axis=1) > 0
    assert changed[used[used > 0]].all()           # rows that were used learned something
    assert not changed[0]                           # row 0 adds nothing, so it gets no gradient
    assert not changed[np.setdiff1d(np.arange(len(changed)), used)].any()
    np.testing.assert_array_equal(inputs["vectors"], vectors_before)  # external vectors frozen
    chars_changed = np.abs(keras.ops.convert_to_numpy(model.chars.table) - chars_before).max(1)
    used_chars = np.unique(inputs["char_ids"][weights > 0])
    assert (chars_changed[used_chars[used_chars > 0]] > 0).all()  # the char CNN trains
    assert chars_changed[0] == 0  # padding characters never reach the output
    # No (vocabulary, D) embedding inside: the only D-wide table is the small extra-rows table.
    tables = [tuple(w.shape) for w in model.weights if len(w.shape) == 2 and w.shape[1] == DIM]
    assert tables == [(FEATURIZER.num_extra_rows, DIM)]


def test_shared_projection_is_one_matrix_without_bias():
    model, _ = make_model(projection=8)
    projection = [w for w in model.weights if "projection" in w.path]
    width = DIM + 4 * len(FEATURIZER.feature_sizes) + 4  # + the char CNN's 4 filters
    assert [tuple(w.shape) for w in projection] == [(width, 8)]
    lstm_kernels = [w for w in model.weights if w.path.endswith("lstm_cell/kernel")]
    assert all(w.shape[0] == 8 for w in lstm_kernels)  # the LSTMs read the projected tokens
    unprojected, _ = make_model(projection=0)
    assert not [w for w in unprojected.weights if "projection" in w.path]


@pytest.mark.parametrize("head, outputs", [("softmax", 5), ("sigmoid", 1), ("crf", 5)])
def test_save_load_round_trip_without_optimizer_state(tmp_path, head, outputs):
    model, spec = make_model(head=head, outputs=outputs)
    compile_tagger(model, TrainingConfig())
    inputs, _, _ = batch_of([sentence(8, 5), sentence(6, 6)])
    # The optimizer's slots, which a training step fills, made without tracing one (2.2-2.7 s
    # of CPU a head, most of this test's): a save that kept them would write them.
    model.optimizer.build(model.trainable_variables)
    assert model.optimizer.variables
    rng = np.random.default_rng(1)   # trained-looking weights: no zero biases or transitions
    model.set_weights([w + rng.normal(0, 0.3, w.shape).astype(w.dtype)
                       for w in model.get_weights()])
    if head == "crf":
        spec.set_crf(*model.crf_scores())
        assert np.abs(model.crf_scores()[1]).max() > 0  # transitions a mix-up would change
    before = predict(TaggerRunner(spec, model), inputs)
    labels_before = spec.decode_batch(before, inputs["lengths"])
    save_model_dir(model, spec, {"epochs": []}, tmp_path)
    arrays = keras_file_arrays(tmp_path / "tagger.keras")
    assert not [name for name in arrays if "optimizer" in name]
    assert sum(int(np.prod(shape)) for shape in arrays.values()) == model.count_params()
    loaded = TaggerRunner.load(tmp_path)
    np.testing.assert_array_equal(predict(loaded, inputs), before)
    assert before.shape == (2, 8, 2 if head == "sigmoid" else 5)
    if head != "crf":  # a CRF head emits scores, not probabilities
        np.testing.assert_allclose(before.sum(-1), 1.0, rtol=1e-5)
    for (labels, scores), (again, again_scores) in zip(
            labels_before, loaded.spec.decode_batch(before, inputs["lengths"])):
        assert labels == again
        np.testing.assert_allclose(scores, again_scores, rtol=1e-5)


def test_warm_up_traces_the_full_path_once_and_real_batches_add_only_the_masked_one():
    model, spec = make_model()
    runner = TaggerRunner(spec, model)
    runner.warm_up()
    assert runner.tracing_counts() == {("float32", False): 1}
    predict(runner, batch_of([sentence(5, 3), sentence(5, 4)])[0])
    assert runner.tracing_counts() == {("float32", False): 1}
    predict(runner, batch_of([sentence(9, 1), sentence(4, 2)])[0])
    predict(runner, batch_of([sentence(5, 3), sentence(5, 4)])[0])
    assert runner.tracing_counts() == {("float32", True): 1, ("float32", False): 1}


NUMPY_VARIANTS = {
    "softmax, projection": dict(),
    "two layers, no projection": dict(projection=0, layers=2),
    "sigmoid": dict(head="sigmoid", outputs=1),
    "crf emissions": dict(head="crf"),
    "even char kernel": dict(char_kernel=4, char_filters=5),
    "no char encoder": dict(char_filters=0, char_vocab_size=0),
}


def saved_trained_looking_model(directory, **options):
    """(Keras TaggerRunner, model directory) of a variant with perturbed weights: the initial
    CRF and bias values are zeros, which would hide a mix-up of those arrays."""
    model, spec = make_model(**options)
    rng = np.random.default_rng(1)
    model.set_weights([w + rng.normal(0, 0.3, w.shape).astype(w.dtype)
                       for w in model.get_weights()])
    save_model_dir(model, spec, {"epochs": []}, directory)
    return TaggerRunner(spec, model), directory


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """``saved_model(**options)``: ``saved_trained_looking_model`` of those options, built once
    for the module. The NumPy, JAX, device-gather and cuDNN tests read the same variants; each
    built, saved and traced its own Keras model before (about a second of CPU a test). Tests
    only read the folder and predict with the Keras runner."""
    built = {}

    def get(**options):
        key = tuple(sorted(options.items()))
        if key not in built:
            built[key] = saved_trained_looking_model(tmp_path_factory.mktemp("model"), **options)
        return built[key]

    return get


def assert_runner_computes_what_keras_computes(keras_runner, runner, full_width=6):
    padded = batch_of([sentence(n, seed) for seed, n in enumerate([5, 9, 1, 7])], width=10)[0]
    full = batch_of([sentence(full_width, 11), sentence(full_width, 12)])[0]
    half = {**padded, "vectors": padded["vectors"].astype(np.float16)}
    for inputs in (padded, full, half):
        expected, got = predict(keras_runner, inputs), predict(runner, inputs)
        assert got.dtype == np.float32 and got.shape == expected.shape
        real = np.arange(inputs["vectors"].shape[1])[None, :] < inputs["lengths"][:, None]
        np.testing.assert_allclose(got[real], expected[real], atol=2e-5, rtol=1e-4)
        if runner.spec.head == "softmax":
            assert (got[real].argmax(-1) == expected[real].argmax(-1)).all()


@pytest.mark.parametrize("variant", NUMPY_VARIANTS)
def test_numpy_runner_computes_what_the_keras_model_computes(saved_model, variant):
    keras_runner, model_dir = saved_model(**NUMPY_VARIANTS[variant])
    assert_runner_computes_what_keras_computes(keras_runner, NumpyTaggerRunner.load(model_dir))


def test_numpy_runner_computes_what_keras_computes_for_one_token_rows_and_a_lone_row(saved_model):
    # The shapes the step loop treats apart: one step only (the tag stage's first bucket), and
    # one row. (``sentence``'s random chars put padding ids inside tokens too: the char
    # encoder's -inf rows.)
    keras_runner, model_dir = saved_model(layers=2)
    runner = NumpyTaggerRunner.load(model_dir)
    for inputs in (batch_of([sentence(1, seed) for seed in range(5)])[0],
                   batch_of([sentence(7, 3)])[0]):
        np.testing.assert_allclose(predict(runner, inputs), predict(keras_runner, inputs),
                                   atol=2e-5, rtol=1e-4)


# Each variant compiles two programs (3-8 s on the shared 2-core machine): the first runs in
# the fast suite, the others with the slow tests.
@pytest.mark.parametrize("variant", [
    variant if i == 0 else pytest.param(variant, marks=pytest.mark.slow)
    for i, variant in enumerate(NUMPY_VARIANTS)])
def test_jax_runner_computes_what_the_keras_model_computes(saved_model, variant):
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from beamtagger.model.jax_inference import JaxTaggerRunner

    keras_runner, model_dir = saved_model(**NUMPY_VARIANTS[variant])
    runner = JaxTaggerRunner.load(model_dir)
    # Width 10 for the full batch too: both batches share one grid shape (64 rows x 16), so
    # the variant compiles twice (float32, float16 vectors), not three times.
    assert_runner_computes_what_keras_computes(keras_runner, runner, full_width=10)
    assert sorted(runner.tracing_counts()) == [("float16", 64, 16), ("float32", 64, 16)]


def store_of(vectors):
    """An in-memory EmbeddingStore of ``vectors`` (the constructor checks no files)."""
    from beamtagger.embeddings.store import EmbeddingStore

    count, dim = vectors.shape
    manifest = {"dim": dim, "count": count, "dtype": vectors.dtype.name,
                "fingerprint": f"{count}x{dim}{vectors.dtype.name}".ljust(64, "0"),
                "normalization": ["exact"]}
    return EmbeddingStore("/nonexistent", manifest, vectors)


def store_rows_batch(count, lengths, seed=0):
    """A batch whose words are store rows (-1 for OOV and for the padding), width 10."""
    inputs = batch_of([sentence(n, seed + i) for i, n in enumerate(lengths)], width=10)[0]
    rng = np.random.default_rng(seed)
    rows = rng.integers(-1, count, inputs["extra_ids"].shape).astype(np.int32)
    rows[np.arange(10)[None, :] >= inputs["lengths"][:, None]] = -1
    return ModelInputs(**{**inputs, "vectors": None, "store_rows": rows})


# Each variant compiles two programs more (float32 and float16 tables): the first variant runs
# in the fast suite, the others with the slow tests.
@pytest.mark.parametrize("variant", [
    variant if i == 0 else pytest.param(variant, marks=pytest.mark.slow)
    for i, variant in enumerate(NUMPY_VARIANTS)])
def test_vectors_gathered_on_the_device_give_what_vectors_from_the_host_give(saved_model, variant):
    # vectors_at="tag" sends store rows (4 bytes a slot) and the runner gathers the vectors
    # from the store's table on its device: the same labels and probabilities, bit for bit, as
    # the same batch with its vectors gathered on the host in the same dtype.
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from beamtagger.model.jax_inference import JaxTaggerRunner

    _, model_dir = saved_model(**NUMPY_VARIANTS[variant])
    runner = JaxTaggerRunner.load(model_dir)
    # A float32 store read as float16 too: the table is cast as the host's gather casts.
    store = store_of(np.random.default_rng(3).normal(size=(40, DIM)).astype(np.float32))
    # 70 rows: two grid pieces (64 rows, then 6 padded to 8).
    rows = store_rows_batch(store.count, [5, 9, 1, 7, 10] * 14)
    for dtype in ("float32", "float16"):
        table = runner.device_table(store, dtype)
        assert runner.device_table(store, dtype) is table    # once per runner
        on_host = rows.with_vectors(store, dtype)
        assert on_host.vectors.dtype == dtype and (on_host.vectors[rows.store_rows < 0] == 0).all()
        expected = runner.predict(on_host)
        got = runner.predict(rows, table)
        assert np.array_equal(got, expected)
        one = rows.rows(3, 4)   # a record retried on its own: its own width
        assert np.array_equal(runner.predict(one, table), expected[3:4, :one.width])
    kinds = sorted({kind for kind, _, _ in runner.tracing_counts()})
    assert kinds == ["float16", "float16 store rows, 41 x 12", "float32",
                     "float32 store rows, 41 x 12"]
    with pytest.raises(ValueError, match="needs its store's table"):
        runner.predict(rows)
    with pytest.raises(IndexError, match=r"\[-1, 40\)"):
        runner.predict(ModelInputs(**{**rows.__dict__, "store_rows": rows.store_rows + 1}), table)


def test_a_store_of_another_dimension_is_refused_before_its_table_is_put(saved_model):
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from beamtagger.model.jax_inference import JaxTaggerRunner

    _, model_dir = saved_model()
    with pytest.raises(BeamtaggerError, match="store's vectors have 7 dimensions, the tagger "
                                              "reads 12"):
        JaxTaggerRunner.load(model_dir).device_table(store_of(np.zeros((3, 7), np.float32)),
                                                     "float16")


def test_an_unrolled_recurrence_computes_what_the_keras_model_computes(saved_model):
    # gpu_bench measures scan_unroll beside the default; 3 does not divide the grid width 16,
    # so the loop's remainder steps run too.
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from beamtagger.model.jax_inference import JaxTaggerRunner

    keras_runner, model_dir = saved_model(layers=2)
    runner = JaxTaggerRunner.load(model_dir, scan_unroll=3)
    assert_runner_computes_what_keras_computes(keras_runner, runner, full_width=10)


# gpu_bench measures the cuDNN recurrence beside the scan on a GPU; here its packed weights run
# through JAX's reference implementation of cuDNN's LSTM (lstm_ref: same layout, same sequence
# lengths). Two layers first: the second reads the first's two directions.
@pytest.mark.parametrize("variant", [
    variant if variant == "two layers, no projection" else pytest.param(
        variant, marks=pytest.mark.slow) for variant in NUMPY_VARIANTS])
def test_the_cudnn_recurrence_weights_compute_what_the_keras_model_computes(saved_model,
                                                                            variant):
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from beamtagger.model.jax_inference import JaxTaggerRunner

    keras_runner, model_dir = saved_model(**NUMPY_VARIANTS[variant])
    runner = JaxTaggerRunner.load(model_dir, recurrence="cudnn_reference")
    assert_runner_computes_what_keras_computes(keras_runner, runner, full_width=10)
    inputs = batch_of([sentence(n, seed) for seed, n in enumerate([5, 9, 1, 7, 10])])[0]
    real = np.arange(10)[None, :] < inputs["lengths"][:, None]
    np.testing.assert_allclose(predict(runner, inputs)[real],
                               predict(JaxTaggerRunner.load(model_dir), inputs)[real],
                               atol=1e-6)


@pytest.mark.parametrize("variant", [
    "softmax, projection", pytest.param("sigmoid", marks=pytest.mark.slow)])
def test_labels_decoded_on_the_device_are_the_labels_decoded_on_the_host(saved_model, variant):
    # gpu_bench measures labels_back beside the default: 5 bytes a slot back, not 4 x L.
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from beamtagger.model.batch_decoding import decode_batch_flat
    from beamtagger.model.jax_inference import JaxTaggerRunner

    _, model_dir = saved_model(**NUMPY_VARIANTS[variant])
    inputs = batch_of([sentence(n, seed) for seed, n in enumerate([5, 9, 1, 7, 9])])[0]
    probs = predict(JaxTaggerRunner.load(model_dir), inputs)
    runner = JaxTaggerRunner.load(model_dir, labels_back=True)
    labels, scores = predict(runner, inputs)
    assert labels.dtype == np.uint8 and scores.dtype == np.float32
    assert labels.shape == scores.shape == probs.shape[:2]
    real = np.arange(labels.shape[1]) < inputs["lengths"][:, None]
    expected_labels, expected_scores = decode_batch_flat(runner.spec, probs, inputs["lengths"])
    assert labels[real].tolist() == expected_labels.tolist()
    np.testing.assert_allclose(scores[real], expected_scores, rtol=1e-6)


def test_labels_are_not_decoded_on_the_device_for_bio_viterbi():
    from beamtagger.model.jax_inference import _device_decoding
    from beamtagger.model.tagger_spec import TaggerSpec

    binding = {"fingerprint": "f", "dim": DIM, "normalization": ["lower"]}
    spec = TaggerSpec(["O", "B-per", "I-per"], "softmax", FEATURIZER, binding, {})
    assert spec.decoding["viterbi"]
    with pytest.raises(ValueError, match="plain arg-max or threshold"):
        _device_decoding(spec, 3)
    spec = TaggerSpec(["O", "B-per", "I-per"], "softmax", FEATURIZER, binding, {},
                      decoding={"viterbi": False, "threshold": 0.5})
    assert _device_decoding(spec, 3) == ("argmax", "uint8")


def test_numpy_runner_refuses_weights_its_config_does_not_describe(tmp_path):
    model, spec = make_model()
    save_model_dir(model, spec, {"epochs": []}, tmp_path / "model")
    path = tmp_path / "model" / "tagger.keras"
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["units"] = 7
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    from beamtagger.model.numpy_inference import read_keras_weights
    with pytest.raises(BeamtaggerError, match="NumPy runtime: .*shape"):
        read_keras_weights(path)


def test_numpy_runner_leaves_the_process_blas_threads_as_they_were(tmp_path):
    from concurrent import futures

    from threadpoolctl import threadpool_info

    model, spec = make_model()
    save_model_dir(model, spec, {"epochs": []}, tmp_path / "model")
    runner = NumpyTaggerRunner.load(tmp_path / "model")
    before = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    inputs = batch_of([sentence(n, n) for n in (3, 7, 12)])[0]
    with futures.ThreadPoolExecutor(4) as pool:   # as the tag stage's predict and retry threads
        list(pool.map(lambda _: predict(runner, inputs), range(40)))
    after = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert after == before
