"""WritePanes: an unbounded PCollection -> files, every pane of every window in files of its own.

Why not Beam's file sinks' own streaming path (``iobase.WriteImpl._expand_unbounded``, Beam
2.77), which ``WriteToText`` and ``WriteToParquetBatched`` take on unbounded input:

* with ``triggering_frequency`` it windows the rows into fixed windows of that size with an
  allowed lateness of 0, so its GroupByKey drops every row whose window the watermark has
  passed: a late record was lost, and with it the records formatted in the same row (a
  JSON Lines or CoNLL row holds a group of records, stamped with the earliest's timestamp);
* in the input's own windows with an allowed lateness, a late pane gives the window a second
  temporary directory, read as a singleton: the job failed ("PCollection of size 2 with more
  than one element accessed as a singleton view"). Its files would have been named like the
  on-time pane's (window and shard only) and renamed over them.

``fileio.WriteToFiles`` names its files by window too (the pane is a TODO there) and says it
does not support several firings a window.

Here the rows are grouped by window (and shard) under a trigger that fires when the watermark
passes the window's end and again for each late arrival, with an allowed lateness no watermark
reaches, so no row is dropped, however late. Each group is written by the sink's own writer
(its encoding, its temporary directory) and renamed to a name no other pane has:
``PREFIX-<window>-SSSSS-of-NNNNN<suffix>`` for a window's on-time pane (the name Beam's sinks
give it) and ``PREFIX-<window>-<pane index>-SSSSS-of-NNNNN<suffix>`` for each late one
(``fileio``'s layout: the pane between the window and the shard). Each shard has panes of its
own, counted from 0: a late pane of a shard that had no on-time rows is pane 0, and is named
``PREFIX-<window>-0-SSSSS-...`` (named by its index alone, its late rows were in a file named
as the on-time pane's). A retried pane writes the same names again. The cost: the runner keeps each window's trigger state (a few values) for
as long as the job runs, since no window expires.

Bounded input never comes here: ``beam.io.Write``'s batch path is unchanged.
"""
import uuid

import apache_beam as beam
from apache_beam.io import iobase
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms import trigger, window
from apache_beam.transforms.core import Windowing
from apache_beam.utils.timestamp import MAX_TIMESTAMP, MIN_TIMESTAMP
from apache_beam.utils.windowed_value import PaneInfoTiming

from beamtagger.transforms.global_window import windowed_as

__all__ = ["WritePanes", "in_write_windows", "pane_file_name"]

# No window's end plus this is ever behind a watermark (the latest is the end of time).
NEVER_EXPIRES = MAX_TIMESTAMP - MIN_TIMESTAMP


def in_write_windows(pcoll, triggering_frequency, label):
    """``pcoll``, where it is unbounded and ``triggering_frequency`` is given, windowed into
    fixed windows of that many seconds (what Beam's file sinks do with the option), before it
    is formatted, so that a row holds the records of one window only."""
    if pcoll.is_bounded or not triggering_frequency:
        return pcoll
    return pcoll | label >> beam.WindowInto(window.FixedWindows(triggering_frequency))


class WritePanes(beam.PTransform):
    """An unbounded PCollection in windows of its own -> the names of the files written.

    Args:
      write: a configured Beam file-sink transform (``WriteToText(...)``,
        ``WriteToParquetBatched(...)``), whose sink is used; the input holds what that sink
        writes. Its ``num_shards`` (0: one) files a pane, rows dealt round robin; each shard
        fires on its own, so a late pane has the shards that late rows went to.
    """

    def __init__(self, write):
        super().__init__()
        self.sink = write._sink  # noqa: SLF001  (Beam's sink transforms keep it there)

    def expand(self, rows):
        if rows.is_bounded:
            raise ValueError("WritePanes writes unbounded PCollections; beam.io.Write bounded")
        windowing = rows.windowing
        if isinstance(windowing.windowfn, window.GlobalWindows):
            raise ValueError(
                "unbounded records in the global window need triggering_frequency=SECONDS: "
                "files are written a window, and the global window never ends")
        shards = self.sink.num_shards
        keyed = rows | "KeyByShard" >> (
            beam.ParDo(iobase._RoundRobinKeyFn(), count=shards) if shards > 1  # noqa: SLF001
            else beam.Map(lambda row: (0, row)))
        panes = windowed_as(keyed, Windowing(
            windowing.windowfn, triggerfn=trigger.AfterWatermark(late=trigger.AfterCount(1)),
            accumulation_mode=trigger.AccumulationMode.DISCARDING,
            allowed_lateness=NEVER_EXPIRES))
        return (panes
                | "GroupPanes" >> beam.GroupByKey()
                | "WritePane" >> beam.ParDo(_WritePaneFn(self.sink)).with_output_types(str))


def pane_file_name(sink, window_of_pane, pane_info, shard, shards):
    """The final name of one shard of one pane (see the module docstring)."""
    late = pane_info.index or pane_info.timing == PaneInfoTiming.LATE
    pane = f"-{pane_info.index}" if late else ""
    return (f"{sink.file_path_prefix.get()}-{window_of_pane}{pane}-{shard:05d}-of-"
            f"{shards:05d}{sink.file_name_suffix.get()}")


class _WritePaneFn(beam.DoFn):
    """(shard, rows of one pane) -> the name of the file they were written to."""

    def __init__(self, sink):
        self.sink = sink

    def process(self, keyed_rows, window_of_pane=beam.DoFn.WindowParam,
                pane=beam.DoFn.PaneInfoParam):
        shard, rows = keyed_rows
        name = pane_file_name(self.sink, window_of_pane, pane, shard,
                              max(self.sink.num_shards, 1))
        temp_dir = self.sink.initialize_write()
        try:
            writer = self.sink.open_writer(temp_dir, uuid.uuid4().hex)
            for row in rows:
                writer.write(row)
            FileSystems.rename([writer.close()], [name])
        finally:
            try:
                FileSystems.delete([temp_dir])
            except OSError:   # as Beam's finalisation: a temporary directory left is no error
                pass
        yield name
