"""The elements that flow between the tagging stages.

NamedTuples of plain values: Beam's FastPrimitivesCoder encodes them field by field (the type
is pickled once and cached), so they cross a shuffle cheaply and without custom coders.

``source`` says where a record came from ("path:line" for records read from files) and is what
dead letters report; it must be unique per record because long records are stitched back
together by it.
"""
import json
from typing import NamedTuple, Optional, Tuple


class TextRecord(NamedTuple):
    """Raw text to tokenize and tag; ``fields`` are passed through to the output unchanged."""
    id: str
    text: str
    source: str = ""
    fields: Optional[dict] = None

    @property
    def key(self):
        return self.source or self.id


class TokenizedRecord(NamedTuple):
    """A record as tokens with character offsets (``text[start:end] == token``)."""
    id: str
    tokens: Tuple[str, ...]
    starts: Tuple[int, ...]
    ends: Tuple[int, ...]
    source: str = ""
    fields: Optional[dict] = None

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


class TaggedRecord(NamedTuple):
    """The output for one input record: one label and score per token."""
    id: str
    tokens: Tuple[str, ...]
    starts: Tuple[int, ...]
    ends: Tuple[int, ...]
    labels: Tuple[str, ...]
    scores: Tuple[float, ...]
    source: str = ""
    fields: Optional[dict] = None

    def to_json_dict(self, score_digits=4):
        """{"id", passthrough fields..., "tokens": [{text, start, end, label, score}]}."""
        out = {"id": self.id}
        if self.fields:
            out.update((k, v) for k, v in self.fields.items() if k not in ("id", "tokens"))
        out["tokens"] = [
            {"text": t, "start": s, "end": e, "label": label, "score": round(float(p), score_digits)}
            for t, s, e, label, p in zip(self.tokens, self.starts, self.ends, self.labels,
                                         self.scores)]
        return out


class Segment(NamedTuple):
    """At most one chunk of tokens of one record: the unit that is batched and tagged.

    A record that fits one chunk travels whole (``num_chunks == 1``, offsets and fields
    included). A longer record is cut into ``num_chunks`` overlapping chunks that carry only
    their tokens; tokens ``[keep_start, keep_end)`` of a chunk (relative to it) are the ones
    it is most central for, and their label probabilities are what it contributes.
    """
    key: str
    tokens: Tuple[str, ...]
    id: str = ""
    starts: Tuple[int, ...] = ()
    ends: Tuple[int, ...] = ()
    fields: Optional[dict] = None
    chunk: int = 0
    num_chunks: int = 1
    keep_start: int = 0
    keep_end: int = 0

    @property
    def is_whole_record(self):
        return self.num_chunks == 1


class ChunkResult(NamedTuple):
    """What one chunk of a long record contributes: probs (keep_end - keep_start, L) or an error."""
    chunk: int
    num_chunks: int
    probs: Optional[object] = None   # float32 numpy array
    error: str = ""


class DeadLetter(NamedTuple):
    """A record that could not be tagged: where it came from, why, and the raw record."""
    source: str
    reason: str
    record: str
    stage: str

    def to_json(self):
        return json.dumps({"source": self.source, "stage": self.stage, "reason": self.reason,
                           "record": self.record}, ensure_ascii=False)


def raw_text(raw: bytes) -> str:
    """Bytes as text for a dead letter: invalid UTF-8 kept visible as \\x.. escapes."""
    return raw.decode("utf-8", "backslashreplace")
