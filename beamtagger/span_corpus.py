"""Span-annotated JSON Lines, as annotation tools export them, read as BIO-tagged sentences.

Each line is one JSON object: a ``text`` and its entities as character spans, in any of the
shapes the common tools write (docs/training.md, "Span-annotated JSON Lines"):

- Prodigy (``db-out``) and spaCy: ``"spans": [{"start": 0, "end": 5, "label": "PER"}]``;
- Doccano's sequence labelling export: ``"label": [[0, 5, "PER"]]`` (``"labels"`` in older
  versions, ``"entities"`` in the oldest); its relation export
  ``"entities": [{"start_offset": 0, "end_offset": 5, "label": "PER"}]``;
- Label Studio's JSON-MIN tasks, one a line: ``"label": [{"start": 0, "end": 5,
  "labels": ["PER"]}]``.

The text is cut by ``beamtagger.tokenizer.Tokenizer``, the tokenizer ``beamtagger tag`` cuts
text with, so a tagger trains on the tokens it will tag. A span tags the tokens whose
characters it overlaps: ``B-`` the first, ``I-`` the rest.

A span whose start or end falls inside a token ("York" of "NewYork", "NYC" of the hashtag
"#NYC", which the tokenizer keeps whole) is snapped outward to whole tokens and
counted (``SpanReadStats.snapped_spans``, the first one named), not skipped: a tagger tags
whole tokens, so the snapped span is the closest entity it can learn or be scored on, while
skipping the line would drop every other span of the document with it, and most often the
documents whose text is least like edited prose (hashtags, glued words), which a tagger needs
to see most.

Offsets are characters (code points). In a text holding characters outside the BMP (emoji),
offsets that read as UTF-16 code units, as JavaScript-based editors wrote them, are refused
(``_check_not_utf16``): shifted by one per such character, they were widened silently onto
the wrong tokens.

Malformed lines raise ``InputFormatError(source, line, problem)``, or with
``on_error="skip"`` are skipped and counted in ``stats``, as the CoNLL readers do
(``corpus_readers``). Lines of a Prodigy export whose ``answer`` is not "accept" are left out
and counted (``not_accepted``): they are examples the annotator rejected or skipped.
"""
import bisect
import dataclasses
import json
import re
from typing import Iterable, Iterator, Optional

from beamtagger.corpus_readers import (ReadStats, Sentence, NumberedLine, check_on_error,
                                       decode_line, default_sent_id, numbered_lines)
from beamtagger.errors import InputFormatError
from beamtagger.tagging_defaults import CHUNK, OVERLAP

__all__ = ["SPAN_FIELDS", "SpanReadStats", "first_span_record_line", "first_text_record_line",
           "parse_span_lines", "read_spans", "span_record_tags"]

# The fields a line's spans are read from, the first one present: Prodigy's and spaCy's,
# Doccano's (and Label Studio JSON-MIN's default name), Doccano's older ones.
SPAN_FIELDS = ("spans", "label", "labels", "entities")
_SENTENCE_ENDS = frozenset((".", "!", "?", "...", "…"))
_WHITESPACE = re.compile(r"\s")
# Characters outside the Basic Multilingual Plane (emoji): two UTF-16 code units each.
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")
_UTF16_COUNTED = (", as tools written in JavaScript count (one more for each emoji or other "
                  "character outside the BMP before it)")
# What a line that is a JSON record starts with, looked for in a file's first line only: the
# line may be cut where sniffing stops reading (a long document), so no JSON parse.
_JSON_OBJECT_START = re.compile(r'\s*\{')
_TEXT_KEY = re.compile(r'"text"\s*:')
_SPAN_KEY = re.compile(r'"(?:%s)"\s*:\s*\[' % "|".join(SPAN_FIELDS))
_SNIFFED_BYTES = 1 << 20


