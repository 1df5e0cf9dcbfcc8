"""Shared fixtures and helpers. Tests that need ../shared/data skip with a clear reason without it.

The tiny tagger fixture (``tiny_tagger``) comes from ``beamtagger.testing``, loaded as a plugin
by pytest.ini.
"""
import os
import pathlib
import shutil
import sys
import tempfile
import textwrap

try:
    import fcntl
except ImportError:   # Windows: each xdist worker builds its own
    fcntl = None

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED_DATA = pathlib.Path(
    os.environ.get("BEAMTAGGER_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session", autouse=True)
def direct_runner_without_prism():
    """Beam's DirectRunner hands a batch pipeline to Prism first where it can download Prism's
    binary; the tests run on the runners it then falls back on, as in CI (no network), whether
    or not this machine reaches GitHub (pipeline/local_runner.py says why beamtagger keeps to
    them)."""
    from apache_beam.runners.portability import prism_runner

    def unavailable(self, pipeline, options):
        raise RuntimeError("beamtagger's tests run without Prism")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prism_runner.PrismRunner, "run_pipeline", unavailable)
        yield


@pytest.fixture(scope="session", autouse=True)
def temporary_files_of_the_session(tmp_path_factory):
    """tempfile's folder for this session, removed at its end. Beam makes a folder there for
    every pipeline and removes it only in ``run()``: each pipeline a test builds to look at, or
    whose ``with`` block raises, left an empty ``beam-pipeline-temp*`` in /tmp for good (about
    12,000 of them on a shared machine after a day of runs). TMPDIR too, for the commands the
    tests start: the documented examples' commands left Beam's ``beam-temp*`` and
    ``tmp*`` folders. Tests that watch the folder still take their own (``temporary``)."""
    tmp_path_factory.getbasetemp()   # pytest's folders stay in /tmp, kept after a failure
    folder = tempfile.mkdtemp(prefix="beamtagger-tests-")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", folder)
        patch.setenv("TMPDIR", folder)
        yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def jax_compilation_cache_of_the_run(tmp_path_factory):
    """JAX's compiled shapes kept in this run's folder (shared by its xdist workers and the
    commands the tests start), not in the user's ``~/.cache/beamtagger/jax-compilation``,
    where every run of the tests added the shapes of the models it built. Tests of the cache
    itself set BEAMTAGGER_JAX_CACHE (or JAX's setting) as they need."""
    own = tmp_path_factory.getbasetemp()
    run = own.parent if os.environ.get("PYTEST_XDIST_WORKER") else own
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BEAMTAGGER_JAX_CACHE", str(run / "jax-compilation"))
        yield


