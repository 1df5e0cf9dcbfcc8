"""A streaming job's RunInference model refreshes with ``large_model`` / ``model_copies``:
Beam's ``MultiProcessShared`` keeps every model it loaded for the process's life (it never
releases an updated model's entry), so what each ``load_model`` opens stays open with it.
"""
import inspect
import os
import pathlib
import shutil
import time

import pytest

from beamtagger.transforms import TaggerModelHandler

UPDATES = 3


def store_mappings(store_path):
    """How many mappings of the store's files this process holds."""
    maps = pathlib.Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("counts mappings in /proc/self/maps (Linux)")
    folder = str(pathlib.Path(store_path).resolve())
    return sum(folder in line for line in maps.read_text().splitlines())


@pytest.mark.parametrize("sharing", [{"large_model": True}, {"model_copies": 2}])
def test_model_updates_map_the_store_once(tiny_tagger, tmp_path, request, sharing):
    # Each update's load_model opened (memory-mapped) the store again, and Beam held every
    # loaded model: one more mapping of the store per update and per model copy, for good.
    from apache_beam.ml.inference.base import _RunInferenceDoFn

    class Clock:
        def time_ns(self):
            return time.time_ns()

    tag = f"refresh-{os.getpid()}-{tmp_path.name}"
    request.addfinalizer(lambda: _remove_shared_address_files(tag))
    # A store of the test's own: the tiny tagger's is the session's, and a store another test
    # opened stays mapped until the collector frees it (2 mappings, not 1, here right after
    # model_token_inputs_test, whose module fixture opens one).
    store = str(shutil.copytree(tiny_tagger.store_path, tmp_path / "store"))
    handler = TaggerModelHandler(**{**tiny_tagger.options, "store_path": store}, **sharing)
    dofn = _RunInferenceDoFn(handler, Clock(), None, model_tag=tag)
    dofn.setup()
    mapped = store_mappings(store)
    for update in range(UPDATES):
        model_dir = tmp_path / f"model-{update}"
        shutil.copytree(tiny_tagger.model_dir, model_dir)
        dofn.update_model(str(model_dir))
        (result,) = dofn._run_inference(["Beam tags this."], None)
        assert result.model_id == str(model_dir)
        assert list(result.inference.labels) == tiny_tagger.labels("Beam tags this.")
    assert store_mappings(store) == mapped == 1


def _remove_shared_address_files(tag):
    """Beam's MultiProcessShared leaves an address and a lock file per shared object under its
    tag in the temp dir, for good: 12 a run of this test's two cases, whose tags are new in
    every run (432 of them in a shared machine's /tmp after a day of runs). Its folder is the
    temp dir when Beam was imported (a default argument), not the session's (conftest)."""
    from apache_beam.utils.multi_process_shared import MultiProcessShared

    folder = inspect.signature(MultiProcessShared).parameters["path"].default
    for name in os.listdir(folder):
        if name.startswith(tag):
            os.unlink(os.path.join(folder, name))
