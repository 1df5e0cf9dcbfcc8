"""Tagged batches: the tag stage's results for whole records, one Arrow RecordBatch per model
batch, and their output formats built column by column (no Python object per token).

``beamtagger tag`` carries its results this way from the tag stage to the files
(``TagBatches(output_batches=True)`` -> ``WriteResults``): building a ``TaggedRecord`` per
record, a dict per token and a JSON text per record cost 1.4 core-microseconds a token of the 8
the non-model stages cost before (bench/throughput_bench.py case G, issue 18). Here the JSON
Lines, Parquet, CoNLL, CoNLL-U and span texts of a batch come out of a few ``pyarrow.compute`` calls
over all its tokens, with Python work per record only for the record's id and pass-through
fields.

The files are the ones the per-record formatters (``write_results.to_json_line``,
``to_parquet_row``, ``to_conll_block``, ``conllu_blocks.conllu_block``, ``to_spans_line``)
write, byte for byte for JSON Lines, CoNLL, CoNLL-U and spans (transforms_tagged_batches_test.py,
conllu_output_format_test.py, spans_output_format_test.py); a record they write in a way the columns do not reproduce
(a token that JSON escapes, a score outside [0, 1], pass-through fields orjson refuses, a NUL
in a CoNLL or CoNLL-U record, whose lines only the formatters check) goes through those
formatters instead.

=============  ================================  ==========================================
column         type                              what
=============  ================================  ==========================================
key, id        string                            record key (source) and id
tokens         list<string>                      the record's tokens
starts, ends   list<int32>                       character offsets
fields         string                            pass-through fields as JSON, or null
labels         list<dictionary<int32, string>>   one label a token (the model's label set)
scores         list<float32>                     the chosen label's score (docs/tagging.md)
timestamp      int64 (TagText only)              the record's own timestamp, in µs
=============  ================================  ==========================================
"""
import functools
import itertools
import json
import re

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from beamtagger.transforms.arrow_batches import TIMESTAMP, fields_column, list_offsets_of
from beamtagger.transforms.records import TaggedRecord, entity_token_ranges, label_types

__all__ = ["conll_text", "conllu_text", "json_lines_text", "kept_texts", "parquet_table",
           "span_lines_text", "tagged_batch", "tagged_batch_of_records", "tagged_batch_of_tagged_records",
           "tagged_records"]

RECORD_COLUMNS = ("key", "id", "tokens", "starts", "ends", "fields")
SCORE_DIGITS = 4
_SCALE = 10 ** SCORE_DIGITS
# What orjson escapes in a string besides the quote and the backslash: control characters
# (RE2 syntax).
_CONTROL = r"[\x00-\x1f]"
# write_results._LINE_UNSAFE: what CoNLL writes as an escape (line breaks, tab, separators).
_CONLL_UNSAFE = "[\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
# A NUL, in RE2's syntax: a record holding one goes to the formatters, which check its lines
# as beamtagger's readers will read them (``nul_lines``); the columns cannot.
_NUL = r"\x00"
_CONLL_LEFT_OUT = _CONLL_UNSAFE[:-1] + _NUL + "]"


@functools.lru_cache(maxsize=8)
def _label_and_score_json(labels):
    """',"label":<label>,"score":<score>' for every label and k in [0, 10^4], at label_id *
    (10^4 + 1) + k: the end of a token's JSON object (without its "}").

    The score's text is what orjson gives ``round(p, 4)`` for p in [0, 1]: k / 10^4 as the
    nearest double. ``round`` rounds the exact binary value half to even, and a float32 times
    10^4 is exact in a double (24 + 14 bits), so np.rint of that product finds the same k.
    The 10^4 + 1 score texts are made once per process, the labels joined to them in Arrow.
    """
    label_json = pa.array([',"label":' + orjson.dumps(label).decode() + ',"score":'
                           for label in labels], pa.string())
    count = _SCALE + 1
    return pc.binary_join_element_wise(
        label_json.take(pa.array(np.repeat(np.arange(len(labels)), count))),
        _score_json().take(pa.array(np.tile(np.arange(count), len(labels)))), "")


@functools.lru_cache(maxsize=1)
def _score_json():
    return pa.array([orjson.dumps(float(f"{k / _SCALE:.{SCORE_DIGITS}f}")).decode()
                     for k in range(_SCALE + 1)], pa.string())


def tagged_batch(batch, label_ids, scores, labels):
    """The tagged batch of ``batch``'s rows (all whole records): ``label_ids`` (int, one per
    token of the rows, in order) index ``labels``; ``scores`` one per token."""
    offsets = _flat_offsets(batch.column("tokens"))
    label_values = pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(label_ids, dtype=np.int32)), _label_names(tuple(labels)))
    score_values = np.asarray(scores)
    if score_values.dtype != np.float64:
        score_values = score_values.astype(np.float32)
    columns = [batch.column(name) for name in RECORD_COLUMNS]
    columns.append(pa.ListArray.from_arrays(offsets, label_values))
    columns.append(pa.ListArray.from_arrays(offsets, pa.array(score_values)))
    names = [*RECORD_COLUMNS, "labels", "scores"]
    if TIMESTAMP in batch.schema.names:   # TagText: for the records made from it
        columns.append(batch.column(TIMESTAMP))
        names.append(TIMESTAMP)
    return pa.RecordBatch.from_arrays(columns, names=names)


