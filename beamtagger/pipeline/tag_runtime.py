"""``beamtagger tag``: the runtime that tags a job where ``--runtime`` is not given, and what
the job's batches need where they go to a GPU (float16 vectors, GPU-sized batches).

Which runtime for which input is ``beamtagger.runtime_choice``'s pure decision; this module
gives it what only the launching machine can find out: the input's size from its files'
metadata, and whether this machine has an NVIDIA GPU that JAX may use. Nothing here imports
Beam or a framework at import time; ``tag_command`` imports this module where a run needs it.
"""
import dataclasses
import glob
import os

from beamtagger import runtime_choice, tagging_defaults
from beamtagger.model import runtimes


def fitted_to_its_device(job, remote, batch_tokens_given, gpu_workers=False):
    """The job, its runtime known, with what depends on where the tag stage's batches go: to a
    GPU (``gpu_workers``: a remote job's tag stage runs where it asked for GPUs, by its
    accelerator hint or on every worker; or here where this machine has an NVIDIA GPU, JAX's
    CUDA build and the jax runtime), float16 vectors for ``--vector-dtype auto`` and GPU-sized
    batches unless ``--max-batch-tokens`` was given."""
    from beamtagger.pipeline.tag_pipeline import batch_vector_dtype, batches_go_to_a_gpu

    if remote:
        jax_on_cpu = not gpu_workers
    else:
        jax_on_cpu = not (_local_gpu() and _jax_cuda_installed() and _jax_platforms_allow_a_gpu())
    to_gpu = gpu_workers or batches_go_to_a_gpu(job, jax_on_cpu)
    return dataclasses.replace(
        job, vector_dtype=("float16" if to_gpu and job.vector_dtype == "auto"
                           else batch_vector_dtype(job, jax_on_cpu)),
        max_batch_tokens=(tagging_defaults.GPU_MAX_BATCH_TOKENS if to_gpu and not
                          batch_tokens_given else job.max_batch_tokens))


def choose_runtime(job, remote=False, streaming=False, gpu_workers=False):
    """``runtime_choice.choose_runtime`` for this job: the input's size from its files'
    metadata (any FileSystems path), the runtimes installed here (remote workers install
    their own: all), whether JAX can use a GPU here (local runs only: a remote worker's image
    may carry TensorFlow's GPU build or JAX's, so a remote job whose tag stage has an
    accelerator hint keeps TensorFlow unless ``--runtime jax`` says otherwise, whatever its
    size), and whether each worker process gives the tagger one thread (``job.tagger_threads``
    is 1: by default on Dataflow, one SDK process a vCPU, and with the DirectRunner's
    ``multi_processing`` mode at a worker a core; or as ``--tagger-threads 1`` says), the way
    ``bench/one_thread_jobs.py`` measured NumPy the cheaper. ``gpu_workers``: the remote
    job asked for GPUs on every worker (``dataflow_gpus.gpus_on_every_worker``), which
    decides as an accelerator hint does."""
    from apache_beam.io.filesystems import FileSystems

    accelerator_hint = remote and (bool(job.accelerator) or gpu_workers)
    size = None
    if not streaming and not accelerator_hint:   # the hint decides at any size
        from beamtagger.transforms.reading import text_size

        matched = FileSystems.match([job.input_pattern])[0].metadata_list
        size = text_size.text_bytes(((m.path, m.size_in_bytes) for m in matched),
                                    job.input_format)
    gpu = not remote and _local_gpu() and _jax_cuda_installed()
    return runtime_choice.choose_runtime(size, runtime_choice.installed_runtimes(remote), gpu,
                                         one_tagger_thread=job.tagger_threads == 1,
                                         accelerator_hint=accelerator_hint)


def _local_gpu():
    """Whether this machine shows an NVIDIA GPU, without importing a framework: the driver's
    list of GPUs, or a GPU's device file (sandboxes such as gVisor may pass the devices through
    without the driver's /proc entries)."""
    gpus = "/proc/driver/nvidia/gpus"
    if os.path.isdir(gpus) and os.listdir(gpus):
        return True
    return bool(glob.glob("/dev/nvidia[0-9]*"))


# The CUDA plugins of JAX's ``jax[cuda12]`` / ``jax[cuda13]`` builds: without one, JAX runs on
# the CPU even where a GPU is there.
JAX_CUDA_PLUGINS = ("jax_cuda13_plugin", "jax_cuda12_plugin")


def _jax_cuda_installed():
    return any(runtimes.module_installed(module) for module in JAX_CUDA_PLUGINS)


def _jax_platforms_allow_a_gpu():
    """False where ``JAX_PLATFORMS`` keeps JAX off the GPU (``cpu``): its batches then stay
    CPU-sized and float32, whatever this machine has."""
    platforms = os.environ.get("JAX_PLATFORMS", "").lower().replace(" ", "")
    return not platforms or any(name in ("cuda", "gpu") for name in platforms.split(","))
