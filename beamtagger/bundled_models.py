"""The models that ship inside the package, named by what they tag: ``bundled_model("upos")``
(UD English-EWT parts of speech, the default wherever a model is left out) and
``bundled_model("ner")`` (WNUT-17 entities). Both are bound to the default store, GloVe 6B 50d
(``embeddings/default.py``). Standard library only: ``import beamtagger`` and the command
line's rule for the words ``bundled`` and ``bundled-ner`` (``pipeline/model_argument.py``) use
it without NumPy."""
import os
import pathlib
from typing import Optional

__all__ = ["BUNDLED", "BUNDLED_MODELS", "BUNDLED_NER", "COMMAND_LINE_NAMES", "bundled_model", "bundled_task_at"]

_DATA = pathlib.Path(__file__).resolve().parent / "data"

# task: (its folder, what the messages call it, what it tags as a refusal lists them)
BUNDLED_MODELS = {
    "upos": (_DATA / "upos-glove-6b-50d", "the bundled UPOS model",
             "parts of speech, trained on UD English-EWT"),
    "ner": (_DATA / "ner-wnut17-glove-6b-50d", "the bundled entity model",
            "entities, trained on WNUT-17"),
}

# The words the command line takes for them wherever it takes a model folder.
BUNDLED, BUNDLED_NER = "bundled", "bundled-ner"
COMMAND_LINE_NAMES = {BUNDLED: "upos", BUNDLED_NER: "ner"}


def bundled_model(task: str = "upos") -> pathlib.Path:
    """The folder of the bundled model for ``task``, ``"upos"`` or ``"ner"``: a model
    directory ``Tagger``, ``TagText`` and the other transforms take as ``model_dir``
    (``model_dir=None`` is the ``"upos"`` one). ValueError naming the tasks for another."""
    try:
        return BUNDLED_MODELS[task][0]
    except (KeyError, TypeError):
        tasks = "; ".join(f"{name!r}: {what}" for name, (*_, what) in BUNDLED_MODELS.items())
        raise ValueError(f"no bundled model for {task!r}; the bundled models are {tasks}") \
            from None


def bundled_task_at(path) -> Optional[str]:
    """The task of the bundled model whose folder ``path`` is (by any spelling or link to it),
    else None: what ``train --out`` must not replace."""
    for task, (folder, *_) in BUNDLED_MODELS.items():
        try:
            if os.path.samefile(path, folder):
                return task
        except OSError:   # path not there yet (the usual --out)
            continue
    return None
