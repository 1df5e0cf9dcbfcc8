"""choose_runtime: NumPy for small inputs and for CPU workers with one tagger thread a process,
TensorFlow (or a GPU runtime) for large ones."""
import pytest

from beamtagger import runtime_choice
from beamtagger.runtime_choice import (COMPRESSED_TEXT_FACTOR, SMALL_INPUT_BYTES,
                                       choose_runtime, input_text_bytes)

BOTH = ("tensorflow", "numpy")


@pytest.mark.parametrize("size,installed,expected", [
    (0, BOTH, "numpy"),
    (SMALL_INPUT_BYTES, BOTH, "numpy"),
    (SMALL_INPUT_BYTES + 1, BOTH, "tensorflow"),
    (None, BOTH, "tensorflow"),                    # unknown size: a streaming job
    (10 ** 12, ("numpy",), "numpy"),               # TensorFlow not installed
    (10, ("tensorflow",), "tensorflow"),           # NumPy's h5py not installed
])
def test_the_runtime_follows_the_input_size_among_those_installed(size, installed, expected):
    choice = choose_runtime(size, installed)
    assert choice.runtime == expected
    assert choice.reason and "\n" not in choice.announcement()


def test_the_reason_says_why():
    assert "before TensorFlow would have loaded" in choose_runtime(100, BOTH).reason
    assert "over" in choose_runtime(SMALL_INPUT_BYTES * 2, BOTH).reason
    assert "tensorflow is not installed" in choose_runtime(SMALL_INPUT_BYTES * 2,
                                                           ("numpy",)).reason
    with pytest.raises(ValueError):
        choose_runtime(100, ())


def test_a_gpu_runtime_takes_large_inputs_where_a_gpu_is_there(monkeypatch):
    monkeypatch.setattr(runtime_choice, "GPU_RUNTIMES", ("numpy",))   # stands in for "jax"
    assert choose_runtime(SMALL_INPUT_BYTES * 2, BOTH, gpu=True).runtime == "numpy"
    assert choose_runtime(SMALL_INPUT_BYTES * 2, BOTH, gpu=False).runtime == "tensorflow"
    assert choose_runtime(100, BOTH, gpu=True).runtime == "numpy"


@pytest.mark.parametrize("size", [SMALL_INPUT_BYTES * 2, 10 ** 12, None])
def test_cpu_workers_with_one_tagger_thread_a_process_get_numpy_at_any_size(size):
    choice = choose_runtime(size, BOTH, one_tagger_thread=True)
    assert choice.runtime == "numpy"
    assert "one tagger thread a process" in choice.reason and "\n" not in choice.announcement()
    assert choose_runtime(size, BOTH).runtime == "tensorflow"
    assert choose_runtime(size, ("tensorflow",), one_tagger_thread=True).runtime == "tensorflow"


def test_compressed_files_count_several_times_their_size():
    assert input_text_bytes([("a.txt", 100), ("b.txt.gz", 100), ("c.JSONL.BZ2", 10),
                             ("d", None)]) == 100 + COMPRESSED_TEXT_FACTOR * 110


def test_parquet_files_count_as_compressed_whatever_their_names():
    # Snappy-compressed, dictionary-encoded column chunks: counted as their size in bytes, a
    # Parquet corpus of several times 4 MB of text went to the NumPy runtime.
    files = [("lake/a.parquet", 100), ("lake/part-0", 50)]
    assert input_text_bytes(files, "parquet") == COMPRESSED_TEXT_FACTOR * 150
    assert input_text_bytes(files, "text") == 150


@pytest.mark.parametrize("remote, accelerator, expected", [
    (True, "type:nvidia-l4;count:1;install-nvidia-driver", "tensorflow"),
    (True, None, "numpy"),
    (False, "type:nvidia-l4;count:1;install-nvidia-driver", "numpy"),   # no GPU workers here
])
def test_a_dataflow_gpu_job_keeps_its_gpu_runtime_however_small_its_input(
        tmp_path, remote, accelerator, expected):
    # A trial run of a right-fitted job on a sample got NumPy, which runs on CPUs only: the
    # GPU workers it was given ran the tagger on their CPUs.
    from beamtagger.pipeline.tag_runtime import choose_runtime as choose_for_job
    from beamtagger.pipeline.tag_pipeline import TagJob

    (tmp_path / "sample.txt").write_text("A short sample .\n")
    job = TagJob(str(tmp_path / "*.txt"), str(tmp_path / "out"), accelerator=accelerator,
                 runtime=None)
    choice = choose_for_job(job, remote=remote)
    assert choice.runtime == expected, choice.reason


