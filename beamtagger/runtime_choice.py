"""Which runtime runs the tagger when ``beamtagger tag`` is not told (``--runtime``), nor the
tagging transforms (``runtime=None``).

The NumPy runtime is ready in a tenth of a second; TensorFlow needs about three (its import,
the model load and trace) but then computes a batch on every core while the Python stages run
beside it. So a small input is done with NumPy before TensorFlow would even have loaded, and a
large one is done sooner with TensorFlow. Where CPU workers give the tagger one thread in each
process (Dataflow's one SDK process a vCPU), TensorFlow has no cores to spread a batch over and
pays its start-up in every process: NumPy at any size. ``choose_runtime`` is that decision, a
pure function of what the command line found at launch: the input's size, what is installed,
whether a GPU is there, whether the tagger gets one thread a process, whether a Dataflow tag
stage has an accelerator hint. The transforms (``TagText``, ``TagBatches``,
``TaggerModelHandler``) ask ``choose_transform_runtime`` where they are applied, which knows
all of that but the input's size and the local GPU (``transforms/runtime_where_applied.py``).
The crossover
(``SMALL_INPUT_BYTES``) is measured by ``bench/startup_bench.py`` (BENCHMARKS.md, "Which runtime
for which input size"), the one-thread rule by ``bench/one_thread_jobs.py``.

No Beam, NumPy or TensorFlow imports: the CLI calls it before anything heavy is loaded.
"""
from typing import Iterable, NamedTuple, Optional

from beamtagger import tagging_defaults

__all__ = ["COMPRESSED_TEXT_FACTOR", "RuntimeChoice", "SMALL_INPUT_BYTES", "choose_runtime",
           "choose_transform_runtime", "input_text_bytes", "installed_runtimes",
           "within_address_space"]

# At most this many bytes of text (uncompressed) go to the small-input runtime. Measured with
# the bundled model on the 2-core bench machine (bench/startup_bench.py, EWT train prefixes,
# wall time of the whole command, 2026-12-06): NumPy was faster at every size up to the largest,
# 4.06 MB (0.91x TensorFlow's time), and about even at 5.1 MB (1M tokens, 0.95x, within the
# runs' spread; bench/numpy_side_by_side.py); 1 MB before its LSTM ran both directions at once.
SMALL_INPUT_BYTES = 4_000_000
# A compressed file counts as this many times its size. EWT train as text compresses 2.6x with
# gzip and 3.3x with bzip2; JSON Lines compress more. Erring large sends a middling compressed
# input to TensorFlow (at most its ~3 s start-up lost), erring small would send a large one to
# the slower NumPy runtime for its whole length. Small files compress far less: a local run
# counts its compressed files' text where the factor would decide (transforms/reading/text_size).
COMPRESSED_TEXT_FACTOR = 4
COMPRESSED_SUFFIXES = (".gz", ".gzip", ".bz2", ".zst", ".zstd", ".deflate", ".lzma", ".xz")

# Runtimes by role, in order of preference; each must be a name in tagging_defaults.RUNTIMES.
SMALL_INPUT_RUNTIMES = ("numpy",)
LARGE_INPUT_RUNTIMES = ("tensorflow", "numpy")
# Preferred for large inputs where JAX can use a GPU here (beamtagger tag, local runs).
GPU_RUNTIMES = tuple(name for name in ("jax",) if name in tagging_defaults.RUNTIMES)
# Preferred for inputs of any size where the tagger runs on one thread in each worker process
# (Dataflow's CPU workers: one SDK process a vCPU). Measured on the 2-core bench machine, the
# whole command with one SDK process a core and one tagger thread each (bench/one_thread_jobs.py,
# 2026-12-06, BENCHMARKS.md "One thread each, the whole job"): NumPy took 0.68x TensorFlow's CPU
# for 1M tokens and 0.76x for 2M (every round below every TensorFlow round), labels equal. The
# tokens between the two sizes cost the same (0.99x, rounds 0.83-1.16): the saving is
# TensorFlow's start-up (import, load, trace: about 4 CPU s) that every process pays, and each
# process held half the memory (0.7 GB against 1.3-1.4 GB).
ONE_THREAD_RUNTIMES = ("numpy",)
# Preferred for a Dataflow tag stage with an accelerator hint, at any size: NumPy runs on CPUs
# only (a trial run of a right-fitted job on a sample got it, and its GPU workers ran the tagger
# on their CPUs), and a worker image may carry TensorFlow's GPU build or JAX's, which only
# ``--runtime jax`` (``runtime="jax"``) says.
ACCELERATOR_RUNTIMES = ("tensorflow",)


class RuntimeChoice(NamedTuple):
    runtime: str
    reason: str

    def announcement(self):
        return f"runtime          {self.runtime}  ({self.reason}; --runtime sets it)"