def tagged_batch_of_records(records, label_ids, scores, labels, keys=None):
    """The tagged batch of ``records`` (TokenizedRecords): ``label_ids`` and ``scores`` as in
    ``tagged_batch``, record after record (how StitchChunks hands the records it stitched to
    the writers, formatted column by column like the tag stage's batches). ``keys``: the key
    column, where it is not each record's ``key``."""
    lengths = np.fromiter(map(len, (record.tokens for record in records)), np.int32,
                          len(records))
    offsets = list_offsets_of(lengths)
    flat = lambda column: list(itertools.chain.from_iterable(  # noqa: E731
        getattr(record, column) for record in records))
    batch = pa.RecordBatch.from_arrays([
        pa.array([record.key for record in records] if keys is None else keys, pa.string()),
        pa.array([record.id for record in records], pa.string()),
        pa.ListArray.from_arrays(offsets, pa.array(flat("tokens"), pa.string())),
        pa.ListArray.from_arrays(offsets, pa.array(flat("starts"), pa.int32())),
        pa.ListArray.from_arrays(offsets, pa.array(flat("ends"), pa.int32())),
        fields_column([record.fields for record in records])], names=list(RECORD_COLUMNS))
    return tagged_batch(batch, label_ids, scores, labels)


# A writer's label names grow as records bring new ones; JSON Lines keeps a table of 10^4 + 1
# score texts a label (``_label_and_score_json``), so label sets beyond this go record by record.
MAX_RECORD_LABELS = 128


def tagged_batch_of_tagged_records(records, label_names):
    """(tagged batch, the records it holds, the records it leaves out) of ``records``
    (TaggedRecords, as a user's pipeline hands them to WriteResults), for formatting them
    column by column. ``label_names``: a list, extended here with the labels it lacks, whose
    order gives the batch's label ids: one list for all of a writer's batches keeps their
    label dictionary, and the formatters' tables made for it, the same.

    Left out, to be formatted on their own: a record whose per-token tuples differ in length
    (the per-record formatters ``zip`` them), whose pass-through fields do not come back equal
    from JSON (tuples, keys that are not strings, NaN, integers beyond 64 bits: the formatters
    write those their own way) or whose scores float32 cannot hold exactly (the columns keep
    float32). Raises where a column refuses a value (a token that is not a string): then every
    record goes on its own.
    """
    kept, left_out = [], []
    for record in records:
        length = len(record.tokens)
        if (len(record.starts) == len(record.ends) == len(record.labels) == len(record.scores)
                == length and (not record.fields or _json_round_trips(record.fields))):
            kept.append(record)
        else:
            left_out.append(record)
    flat = lambda column: itertools.chain.from_iterable(  # noqa: E731
        getattr(record, column) for record in kept)
    scores = np.fromiter(flat("scores"), np.float64)
    narrowed = scores.astype(np.float32)
    inexact = ~((narrowed == scores) | (np.isnan(scores) & np.isnan(narrowed)))
    if inexact.any():
        bounds = np.cumsum([len(record.tokens) for record in kept])
        inexact_records = set(np.searchsorted(bounds, np.flatnonzero(inexact),
                                              side="right").tolist())
        left_out += [kept[i] for i in sorted(inexact_records)]
        kept = [record for i, record in enumerate(kept) if i not in inexact_records]
        narrowed = np.fromiter(flat("scores"), np.float64).astype(np.float32)
    labels = pa.array(list(flat("labels")), pa.string())
    if labels.null_count:
        raise ValueError("a label is None")
    label_ids = pc.index_in(labels, value_set=pa.array(label_names, pa.string()))
    if label_ids.null_count:
        new_names = pc.unique(labels.filter(pc.is_null(label_ids))).to_pylist()
        if len(label_names) + len(new_names) > MAX_RECORD_LABELS:
            raise ValueError(f"more than {MAX_RECORD_LABELS} labels")
        label_names.extend(new_names)
        label_ids = pc.index_in(labels, value_set=pa.array(label_names, pa.string()))
    tagged = tagged_batch_of_records(
        kept, label_ids.to_numpy(zero_copy_only=False), narrowed, tuple(label_names),
        keys=[record.source for record in kept])
    return tagged, kept, left_out


def _json_round_trips(fields):
    try:
        return orjson.loads(orjson.dumps(fields)) == fields
    except (TypeError, ValueError):
        return False


@functools.lru_cache(maxsize=8)
def _label_names(labels):
    return pa.array(list(labels), pa.string())


