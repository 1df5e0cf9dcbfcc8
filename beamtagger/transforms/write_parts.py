"""WriteParts: several PCollections written into one set of sharded files, never merged first.

Beam's file sinks (``WriteToText``, ``WriteToParquet``) take one PCollection, so the parts of a
result (whole records, stitched long records, empty records) had to be merged with a Flatten
before the sink. Beam's local runner turns a Flatten of several inputs into an in-memory buffer
that every element crosses (fn_api_runner ``translations.sink_flattens``), and the stage that
reads the buffer runs only when every writer is done: a local run held every formatted output
row until the end of its input, about 350 bytes a token (issue 12; BENCHMARKS.md, section 4,
peak RSS against input size).

Here each part runs the sink's own per-bundle writer (``iobase._WriteBundleDoFn``: one temporary
file per bundle) inside the stage that produces it, and only the temporary file names are
merged for the sink's finalisation, which renames them to ``PREFIX-SSSSS-of-NNNNN`` exactly as
``beam.io.Write`` does when the number of shards is left to the runner. With a fixed number of
shards Beam groups the rows themselves by shard, so that case keeps the plain sink.
"""
import apache_beam as beam
from apache_beam.io import iobase
from apache_beam.pvalue import AsIter, AsSingleton
from apache_beam.transforms import window

__all__ = ["WriteParts"]


class WriteParts(beam.PTransform):
    """A tuple of bounded PCollections -> the file names written (as ``beam.io.Write``).

    Args:
      write: a configured Beam file-sink transform (``WriteToText(...)``,
        ``WriteToParquetBatched(...)``) with ``num_shards`` 0, whose sink is used; the parts
        hold what that sink writes.
    """

    def __init__(self, write):
        super().__init__()
        self.sink = write._sink  # noqa: SLF001  (Beam's sink transforms keep it there)
        if self.sink.num_shards:
            raise ValueError("WriteParts writes one file per bundle: num_shards must be 0")

    def expand(self, parts):
        if not all(part.is_bounded for part in parts):
            # The file names are grouped in the global window, which never closes on
            # unbounded input: Beam's windowed file writes are the way there.
            raise ValueError("WriteParts writes bounded PCollections only")
        pipeline = parts[0].pipeline
        sink = self.sink
        do_once = pipeline | "DoOnce" >> beam.Create([None])
        init = do_once | "InitializeWrite" >> beam.Map(
            lambda _, sink: sink.initialize_write(), sink)
        written = []
        for i, part in enumerate(parts):
            if part.windowing.windowfn != window.GlobalWindows():
                part = part | f"GlobalWindow{i}" >> beam.WindowInto(window.GlobalWindows())
            written.append(part | f"WriteBundles{i}" >> beam.ParDo(
                iobase._WriteBundleDoFn(sink), AsSingleton(init)))  # noqa: SLF001
        results = (tuple(written)
                   | "MergeFileNames" >> beam.Flatten()
                   | "Pair" >> beam.Map(lambda name: (None, name))
                   | "GroupFileNames" >> beam.GroupByKey()
                   | "Extract" >> beam.FlatMap(lambda keyed: keyed[1]))
        pre_finalized = do_once | "PreFinalize" >> beam.FlatMap(
            iobase._pre_finalize, sink, AsSingleton(init), AsIter(results))  # noqa: SLF001
        return do_once | "FinalizeWrite" >> beam.FlatMap(
            iobase._finalize_write, sink, AsSingleton(init), AsIter(results),  # noqa: SLF001
            1, AsSingleton(pre_finalized)).with_output_types(str)

