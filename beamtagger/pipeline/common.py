"""What the subcommands share, so none imports another's helpers (stores open through
``beamtagger.embeddings.default.open_store``)."""
import os

from beamtagger.corpus_readers import FORMATS as CORPUS_FORMATS
from beamtagger.errors import BeamtaggerError, broken_link


def read_sentences(path, corpus_format, tag_column, role):
    """The non-empty sentences of a tagged corpus; BeamtaggerError if there are none."""
    from beamtagger.corpus_readers import read_corpus

    if corpus_format not in CORPUS_FORMATS:
        raise BeamtaggerError(f"unknown corpus format {corpus_format!r}; choose one of "
                              f"{CORPUS_FORMATS}")
    if not os.path.isfile(path):
        raise BeamtaggerError(f"{role} corpus {path} does not exist{broken_link(path)}")
    kwargs = {"tag_column": tag_column} if corpus_format == "conllu" else {}
    sentences = [s for s in read_corpus(path, corpus_format, **kwargs) if s.tokens]
    if not sentences:
        raise BeamtaggerError(f"{role} corpus {path} holds no sentences (empty file, or not "
                              f"{corpus_format}?)")
    return sentences



def require_tensorflow(command):
    """BeamtaggerError where TensorFlow is not installed: ``train`` and ``evaluate`` run the
    Keras model, whose import without it was a traceback after the corpora had been read (an
    install without the ``cpu`` or ``gpu`` extra, which ``tag --runtime numpy`` or ``jax`` can
    be)."""
    from beamtagger.model import runtimes

    if not runtimes.is_installed("tensorflow"):
        raise BeamtaggerError(f"{command} runs the model with TensorFlow, which is not installed "
                              "here: install beamtagger[cpu] (or [gpu])")


def human_size(size):
    """Bytes as ``812 B``, ``2.0 KiB``, ``76.3 MiB``, ``1.2 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{size} B"
        size /= 1024