def _flat_offsets(lists):
    """The offsets of ``lists`` (a list array) into its flattened values (``flatten()``):
    its own offsets, less the first where it is a slice of a longer array."""
    offsets = lists.offsets
    first = offsets[0].as_py() if len(offsets) else 0
    return pc.subtract(offsets, pa.scalar(first, pa.int32())) if first else offsets


def tagged_records(tagged, rows=None):
    """The TaggedRecords of a tagged batch (of ``rows`` only, when given).

    Each per-token column is converted once, flat, and every record takes its slice: a nested
    ``to_pylist`` built a list per record and column that ``tuple`` then copied, and looked a
    label's string up per token."""
    if rows is not None:
        tagged = tagged.take(pa.array(rows, pa.int64()))
    column = tagged.column
    bounds = np.zeros(tagged.num_rows + 1, dtype=np.int64)
    np.cumsum(column("tokens").value_lengths().to_numpy(zero_copy_only=False),
              out=bounds[1:])
    bounds = bounds.tolist()
    tokens = tuple(column("tokens").flatten().to_pylist())
    starts, ends, scores = (tuple(column(name).flatten().to_numpy(zero_copy_only=False).tolist())
                            for name in ("starts", "ends", "scores"))
    labels = tuple(_flat_labels(column("labels").flatten()))
    return [TaggedRecord(id_, tokens[a:b], starts[a:b], ends[a:b], labels[a:b], scores[a:b],
                         key, json.loads(fields) if fields else None)
            for key, id_, fields, a, b in zip(
                column("key").to_pylist(), column("id").to_pylist(),
                column("fields").to_pylist(), bounds, bounds[1:])]


def _flat_labels(labels):
    """The label strings of a flattened labels column (dictionary-encoded, or plain)."""
    if not pa.types.is_dictionary(labels.type) or labels.null_count:
        return labels.to_pylist()
    names = np.asarray(labels.dictionary.to_pylist(), dtype=object)
    return names[labels.indices.to_numpy(zero_copy_only=False)].tolist()


class _Tokens:
    """A tagged batch's token-level columns, flat, and each token's row."""

    def __init__(self, tagged):
        tokens = tagged.column("tokens")
        self.offsets = _flat_offsets(tokens)
        self.lengths = np.diff(self.offsets.to_numpy())
        self.texts = tokens.flatten()
        self.starts = tagged.column("starts").flatten()
        self.ends = tagged.column("ends").flatten()
        labels = tagged.column("labels").flatten()
        self.label_ids = labels.indices
        self.label_names = labels.dictionary
        self.scores = tagged.column("scores").flatten()
        self.row = np.repeat(np.arange(tagged.num_rows), self.lengths)

    def rows_where(self, token_mask):
        """The rows of the tokens ``token_mask`` marks, and the rows without tokens: the text
        formats' joins would write an empty record as if it had one empty token."""
        return (set(self.row[np.asarray(token_mask, dtype=bool)].tolist())
                | set(np.flatnonzero(self.lengths == 0).tolist()))

    def per_record(self, token_strings, separator):
        """One string a record: its tokens' strings joined by ``separator``."""
        return pc.binary_join(pa.ListArray.from_arrays(self.offsets, token_strings), separator)

    def entities(self, record_texts=None, with_texts=True):
        """The ``_Entities`` of the batch's records (``record_texts``, ``with_texts``: as
        ``_Entities``)."""
        return _Entities(self, record_texts, with_texts)


def _placed_texts(tokens, firsts, ends, starts, token_ends):
    """``records.entity_text`` of each run of tokens [first, end): its tokens, each gap as that
    many spaces (``starts``, ``token_ends``: NumPy, all the batch's tokens)."""
    sizes = ends - firsts
    entity_offsets = list_offsets_of(sizes)
    within = np.arange(int(sizes.sum())) - np.repeat(entity_offsets.to_numpy()[:-1], sizes)
    members = np.repeat(firsts, sizes) + within
    gaps = np.zeros(len(members), dtype=np.int64)
    goes_on = within < np.repeat(sizes, sizes) - 1
    gaps[goes_on] = np.maximum(starts[members[goes_on] + 1] - token_ends[members[goes_on]],
                               0)
    pieces = pc.binary_join_element_wise(
        tokens.texts.take(pa.array(members, pa.int64())),
        pc.binary_repeat(pa.array(np.full(len(members), " "), pa.string()),
                         pa.array(gaps)), "")
    return pc.binary_join(pa.ListArray.from_arrays(entity_offsets, pieces), "")


