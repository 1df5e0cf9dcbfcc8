"""A Dataflow --dry_run=True stays on this machine: the options with which Beam would build or
push a worker image, run pip download or fetch a package before its dry run returns are
refused in one line before launch (before any gs:// path is read), naming the flag that keeps
the dry run offline."""
import pytest

from beamtagger.pipeline import cli
from beamtagger.tests.dfuser_gpu_launch_test import BUCKET, DATAFLOW


def _tag(*args):
    return cli.main(["tag", "--input", f"gs://{BUCKET}/corpus/*.txt", "--output",
                     f"gs://{BUCKET}/tagged/corpus", "--model", f"gs://{BUCKET}/models/tiny",
                     "--embeddings", f"gs://{BUCKET}/stores/tiny", *DATAFLOW, *args])


@pytest.mark.parametrize("args, refused", [
    # Before: Beam uploaded the build context and started a Cloud Build job (network), or
    # asked the Docker daemon to build and push, before returning from the dry run.
    (["--prebuild_sdk_container_engine=cloud_build"],
     "--prebuild_sdk_container_engine=cloud_build builds and pushes the workers' image even "
     "in a --dry_run=True"),
    (["--prebuild_sdk_container_engine=local_docker"],
     "--prebuild_sdk_container_engine=local_docker builds and pushes"),
    (["--requirements_file", "REQUIREMENTS"], "Beam downloads its packages (pip download) even "
                                              "in a --dry_run=True; add --requirements_cache="
                                              "skip"),
    (["--sdk_location", "https://example.com/apache_beam-2.78.0.tar.gz"],
     "--sdk_location https://example.com/apache_beam-2.78.0.tar.gz: Beam downloads it even in "
     "a --dry_run=True"),
])
def test_a_dry_run_that_would_go_online_is_refused_before_launch(args, refused, tmp_path,
                                                                  capsys):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six\n")
    code = _tag(*[str(requirements) if arg == "REQUIREMENTS" else arg for arg in args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert refused in err and len(err.strip().splitlines()) == 1, err


def test_the_same_options_without_a_dry_run_are_not_refused_for_it():
    from apache_beam.options.pipeline_options import PipelineOptions

    from beamtagger.pipeline.pipeline_args import dry_run_offline_problem

    launch = [arg for arg in DATAFLOW if arg != "--dry_run=True"]
    assert dry_run_offline_problem(PipelineOptions(
        [*launch, "--prebuild_sdk_container_engine=cloud_build"])) is None
    assert dry_run_offline_problem(PipelineOptions(
        [*DATAFLOW, "--requirements_file", "r.txt", "--requirements_cache=skip",
         "--sdk_location=container"])) is None


@pytest.mark.parametrize("value", ["False", "false", "0", "no"])
def test_a_dry_run_said_false_is_refused_as_the_dry_run_beam_would_make_it(value, capsys):
    # Beam's --dry_run has no type, so "False" is a non-empty string: a dry run, exit 0, and
    # no job, where the user meant a real launch.
    launch = [f"--dry_run={value}" if arg == "--dry_run=True" else arg for arg in DATAFLOW]
    code = cli.main(["tag", "--input", f"gs://{BUCKET}/corpus/*.txt", "--output",
                     f"gs://{BUCKET}/tagged/corpus", "--model", f"gs://{BUCKET}/models/tiny",
                     "--embeddings", f"gs://{BUCKET}/stores/tiny", *launch])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.strip().endswith(
        f"--dry_run={value} is a dry run to Beam, which takes any value of --dry_run as true: "
        "nothing would be launched; leave --dry_run out for a real launch"), err
    assert len(err.strip().splitlines()) == 1, err
