"""Beam metrics counters of the tagging stages, and the run summary built from them.

All counters live in the ``beamtagger`` namespace, so Dataflow's job page and
``PipelineResult.metrics()`` show them next to each other. Batch-level counts are added once per
batch (``inc(n)``), not per token.
"""
import re

from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

__all__ = ["NAMESPACE", "dead_letters_meaning", "field_column_nulls", "format_field_columns",
           "format_model_metrics", "format_records_summary", "format_shared_summary",
           "format_summary", "padding_efficiency", "query_counters",
           "query_counters_by_model", "query_distributions", "query_distributions_by_model"]

NAMESPACE = "beamtagger"

RECORDS_READ = Metrics.counter(NAMESPACE, "records_read")        # by ReadRecords, bad ones too
RECORDS_TAGGED = Metrics.counter(NAMESPACE, "records_tagged")    # output records
TOKENS = Metrics.counter(NAMESPACE, "tokens")                    # tokens of tokenized records
BATCHED_TOKENS = Metrics.counter(NAMESPACE, "batched_tokens")    # real tokens sent to the model
PADDED_SLOTS = Metrics.counter(NAMESPACE, "padded_slots")        # B x T summed over batches
OOV_TOKENS = Metrics.counter(NAMESPACE, "oov_tokens")            # tokens without a stored vector
BATCHES = Metrics.counter(NAMESPACE, "batches")
LONG_RECORDS = Metrics.counter(NAMESPACE, "long_records")        # records split into chunks
CHUNKS = Metrics.counter(NAMESPACE, "chunks")                    # chunks cut from long records
DEAD_LETTERS = Metrics.counter(NAMESPACE, "dead_letters")
# Dead letters of stage "read" (records.UNREAD_STAGE), also in dead_letters and records_read:
# each a file or the rest of one that was not read, of records unknown.
UNREAD_PARTS = Metrics.counter(NAMESPACE, "unread_parts")
FIELD_COLUMN_ROWS = Metrics.counter(NAMESPACE, "field_column_rows")  # Parquet rows written


def field_column_nulls(name):
    """The counter of the nulls written to the field column ``name`` (field_columns)."""
    return Metrics.counter(NAMESPACE, f"field_column_nulls:{name}")


# The tag stage's model metrics, under the names Beam's RunInference gives the same things
# (apache_beam/ml/inference/base.py, _MetricsCollector), so dashboards built for RunInference
# read TagBatches too. Batch size in tokens has no RunInference counterpart.
LOAD_MODEL_LATENCY_MILLI_SECS = Metrics.distribution(NAMESPACE, "load_model_latency_milli_secs")
INFERENCE_BATCH_LATENCY_MICRO_SECS = Metrics.distribution(
    NAMESPACE, "inference_batch_latency_micro_secs")
INFERENCE_REQUEST_BATCH_SIZE = Metrics.distribution(NAMESPACE, "inference_request_batch_size")
INFERENCE_REQUEST_BATCH_TOKENS = Metrics.distribution(NAMESPACE, "inference_request_batch_tokens")
NUM_INFERENCES = Metrics.counter(NAMESPACE, "num_inferences")          # records through the model
FAILED_BATCHES = Metrics.counter(NAMESPACE, "failed_batches_counter")  # retried record by record

COUNTER_NAMES = ("records_read", "records_tagged", "dead_letters", "unread_parts", "tokens",
                 "batched_tokens", "padded_slots", "oov_tokens", "batches", "long_records",
                 "chunks")


def query_counters(result):
    """{counter name: value} of a finished pipeline's beamtagger counters (0 when absent)."""
    counts = dict.fromkeys(COUNTER_NAMES, 0)
    metrics = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    for metric in metrics["counters"]:
        _add_count(counts, metric)
    return counts


def query_counters_by_model(result, names):
    """{model name: its counts} of a pass of several models (``TagTextWithModels``,
    ``beamtagger tag --model NAME=DIR ...``), each what a pipeline of that model alone counts.

    Every model's steps count under the same names (two Tag steps each add to
    ``records_tagged``): a model's own are those whose label holds its name (``Tag[upos]``,
    ``WriteResults[upos]``, ``AttachVectors[upos+ner]`` for a group of models), the others
    (reading, Tokenize, an AttachVectors for all) count for every model."""
    counts = {name: dict.fromkeys(COUNTER_NAMES, 0) for name in names}
    metrics = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    for metric in metrics["counters"]:
        for name in _models_of_step(metric.key.step, names):
            _add_count(counts[name], metric)
    return counts