class _Entities:
    """The entities of a tagged batch's records (``records.entity_spans`` of each, column by
    column): flat, each entity's ``row``, and ``offsets`` of each row's entities into them.
    ``record_texts``: each row's own text (``kept_texts``), None where it has none: there an
    entity's text is the text between its offsets, taken in Python (entities are few: 1,975
    in WNUT-17 train's 62,730 tokens). ``with_texts=False``: no ``texts`` (span lines write
    none)."""

    def __init__(self, tokens, record_texts=None, with_texts=True):
        type_of_label, begins_of_label, types = label_types(tokens.label_names.to_pylist())
        label_ids = tokens.label_ids.to_numpy(zero_copy_only=False).astype(np.int64)
        record_firsts = np.zeros(len(label_ids), dtype=bool)
        record_firsts[tokens.offsets.to_numpy()[:-1][tokens.lengths > 0]] = True
        type_ids = type_of_label[label_ids]
        firsts, ends = entity_token_ranges(type_ids, begins_of_label[label_ids], record_firsts)
        self.row = tokens.row[firsts]
        self.offsets = list_offsets_of(np.bincount(self.row, minlength=len(tokens.lengths)))
        starts, token_ends = (column.to_numpy(zero_copy_only=False)
                              for column in (tokens.starts, tokens.ends))
        self.starts = pa.array(starts[firsts], pa.int32())
        self.ends = pa.array(token_ends[ends - 1], pa.int32())
        self.types = pa.array(types, pa.string())
        self.type_ids = pa.array(type_ids[firsts], pa.int32())
        # records.lowest_score of each entity's tokens: reduceat over [first, end) and [end,
        # next first), keeping the first of each pair (a 0 after the scores, as ``end`` may be
        # their length).
        scores = tokens.scores.to_numpy(zero_copy_only=False)
        bounds = np.stack([firsts, ends], axis=1).ravel()
        self.scores = (np.minimum.reduceat(np.append(scores, scores.dtype.type(0)), bounds)[::2]
                       + scores.dtype.type(0) if len(firsts) else scores[:0])
        if not with_texts:
            self.texts = None
            return
        if record_texts is None:
            self.texts = _placed_texts(tokens, firsts, ends, starts, token_ends)
            return
        rebuilt = None
        texts = []
        for entity, (row, start, end) in enumerate(zip(
                self.row.tolist(), self.starts.to_pylist(), self.ends.to_pylist())):
            text = record_texts[row]
            if text is None:
                if rebuilt is None:
                    rebuilt = _placed_texts(tokens, firsts, ends, starts,
                                            token_ends).to_pylist()
                text, start, end = rebuilt[entity], 0, None
            texts.append(text[start:end])
        self.texts = pa.array(texts, pa.string())

    def struct(self):
        """Each row's entities as a list of ``write_results.ENTITY_TYPE`` structs."""
        from beamtagger.transforms.write_results import ENTITY_TYPE

        values = pa.StructArray.from_arrays(
            [self.texts, self.starts, self.ends, self.types.take(self.type_ids),
             pa.array(self.scores.astype(np.float32))], fields=list(ENTITY_TYPE))
        return pa.ListArray.from_arrays(self.offsets, values)

    def rows_with_control(self):
        """The rows with an entity whose text holds a control character (a line break the
        record's own text has between two tokens), which orjson escapes as ``\\uXXXX``: left
        out for ``to_json_line``."""
        control = pc.match_substring_regex(self.texts, _CONTROL).to_numpy(zero_copy_only=False)
        return set(self.row[control].tolist())

    def json(self):
        """Each row's entities as the inside of a JSON array, as ``to_json_line`` writes them
        (a score's text as a token's: ``_score_json``; the rows whose tokens' texts or scores
        that text cannot be are left out there, and an entity's are its tokens', or are left
        out by ``rows_with_control``); without ``texts``, as ``to_spans_line`` writes its
        spans."""
        if self.texts is None:
            starts = _with_prefix(self.starts, '{"start":')
        else:
            texts, _ = _json_escaped(self.texts)
            starts = pc.binary_join_element_wise(
                '{"text":"', texts, _with_prefix(self.starts, '","start":'), "")
        types = pa.array([',"label":' + orjson.dumps(name).decode() + ',"score":'
                          for name in self.types.to_pylist()], pa.string())
        k = np.rint(self.scores.astype(np.float64) * _SCALE)
        k = np.where((k >= 0) & (k <= _SCALE), k, 0).astype(np.int64)
        objects = pc.binary_join_element_wise(
            starts, _with_prefix(self.ends, ',"end":'), types.take(self.type_ids),
            _score_json().take(pa.array(k)), "}", "")
        return pc.binary_join(pa.ListArray.from_arrays(self.offsets, objects), ",")


def _score_steps(tokens):
    """(each token's score as its index into ``_score_json``; True where that text is not the
    one ``round(score, 4)`` gives: NaN, -0.0 and scores outside [0, 1], and every score of a
    batch whose scores are not the tag stage's float32, whose rounding is not reproduced)."""
    scores = tokens.scores.to_numpy(zero_copy_only=False)
    if scores.dtype != np.float32:
        return np.zeros(len(scores), dtype=np.int64), np.ones(len(scores), dtype=bool)
    k = np.rint(scores.astype(np.float64) * _SCALE)
    bad_score = ~((k >= 0) & (k <= _SCALE)) | np.signbit(scores)   # NaN, -0.0 too
    return np.where(bad_score, 0, k).astype(np.int64), bad_score


