"""The Beam pipeline options a subcommand passes on, checked before anything runs.

Beam's ``PipelineOptions`` logs "Discarding unparseable args" and carries on: a misspelt
``--output-fromat parquet`` (or ``--num_shards 3`` for ``--num-shards``) ran with the defaults and
wrote JSON Lines in one shard, exit 0. And an unknown ``--runner`` was a ``ValueError`` traceback
from inside Beam once the pipeline was built. Both are refused here in one line.
"""
import difflib
import importlib.util

from beamtagger.pipeline.local_runner import qualified_runner
from beamtagger.worker_threads import runner_name

__all__ = ["unparseable_pipeline_args", "runner_problem", "cloud_options_problem",
           "portable_options_problem", "staged_files_problem", "runtime_type_check_problem"]


def unparseable_pipeline_args(flags, own_options=()):
    """(arguments no Beam pipeline option parses, a "did you mean" hint or "") for ``flags``,
    the arguments left over after the subcommand's own parser; ``own_options`` are that
    parser's option strings, offered as suggestions too."""
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    # The parser PipelineOptions.get_all_options builds: every registered options class.
    parser = _BeamArgumentParser(allow_abbrev=False)
    for options_class in {str(cls): cls for cls in PipelineOptions.__subclasses__()}.values():
        options_class._add_argparse_args(parser)  # noqa: SLF001  (how Beam itself collects them)
    _, unknown = parser.parse_known_args(list(flags))
    if not unknown:
        return [], ""
    known = [option for action in parser._actions  # noqa: SLF001
             for option in action.option_strings] + list(own_options)
    for argument in unknown:
        if argument.startswith("--"):
            close = difflib.get_close_matches(argument.split("=", 1)[0], known, n=1)
            if close:
                return unknown, f" (did you mean {close[0]}?)"
    return unknown, ""


