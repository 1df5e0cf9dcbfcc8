"""The elements that flow between the tagging stages.

NamedTuples of plain values: Beam's FastPrimitivesCoder encodes them field by field (the type
is pickled once and cached), so they cross a shuffle cheaply and without custom coders.

``source`` says where a record came from ("path:line" for records read from files) and is what
dead letters report; it must be unique per record because long records are stitched back
together by it.
"""
import json
from typing import Any, Dict, NamedTuple, Optional, Tuple

import numpy as np

from beamtagger.errors import line_breaks_escaped

__all__ = ["ChunkResult", "DeadLetter", "Entity", "STAGES", "Segment", "TaggedRecord",
           "TextRecord", "TokenizedRecord", "UNREAD_STAGE", "entity_spans", "one_line",
           "path_on_one_line", "path_text", "raw_text", "utf8_safe"]


class TextRecord(NamedTuple):
    """Raw text to tokenize and tag.

    Args:
      id: the record's id, written to the output; a string (``TagText`` makes a record whose
        id or source is anything else a dead letter of stage tokenize).
      text: the text to tag.
      source: where it came from ("path:line"); unique per record, reported by dead letters.
      fields: JSON-able values passed through to the output as JSON gives them back:
        ``TagText`` carries them in its batches as JSON text, so a tuple comes out as a list,
        a number key as a string, and an empty dict as None (``RunInference`` with
        ``TaggerModelHandler`` passes the object itself); a record whose fields JSON cannot
        hold is a dead letter.
    """
    id: str
    text: str
    source: str = ""
    fields: Optional[Dict[str, Any]] = None

    @property
    def key(self):
        return self.source or self.id


class TokenizedRecord(NamedTuple):
    """A record as tokens with character offsets (``text[start:end] == token``).

    Args:
      id, source, fields: as in ``TextRecord``.
      tokens: the tokens, in order.
      starts: each token's first character in the text.
      ends: one past each token's last character.
    """
    id: str
    tokens: Tuple[str, ...]
    starts: Tuple[int, ...]
    ends: Tuple[int, ...]
    source: str = ""
    fields: Optional[Dict[str, Any]] = None

    @property
    def key(self):
        return self.source or self.id

    @classmethod
    def from_tokens(cls, id, tokens, source="", fields=None):
        """Pre-tokenized input: offsets index the tokens joined by single spaces."""
        starts, ends, position = [], [], 0
        for token in tokens:
            starts.append(position)
            position += len(token)
            ends.append(position)
            position += 1
        return cls(id, tuple(tokens), tuple(starts), tuple(ends), source, fields)


OUTPUT_KEYS = ("id", "tokens")
# With entities (``TaggedRecord.to_json_dict(entities=True)``).
ENTITY_OUTPUT_KEYS = (*OUTPUT_KEYS, "entities")


def is_output_key(name, output_keys):
    """Whether a pass-through field ``name`` is one of ``output_keys`` (lowercase) in any case:
    the readers that take a line's keys as columns by name in any case (DuckDB, BigQuery,
    Spark by default) would read the two as one column."""
    return name.lower() in output_keys


class TaggedRecord(NamedTuple):
    """The output for one input record: one label and score per token.

    Args:
      id, tokens, starts, ends, source, fields: as in ``TokenizedRecord``.
      labels: one label per token.
      scores: one score per token, the probability of its label (docs/tagging.md, "Scores").
    """
    id: str
    tokens: Tuple[str, ...]
    starts: Tuple[int, ...]
    ends: Tuple[int, ...]
    labels: Tuple[str, ...]
    scores: Tuple[float, ...]
    source: str = ""
    fields: Optional[Dict[str, Any]] = None

    def entities(self):
        """The record's entities (``entity_spans``): for BIO labels (``B-X``, ``I-X``, ``O``)."""
        return entity_spans(self)

    def to_json_dict(self, score_digits=4, entities=False, text=None):
        """{"id", passthrough fields..., "tokens": [{text, start, end, label, score}]}, and
        with ``entities`` "entities": [{text, start, end, label, score}] (``entity_spans``;
        ``text``: the record's own text, where the caller has it).

        A passthrough field named like an output key in any case (``id``, ``ID``, ``Tokens``;
        ``entities`` with ``entities``) is written as ``input_id`` / ``input_ID`` /
        ``input_Tokens`` (more ``input_`` prefixes while the name is taken), so it is neither
        dropped nor mistaken for beamtagger's own key (the other fields keep their names):
        DuckDB's ``read_json_auto`` takes names in any case, and read ``ID`` beside ``id`` as
        one column named twice (``ID_1``, while ``SELECT ID`` gave beamtagger's id).
        """
        output_keys = ENTITY_OUTPUT_KEYS if entities else OUTPUT_KEYS
        out = {"id": self.id}
        if self.fields:
            renamed = []
            for key, value in self.fields.items():
                if is_output_key(key, output_keys):
                    renamed.append((key, value))
                else:
                    out[key] = value
            for key, value in renamed:
                while is_output_key(key, output_keys) or key in out:
                    key = "input_" + key
                out[key] = value
        out["tokens"] = [
            {"text": t, "start": s, "end": e, "label": label, "score": round(float(p), score_digits)}
            for t, s, e, label, p in zip(self.tokens, self.starts, self.ends, self.labels,
                                         self.scores)]
        if entities:
            out["entities"] = [
                {"text": entity.text, "start": entity.start, "end": entity.end,
                 "label": entity.label, "score": round(float(entity.score), score_digits)}
                for entity in entity_spans(self, text)]
        return out