@dataclasses.dataclass
class SpanReadStats(ReadStats):
    """``ReadStats`` plus what reading spans onto tokens did.

    Args:
      spans: spans read (one a tagged entity).
      snapped_spans: spans whose start or end fell inside a token, snapped outward to it.
      first_snapped: where the first of them was and what became of it.
      not_accepted: Prodigy lines whose ``answer`` is "reject" or "ignore", left out.
      split_documents: texts longer than ``max_tokens`` tokens, read as several sentences.
      empty_texts: lines whose text has no token and no span (blank records, as `tag
        --output-format spans` writes them), left out.
      repeated_texts: lines whose text an earlier line of the file has (read all the same).
    """
    spans: int = 0
    snapped_spans: int = 0
    first_snapped: str = ""
    not_accepted: int = 0
    split_documents: int = 0
    empty_texts: int = 0
    repeated_texts: int = 0

    def describe_snapped(self):
        """"N spans do not start or end on token boundaries; the first: ..." or ""."""
        if not self.snapped_spans:
            return ""
        one = self.snapped_spans == 1
        return (f"{self.snapped_spans:,} of {self.spans:,} spans {'does' if one else 'do'} not "
                f"start or end on token boundaries and {'was' if one else 'were'} widened to "
                f"whole tokens; the first: {self.first_snapped}")


def read_spans(path, on_error="raise", stats: Optional[SpanReadStats] = None,
               max_tokens=CHUNK) -> Iterator[Sentence]:
    """The sentences of a span-annotated JSON Lines file (see the module's docstring).

    A text of more than ``max_tokens`` tokens (default: the chunk ``tag`` tags at once) is
    read as pieces of at most that many, cut after a sentence's end where one falls in the
    last quarter, and never inside an entity."""
    check_on_error(on_error)
    return parse_span_lines(numbered_lines(path), str(path), on_error=on_error, stats=stats,
                            max_tokens=max_tokens)


def parse_span_lines(lines: Iterable[NumberedLine], source, on_error="raise",
                     stats: Optional[SpanReadStats] = None,
                     max_tokens=CHUNK) -> Iterator[Sentence]:
    """Parses span-annotated JSON Lines from ``(line_number, bytes_or_str)`` pairs."""
    from beamtagger.tokenizer import Tokenizer

    check_on_error(on_error)
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, not {max_tokens}")
    source = str(source)
    stats = stats if stats is not None else SpanReadStats()
    tokenizer = Tokenizer()
    # hash() of each text: 8 bytes and a set entry a line, not the texts themselves.
    texts_seen = set()
    for number, raw in lines:
        try:
            text = decode_line(raw, source, number)
            if text.strip() == "":
                continue
            record = _record(text, source, number)
            if record.get("answer", "accept") != "accept":
                stats.not_accepted += 1
                continue
            sentences = _sentences(record, tokenizer, source, number, stats, max_tokens)
            # Exports hold one line per annotator and per annotation round: a text twice is
            # trained twice, with spans that may disagree. Counted for a note, still read.
            seen = hash(record.get("text"))
            stats.repeated_texts += seen in texts_seen
            texts_seen.add(seen)
        except _EmptyText:
            stats.empty_texts += 1
            continue
        except InputFormatError as error:
            if on_error == "raise":
                raise
            stats._skip(error)
            continue
        for sentence in sentences:
            stats._record(sentence)
            yield sentence


class _EmptyText(InputFormatError):
    """A line whose text has no token and which has no span: skipped, counted
    (``SpanReadStats.empty_texts``)."""


