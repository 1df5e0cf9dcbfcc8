"""The model a command-line argument names: a folder, or a word for a bundled model
(``bundled``: the UPOS model, ``bundled-ner``: the entity model), in every command that takes
one (``tag --model`` and ``--model NAME=``, ``evaluate --model`` and ``--seen-entities-of``,
``model info``, ``model set-threshold``, ``train --init-from``). One rule, so each word means
one thing wherever a user types it: only some of these took ``bundled``, and the others refused
it as "model directory bundled does not exist".

The library (``Tagger``, ``TagText``) takes paths, None for the bundled UPOS model and
``beamtagger.bundled_model("ner")`` for the entity model; the words are the command line's
only. Nothing heavy is imported at module level: ``tag_models``, imported without Beam by
``model info``, uses this module.
"""
import os
from typing import Optional

# The bundled models have no folder a user would name: theirs are inside the installed package,
# named by these words (bundled_models).
from beamtagger.bundled_models import (BUNDLED, BUNDLED_MODELS, BUNDLED_NER, COMMAND_LINE_NAMES,
                                       bundled_model)
from beamtagger.errors import BeamtaggerError

__all__ = ["BUNDLED", "BUNDLED_NER", "is_bundled", "model_dir_named"]


def is_bundled(given: str) -> bool:
    """Whether ``given`` is one of the words for a bundled model."""
    return given in COMMAND_LINE_NAMES


def model_dir_named(given: str, *, written_as: str) -> Optional[str]:
    """None (the bundled UPOS model) where ``given`` is ``bundled``, the bundled entity model's
    folder where it is ``bundled-ner``, else ``given``, a folder as written (local or a URL;
    ``./bundled`` names a folder of that name).

    BeamtaggerError where ``given`` is one of the words and a file or folder of that name is in
    the working directory: taking either silently gives the tags of a model the user may not
    have meant. ``written_as`` is how the argument is written, ``{}`` standing for the model
    (``"--model upos={}"``, ``"model info {}"``): the refusal names it and its two unambiguous
    spellings."""
    if given == "":
        # Read as a path, '' is the working directory ("'.' is not a tagger model"), and
        # where the caller took '' for "left out", the bundled model, tagging with a model the
        # user did not name.
        raise BeamtaggerError(
            f"{written_as.format(repr(given))}: give a model's folder, or "
            f"{' or '.join(COMMAND_LINE_NAMES)} for a bundled model")
    task = COMMAND_LINE_NAMES.get(given)
    if task is None:
        return given
    folder, called, _ = BUNDLED_MODELS[task]
    if os.path.lexists(given):
        # Named as what it is: "that folder" sent a user with a stray file of that name
        # looking for a folder.
        what = ("link" if os.path.islink(given) else "folder" if os.path.isdir(given)
                else "file")
        raise BeamtaggerError(
            f"{written_as.format(given)} is ambiguous here: it names {called}, and "
            f"{os.path.abspath(given)} is here too; write {written_as.format('./' + given)} "
            f"for that {what}, or {written_as.format(folder)} for {called}")
    return None if task == "upos" else str(bundled_model(task))