def input_text_bytes(files: Iterable, input_format: Optional[str] = None) -> int:
    """Bytes of text in ``files`` ((path, size in bytes) pairs, e.g. from FileSystems.match
    metadata), compressed files counted ``COMPRESSED_TEXT_FACTOR`` times; Parquet files
    (``input_format`` "parquet") too, whatever their names: their column chunks are compressed
    (pyarrow writes Snappy by default) and their strings dictionary-encoded."""
    total = 0
    for path, size in files:
        compressed = (input_format == "parquet"
                      or str(path).lower().endswith(COMPRESSED_SUFFIXES))
        total += int(size or 0) * (COMPRESSED_TEXT_FACTOR if compressed else 1)
    return total


def choose_runtime(input_bytes: Optional[int], installed: Iterable[str], gpu: bool = False,
                   small_input_bytes: int = SMALL_INPUT_BYTES,
                   one_tagger_thread: bool = False,
                   accelerator_hint: bool = False) -> RuntimeChoice:
    """The runtime for an input of ``input_bytes`` (None: unknown or unbounded, as in a
    streaming job), among the ``installed`` runtimes; ``gpu``: a GPU is there for the tagger;
    ``one_tagger_thread``: CPU workers give the tagger one thread in each process (a Dataflow
    job's, one SDK process a vCPU: ``worker_threads.tagger_threads``); ``accelerator_hint``:
    the tag stage runs on Dataflow with an accelerator resource hint (the DirectRunner
    ignores hints)."""
    installed = [name for name in tagging_defaults.RUNTIMES if name in set(installed)]
    if not installed:
        raise ValueError("no runtime is installed")
    if accelerator_hint:
        for name in ACCELERATOR_RUNTIMES:
            if name in installed:
                return RuntimeChoice(name, "the tag stage has an accelerator hint; numpy runs "
                                           "on CPUs only")
    size = "of unknown size" if input_bytes is None else f"of {_megabytes(input_bytes)}"
    small = input_bytes is not None and input_bytes <= small_input_bytes
    if small:
        for name in SMALL_INPUT_RUNTIMES:
            if name in installed:
                return RuntimeChoice(name, f"input {size}, at most {_megabytes(small_input_bytes)}: "
                                           "done before TensorFlow would have loaded")
    if gpu:
        for name in GPU_RUNTIMES:
            if name in installed:
                return RuntimeChoice(name, f"input {size}, a GPU")
    if one_tagger_thread:
        for name in ONE_THREAD_RUNTIMES:
            if name in installed:
                return RuntimeChoice(name, f"input {size}, CPU workers with one tagger thread a "
                                           "process: TensorFlow's CPU a token there, without its "
                                           "start-up in every process, in half the memory")
    over = f", over {_megabytes(small_input_bytes)}" if input_bytes is not None else ""
    for preference, name in enumerate(LARGE_INPUT_RUNTIMES):
        if name in installed:
            if preference:
                return RuntimeChoice(name, f"input {size}; {LARGE_INPUT_RUNTIMES[0]} is not "
                                           "installed")
            return RuntimeChoice(name, f"input {size}{over if not small else ''}")
    return RuntimeChoice(installed[0], f"input {size}; the only runtime installed")


def installed_runtimes(remote: bool):
    """The runtimes a job may be given: all of them on a remote runner, whose workers install
    their own packages; else those installed in this interpreter."""
    from beamtagger.model import runtimes

    if remote:
        return tagging_defaults.RUNTIMES
    return [name for name in tagging_defaults.RUNTIMES if runtimes.is_installed(name)]


def choose_transform_runtime(tagger_threads: Optional[int], remote: bool,
                             accelerator_hint: bool = False) -> RuntimeChoice:
    """The runtime of a tagging transform given none, chosen where it is applied: as
    ``beamtagger tag`` chooses, for an input of unknown size (a transform is applied before
    anything is read: never the small-input rule) and without its JAX-on-a-local-GPU rule
    (the command's own, which looks at this machine's GPU and JAX build). ``tagger_threads``:
    the tag stage's threads a worker process as the pipeline's runner sets them
    (``worker_threads``); ``remote``: a Dataflow runner; ``accelerator_hint``: the tag stage
    has one (counted on Dataflow only, as the command counts it). Locally, NumPy where the
    runtime chosen cannot start under this process's ``ulimit -v`` (``within_address_space``,
    as the command falls back): its workers failed at the runner's load."""
    choice = choose_runtime(None, installed_runtimes(remote),
                            one_tagger_thread=tagger_threads == 1,
                            accelerator_hint=remote and accelerator_hint)
    # Local workers are this process's children, under its ulimit -v; remote ones have their own.
    return choice if remote else within_address_space(choice)


def within_address_space(choice: RuntimeChoice) -> RuntimeChoice:
    """``choice``, or NumPy where the chosen runtime's framework would not start under this
    process's ``ulimit -v`` (``runtimes.address_space_shortfall``): no runtime was named, and
    NumPy gives the same labels in any address space the store maps in."""
    from beamtagger.model import runtimes

    shortfall = runtimes.address_space_shortfall(choice.runtime)
    if shortfall is None or not runtimes.is_installed("numpy"):
        return choice
    return RuntimeChoice("numpy", f"{choice.reason}, but {shortfall}")


def _megabytes(size):
    if size < 1000:
        return f"{size} bytes"
    return f"{size / 1e3:.0f} kB" if size < 1e6 else f"{size / 1e6:.1f} MB"
