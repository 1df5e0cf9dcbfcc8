"""``beamtagger tag --output -``: the results on standard output, in the order of the input.

A Beam pipeline writes its results in sharded files, in no particular order. Here the pipeline
writes each record's formatted result beside its place in the input (``WriteKeyedResults``,
into a private temporary prefix), and once it has finished ``write_in_input_order`` copies them
to standard output sorted by that place: by file (in the code point order of their paths, as
``LC_ALL=C ls`` lists them), then by line, row or byte offset (``input_position``). Only an
index of places and byte offsets is held in memory, about 30 bytes a record, never the
records themselves.

While the results go there, everything the run prints besides them (the runtime line, progress,
the summary; native libraries' and worker processes' own output) goes to standard error
(``standard_output_for_results``), so the pipe carries the results alone.
"""
import contextlib
import glob
import json
import os
import sys
from array import array

import apache_beam as beam
import numpy as np
import orjson
import pyarrow as pa

__all__ = ["KEYED_SUFFIX", "TextStream", "WriteKeyedResults", "dead_letters_in_input_order",
           "input_position", "standard_output_for_results", "write_in_input_order"]

# The keyed results' files: PREFIX-SSSSS-of-NNNNN.keyed, one line a record.
KEYED_SUFFIX = ".keyed"


def input_position(source):
    """(file, place) of a record's ``source`` (``path:line``, ``path:row``, ``path:@byte``):
    what orders it in the input. A source without a place of its own sorts first in its
    ``file`` (place -1)."""
    path, colon, place = source.rpartition(":")
    number = place[1:] if place.startswith("@") else place
    if not colon or not number.isdigit():
        return source, -1
    return path, int(number)


def _json_text(text):
    try:
        return orjson.dumps(text)
    except TypeError:   # a lone surrogate (a file name Python could not decode)
        return json.dumps(text, ensure_ascii=True).encode("ascii")


def keyed_line(source, formatted):
    """``"FILE"<TAB>PLACE<TAB>"FORMATTED"``: the place first, readable without decoding the
    rest; the file and the formatted text as JSON strings, which hold no tab or line break."""
    path, place = input_position(source)
    return b"\t".join((_json_text(path), b"%d" % place, _json_text(formatted)))


class _FormatKeyedFn(beam.DoFn):
    """Tagged records or tagged batches -> ``keyed_line``s of what ``WriteResults`` would
    write for each record; a record that cannot be formatted is its dead letter, as there."""

    def __init__(self, *format_args):
        self.format_args = format_args

    def setup(self):
        from beamtagger.transforms.write_results import FormatResultFn

        self.format = FormatResultFn(*self.format_args)
        self.format.setup()

    def process(self, tagged):
        from beamtagger.transforms.tagged_batches import tagged_records

        records = tagged_records(tagged) if isinstance(tagged, pa.RecordBatch) else [tagged]
        for record in records:
            for output in self.format.process(record):
                if isinstance(output, beam.pvalue.TaggedOutput):
                    yield output
                else:
                    yield keyed_line(record.source, output)


class WriteKeyedResults(beam.PTransform):
    """Tagged records (one PCollection, or a tuple of them as ``TagTextInParts`` gives, tagged
    batches included) -> ``PREFIX-SSSSS-of-NNNNN.keyed`` files of ``keyed_line``s, bounded
    input only; returns ``WrittenResults(files, errors)`` as ``WriteResults`` does, whose
    arguments it takes (``parquet`` excepted: a Parquet file cannot be streamed)."""

    def __init__(self, output_prefix, output_format="jsonl", tag_column=None, entities=False,
                 keep_conllu_lines=False, keep_text=False):
        from beamtagger.transforms.conllu_blocks import DEFAULT_TAG_COLUMN

        super().__init__()
        if output_format not in ("jsonl", "conll", "conllu", "spans"):
            raise ValueError(f"output_format must be jsonl, conll, conllu or spans, not "
                             f"{output_format!r}")
        self.output_prefix = output_prefix
        self.format_args = (output_format, tag_column or DEFAULT_TAG_COLUMN, entities,
                            keep_conllu_lines, keep_text)

    def expand(self, tagged):
        from beamtagger.transforms.write_parts import WriteParts
        from beamtagger.transforms.write_results import ERRORS, WrittenResults, exact_shard_glob

        parts = [tagged] if isinstance(tagged, beam.PCollection) else list(tagged)
        formatted = [part | f"FormatKeyed{i}" >> beam.ParDo(
            _FormatKeyedFn(*self.format_args)).with_outputs(ERRORS, main="lines")
            for i, part in enumerate(parts)]
        errors = (tuple(out[ERRORS] for out in formatted)
                  | "MergeKeyedErrors" >> beam.Flatten())
        # The lines as they are: WriteToText's default coder takes text.
        write = exact_shard_glob(beam.io.WriteToText(
            self.output_prefix, file_name_suffix=KEYED_SUFFIX, coder=beam.coders.BytesCoder()))
        lines = tuple(out.lines for out in formatted)
        # As WriteResults: each part written where it is made, never merged row by row.
        files = (lines[0] | "WriteKeyed" >> write if len(lines) == 1
                 else lines | "WriteKeyed" >> WriteParts(write))
        return WrittenResults(files, errors)