class Entity(NamedTuple):
    """A named entity: a run of tokens of one BIO type (``entity_spans``).

    Args:
      text: the record's ``text[start:end]`` where the writer has the record's text (kept
        for it: ``kept_text``); else the tokens as the offsets place them, each gap between two
        of them (``start`` of one less ``end`` of the one before) as that many spaces.
      start, end: the first token's start and the last token's end.
      label: the type, the labels' text after ``B-`` / ``I-``.
      score: the lowest score of its tokens.
    """
    text: str
    start: int
    end: int
    label: str
    score: float


def label_types(names):
    """(the entity type of each label name as an index into the returned types, -1 for labels
    outside entities; True where a name begins an entity (``B-``); the types).

    Only ``B-X`` and ``I-X`` (X not empty) are entity labels, as ``viterbi.is_bio_label_set``
    reads a label set; ``O`` and anything else (a POS tag) is outside."""
    types, type_ids, begins = {}, [], []
    for name in names:
        is_entity = isinstance(name, str) and name[:2] in ("B-", "I-") and len(name) > 2
        type_ids.append(types.setdefault(name[2:], len(types)) if is_entity else -1)
        begins.append(is_entity and name[0] == "B")
    return (np.array(type_ids, dtype=np.int64), np.array(begins, dtype=bool), list(types))


def entity_token_ranges(type_ids, begins, record_firsts):
    """(first, end) token indices (``end`` exclusive) of every entity in a run of records'
    tokens, in order: ``type_ids`` and ``begins`` per token (``label_types`` of its label),
    ``record_firsts`` True at each record's first token.

    Ill-formed sequences are read as conlleval reads them (and seqeval's default mode, which
    ``evaluate`` scores with): a token of type X begins an entity where it is ``B-X``, the
    first of its record, or where the token before is not of type X (``I-X`` after ``O`` or
    after ``I-Y``); ``B-X B-X`` are two entities. An entity goes on through the ``I-X`` that
    follow it."""
    type_ids = np.asarray(type_ids)
    inside = type_ids >= 0
    begins_here = inside & np.asarray(begins, dtype=bool)
    begins_here[1:] |= inside[1:] & (type_ids[1:] != type_ids[:-1])
    begins_here |= inside & np.asarray(record_firsts, dtype=bool)
    firsts = np.flatnonzero(begins_here)
    # An entity ends at the first later token that does not go on with it.
    stops = np.append(np.flatnonzero(~inside | begins_here), len(type_ids))
    ends = stops[np.searchsorted(stops, firsts, side="right")]
    return firsts, ends


def entity_text(tokens, starts, ends, first, end):
    """Tokens ``first`` to ``end`` (exclusive) as the offsets place them (``Entity.text``)."""
    pieces = [tokens[first]]
    for i in range(first + 1, end):
        pieces.append(" " * max(0, starts[i] - ends[i - 1]))
        pieces.append(tokens[i])
    return "".join(pieces)


