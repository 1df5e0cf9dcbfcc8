"""``beamtagger tag``'s paths where they are remote, checked before launch: every path a remote
job's workers read or write must be one they reach (``gs://``, not this machine's), and the
``gs://`` paths this machine reads before launch must be readable from here.

Each is refused here in one line: a local path would fail only on the workers, once the
Dataflow job had started; without a network or credentials Beam retried its first ``gs://``
access for 20 s to 120 s (``cloud_access``). ``tag_command`` imports this module where a run
needs it; Beam is imported inside the functions that use it.
"""
from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline import tag_models

__all__ = ["check_cloud_storage", "check_reachable_by_workers", "refuse_unreadable_cloud_storage"]


def check_cloud_storage(job, options, model_dirs=None):
    """Before anything reads a gs:// path: refused in seconds where this machine has no
    network to Cloud Storage or no credentials (cloud_access). ``model_dirs``: the models of
    a run of several (default: ``job``'s one)."""
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    cloud = options.view_as(GoogleCloudOptions)
    refuse_unreadable_cloud_storage(
        [job.input_pattern, job.output_prefix,
         *([job.model_dir] if model_dirs is None else model_dirs), job.store_path,
         cloud.temp_location, cloud.staging_location], options)


def refuse_unreadable_cloud_storage(paths, options):
    """BeamtaggerError where the gs:// ones among ``paths`` cannot be read from here."""
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    from beamtagger.cloud_access import cloud_storage_problem

    problem = cloud_storage_problem(
        paths, anonymous=bool(options.view_as(GoogleCloudOptions).no_auth))
    if problem:
        raise BeamtaggerError(problem)


def check_reachable_by_workers(job, model_jobs=None):
    """BeamtaggerError where a path the workers read or write is local. ``model_jobs``: {name:
    the job of that model alone} of a run of several, whose models are checked each, a
    refusal naming the model; the input, ``job``'s --output as given and the store once, a
    refusal naming none (each model's job holds them too, its --output with "-NAME")."""
    from beamtagger.bundled_models import BundledModel
    from beamtagger.transforms.worker_resources import is_remote

    def check(option, path):
        # A bundled model (--model bundled-ner, or its folder's path) is read by each worker
        # from its own installed package (tag_models.pipeline_model).
        if path is not None and not isinstance(path, BundledModel) and not is_remote(path):
            raise BeamtaggerError(
                f"{option} {path} is a local path, which Dataflow workers cannot read; "
                "use a gs:// path" + (" (or leave it out for the default)"
                                      if option in ("--model", "--embeddings") else ""))

    check("--input", job.input_pattern)
    check("--output", job.output_prefix)
    for name, model_job in (model_jobs or {None: job}).items():
        with tag_models.of_model(name):
            check("--model", model_job.model_dir)
    check("--embeddings", job.store_path)
