"""Tagger: tag text in this Python process, without a pipeline.

``Tagger("models/ner").tag("Beam tags this.")`` gives a ``TaggedRecord``; ``tag_many`` tags an
iterable of texts or records, lazily, in order. It is for trying a model on a sentence, a
notebook, a script, your own unit tests, a small service: text you hold in memory. A collection
of files goes through ``TagText`` or ``beamtagger tag``, which tag one batch while the next is
tokenized and read, write every result and dead-letter the records they cannot tag.

It is a thin layer over what ``TaggerModelHandler``, Beam's ``RunInference`` model handler,
runs, taken from ``beamtagger/tagging/`` without Beam: ``loaded_tagger`` checks the model and
its store with ``TagText``'s messages, and ``RecordTagger.tagged_records`` tokenizes a group of
records at once, cuts records longer than ``chunk`` tokens into overlapping chunks, sorts them
into the model's length buckets under ``max_batch_tokens``, runs the runtime and stitches the
chunks: the code paths ``TagText`` and ``RunInference`` take, so the labels are theirs. Apache
Beam is not imported (nor TensorFlow, with the NumPy runtime), except by a model or store on
``gs://``, which Beam's file systems stage; a fresh process's start-up to its first tagged
sentence is BENCHMARKS.md's (``bench/inprocess_bench.py``). ``import beamtagger`` imports
none of this (``Tagger`` is imported from here on first use).
"""
import copy
import threading
from collections.abc import Mapping
from typing import Iterable, Iterator, Optional, Union

from beamtagger.cloud_access import cloud_storage_problem
from beamtagger.errors import BeamtaggerError
from beamtagger.model import runtimes
from beamtagger.model.flag_threshold import threshold_option
from beamtagger.runtime_choice import choose_runtime, installed_runtimes
from beamtagger.tagging.loaded_tagger import loaded_tagger
from beamtagger.tagging.record_checks import (check_max_record_chars, check_tokenized,
                                              checked_record)
from beamtagger.tagging.record_tagger import RecordTagger
from beamtagger.tagging_defaults import (CHUNK, MAX_BATCH_TOKENS, MAX_RECORD_CHARS, OVERLAP,
                                         check_flag, check_runtime, check_whole_number,
                                         path_option)
from beamtagger.transforms import worker_resources
from beamtagger.transforms.records import DeadLetter, TaggedRecord, TextRecord, TokenizedRecord

__all__ = ["BATCH_CHARS", "ERRORS", "Tagger"]

# Characters of text tag_many tags at once. EWT dev's text x20 (502,560 tokens, bundled model,
# NumPy, 2 rounds on the 2-core machine, 2026-12-06): 256 Ki characters held 40-56 MiB more
# than the loaded tagger at its peak and ran 1.01x and 0.93x the tokens a second of 1 Mi
# (+128 MiB); 64 Ki held 29 MiB and ran 0.94x and 0.81x.
BATCH_CHARS = 1 << 18

# What tag_many does with a record it cannot tag: stop there, or give its DeadLetter in its
# place, as TagText's errors output would (a DataFrame column with a missing value keeps its
# other rows' results, in their rows).
ERRORS = ("raise", "dead_letter")

Record = Union[str, TextRecord, TokenizedRecord]