def span_lines_text(tagged, record_texts=None):
    """(the span lines of the batch's records as UTF-8 bytes, newline-separated with no final
    newline, as ``to_spans_line`` writes each; the rows left out of them for it).
    ``record_texts``: each row's own text (``kept_texts``), None where it has none: there its
    tokens as their offsets place them.

    Only the entities are columns here (a line holds no token); the text, the id's escapes
    and the pass-through fields are written a record at a time, as orjson writes them."""
    from beamtagger.transforms.write_results import span_line_fields

    tokens = _Tokens(tagged)
    _, bad_scores = _score_steps(tokens)   # an entity's score is one of its tokens'
    left_out = set(tokens.row[bad_scores].tolist())
    ids, id_control = _json_escaped(tagged.column("id"))
    if id_control is not None:
        left_out.update(np.flatnonzero(id_control).tolist())
    texts = list(record_texts) if record_texts is not None else [None] * tagged.num_rows
    without = [row for row, text in enumerate(texts) if text is None]
    if without:
        for row, text in zip(without, _placed_record_texts(tokens, without)):
            texts[row] = text
    fields = tagged.column("fields").to_pylist()
    text_json, tails = [], []
    for row, (text, fields_text) in enumerate(zip(texts, fields)):
        try:
            text_json.append(orjson.dumps(text).decode())
            tail = (orjson.dumps(span_line_fields(json.loads(fields_text))).decode()[1:-1]
                    if fields_text else "")
        except TypeError:   # a lone surrogate, an integer beyond 64 bits: to_spans_line's
            left_out.add(row)
            text_json.append("")
            tail = ""
        tails.append("," + tail if tail else "")
    spans = tokens.entities(with_texts=False).json()
    lines = pc.binary_join_element_wise(
        '{"id":"', ids, '","text":', pa.array(text_json, pa.string()), ',"spans":[', spans,
        "]", pa.array(tails, pa.string()), "}\n", "")
    if left_out:
        keep = np.ones(tagged.num_rows, dtype=bool)
        keep[sorted(left_out)] = False
        lines = lines.filter(keep)
    return _data(lines)[:-1], sorted(left_out)


def _placed_record_texts(tokens, rows):
    """``write_results.placed_tokens_text`` of each of ``rows``: its tokens as their offsets
    place them, from offset 0."""
    starts, token_ends = (column.to_numpy(zero_copy_only=False)
                          for column in (tokens.starts, tokens.ends))
    offsets = tokens.offsets.to_numpy()
    rows = np.asarray(rows, dtype=np.int64)
    with_tokens = rows[tokens.lengths[rows] > 0]
    firsts = offsets[with_tokens]
    placed = iter(_placed_texts(tokens, firsts, offsets[with_tokens + 1], starts,
                                token_ends).to_pylist())
    leads = iter(np.maximum(starts[firsts], 0).tolist())
    return [" " * next(leads) + next(placed) if tokens.lengths[row] else ""
            for row in rows.tolist()]


def json_lines_text(tagged, entities=False, record_texts=None):
    """(the JSON Lines of the batch's records as UTF-8 bytes, newline-separated with no final
    newline; the rows left out of them for ``to_json_line``). ``entities``: each line ends
    with the record's entities, as ``to_json_line(record, entities=True)`` writes them, with
    ``record_texts`` (``kept_texts``) as ``to_json_line(record, True, text)`` does.

    A token's object is one join of four columns (an Arrow join with constant columns costs
    three times as much: 260 against 84 ns a token, measured on this machine), the record's
    objects joined with the text between two of them as separator, and the lines are the
    data of one Arrow string array.
    """
    tokens = _Tokens(tagged)
    k, left_out_tokens = _score_steps(tokens)
    texts, control = _json_escaped(tokens.texts)
    if control is not None:   # orjson writes \u00XX; such records take to_json_line
        left_out_tokens |= control
    left_out = tokens.rows_where(left_out_tokens)
    label_and_score = _label_and_score_json(tuple(tokens.label_names.to_pylist())).take(
        pa.array(tokens.label_ids.to_numpy(zero_copy_only=False).astype(np.int64)
                 * (_SCALE + 1) + k))
    # text + ","start":S + ,"end":E + ,"label":L,"score":P: one join of four columns, the
    # middle two taken from tables of their texts.
    objects = pc.binary_join_element_wise(
        texts, _with_prefix(tokens.starts, '","start":'), _with_prefix(tokens.ends, ',"end":'),
        label_and_score, "")
    joined = tokens.per_record(objects, '},{"text":"')
    heads = _json_heads(tagged, left_out, entities)
    tails = []
    if entities:
        found = tokens.entities(record_texts)
        if record_texts is not None:
            left_out |= found.rows_with_control()
        tails.append(found.json())
    keep = np.ones(tagged.num_rows, dtype=bool)
    keep[sorted(left_out)] = False
    if not keep.all():
        joined, heads = joined.filter(keep), heads.filter(keep)
        tails = [tail.filter(keep) for tail in tails]
    ending = ['}],"entities":[', *tails, "]}\n"] if entities else ["}]}\n"]
    lines = pc.binary_join_element_wise(heads, ',"tokens":[{"text":"', joined, *ending, "")
    return _data(lines)[:-1], sorted(left_out)


