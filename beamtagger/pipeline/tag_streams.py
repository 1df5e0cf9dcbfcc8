"""``beamtagger tag --input -`` and ``--output -``: standard input read into a spool file before
the run, the results written to standard output in input order after it, and the options that
cannot go with either refused before launch.

The spool and the ordering are ``stdin_spool``'s and ``ordered_stdout``'s; this module is
what the command does with them. No Beam import at import time: ``tag_command.run``
imports this before Beam, whose import starts gRPC's threads (a closed standard stream is
refused before them).
"""
import argparse
import contextlib
import os
import shutil
import sys

from beamtagger.errors import BeamtaggerError


# --input - and --output -: standard input and standard output.
STANDARD_STREAM = "-"


def standard_streams_problem(args, remote, streaming):
    """Why ``--input -`` or ``--output -`` cannot go with the other options, or None."""
    streams = [f"--{name} -" for name in ("input", "output")
               if getattr(args, name) == STANDARD_STREAM]
    if not streams:
        return None
    closed = closed_standard_stream(args)
    if closed:
        return closed
    if remote:
        return (f"{' and '.join(streams)}: standard streams are this machine's, which a remote "
                "runner's workers cannot read or write; use gs:// paths")
    if streaming:
        # The results are put in input order once the input has ended, and a pipe given to a
        # streaming run was read to its end before the run started.
        return f"{' and '.join(streams)} cannot go with --streaming; read and write files"
    if args.input == STANDARD_STREAM and args.partition_fields:
        return ("--partition-fields reads the key=value folders of each input file's path, "
                "and --input - (standard input) has none; give the files' pattern "
                "(--input 'ds/*/*/*.jsonl')")
    if args.output != STANDARD_STREAM:
        return None
    if getattr(args, "models", ()):
        return ("--output - writes one model's results, and --model names several: write "
                "files, --output PREFIX (each model's are PREFIX-NAME-SSSSS-of-NNNNN.*)")
    if args.output_format == "parquet":
        return ("--output - cannot write parquet: a Parquet file is read from its end (its "
                "footer), which a pipe cannot give; write files (--output PREFIX), or choose "
                "--output-format jsonl, spans, conll or conllu")
    refused = {"--overwrite": args.overwrite, "--num-shards": args.num_shards,
               "--print-results": args.print_results}
    for option, given in refused.items():
        if given:
            return (f"{option} applies to result files, and --output - writes none: the "
                    "results go to standard output" + (", in input order" if option ==
                                                       "--print-results" else ""))
    return None


def closed_standard_stream(args):
    """Why ``--input -`` or ``--output -`` names a standard stream that was closed when the
    command started (``<&-``, ``>&-``), or None: it is /dev/null then (cli.py), which read as
    an empty input, and took every result away, in runs that exited 0."""
    from beamtagger.pipeline.cli import CLOSED_AT_START

    for name, stream, redirection in (("input", "stdin", "<&-"), ("output", "stdout", ">&-")):
        if getattr(args, name) == STANDARD_STREAM and stream in CLOSED_AT_START:
            return (f"--{name} -: standard {name} is closed ({redirection}); give it a pipe "
                    f"or a file ({'< FILE' if name == 'input' else '> FILE'}), or "
                    f"--{name} {'PATTERN' if name == 'input' else 'PREFIX'}")
    return None


@contextlib.contextmanager
def standard_streams(args):
    """Yields (args, stdin spool, results stream): for ``--input -`` the args name the file in
    a private temporary folder that standard input was copied to (``stdin_spool``), for
    ``--output -`` a prefix in that folder and the stream the results go to in input order
    (``ordered_stdout``). The folder is removed however the run ends (SIGTERM ends a command as
    Ctrl-C does: cli.py), and messages name the spool file ``stdin``."""
    import tempfile

    from beamtagger.pipeline import ordered_stdout, stdin_spool

    reads_stdin, writes_stdout = (args.input == STANDARD_STREAM,
                                  args.output == STANDARD_STREAM)
    if not (reads_stdin or writes_stdout):
        yield args, None, None
        return
    folder = tempfile.mkdtemp(prefix="beamtagger-tag-")
    spool = None
    try:
        with (ordered_stdout.standard_output_for_results() if writes_stdout
              else contextlib.nullcontext()) as results:
            changed = {}
            if reads_stdin:
                spool = changed["input"] = stdin_spool.spool_standard_input(folder)
            if writes_stdout:
                changed["output"] = os.path.join(folder, "results")
            yield argparse.Namespace(**{**vars(args), **changed}), spool, results
    except BeamtaggerError as error:
        if spool is not None:
            error.args = (stdin_spool.shown_as_stdin(str(error), spool),)
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_in_input_order(output_prefix, results):
    """--output -: the results to ``results``, then the dead letters to standard error, each
    in input order."""
    from beamtagger.pipeline import ordered_stdout

    try:
        ordered_stdout.write_in_input_order(output_prefix, results)
        results.flush()
    except BrokenPipeError:
        raise   # the reader left (| head): cli.py ends the run quietly
    except OSError as error:
        # A failed write names no file: "> /dev/full" said only "No space left on device".
        if error.filename is None:
            error.filename = "standard output"
        raise
    sys.stdout.flush()   # what was printed before (standard error's, for now) first
    sys.stderr.flush()
    errors = getattr(sys.stderr, "buffer", None) or ordered_stdout.TextStream(sys.stderr)
    ordered_stdout.dead_letters_in_input_order(output_prefix, errors)
    errors.flush()