def span_record_tags(record, tokenizer, source="<record>", number=1, stats=None):
    """(tokens, tags) of one parsed line: the tokenizer's tokens of its text and their BIO
    tags from its spans. InputFormatError for a malformed record."""
    stats = stats if stats is not None else SpanReadStats()
    text = record.get("text")
    if not isinstance(text, str):
        problem = "no \"text\" field" if text is None else \
            f"\"text\" is {_json_type(text)}, not a string"
        raise InputFormatError(source, number, problem)
    spans = _spans(record, text, source, number)
    texts, starts, ends = tokenizer.tokenize_columns(text) if text.strip() else ((), (), ())
    if not texts and not spans:
        # Nothing to learn from, and what `tag --output-format spans` writes for a blank input
        # line: refused, it stopped training on the very file tag had written.
        raise _EmptyText(source, number, "empty text")
    if not texts:
        raise InputFormatError(source, number, "empty text (blank, or only invisible "
                               "characters, which the tokenizer drops) with spans on it")
    if _ASTRAL.search(text):
        _check_not_utf16(text, spans, starts, ends, source, number)
    tags = ["O"] * len(texts)
    last_tagged = -1
    for start, end, label in spans:
        first, last = _token_range(starts, ends, start, end)
        if first > last:
            raise InputFormatError(source, number, f"span {start}-{end} {label} "
                                   f"({text[start:end]!r}) covers no token, only whitespace or "
                                   "invisible characters")
        if first <= last_tagged:
            raise InputFormatError(
                source, number, f"span {start}-{end} {label} ({text[start:end]!r}) shares the "
                f"token {texts[first]!r} (characters {starts[first]}-{ends[first]}) with the "
                "span before it: a token takes one tag; split the token's spans apart or join "
                "them")
        if starts[first] < start or ends[last] > end:
            stats.snapped_spans += 1
            if not stats.first_snapped:
                stats.first_snapped = (
                    f"{source}:{number}, {label} {start}-{end} {text[start:end]!r} became "
                    f"{starts[first]}-{ends[last]} {text[starts[first]:ends[last]]!r}")
        tags[first] = f"B-{label}"
        tags[first + 1:last + 1] = [f"I-{label}"] * (last - first)
        last_tagged = last
    stats.spans += len(spans)
    return tuple(texts), tuple(tags)


def _token_range(starts, ends, start, end):
    """(first, last): the tokens a span's characters overlap; first > last where none."""
    first = bisect.bisect_right(ends, start)      # the first token ending after the start
    last = bisect.bisect_left(starts, end) - 1    # the last token starting before the end
    return first, last


def _on_tokens(starts, ends, start, end):
    first, last = _token_range(starts, ends, start, end)
    return first <= last and starts[first] >= start and ends[last] <= end


def _check_not_utf16(text, spans, starts, ends, source, number):
    """InputFormatError where a text holding characters outside the BMP (emoji) has a span
    inside tokens that, with every other span, falls on token boundaries once its offsets
    are read as UTF-16 code units: JavaScript counts those (one more per such character), and
    Argilla's span editor and Label Studio's before 2022 wrote them (docs/training.md), so
    every span after an emoji was shifted and silently widened onto the wrong tokens."""
    inside = [span for span in spans if not _on_tokens(starts, ends, span[0], span[1])]
    if not inside:
        return
    as_units = [_from_utf16(text, start, end) for start, end, _ in spans]
    if all(span is not None and _on_tokens(starts, ends, *span) for span in as_units):
        start, end, label = inside[0]
        raise InputFormatError(
            source, number, f"span {start}-{end} {label} ({text[start:end]!r}) falls inside "
            "tokens, where every span of the line falls on token boundaries with its offsets "
            f"counted in UTF-16 code units{_UTF16_COUNTED}, this one on "
            f"{text[slice(*_from_utf16(text, start, end))]!r}: give offsets in characters "
            "(code points)")


def _from_utf16(text, start, end):
    """(start, end) in characters of a span counted in UTF-16 code units, or None where
    either offset is past the text or splits a character's surrogate pair."""
    found, units = {}, 0
    for index, character in enumerate(text):
        found[units] = index
        units += 2 if character > "\uffff" else 1
    found[units] = len(text)
    if start not in found or end not in found:
        return None
    return found[start], found[end]


