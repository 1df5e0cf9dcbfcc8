"""Keeps every bundle's metrics on Beam's BundleBasedDirectRunner (local streaming runs).

Why: that runner (the one Beam's DirectRunner picks for streaming pipelines) runs each bundle
with a fresh ``MetricsContainer``, entered through ``StateSampler.scoped_state(step, state,
metrics_container=...)`` of the executor thread's sampler. The sampler caches the ScopedState
it builds for a (step, state) name (``apache_beam/runners/worker/statesampler.py``,
``_states_by_name``), container included, so from a step's second bundle on a thread, every
counter update goes into the first bundle's container, which was committed when that bundle
ended and is never read again. ``beamtagger tag --streaming`` printed "records tagged 2" while
it wrote all 12 example records: StitchChunks, TagBatches and WriteResults run in many small
bundles there. Beam 2.77; the FnApiRunner (batch) builds each ScopedState once with a
container it keeps, so it is not affected.

``bundle_metrics_kept()`` wraps ``scoped_state`` for the time of a run: when the cached state
holds another container than the one asked for, it is replaced by a state with the new one.
Each replacement keeps a few hundred bytes in the sampler's state list (three per bundle of a
step), which a local run can afford.
"""
import contextlib
import threading

__all__ = ["bundle_metrics_kept"]

_PATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def bundle_metrics_kept():
    """Within it, metric updates of every bundle reach that bundle's container."""
    from apache_beam.runners.worker import statesampler

    sampler_class = statesampler.StateSampler
    original = sampler_class.scoped_state

    def scoped_state(self, name_context, state_name, io_target=None, metrics_container=None):
        state = original(self, name_context, state_name, io_target, metrics_container)
        if metrics_container is None or state.metrics_container is metrics_container:
            return state
        for name, cached in list(self._states_by_name.items()):
            if cached is state:
                del self._states_by_name[name]
        return original(self, name_context, state_name, io_target, metrics_container)

    with _PATCH_LOCK:
        sampler_class.scoped_state = scoped_state
    try:
        yield
    finally:
        with _PATCH_LOCK:
            sampler_class.scoped_state = original