def _add_count(counts, metric):
    # Committed values are exact where the runner supports them; attempted otherwise.
    value = metric.committed if metric.committed is not None else metric.attempted
    counts[metric.key.metric.name] = counts.get(metric.key.metric.name, 0) + (value or 0)


# A step's label part that names models: "Tag[upos]", "AttachVectors[upos+ner]"
# (models_to_tag.ModelToTag.label; names hold no "+", "[" or "/").
_MODELS_IN_LABEL = re.compile(r"[^/\[]*\[([A-Za-z0-9_+-]+)\]")


def _models_of_step(step, names):
    """The models of ``names`` whose counts a metric of ``step`` (its full label) adds to."""
    for part in (step or "").split("/"):
        named = _MODELS_IN_LABEL.fullmatch(part)
        if named:
            own = [name for name in named.group(1).split("+") if name in names]
            if own:
                return own
    return names


def query_distributions(result):
    """{distribution name: DistributionResult} of a finished pipeline's beamtagger distributions."""
    found = {}
    metrics = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    for metric in metrics["distributions"]:
        value = metric.committed if metric.committed is not None else metric.attempted
        if value is not None and value.count:
            found[metric.key.metric.name] = value
    return found


def query_distributions_by_model(result, names):
    """{model name: {distribution name: DistributionResult}}, as ``query_counters_by_model``
    splits the counters (the tag stage's latencies are each model's own)."""
    from apache_beam.metrics.cells import DistributionResult

    found = {name: {} for name in names}
    metrics = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    for metric in metrics["distributions"]:
        value = metric.committed if metric.committed is not None else metric.attempted
        if value is None or not value.count:
            continue
        for name in _models_of_step(metric.key.step, names):
            key = metric.key.metric.name
            found[name][key] = (value if key not in found[name] else
                                DistributionResult(found[name][key].data.combine(value.data)))
    return found


def format_model_metrics(distributions):
    """Summary lines for the model's load and batch latencies (none when not reported)."""
    lines = []
    load = distributions.get("load_model_latency_milli_secs")
    if load is not None:
        # One load per worker process (TagBatches shares it within a process).
        where = f"  (once in each of {load.count} processes)" if load.count > 1 else ""
        lines.append(f"model load       {load.max / 1000:>12.1f} s{where}")
    latency = distributions.get("inference_batch_latency_micro_secs")
    if latency is not None:
        lines.append(f"batch latency    {latency.mean / 1000:>12.1f} ms  (max "
                     f"{latency.max / 1000:,.1f} ms over {latency.count:,} batches)")
    return lines


def dead_letters_meaning(counts):
    """What the dead letters of ``counts`` stand for, as the summary says it in parentheses:
    records that could not be tagged, and parts of the input that were not read (a file or its
    rest, ``unread_parts``), whose records nobody could count."""
    unread = counts["unread_parts"]
    records = counts["dead_letters"] - unread
    said = []
    if records or not unread:
        said.append(f"{records:,} record{'' if records == 1 else 's'} could not be tagged")
    if unread:
        said.append("1 part of the input was not read: a file or the rest of one, its records "
                    "unknown" if unread == 1 else f"{unread:,} parts of the input were not read: "
                    "each a file or the rest of one, their records unknown")
    return f"({'; '.join(said)})"


def padding_efficiency(counts):
    """Real tokens / padded slots over all batches (1.0 = no padding at all)."""
    return counts["batched_tokens"] / counts["padded_slots"] if counts["padded_slots"] else 1.0


