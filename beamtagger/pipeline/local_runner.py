"""The runner a local ``beamtagger tag`` runs on: Beam's DirectRunner without its try on Prism.

Since Beam 2.68 the DirectRunner (what runs a pipeline given no ``--runner``) first hands a
batch pipeline to Prism, a Go runner whose binary it downloads from GitHub on the first run
(``~/.apache_beam/cache/prism``), and falls back to its in-process runners only when that fails
to start (apache/beam#34612). So the same ``beamtagger tag`` command ran on Prism on a machine
that could reach GitHub and on the FnApiRunner on one that could not: a download the user did
not ask for (with no time-out of its own where a firewall drops it), a different runner, other
worker processes (the DirectRunner's check for Prism reads neither ``--direct_running_mode`` nor
``--direct_num_workers``), and, as Beam's own change says, differently
named metrics and failures raised as bare RuntimeErrors, which the summary and the exit status
read. beamtagger is built and tested where Prism cannot be downloaded, so every local figure
in BENCHMARKS.md and every local test ran on the fallback.

A run whose ``--runner`` is unnamed or Beam's DirectRunner therefore runs on the runner that
fallback picks, chosen here before the pipeline is built: the FnApiRunner for batch (in
process, or ``--direct_running_mode=multi_processing``), the BundleBasedDirectRunner for
``--streaming`` (whose batching sets a processing-time timer, which only that runner gives a
clock: ``transforms/bucket.py``). A test checks that Beam's DirectRunner, with Prism out of
reach, picks the same runner for both pipelines. ``--runner=PrismRunner`` runs on Prism, as
asked (untested here).
"""
import os

from beamtagger.errors import BeamtaggerError
from beamtagger.worker_threads import local_worker_processes, runner_name

__all__ = ["qualified_runner", "is_direct_runner", "local_runner", "open_files_for_workers"]

# File descriptors the FnApiRunner of ``multi_processing`` needs in this process, beyond those
# open before it starts: its gRPC servers' listening sockets and polling descriptors (8), one
# free to accept the next connection on, and, for each worker process, the pipe to it and its
# four gRPC connections (control, data, state, logging). Measured on Beam 2.78: the peak count
# of /proc/PID/fd over tag runs of 1, 2, 4 and 8 workers was 8 + 5 per worker above the count
# at launch, whatever the runtime; a limit of that peak stalled the run in gRPC's "File
# descriptor limit reached. Retrying.", one more ran clean. Short of it by a few, the run
# stalled 20 s, then failed as a lost worker. Each worker process needs fewer than this one.
_RUNNER_DESCRIPTORS = 8 + 1
_DESCRIPTORS_PER_WORKER = 5
# What most systems give a process by default, and select()'s bound (FD_SETSIZE).
_USUAL_OPEN_FILES = 1024

_DIRECT_RUNNERS = ("apache_beam.runners.direct.direct_runner.DirectRunner",
                   "apache_beam.runners.direct.direct_runner.SwitchingDirectRunner")


def qualified_runner(runner):
    """The dotted class path Beam creates for ``runner``, a name as ``--runner`` gives it
    (resolved as ``apache_beam.runners.create_runner`` resolves it); "" for None or ""."""
    if not isinstance(runner, str) or not runner:
        return ""
    from apache_beam.runners import runner as runners

    known = runners._RUNNER_MAP  # noqa: SLF001  (create_runner's own table)
    return known.get(runner.lower(), known.get(runner.lower() + "runner", runner))


def is_direct_runner(runner):
    """Whether ``runner`` (a ``--runner`` name, or None for none named) is Beam's DirectRunner,
    the one Beam picks when none is named."""
    if runner is None or runner == "":
        return True
    if not isinstance(runner, str):
        return runner_name(runner) in ("DirectRunner", "SwitchingDirectRunner")
    return qualified_runner(runner) in _DIRECT_RUNNERS


def local_runner(options):
    """The runner object for a pipeline with ``options`` whose ``--runner`` is unnamed or the
    DirectRunner: the one the DirectRunner falls back on when Prism cannot start. None for any
    other ``--runner``, which Beam creates as named."""
    from apache_beam.options.pipeline_options import StandardOptions

    standard = options.view_as(StandardOptions)
    if not is_direct_runner(standard.runner):
        return None
    if standard.streaming:
        from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner
        return BundleBasedDirectRunner()
    return _fn_api_runner(options)


def _fn_api_runner(options):
    """An FnApiRunner given the pipeline's options for its workers, as the DirectRunner builds
    it (``direct_runner.SwitchingDirectRunner.run_pipeline``, Beam 2.78): the worker
    processes of ``multi_processing`` read them from its provision info."""
    from apache_beam.options.pipeline_options import DirectOptions
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    if options.view_as(DirectOptions).direct_running_mode == "multi_processing":
        open_files_for_workers(local_worker_processes(options))
    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    return fn_runner.FnApiRunner(provision_info=fn_runner.ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)))


def open_files_for_workers(workers):
    """Makes sure this process may open the files ``workers`` worker processes of
    ``multi_processing`` need: its soft limit (``ulimit -Sn``) is raised where it is below
    that, as far as the hard limit allows (to 1024, the usual one, where that is more), as many
    tools do (Go's runtime raises it to the hard limit); the worker processes inherit it. A
    hard limit below the need is refused in one line before launch: the runner stalled, then
    failed the run as a lost worker ("killed, or out of memory ... Run the same command
    again"), advice that cannot help."""
    try:
        import resource
    except ImportError:   # Windows: no such limit
        return
    needed = _open_descriptors() + _RUNNER_DESCRIPTORS + _DESCRIPTORS_PER_WORKER * workers
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard == resource.RLIM_INFINITY or hard >= needed:
        raised = max(needed, _USUAL_OPEN_FILES)
        resource.setrlimit(resource.RLIMIT_NOFILE, (
            raised if hard == resource.RLIM_INFINITY else min(raised, hard), hard))
        return
    fitting = (hard - (needed - _DESCRIPTORS_PER_WORKER * workers)) // _DESCRIPTORS_PER_WORKER
    fewer = (f", or give the run fewer worker processes (--direct_num_workers={fitting})"
             if fitting >= 1 else "")
    raise BeamtaggerError(
        f"too many open files for {workers} worker process{'' if workers == 1 else 'es'}: "
        f"--direct_running_mode="
        f"multi_processing needs about {needed} open at once in this process, and it may open "
        f"{hard} (ulimit -n, the hard limit); raise it (ulimit -n {max(needed, _USUAL_OPEN_FILES)}"
        f" before the command){fewer}")


def _open_descriptors():
    """How many file descriptors this process has open (0 where the system cannot say)."""
    for listing in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(listing)) - 1   # less the one listing it
        except OSError:
            continue
    return 0