def _utf16_hint(text, start, end):
    """"; counted in UTF-16 code units ..., the span is 'X': ..." where the text holds characters
    outside the BMP and the span read so is one, else ""."""
    if not _ASTRAL.search(text):
        return ""
    span = _from_utf16(text, start, end)
    if span is None or span[0] >= span[1]:
        return ""
    return (f"; counted in UTF-16 code units{_UTF16_COUNTED}, the span is "
            f"{text[span[0]:span[1]]!r}: give offsets in characters (code points)")


def first_span_record_line(path) -> Optional[int]:
    """The number of ``path``'s first non-blank line where it starts a JSON object with a
    ``text`` and a list of spans (one of ``SPAN_FIELDS``), else None. Reads the file's first
    MiB at most; the reader checks the rest."""
    return _first_record_line(path, _TEXT_KEY, _SPAN_KEY)


def first_text_record_line(path, text_field="text") -> Optional[int]:
    """The number of ``path``'s first non-blank line where it starts a JSON object with a
    ``text_field`` (a line of tag's JSON Lines input, spans or not), else None. Reads the
    file's first MiB at most."""
    return _first_record_line(path, re.compile(r'%s\s*:' % re.escape(json.dumps(text_field))))


def _first_record_line(path, *keys):
    lines = numbered_lines(path, max_bytes=_SNIFFED_BYTES)
    try:
        for number, raw in lines:
            text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
            if text.strip() == "":
                continue
            if _JSON_OBJECT_START.match(text) and all(key.search(text) for key in keys):
                return number
            return None
    finally:
        lines.close()
    return None


def _record(text, source, number):
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as error:
        # JSONDecodeError's own text says "line 1" of the one line it was given.
        problem = (f"not JSON ({error.msg} at character {error.pos + 1})"
                   if isinstance(error, json.JSONDecodeError) else "not JSON (nested too deep)")
        if number == 1 and text.lstrip().startswith("["):
            problem += ("; a JSON array (Label Studio's JSON or JSON-MIN export) is read one "
                        "object a line: jq -c '.[]' FILE > FILE.jsonl")
        raise InputFormatError(source, number, problem) from None
    if not isinstance(record, dict):
        raise InputFormatError(source, number, f"expected a JSON object holding \"text\" and its "
                               f"spans, found {_json_type(record)}")
    return record


def _sentences(record, tokenizer, source, number, stats, max_tokens):
    tokens, tags = span_record_tags(record, tokenizer, source, number, stats)
    own_id = _record_id(record, source, number)
    default_id = default_sent_id(source, number)
    pieces = _piece_bounds(tokens, tags, max_tokens)
    if len(pieces) > 1:
        stats.split_documents += 1
    sentences = []
    for index, (start, end) in enumerate(pieces, start=1):
        if own_id is None:
            sent_id = default_id   # a made-up id stays one (Sentence.has_own_id)
        else:
            sent_id = own_id if len(pieces) == 1 else f"{own_id}#{index}"
        sentences.append(Sentence(sent_id, tokens[start:end], tags[start:end], source, number))
    return sentences