def runner_problem(runner, *, streaming=False):
    """Why Beam could not create ``runner`` (a name, as ``--runner`` gives it), or could not
    run tag's pipeline on it (``streaming``: with ``--streaming``), or None.

    Resolves the name the way ``apache_beam.runners.create_runner`` does, without creating it."""
    if not isinstance(runner, str) or not runner:
        return None
    from apache_beam.runners import runner as runners

    qualified = qualified_runner(runner)
    if "." not in qualified:
        names = sorted({name.rsplit(".", 1)[-1] for name in runners._RUNNER_MAP.values()})  # noqa: SLF001
        close = difflib.get_close_matches(runner, names, n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; Beam knows {', '.join(names)}"
        return f"unknown --runner {runner}{hint}"
    module = qualified.rsplit(".", 1)[0]
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        extra = " (pip install 'apache-beam[gcp]')" if "dataflow" in module else ""
        return f"--runner {runner}: its module {module} is not installed{extra}"
    if qualified == _INTERACTIVE_RUNNER:
        # It looks for the pipeline among a notebook's or IPython's variables: from a command
        # it found none, an AttributeError traceback once the pipeline ran.
        return (f"--runner {runner} runs pipelines in a notebook (Interactive Beam), not from "
                "a command; leave --runner out to run on this machine")
    name = qualified.rsplit(".", 1)[1]
    problem = _not_a_runner(runner, module, name)
    if problem is None and not streaming and _is_bundle_based(module, name):
        # Its batch mode has no place for the splittable DoFn that reads tag's input: a
        # KeyError traceback (ReadRecords/ReadRanges) once the pipeline ran, Beam 2.78.
        return (f"--runner {runner} runs tag's pipeline only with --streaming; leave --runner "
                "out for a batch run on this machine")
    return problem


def _is_bundle_based(module, name):
    from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner

    found = getattr(importlib.import_module(module), name)
    return isinstance(found, type) and issubclass(found, BundleBasedDirectRunner)


_INTERACTIVE_RUNNER = "apache_beam.runners.interactive.interactive_runner.InteractiveRunner"


def _not_a_runner(runner, module, name):
    """Why ``name`` of the installed ``module`` is not a runner Beam can create, or None.

    Beam imports the module and calls the name only once the pipeline runs: a name the module
    lacks, a function that returns no runner (``os.system``), a class that is no runner, or
    Beam's abstract ``PipelineRunner`` itself were tracebacks then (found by fuzzing tag's
    arguments). A function that returns a runner is one: ``create_runner`` calls whatever the
    name holds and runs the pipeline on what it returns, so it is called here as Beam calls it."""
    from apache_beam.runners.runner import PipelineRunner

    try:
        found = getattr(importlib.import_module(module), name)
    except AttributeError:
        return f"--runner {runner}: its module {module} has no {name}"
    except Exception as error:  # noqa: BLE001  (any module's import: Beam's would fail the same)
        return f"--runner {runner}: its module {module} cannot be imported ({error})"
    not_a_runner = (f"--runner {runner}: not a Beam runner (a subclass of "
                    "apache_beam.runners.runner.PipelineRunner, or a function that returns one)")
    if isinstance(found, type):
        if not issubclass(found, PipelineRunner) or found is PipelineRunner:
            return not_a_runner
        return None
    if not callable(found):
        return not_a_runner
    try:
        made = found()
    except Exception as error:  # noqa: BLE001  (Beam's call would fail the same, later)
        return f"{not_a_runner}: {name}() failed ({' '.join(str(error).split())})"
    except SystemExit:   # --runner=sys.exit: the run ended here with status 0, saying nothing
        return f"{not_a_runner}: {name}() exited"
    return None if isinstance(made, PipelineRunner) else not_a_runner


def cloud_options_problem(options, runner):
    """What Beam's own validation would refuse in the Google Cloud options of a Dataflow run
    (``--project``, ``--region``, ``--job_name``, ``--temp_location``, ``--staging_location``),
    in one line, or None; checked without going online.

    Beam validates them only when the pipeline object is made, after every check of ours (a
    ``ValueError`` traceback); and a malformed ``--temp_location`` (``gs://b/t``: a bucket
    name is 3 characters or more) sent it looking for a default bucket online first, a
    two-minute wait without a network before an unrelated error."""
    from apache_beam.options.pipeline_options import GoogleCloudOptions
    from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator
    from apache_beam.runners import create_runner

    validator = PipelineOptionsValidator(options, create_runner(runner))
    cloud = options.view_as(GoogleCloudOptions)
    errors = []
    for name in ("temp_location", "staging_location"):
        if getattr(cloud, name) is not None:  # missing: Beam uses the project's default bucket
            errors.extend(validator.validate_gcs_path(cloud, name))
    errors.extend(validator.validate_cloud_options(cloud))
    if not errors:
        return None
    return "Dataflow options: " + "; ".join(" ".join(error.split()).rstrip(".") for error in errors)


def staged_files_problem(options):
    """Why Beam could not stage the local files ``--setup_file``, ``--requirements_file`` and
    ``--extra_package`` name for the workers, or None; makes ``--setup_file`` absolute.

    Beam looks for them only once the job is built, after the checks of the model, the store
    and the input, and a missing one was a RuntimeError traceback. And a ``--setup_file
    setup.py`` without a folder failed the run with "No such file or directory": Beam changes
    into the file's folder to build the package, and the folder of "setup.py" is ""."""
    import os

    from apache_beam.options.pipeline_options import SetupOptions

    setup = options.view_as(SetupOptions)
    if setup.setup_file is not None:
        if not os.path.isfile(setup.setup_file):
            return f"--setup_file {setup.setup_file}: no such file"
        if os.path.basename(setup.setup_file) not in ("setup.py", "pyproject.toml"):
            return (f"--setup_file {setup.setup_file}: Beam builds the workers' package from a "
                    "file named setup.py or pyproject.toml")
        setup.setup_file = os.path.abspath(setup.setup_file)
    if setup.requirements_file is not None and not os.path.isfile(setup.requirements_file):
        return f"--requirements_file {setup.requirements_file}: no such file"
    for package in setup.extra_packages or ():
        if "://" not in package and not os.path.isfile(package):
            return f"--extra_package {package}: no such file"
    return None


def dry_run_offline_problem(options):
    """Why a ``--dry_run=True`` of these options would not stay on this machine, or None.

    Beam returns from a dry run only after it has built the job's worker environment (Beam
    2.78, ``DataflowRunner.run_pipeline``): ``--prebuild_sdk_container_engine`` builds and
    pushes a worker image then (``cloud_build``: an upload and a Cloud Build job;
    ``local_docker``: the Docker daemon, pulling the base image), ``--requirements_file``
    runs ``pip download`` into its cache, and a remote ``--sdk_location`` or
    ``--extra_package`` is downloaded. A dry run is the check of a job without starting or
    staging anything: refused rather than done halfway, each with the flag that keeps it
    offline."""
    from apache_beam.options.pipeline_options import SetupOptions, TestOptions

    dry_run = options.view_as(TestOptions).dry_run
    if not dry_run:
        return None
    # Beam's --dry_run has no type: any value given is a non-empty string, so a true one.
    if str(dry_run).strip().lower() in ("false", "0", "no", "off"):
        return (f"--dry_run={dry_run} is a dry run to Beam, which takes any value of --dry_run "
                "as true: nothing would be launched; leave --dry_run out for a real launch")
    setup = options.view_as(SetupOptions)
    if setup.prebuild_sdk_container_engine:
        return (f"--prebuild_sdk_container_engine={setup.prebuild_sdk_container_engine} "
                "builds and pushes the workers' image even in a --dry_run=True (Beam does it "
                "before its dry run returns); leave it out of the dry run")
    if setup.requirements_file is not None and setup.requirements_cache != "skip":
        return (f"--requirements_file {setup.requirements_file}: Beam downloads its packages "
                "(pip download) even in a --dry_run=True; add --requirements_cache=skip to "
                "the dry run")
    remote = [f"--sdk_location {setup.sdk_location}"] if "://" in (
        setup.sdk_location or "") else []
    remote += [f"--extra_package {package}" for package in setup.extra_packages or ()
               if "://" in package]
    if remote:
        return (f"{remote[0]}: Beam downloads it even in a --dry_run=True; leave it out of "
                "the dry run")
    return None


def portable_options_problem(options, runner, *, flags=()):
    """Why ``--runner=PortableRunner`` cannot start with these options, or None: it needs
    ``--job_endpoint`` (Beam raised NotImplementedError, a traceback, once the pipeline ran).
    Flink, Spark and Prism runners start their own job service and need none.

    A ``--job_endpoint`` other than ``embed`` given to any portable runner must accept a
    connection now (``job_endpoint.endpoint_problem``, two seconds), unless ``flags`` (the
    pipeline arguments as given) set ``--job_server_timeout``: that asks Beam to wait so long
    for the service, one starting beside this command. ``--artifact_endpoint`` is not checked:
    Beam uses it only once the job service has answered; nor is an EXTERNAL environment's
    ``--environment_config``, which the runner's workers reach from where they run."""
    from apache_beam.options.pipeline_options import PortableOptions

    endpoint = options.view_as(PortableOptions).job_endpoint
    if runner_name(runner).lower() in ("portablerunner", "portable") and endpoint is None:
        return ("--runner=PortableRunner needs --job_endpoint: the address of a running job "
                "service (host:port), or embed to start one in this process")
    if (not endpoint or endpoint == "embed" or _timeout_given(flags)
            or not _is_portable_runner(runner)):
        return None
    from beamtagger.pipeline.job_endpoint import endpoint_problem

    return endpoint_problem(endpoint)


def _timeout_given(flags):
    return any(flag.split("=", 1)[0] in ("--job_server_timeout", "--job-server-timeout")
               for flag in flags)


def _is_portable_runner(runner):
    """Whether Beam's ``runner`` (a name; runner_problem has found it creatable) reaches its
    job service through ``--job_endpoint``: PortableRunner and its subclasses (Flink, Spark,
    Prism) all do where the endpoint is given."""
    from apache_beam.runners import create_runner
    from apache_beam.runners.portability.portable_runner import PortableRunner

    return runner is not None and isinstance(create_runner(runner), PortableRunner)


def runtime_type_check_problem(options):
    """Why ``options`` cannot run a tag job, or None: under ``--runtime_type_check`` Beam
    2.78's own file sinks (WriteToText, WriteToParquet) fail every run after the results are
    written, their FinalizeWrite step typed ``str`` but giving TimestampedValues (a
    TypeCheckError traceback); ``--performance_runtime_type_check`` checks the same hints
    without that failure."""
    from apache_beam.options.pipeline_options import TypeOptions

    if options.view_as(TypeOptions).runtime_type_check:
        return ("--runtime_type_check fails Beam's own file sinks, which write the results "
                "(their FinalizeWrite step gives values of another type than it declares); "
                "pass --performance_runtime_type_check, which checks the same type hints")
    return None
