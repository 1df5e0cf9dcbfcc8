"""``beamtagger tag``'s ``--model`` and ``--threshold``: one model, as before, or several named
ones tagged in one pass (``TagTextInParts(models=...)``), each writing the files a run with
that model alone and ``--output PREFIX-NAME`` writes.

One ``--model DIR`` (or none) is the run it always was: its files are PREFIX's, its summary
and summary JSON unchanged; ``--model bundled`` is the run with no ``--model``. ``--model``
given twice or more, or as ``NAME=DIR``, names its models: ``NAME=DIR``, or ``DIR`` named by
its folder's base name (``.``: the working directory's), ``bundled`` (the bundled model, as
``DIR`` everywhere: ``model_argument``) named ``bundled``. A name is what the library takes
(``models_to_tag``: 1 to 64 ASCII letters, digits, ``_`` and ``-``, the first a letter or a
digit, no two equal but for case), because it names the model's files and steps.

No Beam import here: ``model info`` imports ``tag_command``, which imports this module.
"""
import argparse
import os
import posixpath
import re
from typing import NamedTuple, Optional, Sequence, Tuple

from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline.model_argument import BUNDLED, model_dir_named

__all__ = ["BUNDLED", "NamedModel", "model_prefix", "models_given", "split_model_argument",
           "threshold_argument"]

# models_to_tag's name rule (not imported: that module imports Beam's package).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_NAMED = re.compile(r"([A-Za-z0-9][A-Za-z0-9_-]{0,63})=(.*)", re.DOTALL)
_NAME_RULE = "1 to 64 ASCII letters, digits, _ or -, the first a letter or a digit"


class NamedModel(NamedTuple):
    """One of several models of a run: its ``name``, its ``model_dir`` as given (None: the
    bundled model) and the ``threshold`` a flag tagger tags at (None: its own)."""
    name: str
    model_dir: Optional[str]
    threshold: Optional[float] = None


def threshold_argument(text):
    """argparse's type of ``--threshold``: X, or NAME=X for one of several models (checked
    against the models and their range where the models are known: ``models_given``)."""
    named = _NAMED.fullmatch(text)
    name, number = (named.group(1), named.group(2)) if named else (None, text)
    try:
        value = float(number)
    except ValueError:
        # argparse's own words for type=float, which --threshold was.
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    return value if name is None else (name, value)


def models_given(model_args: Optional[Sequence[str]],
                 threshold_args: Optional[Sequence]) -> Tuple[Optional[str], Optional[float],
                                                              Tuple[NamedModel, ...]]:
    """``(model_dir, threshold, ())`` of a run of one model, as before (``--model DIR`` or
    none, ``--threshold X``, the last given where several are); ``(None, X, named models)``
    where ``--model`` is given more than once or as NAME=DIR, X a plain ``--threshold X``
    given beside them (None: none), which the caller refuses naming the flag taggers among
    them. BeamtaggerError (one line, before launch) for a name that is none, two equal but
    for case, a model named twice, and a threshold for a name no model has."""
    values = list(model_args or ())
    thresholds = list(threshold_args or ())
    split = [split_model_argument(value) for value in values]
    if len(values) <= 1 and not any(name for name, _ in split):
        named = [value for value in thresholds if isinstance(value, tuple)]
        if named:
            raise BeamtaggerError(
                f"--threshold {named[0][0]}=X names one of several models; with one --model "
                "give --threshold X")
        return (model_dir_named(values[0], written_as="--model {}") if values else None,
                thresholds[-1] if thresholds else None, ())
    models = {}
    seen = {}
    for value, (name, model_dir) in zip(values, split):
        if name is None:
            if not model_dir:
                # Named by its folder, '' would be the working directory's name.
                raise BeamtaggerError(f"--model '': give a model's folder (or NAME={BUNDLED} "
                                      "for the bundled model)")
            name = _folder_name(model_dir)
            if not _NAME.fullmatch(name):
                raise BeamtaggerError(
                    f"--model {value}: its folder's name {name!r} is no model name "
                    f"({_NAME_RULE}: it names the model's files); name it: --model "
                    f"NAME={value}")
        folded = name.casefold()
        if folded in seen:
            same = f"the name {name!r} is given twice" if seen[folded] == name else (
                f"the names {name!r} and {seen[folded]!r} differ only in case (their files "
                "would be one on a case-insensitive file system)")
            raise BeamtaggerError(f"--model: {same}; name each model: --model NAME=DIR")
        seen[folded] = name
        if not model_dir:
            raise BeamtaggerError(f"--model {value}: give the model's folder after the = "
                                  f"(or {name}={BUNDLED} for the bundled model)")
        models[name] = model_dir_named(
            model_dir, written_as="--model {}" if value == model_dir else f"--model {name}={{}}")
    chosen, unnamed = {}, None
    for value in thresholds:
        if not isinstance(value, tuple):
            unnamed = value   # refused once the models say which are flag taggers
            continue
        name, number = value
        if name not in models:
            raise BeamtaggerError(f"--threshold {name}={number:g}: no --model is named "
                                  f"{name!r} (models: {', '.join(models)})")
        chosen[name] = number
    return None, unnamed, tuple(NamedModel(name, model_dir, chosen.get(name))
                                for name, model_dir in models.items())


def model_prefix(output_prefix: str, name: str) -> str:
    """The prefix of model ``name``'s files in a run writing ``output_prefix``: the one a
    run of that model alone with ``--output PREFIX-NAME`` writes."""
    return f"{output_prefix}-{name}"


def split_model_argument(value):
    """(name, model directory) of a ``--model`` value: NAME=DIR, or (None, DIR). A value that
    is a path here is a folder, whatever it holds (``--model a=b`` for a folder ``a=b``);
    ``./a=b`` names such a folder that does not exist yet."""
    named = _NAMED.fullmatch(value)
    if named is None or os.path.lexists(value):
        return None, value
    return named.group(1), named.group(2)


def _folder_name(model_dir):
    """The base name of ``model_dir`` (a local path or a ``gs://`` URL), a final ``/`` left
    out; a local path's as made absolute, so ``.``, ``./`` and ``ner/..`` are named by the
    folder they name (normalized alone, ``.`` was named '.', refused as no name). Symbolic
    links are not followed: ``models/current``, a link to ``v3``, is named ``current``, the
    name the user gave."""
    if "://" in model_dir:
        return posixpath.basename(model_dir.rstrip("/"))
    return os.path.basename(os.path.abspath(model_dir))