def _written_files(output_prefix, suffix):
    """The shards a sink wrote under a local ``output_prefix``, in shard order."""
    from beamtagger.transforms.write_results import SHARD_GLOB

    return sorted(glob.glob(f"{glob.escape(output_prefix)}{SHARD_GLOB}{'[0-9]' * 5}{suffix}"))


def _indexed_lines(paths, key_of_line):
    """(file rank, place, path index, byte offset) arrays of every line of the files at
    ``paths``, sorted into input order by ``key_of_line(line) -> (file, place)``."""
    file_ids, places, shards, offsets = array("i"), array("q"), array("i"), array("q")
    file_names = {}
    for shard, path in enumerate(paths):
        offset = 0
        with open(path, "rb") as handle:
            for line in handle:
                file_name, place = key_of_line(line)
                file_ids.append(file_names.setdefault(file_name, len(file_names)))
                places.append(place)
                shards.append(shard)
                offsets.append(offset)
                offset += len(line)
    ranks = np.empty(len(file_names), dtype=np.int64)
    ranks[[file_names[name] for name in sorted(file_names)]] = np.arange(len(file_names))
    files = ranks[np.frombuffer(file_ids, dtype=np.int32)] if file_ids else ranks[:0]
    order = np.lexsort((np.frombuffer(places, dtype=np.int64), files))
    return (np.frombuffer(shards, dtype=np.int32)[order],
            np.frombuffer(offsets, dtype=np.int64)[order])


def _lines_in_order(paths, key_of_line):
    """The lines of the files at ``paths`` in input order, read back one at a time."""
    shards, offsets = _indexed_lines(paths, key_of_line)
    handles = []
    try:
        handles.extend(open(path, "rb") for path in paths)
        for shard, offset in zip(shards.tolist(), offsets.tolist()):
            handle = handles[shard]
            handle.seek(offset)
            yield handle.readline()
    finally:
        for handle in handles:
            handle.close()


def _keyed_key(line):
    # The file decoded: its JSON sorted otherwise where a quote or backslash escape meets
    # another path's character ("a" after "a b", '"' being above ' ').
    file_json, place, _ = line.split(b"\t", 2)
    return orjson.loads(file_json), int(place)


def write_in_input_order(output_prefix, stream):
    """Writes the results ``WriteKeyedResults`` wrote under ``output_prefix`` to ``stream``
    (binary) in input order, each followed by a newline as the result files have it; returns
    how many."""
    count = 0
    for line in _lines_in_order(_written_files(output_prefix, KEYED_SUFFIX), _keyed_key):
        formatted = orjson.loads(line.rstrip(b"\n").rsplit(b"\t", 1)[1])
        stream.write(formatted.encode("utf-8", "backslashreplace") + b"\n")
        count += 1
    return count


def _dead_letter_key(line):
    return input_position(orjson.loads(line)["source"])


def dead_letters_in_input_order(output_prefix, stream):
    """Writes the dead letters of the run writing under ``output_prefix`` (JSON Lines, as in
    its error files) to ``stream`` (binary) in input order."""
    from beamtagger.transforms.dead_letters import errors_prefix

    for line in _lines_in_order(_written_files(errors_prefix(output_prefix), ".jsonl"),
                                _dead_letter_key):
        stream.write(line)


@contextlib.contextmanager
def standard_output_for_results():
    """Yields a binary stream on standard output for the results; meanwhile standard output's
    descriptor points at standard error, so that whatever else is printed (this process's
    lines, native libraries', worker processes') stays out of the results. A reader that
    left (``| head -1``) raises BrokenPipeError once standard output is put back, which the CLI
    ends quietly with SIGPIPE's status, as other Unix tools do."""
    sys.stdout.flush()
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):   # a library caller's stream (a notebook's)
        results = TextStream(sys.stdout)
        with contextlib.redirect_stdout(sys.stderr):
            yield results
        results.flush()
        return
    results = os.dup(descriptor)
    os.dup2(sys.stderr.fileno(), descriptor)
    stream = open(results, "wb", closefd=False)
    try:
        yield stream
        stream.flush()
    finally:
        try:
            sys.stdout.flush()
        except OSError:
            pass
        os.dup2(results, descriptor)
        try:
            stream.close()   # flushes what a reader that left did not take: dropped
        except OSError:
            pass
        os.close(results)


class TextStream:
    """A text stream written as bytes (UTF-8)."""

    def __init__(self, text):
        self.text = text

    def write(self, data):
        self.text.write(data.decode("utf-8"))

    def flush(self):
        self.text.flush()
