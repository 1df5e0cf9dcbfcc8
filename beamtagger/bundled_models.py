"""The models that ship inside the package, named by what they tag: ``bundled_model("upos")``
(UD English-EWT parts of speech, the default wherever a model is left out) and
``bundled_model("ner")`` (WNUT-17 entities). Both are bound to the default store, GloVe 6B 50d
(``embeddings/default.py``). Standard library only: ``import beamtagger`` and the command
line's rule for the words ``bundled`` and ``bundled-ner`` (``pipeline/model_argument.py``) use
it without NumPy.

A pipeline names a bundled model by its task (``BundledModel``), never by its folder: the folder
is inside the installed package, at one path on the launching machine and at another on a
Dataflow worker (its image's site-packages).
"""
import dataclasses
import os
import pathlib
from typing import Optional

__all__ = ["BUNDLED", "BUNDLED_MODELS", "BUNDLED_NER", "COMMAND_LINE_NAMES", "BundledModel",
           "bundled_model", "bundled_reference", "bundled_task_at"]

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
        except (OSError, ValueError):   # path not there yet (the usual --out), or a NUL in it
            continue
    return None


@dataclasses.dataclass(frozen=True)
class BundledModel:
    """A bundled model as a pipeline's model directory: named by its ``task``, and resolved to
    ``bundled_model(task)`` of the process that reads it (``os.fspath`` and ``str`` give that
    folder). Pickled as the task alone, so a transform built on a laptop reaches Dataflow's
    workers as "the bundled entity model", which each reads from its own installed package,
    where the laptop's site-packages path was "model directory ... does not exist" there.
    Equal by task: the record of what the pipeline was built against
    (``transforms.built_against``) names it alike on both machines."""
    task: str

    def __post_init__(self):
        bundled_model(self.task)   # ValueError naming the tasks for another

    def __fspath__(self) -> str:
        return str(bundled_model(self.task))

    __str__ = __fspath__

    @property
    def called(self) -> str:
        """What the messages call it: "the bundled entity model"."""
        return BUNDLED_MODELS[self.task][1]


def bundled_reference(model_dir):
    """``model_dir`` as a pipeline takes it: a ``BundledModel`` where it is a bundled model's
    folder (by any spelling or link to it: the word ``bundled-ner`` read by the command line,
    ``bundled_model("ner")``, the folder's absolute path, a ``file://`` URL of it or a path
    from ``~``), else ``model_dir`` unchanged."""
    if model_dir is None or isinstance(model_dir, BundledModel):
        return model_dir
    task = bundled_task_at(_as_read(model_dir))
    return model_dir if task is None else BundledModel(task)


def _as_read(model_dir):
    """``model_dir`` as the workers open it (``worker_resources.local_path``): a ``file://``
    URL's path, ``~`` expanded. Compared as written, ``file:///.../ner-wnut17-glove-6b-50d``
    on Dataflow was refused as a local path "(or leave it out for the default)", which tags
    parts of speech, where the same folder by its plain path goes to the workers by name."""
    path = os.fspath(model_dir)
    if not isinstance(path, str):
        return path
    return os.path.expanduser(path[len("file://"):] if path.startswith("file://") else path)
