"""The run summary built from the counters (transforms/counters.py), line by line, without a
pipeline: the end-to-end summary tests run the CLI on a trained tagger, and a mutation pass
found that no fast test would notice a summary line's count, share or wording change."""
import pytest
from apache_beam.metrics.cells import DistributionData, DistributionResult
from apache_beam.metrics.execution import MetricKey, MetricResult
from apache_beam.metrics.metricbase import MetricName

from beamtagger.transforms import counters

COUNTS = dict(records_read=1200, records_tagged=1190, dead_letters=10, unread_parts=0,
              tokens=30000, batched_tokens=30500, padded_slots=32000, oov_tokens=610,
              batches=42, long_records=3, chunks=9)


def test_the_summary_gives_every_count_with_its_share_and_rate():
    assert counters.format_summary(COUNTS, 12.0) == [
        "records read            1,200",
        "records tagged          1,190",
        "dead letters               10",
        "tokens                 30,000",
        "OOV tokens                610  (2.0% of batched tokens)",
        "batches                    42",
        "padded slots           32,000  (padding efficiency 0.953)",
        "long records                3  (9 chunks)",
        "wall time                12.0 s  (2,500 tokens/s)",
    ]


def test_a_run_of_nothing_has_no_division_by_zero_in_its_summary():
    nothing = dict.fromkeys(COUNTS, 0)
    lines = counters.format_summary(nothing, 0.0)
    assert "OOV tokens                  0  (0.0% of batched tokens)" in lines
    assert "padded slots                0  (padding efficiency 1.000)" in lines
    assert "wall time                 0.0 s  (0 tokens/s)" in lines
    # Under a second is a rate too.
    assert counters.format_summary(COUNTS, 0.5)[-1] == (
        "wall time                 0.5 s  (60,000 tokens/s)")
    assert counters.padding_efficiency(nothing) == 1.0 and counters.oov_share(nothing) == 0.0


@pytest.mark.parametrize("batched, oov, due", [
    (100, 26, True),     # over a quarter of the least number of tokens judged
    (100, 25, False),    # a quarter exactly is not over it
    (99, 99, False),     # too few tokens to judge
    (1000, 251, True),
])
def test_the_oov_note_is_due_over_a_quarter_of_at_least_100_batched_tokens(batched, oov, due):
    counts = dict(COUNTS, batched_tokens=batched, oov_tokens=oov)
    assert counters.oov_note_due(counts) is due
    lines = counters.format_shared_summary(counts, 1.0)
    notes = [line for line in lines if "is the text in the store's language?" in line]
    assert len(notes) == int(due)
    if due:
        # The note sits right under the OOV line it explains.
        assert lines[lines.index(notes[0]) - 1].startswith("OOV tokens")


@pytest.mark.parametrize("dead, unread, said", [
    (0, 0, "(0 records could not be tagged)"),
    (1, 0, "(1 record could not be tagged)"),
    (3, 1, "(2 records could not be tagged; 1 part of the input was not read: a file or the "
           "rest of one, its records unknown)"),
    (2, 2, "(2 parts of the input were not read: each a file or the rest of one, their "
           "records unknown)"),
])
def test_the_dead_letters_meaning_names_records_and_parts_in_number(dead, unread, said):
    assert counters.dead_letters_meaning({"dead_letters": dead, "unread_parts": unread}) == said


def distribution(count, total, low, high):
    return DistributionResult(DistributionData(total, count, low, high))


def test_model_metrics_give_the_slowest_load_and_the_mean_batch_latency():
    one_process = {"load_model_latency_milli_secs": distribution(1, 123456, 123456, 123456),
                   "inference_batch_latency_micro_secs": distribution(2, 246912, 12345, 234567)}
    assert counters.format_model_metrics(one_process) == [
        "model load              123.5 s",
        "batch latency           123.5 ms  (max 234.6 ms over 2 batches)"]
    two = {"load_model_latency_milli_secs": distribution(2, 4500, 2000, 2500)}
    assert counters.format_model_metrics(two) == [
        "model load                2.5 s  (once in each of 2 processes)"]
    assert counters.format_model_metrics({}) == []