def entity_spans(record, text=None):
    """The entities of a ``TaggedRecord`` whose labels are BIO, as ``Entity`` tuples in order
    (none for labels of another kind: a POS tagger's record has none).

    ``start``/``end`` are code point offsets in the record's text, as the tokens' are. With
    ``text``, the record's own text (``kept_text``), an entity's ``text`` is
    ``text[start:end]``; without it, the tokens with their gaps as spaces: the record's
    ``text[start:end]`` wherever the tokens are separated by spaces (CoNLL input, whose
    offsets index the tokens joined by single spaces, always), and ``end - start`` characters
    long always. ``score`` is the lowest of its tokens' scores: the chance that
    every token of the entity has its label is at most that, and a threshold on it keeps no
    entity with a doubtful token (the mean of 0.99, 0.99 and 0.4 is 0.79). Ill-formed label
    sequences (``I-X`` after ``O``): ``entity_token_ranges``."""
    type_ids, begins, types = label_types(record.labels)
    if not len(type_ids) or type_ids.max() < 0:
        return []
    record_firsts = np.zeros(len(type_ids), dtype=bool)
    record_firsts[0] = True
    firsts, ends = entity_token_ranges(type_ids, begins, record_firsts)
    scores = np.asarray(record.scores, dtype=np.float64)
    starts, token_ends = record.starts, record.ends
    return [Entity(entity_text(record.tokens, starts, token_ends, first, end) if text is None
                   else text[starts[first]:token_ends[end - 1]],
                   starts[first], token_ends[end - 1], types[type_ids[first]],
                   lowest_score(scores[first:end]))
            for first, end in zip(firsts.tolist(), ends.tolist())]


def lowest_score(scores):
    """The lowest of ``scores`` (NumPy) as a float: NaN if one is NaN, and 0.0 for -0.0, so
    that it does not depend on which of two equal zeros comes first."""
    return float(np.minimum.reduce(scores) + 0.0)


class Segment(NamedTuple):
    """At most one chunk of tokens of one record: the unit that is batched and tagged.

    A record that fits one chunk travels whole (``num_chunks == 1``, offsets and fields
    included). A longer record is cut into ``num_chunks`` overlapping chunks that carry only
    their tokens; tokens ``[keep_start, keep_end)`` of a chunk (relative to it) are the ones
    it is most central for, and their label probabilities are what it contributes.

    Args:
      key: a whole record's ``source`` (or id); for the chunks of a long record, a key
        SplitIntoChunks makes unique to the record (any id, even a repeated one or one that is
        not a string, is stitched back to its own record): what stitches the chunks back
        together.
      tokens: the chunk's tokens.
      id, starts, ends, fields: the whole record's (empty in chunks of a long record).
      chunk: the chunk's place in the record, from 0.
      num_chunks: how many chunks the record was cut into (1: the whole record).
      keep_start, keep_end: the chunk's tokens whose probabilities it contributes.
      timestamp_micros: the record's own event timestamp (microseconds), which
        BucketByLength sets in streaming and in TagText's bounded path, and the tag stage
        gives back to the record's result; None elsewhere.
    """
    key: str
    tokens: Tuple[str, ...]
    id: str = ""
    starts: Tuple[int, ...] = ()
    ends: Tuple[int, ...] = ()
    fields: Optional[Dict[str, Any]] = None
    chunk: int = 0
    num_chunks: int = 1
    keep_start: int = 0
    keep_end: int = 0
    timestamp_micros: Optional[int] = None


class ChunkResult(NamedTuple):
    """What one chunk of a long record contributes for the tokens it owns (``keep_start`` to
    ``keep_end``): their probabilities, their labels, or an error.

    Args:
      chunk, num_chunks: as in ``Segment``.
      probs: float32 (n, L) label probabilities, for a tagger whose decoding needs the whole
        record (BIO Viterbi, CRF); else None.
      error: why the chunk could not be tagged ("" when it was).
      labels, scores: for a tagger that decodes each token on its own (arg-max, threshold),
        its labels as (n,) indices into the tagger's labels and their float32 scores; else None.
    """
    chunk: int
    num_chunks: int
    probs: Optional[object] = None   # float32 numpy array
    error: str = ""
    labels: Optional[object] = None   # unsigned int numpy array
    scores: Optional[object] = None   # float32 numpy array

    def __reduce__(self):
        # Pickled (Beam's coder for the stitching's GroupByKey) with its arrays as raw bytes:
        # NumPy's own pickling of two small arrays cost a chunk result 9.6 µs to encode and 5.7
        # to decode, this 3.5 and 3.3 (170 labelled tokens, measured with timeit).
        arrays = (self.probs, self.labels, self.scores)
        if not all(a is None or (type(a) is np.ndarray and not a.dtype.hasobject)
                   for a in arrays):
            return ChunkResult, tuple(self)
        return _chunk_result, (self.chunk, self.num_chunks, self.error, *(
            None if a is None else (a.dtype.str, a.shape, a.tobytes()) for a in arrays))


