"""A library caller's pipeline that goes well prints nothing but what the caller prints: no
TensorFlow start-up lines from the tensorflow runtime's set-up (TagText, TaggerModelHandler and
their worker processes, where no command filters stderr), no Beam warning from RunInference's
model loads."""
import logging
import subprocess
import sys
import textwrap


def test_the_tensorflow_runtimes_set_up_prints_nothing_and_leaves_stderr_working():
    # Before: "WARNING: All log messages before absl::InitializeLog() ..." and "oneDNN custom
    # operations are on ..." twice each, from TensorFlow's import.
    script = textwrap.dedent("""
        import os, sys
        from beamtagger.tensorflow_setup import configure_tensorflow
        assert "tensorflow" not in sys.modules
        configure_tensorflow()
        import tensorflow as tf
        print(int(tf.constant(2) + 3))
        os.write(2, b"written after the set-up\\n")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "5\n"
    assert done.stderr == "written after the set-up\n"


def test_run_inference_measures_a_model_loads_memory_without_a_warning(caplog):
    """Beam 2.78 left its ``resource`` module None without torch (imported in one try with its
    ModelManager): "Resource module is not available for current platform, memory usage
    cannot be fetched" at every load, and 0 bytes measured."""
    import beamtagger.transforms.model_handler  # noqa: F401  (its import mends Beam's module)
    from apache_beam.ml.inference import base

    with caplog.at_level(logging.WARNING):
        measured = base._get_current_process_memory_in_bytes()
    assert measured > 0
    assert caplog.records == []