@pytest.mark.parametrize("tagger_threads, accelerator, expected", [
    (1, None, "numpy"),         # Dataflow's default: one SDK process a vCPU, one thread each
    (None, None, "tensorflow"),  # --experiments=no_use_multiple_sdk_containers: every core
    (4, None, "tensorflow"),
    (1, "type:nvidia-l4;count:1;install-nvidia-driver", "tensorflow"),
])
def test_a_large_dataflow_cpu_job_gets_numpy_where_the_tagger_has_one_thread_a_process(
        tmp_path, tagger_threads, accelerator, expected):
    from beamtagger.pipeline.tag_runtime import choose_runtime as choose_for_job
    from beamtagger.pipeline.tag_pipeline import TagJob

    # Only the size is read at launch: a compressed file counts COMPRESSED_TEXT_FACTOR times.
    (tmp_path / "corpus.txt.gz").write_bytes(b"\0" * (SMALL_INPUT_BYTES // COMPRESSED_TEXT_FACTOR
                                                      + 1))
    job = TagJob(str(tmp_path / "*.gz"), str(tmp_path / "out"), accelerator=accelerator,
                 runtime=None, tagger_threads=tagger_threads)
    choice = choose_for_job(job, remote=True)
    assert choice.runtime == expected, choice.reason
    assert choose_for_job(job, remote=True, streaming=True).runtime == expected
    # A local run with one tagger thread a process (multi_processing at a worker a core) is
    # the run bench/one_thread_jobs.py measured (an accelerator hint is Dataflow's, not the
    # DirectRunner's); one whose tagger has every core keeps the size rule.
    local = choose_for_job(job, remote=False).runtime
    if tagger_threads == 1:
        assert local in ("numpy", "jax")
    else:
        assert local in ("tensorflow", "jax")


@pytest.mark.parametrize("size", [0, SMALL_INPUT_BYTES * 2, None])
def test_an_accelerator_hint_keeps_tensorflow_at_any_size(size):
    choice = choose_runtime(size, BOTH, one_tagger_thread=True, accelerator_hint=True)
    assert choice.runtime == "tensorflow" and "accelerator hint" in choice.reason
    # Where TensorFlow is not there (a local interpreter), the other rules decide.
    assert choose_runtime(size, ("numpy",), accelerator_hint=True).runtime == "numpy"


@pytest.mark.parametrize("threads, remote, hint, expected", [
    (1, True, False, "numpy"),          # Dataflow's CPU workers: one SDK process a vCPU
    (1, True, True, "tensorflow"),      # a Dataflow GPU tag stage
    (None, True, False, "tensorflow"),  # one SDK process a VM: every core
    (4, True, False, "tensorflow"),
    (1, False, True, "numpy"),          # the DirectRunner ignores hints
])
def test_a_transform_chooses_as_the_command_does_for_an_input_of_unknown_size(
        threads, remote, hint, expected):
    choice = runtime_choice.choose_transform_runtime(threads, remote, accelerator_hint=hint)
    assert choice == choose_runtime(None, runtime_choice.installed_runtimes(remote),
                                    one_tagger_thread=threads == 1,
                                    accelerator_hint=remote and hint)
    assert choice.runtime == expected, choice.reason   # NumPy is installed wherever it runs


def test_a_local_transform_chooses_among_the_runtimes_installed_here(monkeypatch):
    from beamtagger.model import runtimes

    monkeypatch.setattr(runtimes, "is_installed", lambda name: name == "numpy")
    assert runtime_choice.installed_runtimes(remote=False) == ["numpy"]
    choice = runtime_choice.choose_transform_runtime(None, remote=False)
    assert choice.runtime == "numpy" and "tensorflow is not installed" in choice.reason
    assert runtime_choice.choose_transform_runtime(None, remote=True).runtime == "tensorflow"
