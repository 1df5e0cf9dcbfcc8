"""The runtime of a tagging transform given ``runtime=None``, chosen where it is applied.

``beamtagger tag`` chooses its runtime at launch (``runtime_choice``); ``TagText``,
``TagBatches`` and ``TaggerModelHandler`` choose theirs by the same rule when they are applied
to a pipeline, from what is known then: the pipeline's runner and options (how many threads
the tag stage gets in each worker process, ``worker_threads``) and the tag stage's accelerator
hint. The input's size is not known then, so the small-input rule never applies. Dataflow's
CPU workers (one SDK process a vCPU, one tagger thread each) get NumPy: the whole job took
0.68x / 0.76x TensorFlow's CPU on 1M / 2M tokens, each process half the memory, and the
workers need no TensorFlow (BENCHMARKS.md, "One thread each, the whole job"). A Dataflow tag
stage with an accelerator hint, and a tagger given more than one thread, get TensorFlow, or
NumPy where TensorFlow is not installed (locally: in this interpreter; a remote runner's
workers install their own) or, locally, would not start under this process's ``ulimit -v``
(``runtime_choice.within_address_space``, as ``beamtagger tag`` falls back).
"""
import logging
from typing import Optional

from beamtagger import runtime_choice
from beamtagger.worker_threads import is_remote_runner, runner_of, tagger_threads_of_pipeline

# A logger of its own, not the root one: logging.warning() on the root logger sets a handler up
# there (basicConfig) where none is, and the application's own logging.basicConfig(level=...,
# format=...) after it did nothing (a Tagger(runtime="jax") in a script or service).
logger = logging.getLogger(__name__)

__all__ = ["accelerator_hinted", "runtime_of_pipeline", "runtime_where_applied"]


def accelerator_hinted(pipeline) -> bool:
    """Whether the transform being applied to ``pipeline`` has an accelerator resource hint:
    its own, an enclosing transform's, or the pipeline options' ``--resource_hints`` (Beam
    keeps each on its node of ``pipeline.transforms_stack``, the options' on the root).
    False for None (no pipeline)."""
    from apache_beam.transforms.resources import AcceleratorHint

    return any(AcceleratorHint.urn in (node.resource_hints or {})
               for node in getattr(pipeline, "transforms_stack", ()))


def runtime_where_applied(runtime: Optional[str], what: str, options=None, runner=None,
                          threads: Optional[int] = None, accelerator_hint: bool = False) -> str:
    """``runtime`` where one is given, else ``runtime_choice.choose_transform_runtime``'s
    choice, logged (INFO, one line: ``what`` chose which runtime, and why).

    Args:
      options: the pipeline's options; None outside a pipeline (a handler used directly:
        this machine's runtimes, TensorFlow where installed, else NumPy).
      runner: the pipeline's runner object, for options that name no runner.
      threads: the tag stage's threads a worker process as the runner sets them
        (``worker_threads.tagger_threads_of_options``).
      accelerator_hint: the tag stage has an accelerator hint.
    """
    if runtime is not None:
        return runtime
    remote = options is not None and is_remote_runner(runner_of(options, runner))
    choice = runtime_choice.choose_transform_runtime(threads, remote, accelerator_hint)
    logger.info("beamtagger: %s runs the %s runtime (%s; runtime= sets it)", what,
                choice.runtime, choice.reason)
    return choice.runtime


def runtime_of_pipeline(runtime: Optional[str], what: str, pipeline,
                        tagger_threads: Optional[int], accelerator: bool = False) -> str:
    """``runtime_where_applied`` for a transform being applied to ``pipeline``, whose threads
    option is ``tagger_threads`` (None: the runner's default); ``accelerator``: the transform
    puts an accelerator hint on its tag stage itself (``TagText(accelerator=...)``)."""
    if runtime is not None:
        return runtime
    threads = tagger_threads_of_pipeline(tagger_threads, pipeline)
    return runtime_where_applied(None, what, pipeline.options, pipeline.runner, threads,
                                 accelerator or accelerator_hinted(pipeline))
