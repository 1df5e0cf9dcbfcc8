"""What the subcommands share, so none imports another's helpers (stores open through
``beamtagger.embeddings.default.open_store``)."""
import os

from beamtagger.corpus_readers import FORMATS as CORPUS_FORMATS
from beamtagger.errors import BeamtaggerError, InputFormatError, broken_link

FORMAT_HELP = ("corpus format: conllu (CoNLL-U, ten tab-separated columns) or conll (a "
               "token<TAB>tag line a token, as CoNLL-2003 and WNUT-17) (default: conllu)")


def read_sentences(path, corpus_format, tag_column, role):
    """The non-empty sentences of a tagged corpus; BeamtaggerError if there are none."""
    from beamtagger.corpus_readers import read_corpus

    if corpus_format not in CORPUS_FORMATS:
        raise BeamtaggerError(f"unknown corpus format {corpus_format!r}; choose one of "
                              f"{CORPUS_FORMATS}")
    if not os.path.isfile(path):
        raise BeamtaggerError(f"{role} corpus {path} does not exist{broken_link(path)}")
    kwargs = {"tag_column": tag_column} if corpus_format == "conllu" else {}
    try:
        sentences = [s for s in read_corpus(path, corpus_format, **kwargs) if s.tokens]
    except InputFormatError as error:
        raise BeamtaggerError(f"{error}{_other_format_hint(error, corpus_format)}") from None
    if not sentences:
        raise BeamtaggerError(f"{role} corpus {path} holds no sentences (empty file, or not "
                              f"{corpus_format}?)")
    return sentences


def _other_format_hint(error, corpus_format):
    """What to pass where a corpus reads as the other format: the default --format conllu
    refused a two-column file with "expected 10 tab-separated columns, found 2", which says
    nothing of --format."""
    if corpus_format == "conllu" and error.problem.endswith("columns, found 2"):
        return "; a token<TAB>tag file (two-column CoNLL) is read with --format conll"
    if corpus_format == "conll" and error.problem.startswith("expected") and \
            error.problem.endswith("found 10"):
        return "; a CoNLL-U file (ten columns) is read with --format conllu"
    return ""


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
