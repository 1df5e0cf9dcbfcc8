"""One device table of a store per process (``model/device_tables.py``): the JAX runners of
several models over one store share it, it is freed with the last of them, and another dtype,
another store or the same store saved again gets its own."""
import gc

import numpy as np
import pytest

pytest.importorskip("jax", reason="the jax extra is not installed")

from beamtagger.embeddings.importers import import_embeddings  # noqa: E402
from beamtagger.embeddings.store import EmbeddingStore  # noqa: E402
from beamtagger.model import runtimes  # noqa: E402
from beamtagger.model.jax_inference import JaxTaggerRunner  # noqa: E402
from beamtagger.testing import cached_tiny_tagger  # noqa: E402
from beamtagger.tests.model_jax_inference_test import LONGER_THAN_THE_WARM_UP  # noqa: E402


def live_tables(store, dtype):
    """The device arrays alive in this process of the shape and dtype of ``store``'s table
    (its rows and a zero row)."""
    import jax

    gc.collect()
    return sum(1 for array in jax.live_arrays()
               if array.shape == (store.count + 1, store.dim) and array.dtype == dtype)


def same_on_both_sides(found):
    """Each record tagged once on each side ("together", "alone"), with the same labels and
    scores."""
    sides = {side: sorted(entry[1:] for entry in found if entry[0] == side)
             for side in ("together", "alone")}
    assert sides["together"] == sides["alone"] and len(sides["alone"]) == len(
        LONGER_THAN_THE_WARM_UP), sides


def test_two_models_in_one_pass_over_one_store_put_one_table_on_the_device(tmp_path,
                                                                            monkeypatch):
    """Each model's runner put its own copy of the store's table on the device (on a GPU,
    480 MB a model for a 400k x 300 float32 store). One pass of two models puts one, tags
    as each model's own TagText does with the vectors gathered on the host, and the table
    goes with the runners."""
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to

    from beamtagger.transforms import TagText, TagTextWithModels, TextRecord

    first, second = cached_tiny_tagger(tmp_path / "first"), cached_tiny_tagger(tmp_path / "second")
    store = EmbeddingStore.open(first.store_path)
    before = live_tables(store, "float16")
    loaded, load_runner = [], runtimes.load_runner
    monkeypatch.setattr(runtimes, "load_runner",
                        lambda *args, **kwargs: loaded.append(load_runner(*args, **kwargs))
                        or loaded[-1])
    models = {"first": first.model_dir, "second": second.model_dir}
    options = dict(store_path=first.store_path, runtime="jax", vector_dtype="float16",
                   max_batch_tokens=64)
    records = [TextRecord(str(i), text) for i, text in enumerate(LONGER_THAN_THE_WARM_UP)]
    with beam.Pipeline() as p:
        created = p | beam.Create(records)
        together = created | TagTextWithModels(models, vectors_at="tag", **options)
        for name, model_dir in models.items():
            alone = created | f"Alone{name}" >> TagText(model_dir, vectors_at="attach",
                                                         **options)
            assert_that(together[name].errors, equal_to([]), label=f"NoDeadLetters{name}")
            labelled = [tagged | f"{side}{name}" >> beam.Map(
                lambda r, side=side: (side, r.id, r.labels, r.scores))
                for side, tagged in (("together", together[name].tagged),
                                     ("alone", alone.tagged))]
            assert_that(labelled | f"Both{name}" >> beam.Flatten(), same_on_both_sides,
                        label=f"SameLabels{name}")
    assert len(loaded) == 2   # a runner for each model (the file identities differ)
    tables = {id(table) for runner in loaded for table in runner._tables.values()}
    assert len(tables) == 1
    assert live_tables(store, "float16") == before + 1
    del loaded[:]
    assert live_tables(store, "float16") == before


