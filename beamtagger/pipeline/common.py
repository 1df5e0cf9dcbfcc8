"""What the subcommands share, so none imports another's helpers (stores open through
``beamtagger.embeddings.default.open_store``)."""
import dataclasses
import glob
import os
import sys

from beamtagger.corpus_readers import FORMATS as CORPUS_FORMATS
from beamtagger.errors import (BeamtaggerError, InputFormatError, broken_link,
                               line_breaks_escaped)
from beamtagger.pipeline import folder_access
from beamtagger.runtime_choice import COMPRESSED_SUFFIXES
from beamtagger.tagging_defaults import CHUNK

FORMAT_CHOICES = ("auto",) + CORPUS_FORMATS
FORMAT_HELP = ("corpus format: conllu (CoNLL-U, ten tab-separated columns), conll (a "
               "token<TAB>tag line a token, as CoNLL-2003 and WNUT-17) or spans (JSON Lines of "
               "texts and their entities' character spans, as Doccano, Prodigy and Label "
               "Studio's JSON-MIN export them; cut into tokens as tag cuts text, BIO-tagged); "
               "auto: from each file's extension (.conllu; .conll, .iob, .bio; .jsonl), else "
               "from its first line (a JSON object with text and spans: spans) or sentence "
               "(ten tab-separated columns: conllu; two or more: conll); a file whose content "
               "is another format than its extension says is refused")


@dataclasses.dataclass(frozen=True)
class FormatChoice:
    """The format a corpus is read as, and what chose it.

    Args:
      format: "conllu", "conll", "spans" (or, for embeddings coverage, "text" or "jsonl").
      chosen_by: "--format", "extension" or "content".
      evidence: for "content", the line that decided ("10 tab-separated columns at line 3").
    """
    format: str
    chosen_by: str
    evidence: str = ""

    @property
    def reason(self):
        if self.chosen_by == "--format":
            return "--format"
        if self.chosen_by == "extension":
            return "from its extension"
        return f"from its content: {self.evidence}" if self.evidence else "from its content"

    def announce(self, command, path, log=print):
        """Says once which format ``--format auto`` chose for ``path`` (as ``tag`` says its
        runtime); a format the user gave goes unsaid."""
        if self.chosen_by != "--format":
            # One line, whatever the file's name holds (a line break cut it in two).
            log(line_breaks_escaped(f"{command}: reading {path} as {self.format} "
                                    f"({self.reason})"))


def check_corpus_exists(path, role):
    """BeamtaggerError unless ``path`` is a file (a broken link named as one)."""
    if os.path.isfile(path):
        return
    # --train takes several files, so "give one of its files" sent a user with a folder of
    # exports to pick one of them.
    several = role == "training"
    if os.path.isdir(path):
        raise BeamtaggerError(f"{role} corpus {path} is a folder: give "
                              + ("its files (--train reads several as one)" if several
                                 else "one of its files"))
    if os.path.exists(path):
        # A pipe's lines would be used up by the look at its first sentence (--format auto)
        # and by a first pass, and the tagger's vocabulary needs the whole corpus first.
        raise BeamtaggerError(f"{role} corpus {path} is not a regular file (a pipe, a device or "
                              "a socket), and a corpus is read from its start more than once: "
                              "write it to a file first")
    # In a folder this user may not search, isfile and exists are False: "does not exist".
    problem = folder_access.refusal(path)
    if problem:
        raise BeamtaggerError(f"{role} corpus {path}: {problem}")
    if glob.has_magic(path) and glob.glob(path):
        # tag --input and embeddings coverage take quoted patterns; train and evaluate take the
        # files the shell lists, and called a quoted one that matches files missing.
        raise BeamtaggerError(
            f"{role} corpus {path} is a pattern, which is read as a file name here: "
            + ("leave it unquoted, so that the shell gives --train its files (read as one)"
               if several else "give one of the files it matches"))
    raise BeamtaggerError(f"{role} corpus {path} does not exist{broken_link(path)}")


