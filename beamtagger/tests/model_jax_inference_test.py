"""The JAX runtime: its fixed grid of shapes, the bounded number of compiled shapes, the process
set-up (GPU memory, compilation cache) and the runtime registry. Its forward pass against the
Keras model's, variant by variant, is in model_tagger_test.py."""
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from beamtagger.model import runtimes, shape_grid
from beamtagger.model.model_inputs import ModelInputs
from beamtagger.transforms.bucket import length_batches


def test_every_batch_shape_maps_into_the_finite_grid_with_bounded_padding():
    allowed = {(rows, width) for width in list(shape_grid.WIDTHS) + [384]
               for rows in shape_grid.grid_rows(width)}
    for length in range(1, 301):
        width = shape_grid.grid_width(length)
        assert length <= width < 2 * length + 8
        for batch_size in list(range(1, 40)) + list(range(40, 9000, 97)):
            calls = shape_grid.grid_shapes(batch_size, length)
            assert set(calls) <= allowed
            rows = [r for r, _ in calls]
            assert sum(rows) >= batch_size and sum(rows[:-1]) < batch_size
            assert all(r * width <= shape_grid.MAX_SLOTS for r in rows)
            # The last call pads its rows less than twice over, unless it is the smallest class.
            rest = batch_size - sum(rows[:-1])
            assert rows[-1] < 2 * rest or rows[-1] == shape_grid.grid_rows(width)[0]
    # A full batch of a power-of-two budget is a grid shape as it is: nothing padded.
    for budget in (1 << 14, 1 << 16, 1 << 18):
        for width in shape_grid.WIDTHS:
            full = budget // width
            assert shape_grid.computed_slots(full, width) == full * width


def test_a_longer_chunk_adds_grid_widths_by_its_logarithm():
    """Widths beyond 256 were multiples of 128: ``--chunk 10000`` allowed 77 more widths, each
    compiled at several row counts, 1-2 s a shape on a GPU (found by the JAX audit)."""
    widths = [shape_grid.grid_width(length) for length in range(1, 10001)]
    assert len(set(widths)) == len(shape_grid.WIDTHS) + 11   # 384, 512, ..., 12,288
    assert all(length <= width < 1.5 * length
               for length, width in enumerate(widths[256:], start=257))
    assert shape_grid.grid_width(257) == 384 and shape_grid.grid_width(385) == 512
    assert shape_grid.grid_width(768) == 768 and shape_grid.grid_width(769) == 1024


def test_tag_stage_batches_by_the_grid_widths_fill_the_grid():
    lengths = [n for n in range(1, 257) for _ in range(40)]
    widths = runtimes.bucket_widths("jax")
    for indices in length_batches(lengths, 16384, widths):
        longest = max(lengths[j] for j in indices)
        width = shape_grid.grid_width(longest)
        assert all(shape_grid.grid_width(lengths[j]) == width for j in indices)
        assert len(indices) <= 16384 // width
    assert runtimes.bucket_widths("tensorflow") is None and runtimes.bucket_widths("numpy") is None


@pytest.mark.slow   # a dozen compilations: 30-90 s on the shared 2-core machine
def test_compiled_shapes_stay_bounded_on_every_length_from_1_to_300(tiny_tagger):
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from beamtagger.model.jax_inference import JaxTaggerRunner
    from beamtagger.model.numpy_inference import NumpyTaggerRunner

    runner = JaxTaggerRunner.load(tiny_tagger.model_dir)
    reference = NumpyTaggerRunner.load(tiny_tagger.model_dir)
    dims = runner.spec.input_dims
    rng = np.random.default_rng(3)
    lengths = [n for n in range(1, 301) for _ in range(2)]

    def batch(group):
        group_lengths = np.array([lengths[j] for j in group], np.int32)
        b, t = len(group), int(group_lengths.max())
        return ModelInputs(
            vectors=rng.normal(size=(b, t, dims["D"])).astype(np.float32),
            lengths=group_lengths,
            extra_ids=rng.integers(0, 4, (b, t)).astype(np.int32),
            feature_ids=np.ones((b, t, dims["F"]), np.int32),
            char_ids=rng.integers(0, 3, (b, t, dims["C"])).astype(np.int32))

    for budget in (16384, 4096):
        for group in length_batches(lengths, budget, runtimes.bucket_widths("jax")):
            inputs = batch(group)
            got, expected = runner.predict(inputs), reference.predict(inputs)
            real = np.arange(inputs.width)[None, :] < inputs.lengths[:, None]
            np.testing.assert_allclose(got[real], expected[real], atol=2e-5)
        compiled = len(runner.compiled_shapes())
        # 11 widths (lengths over 256 round up to 384); at most two row classes each.
        assert compiled <= 16 if budget == 16384 else compiled <= 22
    # The same batches again: nothing new to compile.
    for group in length_batches(lengths, 16384, runtimes.bucket_widths("jax")):
        runner.predict(batch(group))
    assert len(runner.compiled_shapes()) == compiled