def test_a_table_lives_while_a_runner_holds_it_and_another_dtype_or_store_is_its_own(tmp_path):
    tiny = cached_tiny_tagger(tmp_path / "tiny")
    store = EmbeddingStore.open(tiny.store_path)
    # Another store of the same shape: its own table, though nothing else tells the two apart.
    other = EmbeddingStore.open(tiny.store_path)
    before = {dtype: live_tables(store, dtype) for dtype in ("float16", "float32")}

    def added(dtype):
        return live_tables(store, dtype) - before[dtype]

    first, second = (JaxTaggerRunner.load(tiny.model_dir) for _ in range(2))
    table = first.device_table(store, "float16")
    assert second.device_table(store, "float16") is table and added("float16") == 1
    assert runtimes.fed_by_store_rows(second, store, "float16").table is table
    float32 = second.device_table(store, "float32")
    assert float32.vector_dtype == "float32" and added("float32") == 1
    own = second.device_table(other, "float16")
    assert own is not table and added("float16") == 2
    assert np.array_equal(np.asarray(own.array), np.asarray(table.array))
    del first
    assert added("float16") == 2            # the second runner still holds both
    del second, own, float32
    assert added("float16") == 1 and added("float32") == 0   # ``table`` alone is left
    del table
    assert added("float16") == 0


def test_a_store_saved_again_at_its_path_is_a_table_of_its_new_vectors(tmp_path):
    """Opened again from the files that replaced it, never the table of the old files, though
    a runner with that table is still alive."""
    from beamtagger.transforms.worker_resources import open_store

    tiny = cached_tiny_tagger(tmp_path / "tiny")
    old = open_store(tiny.store_path)
    runner = JaxTaggerRunner.load(tiny.model_dir)
    old_table = runner.device_table(old, "float32")
    text = tmp_path / "new-vectors.txt"
    vectors = np.random.default_rng(5).normal(size=(old.count, old.dim)).astype(np.float32)
    text.write_text("".join(f"{word} {' '.join(f'{v:.5f}' for v in row)}\n"
                            for word, row in zip(old.words, vectors)),
                    encoding="utf-8")
    import_embeddings(text, tiny.store_path, overwrite=True)
    new = open_store(tiny.store_path)
    assert new is not old and new.fingerprint != old.fingerprint
    table = JaxTaggerRunner.load(tiny.model_dir).device_table(new, "float32")
    assert table is not old_table and runner.device_table(new, "float32") is table
    assert np.array_equal(np.asarray(table.array)[1:], np.asarray(new.vectors))
    assert not np.array_equal(np.asarray(table.array), np.asarray(old_table.array))



def test_the_gpu_check_finds_a_second_model_over_the_store_adds_no_table(tmp_path, monkeypatch):
    """bench/gpu_bench.py's figure for a GPU's memory, on the CPU: no memory_stats there."""
    import pathlib

    # bench/ on sys.path for this test only: inserted by hand, it stayed first on sys.path for
    # every later test of the process, each benchmark script's name shadowing any other module.
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
    import gpu_bench

    tiny = cached_tiny_tagger(tmp_path / "tiny")
    store = EmbeddingStore.open(tiny.store_path)
    fed = runtimes.fed_by_store_rows(JaxTaggerRunner.load(tiny.model_dir), store, "float16")
    figures = gpu_bench.second_model_on_the_device(fed, store)
    assert figures["same_table"] is True and figures["device_bytes_added"] is None
    assert figures["table_bytes"] == (store.count + 1) * store.dim * 2
    assert figures["weights_bytes"] > 0


def test_a_dtype_given_as_a_numpy_dtype_is_the_table_of_its_name(tmp_path):
    """``vector_dtype=np.dtype("float16")`` passes ``check_vector_dtype`` (it equals
    "float16") but hashes apart from the name: it put a second copy of the table."""
    tiny = cached_tiny_tagger(tmp_path / "tiny")
    store = EmbeddingStore.open(tiny.store_path)
    before = live_tables(store, "float16")
    runner = JaxTaggerRunner.load(tiny.model_dir)
    table = runner.device_table(store, "float16")
    assert runner.device_table(store, np.dtype("float16")) is table
    assert live_tables(store, "float16") == before + 1 and table.vector_dtype == "float16"