class Tagger:
    """A loaded tagger: ``tag`` one text, ``tag_many`` an iterable of them.

    Loading reads the model and maps its store, so a wrong path, a folder that is not a model
    or a store the model cannot read is a ``BeamtaggerError`` here, before anything is tagged.

    Thread safety: ``tag`` and ``tag_many`` may be called from several threads at once. The
    model and the store are shared (read only); each thread tokenizes with a tokenizer of its
    own (the tokenizer's caches are not for sharing) and builds its batches through its own
    token tables, as ``RunInference`` threads sharing one model do. They share one GIL: on EWT
    dev's sentences, 2 or 4 threads tagged no more a second than one (about 1,000, p50 0.8
    ms; BENCHMARKS.md, "One sentence a call"); more, from processes of their own.

    Pickling: a Tagger is pickled as its arguments and loads its model again where it is
    unpickled (another process).

    Memory: the model, the store's mapping (its pages as they are read) and, while
    ``tag_many`` runs, one group of about ``batch_chars`` characters of text with its results
    (``BATCH_CHARS``: 40-56 MiB at the peak on EWT's text); each thread that tags, its
    tokenizer and token tables (about 10 MiB each on EWT dev's text, bounded). Taggers of one
    model and store alive at once share its loaded model and mapping, so one made per request
    by mistake costs time (0.18 s where none other is held), not memory (BENCHMARKS.md).

    Args:
      model_dir: the tagger's model directory (None: the bundled model).
      store_path: its embedding store (None: the default store, imported on first use).
      runtime: "numpy", "tensorflow" or "jax" (``model/runtimes.py``). None (the default):
        what ``beamtagger tag`` picks for a small input, "numpy": ready in a tenth of a
        second with no TensorFlow import (BENCHMARKS.md, "Which runtime for which input
        size"). A runtime that is not installed here is a ``BeamtaggerError`` saying what to
        install.
      max_batch_tokens: padded slots (batch size x padded length) of one model call.
      chunk: records longer than this many tokens are tagged in overlapping chunks and
        stitched back together, as ``TagText`` does.
      overlap: tokens shared by neighbouring chunks.
      max_record_chars: a record of more characters is refused (``BeamtaggerError`` naming it),
        where ``TagText`` makes it a dead letter: held whole it takes about 0.8 kB a token.
      vector_dtype: "float32" or "float16" vectors fed to the model.
      allow_other_embeddings: accept a store whose fingerprint differs from the model's.
      threshold: a yes/no flag tagger's (``train --binary-label``): a token is positive where
        its probability is at least this, instead of the model's own threshold; the model's
        files are left as they are. None (the default): the model's own. ValueError (a
        ``BeamtaggerError``) here for a number outside 0..1 or a model that is no flag tagger.
    """

    def __init__(self, model_dir: Optional[str] = None, store_path: Optional[str] = None, *,
                 runtime: Optional[str] = None, max_batch_tokens: int = MAX_BATCH_TOKENS,
                 chunk: int = CHUNK, overlap: int = OVERLAP,
                 max_record_chars: int = MAX_RECORD_CHARS, vector_dtype: str = "float32",
                 allow_other_embeddings: bool = False, threshold: Optional[float] = None):
        if runtime is None:
            # Text held in memory is a small input: the choice `beamtagger tag` makes for one.
            runtime = choose_runtime(0, installed_runtimes(remote=False)).runtime
        elif not runtimes.is_installed(runtimes.get(runtime).name):
            raise BeamtaggerError(runtimes.get(runtime).missing)
        self.max_record_chars = check_max_record_chars(max_record_chars)
        # Checks the other options as TaggerModelHandler does, with its messages; never tags
        # itself: each thread tags with a copy of it (_thread_record_tagger).
        self._record_tagger = RecordTagger(max_batch_tokens=max_batch_tokens, chunk=chunk,
                                           overlap=overlap, vector_dtype=vector_dtype)
        check_flag("allow_other_embeddings", allow_other_embeddings)
        self._model_dir = path_option("model_dir", model_dir)
        self._store_path = path_option("store_path", store_path)
        self._runtime = check_runtime(runtime)
        # Beam's client, staging a gs:// model or store, retried for 120 s on a machine with no
        # network and ended in a BeamIOError (RetryError); TagText probes the network the same
        # way where it is applied. Credentials are left out: a public bucket is read anonymously.
        problem = cloud_storage_problem((self._model_dir, self._store_path), anonymous=True,
                                        reader="Tagger reads")
        if problem:
            raise BeamtaggerError(problem)
        worker_resources.check_where_built(self._model_dir, self._store_path,
                                           allow_other_embeddings)
        threshold = threshold_option(threshold, self._model_dir)
        self._arguments = {"model_dir": model_dir, "store_path": store_path,
                           "max_record_chars": max_record_chars, "runtime": runtime,
                           "max_batch_tokens": max_batch_tokens, "chunk": chunk,
                           "overlap": overlap, "vector_dtype": vector_dtype,
                           "allow_other_embeddings": allow_other_embeddings,
                           "threshold": threshold}
        store = worker_resources.open_store(self._store_path)
        # Held while the Tagger lives, as a RunInference handler holds the model it serves: a
        # remote model's staged copy stays.
        self._model_use = worker_resources.use_model_dir(self._model_dir)
        self._model = loaded_tagger(self._model_use.directory, store, self._runtime,
                                    model_dir=self._model_dir, vector_dtype=vector_dtype,
                                    allow_other_embeddings=allow_other_embeddings,
                                    threshold=threshold)
        self._per_thread = threading.local()

    @property
    def model_dir(self) -> Optional[str]:
        return self._model_dir

    @property
    def store_path(self) -> Optional[str]:
        return self._store_path

    @property
    def runtime(self) -> str:
        return self._runtime

    @property
    def labels(self):
        """The model's labels, as a tuple."""
        return self._model.labels()

    @property
    def threshold(self) -> Optional[float]:
        """The threshold a flag tagger tags at: the one given, else the model's own; None for
        a tagger that is not a flag tagger."""
        return self._model.threshold()

    def __reduce__(self):
        # Pickled as its arguments and loaded again where it is unpickled (another process,
        # a Beam worker): the loaded model, the store's mapping and the threads' tokenizers
        # belong to this process.
        return _loaded_tagger, (self._arguments,)

    def __repr__(self):
        return (f"Tagger(model_dir={self.model_dir!r}, store_path={self.store_path!r}, "
                f"runtime={self.runtime!r})")

    def tag(self, record: Record) -> TaggedRecord:
        """The TaggedRecord of one text (its id ""), ``TextRecord`` or ``TokenizedRecord``
        (pre-tokenized: tagged as its tokens, not tokenized again). A text with no tokens
        gives a record with none, as ``TagText`` gives.

        Raises:
          TypeError: ``record`` is none of those.
          BeamtaggerError: a record ``TagText`` would dead-letter (over ``max_record_chars``,
            an id that is not a string, tokens and offsets that do not line up, a lone
            surrogate), naming it.
        """
        (tagged,) = self._tagged([self._checked(record, "Tagger.tag's record")])
        return tagged

    def tag_many(self, records: Iterable[Record], *, batch_chars: int = BATCH_CHARS,
                 errors: str = "raise") -> Iterator[Union[TaggedRecord, DeadLetter]]:
        """The TaggedRecord of each of ``records`` (as ``tag`` takes them), lazily and in
        input order.

        Records are read from ``records`` in groups of about ``batch_chars`` characters
        (a longer record is a group of its own), and each group is tagged at once, sorted
        into the model's length buckets: an unbounded iterable is tagged in bounded memory,
        and a group's results come once the group is tagged.

        Raises (at once): TypeError where ``records`` is one str, a dict or a DataFrame,
        whose elements would be its characters, keys or columns, not texts.

        ``errors``: "raise" (the default) stops at the first record that cannot be tagged, as
        below. "dead_letter" gives that record's ``DeadLetter`` in its place (``reason``: the
        message "raise" would give; ``source``: the record's id or source, else "record N",
        its position; ``stage``: "tokenize") and goes on, so there is one result a record
        still: ``isinstance(result, TaggedRecord)`` tells them apart.

        Raises (when the iteration reaches the record, after the results of every record
        before it; with ``errors="raise"``):
          TypeError: an element is no str, TextRecord or TokenizedRecord, naming its position
            (None, NaN and pandas' NA: a missing value, saying what to do).
          BeamtaggerError: a record ``TagText`` would dead-letter, naming its position and id.
        """
        # True passed as 1: a group a record.
        check_whole_number("batch_chars", batch_chars, 1)
        if errors not in ERRORS:
            raise ValueError(f"errors must be one of {', '.join(map(repr, ERRORS))}, not "
                             f"{errors!r}")
        _check_not_one_whole(records)
        return self._tagged_groups(records, batch_chars, errors == "dead_letter")

    def _tagged_groups(self, records, batch_chars, dead_letters):
        # A group holds records to tag and, with dead_letters, the DeadLetters of those that
        # cannot be, in input order: they stay in the group, so a column with many missing
        # values is still tagged in whole groups.
        group, chars = [], 0
        for position, element in enumerate(records):
            if dead_letters:
                record = self._record_or_dead_letter(element)
                if isinstance(record, DeadLetter):
                    record = _placed(record, element, position)
            else:
                try:
                    record = self._checked(element, f"Tagger.tag_many's record {position}")
                except (TypeError, BeamtaggerError):
                    # The records before it keep their results, not only the groups before it.
                    yield from self._group_results(group)
                    raise
            group.append(record)
            chars += _characters(record)
            if chars >= batch_chars:
                yield from self._group_results(group)
                group, chars = [], 0
        yield from self._group_results(group)

    def _group_results(self, group):
        to_tag = [record for record in group if not isinstance(record, DeadLetter)]
        tagged = iter(self._tagged(to_tag) if to_tag else ())
        return [record if isinstance(record, DeadLetter) else next(tagged) for record in group]

    def _checked(self, element, where):
        """``element`` as a TextRecord or TokenizedRecord that ``TagText`` would tag; else
        TypeError, or BeamtaggerError with the reason its dead letter would give."""
        checked = self._record_or_dead_letter(element)
        if not isinstance(checked, DeadLetter):
            return checked
        if isinstance(element, (str, TextRecord, TokenizedRecord)):
            raise BeamtaggerError(f"{where} (id {getattr(element, 'id', '')!r}) cannot be "
                                  f"tagged: {checked.reason}")
        raise TypeError(f"{where} is {_not_a_record(element)}")

    def _record_or_dead_letter(self, element):
        """``element`` as a record to tag, or the DeadLetter (stage tokenize) of why not:
        ``checked_record``'s, as ``TagText`` would give, or one of the checks only ``Tagger``
        needs (a lone surrogate, tokens and offsets, an element that is no record)."""
        if isinstance(element, str):
            # Checked as a record is: a text over max_record_chars was tagged whole.
            element = TextRecord("", element)
        elif not isinstance(element, (TextRecord, TokenizedRecord)):
            return DeadLetter("", f"the element is {_not_a_record(element)}",
                              repr(element)[:200], "tokenize")
        refused = checked_record(element, self.max_record_chars, in_process=True)
        if not isinstance(refused, DeadLetter):
            try:
                if isinstance(element, TokenizedRecord):
                    check_tokenized(element)
                _check_surrogates(element)
            except (TypeError, ValueError) as error:
                refused = DeadLetter(element.key, str(error), "", "tokenize")
        return refused

    def _tagged(self, records):
        return self._thread_record_tagger().tagged_records(records, self._model, self._runtime)

    def _thread_record_tagger(self):
        """This thread's copy of the RecordTagger: its own tokenizer and token vocabulary, the
        loaded model shared."""
        record_tagger = getattr(self._per_thread, "record_tagger", None)
        if record_tagger is None:
            record_tagger = self._per_thread.record_tagger = copy.copy(self._record_tagger)
        return record_tagger


