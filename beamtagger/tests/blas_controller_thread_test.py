"""The NumPy runtime's threadpoolctl controller is made on the thread that starts the tag
stage's background load, not on the load's thread: made there, its scan of the loaded
libraries (dl_iterate_phdr, which holds the dynamic loader's lock while it calls back into
Python) and the main thread's first import of spaCy (dlopen, with the GIL held) waited on each
other for ever: `tag --input - --output -` hung in 6 of 6 runs on the lowest admitted releases
(numpy 1.26, spacy 3.8.2) before, 0 of 6 after (2026-12-07)."""
import shutil
import threading

import threadpoolctl

from beamtagger.model import numpy_inference
from beamtagger.transforms.tag import _SharedRunner


def test_the_controller_is_made_before_the_load_thread_starts(tiny_tagger, monkeypatch,
                                                              tmp_path):
    made_on = []
    real = threadpoolctl.ThreadpoolController

    def recorded():
        made_on.append(threading.current_thread().name)
        return real()
    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", recorded)
    monkeypatch.setattr(numpy_inference, "_controller", None)
    # A copy of the model: the process keeps the runners it loaded (worker_resources), and one
    # loaded by an earlier test of this worker (with the controller made then) came back here.
    model_dir = shutil.copytree(tiny_tagger.model_dir, tmp_path / "model")
    runner = _SharedRunner(str(model_dir), runtime="numpy").runner
    assert made_on == [threading.current_thread().name]
    assert runner._blas is numpy_inference.blas_controller()