def _chunk_result(chunk, num_chunks, error, *arrays):
    probs, labels, scores = (None if state is None else
                             np.frombuffer(state[2], dtype=state[0]).reshape(state[1])
                             for state in arrays)
    return ChunkResult(chunk, num_chunks, probs, error, labels, scores)


# A chunk's result, keyed by its long record's key (made by SplitIntoChunks) for StitchChunks.
KEYED_CHUNK_RESULT = Tuple[str, ChunkResult]


# Where a record can fail, in the order of the pipeline (a dead letter's ``stage``). "read" is a
# file that cannot be read on (damaged compression); "decode" a record that is not valid UTF-8,
# JSON or CoNLL. There is no "write": "format" checks every row against what the file writers
# accept, so no record can fail inside a writer.
STAGES = ("read", "decode", "tokenize", "lookup", "featurize", "tag", "stitch", "format")
# The stage whose dead letter stands for a whole file or the rest of one (a refused Parquet
# file or CSV header, a damaged compressed stream): a part of the input that was not read, of
# records unknown, counted apart (counters.UNREAD_PARTS) so that no summary reads it as one
# record that failed.
UNREAD_STAGE = STAGES[0]


# The tag of every stage's dead-letter output.
ERRORS = "errors"


class DeadLetter(NamedTuple):
    """A record that could not be tagged: where it came from, why, and what the failing stage
    held of it.

    Args:
      source: where the record came from ("path:line", "path:@byte" in a file read in byte
        ranges), or its key: what finds the input record again.
      reason: why it failed, one line.
      record: what the stage held, as text: the raw line or sentence ("read", "decode"), the
        record's text ("tokenize"), its tokens joined by single spaces (later stages); not
        the JSON object of a JSON Lines record, whose id and fields only ``source`` finds.
      stage: where it failed, one of ``STAGES``.
    """
    source: str
    reason: str
    record: str
    stage: str

    def to_json(self):
        """One line of JSON that is always valid UTF-8, whatever the record held.

        Lone surrogates (from a ``"\\ud800"`` JSON escape) cannot be encoded as UTF-8: they are
        written as the six characters ``\\ud800``, like invalid bytes are written as ``\\x..``.
        """
        return json.dumps({"source": utf8_safe(self.source), "stage": utf8_safe(self.stage),
                           "reason": one_line(utf8_safe(self.reason)),
                           "record": utf8_safe(self.record)}, ensure_ascii=False)


def path_text(path: str) -> str:
    """``path`` as text a record's id and source can hold. Python names a file whose name is
    not valid in the file system's encoding (Latin-1 bytes; any non-ASCII where the locale is
    ASCII and PYTHONUTF8=0) with lone surrogates, which no UTF-8 coder takes: every record of
    such a file became a dead letter ("featurize failed: UnicodeEncodeError"). Its bytes are
    read as UTF-8 here, those that are not as ``\\xNN`` escapes, as a dead letter's record
    shows them and bash's ``$'...'`` reads them back: U+FFFD for each gave ``caf\\xe9.txt``
    and ``caf\\xe8.txt`` the same ids, and a source that named no file."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def path_on_one_line(path) -> str:
    """``path`` as a file is named on one line of a message or listing: its bytes that are
    not UTF-8 as ``\\xNN`` (``path_text``), its line breaks escaped
    (``errors.line_breaks_escaped``): a name holding a line break cut such a line in two."""
    return line_breaks_escaped(path_text(str(path)))


def raw_text(raw: bytes) -> str:
    """Bytes as text for a dead letter: invalid UTF-8 kept visible as \\x.. escapes."""
    return raw.decode("utf-8", "backslashreplace")


def utf8_safe(text) -> str:
    """``text`` (any value, as str) with lone surrogates written as ``\\udXXX`` escapes."""
    if not isinstance(text, str):
        text = str(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def one_line(text: str, limit=500) -> str:
    """A reason as one line of at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
