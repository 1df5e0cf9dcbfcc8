"""One device table of an embedding store per process, shared by the runners that gather from it.

With ``vectors_at="tag"`` a JAX runner gathers each batch's vectors from the store's table on its
device (``JaxTaggerRunner.device_table``). Several models in one pass (``TagTextWithModels``,
``beamtagger tag --model a=... --model b=...``) load a runner each in every worker process, and
each runner put its own copy of the same table there: on a GPU, 480 MB more a model for a 400k x
300 float32 store (240 MB in float16). Here runners over the same store, in the same vector
dtype, on the same device share one table.

**The same store** is the same open ``EmbeddingStore`` object: the mapping of one set of files
whose vectors the table was copied from. ``worker_resources.open_store`` gives a process one
such object per store folder and manifest (its bytes hold the fingerprint) while anyone holds
it, so every tag stage of a pass reads the same one. A store saved again at the same path is
another manifest, so another object and another table; a key made of the path and the
fingerprint alone would hand a table copied from the old files to a store opened on the new
ones wherever the two report the same fingerprint (a ``vectors.npy`` rewritten under an
unchanged manifest), which the host's gather, reading the new files, would not match.

**Lifetime**: the table lives while any runner that uses it lives (each holds it strongly,
``JaxTaggerRunner._tables``, and so does each runner fed by store rows); this registry holds it
weakly, and the store weakly too, so the table's device memory is freed with the last runner,
and a store's entry goes with the store. A model swapped by RunInference or a runner released
at the end of a pipeline frees what only it held.

NumPy and TensorFlow gather store rows on the host, from the store's memory map, batch by batch
(``ModelInputs.with_vectors``): they hold no copy of the table, so there is nothing to share.

No JAX import: the caller puts the table (``put``).
"""
import threading
import weakref

_LOCK = threading.Lock()
# Store -> {(vector dtype, device): weak reference to its table}.
_TABLES = weakref.WeakKeyDictionary()


def shared_table(store, vector_dtype, device, put):
    """The process's table of ``store`` in ``vector_dtype`` on ``device``: the one a live runner
    already uses, or ``put()``'s (called once, under the lock, so two runners loading at once
    do not put two copies)."""
    key = (vector_dtype, device)
    with _LOCK:
        tables = _TABLES.setdefault(store, {})
        for dead in [k for k, ref in tables.items() if ref() is None]:
            del tables[dead]
        table = tables[key]() if key in tables else None
        if table is None:
            table = put()
            tables[key] = weakref.ref(table)
        return table
