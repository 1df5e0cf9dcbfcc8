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

A run of several models makes one job a model (``model_jobs_of``), each checked, pinned and
named in its refusals as a run of that model alone (``of_model``, ``pinned_launch_files``).

No Beam import here: ``model info`` imports ``tag_command``, which imports this module.
"""
import argparse
import contextlib
import dataclasses
import os
import posixpath
import re
from typing import NamedTuple, Optional, Sequence, Tuple

from beamtagger.errors import BeamtaggerError
from beamtagger.model.flag_threshold import check_threshold
from beamtagger.pipeline.model_argument import BUNDLED, model_dir_named

__all__ = ["BUNDLED", "NamedModel", "model_jobs_of", "model_prefix", "model_shown", "models_given",
           "of_model", "output_prefixes", "pinned_launch_files", "pipeline_model",
           "split_model_argument", "threshold_argument"]

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


def pipeline_model(model_dir, remote):
    """The pipeline's model for ``--model`` as given (``model_dir``): None for the bundled UPOS
    model, which workers find inside their installed package; for a remote runner, the
    bundled entity model as its ``BundledModel``, which each worker resolves to its own
    package's folder (pickled as the launching machine's site-packages path, it named a
    folder no Dataflow worker has); else the path as given. A local run reads the entity
    model's folder as any other (``launch_files`` pins it for the run). Each is known by any
    spelling the workers read (``bundled_reference``): the UPOS model's folder as a
    ``file://`` URL was ``BundledModel("upos")``, named by its path in the summary, where its
    plain path is the run with no ``--model``."""
    from beamtagger.bundled_models import BundledModel, bundled_reference

    bundled = bundled_reference(model_dir)
    if bundled is None or bundled == BundledModel("upos"):
        return None
    return bundled if remote else model_dir


def model_jobs_of(job, models, *, remote=False):
    """{None: ``job``} for a run of one model; else {name: the job of that model alone},
    writing under ``PREFIX-NAME`` (``model_prefix``), its model as ``pipeline_model`` gives it
    for ``remote``."""
    if not models:
        return {None: job}
    return {model.name: dataclasses.replace(
                job, output_prefix=model_prefix(job.output_prefix, model.name),
                model_dir=pipeline_model(model.model_dir, remote),
                threshold=None if model.threshold is None else check_threshold(
                    model.threshold, f"--threshold {model.name}")) for model in models}


def output_prefixes(output_prefix, models):
    """The prefixes a run writes under: ``output_prefix``, or each model's of several."""
    if not models:
        return [output_prefix]
    return [model_prefix(output_prefix, model.name) for model in models]


@contextlib.contextmanager
def of_model(name):
    """A refusal within, for one of several models (``name``; None: the one model), starting
    with the model's name."""
    try:
        yield
    except BeamtaggerError as error:
        if name is not None and error.args:
            error.args = (f"model {name}: {error.args[0]}", *error.args[1:])
        raise


def model_shown(model_dir):
    """How the summary names a model: the bundled ones by what they are (the entity model's
    package path beside "(the bundled model)" read as a model of the user's own)."""
    from beamtagger.bundled_models import BUNDLED_MODELS, bundled_task_at

    if model_dir is None:
        return "(the bundled model)"
    return (f"({BUNDLED_MODELS['ner'][1]})" if bundled_task_at(model_dir) == "ner"
            else model_dir)


def pinned_launch_files(held, model_jobs, remote, workers_here):
    """{name: ``launch_files.LaunchFiles``} of each model's job, kept until ``held`` closes:
    the store pinned once, with the first model, and recorded for every model.
    ``workers_here``: the run's workers are this machine's processes (not a remote runner's,
    nor a portable runner's containers)."""
    from beamtagger.pipeline import launch_files

    launched, first = {}, None
    for name, model_job in model_jobs.items():
        with of_model(name):
            files = held.enter_context(launch_files.pinned(model_job, remote,
                                                           store=first is None,
                                                           workers_here=workers_here))
        launched[name] = files if first is None else files.with_store_of(first)
        first = first or files
    return launched


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
