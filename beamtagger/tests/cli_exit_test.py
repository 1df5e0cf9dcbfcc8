"""The ``beamtagger`` executable exits without interpreter teardown but loses no output."""
import signal
import subprocess
import sys

import pytest


def test_piped_output_and_exit_code_survive_the_fast_exit(tmp_path):
    # Piped streams are block-buffered: without the flush before os._exit this message is lost.
    done = subprocess.run(
        [sys.executable, "-m", "beamtagger", "tag", "--input", str(tmp_path / "none-*.txt"),
         "--output", str(tmp_path / "out" / "r"), "--progress-every", "0"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "no input files match" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_reader_that_stops_early_is_no_error(tiny_tagger):
    # `beamtagger embeddings info ... | head -5` printed "error: Broken pipe (EPIPE)".
    reader_gone = subprocess.Popen(
        [sys.executable, "-m", "beamtagger", "embeddings", "info", tiny_tagger.store_path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader_gone.stdout.close()   # before the command writes its first line
    _, err = reader_gone.communicate(timeout=300)
    assert err.decode() == "" and reader_gone.returncode == 128 + signal.SIGPIPE


def test_scikit_learn_is_unavailable_only_while_a_tag_run_runs(monkeypatch):
    from beamtagger.pipeline.tag_process_settings import without_scikit_learn

    monkeypatch.delitem(sys.modules, "sklearn", raising=False)
    with without_scikit_learn():
        try:
            import sklearn  # noqa: F401
        except ImportError:
            pass
        else:
            raise AssertionError("keras would import scikit-learn during the run")
    assert "sklearn" not in sys.modules  # importable again afterwards
    already = object()
    monkeypatch.setitem(sys.modules, "sklearn", already)
    with without_scikit_learn():
        assert sys.modules["sklearn"] is already  # imported before: left alone


def test_the_garbage_collector_runs_less_often_only_while_a_tag_run_runs():
    import gc

    from beamtagger.pipeline.tag_process_settings import (YOUNG_COLLECTION_THRESHOLD,
                                                          fewer_garbage_collections)

    before = gc.get_threshold()
    # CPython 3.12 starts with objects of its own frozen (375 on 3.12.1): no tag run froze there.
    frozen_by_the_interpreter = gc.get_freeze_count()
    with fewer_garbage_collections():
        assert gc.get_threshold() == (max(before[0], YOUNG_COLLECTION_THRESHOLD), *before[1:])
        # What was alive before the run is never walked.
        assert gc.get_freeze_count() > frozen_by_the_interpreter
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    gc.freeze()   # frozen by someone else: stays frozen
    try:
        frozen = gc.get_freeze_count()
        with fewer_garbage_collections():
            pass
        # Unfrozen, the count would be 0; it may be a little lower than before, as frozen
        # objects that die (a previous test's garbage) leave the permanent generation.
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_train_and_evaluate_without_tensorflow_are_refused_in_one_line(tiny_tagger, tmp_path):
    """An install without the cpu or gpu extra (tag --runtime numpy or jax needs neither)
    imported Keras after reading the corpora, and Keras' import failed on TensorFlow's: a
    traceback."""
    import textwrap

    corpus = tmp_path / "tiny.conll"
    corpus.write_text("the\tDET\ncat\tNOUN\n.\tPUNCT\n", encoding="utf-8")
    script = textwrap.dedent("""
        import sys

        class NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "tensorflow":
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)

        sys.meta_path.insert(0, NotInstalled())
        from beamtagger.pipeline import cli
        sys.exit(cli.main(sys.argv[1:]))
        """)
    common = ["--format", "conll", "--embeddings", tiny_tagger.store_path]
    for command, args in (
            ("evaluate", ["--model", tiny_tagger.model_dir, "--data", str(corpus)]),
            ("train", ["--train", str(corpus), "--dev", str(corpus), "--epochs", "1",
                       "--out", str(tmp_path / "model")])):
        done = subprocess.run([sys.executable, "-c", script, command, *args, *common],
                              capture_output=True, text=True, timeout=300)
        assert (done.returncode, done.stderr.splitlines()) == (2, [
            f"beamtagger {command}: error: {command} runs the model with TensorFlow, which is "
            "not installed here: install beamtagger[cpu] (or [gpu])"]), done.stderr[-3000:]
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_that_comes_in_a_garbage_collector_callback_still_stops_the_command(signum):
    # Keras imports JAX where it is installed, and a signal that came in a collection was
    # raised in JAX's gc callback, where Python printed the KeyboardInterrupt and ignored it:
    # a train run told to stop in its first epoch went on and saved its model.
    import gc
    import os

    import threading

    from beamtagger.pipeline.cli import SIGNAL_SENT_AGAIN, _terminate_as_interrupt

    def signal_from_a_callback(phase, info):
        # Only in the collection below: a collection Python started on its own before the
        # handler was in place sent it to a process that ended at once (SIGTERM's default).
        if phase == "stop" and armed and not sent:
            sent.append(signum)
            os.kill(os.getpid(), signum)   # handled before this callback returns

    sent, terminated, armed = [], [], []
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)   # as in a terminal
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    gc.callbacks.append(signal_from_a_callback)
    try:
        with pytest.raises(KeyboardInterrupt), _terminate_as_interrupt(terminated):
            armed.append(True)
            gc.collect()
            for thread in threading.enumerate():
                if thread.name == SIGNAL_SENT_AGAIN:
                    thread.join()
            reached_after_the_collection = [sent]  # noqa: F841 (where Python checks again)
    finally:
        gc.callbacks.remove(signal_from_a_callback)
        restored = {signum: signal.getsignal(signum) for signum in previous}
        signal.signal(signal.SIGINT, outer)
    assert sent == [signum]
    assert terminated == ([signal.SIGTERM] if signum == signal.SIGTERM else [])
    assert restored == previous


def test_a_signal_that_comes_in_a_weak_reference_callback_still_stops_the_command():
    # A Ctrl-C that came while a weak reference's callback ran (weakref.finalize's, as
    # tempfile and multiprocessing register) was printed as "Exception ignored" and lost, and
    # the run exited 0.
    import os
    import threading
    import weakref

    from beamtagger.pipeline.cli import SIGNAL_SENT_AGAIN, _terminate_as_interrupt

    class Held:
        pass

    def stop_here():
        sent.append(signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)   # handled before this callback returns

    sent = []
    held = Held()
    weakref.finalize(held, stop_here)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)   # as in a terminal
    try:
        with pytest.raises(KeyboardInterrupt), _terminate_as_interrupt([]):
            del held   # the finalizer runs here, as the last reference goes
            for thread in threading.enumerate():
                if thread.name == SIGNAL_SENT_AGAIN:
                    thread.join()
            reached_after_the_callback = [sent]  # noqa: F841 (where Python checks again)
    finally:
        signal.signal(signal.SIGINT, outer)
    assert sent == [signal.SIGINT]


def test_a_stop_once_the_command_has_returned_leaves_its_status(monkeypatch, tiny_tagger,
                                                                 capsys):
    # Once the command returns, the stderr relay's end is awaited (1-5 ms) with Python's own
    # handlers back: a Ctrl-C there was "beamtagger: interrupted", 130, after a tag run whose
    # files were published and whose --summary-json said 0 (1 of 40 Ctrl-Cs 20-45 ms after a
    # tag_in_parts part's errors file appeared).
    import contextlib
    import os

    from beamtagger.pipeline import cli

    @contextlib.contextmanager
    def stopped_as_the_relay_ends():
        yield
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(cli, "filtered_native_stderr", stopped_as_the_relay_ends)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)   # as in a terminal
    try:
        code = cli.main(["embeddings", "info", tiny_tagger.store_path])
    finally:
        signal.signal(signal.SIGINT, outer)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "interrupted" not in err and out
