"""A ``beamtagger tag`` run that fails once started: one line for the user, and no partial output.

A full disk, a folder made read-only or an I/O error while the sinks write reaches the launcher
as Beam's ``RuntimeError`` around the worker's ``OSError`` (in process), or as the worker's
traceback in text (``multi_processing``, portable runners), with the failing step's label in
``[while running '...']``. Either way the cause is an ``OSError`` a user can act on, not a bug,
so it is shown as one line naming the output and the cause.

Whatever the failure, every file the run may have published under the output prefix (result
and error shards) and the sinks' temporary folders are removed before the error is shown:
``check_job`` refused to start beside an earlier run's files (or removed them for
``--overwrite``), so any file there now is this run's, and a shard of a failed run would claim
records that were never written. Beam's sinks write into a temporary folder and rename into
place only once every bundle is written, so usually nothing was published yet.
"""
import contextlib
import errno
import logging
import os
import re
import threading

from beamtagger.errors import BeamtaggerError, JobFailed

__all__ = ["JobFailed", "interrupted", "os_error_of", "reported_failures", "worker_lost",
           "worker_logs_held"]

# Labels of the steps that write under the output prefix (tag_pipeline.build_tag_pipeline).
_WRITING_STEPS = ("WriteResults", "WriteDeadLetters")
# "OSError: [Errno 28] No space left on device" (str() of an OSError with errno), and
# "OSError(28, 'No space left on device')" (its repr, in BeamIOError's details of a rename).
_ERRNO_TEXT = re.compile(r"\b\w*(?:Error|Exception): \[Errno (\d+)\] (.*?)(?: \[while running |$)",
                         re.M)
_ERRNO_REPR = re.compile(r"\b\w*Error\((\d+), ['\"]([^'\"]*)['\"]")
# pyarrow's wording: "OSError: Error writing bytes to file. Detail: [errno 28] No space ...".
_ARROW_ERRNO = re.compile(r"\[errno (\d+)\] ([^\[\]\n'\"]*)")
_STEP = re.compile(r"\[while running '([^']+)'\]")
# Ctrl-C inside a step: Beam re-raises the worker's KeyboardInterrupt as
# "RuntimeError: KeyboardInterrupt [while running '...']".
_INTERRUPTED = re.compile(r"(?:^|\b)KeyboardInterrupt(?: \[while running |$)", re.MULTILINE)
# A worker process that stopped in the middle of the run (killed by a signal, by the kernel's
# out-of-memory killer): the runner (``multi_processing``: FnApiRunner over gRPC) raises
# "RuntimeError: Channel closed prematurely." where it reads the bundle's outputs, and its
# thread watching the process "Worker subprocess exited with return code -9" (137 through the
# shell that started it).
_WORKER_LOST = re.compile(r"Channel closed prematurely|Worker subprocess exited with return code")
# The process reached a limit of its environment: memory (``ulimit -v``, a container's limit
# on a process without overcommit) or threads (``ulimit -u``, a cgroup's pids.max). Beam
# raised these from a step (its file sinks start a thread pool to finalize), a traceback.
_OUT_OF_RESOURCES = re.compile(r"can't start new thread|\bMemoryError\b|"
                               r"Cannot allocate memory|failed to map segment from shared object")
# A portable runner whose SDK worker container did not start (Docker missing or not running,
# the image not pulled), in the job service's report of the failed job.
_DOCKER_FAILED = re.compile(r"CalledProcessError: Command '\['docker', '(\w+)'(.*?)\]' returned "
                            r"non-zero exit status (\d+)")
# Where Beam logs a failing step's traceback before raising it: the DoFn runner (in process)
# and the DirectRunner's local job service (re-logging its worker processes' errors), and where
# it logs the loss of a worker process (the worker handler closing its channel).
_WORKER_LOGGERS = ("",  # the root logger: the portable job service's "ERROR:root:Traceback"
                   "apache_beam.runners.common",
                   "apache_beam.runners.portability.local_job_service",
                   "apache_beam.runners.worker.sdk_worker",
                   "apache_beam.runners.portability.fn_api_runner.worker_handlers",
                   "apache_beam.runners.worker.data_plane")


def os_error_of(error):
    """``(errno, strerror)`` of the OSError behind a failed run, or None when it was not one."""
    seen = set()
    current = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno:
            return current.errno, current.strerror or os.strerror(current.errno)
        current = current.__cause__ or current.__context__
    text = str(error)
    for pattern in (_ERRNO_TEXT, _ERRNO_REPR, _ARROW_ERRNO):
        match = pattern.search(text)
        if match:
            number = int(match.group(1))
            return number, match.group(2).strip().rstrip(".") or os.strerror(number)
    return None