@pytest.fixture(scope="session")
def shared_data():
    """Path to ../shared/data (real corpora and GloVe subset); skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent "
                    "(set BEAMTAGGER_SHARED_DATA to point at it)")
    return SHARED_DATA


def conllu_slice(source, out, sentences):
    """The first ``sentences`` sentences of a CoNLL-U file, written to ``out``."""
    kept, lines = 0, []
    with open(source, encoding="utf-8") as handle:
        for line in handle:
            lines.append(line)
            if not line.strip():
                kept += 1
                if kept == sentences:
                    break
    out.write_text("".join(lines), encoding="utf-8")
    return str(out)


def conll_slice(source, out, sentences):
    return conllu_slice(source, out, sentences)  # blank line ends a sentence in both formats


def fail_batches_of_width(monkeypatch, runner_class, width):
    """``runner_class.predict`` raises on every batch ``width`` tokens wide (the in-process
    DirectRunner runs the tag stage in this process, so it sees the patch)."""
    real_predict = runner_class.predict

    def predict(self, inputs):
        if inputs.width == width:
            raise RuntimeError("simulated tagger failure")
        return real_predict(self, inputs)

    monkeypatch.setattr(runner_class, "predict", predict)


def built_once_for_the_run(tmp_path_factory, name, build):
    """The folder ``build(folder)`` fills, built by the first of this run's xdist workers to need
    it and read by the others (each built its own before: the UPOS model alone is about 15 s of
    CI's 2 cores). The fixtures using it hand out paths that their tests only read."""
    own = tmp_path_factory.getbasetemp()
    # Under xdist each worker's base folder is in the run's own one (pytest-N/popen-gwK); alone,
    # a session keeps to its base folder, so a folder is never taken from an earlier run.
    run = own.parent if os.environ.get("PYTEST_XDIST_WORKER") and fcntl is not None else own
    built = run / f"once-{name}"
    with open(run / f"once-{name}.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)   # the others wait for it rather than build it too
        if not built.is_dir():
            building = tmp_path_factory.mktemp(f"building-{name}")
            build(building)
            os.replace(building, built)
    return built


@pytest.fixture(scope="session")
def subset_store(shared_data, tmp_path_factory):
    from beamtagger.embeddings.importers import import_embeddings

    folder = built_once_for_the_run(tmp_path_factory, "stores", lambda into: import_embeddings(
        shared_data / "glove" / "glove.6B.50d.subset.txt.gz", into / "glove-subset"))
    return str(folder / "glove-subset")


@pytest.fixture(scope="session")
def ewt_slices(shared_data, tmp_path_factory):
    ewt = shared_data / "ud-english-ewt"

    def write(folder):
        conllu_slice(ewt / "en_ewt-ud-train.conllu", folder / "train.conllu", 300)
        conllu_slice(ewt / "en_ewt-ud-dev.conllu", folder / "dev.conllu", 60)

    folder = built_once_for_the_run(tmp_path_factory, "ewt", write)
    return str(folder / "train.conllu"), str(folder / "dev.conllu")


@pytest.fixture(scope="session")
def upos_model(ewt_slices, subset_store, tmp_path_factory):
    """A small UPOS tagger trained by ``beamtagger train`` on 300 EWT sentences (needs
    TensorFlow; skips without it). Without the tags preset's adversarial step, which no test of
    this model is about: tracing its second graph took over half of the fixture's seconds (17.6
    s of CPU against 6.7; dev accuracy 0.87 after 4 epochs either way)."""
    pytest.importorskip("tensorflow")
    from beamtagger.pipeline import cli

    train, dev = ewt_slices

    def train_into(folder):
        code = cli.main(["train", "--train", train, "--dev", dev, "--format", "conllu",
                         "--embeddings", subset_store, "--out", str(folder / "upos"), "--epochs",
                         "4", "--units", "16", "--projection", "24", "--batch-tokens", "512",
                         "--learning-rate", "0.01", "--adversarial", "0"])
        assert code == 0

    return built_once_for_the_run(tmp_path_factory, "models", train_into) / "upos"


@pytest.fixture(scope="session")
def early_stop_refit_run(tiny_tagger, tmp_path_factory):
    """train_resume_state_test's "early_stop_refit" training, uninterrupted and once for the
    run: early-stopped after epoch 3, then a refit of 2 epochs. Gives its weights, its report
    (as training_report.json holds it) and the state folders that a stop after the first
    training's last epoch ("after_first") and after the refit's first epoch ("in_refit")
    leave, copied aside as written; tests resume copies of them. train_resume_state_test
    resumes the one and newaudit3_train_epochs_test the other (with another --epochs): the
    second stopped this training again, a training's traces being most of its seconds."""
    pytest.importorskip("tensorflow")
    import json
    import types

    import numpy as np

    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.tests.train_resume_state_test import (SCENARIOS, copy_state_after_saves,
                                                          tiny_config, train)

    changes, aux, stop_after = SCENARIOS["early_stop_refit"]

    def run(folder):
        with pytest.MonkeyPatch.context() as patch:
            copy_state_after_saves(patch, stop_after, folder / "after_first")
            copy_state_after_saves(patch, stop_after + 1, folder / "in_refit")
            weights, report = train(EmbeddingStore.open(tiny_tagger.store_path),
                                    tiny_config(**changes), folder / "once", aux)
        np.savez(folder / "weights.npz", *weights)
        (folder / "report.json").write_text(json.dumps(report))

    # Built in this process, not once for the run's xdist workers: the weights depend on
    # TensorFlow's thread count (docs/training.md, "Reproducibility"), fixed in each process by
    # whatever first ran TensorFlow there, and a state saved by one worker resumed by another
    # (tag_pipeline's threads, a test's TensorFlow first) was compared with its own run.
    folder = tmp_path_factory.mktemp("early-stop-refit")
    run(folder)
    with np.load(folder / "weights.npz") as saved:
        weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    return types.SimpleNamespace(weights=weights,
                                 report=json.loads((folder / "report.json").read_text()),
                                 after_first=folder / "after_first", in_refit=folder / "in_refit")


# The exit status of a ``prepared_child`` whose setup raised, before it became its command.
CHILD_SETUP_FAILED = 97


def prepared_child(argv, setup):
    """``argv`` run by a Python that first runs ``setup`` (source; os, resource, signal and
    sys imported) and then becomes ``argv`` by exec: what a subprocess ``preexec_fn`` did.
    A preexec_fn makes subprocess fork() where it otherwise uses vfork(), and fork() runs
    gRPC's fork handlers: in an xdist worker whose Beam gRPC threads were busy, the child
    aborted (SIGABRT, "epoll_wait error: Bad file descriptor": 2 tests of 3,090 in one CI run;
    4 of 150 children of a process making gRPC calls, none of 150 without a preexec_fn). A
    setup that raises exits CHILD_SETUP_FAILED, its error on standard error."""
    trampoline = ("import os, resource, signal, sys\n"
                  "try:\n" + textwrap.indent(textwrap.dedent(setup).strip(), "    ") + "\n"
                  "except Exception as error:\n"
                  "    sys.stderr.write(f'child setup failed: {error!r}\\n')\n"
                  f"    os._exit({CHILD_SETUP_FAILED})\n"
                  "os.execvp(sys.argv[1], sys.argv[1:])\n")
    return [sys.executable, "-c", trampoline, *argv]


def run_tag_command(capsys, *args):
    """(exit code, stdout, stderr) of ``beamtagger tag`` with the NumPy runtime and no progress
    lines; argparse's refusals (SystemExit) give their code too."""
    from beamtagger.pipeline import cli

    try:
        code = cli.main(["tag", "--progress-every", "0", "--runtime", "numpy", *args])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def temporary(tmp_path, monkeypatch):
    """TMPDIR for this test alone (and its child processes, given it as TMPDIR), so that
    what a run leaves there can be seen."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def text_in(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("Hello there .\nGood bye .\n", encoding="utf-8")
    return path


BIO_LABELS = ("O", "B-per", "I-per", "B-loc", "I-loc")


@pytest.fixture(scope="session")
def entity_tagger(tmp_path_factory):
    """A tiny untrained tagger with BIO labels (Viterbi decoding), bound to its own store."""
    from beamtagger.testing import build_tiny_tagger

    return build_tiny_tagger(tmp_path_factory.mktemp("entity-tagger"), labels=BIO_LABELS)


@pytest.fixture(scope="session")
def binary_tagger(tmp_path_factory):
    """A tiny untrained flag tagger (yes for tags matching ``B-*`` and ``I-*``)."""
    from beamtagger.testing import build_tiny_tagger

    return build_tiny_tagger(tmp_path_factory.mktemp("flag-tagger"), binary_label=("B-*", "I-*"))


@pytest.fixture
def flag_model(binary_tagger, tmp_path):
    """A copy of the flag tagger's model the test may rewrite."""
    import shutil

    return str(shutil.copytree(binary_tagger.model_dir, tmp_path / "model"))


def refusal_of_a_state_read_as_written(monkeypatch, capsys, command, out):
    """(exit code, last stderr line) of ``train`` ``command`` run again over the training state
    that the same command left when entity tags were read as written (before 2026-12-07): a
    run saving its first epoch, then killed. ``out``: the command's ``--out`` folder."""
    import numpy as np

    from beamtagger.model import training
    from beamtagger.model.tagger_spec import TaggerSpec
    from beamtagger.model.train_state import training_fingerprint
    from beamtagger.pipeline import cli, common

    # train_tagger resumes, then saves, as the real one does.
    def first_epoch_saved(train, dev, store, config, binary=None, tag_column=None,
                          aux_sentences=None, state=None, **_):
        state.resume(training_fingerprint(config, train, dev, aux_sentences,
                                          TaggerSpec.binding_of(store), binary, tag_column))
        assert state.save({"phase": "first", "epochs_done": 1, "epochs_total": 4,
                           "stopped": False, "history": []}, {"model": [np.arange(3.0)]})
        raise KeyboardInterrupt

    with monkeypatch.context() as earlier:
        earlier.setattr(common, "_entity_tags_read_as_bio", lambda sentences, *_: sentences)
        earlier.setattr(training, "train_tagger", first_epoch_saved)
        cli.main(list(command))
    assert (out.parent / f".{out.name}.train-state" / "state.npz").exists()
    capsys.readouterr()
    # The same command today: the real train_tagger refuses the state before any epoch.
    code = cli.main(list(command))
    return code, capsys.readouterr().err.strip().splitlines()[-1]


@pytest.fixture
def run_command(capfd, monkeypatch):
    """Runs a documented command line (docs_examples_test's, and the README commands other
    files check) (an optional `[...]` left out) in ``folder`` and gives
    what it printed: `beamtagger` is this checkout's ``cli.main``, run in this process. A child
    process (``python -m beamtagger``) imported Beam and TensorFlow again for each of the 11
    command lines, most of their CPU; what a separate process adds (the executable's exit
    without teardown, its closed descriptors) is held by cli_exit_test.py and the piped commands
    below, which run through the shell."""
    import re
    import shlex

    from beamtagger.pipeline import cli

    def run_in(command, folder):
        argv = shlex.split(re.sub(r"\s*\[[^\]]*\]", "", command))
        assert argv[0] == "beamtagger", command
        monkeypatch.chdir(folder)
        capfd.readouterr()
        try:
            code = cli.main(argv[1:])
        except SystemExit as exit:   # --version, from argparse
            code = exit.code
        printed = capfd.readouterr()
        assert code == 0, (argv, printed.out[-3000:], printed.err[-3000:])
        return printed.out

    return run_in