def choose_corpus_format(path, chosen, role, text_allowed=False,
                         text_field="text") -> FormatChoice:
    """The format ``path`` is read as: ``chosen`` unless it is "auto"; else the one its
    extension names (``corpus_readers.CORPUS_EXTENSIONS``), else spans where its first line
    starts a JSON object of a text and its spans (``span_corpus.first_span_record_line``),
    else the one its first sentence reads as (``sniff_corpus_format``; text only where
    ``text_allowed``).

    With ``text_allowed`` (embeddings coverage, which measures texts, not tags) a .jsonl file,
    or one whose first line is a JSON object with a ``text_field``, is jsonl, spans or not:
    its records' texts are what tag tags. BeamtaggerError for a missing file, a compressed one
    (the readers read plain files), a first sentence of another format than the extension
    says, or one that reads as none."""
    from beamtagger.corpus_readers import (contradicted_format, corpus_format_of_name,
                                           first_sentence_lines, sniff_corpus_format)
    from beamtagger.span_corpus import (SPAN_FIELDS, first_span_record_line,
                                        first_text_record_line)

    if chosen != "auto":
        return FormatChoice(chosen, "--format")
    check_corpus_exists(path, role)
    suffix = next((suffix for suffix in COMPRESSED_SUFFIXES if path.lower().endswith(suffix)),
                  None)
    if suffix is not None:
        raise BeamtaggerError(f"{role} corpus {path} is compressed ({suffix}), and corpora are "
                              "read as plain files: decompress it first")
    lines = first_sentence_lines(path)
    named = corpus_format_of_name(path)
    span_line = first_span_record_line(path)
    if named in ("conllu", "conll") and span_line is not None:
        raise BeamtaggerError(
            f"{role} corpus {path}: its extension says {named}, but line {span_line} is a "
            "JSON object of a text and its spans, as spans files hold: rename it (.jsonl), or "
            "give --format spans")
    if text_allowed:
        if named == "spans":
            return FormatChoice("jsonl", "extension")
        text_line = first_text_record_line(path, text_field) if named is None else None
        if text_line is not None:
            return FormatChoice("jsonl", "content", f"a JSON object with a {text_field!r} "
                                f"field at line {text_line}")
    if named == "spans":   # a .jsonl file of anything else: the reader names its first line
        return FormatChoice(named, "extension")
    if span_line is not None:
        return FormatChoice("spans", "content",
                            f"a JSON object of a text and its spans at line {span_line}")
    text_line = first_text_record_line(path) if named is None else None
    if text_line is not None:
        # Its first sentence reads as conll: '{"text": "Paris"}' is two space-separated columns.
        raise BeamtaggerError(
            f"{role} corpus {path}: line {text_line} is a JSON object with a text but none of "
            f"the span fields ({', '.join(SPAN_FIELDS)}), as tag's input is: a spans file "
            "gives each text's entities (\"label\": [] for a text without any)")
    if named is not None:
        other = contradicted_format(named, lines)
        if other is not None:
            sniffed = sniff_corpus_format(lines)
            raise BeamtaggerError(
                f"{role} corpus {path}: its extension says {named}, but its first sentence "
                f"holds {other.describe()}, as {sniffed} does: rename it, or give --format "
                f"{sniffed}")
        return FormatChoice(named, "extension")
    if not lines:
        raise BeamtaggerError(f"{role} corpus {path} holds no sentences (empty file, or "
                              "only blank lines and comments in its first MiB)")
    sniffed = sniff_corpus_format(lines, text_allowed=text_allowed)
    if sniffed is None:
        raise BeamtaggerError(
            f"{role} corpus {path}: cannot tell its format from its name, its first line or "
            f"its first sentence ({lines[0].describe()}; conllu has 10 tab-separated columns, "
            "conll two or more, spans a JSON object of a text and its spans a line): give "
            "--format conllu, conll or spans")
    evidence = "lines of running text" if sniffed == "text" else lines[0].describe()
    return FormatChoice(sniffed, "content", evidence)


def read_sentences(path, corpus_format, tag_column, role, span_stats=None,
                   warn=lambda line: print(line, file=sys.stderr), may_be_empty=False, *,
                   entities_as_bio=True, read_as_bio=None,
                   tags_used_as="the tags the model learns, tags and is scored on"):
    """The non-empty sentences of a tagged corpus; BeamtaggerError if there are none, unless
    ``may_be_empty`` (one file of several, whose whole the caller checks).

    IOB1, IO, BIOES (IOBES) or BILOU entity tags are read as BIO (``tag_schemes``) unless
    ``entities_as_bio`` is False: a flag tagger's ``--binary-label`` patterns match the tags as
    the file writes them, and its sigmoid head has no entity decoding for BIO to serve.
    ``read_as_bio``: a list, given ``(scheme name, path)`` where its tags were rewritten so.
    ``tags_used_as`` ends the note saying so: what the tags read become (an ``--aux-column``'s
    are learnt by the auxiliary task, never tagged or scored).

    A spans corpus's counts go to ``span_stats`` (a ``span_corpus.SpanReadStats``) where one
    is given, and what reading it changed or left out is said through ``warn`` (stderr, where
    ``evaluate --json`` keeps stdout for its one object)."""
    from beamtagger.corpus_readers import read_corpus
    from beamtagger.span_corpus import SpanReadStats

    if corpus_format not in CORPUS_FORMATS:
        raise BeamtaggerError(f"unknown corpus format {corpus_format!r}; choose one of "
                              f"{CORPUS_FORMATS}")
    check_corpus_exists(path, role)
    kwargs = {"tag_column": tag_column} if corpus_format == "conllu" else {}
    if corpus_format == "spans":
        span_stats = kwargs["stats"] = span_stats if span_stats is not None else SpanReadStats()
    try:
        sentences = [s for s in read_corpus(path, corpus_format, **kwargs) if s.tokens]
    except InputFormatError as error:
        hint = (_other_format_hint(error, corpus_format)
                or _format_auto_would_read(path, corpus_format, role))
        raise BeamtaggerError(f"{error}{hint}") from None
    if corpus_format == "spans":
        _say_what_spans_reading_did(span_stats, role, path, warn)
    if entities_as_bio:
        sentences = _entity_tags_read_as_bio(sentences, role, path, warn, read_as_bio,
                                             tags_used_as)
    if not sentences and not may_be_empty:
        raise BeamtaggerError(f"{role} corpus {path} holds no sentences (empty file, or not "
                              f"{corpus_format}?)")
    return sentences