def _check_not_one_whole(records):
    """TypeError for an iterable whose elements are not the texts it holds: a DataFrame
    iterates over its column names, a str over its characters, a dict over its keys, and each
    of those is a str, so they were tagged without a word (a DataFrame of 6 columns gave 6
    records, one its text column's name)."""
    if isinstance(records, str):
        raise TypeError("Tagger.tag_many's records are one str, whose elements are its "
                        "characters: tag one text with tag(text), or give a list of texts")
    if isinstance(records, Mapping):
        raise TypeError(f"Tagger.tag_many's records are a {type(records).__name__}, whose "
                        "elements are its keys: give its texts, d.values(), or TextRecords "
                        "keeping the keys, [TextRecord(key, text) for key, text in d.items()]")
    if hasattr(records, "columns") and hasattr(records, "__getitem__"):
        raise TypeError(f"Tagger.tag_many's records are a {type(records).__name__}, whose "
                        "elements are its columns (a pandas DataFrame's are their names), "
                        "not its rows: give its text column, tag_many(df[\"body\"])")


def _check_surrogates(record):
    """ValueError for a lone surrogate in a record's text: found later, while its group is
    looked up (``TokenInputs``), it failed the whole group with neither its position nor its
    id, where TagText makes the record a dead letter."""
    # A TokenizedRecord's characters counted as its tokens one space apart, as from_tokens does.
    text = record.text if isinstance(record, TextRecord) else " ".join(record.tokens)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"its text holds a lone surrogate (\\u{ord(text[error.start]):04x}) "
                         f"at character {error.start:,}, which no UTF-8 output can hold") from None


