"""The tag stage's runtimes, chosen by name in one place.

A runtime is what runs the tagger's forward pass. Each is one module with one runner class
behind the same small protocol (``TaggerRuntime``), and this registry is the only code that
maps a name to it (Keras 3's ``backend/`` folders are the model: one module a backend, the
choice made in one place, named by the user):

========== ======================================= ================= ==========================
name       runner                                  needs             for
========== ======================================= ================= ==========================
tensorflow ``model.inference.TaggerRunner``        TensorFlow        large jobs; CPUs and GPUs
numpy      ``model.numpy_inference``               NumPy, h5py       small or one-thread runs
jax        ``model.jax_inference``                 JAX               GPUs without TensorFlow
========== ======================================= ================= ==========================

The NumPy and JAX runners compute ``Tagger.call`` themselves over the weights that
``numpy_inference.read_keras_weights`` reads from ``tagger.keras`` (no Keras import), so they
work in a process where Keras or TensorFlow was already imported with another backend.

Only the standard library here: ``tagging_defaults`` (and with it ``beamtagger --help``)
imports this module.
"""
import dataclasses
import importlib
import importlib.util
from typing import Optional, Protocol, Tuple

from beamtagger.errors import BeamtaggerError
from beamtagger.model import shape_grid


class TaggerRuntime(Protocol):
    """What every runner offers (``TaggerRunner`` is the reference)."""

    spec: object   # the model's TaggerSpec

    @classmethod
    def load(cls, model_dir): ...

    # Ready for batches of vectors in vector_dtype (traced, compiled: "float16" and "float32"
    # are two programs for TensorFlow and JAX), run once on a tiny batch so that a broken
    # set-up fails at load; store rows: fed_by_store_rows(...).warm_up().
    def warm_up(self, vector_dtype: str = "float32"): ...

    def predict(self, inputs): ...        # ModelInputs -> float32 (B, T, L)

    def tracing_counts(self) -> dict: ...  # traced / compiled functions so far

    def computed_slots(self, batch_size: int, width: int) -> int: ...   # slots a batch costs


@dataclasses.dataclass(frozen=True)
class Runtime:
    """One runtime: where its runner is, what it needs installed, how a process is set up.

    Args:
      name: what users pass (``runtime=``, ``--runtime``).
      runner: ``"module:Class"`` of the runner, imported only when it is loaded.
      requires: the top-level module that must be importable (None: always there).
      missing: the one-line message when ``requires`` is not installed.
      prepare: ``"module:function"`` called once per process with the tag stage's ``threads``
        before the runner loads (memory settings that must precede the framework's start).
      bucket_widths: the batch widths the runner compiles for (``shape_grid``);
        ``BucketByLength`` buckets by them. None: the runner takes any width.
      address_space: the bytes of address space (``ulimit -v``) below which the framework
        aborts the process in native code, where Python cannot catch it, or fails its import
        with an error that does not say why: refused before it is imported
        (``check_address_space``). None: a lack of memory is an error Python sees.
    """
    name: str
    runner: str
    requires: Optional[str]
    missing: str
    prepare: Optional[str] = None
    bucket_widths: Optional[Tuple[int, ...]] = None
    address_space: Optional[int] = None


# JAX's CPU runtime under an address-space limit (soft RLIMIT_AS, bisected in a subprocess,
# jax 0.10.2 CPU, 2 cores, 2026-12-06): importing it, loading the bundled model and tagging a
# sentence (beamtagger.Tagger) worked at 2.99 GB and failed at 2.96 GB, and `beamtagger tag
# --runtime jax` segfaulted at 3 GB (ulimit -v 3000000). Below that JAX aborts in native code
# ("LLVM ERROR: Unable to allocate section memory", "cannot allocate memory for thread-local
# data", a C++ "Resource temporarily unavailable"), down to about 0.5 GB where its library no
# longer maps (an ImportError). 4 GB leaves a margin for the thread stacks and malloc arenas of
# more cores than the 2 measured; a GPU jaxlib reserves more still (CUDA maps large ranges).
_JAX_ADDRESS_SPACE = 4_000_000_000
# TensorFlow's CPU runtime, the same bisection (tensorflow-cpu 2.21, the same day): worked from
# 3.63 GB; between 3.4 and 3.6 GB a MemoryError while Keras imports, at 3.1 GB an abort
# (SIGABRT), at 3 GB through the CLI a "SystemError: error return without exception set"
# traceback from a worker. The same 4 GB margin.
_TENSORFLOW_ADDRESS_SPACE = 4_000_000_000


RUNTIMES = {runtime.name: runtime for runtime in (
    Runtime("tensorflow", "beamtagger.model.inference:TaggerRunner", "tensorflow",
            "TensorFlow is not installed here: install beamtagger[cpu] (or [gpu]), or tag "
            "without it with --runtime numpy (runtime=\"numpy\" in a pipeline of your own)",
            prepare="beamtagger.tensorflow_setup:configure_tensorflow",
            address_space=_TENSORFLOW_ADDRESS_SPACE),
    Runtime("numpy", "beamtagger.model.numpy_inference:NumpyTaggerRunner", None, ""),
    Runtime("jax", "beamtagger.model.jax_inference:JaxTaggerRunner", "jax",
            "JAX is not installed here: install beamtagger[jax] (or [jax-cuda] for NVIDIA "
            "GPUs), or tag without it with --runtime numpy (runtime=\"numpy\" in a pipeline "
            "of your own)",
            prepare="beamtagger.model.jax_setup:configure_jax",
            bucket_widths=shape_grid.WIDTHS, address_space=_JAX_ADDRESS_SPACE),
)}
NAMES = tuple(RUNTIMES)


