"""``beamtagger tag``: the end of a local run, once its files are published: what it did,
read before anything is printed (``read_outcome``), the summary's lines of its files
(results, dead letters, the parts of the input not read) and its exit status, judged by
``--max-dead-letters`` (``DeadLetterLimit``) or, without it, by whether anything was tagged;
for a run of several models, each model's (``models_done``).

No Beam import at import time: every ``beamtagger`` command imports ``tag_command`` (cli.py
builds each subcommand's parser), which imports this.
"""
import argparse
import contextlib
import math
import sys
from fractions import Fraction
from typing import NamedTuple

from beamtagger.errors import line_breaks_escaped
from beamtagger.pipeline import summary_json, summary_stdout, tag_models


# The exit status of a run that finished with more dead letters than --max-dead-letters: 1 is
# a run that failed (nothing kept), 2 one refused before launch.
TOO_MANY_DEAD_LETTERS = 3


class DeadLetterLimit(NamedTuple):
    """--max-dead-letters: ``value`` records, or ``value`` percent of the records read."""
    value: Fraction
    percent: bool

    def __str__(self):
        return f"{float(self.value):g}%" if self.percent else f"{int(self.value)}"

    def exceeded(self, dead, read, unread=0):
        """Whether ``dead`` dead letters of ``read`` records read are over the limit,
        ``unread`` of each being a part of the input not read (``counters.UNREAD_PARTS``).

        Such a part holds any number of records, from none to all of a file's, so no count or
        share can be known to be within the limit: one is over every limit but 100%. Counted
        as one record instead, a refused 1M-row file passed --max-dead-letters 1%."""
        if unread and not (self.percent and self.value == 100):
            return True
        records, records_read = dead - unread, read - unread
        # Exact: in floats 0.57% of 10,000 records is 56.99999999999999, and 57 dead letters,
        # at the limit and not over it, exited 3.
        return records > (self.value * records_read / 100 if self.percent else self.value)

    def message(self, dead, read, unread=0, unread_sources=()):
        """The line that says why the run exits TOO_MANY_DEAD_LETTERS; ``unread`` and
        ``unread_sources`` as ``exceeded``'s and where the first of those parts start."""
        records, records_read = dead - unread, read - unread
        records_said = (f"{records:,} of the {records_read:,} records read could not be tagged "
                        f"({_share_shown(records, records_read)})")
        written = "the results and the dead letters are written"
        if not unread:
            return (f"beamtagger tag: {records_said}, more than --max-dead-letters {self}; "
                    f"{written}")
        where = ", ".join(unread_sources)
        if unread > len(unread_sources):
            where += f"{' and ' if where else ''}{unread - len(unread_sources):,} more"
        parts = ("1 part of the input was" if unread == 1
                 else f"{unread:,} parts of the input were")
        return (f"beamtagger tag: {parts} not read ({where}), records unknown: more than "
                f"--max-dead-letters {self} can allow; {records_said}; {written}")


def _share_shown(dead, read):
    """``dead`` in percent of ``read`` to 3 significant digits, where one decimal showed a
    share under 0.05% as 0.0% beside a limit of 0.01%."""
    share = 100 * dead / read if read else 0
    if not share:
        return "0%"
    decimals = max(1, 2 - math.floor(math.log10(share)))
    return f"{share:.{decimals}f}".rstrip("0").rstrip(".") + "%"


def dead_letter_limit(text):
    """argparse's type of --max-dead-letters: a count ("0", "100") or a percentage ("0.5%")."""
    percent = text.strip().endswith("%")
    number = text.strip()[:-1] if percent else text.strip()
    try:
        # float first: it refuses "1/3", which Fraction would take.
        value = Fraction(number) if percent and math.isfinite(float(number)) else int(number)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= (100 if percent else float("inf")):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a count of records (0 or more) or a percentage of the records "
            "read (0% to 100%)")
    return DeadLetterLimit(value, percent)


def stopped_while_printed():
    """Ctrl-C, SIGTERM or SIGHUP (cli.py) while the summary or --print-results printed (a
    terminal closed in a long listing): the run was done, so its files stay and the status
    and --summary-json are its own. As a stop, it was 129, 130 or 143, which say none of the
    run's files were kept, and no summary JSON."""
    with contextlib.suppress(OSError, ValueError):   # a terminal hung up
        print("beamtagger tag: stopped while the summary was printed, after the run "
              "was done: its files are published, the rest of the summary not printed",
              file=sys.stderr, flush=True)


def models_done(args, job, model_jobs, thresholds, result, seconds, stops):
    """A local run of several models once done: each model's files, its summary lines and
    exit status (past --max-dead-letters or none tagged: 3 for the run), and --summary-json."""
    from beamtagger.pipeline import tag_outputs
    from beamtagger.transforms import counters

    names = list(model_jobs)
    counts = counters.query_counters_by_model(result, names)
    distributions = counters.query_distributions_by_model(result, names)
    outcomes = {name: read_outcome(model_job, result, None, counts[name])
                for name, model_job in model_jobs.items()}
    try:
        with stops.heard(), summary_stdout.reader_may_leave():
            if args.print_results:
                for name, model_job in model_jobs.items():
                    print(f"model {name}:")
                    tag_outputs.print_results(model_job.output_prefix, model_job.output_format)
            for line in counters.format_shared_summary(counts[names[0]], seconds):
                print(line)
            for name, model_job in model_jobs.items():
                print(f"{f'model {name}:':<16} {tag_models.model_shown(model_job.model_dir)}")
                for line in (counters.format_records_summary(counts[name])
                             + counters.format_model_metrics(distributions[name])):
                    print(line)
                print_files(job if name == names[0] else None, model_job, None,
                            *outcomes[name])
    except KeyboardInterrupt:
        stopped_while_printed()
    statuses = {name: exit_status(args.max_dead_letters, outcome[0], outcome[3], name)
                for name, outcome in outcomes.items()}
    status = max(statuses.values())
    if args.summary_json is not None:
        summary_json.write_models_summary(args.summary_json, status, seconds, job.runtime, {
            name: (model_job.model_dir, statuses[name], *outcomes[name], thresholds[name])
            for name, model_job in model_jobs.items()})
    return status


