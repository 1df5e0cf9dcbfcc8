"""Where a Dataflow job asks for GPUs, read from its options before launch.

A GPU job fails or idles on Dataflow in ways no dry run shows: a hint without
``install-nvidia-driver`` starts GPU workers whose frameworks find no driver and compute on
their CPUs; an L4 on a machine type that cannot carry one is refused only once the job is
submitted. And GPUs asked for every worker (``worker_accelerator``, ``--resource_hints``) left
``beamtagger tag`` choosing the CPU runtime, NumPy, for GPU workers.
``check_one_accelerator_request`` refuses such a hint, and GPUs asked for the tag stage and
every worker at once, in one line before launch.
"""
from beamtagger.errors import BeamtaggerError

__all__ = ["accelerator_hint_problem", "check_one_accelerator_request", "gpus_on_every_worker",
           "worker_accelerator_option"]

# Dataflow's L4 page: "The L4 GPU type is available only with the G2 accelerator-optimized
# machine type" (https://cloud.google.com/dataflow/docs/gpu/use-l4-gpus).
_MACHINE_SERIES_OF_GPU = {"nvidia-l4": "g2-"}


def _hint_parts(hint):
    """{key: value} of a hint such as "type:nvidia-l4;count:1;install-nvidia-driver" (a part
    without a colon maps to "")."""
    parts = {}
    for part in hint.split(";"):
        key, _, value = part.strip().partition(":")
        if key:
            parts[key.strip()] = value.strip()
    return parts


def accelerator_hint_problem(hint):
    """Why Dataflow would start no usable GPU for the accelerator hint ``hint``
    (``--tagger-accelerator``), in one line, or None."""
    parts = _hint_parts(hint)
    gpu = parts.get("type", "")
    if gpu.startswith("nvidia-") and "install-nvidia-driver" not in parts:
        return (f"--tagger-accelerator {hint!r} installs no NVIDIA driver, and Dataflow's GPU "
                "workers have none without it (the tagger would run on their CPUs): add "
                ";install-nvidia-driver")
    series = _MACHINE_SERIES_OF_GPU.get(gpu)
    machine = parts.get("machine_type")
    if series and machine and not machine.startswith(series):
        return (f"--tagger-accelerator {hint!r}: {gpu} GPUs come only with {series}* machine "
                f"types, not {machine} (e.g. machine_type:{series}standard-4)")
    return None


def worker_accelerator_option(options):
    """The option that asks Dataflow for a GPU on every worker through its
    ``worker_accelerator`` service option or experiment, as ``--OPTION=worker_accelerator``,
    or None."""
    from apache_beam.options.pipeline_options import DebugOptions, GoogleCloudOptions

    service = options.view_as(GoogleCloudOptions).dataflow_service_options or []
    experiments = options.view_as(DebugOptions).experiments or []
    for option, values in (("--dataflow_service_options", service),
                           ("--experiments", experiments)):
        if any(value.startswith("worker_accelerator") for value in values):
            return f"{option}=worker_accelerator"
    return None


def gpus_on_every_worker(options):
    """The option that puts a GPU on every worker of the job (``worker_accelerator_option``,
    or an accelerator in ``--resource_hints``, which hints every step), or None."""
    from apache_beam.transforms.resources import AcceleratorHint, resource_hints_from_options

    found = worker_accelerator_option(options)
    if found is None and AcceleratorHint.urn in resource_hints_from_options(options):
        found = "--resource_hints=accelerator"
    return found


def check_one_accelerator_request(job, options):
    """--tagger-accelerator puts GPUs on the tag stage's workers only (Dataflow right
    fitting); a ``worker_accelerator`` service option or experiment as well put GPUs on every
    worker, reading and writing ones included, a combination Dataflow's right-fitting page
    says not to use. And a hint Dataflow would start no usable GPU for is refused here."""
    if not job.accelerator:
        return
    both = worker_accelerator_option(options)
    if both:
        raise BeamtaggerError(
            f"{both}=... puts GPUs on every worker, and "
            "--tagger-accelerator on the tag stage's workers only (Dataflow right "
            "fitting), which Dataflow says not to combine; pass one of them")
    problem = accelerator_hint_problem(job.accelerator)
    if problem:
        raise BeamtaggerError(problem)
