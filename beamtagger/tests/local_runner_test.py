"""Local ``beamtagger tag`` runs never go to Prism, and run where the DirectRunner's fallback would."""
import re

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner
from apache_beam.runners.portability import prism_runner
from apache_beam.runners.portability.fn_api_runner import fn_runner

from beamtagger.pipeline import cli
from beamtagger.pipeline.local_runner import is_direct_runner, local_runner
from beamtagger.pipeline.tag_command import build_job
from beamtagger.pipeline.tag_pipeline import build_tag_pipeline
from beamtagger.tests.conftest import REPO_ROOT


class _Picked(Exception):
    pass


@pytest.mark.parametrize("name, direct", [
    (None, True), ("", True), ("DirectRunner", True), ("direct", True),
    ("SwitchingDirectRunner", True),
    ("apache_beam.runners.direct.direct_runner.DirectRunner", True),
    ("FnApiRunner", False), ("PrismRunner", False), ("DataflowRunner", False),
    ("PortableRunner", False), ("BundleBasedDirectRunner", False),
])
def test_which_runner_names_are_the_direct_runner(name, direct):
    assert is_direct_runner(name) is direct


@pytest.mark.parametrize("runner_args", [
    [], ["--runner=DirectRunner"], ["--streaming"],
    ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
])
def test_the_runner_chosen_is_the_one_the_direct_runner_falls_back_on(monkeypatch, runner_args):
    # Beam's DirectRunner where Prism cannot start (no binary, no network, as in this project's
    # CI): whichever in-process runner it then picks for the pipeline beamtagger builds is the
    # one local_runner gives, for batch and for --streaming (a processing-time timer).
    picked = []

    def refuse(self, pipeline, options):
        raise RuntimeError("Prism cannot start here")

    def record(runner_class):
        def run_pipeline(self, pipeline, options):
            picked.append(runner_class)
            raise _Picked

        return run_pipeline

    monkeypatch.setattr(prism_runner.PrismRunner, "run_pipeline", refuse)
    monkeypatch.setattr(fn_runner.FnApiRunner, "run_pipeline", record(fn_runner.FnApiRunner))
    monkeypatch.setattr(BundleBasedDirectRunner, "run_pipeline", record(BundleBasedDirectRunner))
    options = PipelineOptions(runner_args)
    args, _ = cli.build_parser().parse_known_args(["tag", "--input", "in/*.txt", "--output",
                                                    "out/r"])
    # The job as the command builds it: --streaming batches under a processing-time trigger.
    job = build_job(args, streaming="--streaming" in runner_args)
    pipeline = build_tag_pipeline(beam.Pipeline(options=options), job)
    with pytest.raises(_Picked):
        pipeline.run()
    assert picked == [type(local_runner(options))]


def test_other_runners_are_created_as_named():
    assert local_runner(PipelineOptions(["--runner=PrismRunner"])) is None
    assert local_runner(PipelineOptions(["--runner=FnApiRunner"])) is None


def test_the_fn_api_runner_carries_the_options_to_its_workers():
    runner = local_runner(PipelineOptions(["--direct_running_mode=multi_processing",
                                           "--direct_num_workers=2"]))
    carried = runner._provision_info.provision_info.pipeline_options  # noqa: SLF001
    assert carried["beam:option:direct_num_workers:v1"] == "2"
    assert carried["beam:option:direct_running_mode:v1"] == "multi_processing"


@pytest.mark.parametrize("runner_args", [[], ["--runner=DirectRunner"]])
def test_a_local_run_never_tries_prism(monkeypatch, tiny_tagger, tmp_path, capsys, runner_args):
    # Before: Beam's DirectRunner handed the job to Prism first, downloading its binary from
    # GitHub where it could, and ran it there.
    tried = []

    def try_prism(self, pipeline, options):
        tried.append(options)
        raise RuntimeError("Prism cannot start here")

    monkeypatch.setattr(prism_runner.PrismRunner, "run_pipeline", try_prism)
    prefix = str(tmp_path / "tagged")
    code = cli.main(["tag", "--progress-every", "0", "--input",
                     str(REPO_ROOT / "beamtagger" / "data" / "example.txt"), "--output", prefix,
                     "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                     *runner_args])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert tried == []
    assert re.search(r"^records tagged\s+12\b", out, re.M), out