# The share of batched tokens out of the store's vocabulary above which the summary asks
# whether the text is in the store's language, over at least OOV_NOTE_MIN_TOKENS tokens. With
# the default store English has 1.8% (EWT dev's raw text) to 3.0% (WNUT-17 dev); a run of
# another script far more (Greek, Russian, Korean, Arabic, Hindi sentences: 61-80%; Chinese and
# Japanese 50%, a sentence one token beside its "。"). German (20%), French (10%) and Spanish
# (8%) stay under it: GloVe 6B holds many of their words. The note names no language and no
# expected share: a store of the user's own (another language's vectors, a domain's words) has
# its own, and "English text has 2-3%" told that user nothing true. The share is the summary's
# own (OOV over batched tokens: a chunked record's overlap counts in both alike), and
# --summary-json carries both counts, the share and whether the note was said, for a script to
# judge by its own line or by this one.
OOV_NOTE_SHARE = 0.25
OOV_NOTE_MIN_TOKENS = 100


def oov_share(counts):
    """The share of batched tokens with no vector in the store (0.0 where none was batched):
    the summary's "OOV tokens" percentage, and --summary-json's ``oov_share``."""
    return counts["oov_tokens"] / counts["batched_tokens"] if counts["batched_tokens"] else 0.0


def oov_note_due(counts):
    """Whether over OOV_NOTE_SHARE of at least OOV_NOTE_MIN_TOKENS batched tokens have no
    vector in the store: the summary's note under "OOV tokens", --summary-json's
    ``oov_note``."""
    batched = counts["batched_tokens"]
    return batched >= OOV_NOTE_MIN_TOKENS and counts["oov_tokens"] > OOV_NOTE_SHARE * batched


def _oov_share_notes(counts):
    """The summary's line under "OOV tokens" where ``oov_note_due``; else none."""
    if not oov_note_due(counts):
        return []
    return [f"{'':17}(over {OOV_NOTE_SHARE:.0%}: is the text in the store's language? "
            "docs/tokenizer.md, \"Text in other languages\")"]


def format_summary(counts, seconds):
    """The lines ``beamtagger tag`` prints at the end of a local run."""
    shared = format_shared_summary(counts, seconds)
    return shared[:1] + format_records_summary(counts) + shared[1:]


def format_shared_summary(counts, seconds):
    """The summary's lines that hold for every model of a pass of several (``counts``: any
    one's, ``query_counters_by_model``): records read, tokens, OOV tokens, batches, padded
    slots, long records, wall time."""
    rate = counts["tokens"] / seconds if seconds > 0 else 0.0
    oov = oov_share(counts)
    return [
        f"records read     {counts['records_read']:>12,}",
        f"tokens           {counts['tokens']:>12,}",
        f"OOV tokens       {counts['oov_tokens']:>12,}  ({oov:.1%} of batched tokens)",
        *_oov_share_notes(counts),
        f"batches          {counts['batches']:>12,}",
        f"padded slots     {counts['padded_slots']:>12,}  "
        f"(padding efficiency {padding_efficiency(counts):.3f})",
        f"long records     {counts['long_records']:>12,}  ({counts['chunks']:,} chunks)",
        f"wall time        {seconds:>12.1f} s  ({rate:,.0f} tokens/s)",
    ]


def format_records_summary(counts):
    """The summary's lines of a model's own: records tagged, dead letters."""
    return [f"records tagged   {counts['records_tagged']:>12,}",
            f"dead letters     {counts['dead_letters']:>12,}"]


def format_field_columns(counts, columns):
    """``(summary lines, warnings)`` of the field columns ``columns`` (FieldColumns): the nulls
    of each, and a warning for one null in every row written (JSON Lines input has no header to
    refuse a misspelled name by before launch). A CSV or TSV column's name was found in a header
    before launch, so its warning names empty cells, not a misspelling."""
    rows = counts.get("field_column_rows", 0)
    lines, warnings = [], []
    for name, _, empty_is_null in columns:
        nulls = counts.get(f"field_column_nulls:{name}", 0)
        lines.append(f"field column {name}: null in {nulls:,} of {rows:,} records")
        if rows and nulls == rows:
            why = ("every record's cell was empty, or its file has no such column"
                   if empty_is_null else f"none carried a field {name!r} (a misspelled name?)")
            warnings.append(f"warning: --field-columns: {name!r} is null in every record "
                            f"written: {why}")
    return lines, warnings