class FakeResult:
    """A finished pipeline's result as the counters read it: metrics().query(filter)."""

    def __init__(self, counters_found, distributions_found=()):
        self.found = {"counters": list(counters_found),
                      "distributions": list(distributions_found)}

    def metrics(self):
        return self

    def query(self, metric_filter):
        return self.found


def counted(step, name, committed, attempted=None):
    return MetricResult(MetricKey(step, MetricName("beamtagger", name)), committed, attempted)


def test_each_model_counts_its_own_steps_and_the_shared_ones():
    result = FakeResult([
        counted("ReadRecords/Read", "records_read", 5),
        counted("Tokenize", "tokens", 20),
        counted("AttachVectors[upos+ner]/Look up", "oov_tokens", 2),
        counted("Tag[upos]/TagBatches", "records_tagged", 5),
        counted("Tag[ner]/TagBatches", "records_tagged", 4),
        # No committed value (a runner without them): the attempted one counts.
        counted("Tag[ner]/TagBatches", "dead_letters", None, 1),
        counted("WriteResults[other]/Write", "dead_letters", 7),   # no model of these
        counted("WriteResults[upos]/Rows", "field_column_rows", 3),   # no summary line's
        counted("Tag[upos]/TagBatches", "batches", None, None),   # never reported
    ])
    by_model = counters.query_counters_by_model(result, ["upos", "ner"])
    assert {name: {key: value for key, value in counts.items() if value}
            for name, counts in by_model.items()} == {
        "upos": {"records_read": 5, "tokens": 20, "oov_tokens": 2, "records_tagged": 5,
                 "dead_letters": 7, "field_column_rows": 3},
        "ner": {"records_read": 5, "tokens": 20, "oov_tokens": 2, "records_tagged": 4,
                "dead_letters": 8}}
    counts = counters.query_counters(result)
    assert (counts["dead_letters"], counts["batches"], counts["field_column_rows"]) == (8, 0, 3)


def test_each_model_gets_its_own_latencies_and_the_shared_ones_combined():
    key = "inference_batch_latency_micro_secs"
    result = FakeResult([], [
        MetricResult(MetricKey("Tag[upos]/TagBatches", MetricName("beamtagger", key)),
                     distribution(2, 30, 10, 20), None),
        MetricResult(MetricKey("Tag[ner]/TagBatches", MetricName("beamtagger", key)),
                     None, distribution(1, 50, 50, 50)),
        MetricResult(MetricKey("Shared", MetricName("beamtagger", key)),
                     distribution(1, 70, 70, 70), None),
        MetricResult(MetricKey("Tag[ner]/Never", MetricName("beamtagger", "load")),
                     distribution(0, 0, 0, 0), None),
    ])
    by_model = counters.query_distributions_by_model(result, ["upos", "ner"])
    assert {name: {k: (d.count, d.sum, d.max) for k, d in found.items()}
            for name, found in by_model.items()} == {
        "upos": {key: (3, 100, 70)}, "ner": {key: (2, 120, 70)}}


def test_distributions_never_reported_are_left_out():
    result = FakeResult([], [
        MetricResult(MetricKey("Tag", MetricName("beamtagger", "inference_request_batch_size")),
                     distribution(2, 5, 2, 3), None),
        MetricResult(MetricKey("Tag", MetricName("beamtagger", "load_model_latency_milli_secs")),
                     distribution(0, 0, 0, 0), None),
        MetricResult(MetricKey("Tag", MetricName("beamtagger", "inference_batch_latency_micro_secs")),
                     None, None),
    ])
    assert {k: (d.count, d.sum) for k, d in counters.query_distributions(result).items()} == {
        "inference_request_batch_size": (2, 5)}
