"""A yes/no flag tagger's threshold: the one rule every place that takes one checks it by, and
the override a run tags at (``beamtagger tag --threshold``, the library's ``threshold=``).

A flag tagger (``train --binary-label``) tags a token positive where the network's probability
of it is at least ``decoding.threshold`` in ``tagger.json``. ``model set-threshold`` rewrites
that file; a model in a bucket or a read-only shared folder cannot be rewritten, and two runs at
two thresholds from one model needed two copies of it. An override leaves the model's files as
they are: the decoders are given a copy of its spec whose threshold is the override
(``with_threshold``), so the pinned ``tagger.json`` (``built_against``) and the loaded model,
cached by that file's bytes, stay the model's own.
"""
import copy
import numbers
from typing import Optional

from beamtagger.errors import BeamtaggerError

__all__ = ["ThresholdRefused", "check_threshold", "check_threshold_applies", "model_name",
           "model_threshold", "threshold_option", "with_threshold"]


class ThresholdRefused(BeamtaggerError, ValueError):
    """A threshold out of 0..1 (NaN and infinity too), or one given for a model that is not a
    flag tagger. A BeamtaggerError, so ``beamtagger`` prints it as its one line and exits 2;
    a ValueError, as the library refuses an option no run can follow."""


def check_threshold(threshold, name="the threshold") -> float:
    """``threshold`` as a float, ``-0`` as 0; ThresholdRefused, its message starting with
    ``name``, unless it is a number from 0 to 1. A bool is refused (True is 1 to Python,
    not a threshold anyone meant), and NaN, which compared false with every probability, so
    no token was ever positive."""
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) \
            or not 0 <= threshold <= 1:
        raise ThresholdRefused(f"{name} must be a number from 0 to 1, not {threshold!r}")
    return float(threshold) + 0.0


def model_name(model_dir) -> str:
    return "the bundled model" if model_dir is None else f"model {model_dir}"


def check_threshold_applies(spec, model: str, prefix: str = ""):
    """ThresholdRefused unless ``spec`` (named ``model`` in the message) is a flag tagger's,
    the only kind a threshold decodes."""
    if spec.head != "sigmoid":
        raise ThresholdRefused(f"{prefix}{model} is not a binary tagger (a {spec.head} head): "
                               "a threshold applies to taggers trained with train "
                               "--binary-label")


def model_threshold(spec) -> Optional[float]:
    """The threshold ``spec``'s own decoding flags at; None for a tagger that is not a flag
    tagger."""
    return spec.decoding.get("threshold", 0.5) if spec.head == "sigmoid" else None


def with_threshold(spec, threshold: Optional[float], model_dir=None):
    """``spec`` itself where ``threshold`` is None; else a copy of it that decodes at
    ``threshold`` (``TaggerSpec.decode`` and ``batch_decoding`` read ``decoding.threshold``).
    ThresholdRefused where ``spec`` is not a flag tagger's (``model_dir`` names it).

    A copy, not an edit: the spec given is the loaded runner's, shared by every tagger of the
    process that loaded the same files, which tag at the model's threshold or their own."""
    if threshold is None:
        return spec
    check_threshold_applies(spec, model_name(model_dir), "threshold: ")
    decoding = copy.copy(spec)
    decoding.decoding = {**spec.decoding, "threshold": threshold}
    return decoding


def threshold_option(threshold, model_dir, option: str = "threshold"):
    """The ``threshold=`` option of ``TagText``, ``TagBatches``, ``StitchChunks``,
    ``TaggerModelHandler`` and ``Tagger``, checked where it is given: None (the model's own),
    or the threshold as a float. ThresholdRefused for a value out of 0..1 and, for a model on
    this machine (or the bundled one), for one that is not a flag tagger; a ``gs://`` model,
    or one only the workers hold, is checked where they load it (``with_threshold``).
    ``option``: how the messages name it (``TagTextWithModels``: ``thresholds['ner']``)."""
    if threshold is None:
        return None
    threshold = check_threshold(threshold, option)
    from beamtagger.transforms import worker_resources

    if model_dir is None or not (worker_resources.is_remote(model_dir) or not
                                 worker_resources.local_path(model_dir).exists()):
        check_threshold_applies(worker_resources.load_spec(model_dir), model_name(model_dir),
                                f"{option}: ")
    return threshold
