"""``beamtagger tag``: this process's settings while a local run's pipeline runs in it, each
measured and each restored afterwards: scikit-learn kept from being imported
(``without_scikit_learn``) and the cyclic garbage collector run less often
(``fewer_garbage_collections``). Worker processes are not touched.

``tag_command`` imports this module at its own import, as the CLI starts, so that the
garbage collector's frozen objects counted here are the interpreter's own.
"""
import contextlib
import gc
import sys

__all__ = ["YOUNG_COLLECTION_THRESHOLD", "fewer_garbage_collections", "without_scikit_learn"]


@contextlib.contextmanager
def without_scikit_learn():
    """scikit-learn marked unavailable in this process while the pipeline runs.

    Keras imports it (and SciPy) for its scikit-learn wrappers whenever it is installed
    (``keras/src/wrappers/fixes.py`` falls back to None on ImportError); it is here only for
    seqeval's WNUT metrics, and a tag run never uses it. It was 0.7-0.85 of the 3.1-3.2
    CPU-seconds of ``import tensorflow`` on the 2-core dev machine, which the in-process local
    runner pays before the first batch (bench/startup_bench.py). Nothing changes where
    something imported it already; worker processes are not touched.
    """
    if "sklearn" in sys.modules:
        yield
        return
    sys.modules["sklearn"] = None
    try:
        yield
    finally:
        if sys.modules.get("sklearn", 0) is None:
            del sys.modules["sklearn"]


# Net container allocations between two young collections while a tag run lasts (Python: 700).
YOUNG_COLLECTION_THRESHOLD = 100_000
# CPython 3.12 starts with objects of its own in the permanent generation (375 tuples on 3.12.1;
# none on 3.11 and 3.13), so a count above 0 did not mean that someone froze objects, and no
# tag run froze on 3.12. The count when this module is imported is the interpreter's.
_FROZEN_AT_IMPORT = gc.get_freeze_count()


@contextlib.contextmanager
def fewer_garbage_collections():
    """Python's cyclic garbage collector runs less often in this process while the pipeline
    runs, and never walks what was alive before it (``gc.freeze``: modules, the pipeline).

    The stages make a tuple or a list per record and per batch entry, while the batches they
    buffer, the tokenizer's and the token table's memories keep many objects alive for the
    collector to walk. With Python's defaults the collections cost 0.10 core-µs a token of
    case G's non-model marginal and 0.36-0.49 CPU-seconds a run whatever its size; with these
    settings none ran after start-up (bench/case_g_side_by_side.py's ``gc`` figures,
    2026-12-05). Cycles are still collected, after 100,000 allocations instead of 700. The
    earlier settings come back afterwards; objects someone else froze (after this module was
    imported) stay frozen; worker processes are not touched.
    """
    thresholds = gc.get_threshold()
    freeze = gc.get_freeze_count() <= _FROZEN_AT_IMPORT
    gc.set_threshold(max(thresholds[0], YOUNG_COLLECTION_THRESHOLD), *thresholds[1:])
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()
        gc.set_threshold(*thresholds)