def _json_escaped(texts):
    """(``texts`` with the quote and the backslash escaped as JSON does; a bool array marking
    texts with control characters, or None when there are none).

    The texts to escape are found in their bytes with NumPy, and where they are few (a quote
    token now and then) the column is put back together from slices around them, where two
    ``match_substring`` passes and ``replace_with_mask`` went over every text (with the line
    made in one join: the JSON Lines stage 0.39 -> 0.31 core-µs a token on EWT x5,
    ``bench/stage_costs.py --before --after``)."""
    values = texts.buffers()[2]
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)[
        texts.offset:texts.offset + len(texts) + 1]
    first = int(offsets[0]) if len(offsets) else 0
    data = np.frombuffer(values or b"", dtype=np.uint8)[first:int(offsets[-1]) if len(offsets)
                                                        else 0]
    control = None
    if (data < 0x20).any():
        control = pc.match_substring_regex(texts, _CONTROL).to_numpy(zero_copy_only=False)
    hits = np.flatnonzero((data == 0x22) | (data == 0x5C))
    if not len(hits):
        return texts, control
    rows = np.unique(np.searchsorted(offsets, hits + first, side="right") - 1)
    escaped = pc.replace_substring(pc.replace_substring(
        texts.take(pa.array(rows)), "\\", "\\\\"), '"', '\\"')
    if len(rows) * _SLICES_UP_TO > len(texts):
        mask = np.zeros(len(texts), dtype=bool)
        mask[rows] = True
        return pc.replace_with_mask(texts, pa.array(mask), escaped), control
    pieces, done = [], 0
    for i, row in enumerate(rows.tolist()):
        if row > done:
            pieces.append(texts.slice(done, row - done))
        pieces.append(escaped.slice(i, 1))
        done = row + 1
    if done < len(texts):
        pieces.append(texts.slice(done))
    return pa.concat_arrays(pieces), control


# Where at most one text in this many needs escaping, the column is rebuilt from slices.
_SLICES_UP_TO = 64


def _json_heads(tagged, left_out, entities=False):
    """'{"id":...' and the pass-through fields of every row, as orjson writes them at the
    start of ``TaggedRecord.to_json_dict(entities=entities)``; rows orjson refuses join
    ``left_out``."""
    ids, id_control = _json_escaped(tagged.column("id"))
    heads = pc.binary_join_element_wise('{"id":"', ids, '"', "")
    if id_control is not None:
        left_out.update(np.flatnonzero(id_control).tolist())
    fields = tagged.column("fields")
    if fields.null_count == len(fields):
        return heads
    with_fields = pc.is_valid(fields)
    heads = heads.to_pylist()
    records_fields = fields.to_pylist()
    for row in np.flatnonzero(with_fields.to_numpy(zero_copy_only=False)).tolist():
        head = None if row in left_out else _json_head(tagged.column("id")[row].as_py(),
                                                       records_fields[row], entities)
        if head is None:
            left_out.add(row)
            head = ""
        heads[row] = head
    return pa.array(heads, pa.string())


_TABLE_SIZE = 1 << 16


@functools.lru_cache(maxsize=4)
def _prefixed_decimals(prefix):
    """``prefix`` + the decimal text of every number below 65,536, made in Arrow."""
    numbers = pc.cast(pa.array(np.arange(_TABLE_SIZE, dtype=np.int32)), pa.string())
    return pc.binary_join_element_wise(prefix, numbers, "")


def _with_prefix(numbers, prefix):
    """``prefix`` + the decimal text of each int32: a take from a table below 65,536 (the
    cast and a join with a constant cost four times as much), else the cast and the join."""
    if len(numbers):
        extremes = pc.min_max(numbers).as_py()
        if extremes["min"] < 0 or extremes["max"] >= _TABLE_SIZE:
            return pc.binary_join_element_wise(prefix, pc.cast(numbers, pa.string()), "")
    return _prefixed_decimals(prefix).take(numbers)


