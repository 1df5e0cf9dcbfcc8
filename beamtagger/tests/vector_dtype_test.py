"""float16 vectors in the batches: what "auto" picks, and that the bundled model's labels on
real text are those of float32 vectors (why "auto" may send float16 to a GPU)."""
import re

import numpy as np
import pytest

from beamtagger.pipeline.tag_pipeline import TagJob, batch_vector_dtype


@pytest.mark.parametrize("runtime, accelerator, expected", [
    ("jax", None, "float16"), ("tensorflow", "type:nvidia-l4;count:1", "float16"),
    ("tensorflow", None, "float32"), ("numpy", None, "float32")])
def test_auto_sends_float16_where_batches_go_to_a_gpu(runtime, accelerator, expected):
    job = TagJob("in.txt", "out", vector_dtype="auto", runtime=runtime, accelerator=accelerator)
    assert batch_vector_dtype(job) == expected
    for chosen in ("float32", "float16"):
        assert batch_vector_dtype(TagJob("in.txt", "out", vector_dtype=chosen,
                                         runtime=runtime)) == chosen


def test_auto_keeps_float32_for_jax_known_to_run_on_the_cpu():
    job = TagJob("in.txt", "out", vector_dtype="auto", runtime="jax")
    assert batch_vector_dtype(job, jax_on_cpu=True) == "float32"
    hinted = TagJob("in.txt", "out", vector_dtype="auto", runtime="jax",
                    accelerator="type:nvidia-l4;count:1")
    assert batch_vector_dtype(hinted, jax_on_cpu=True) == "float16"
    assert batch_vector_dtype(TagJob("in.txt", "out", vector_dtype="float16", runtime="jax"),
                              jax_on_cpu=True) == "float16"


@pytest.mark.parametrize("gpu_here, batch_tokens, platforms, expected", [
    (False, [], None, ("float32", 16384)), (True, [], None, ("float16", 65536)),
    (True, ["--max-batch-tokens", "4096"], None, ("float16", 4096)),
    (True, [], "cpu", ("float32", 16384))])
def test_the_command_fits_jax_batches_to_a_gpu_only_where_it_has_one(
        gpu_here, batch_tokens, platforms, expected, tiny_tagger, tmp_path, monkeypatch, capsys):
    """A local ``beamtagger tag --runtime jax`` on a machine without a GPU (or without JAX's
    CUDA build, or with JAX_PLATFORMS=cpu) runs float32 in the CPU's batch size, as the
    TensorFlow runtime does; on a GPU, float16 vectors and GPU-sized batches unless
    --max-batch-tokens says otherwise."""
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from beamtagger.pipeline import cli, tag_pipeline, tag_runtime

    monkeypatch.setenv("BEAMTAGGER_JAX_CACHE", str(tmp_path / "jax-cache"))
    if platforms is None:
        monkeypatch.delenv("JAX_PLATFORMS", raising=False)
    else:
        monkeypatch.setenv("JAX_PLATFORMS", platforms)
    monkeypatch.setattr(tag_runtime, "_local_gpu", lambda: gpu_here)
    monkeypatch.setattr(tag_runtime, "_jax_cuda_installed", lambda: True)
    ran = []
    run_tag_job = tag_pipeline.run_tag_job

    def recorded(job, options):
        ran.append((job.vector_dtype, job.max_batch_tokens))
        return run_tag_job(job, options)

    monkeypatch.setattr(tag_pipeline, "run_tag_job", recorded)
    source = tmp_path / "in.txt"
    source.write_text("the cat sat\non a mat .\n", encoding="utf-8")
    code = cli.main(["tag", "--progress-every", "0", "--input", str(source), "--output",
                     str(tmp_path / "out"), "--model", tiny_tagger.model_dir, "--embeddings",
                     tiny_tagger.store_path, "--runtime", "jax", *batch_tokens])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert ran == [expected]
    said = re.findall(r"^GPU batches +([\d,]+) slots, (\w+) vectors", out, re.M)
    to_gpu = expected[0] == "float16"
    assert said == ([] if not to_gpu else [(f"{expected[1]:,}", expected[0])])


@pytest.mark.parametrize("platforms, allowed", [
    ("", True), ("cpu", False), ("cuda", True), ("cuda,cpu", True), ("GPU", True),
    ("cpu, tpu", False)])
def test_jax_platforms_that_keep_jax_off_the_gpu(platforms, allowed, monkeypatch):
    from beamtagger.pipeline import tag_runtime

    monkeypatch.setenv("JAX_PLATFORMS", platforms)
    assert tag_runtime._jax_platforms_allow_a_gpu() is allowed


@pytest.mark.parametrize("corpus, fmt", [("ud-english-ewt/en_ewt-ud-dev.conllu", "conllu"),
                                         ("wnut17/emerging.dev.conll", "conll")])
def test_the_bundled_models_labels_are_the_same_with_float16_vectors(shared_data, corpus, fmt):
    from beamtagger.corpus_readers import read_corpus
    from beamtagger.embeddings.default import open_store
    from beamtagger.model.numpy_inference import NumpyTaggerRunner
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR
    from beamtagger.model.token_inputs import TokenInputs
    from beamtagger.transforms.arrow_batches import build_record_batch, model_inputs
    from beamtagger.transforms.bucket import length_batches
    from beamtagger.transforms.records import Segment
    from beamtagger.transforms.tag import _decode_flat_or_none

    runner = NumpyTaggerRunner.load(str(DEFAULT_MODEL_DIR))
    spec = runner.spec
    store = open_store(None)
    token_inputs = TokenInputs(store, spec.featurizer)
    sentences = [s.tokens for s in read_corpus(str(shared_data / corpus), fmt) if s.tokens][:400]
    segments = [Segment(str(i), tuple(tokens), str(i), tuple(range(len(tokens))),
                        tuple(range(1, len(tokens) + 1)), None, 0, 1, 0, len(tokens))
                for i, tokens in enumerate(sentences)]
    compared = 0
    for rows in length_batches([len(tokens) for tokens in sentences], 16384):
        labels = {}
        for dtype in ("float32", "float16"):
            batch, _ = build_record_batch([segments[j] for j in rows], store, spec.featurizer,
                                          dtype, spec.inputs_fingerprint, token_inputs)
            inputs = model_inputs(batch)
            assert inputs.vectors.dtype == np.dtype(dtype)
            labels[dtype] = np.asarray(_decode_flat_or_none(
                spec, runner.predict(inputs), inputs.lengths)[0])
        assert np.array_equal(labels["float16"], labels["float32"])
        compared += len(labels["float32"])
    assert compared > 4000
