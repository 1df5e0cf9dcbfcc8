"""WriteDeadLetters: records that could not be tagged -> ``PREFIX-errors-SSSSS-of-NNNNN.jsonl``.

One JSON object per record, the same four string keys for every stage: ``source`` (where the
record is in the input, ``path:line`` or ``path:@byte``, else the record's key), ``stage`` (one
of ``records.STAGES``), ``reason`` (one line) and ``record`` (what the failing stage held:
``DeadLetter``; invalid UTF-8 shown as \\x.. escapes, lone surrogates as \\udXXX, so the file
is always valid UTF-8 JSON). Together with the results this accounts for every input record;
docs/tagging.md's "The result files" shows how to take the failed records from the input by
``source``. A dead letter of stage "read" is no record but a file or the rest of one that was
not read (``records.UNREAD_STAGE``); ``unread_sources`` finds them again for the summary.
"""
import json

import apache_beam as beam
from apache_beam.options.value_provider import NestedValueProvider, ValueProvider

from beamtagger.transforms.records import UNREAD_STAGE, DeadLetter

__all__ = ["ERRORS_SUFFIX", "WriteDeadLetters", "errors_prefix", "unread_sources"]

ERRORS_SUFFIX = "-errors"


def errors_prefix(output_prefix):
    """The prefix of the dead-letter files of a run writing results under ``output_prefix``
    (a ``ValueProvider``'s, a classic template's output, when the job reads it)."""
    if isinstance(output_prefix, ValueProvider):
        return NestedValueProvider(output_prefix, _with_errors_suffix)
    return _with_errors_suffix(output_prefix)


def _with_errors_suffix(output_prefix):
    return output_prefix + ERRORS_SUFFIX


def unread_sources(error_files):
    """The ``source`` of each dead letter of stage "read" (a part of the input not read) in
    ``error_files`` (paths, local or remote), in file order. Only lines that hold the stage's
    JSON text are parsed: the other dead letters cost a substring search each."""
    from apache_beam.io.filesystems import FileSystems

    marker = json.dumps({"stage": UNREAD_STAGE})[1:-1].encode("utf-8")   # '"stage": "read"'
    for path in error_files:
        with FileSystems.open(path) as handle:
            for line in handle:
                if marker in line:
                    letter = json.loads(line)
                    if letter["stage"] == UNREAD_STAGE:
                        yield letter["source"]


@beam.typehints.with_input_types(DeadLetter)
class WriteDeadLetters(beam.PTransform):
    """Writes DeadLetters as JSON Lines under ``errors_prefix(output_prefix)``; returns the
    names of the files written.

    Args:
      output_prefix: the run's output prefix; the files are ``PREFIX-errors-SSSSS-of-NNNNN.jsonl``.
      num_shards: how many files (0: the runner decides).
      triggering_frequency: unbounded input: as ``WriteResults``' (needed in the global
        window; late dead letters are written to files of their own, as late results are).
    """

    def __init__(self, output_prefix, num_shards=0, triggering_frequency=None):
        from beamtagger.transforms.write_results import (check_num_shards,
                                                         check_triggering_frequency,
                                                         output_prefix_option)

        super().__init__()
        self.output_prefix = output_prefix_option(output_prefix)
        self.num_shards = check_num_shards(num_shards)
        self.triggering_frequency = check_triggering_frequency(triggering_frequency)

    def expand(self, dead_letters):
        from beamtagger.transforms.write_panes import WritePanes, in_write_windows
        from beamtagger.transforms.write_results import exact_shard_glob

        write = exact_shard_glob(beam.io.WriteToText(
            errors_prefix(self.output_prefix), file_name_suffix=".jsonl",
            num_shards=self.num_shards))
        lines = (in_write_windows(dead_letters, self.triggering_frequency, "WindowEvery")
                 | "AsJson" >> beam.Map(lambda letter: letter.to_json()))
        return lines | "WriteErrors" >> (write if lines.is_bounded else WritePanes(write))
