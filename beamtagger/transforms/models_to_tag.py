"""The models one tagging pass tags with: ``TagTextWithModels(models={name: model_dir})``, and
TagText's one model, as a tuple of ``ModelToTag`` that the shared stages
(``tag_text._TagTextStages``) read.

A model's name labels its steps (``Tag[upos]``) and, in ``beamtagger tag``, names its files:
1 to 64 ASCII letters, digits, ``_`` and ``-``, the first a letter or a digit, so a name is
safe in a file name on every file system (no ``/``, no ``..``, no leading ``-`` that a shell
reads as an option) and in a Beam label (no ``/``, which Beam reads as nesting). Two names
equal but for case are refused: on a case-insensitive file system (macOS, Windows) their
files would be one.
"""
import os
import re
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from beamtagger.bundled_models import BundledModel
from beamtagger.errors import BeamtaggerError
from beamtagger.transforms.built_against import BuiltAgainst

__all__ = ["ModelToTag", "ModelsRefused", "attach_groups", "check_model_dir", "check_model_name",
           "models_option"]

class ModelsRefused(BeamtaggerError, ValueError):
    """A ``models`` or ``thresholds`` option no run can follow. A BeamtaggerError, so
    ``beamtagger`` prints it as its one line; a ValueError, as the library refuses an option."""


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class ModelToTag(NamedTuple):
    """One model of a tagging pass.

    Args:
      name: its name (``models_to_tag`` says which); None for TagText's one model, whose steps
        keep the labels they always had (``Tag``, ``StitchChunks``): a running streaming job is
        updated by label.
      model_dir: its model directory (None: the bundled UPOS model; a bundled model's folder
        given is its ``bundled_models.BundledModel``, ``tagging_defaults.model_dir_option``).
      threshold: a flag tagger's threshold to tag at (None: the model's own).
    """
    name: Optional[str]
    model_dir: Union[str, BundledModel, None]
    threshold: Optional[float] = None

    def label(self, step: str) -> str:
        """``step``'s label for this model: ``Tag[upos]``, or ``Tag`` for TagText's."""
        return step if self.name is None else f"{step}[{self.name}]"


def check_model_name(name) -> str:
    """``name`` where it is one (module docstring), else BeamtaggerError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ModelsRefused(
            f"model name {name!r} is not one: give 1 to 64 ASCII letters, digits, _ or -, the "
            "first a letter or a digit (names label steps and files)")
    return name


def check_model_dir(name: str, model_dir) -> None:
    """ModelsRefused, naming the model, for a path that is none: neither a str nor an
    ``os.PathLike`` giving one (an int, bytes: TypeErrors from deep inside the checks), or
    empty (read as the current folder: ". is not a tagger model"). None is the bundled
    model."""
    if model_dir is None:
        return
    path = os.fspath(model_dir) if isinstance(model_dir, (str, os.PathLike)) else None
    if not isinstance(path, str):
        raise ModelsRefused(f"models[{name!r}] must be a model directory (a str or "
                            f"os.PathLike), or None for the bundled model, not "
                            f"{type(model_dir).__name__}")
    if not path:
        raise ModelsRefused(f"models[{name!r}] is an empty path: give the model's directory, "
                            "or None for the bundled model")


def models_option(models: Mapping[str, Optional[str]],
                  thresholds: Optional[Mapping[str, float]]) -> Tuple[ModelToTag, ...]:
    """The ``models`` and ``thresholds`` options as ModelToTags, in ``models``' order, each
    name checked; ModelsRefused for no models, a name that is none or equal to another but
    for case, a path that is none (``check_model_dir``), or a threshold for a name not in
    ``models``. Whether each path is a model, and the thresholds themselves, are checked with
    each model (``TagText._checked_model``)."""
    if not isinstance(models, Mapping):
        raise ModelsRefused(f"models must be a mapping of names to model directories "
                              f"({{'upos': 'models/upos'}}), not a {type(models).__name__}")
    if not models:
        raise ModelsRefused("models is empty: give at least one name -> model directory")
    thresholds = {} if thresholds is None else thresholds
    if not isinstance(thresholds, Mapping):
        raise ModelsRefused(f"thresholds must be a mapping of model names to thresholds, "
                              f"not a {type(thresholds).__name__}")
    seen = {}
    for name in models:
        folded = check_model_name(name).casefold()
        if folded in seen:
            raise ModelsRefused(f"model names {seen[folded]!r} and {name!r} differ only in "
                                  "case: their files would be one on a case-insensitive file "
                                  "system")
        seen[folded] = name
    for name, model_dir in models.items():
        check_model_dir(name, model_dir)
    unknown = [name for name in thresholds if name not in models]
    if unknown:
        raise ModelsRefused(f"thresholds given for {', '.join(map(repr, unknown))}, not a "
                              f"model's name ({', '.join(map(repr, models))})")
    return tuple(ModelToTag(name, model_dir, thresholds.get(name))
                 for name, model_dir in models.items())


def attach_groups(models: Sequence[ModelToTag],
                  built_against: Dict[ModelToTag, BuiltAgainst]) -> List[List[ModelToTag]]:
    """``models`` in groups that can share one AttachVectors, each group in ``models``' order:
    the models whose batches would be the same, as their ``TaggerSpec.inputs_fingerprint``
    says (the featurizer's config and the store binding, which the tag stage checks every
    batch against: a batch built for other inputs fails its stage, never tags wrongly).

    Read where the pipeline is built: a model here (or the bundled one) from its
    ``tagger.json``; a remote one (``gs://``) that was checked where the pipeline is built
    (``built_against`` records it: ``validate``, or ``beamtagger tag``'s checks) from its
    bucket; any other (a remote one not checked, one in the workers' image only) gets an
    AttachVectors of its own. One model is one group, read nothing."""
    from beamtagger.transforms import remote_paths, worker_resources

    if len(models) == 1:
        return [list(models)]

    def inputs_of(model):
        model_dir = model.model_dir
        if model_dir is None or (not worker_resources.is_remote(model_dir)
                                 and worker_resources.local_path(model_dir).exists()):
            return worker_resources.load_spec(model_dir).inputs_fingerprint
        if worker_resources.is_remote(model_dir) and built_against[model].model_sha256:
            return remote_paths.checked_model(model_dir).spec.inputs_fingerprint
        return model   # read by the workers only: a group of its own

    groups = {}
    for model in models:
        groups.setdefault(inputs_of(model), []).append(model)
    return list(groups.values())