def failed_step(error):
    """The label of the step Beam reports the failure in, or None."""
    steps = _STEP.findall(str(error))
    return steps[0] if steps else None


# Errors of a network connection, not of a file or the input.
_UNREACHABLE = (errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ETIMEDOUT)


def describe(error, output_prefix):
    """The one line for a run that failed on an OSError; None for any other failure."""
    cause = os_error_of(error)
    if cause is None:
        return None
    number, reason = cause
    if number == errno.ENOMEM:
        # Out of memory, not a fault of a file: the run's limits line (reported_failures).
        # `ulimit -v 2000000`: the store's memory map failed in the vectors' step (ENOMEM).
        return None
    step = failed_step(error) or ""
    if number < 0 or number in _UNREACHABLE:
        # getaddrinfo's codes are negative (socket.gaierror): "Name or service not known (-2)
        # in step (unknown)" read as a fault of the input. A service the run talks to (a
        # cloud API, a file system, a job service) could not be reached.
        name = "name lookup" if number < 0 else errno.errorcode.get(number, str(number))
        during = f" in step {step}" if step else ""
        return (f"the run could not reach a service it needs{during}: {reason} ({name}); no "
                "result or error file of this run was kept. Check the network (and the "
                "service's address), and run the same command again")
    name = errno.errorcode.get(number, str(number))
    where = (f"cannot write --output {output_prefix}"
             if step.startswith(_WRITING_STEPS) or number in (errno.ENOSPC, errno.EDQUOT,
                                                               errno.EROFS)
             else f"the run failed in step {step or '(unknown)'}")
    advice = {errno.ENOSPC: "free space there", errno.EDQUOT: "free space there",
              errno.EROFS: "make the output writable", errno.EACCES: "make the output writable",
              errno.EPERM: "make the output writable",
              errno.EMFILE: "raise the limit on open files (ulimit -n; 1024 is the usual one)",
              errno.ENFILE: "close other programs' files (the system's table of open files "
                            "is full, sysctl fs.file-max)"}.get(number, "fix the cause")
    return (f"{where}: {reason} ({name}); no result or error file of this run was kept. "
            f"{advice[0].upper()}{advice[1:]} and run the same command again")


@contextlib.contextmanager
def reported_failures(output_prefix, remove_outputs, portable=None):
    """Runs the body; if it raises, calls ``remove_outputs()`` (this run's files), then raises
    ``JobFailed`` with one line for an OSError, a lost worker process or (``portable``: the
    run's ``PortableOptions``) a job service that did not answer, else the error itself."""
    try:
        yield
    except JobFailed:
        raise
    except KeyboardInterrupt:
        _remove_quietly(remove_outputs)
        raise
    except Exception as error:  # noqa: BLE001  (Beam wraps worker failures in many types)
        left = _remove_quietly(remove_outputs)
        if interrupted(error):
            raise KeyboardInterrupt from None  # the CLI's "interrupted", exit 130
        line = _prism_not_started(error) or describe(error, output_prefix)
        if line is None and portable is not None and portable.job_endpoint and _timed_out(error):
            line = (f"no job service answered at --job_endpoint {portable.job_endpoint} within "
                    f"{portable.job_server_timeout} s (--job_server_timeout); start it, or "
                    "use --job_endpoint=embed for one in this process")
        container = _docker_failure(error)
        if line is None and container is not None:
            line = (f"the runner could not start its SDK worker container ({container}); "
                    "without Docker and the image, run the workers in this process with "
                    "--environment_type=LOOPBACK")
        if line is None and _out_of_resources(error):
            step = failed_step(error)
            line = (f"the run ran out of memory or threads{f' in step {step}' if step else ''}"
                    " (a limit of this machine, container or shell: ulimit -v, ulimit -u); no "
                    "result or error file of this run was kept. Raise the limit, or give the "
                    "run fewer workers (--direct_num_workers), and run the same command again")
        if line is None and worker_lost(error):
            line = ("a worker process of the run stopped before the run was done (killed, or "
                    "out of memory); no result or error file of this run was kept. Run the "
                    "same command again")
        if line is None:
            raise
        if left:
            line += f" ({left})"
        raise JobFailed(line) from None


def _prism_not_started(error):
    """One line where ``--runner=PrismRunner`` failed before the job started, in Beam's code
    that finds Prism's binary (downloaded from GitHub on a first run, or ``--prism_location``);
    None otherwise. Its download failure otherwise read as an unreachable service the run
    needs, with no word of Prism or of the way round it."""
    traceback = error.__traceback__
    while traceback is not None:
        if os.path.basename(traceback.tb_frame.f_code.co_filename) == "prism_runner.py":
            break
        traceback = traceback.tb_next
    else:
        return None
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0].rstrip(".")
    return (f"--runner=PrismRunner could not start Prism: {reason}. Give a Prism binary with "
            "--prism_location=PATH, or leave out --runner to run on Beam's in-process runner")