def test_the_registry_names_each_runtime_once_and_refuses_others():
    from beamtagger import tagging_defaults

    assert tagging_defaults.RUNTIMES == runtimes.NAMES == ("tensorflow", "numpy", "jax")
    with pytest.raises(ValueError, match="tensorflow, numpy, jax"):
        tagging_defaults.check_runtime("torch")
    assert runtimes.is_installed("numpy")


def run_python(script, **env):
    """A fresh interpreter running ``script``, without the JAX settings of this one."""
    clean = {key: value for key, value in os.environ.items()
             if not key.startswith("XLA_PYTHON_CLIENT") and key != "JAX_COMPILATION_CACHE_DIR"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=300, env={**clean, **env})


def test_jax_set_up_shares_the_gpu_and_caches_compiled_shapes_on_disk(tiny_tagger, tmp_path):
    pytest.importorskip("jax", reason="the jax extra is not installed")
    cache = tmp_path / "jax-cache"
    script = f"""
        import json, os
        from beamtagger.model import runtimes
        runner = runtimes.load_runner("jax", {tiny_tagger.model_dir!r})
        runner.warm_up()
        import jax
        print(json.dumps({{"preallocate": os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE"),
                          "cache": jax.config.jax_compilation_cache_dir,
                          "compiled": len(runner.compiled_shapes())}}))
        """
    env = {"BEAMTAGGER_JAX_CACHE": str(cache), "JAX_PLATFORMS": "cpu"}
    first = run_python(script, **env)
    assert first.returncode == 0, first.stderr[-3000:]
    seen = json.loads(first.stdout.strip().splitlines()[-1])
    assert seen == {"preallocate": "false", "cache": str(cache), "compiled": 1}
    entries = sorted(os.listdir(cache))
    assert entries   # the warm-up's shape was written
    second = run_python(script, **env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert sorted(os.listdir(cache)) == entries   # read back, not compiled and written again
    # A memory setting the user made is kept.
    kept = run_python("""
        import os
        from beamtagger.model.jax_setup import configure_jax
        configure_jax()
        print(os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE"))
        """, **env, XLA_PYTHON_CLIENT_MEM_FRACTION=".2")
    assert kept.returncode == 0, kept.stderr[-3000:]
    assert kept.stdout.split() == ["None"]


def test_a_cache_entry_cut_short_is_removed_and_written_again(tiny_tagger, tmp_path):
    """JAX writes its cache entries in place and keeps an existing one: an entry cut short by a
    killed process would make every later process warn and compile that shape again."""
    pytest.importorskip("jax", reason="the jax extra is not installed")
    cache = tmp_path / "jax-cache"
    script = f"""
        from beamtagger.model import runtimes
        runtimes.load_runner("jax", {tiny_tagger.model_dir!r}).warm_up()
        """
    env = {"BEAMTAGGER_JAX_CACHE": str(cache), "JAX_PLATFORMS": "cpu"}
    assert run_python(script, **env).returncode == 0
    entries = sorted(cache.glob("*-cache"))
    assert entries
    whole = {entry: entry.read_bytes() for entry in entries}
    hour_ago = time.time() - 3600
    for entry in entries:   # as a process killed while writing them an hour ago left them
        entry.write_bytes(whole[entry][:len(whole[entry]) // 2])
        os.utime(entry, (hour_ago, hour_ago))
    os.utime(cache / ".beamtagger-checked", (hour_ago - 60, hour_ago - 60))
    done = run_python(script, **env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"removed {len(entries)} unreadable entries" in done.stderr
    assert "Error reading persistent compilation cache" not in done.stderr
    assert {entry: entry.read_bytes() for entry in entries}.keys() == whole.keys()
    assert all(len(entry.read_bytes()) > len(whole[entry]) // 2 for entry in entries)
    # The next process reads the entries written again, and finds nothing to remove.
    again = run_python(script, **env)
    assert again.returncode == 0 and "unreadable" not in again.stderr


def test_a_read_only_cache_is_one_line_not_two_at_every_shape(tiny_tagger, tmp_path):
    """JAX warned, two lines each, at every shape it compiled and could not write to a cache
    folder the process may only read (every grid shape of every worker process); such a
    folder is still read."""
    pytest.importorskip("jax", reason="the jax extra is not installed")
    # A folder even root may not write (chmod does not stop root).
    read_only = pathlib.Path("/sys/kernel")
    try:
        (read_only / "beamtagger-write-check").touch()
        pytest.skip("no read-only folder here (Linux's /sys/kernel)")
    except OSError:
        pass
    done = run_python(f"""
        from beamtagger.model import runtimes
        from beamtagger.model.model_inputs import ModelInputs
        runner = runtimes.load_runner("jax", {tiny_tagger.model_dir!r})
        runner.warm_up()
        runner.predict(ModelInputs.zeros(runner.spec.input_dims, [30]))   # a second shape
        """, BEAMTAGGER_JAX_CACHE=str(read_only), JAX_PLATFORMS="cpu")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("JAX compilation cache /sys/kernel is read-only here") == 1
    assert "Error writing persistent compilation cache" not in done.stderr
    from beamtagger.model.jax_setup import _writable

    assert _writable(tmp_path) and not _writable(tmp_path / "missing")
    assert not list(tmp_path.iterdir())   # the check leaves nothing behind


def test_recent_entries_are_left_to_the_process_that_may_be_writing_them(tmp_path):
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from jax._src.compilation_cache import compress_executable

    from beamtagger.model.jax_setup import drop_unreadable_entries

    good = compress_executable(b"compiled" * 1000)
    old, cut, recent, fine = (tmp_path / f"{name}-cache"
                              for name in ("old", "cut", "recent", "fine"))
    for entry in (old, cut, recent):
        entry.write_bytes(good[:20])
    fine.write_bytes(good)
    ten_minutes_ago = time.time() - 600
    for entry in (old, fine):
        os.utime(entry, (ten_minutes_ago, ten_minutes_ago))
    # Cut by a full disk half a minute ago: it made every run until a 120 s grace ran out warn.
    half_a_minute_ago = time.time() - 30
    os.utime(cut, (half_a_minute_ago, half_a_minute_ago))
    assert drop_unreadable_entries(tmp_path) == 2
    assert not old.exists() and not cut.exists() and recent.exists() and fine.exists()
    # Checked once: the next process reads only what was written since (the recent entry, once
    # it is older than the grace period).
    assert drop_unreadable_entries(tmp_path) == 0 and recent.exists()
    assert drop_unreadable_entries(tmp_path, grace_secs=0) == 1 and not recent.exists()


def test_a_worker_without_jax_gets_a_clear_error(tiny_tagger):
    done = run_python(f"""
        import sys

        class NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "jax":
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

        sys.meta_path.insert(0, NotInstalled())
        from beamtagger.errors import BeamtaggerError
        from beamtagger.model import runtimes
        assert not runtimes.is_installed("jax")
        try:
            runtimes.load_runner("jax", {tiny_tagger.model_dir!r})
        except BeamtaggerError as error:
            print("refused:", error)
        """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("refused: JAX is not installed here: install beamtagger[jax]")


def test_load_runner_refuses_a_runtime_it_does_not_have():
    with pytest.raises(ValueError, match="runtime must be one of"):
        runtimes.load_runner("torch", None)


def test_the_cache_folder_is_never_the_working_directory(monkeypatch, tmp_path):
    """An empty BEAMTAGGER_JAX_CACHE (``export BEAMTAGGER_JAX_CACHE=`` to unset it) was the
    path "", the working directory: the compiled shapes were written among the user's files.
    It counts as unset, as an empty BEAMTAGGER_CACHE does; ``~`` is the home directory, as in
    the default store's path."""
    from beamtagger.embeddings.default import default_store_path
    from beamtagger.model.jax_setup import compilation_cache_dir

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("BEAMTAGGER_CACHE", str(tmp_path / "cache"))
    for unset in ("", "  "):
        monkeypatch.setenv("BEAMTAGGER_JAX_CACHE", unset)
        assert compilation_cache_dir() == tmp_path / "cache" / "jax-compilation"
    monkeypatch.setenv("BEAMTAGGER_JAX_CACHE", "~/jax")
    assert compilation_cache_dir() == tmp_path / "jax"
    monkeypatch.setenv("BEAMTAGGER_JAX_CACHE", "OFF")
    assert compilation_cache_dir() is None
    monkeypatch.delenv("BEAMTAGGER_JAX_CACHE")
    monkeypatch.setenv("BEAMTAGGER_CACHE", "~/shared")
    assert compilation_cache_dir() == tmp_path / "shared" / "jax-compilation"
    assert default_store_path().parent == compilation_cache_dir().parent
    monkeypatch.setenv("BEAMTAGGER_CACHE", "")
    assert compilation_cache_dir() == tmp_path / ".cache" / "beamtagger" / "jax-compilation"


def test_a_platform_jax_cannot_start_is_one_clear_error_and_disable_jit_is_no_crash(tiny_tagger):
    """JAX_PLATFORMS=cuda on a machine without a GPU failed inside JAX with a bare
    AssertionError (a 200-line traceback from ``beamtagger tag --runtime jax``); JAX_DISABLE_JIT=1
    made every call of the compiled program a ValueError, JAX_NUMPY_RANK_PROMOTION=raise every
    compilation a BeamtaggerError."""
    pytest.importorskip("jax", reason="the jax extra is not installed")
    if any(runtimes.module_installed(name) for name in ("jax_cuda12_plugin",
                                                         "jax_cuda13_plugin")):
        pytest.skip("JAX's CUDA build is installed: JAX_PLATFORMS=cuda may start here")
    script = f"""
        from beamtagger.errors import BeamtaggerError
        from beamtagger.model import runtimes
        try:
            runtimes.load_runner("jax", {tiny_tagger.model_dir!r}).warm_up()
            print("started")
        except BeamtaggerError as error:
            print("refused:", error)
        """
    done = run_python(script, JAX_PLATFORMS="cuda", BEAMTAGGER_JAX_CACHE="off")
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = done.stdout.splitlines()
    assert line.startswith("refused: JAX cannot start a backend here for JAX_PLATFORMS=cuda (")
    assert "leave it unset" in line
    # Nor do the switches a user may set for their own JAX code (rank promotion "raise" refused
    # the forward pass's broadcasts: the tagger could not compile).
    done = run_python(script, JAX_PLATFORMS="cpu", JAX_DISABLE_JIT="1",
                      JAX_NUMPY_RANK_PROMOTION="raise", JAX_NUMPY_DTYPE_PROMOTION="strict",
                      BEAMTAGGER_JAX_CACHE="off")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["started"]


def test_the_cudnn_layout_holds_each_direction_transposed_with_a_zero_second_bias():
    """JAX reads ``_cudnn_weights``'s vector back with its own ``unpack_lstm_weights``; an input
    width unlike the units (3, not 2) shows a transposition or a shape mixed up."""
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from jax.experimental import rnn

    from beamtagger.model.jax_inference import _cudnn_weights

    rng = np.random.default_rng(0)
    kernel, recurrent, bias = (rng.normal(size=shape).astype(np.float32)
                               for shape in ((2, 3, 8), (2, 2, 8), (2, 8)))
    packed = _cudnn_weights(kernel, recurrent, bias)
    assert packed.dtype == np.float32 and packed.size == rnn.get_num_params_in_lstm(3, 2, 1,
                                                                                     True)
    w_ih, w_hh, b_ih, b_hh = rnn.unpack_lstm_weights(packed, 3, 2, 1, True)
    for direction in (0, 1):   # pseudo-layer 0 forward, 1 backward
        np.testing.assert_array_equal(w_ih[direction], kernel[direction].T)
        np.testing.assert_array_equal(w_hh[direction], recurrent[direction].T)
        np.testing.assert_array_equal(b_ih[direction], bias[direction])
        assert not np.asarray(b_hh[direction]).any()


def test_the_cudnn_recurrence_is_refused_at_construction_where_cudnn_cannot_run(tiny_tagger):
    """jax.experimental.rnn.lstm has no CPU lowering: on a CPU its tracing failed with an
    AttributeError of jaxlib's at the first batch; the runner refuses before, in one line."""
    pytest.importorskip("jax", reason="the jax extra is not installed")
    import jax

    from beamtagger.errors import BeamtaggerError
    from beamtagger.model.jax_inference import JaxTaggerRunner, _require_cudnn_lstm

    with pytest.raises(ValueError, match="recurrence must be one of"):
        JaxTaggerRunner.load(tiny_tagger.model_dir, recurrence="cuda")
    with pytest.raises(ValueError, match="rejects bfloat16"):
        JaxTaggerRunner.load(tiny_tagger.model_dir, recurrence="cudnn", compute_dtype="bfloat16")
    if jax.devices()[0].platform == "gpu":
        pytest.skip("JAX has a GPU here: cuDNN's LSTM may run")
    with pytest.raises(BeamtaggerError) as refused:
        JaxTaggerRunner.load(tiny_tagger.model_dir, recurrence="cudnn")
    message = str(refused.value)
    assert "\n" not in message and "needs an NVIDIA GPU" in message
    assert "this device is cpu" in message and message.endswith("use recurrence='scan'")
    # A GPU whose JAX cannot run cuDNN's LSTM (here: JAX's CPU build, as a GPU without the
    # CUDA RNN kernels would be) is found by evaluating its shape, not at the first batch.
    claimed_gpu = type("Device", (), {"platform": "gpu", "client": None})()
    with pytest.raises(BeamtaggerError, match="needs an NVIDIA GPU.*, and [A-Za-z]*Error"):
        _require_cudnn_lstm(claimed_gpu)


# Records of 9-15 tokens: their batches are 16 wide, so the smallest grid shape (the warm-up's,
# rows x 8) is compiled by the warm-up alone.
WARM_UP_SHAPE = shape_grid.grid_shapes(2, 2)[0]
LONGER_THAN_THE_WARM_UP = ["the cat sat on the mat and the dogs bark at it",
                           "we went home yesterday and it rained all day in paris .",
                           "a cat , a dog and the green apples sat on the red mat today"]


def jax_runners_loaded_by(pipeline_stages, tiny, monkeypatch):
    """The JAX runners a pipeline of TagText stages loaded (``pipeline_stages``: their
    options), after it tagged every record of ``LONGER_THAN_THE_WARM_UP`` in each."""
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to

    from beamtagger.transforms import TagText, TextRecord

    loaded, load_runner = [], runtimes.load_runner

    def recording_load(*args, **kwargs):
        loaded.append(load_runner(*args, **kwargs))
        return loaded[-1]

    monkeypatch.setattr(runtimes, "load_runner", recording_load)
    records = [TextRecord(str(i), text) for i, text in enumerate(LONGER_THAN_THE_WARM_UP)]
    with beam.Pipeline() as p:
        created = p | beam.Create(records)
        for i, options in enumerate(pipeline_stages):
            out = created | f"Tag{i}" >> TagText(
                model_dir=tiny.model_dir, store_path=tiny.store_path, runtime="jax",
                max_batch_tokens=64, **options)
            assert_that(out.tagged | f"Ids{i}" >> beam.Map(lambda r: r.id),
                        equal_to([r.id for r in records]), label=f"tagged {i}")
            assert_that(out.errors, equal_to([]), label=f"no dead letters {i}")
    return loaded


def test_the_jax_runner_warms_up_for_the_batches_each_stage_feeds_it(tmp_path, monkeypatch):
    """The warm-up guessed float16 vectors on a GPU, float32 on a CPU: a stage fed store rows
    (vectors_at="tag") or the other dtype compiled a shape it never ran at every fresh process,
    and its own program on its first batch. Two stages fed differently share one runner, each
    feed warmed up once, at load."""
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.testing import cached_tiny_tagger

    tiny = cached_tiny_tagger(tmp_path / "tiny")   # a model of its own: no earlier runner
    store = EmbeddingStore.open(tiny.store_path)
    table = f"float16 store rows, {store.count + 1:,} x {store.dim}"
    (runner,) = jax_runners_loaded_by(
        [dict(vectors_at="attach", vector_dtype="float32"),
         dict(vectors_at="tag", vector_dtype="float16")], tiny, monkeypatch)
    shapes = runner.compiled_shapes()
    assert {kind for kind, _, _ in shapes} == {"float32", table}   # no float16 vectors
    assert {("float32", *WARM_UP_SHAPE), (table, *WARM_UP_SHAPE)} <= set(shapes)
    assert len(runner.tracing_counts()) == len(shapes)

    (runner,) = jax_runners_loaded_by([dict(vectors_at="attach", vector_dtype="float16")],
                                      cached_tiny_tagger(tmp_path / "again"), monkeypatch)
    assert {kind for kind, _, _ in runner.compiled_shapes()} == {"float16"}
    assert ("float16", *WARM_UP_SHAPE) in runner.compiled_shapes()


def test_a_feed_the_device_cannot_run_fails_the_load_not_every_record(tmp_path, monkeypatch):
    """The store rows' program was first compiled on the first batch: where it could not be
    (an XLA error on the device), that batch and then each of its records failed, and every
    record of the run became a dead letter. It is compiled at load now, and the run fails."""
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from beamtagger.errors import BeamtaggerError
    from beamtagger.model.jax_inference import JaxTaggerRunner
    from beamtagger.testing import cached_tiny_tagger

    compile_vectors = JaxTaggerRunner._compile

    def gather_refused(self, rows, width, kind, table=None):
        if table is not None:
            raise BeamtaggerError(f"JAX could not compile the tagger for a ({rows}, {width}) "
                                  f"batch on {self.device}: the gather (a test's)")
        return compile_vectors(self, rows, width, kind)

    monkeypatch.setattr(JaxTaggerRunner, "_compile", gather_refused)
    with pytest.raises(Exception, match=r"JAX could not compile the tagger for a \(128, 8\)"):
        jax_runners_loaded_by([dict(vectors_at="tag", vector_dtype="float32")],
                              cached_tiny_tagger(tmp_path / "tiny"), monkeypatch)


def test_each_feed_of_a_shared_runner_is_warmed_up_once(tiny_tagger, tmp_path, monkeypatch):
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.numpy_inference import NumpyTaggerRunner
    from beamtagger.testing import cached_tiny_tagger
    from beamtagger.transforms.worker_resources import loaded_runner

    tiny = cached_tiny_tagger(tmp_path / "tiny")
    warmed = []
    monkeypatch.setattr(NumpyTaggerRunner, "warm_up",
                        lambda self, vector_dtype="float32": warmed.append(vector_dtype))
    store = EmbeddingStore.open(tiny.store_path)
    runner = loaded_runner(tiny.model_dir, "numpy", vector_dtype="float16")
    assert loaded_runner(tiny.model_dir, "numpy", vector_dtype="float16") is runner
    fed = loaded_runner(tiny.model_dir, "numpy", vector_dtype="float16", store=store)
    assert fed.runner is runner
    loaded_runner(tiny.model_dir, "numpy", vector_dtype="float16", store=store)
    loaded_runner(tiny.model_dir, "numpy", vector_dtype="float32")
    # The store rows are gathered on the host: the runner is given float16 vectors either way.
    assert warmed == ["float16", "float16", "float32"]


def test_the_handler_warms_its_runner_up_for_its_vector_dtype(tmp_path):
    pytest.importorskip("jax", reason="the jax extra is not installed")
    from beamtagger.testing import cached_tiny_tagger
    from beamtagger.transforms import TaggerModelHandler

    tiny = cached_tiny_tagger(tmp_path / "tiny")
    handler = TaggerModelHandler(**{**tiny.options, "runtime": "jax"}, vector_dtype="float16")
    runner = handler.load_model()._runner
    assert set(runner.compiled_shapes()) == {("float16", *WARM_UP_SHAPE)}