def read_outcome(job, result, results, counts=None):
    """A local run's counts (``counts``: one model's of several, else read here), its result
    files, its error files and the parts of the input not read (their sources, the first
    UNREAD_PARTS_SHOWN), read before anything is printed: a stop while printing leaves the
    status and --summary-json to be made of them."""
    from beamtagger.pipeline import tag_outputs, tag_streams
    from beamtagger.transforms import counters

    if counts is None:
        counts = counters.query_counters(result)
    if results is not None:
        result_files = [tag_streams.STANDARD_STREAM]
    else:
        result_files = tag_outputs.output_files(tag_outputs.result_pattern(
            job.output_prefix, tag_outputs.result_suffix(job.output_format)))
    error_files, unread = [], ()
    if counts["dead_letters"]:
        error_files = tag_outputs.output_files(
            tag_outputs.result_pattern(job.output_prefix + "-errors", "jsonl"))
        unread = unread_parts(error_files, counts["unread_parts"])
    return counts, result_files, error_files, unread


def print_summary(args, job, result, results, seconds, counts, result_files, error_files,
                   unread):
    """Prints a local run's summary (and --print-results)."""
    from beamtagger.pipeline import tag_outputs
    from beamtagger.transforms import counters

    if args.print_results:
        tag_outputs.print_results(job.output_prefix, job.output_format)
    for line in counters.format_summary(counts, seconds) + counters.format_model_metrics(
            counters.query_distributions(result)):
        print(line)
    print_files(job, job, results, counts, result_files, error_files, unread)


def print_files(warned, job, results, counts, result_files, error_files, unread):
    """The summary's lines of ``job``'s files (one model's of several): its field columns'
    nulls, its results, its dead letters and the parts of the input not read; the field
    columns' warnings where ``warned`` (a job; None: said for another model already)."""
    from beamtagger.transforms import counters

    lines, warnings = counters.format_field_columns(counts, job.field_columns)
    for line in lines:
        print(line)
    for warning in warnings if warned is not None else ():
        print(warning, file=sys.stderr, flush=True)
    if results is not None:
        print("results          standard output, in input order")
        if counts["dead_letters"]:
            print("dead letters     standard error, above, in input order")
    else:
        for path in result_files:
            print(f"results          {line_breaks_escaped(path)}")
    if counts["dead_letters"]:
        if results is None:
            for path in error_files:
                print(f"dead letters     {line_breaks_escaped(path)}")
        print(f"                 {counters.dead_letters_meaning(counts)}")
        _print_unread_parts(unread, counts["unread_parts"])


def exit_status(limit, counts, unread, model=None):
    """0, or TOO_MANY_DEAD_LETTERS (its line printed) for a local run's ``counts``; with
    several models, for ``model``'s (named in the line): each is judged as its run alone."""
    line = None
    if limit is not None and limit.exceeded(counts["dead_letters"], counts["records_read"],
                                            counts["unread_parts"]):
        line = limit.message(counts["dead_letters"], counts["records_read"],
                             counts["unread_parts"], unread)
    elif limit is None and counts["dead_letters"] and not counts["records_tagged"]:
        # Nothing tagged of a non-empty input is a run gone wrong (another encoding, a
        # --field-columns type every value fails...): a scheduler seeing exit 0 went on
        # with empty results.
        line = nothing_tagged_message(counts["dead_letters"], counts["unread_parts"])
    if line is None:
        return 0
    if model is not None:
        line = line.replace(_SAID_BY, f"{_SAID_BY}model {model}: ", 1)
    print(line_breaks_escaped(line), file=sys.stderr, flush=True)
    return TOO_MANY_DEAD_LETTERS


# How the lines of exit_status start.
_SAID_BY = "beamtagger tag: "


def nothing_tagged_message(dead, unread=0):
    """The line of a run without --max-dead-letters none of whose records was tagged."""
    what = f"none of the {dead:,} records read could be tagged"
    if unread:
        said = ["1 part of the input not read" if unread == 1
                else f"{unread:,} parts of the input not read"]
        if dead > unread:
            records = dead - unread
            said.append(f"{records:,} record{'' if records == 1 else 's'} that could not be "
                        "tagged")
        what = f"nothing was tagged ({', '.join(said)})"
    return (f"beamtagger tag: {what}: see the dead letters; --max-dead-letters 100% lets such "
            "a run exit 0")


# The parts of the input not read that the summary names (where each starts, the first in
# input order), from the errors files: enough to find them without reading those files, few
# enough for a summary.
UNREAD_PARTS_SHOWN = 3


def unread_parts(error_files, unread):
    """The first UNREAD_PARTS_SHOWN of the ``unread`` parts of the input not read (their dead
    letters' sources), in input order."""
    import heapq

    from beamtagger.pipeline.ordered_stdout import input_position
    from beamtagger.transforms.dead_letters import unread_sources

    return heapq.nsmallest(UNREAD_PARTS_SHOWN, unread_sources(error_files) if unread else (),
                           key=input_position)


def _print_unread_parts(sources, unread):
    """Prints where the parts of the input not read start (``sources``, the first of the
    ``unread``) and how many more there are."""
    for source in sources:
        print(f"not read from    {line_breaks_escaped(source)}")
    if unread > len(sources):
        print(f"                 (and {unread - len(sources):,} more: the dead letters of stage "
              "read)")