def _is_missing(element):
    """None, a float NaN, or pandas' NA or NaT: what a DataFrame's text column holds where a
    row has no text (read as the type it is, "float" said nothing of a missing value)."""
    if element is None or (isinstance(element, float) and element != element):
        return True
    # pandas' own missing values, known by their types' names: no pandas import here.
    return type(element).__name__ in ("NAType", "NaTType")


def _not_a_record(element):
    """What an element that is no str, TextRecord or TokenizedRecord is, and for a missing
    value what to do: NaN read as "of type float" said nothing of one."""
    if _is_missing(element):
        return (f"{element!r}, a missing value, not a text: leave it out (series.dropna()), "
                "give \"\" to tag nothing (series.fillna(\"\")), or pass "
                "errors=\"dead_letter\" to tag_many to get a DeadLetter in its place")
    return f"of type {type(element).__name__}, not a str, TextRecord or TokenizedRecord"


def _placed(dead_letter, element, position):
    """The DeadLetter with the source that finds its element again: the record's id or
    source, else its position in tag_many's records; and the record's text as it was."""
    source = dead_letter.source or f"record {position}"
    text = element if isinstance(element, str) else dead_letter.record
    if not text and isinstance(element, TextRecord) and isinstance(element.text, str):
        text = element.text
    return dead_letter._replace(source=source, record=text)


def _characters(record):
    if isinstance(record, DeadLetter):
        return 0
    if isinstance(record, TextRecord):
        return len(record.text)
    return sum(map(len, record.tokens)) + len(record.tokens)


def _loaded_tagger(arguments):
    return Tagger(**arguments)
