"""A Dataflow GPU job's options checked before launch (``pipeline/dataflow_gpus.py``): GPUs on
every worker (``worker_accelerator``, what Dataflow's own GPU pages show, or an accelerator in
``--resource_hints``) tag with a GPU runtime and GPU batches, where ``beamtagger tag`` chose
NumPy and CPU batches for them; an accelerator hint that would start no usable GPU is refused
in one line; ``--runtime jax`` with no GPU asked for says where it will run."""
import pytest

from beamtagger.pipeline import cli
from beamtagger.pipeline.dataflow_gpus import accelerator_hint_problem, gpus_on_every_worker
from beamtagger.tests.gcs_emulated_test import (BUCKET, EXAMPLE, gcs,  # noqa: F401  (fixtures)
                                                staged_copies)

L4 = "type:nvidia-l4;count:1;machine_type:g2-standard-4;install-nvidia-driver"
DATAFLOW = ["--runner=DataflowRunner", "--dry_run=True", "--no_auth", "--project=my-project",
            "--region=us-central1", f"--temp_location=gs://{BUCKET}/tmp",
            "--machine_type=n2-standard-4"]


def _dry_run(capsys, gcs, tiny_tagger, *args):  # noqa: F811
    model = gcs.put(tiny_tagger.model_dir, "models/tiny")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    gcs.put(EXAMPLE, "corpus/example.txt")
    code = cli.main(["tag", "--input", f"gs://{BUCKET}/corpus/*.txt", "--output",
                     f"gs://{BUCKET}/tagged/corpus", "--model", model, "--embeddings", store,
                     *DATAFLOW, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_gpus_on_every_worker_tag_with_tensorflow_and_gpu_batches(
        gcs, staged_copies, tiny_tagger, capsys):  # noqa: F811
    code, out, err = _dry_run(capsys, gcs, tiny_tagger, "--dataflow_service_options="
                              "worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver")
    assert code == 0, err
    assert "runtime          tensorflow" in out
    assert "GPU batches      65,536 slots, float16 vectors" in out


@pytest.mark.parametrize("args, found", [
    (["--dataflow_service_options=worker_accelerator=type:nvidia-l4;count:1"],
     "--dataflow_service_options=worker_accelerator"),
    (["--experiments=worker_accelerator=type:nvidia-l4;count:1"],
     "--experiments=worker_accelerator"),
    ([f"--resource_hints=accelerator={L4}"], "--resource_hints=accelerator"),
    (["--resource_hints=min_ram=16GB", "--experiments=use_runner_v2"], None),
])
def test_every_way_of_asking_gpus_for_every_worker_is_found(args, found):
    from apache_beam.options.pipeline_options import PipelineOptions

    assert gpus_on_every_worker(PipelineOptions(args)) == found


def test_jax_with_no_gpu_asked_for_says_so_and_keeps_cpu_batches(
        gcs, staged_copies, tiny_tagger, capsys):  # noqa: F811
    code, out, err = _dry_run(capsys, gcs, tiny_tagger, "--runtime", "jax")
    assert code == 0, err
    assert "warning: --runtime jax with no GPU asked for" in err
    assert "GPU batches" not in out


@pytest.mark.parametrize("hint, refused", [
    ("type:nvidia-l4;count:1;machine_type:g2-standard-4", "installs no NVIDIA driver"),
    ("type:nvidia-l4;count:1;machine_type:n2-standard-4;install-nvidia-driver",
     "nvidia-l4 GPUs come only with g2-* machine types, not n2-standard-4"),
])
def test_a_hint_that_starts_no_usable_gpu_is_refused_before_anything_is_read(hint, refused,
                                                                             capsys):
    # No emulator: the refusal comes before any gs:// path is read.
    code = cli.main(["tag", "--input", f"gs://{BUCKET}/corpus/*.txt", "--output",
                     f"gs://{BUCKET}/tagged/corpus", "--tagger-accelerator", hint, *DATAFLOW])
    _, err = capsys.readouterr()
    assert code == 2
    assert refused in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("hint", [
    L4, "type:nvidia-tesla-t4;count:1;machine_type:n1-standard-8;install-nvidia-driver",
    "type:nvidia-l4;count:1;install-nvidia-driver"])
def test_the_documented_hints_pass(hint):
    assert accelerator_hint_problem(hint) is None