def get(name):
    """The Runtime called ``name``; ValueError for a name beamtagger does not have."""
    try:
        return RUNTIMES[name]
    except (KeyError, TypeError):
        raise ValueError(f"runtime must be one of {', '.join(NAMES)}, not {name!r}") from None


def is_installed(name):
    """Whether the runtime's framework can be imported, without importing it (TensorFlow's
    import takes 3 s, JAX's 1-3 s)."""
    module = get(name).requires
    return module is None or module_installed(module)


def module_installed(module):
    """Whether the top-level ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def bucket_widths(name):
    """The widths ``BucketByLength`` should bucket by for this runtime (None: its default)."""
    return get(name).bucket_widths


def address_space_shortfall(name):
    """Where this process's address-space limit (``ulimit -v``, which its worker processes
    inherit) is below what runtime ``name`` needs to start (``Runtime.address_space``), the
    two as a phrase (``the jax runtime needs an address space of at least 4.0 GB (ulimit -v
    3906250) and this process is limited to ...``); else None."""
    import resource

    needed = get(name).address_space
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if needed is None or limit == resource.RLIM_INFINITY or limit >= needed:
        return None
    # The limit rounded down: rounded to 0.1 GB, ulimit -v 3900000 read "needs at least 4.0 GB
    # and is limited to 4.0 GB".
    return (f"the {name} runtime needs an address space of at least {needed / 1e9:.1f} GB "
            f"(ulimit -v {-(-needed // 1024)}) and this process is limited to "
            f"{limit // 10**7 / 100:g} GB (ulimit -v {limit // 1024})")


def check_address_space(name, instead="use the numpy runtime (--runtime numpy, "
                                      "runtime=\"numpy\")"):
    """BeamtaggerError, in one line, where runtime ``name`` cannot start under this process's
    address-space limit (``address_space_shortfall``): its framework would abort the process,
    not raise. ``instead``: what else the user can do than raise the limit (None: nothing)."""
    shortfall = address_space_shortfall(name)
    if shortfall:
        raise BeamtaggerError(
            f"{shortfall}, under which {get(name).requires} fails to start or aborts the "
            "process; raise the limit (ulimit -v unlimited)"
            + (f", or {instead}" if instead else ""))


def load_runner(name, model_dir, threads=None):
    """The runner of ``model_dir`` for runtime ``name``, not yet warmed up: the process set up
    first (``Runtime.prepare``). BeamtaggerError where the runtime's framework is missing or
    the process's address space is too small for it (``check_address_space``)."""
    runtime = get(name)
    check_address_space(name)
    try:
        if runtime.prepare:
            _attribute(runtime.prepare)(threads)
        runner_class = _attribute(runtime.runner)
    except ImportError as error:
        if runtime.requires and error.name and error.name.split(".")[0] == runtime.requires:
            raise BeamtaggerError(f"{runtime.missing} ({error})") from None
        raise
    return runner_class.load(model_dir)


def _attribute(path):
    # Looked up at each call, so a test or benchmark that replaces the attribute is obeyed.
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def warmed_up_for(runner, vector_dtype="float32", store=None):
    """``runner`` warmed up for the batches it will be fed, and as they feed it: batches of
    vectors in ``vector_dtype`` (``runner`` itself), or, with ``store``, batches of store rows
    of ``store`` gathered in ``vector_dtype`` (``fed_by_store_rows``). What the tag stage and
    the handler do at load (``worker_resources.loaded_runner``), and ``bench/gpu_bench.py``
    with each variant it measures."""
    if store is None:
        runner.warm_up(vector_dtype)
        return runner
    fed = fed_by_store_rows(runner, store, vector_dtype)
    fed.warm_up()
    return fed


def fed_by_store_rows(runner, store, vector_dtype):
    """``runner`` for batches that carry store rows of ``store`` (``ModelInputs.store_rows``;
    the tag stage's ``vectors_at="tag"``) in place of vectors: a runner with a
    ``device_table`` (JAX) gathers them on its device, from the store's table put there once;
    for the others they are gathered on the host (``ModelInputs.with_vectors``) right before
    ``predict``, on the thread that predicts, so those runners need no change. A batch that
    carries vectors goes through as it is. Its ``warm_up()`` readies the runner for batches of
    store rows: JAX's gathering program (not the vectors' one, which these batches never
    run); for the others, vectors in ``vector_dtype``, which is what they are given."""
    if hasattr(runner, "device_table"):
        return _GatheredOnTheDevice(runner, runner.device_table(store, vector_dtype))
    return _GatheredOnTheHost(runner, store, vector_dtype)


class _GatheredOnTheHost:
    def __init__(self, runner, store, vector_dtype):
        self.runner = runner
        self._store = store
        self._vector_dtype = vector_dtype

    def warm_up(self):
        self.runner.warm_up(self._vector_dtype)

    def predict(self, inputs):
        return self.runner.predict(inputs.with_vectors(self._store, self._vector_dtype))

    def __getattr__(self, name):   # spec, computed_slots, tracing_counts, ...
        return getattr(self.runner, name)


class _GatheredOnTheDevice:
    def __init__(self, runner, table):
        self.runner = runner
        self.table = table

    def warm_up(self):
        self.runner.warm_up(self.table.vector_dtype, self.table)

    def predict(self, inputs):
        return self.runner.predict(inputs, self.table)

    def predict_async(self, inputs):
        return self.runner.predict_async(inputs, self.table)

    def __getattr__(self, name):
        return getattr(self.runner, name)