def _data(strings):
    """The bytes of a string array's values, one after the other (one copy)."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)[
        strings.offset:strings.offset + len(strings) + 1]
    return strings.buffers()[2][offsets[0]:offsets[-1]].to_pybytes() if len(strings) else b""


def _json_head(record_id, fields_text, entities=False):
    """'{"id":...' and the pass-through fields, as orjson writes them at the start of
    ``TaggedRecord.to_json_dict(entities=entities)``; None where orjson refuses them."""
    if not fields_text:
        return '{"id":' + orjson.dumps(record_id).decode()
    out = TaggedRecord(record_id, (), (), (), (), (), "", json.loads(fields_text)).to_json_dict(
        entities=entities)
    del out["tokens"]
    if entities:
        del out["entities"]
    try:
        return orjson.dumps(out).decode()[:-1]
    except TypeError:
        return None


def parquet_table(tagged, entities=False, record_texts=None, field_columns=(), left_out=None):
    """The batch's records as a table of ``write_results.result_schema(entities,
    field_columns)`` (``record_texts``: as in ``json_lines_text``). A row whose field column
    does not convert (``field_columns.field_column_values``) is left out of the table and its
    row number added to ``left_out`` (a list), for ``to_parquet_row`` to refuse; without
    ``left_out`` the ValueError is raised."""
    from beamtagger.transforms.field_columns import FIELD_TYPES
    from beamtagger.transforms.write_results import TOKEN_TYPE, fields_json, result_schema

    tokens = _Tokens(tagged)
    struct = pa.StructArray.from_arrays(
        [tokens.texts, tokens.starts, tokens.ends, tokens.label_names.take(tokens.label_ids),
         pc.cast(tokens.scores, pa.float32())], fields=list(TOKEN_TYPE))
    texts, failed = tagged.column("fields").to_pylist(), []
    if field_columns:
        rows = _field_columns_and_rest(texts, field_columns, failed, left_out is None)
        fields = [fields_json(rest) for _, rest in rows]
        values = [pa.array([row_values[i] for row_values, _ in rows], FIELD_TYPES[column.type])
                  for i, column in enumerate(field_columns)]
    else:   # as before field columns: 9% of the table's time went to their loop
        fields = [None if text is None else fields_json(json.loads(text)) for text in texts]
        values = []
    columns = [tagged.column("id"), *values, pa.ListArray.from_arrays(tokens.offsets, struct),
               pa.array(fields, pa.string())]
    if entities:
        columns.append(tokens.entities(record_texts).struct())
    table = pa.Table.from_arrays(columns, schema=result_schema(entities, field_columns))
    if not failed:
        return table
    left_out.extend(failed)
    keep = np.ones(tagged.num_rows, dtype=bool)
    keep[failed] = False
    return table.filter(pa.array(keep))


def _field_columns_and_rest(texts, field_columns, failed, raises):
    """(each row's field column values, its other fields) of ``texts`` (the fields column's
    JSON); the rows whose values do not convert are added to ``failed``, with nulls, or with
    ``raises`` their ValueError raised."""
    from beamtagger.transforms.field_columns import field_column_values

    rows = []
    for row, text in enumerate(texts):
        try:
            rows.append(field_column_values(None if text is None else json.loads(text),
                                            field_columns))
        except ValueError:
            if raises:
                raise
            failed.append(row)
            rows.append(((None,) * len(field_columns), None))
    return rows


def conll_text(tagged):
    """(the CoNLL blocks of the batch's records as UTF-8 bytes, as ``to_conll_block`` writes
    each, separated by the newline WriteToText puts after each; the rows left out of them)."""
    from beamtagger.transforms.write_results import conll_id_line

    tokens = _Tokens(tagged)
    if any(re.search(_CONLL_LEFT_OUT, name) for name in tokens.label_names.to_pylist()):
        return b"", list(range(tagged.num_rows))
    left_out = tokens.rows_where(pc.match_substring_regex(tokens.texts, _CONLL_LEFT_OUT)
                                 .to_numpy(zero_copy_only=False))
    lines = tokens.per_record(pc.binary_join_element_wise(
        tokens.texts, tokens.label_names.take(tokens.label_ids), "\t"), "\n")
    left_out |= _rows_with_nul(tagged.column("id"))
    heads = pa.array([conll_id_line(record_id) for record_id in tagged.column("id").to_pylist()],
                     pa.string())
    keep = np.ones(tagged.num_rows, dtype=bool)
    keep[sorted(left_out)] = False
    if not keep.all():
        lines, heads = lines.filter(keep), heads.filter(keep)
    blocks = pc.binary_join_element_wise(pc.binary_join_element_wise(heads, lines, "\n"),
                                         "\n\n", "")
    return _data(blocks)[:-1], sorted(left_out)


@functools.lru_cache(maxsize=8)
def _conllu_label_suffixes(labels, tag_column):
    """``conllu_blocks.label_suffix`` of every label, at label_id * 2 + (SpaceAfter=No)."""
    from beamtagger.transforms.conllu_blocks import SPACE_AFTER_NO, label_suffix

    return pa.array([label_suffix(label, tag_column, spacing)
                     for label in labels for spacing in (None, SPACE_AFTER_NO)], pa.string())


def conllu_text(tagged, tag_column, keep_conllu_lines=False, record_texts=None):
    """(the CoNLL-U blocks of the batch's records as UTF-8 bytes, as ``conllu_block`` writes
    each, separated by the newline WriteToText puts after each; the rows left out of them:
    those without tokens, or with a form or label CoNLL-U cannot hold, for ``conllu_block``
    to refuse, with ``keep_conllu_lines`` those with their CoNLL-U lines kept, for
    ``conllu_block`` to write back, and with ``record_texts`` (``kept_texts``) those whose
    own text is not the forms joined as the offsets join them (a space where they are apart),
    for ``conllu_block`` to write with their text's spacing)."""
    from beamtagger.transforms.conllu_blocks import FORM_UNSAFE, label_problem
    from beamtagger.transforms.write_results import conll_id_line

    tokens = _Tokens(tagged)
    names = tuple(tokens.label_names.to_pylist())
    label_ids = tokens.label_ids.to_numpy(zero_copy_only=False).astype(np.int64)
    unsafe = pc.match_substring_regex(tokens.texts, f"{FORM_UNSAFE}|{_NUL}").to_numpy(
        zero_copy_only=False)
    unsafe |= pc.equal(pc.binary_length(tokens.texts), 0).to_numpy(zero_copy_only=False)
    unsafe_labels = np.array([label_problem(name, tag_column) is not None or "\x00" in name
                              for name in names], dtype=bool)
    if unsafe_labels.any():
        unsafe |= unsafe_labels[label_ids]
    left_out = tokens.rows_where(unsafe)
    if keep_conllu_lines:
        left_out |= _rows_with_kept_lines(tagged)
    count = len(tokens.row)
    firsts = tokens.offsets.to_numpy()[:-1]
    number = np.arange(count, dtype=np.int32) - np.repeat(firsts, tokens.lengths).astype(
        np.int32) + 1
    last = np.zeros(count, dtype=bool)
    last[(firsts + tokens.lengths - 1)[tokens.lengths > 0]] = True
    glued = np.zeros(count, dtype=bool)
    starts, ends = (column.to_numpy(zero_copy_only=False)
                    for column in (tokens.starts, tokens.ends))
    glued[:-1] = ends[:-1] == starts[1:]
    glued &= ~last
    suffixes = _conllu_label_suffixes(names, tag_column).take(
        pa.array(label_ids * 2 + glued))
    lines = tokens.per_record(pc.binary_join_element_wise(
        _with_prefix(pa.array(number), ""), tokens.texts, suffixes, "\t"), "\n")
    spaces = pa.array(["", " "], pa.string()).take(pa.array((~(glued | last)).astype(np.int8)))
    texts = tokens.per_record(pc.binary_join_element_wise(tokens.texts, spaces, ""), "")
    if record_texts is not None:
        own = pa.array(record_texts, pa.string())
        differs = pc.fill_null(pc.not_equal(own, texts), False)
        left_out |= set(np.flatnonzero(differs.to_numpy(zero_copy_only=False)).tolist())
    left_out |= _rows_with_nul(tagged.column("id"))
    heads = pa.array([conll_id_line(record_id, "sent_id")
                      for record_id in tagged.column("id").to_pylist()], pa.string())
    keep = np.ones(tagged.num_rows, dtype=bool)
    keep[sorted(left_out)] = False
    if not keep.all():
        lines, texts, heads = lines.filter(keep), texts.filter(keep), heads.filter(keep)
    blocks = pc.binary_join_element_wise(heads, "\n# text = ", texts, "\n", lines, "\n\n", "")
    return _data(blocks)[:-1], sorted(left_out)


def _rows_with_nul(ids):
    """The rows whose id (of the column ``ids``) holds a NUL (see _NUL)."""
    found = pc.fill_null(pc.match_substring(ids, "\x00"), False)
    return set(np.flatnonzero(found.to_numpy(zero_copy_only=False)).tolist())


def kept_texts(tagged):
    """(each row's own text, kept in its fields by ``TagText(keep_text=True)``, None where it
    has none; ``tagged`` with those fields as the record came with them: ``kept_text``).
    Only the rows whose fields name the kept text are read (JSON, in Python)."""
    from beamtagger.transforms.kept_text import KEPT_TEXT_FIELD, split_kept_text

    fields = tagged.column("fields")
    texts = [None] * tagged.num_rows
    if fields.null_count == len(fields):
        return texts, tagged
    named = pc.fill_null(pc.match_substring(fields, f'"{KEPT_TEXT_FIELD}"'), False)
    rows = np.flatnonzero(named.to_numpy(zero_copy_only=False)).tolist()
    if not rows:
        return texts, tagged
    values = fields.to_pylist()
    for row in rows:
        texts[row], rest = split_kept_text(json.loads(values[row]))
        values[row] = None if rest is None else json.dumps(rest, ensure_ascii=False)
    columns = tagged.columns
    columns[tagged.schema.get_field_index("fields")] = pa.array(values, pa.string())
    return texts, pa.RecordBatch.from_arrays(columns, schema=tagged.schema)


def _rows_with_kept_lines(tagged):
    """The rows whose pass-through fields may hold kept CoNLL-U lines (``conllu_kept_lines``);
    a field value merely holding the key's text goes to ``conllu_block`` too, which looks."""
    from beamtagger.transforms.conllu_kept_lines import KEPT_LINES_FIELD

    fields = tagged.column("fields")
    if fields.null_count == len(fields):
        return set()
    found = pc.fill_null(pc.match_substring(fields, f'"{KEPT_LINES_FIELD}"'), False)
    return set(np.flatnonzero(found.to_numpy(zero_copy_only=False)).tolist())