def _piece_bounds(tokens, tags, limit):
    """(start, end) token ranges of at most ``limit`` tokens covering the text: each cut where
    no entity goes on across it (an entity longer than ``limit`` is kept whole), after a
    sentence's end if one falls in the range's last quarter (``OVERLAP`` of ``CHUNK``), else
    as late as it can."""
    bounds, start, count = [], 0, len(tokens)
    late = max(1, limit * OVERLAP // CHUNK)
    while count - start > limit:
        cuts = [cut for cut in range(start + 1, start + limit + 1)
                if not tags[cut].startswith("I-")]
        if not cuts:   # an entity longer than limit: cut at its end
            cut = start + limit
            while cut < count and tags[cut].startswith("I-"):
                cut += 1
        else:
            at_sentence_end = [cut for cut in cuts
                               if cut > start + limit - late and tokens[cut - 1] in _SENTENCE_ENDS]
            cut = (at_sentence_end or cuts)[-1]
        bounds.append((start, cut))
        start = cut
    bounds.append((start, count))
    return bounds


def _spans(record, text, source, number):
    """The record's spans as sorted (start, end, label), exact repeats dropped (two annotators'
    identical span); InputFormatError for a malformed or overlapping one."""
    field = next((name for name in SPAN_FIELDS if name in record), None)
    if field is None:
        raise InputFormatError(source, number, f"no spans: expected one of the fields "
                               f"{', '.join(SPAN_FIELDS)} (an empty list for a text without "
                               "entities)")
    entries = record[field]
    if not isinstance(entries, list):
        raise InputFormatError(source, number, f"\"{field}\" is {_json_type(entries)}, not a "
                               "list of spans")
    spans = sorted({_span(entry, text, field, index, source, number)
                    for index, entry in enumerate(entries, start=1)})
    for before, after in zip(spans, spans[1:]):
        if after[0] < before[1]:
            raise InputFormatError(
                source, number, f"spans {before[0]}-{before[1]} {before[2]} and "
                f"{after[0]}-{after[1]} {after[2]} overlap (nested or crossing): a token takes "
                "one tag")
    return spans


def _span(entry, text, field, index, source, number):
    where = f"{field} entry {index}"
    if isinstance(entry, list) and len(entry) == 3:
        start, end, label = entry
        shown = None
    elif isinstance(entry, dict):
        start = entry.get("start", entry.get("start_offset"))
        end = entry.get("end", entry.get("end_offset"))
        label = entry.get("label")
        if label is None and isinstance(entry.get("labels"), list):
            if len(entry["labels"]) != 1:
                raise InputFormatError(source, number, f"{where} has {len(entry['labels'])} "
                                       "labels; a token takes one tag")
            label = entry["labels"][0]
        shown = entry.get("text")
    else:
        raise InputFormatError(source, number, f"{where} is {json.dumps(entry)[:60]}, not a span "
                               "([start, end, label], or an object with start, end and label)")
    for name, offset in (("start", start), ("end", end)):
        if not isinstance(offset, int) or isinstance(offset, bool):
            raise InputFormatError(source, number, f"{where}: {name} is "
                                   f"{json.dumps(offset)[:40]}, not a character offset")
    if not 0 <= start < end <= len(text):
        problem = "start is not before end" if start >= end else \
            f"outside the text of {len(text)} characters{_utf16_hint(text, start, end)}"
        raise InputFormatError(source, number, f"{where}: span {start}-{end}: {problem}")
    if not isinstance(label, str) or label == "" or _WHITESPACE.search(label):
        raise InputFormatError(source, number, f"{where}: label {json.dumps(label)[:40]} is not "
                               "a name without whitespace")
    if label[:2].upper() in ("B-", "I-") or label == "O":
        raise InputFormatError(source, number, f"{where}: label {label!r} is a BIO tag; give the "
                               "entity's type (PER), and beamtagger writes B- and I-")
    if isinstance(shown, str) and shown != text[start:end]:
        hint = _utf16_hint(text, start, end) or \
            " (offsets counted in other units than characters, or a text edited after annotation)"
        raise InputFormatError(source, number, f"{where}: span {start}-{end} says {shown!r}, "
                               f"but the text there is {text[start:end]!r}{hint}")
    return start, end, label


def _record_id(record, source, number):
    """The line's ``id`` (or ``meta``'s ``id``, Prodigy's place for it) as a string, or None."""
    value = record.get("id")
    if value is None and isinstance(record.get("meta"), dict):
        value = record["meta"].get("id")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputFormatError(source, number, f"\"id\" is {_json_type(value)}, not a string "
                               "or a whole number")
    return str(value)


def _json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)