def _entity_tags_read_as_bio(sentences, role, path, warn, read_as_bio, tags_used_as):
    """IOB1, IO, BIOES or BILOU entity tags rewritten to BIO, said on stderr (tag_schemes: the
    model's BIO decoding could not begin an entity where IOB1 does, and other schemes trained
    as plain tags); any other corpus as it is."""
    from beamtagger import tag_schemes

    scheme = tag_schemes.entity_scheme(sentences)
    if scheme is None:
        return sentences
    warn(f"note: {role} corpus {path}: {scheme.describe()}, {tags_used_as}")
    if read_as_bio is not None:
        read_as_bio.append((scheme.name, path))
    return tag_schemes.as_bio(sentences)


def _say_what_spans_reading_did(stats, role, path, warn):
    if stats.snapped_spans:
        warn(f"warning: {role} corpus {path}: {stats.describe_snapped()}")
    if stats.not_accepted:
        warn(f"note: {role} corpus {path}: {_lines(stats.not_accepted)} whose Prodigy answer "
             f"is reject or ignore {_were(stats.not_accepted)} left out")
    if stats.empty_texts:
        warn(f"note: {role} corpus {path}: {_lines(stats.empty_texts)} with an empty text and "
             f"no spans {_were(stats.empty_texts)} left out")
    if stats.repeated_texts:
        one = stats.repeated_texts == 1
        warn(f"note: {role} corpus {path}: {_lines(stats.repeated_texts)} "
             f"{'repeats' if one else 'repeat'} the text of an earlier line (an export of "
             f"several annotators or rounds?), read as often as given")
    if stats.split_documents:
        warn(f"note: {role} corpus {path}: {stats.split_documents:,} texts longer than "
             f"{CHUNK} tokens (the chunk tag tags at once) were read as {CHUNK}-token pieces "
             "or shorter, cut at a sentence's end where one is near, never inside an entity")


def _lines(count):
    return f"{count:,} line" + ("" if count == 1 else "s")


def _were(count):
    return "was" if count == 1 else "were"


def _other_format_hint(error, corpus_format):
    """What to pass where a corpus reads as the other format: --format conllu (the default
    before auto) refused a two-column file with "expected 10 tab-separated columns, found 2",
    which says nothing of --format."""
    if corpus_format == "conllu" and error.problem.endswith("columns, found 2"):
        return "; a token<TAB>tag file (two-column CoNLL) is read with --format conll"
    if corpus_format == "conll" and error.problem.startswith("expected") and \
            error.problem.endswith("found 10"):
        return "; a CoNLL-U file (ten columns) is read with --format conllu"
    return ""


def _format_auto_would_read(path, corpus_format, role):
    """``"; it reads as spans (from its extension): give --format spans"`` where --format named
    another format than ``--format auto`` finds: a spans .jsonl given --format conll was
    "expected 2 columns ..., found 32", which named neither the file's format nor the flag."""
    try:
        choice = choose_corpus_format(path, "auto", role)
    except BeamtaggerError:
        return ""
    if choice.format == corpus_format:
        return ""
    return (f"; it reads as {choice.format} ({choice.reason}): give --format {choice.format} "
            "(or leave --format out)")


def require_tensorflow(command):
    """BeamtaggerError where TensorFlow is not installed: ``train`` and ``evaluate`` run the
    Keras model, whose import without it was a traceback after the corpora had been read (an
    install without the ``cpu`` or ``gpu`` extra, which ``tag --runtime numpy`` or ``jax`` can
    be)."""
    from beamtagger.model import runtimes

    if not runtimes.is_installed("tensorflow"):
        raise BeamtaggerError(f"{command} runs the model with TensorFlow, which is not installed "
                              "here: install beamtagger[cpu] (or [gpu])")
    # Under `ulimit -v` TensorFlow's import aborted the process or raised a bare MemoryError.
    try:
        runtimes.check_address_space("tensorflow", instead=None)
    except BeamtaggerError as error:
        raise BeamtaggerError(f"{command} runs the model with TensorFlow: {error}") from None


def human_size(size):
    """Bytes as ``812 B``, ``2.0 KiB``, ``76.3 MiB``, ``1.2 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{size} B"
        size /= 1024
