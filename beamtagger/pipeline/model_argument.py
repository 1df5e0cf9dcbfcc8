"""The model a command-line argument names: a folder, or ``bundled`` for the bundled model, in
every command that takes one (``tag --model``, ``evaluate --model`` and ``--seen-entities-of``,
``model info``, ``model set-threshold``, ``train --init-from``). One rule, so the word means
one thing wherever a user types it: only some of these took it, and the others refused it as
"model directory bundled does not exist".

The library (``Tagger``, ``TagText``) takes paths, None for the bundled model; the word is the
command line's only. Nothing heavy is imported at module level: ``tag_models``, imported
without Beam by ``model info``, uses this module.
"""
import os
from typing import Optional

from beamtagger.errors import BeamtaggerError

__all__ = ["BUNDLED", "model_dir_named"]

# The bundled model has no folder a user would name: its own is inside the installed package.
BUNDLED = "bundled"


def model_dir_named(given: str, *, written_as: str) -> Optional[str]:
    """None (the bundled model) where ``given`` is ``bundled``, else ``given``, a folder as
    written (local or a URL; ``./bundled`` names a folder of that name).

    BeamtaggerError where ``given`` is ``bundled`` and a file or folder of that name is in the
    working directory: taking either silently gives the tags of a model the user may not have
    meant. ``written_as`` is how the argument is written, ``{}`` standing for the model
    (``"--model upos={}"``, ``"model info {}"``): the refusal names it and its two unambiguous
    spellings."""
    if given != BUNDLED:
        return given
    if os.path.lexists(BUNDLED):
        # Imported here: tagger_spec imports numpy, which a refusal of --model NAME=DIR needs not.
        from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR

        raise BeamtaggerError(
            f"{written_as.format(given)} is ambiguous here: it names the bundled model, and "
            f"{os.path.abspath(BUNDLED)} is here too; write {written_as.format('./' + BUNDLED)} "
            f"for that folder, or {written_as.format(DEFAULT_MODEL_DIR)} for the bundled model")
    return None
