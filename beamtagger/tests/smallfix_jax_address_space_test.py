"""An address-space limit (``ulimit -v``) under which JAX (or TensorFlow) would abort the
process in native code (not an exception Python can catch) is refused in one line before JAX is imported, by
every entry point: ``beamtagger tag --runtime jax`` before launch (exit 2), and the runner's
load that ``Tagger(runtime="jax")``, ``TagText`` and the handler go through."""
import resource
import subprocess
import sys

import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.model import runtimes
from beamtagger.tests.conftest import prepared_child

TWO_GB = 2_000_000 * 1024   # ulimit -v 2000000

LOAD_UNDER_THE_LIMIT = """
import sys
from beamtagger.errors import BeamtaggerError
from beamtagger.model import runtimes
try:
    runtimes.load_runner("jax", sys.argv[1])
except BeamtaggerError as error:
    print("refused:", error)
print("jax imported:", "jax" in sys.modules)
"""


def _address_space_limited_to(limit):
    return f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, resource.RLIM_INFINITY))"


def test_the_jax_runner_is_refused_before_jax_is_imported(tiny_tagger):
    pytest.importorskip("jax")
    # Before the check: "LLVM ERROR: Unable to allocate section memory!" or "cannot allocate
    # memory for thread-local data: ABORT", the process killed by SIGABRT.
    done = subprocess.run(prepared_child([sys.executable, "-c", LOAD_UNDER_THE_LIMIT,
                                          tiny_tagger.model_dir],
                                         _address_space_limited_to(TWO_GB)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "refused: the jax runtime needs an address space of at least 4.0 GB (ulimit -v "
        "3906250) and this process is limited to 2.04 GB (ulimit -v 2000000), under which jax "
        "fails to start or aborts the process; raise the limit (ulimit -v unlimited), or use the numpy runtime "
        "(--runtime numpy, runtime=\"numpy\")",
        "jax imported: False"]


def _limited_getrlimit(limit):
    real = resource.getrlimit

    def getrlimit(which):
        return (limit, resource.RLIM_INFINITY) if which == resource.RLIMIT_AS else real(which)
    return getrlimit


def test_tag_with_jax_under_the_limit_is_refused_before_launch(tiny_tagger, text_in, tmp_path,
                                                               monkeypatch, capsys):
    from beamtagger.pipeline import cli

    # The limit itself is not set here: a child process with a real one is the test above.
    monkeypatch.setattr(resource, "getrlimit", _limited_getrlimit(TWO_GB))
    code = cli.main(["tag", "--input", str(text_in), "--output", str(tmp_path / "out" / "r"),
                     "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                     "--runtime", "jax"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "the jax runtime needs an address space of at least 4.0 GB" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("name, limit", [("numpy", TWO_GB), ("tensorflow", 4_000_000_000),
                                         ("jax", 4_000_000_000),
                                         ("jax", resource.RLIM_INFINITY)])
def test_other_runtimes_and_limits_that_fit_pass(name, limit, monkeypatch):
    # numpy and TensorFlow raise Python errors when memory runs out (the run's one line).
    monkeypatch.setattr(resource, "getrlimit", _limited_getrlimit(limit))
    runtimes.check_address_space(name)


def test_tensorflow_under_the_limit_is_refused_by_tag_and_train(tiny_tagger, text_in,
                                                                 tmp_path, monkeypatch, capsys):
    from beamtagger.pipeline import cli

    # Measured before the check: SIGABRT at 3.1 GB, a MemoryError traceback importing Keras
    # at 3.4-3.6 GB, a worker's "SystemError: error return without exception set" at 3 GB.
    monkeypatch.setattr(resource, "getrlimit", _limited_getrlimit(3_500_000_000))
    code = cli.main(["tag", "--input", str(text_in), "--output", str(tmp_path / "out" / "r"),
                     "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                     "--runtime", "tensorflow"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "the tensorflow runtime needs an address space of at least 4.0 GB" in err
    assert "or use the numpy runtime" in err
    code = cli.main(["train", "--train", str(text_in), "--dev", str(text_in),
                     "--out", str(tmp_path / "model")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.strip().endswith(
        "train runs the model with TensorFlow: the tensorflow runtime needs an address space "
        "of at least 4.0 GB (ulimit -v 3906250) and this process is limited to 3.5 GB (ulimit "
        "-v 3417968), under which tensorflow fails to start or aborts the process; raise the "
        "limit (ulimit -v unlimited)"), err
    assert not (tmp_path / "model").exists()


def test_tag_given_no_runtime_chooses_numpy_where_tensorflow_would_not_start(
        tiny_tagger, text_in, tmp_path, monkeypatch, capsys):
    from beamtagger import runtime_choice
    from beamtagger.pipeline import cli

    # Stands in for an input over runtime_choice.SMALL_INPUT_BYTES (4 MB), for which the
    # choice is TensorFlow; the user named no runtime, so the limit changes the choice.
    monkeypatch.setattr(runtime_choice, "choose_runtime", lambda *args, **kwargs:
                        runtime_choice.RuntimeChoice("tensorflow", "input of 9.0 MB, over 4.0 MB"))
    monkeypatch.setattr(resource, "getrlimit", _limited_getrlimit(3_500_000_000))
    code = cli.main(["tag", "--input", str(text_in), "--output", str(tmp_path / "out" / "r"),
                     "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert ("runtime          numpy  (input of 9.0 MB, over 4.0 MB, but the tensorflow runtime "
            "needs an address space of at least 4.0 GB (ulimit -v 3906250) and this process is "
            "limited to 3.5 GB (ulimit -v 3417968); --runtime sets it)") in out.splitlines()
    assert list((tmp_path / "out").glob("r-*.jsonl"))


def test_the_check_names_what_to_do(monkeypatch):
    monkeypatch.setattr(resource, "getrlimit", _limited_getrlimit(3_000_000_000))
    with pytest.raises(BeamtaggerError, match=r"ulimit -v unlimited\), or use the numpy"):
        runtimes.check_address_space("jax")


def test_a_memory_map_that_fails_for_the_limit_is_the_runs_out_of_memory_line():
    import errno

    from beamtagger.tests.run_failures_test import reported

    # `ulimit -v 2000000` (and 1000000), any runtime: "the run failed in step
    # TagText/AttachVectors/LookUpVectors/...: Cannot allocate memory (ENOMEM); ... Fix the
    # cause", where docs/tagging.md promises the line of a run that ran out of memory.
    line, removed = reported(OSError(errno.ENOMEM, "Cannot allocate memory [while running "
                                                   "'TagText/AttachVectors/LookUpVectors']"))
    assert removed
    assert line.startswith("the run ran out of memory or threads in step "
                           "TagText/AttachVectors/LookUpVectors"), line
    assert "ulimit -v" in line and "\n" not in line
