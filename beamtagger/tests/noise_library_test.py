"""A library caller's pipeline that goes well prints no Beam warning from RunInference's model
loads. (TensorFlow's own start-up lines are left to it there: a library does not take over its
host process's stderr, and a filter on it lost the last line TensorFlow prints when it aborts
during its import, a CPU without the instructions it was built for.)"""
import logging


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