def _timed_out(error):
    """Whether the run failed waiting for the job service's channel (grpc's
    FutureTimeoutError, raised where PortableRunner connects to --job_endpoint)."""
    seen = set()
    current = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ == "FutureTimeoutError":
            return True
        current = current.__cause__ or current.__context__
    return False


def _docker_failure(error):
    """``docker run IMAGE failed with exit N`` where a portable runner could not start its
    SDK worker container (its default --environment_type is DOCKER), else None. The job
    service reports it in text ("Pipeline ... failed in state FAILED: ...")."""
    match = _DOCKER_FAILED.search(str(error))
    if match is None:
        return None
    command, arguments, status = match.groups()
    image = next((part for part in re.findall(r"'([^']*)'", arguments)
                  if ":" in part and not part.startswith("-")), "")
    return " ".join(filter(None, ["docker", command, image, f"failed with exit {status}"]))


def worker_lost(error):
    """Whether a failed run lost one of its local worker processes (``multi_processing``)."""
    return _any_cause(error, lambda cause: _WORKER_LOST.search(str(cause)))


def _out_of_resources(error):
    """Whether a failed run could not get memory or a thread."""
    return _any_cause(error, lambda cause: isinstance(cause, MemoryError)
                      or _OUT_OF_RESOURCES.search(str(cause)))


def _any_cause(error, test):
    """Whether ``test`` holds for ``error`` or one of the exceptions it was raised from."""
    seen = set()
    current = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if test(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def interrupted(error):
    """Whether a failed run is a Ctrl-C that reached a step (Beam wraps it)."""
    seen = set()
    current = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, KeyboardInterrupt):
            return True
        current = current.__cause__ or current.__context__
    return bool(_INTERRUPTED.search(str(error)))


def _remove_quietly(remove_outputs):
    try:
        remove_outputs()
    except Exception as error:  # noqa: BLE001  (the failure being reported matters more)
        return f"some of its files could not be removed: {error}"
    return ""


class _HeldRecords(logging.Filter):
    def __init__(self):
        super().__init__()
        self.records = []

    def filter(self, record):
        if record.levelno >= logging.ERROR:
            self.records.append(record)
            return False
        return not _is_worker_start_up_noise(record)


# What each local worker process of a multi_processing run logs as it starts, run after run,
# as WARNINGs: options of the direct runner's own that the worker has no use for, and a
# folder only container workers have. Neither says anything about the run.
_START_UP_NOISE = re.compile(
    r"No semi_persistent_directory found|Discarding unparseable args: \[(?:\\?'--(?:"
    r"pipeline_type_check|direct_runner_use_stacked_bundle)\\?'(?:, )?)+\]")


def _is_worker_start_up_noise(record):
    return (record.levelno == logging.WARNING and record.name.endswith("local_job_service")
            and _START_UP_NOISE.search(record.getMessage()) is not None)


@contextlib.contextmanager
def worker_logs_held():
    """Holds back the worker error logs and tracebacks the local runner prints while a job
    fails, so that a failure reported as one line (``reported_failures``' JobFailed, or a
    BeamtaggerError a worker raised) is not preceded by pages of them; any other outcome gets
    them afterwards, in order.

    That includes the exceptions of the runner's own threads in this process (a lost worker
    process fails every thread that talks to it, and their tracebacks, written at once, would
    interleave line by line): they are held as exceptions, not as text."""
    from beamtagger.tensorflow_setup import held_tracebacks

    held = _HeldRecords()
    loggers = [logging.getLogger(name) for name in _WORKER_LOGGERS]
    for logger in loggers:
        logger.addFilter(held)
    thread_failures = []
    thread_hook, threading.excepthook = threading.excepthook, thread_failures.append
    reported = False
    try:
        with held_tracebacks() as worker_stderr:
            try:
                yield
            # JobFailed, or any BeamtaggerError a worker raised (the runtime cannot start, JAX
            # cannot compile): the CLI prints it as one line, which the worker's logged
            # traceback would only precede.
            except (BeamtaggerError, KeyboardInterrupt):
                worker_stderr.drop()
                raise
    except (BeamtaggerError, KeyboardInterrupt):
        reported = True
        raise
    finally:
        threading.excepthook = thread_hook
        for logger in loggers:
            logger.removeFilter(held)
        if not reported:
            for record in held.records:
                logging.getLogger(record.name).handle(record)
            for failure in thread_failures:
                thread_hook(failure)
