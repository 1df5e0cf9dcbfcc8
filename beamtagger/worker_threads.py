"""How many TensorFlow threads each worker process gives the tagger, by default: what the
runner's options say about the processes a machine runs.

TensorFlow's own default is one thread per core in every process. Where a machine runs several
worker processes (Dataflow's one SDK process per vCPU, the DirectRunner's
``multi_processing`` mode) each would start one thread per core and they would compete for the
same cores (BENCHMARKS.md, section 1: case E against F). ``beamtagger tag`` and the transforms
(``TagText``, ``TagBatches``, from their pipeline's options where they are applied;
``TaggerModelHandler``, from the options RunInference is applied with) share the cores out the
same way, from here.
"""
import os

_REMOTE_RUNNERS = ("DataflowRunner", "TestDataflowRunner")


def runner_name(runner) -> str:
    """The class name ``runner`` goes by: a name as given, dotted or not (its last part), or
    a runner object's class name; "" for None or an empty name."""
    name = runner if isinstance(runner, str) else type(runner).__name__ if runner else ""
    return name.rsplit(".", 1)[-1]


def is_remote_runner(runner):
    """Whether ``runner`` (a name, dotted or not, or a runner object) runs on Dataflow."""
    return runner_name(runner) in _REMOTE_RUNNERS


def local_worker_processes(options):
    """How many worker processes the DirectRunner starts on this machine (1 unless
    ``--direct_running_mode=multi_processing``)."""
    from apache_beam.options.pipeline_options import DirectOptions

    direct = options.view_as(DirectOptions)
    if direct.direct_running_mode != "multi_processing":
        return 1
    return direct.direct_num_workers or os.cpu_count() or 1


def sdk_process_per_core(options, runner):
    """Whether the workers run one SDK process per vCPU: Dataflow does unless told
    ``--experiments=no_use_multiple_sdk_containers`` (one process per VM). Each process would
    otherwise start one TensorFlow thread per vCPU of the VM, which the launcher cannot count."""
    from apache_beam.options.pipeline_options import DebugOptions

    if not is_remote_runner(runner):
        return False
    experiments = options.view_as(DebugOptions).experiments or []
    return "no_use_multiple_sdk_containers" not in experiments


def tagger_threads(chosen, local_processes=1, process_per_core=False):
    """TensorFlow threads per worker process: ``chosen`` unless it is None; 0 and None (where
    no default below applies) leave TensorFlow's default (every core), which the runtimes read
    as "not set".

    Several local worker processes share the cores out; ``process_per_core`` (Dataflow's
    default, ``sdk_process_per_core``): 1.
    """
    if chosen is not None:
        return chosen
    if process_per_core:
        return 1
    if local_processes > 1:
        return max(1, (os.cpu_count() or 1) // local_processes)
    return None


def tagger_threads_of_pipeline(chosen, pipeline):
    """``tagger_threads`` for a transform applied to ``pipeline``: its options say where it
    runs. The options' ``--runner`` names the runner, else the pipeline's runner object does
    (``beam.Pipeline(runner=DataflowRunner())``)."""
    return tagger_threads_of_options(chosen, pipeline.options, pipeline.runner)


def tagger_threads_of_options(chosen, options, runner=None):
    """``tagger_threads`` for a pipeline with ``options``: the options' ``--runner`` names
    the runner, else ``runner`` (a name or a runner object; None: not Dataflow)."""
    if chosen is not None:
        return chosen
    runner = runner_of(options, runner)
    return tagger_threads(None, local_worker_processes(options),
                          sdk_process_per_core(options, runner))


def runner_of(options, runner=None):
    """The runner a pipeline with ``options`` runs on: the options' ``--runner``, else
    ``runner`` (the pipeline's runner object, or None)."""
    from apache_beam.options.pipeline_options import StandardOptions

    return options.view_as(StandardOptions).runner or runner


def options_being_applied():
    """The options of the pipeline a transform is being applied to (Beam scopes them around
    ``Pipeline.apply``, ``apache_beam.options.pipeline_options_context``); None outside an
    apply. For what is never given the pipeline, such as a RunInference ModelHandler; the
    runner object the pipeline was given instead of ``--runner`` is ``pipeline_being_applied``'s."""
    try:
        from apache_beam.options.pipeline_options_context import get_pipeline_options
    except ImportError:   # a Beam without it: the caller's own default applies
        return None
    return get_pipeline_options()


def pipeline_being_applied():
    """The Pipeline a transform is being applied to: the ``self`` of the innermost frame of
    Beam's own ``Pipeline.apply`` on this thread's stack; None outside an apply.

    A RunInference ModelHandler is given neither the pipeline nor its runner, and Beam scopes
    only the options around an apply. A pipeline given its runner as an object
    (``beam.Pipeline(runner=FnApiRunner())``, as tests often build them) names none in its
    options, so what the handler checks by runner would otherwise miss it. The frame is matched
    by its code object, so nothing but Beam's apply is taken for it; a Beam whose apply is
    shaped otherwise gives None, and the callers fall back on the options alone."""
    import sys

    try:
        from apache_beam.pipeline import Pipeline
    except ImportError:
        return None
    apply_code = getattr(Pipeline.apply, "__code__", None)
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is apply_code:
            pipeline = frame.f_locals.get("self")
            if isinstance(pipeline, Pipeline):
                return pipeline
        frame = frame.f_back
    return None
