"""The ``beamtagger tag`` pipeline, top to bottom in the order the data flows.

    files --ReadRecords--> records --TagText--> tagged records --WriteResults--> PREFIX-*.<format>
                 \\                      \\
                  dead letters ----------+--WriteDeadLetters--> PREFIX-errors-*.jsonl

On bounded input the records travel in blocks (lists) and the tagged records in tagged batches
(Arrow), so the runner's cost per element and the formatting are paid per batch, not per record.

Every input record ends up in exactly one of the two outputs.

With several models (``models``: ``beamtagger tag --model NAME=DIR`` twice or more) the records
are read and tagged in one pass (``TagTextInParts(models=...)``: tokenized, chunked, bucketed
and given their vectors once), and each model's results and dead letters are written as the
pipeline of that model alone writes them, under its own prefix (``WriteResults[NAME]``,
``WriteDeadLetters[NAME]``); a record refused before tagging is a dead letter of every model.
"""
import dataclasses
import time
from typing import Optional, Tuple, Union

import apache_beam as beam

from beamtagger.bundled_models import BundledModel
from beamtagger.pipeline.local_runner import is_direct_runner, local_runner
from beamtagger.tagging_defaults import MAX_RECORD_CHARS
from beamtagger.transforms import ReadRecords, WriteDeadLetters, WriteResults
from beamtagger.transforms.built_against import BuiltAgainst, replaced_in_worker_text
from beamtagger.transforms.records import DeadLetter
from beamtagger.transforms.tag_text import TagTextInParts
from beamtagger.transforms.bucket import DEFAULT_MAX_BATCH_TOKENS
from beamtagger.transforms.chunks import DEFAULT_CHUNK, DEFAULT_OVERLAP


@dataclasses.dataclass
class TagJob:
    """What to tag, with what, and where the results go (the ``beamtagger tag`` options)."""
    input_pattern: str
    output_prefix: str
    input_format: str = "text"
    output_format: str = "jsonl"
    # None: the bundled model; a BundledModel: the entity model, read by each worker from its
    # own installed package (tag_models.pipeline_model).
    model_dir: Union[str, BundledModel, None] = None
    store_path: Optional[str] = None     # None: the default store
    text_field: str = "text"
    id_field: str = "id"
    fields: Optional[Tuple[str, ...]] = None   # the fields carried (None: all)
    delimiter: Optional[str] = None       # csv: what separates cells (None: ",")
    encoding: str = "utf-8"               # the input files' (decoded_lines)
    partition_fields: bool = False        # key=value folders as fields (partition_fields)
    field_columns: Tuple = ()             # parquet: field_columns.FieldColumns
    chunk: int = DEFAULT_CHUNK
    overlap: int = DEFAULT_OVERLAP
    max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS
    max_buffering_secs: Optional[float] = None
    accelerator: Optional[str] = None
    vector_dtype: str = "float32"         # or "float16"; "auto": batch_vector_dtype decides
    allow_other_embeddings: bool = False
    num_shards: int = 0
    progress_every_secs: Optional[float] = None
    tagger_threads: Optional[int] = None
    runtime: Optional[str] = None  # chosen by tag_runtime.choose_runtime (or TagText)
    max_record_chars: int = MAX_RECORD_CHARS
    vectors_at: str = "attach"            # or "tag": the tag stage gathers the vectors
    tag_column: Optional[str] = None      # conllu: where the labels go (None: misc:Tag)
    entities: bool = False                # jsonl, parquet: each record's entities too
    threshold: Optional[float] = None     # a flag tagger's, instead of its own (None: its own)
    # --output -: each result written with its place in the input (ordered_stdout), for
    # standard output in input order, instead of as result files.
    results_in_input_order: bool = False
    # --input -: the spool file's path, shown as "stdin" in dead letters (stdin_spool).
    stdin_spool: Optional[str] = None
    # What the model and store were checked as (launch_files), for the workers to find; None:
    # recorded where the pipeline is built.
    built_against: Optional[BuiltAgainst] = None


def batches_go_to_a_gpu(job, jax_on_cpu=False):
    """Whether the tag stage's batches go to a GPU: a stage with an accelerator hint, or the jax
    runtime unless ``jax_on_cpu`` (the caller knows it runs on this machine's CPU)."""
    return bool(job.accelerator) or (job.runtime == "jax" and not jax_on_cpu)


def batch_vector_dtype(job, jax_on_cpu=False):
    """The job's vector dtype, "auto" resolved: float16 where the batches go to a GPU (a tag
    stage with an accelerator hint; the jax runtime, unless ``jax_on_cpu``: the caller knows it
    runs on this machine's CPU), float32 otherwise.

    float16 halves the bytes a batch moves to the device, and the host-to-device copy is what
    bounded the H200's rate (5.1M tokens/s with float32 vectors, 9.6M with float16; BENCHMARKS.md
    section 5). Labels stay equal: 0 of 25,147 EWT dev and 15,733 WNUT-17 dev tokens differ
    from float32 with the bundled model (largest probability difference 2.2e-4;
    vector_dtype_test.py holds it). On a CPU the batches never leave the worker: no gain, and
    float32 keeps the jax runtime's probabilities within float32 rounding of the TensorFlow
    runtime's (1.7e-6 on EWT dev), where float16's 2e-4 could tip a near tie on text it was
    not checked on."""
    if job.vector_dtype != "auto":
        return job.vector_dtype
    return "float16" if batches_go_to_a_gpu(job, jax_on_cpu) else "float32"


def build_tag_pipeline(pipeline, job, models=None):
    """``pipeline`` with ``job``'s steps; ``models``: {name: the TagJob of that model alone},
    which share ``job``'s input and options and differ in their model, threshold, output
    prefix and the writers' options (tag column, entities), for a pass of several models."""
    # Bounded runs carry blocks of records from the reader on (transforms/blocks.py).
    blocks = job.max_buffering_secs is None
    # CoNLL-U in and out: each sentence written back as read, only the label column replaced.
    keep_conllu_lines = job.input_format == job.output_format == "conllu"
    # Text in, CoNLL-U, spans or entities out: the record's own text for # text, the spans'
    # text and entity texts. With several models, kept for all where one needs it: each
    # writer takes it out again, so a model without entities writes what it writes alone.
    keep_text = any(_keeps_text(model_job) for model_job in (models or {None: job}).values())
    read = pipeline | "ReadRecords" >> ReadRecords(
        job.input_pattern, job.input_format, job.text_field, job.id_field,
        reshuffle=not runs_in_one_worker(pipeline.options), blocks=blocks,
        keep_conllu_lines=keep_conllu_lines, fields=job.fields, delimiter=job.delimiter,
        encoding=job.encoding, partition_fields=job.partition_fields)

    options = dict(
        store_path=job.store_path, chunk=job.chunk,
        overlap=job.overlap, max_batch_tokens=job.max_batch_tokens,
        max_buffering_secs=job.max_buffering_secs, accelerator=job.accelerator,
        vector_dtype=batch_vector_dtype(job), allow_other_embeddings=job.allow_other_embeddings,
        progress_every_secs=job.progress_every_secs,
        tagger_threads=job.tagger_threads, runtime=job.runtime,
        max_record_chars=job.max_record_chars, vectors_at=job.vectors_at, blocks=blocks,
        keep_text=keep_text)
    if not models:
        tagged = read.records | "TagText" >> TagTextInParts(
            model_dir=job.model_dir, built_against=job.built_against, threshold=job.threshold,
            **options)
        _write(job, read.errors, tagged, keep_conllu_lines, keep_text)
        return pipeline
    tagged = read.records | "TagText" >> TagTextInParts(
        models={name: model_job.model_dir for name, model_job in models.items()},
        thresholds={name: model_job.threshold for name, model_job in models.items()
                    if model_job.threshold is not None},
        # A model recorded where the job was launched; the others where it is built.
        built_against={name: model_job.built_against for name, model_job in models.items()
                       if model_job.built_against is not None},
        **options)
    for name, model_job in models.items():
        _write(model_job, read.errors, tagged[name], keep_conllu_lines, keep_text, name)
    return pipeline


def _keeps_text(job):
    """Whether ``job``'s writer needs each record's own text."""
    return job.input_format in ("text", "jsonl", "csv", "tsv", "parquet") and (
        job.output_format in ("conllu", "spans") or job.entities)


def _write(job, read_errors, tagged, keep_conllu_lines, keep_text, name=None):
    """Writes ``tagged`` (TagTextInParts' result) under ``job.output_prefix``, and its dead
    letters with ``read_errors``; the steps labelled with the model's ``name`` where there are
    several."""
    def label(step):
        return step if name is None else f"{step}[{name}]"

    if job.results_in_input_order:
        from beamtagger.pipeline.ordered_stdout import WriteKeyedResults

        written = tagged.tagged | label("WriteKeyedResults") >> WriteKeyedResults(
            job.output_prefix, job.output_format, tag_column=job.tag_column,
            entities=job.entities, keep_conllu_lines=keep_conllu_lines, keep_text=keep_text)
    else:
        written = tagged.tagged | label("WriteResults") >> WriteResults(
            job.output_prefix, job.output_format, job.num_shards, tag_column=job.tag_column,
            entities=job.entities, keep_conllu_lines=keep_conllu_lines, keep_text=keep_text,
            field_columns=job.field_columns)

    dead_letters = (read_errors, tagged.errors, written.errors) | label("AllDeadLetters") >> (
        beam.Flatten())
    if job.stdin_spool is not None:
        from beamtagger.pipeline.stdin_spool import renamed_dead_letter

        dead_letters = dead_letters | label("NamedStdin") >> beam.Map(
            renamed_dead_letter, job.stdin_spool).with_output_types(DeadLetter)
    _ = dead_letters | label("WriteDeadLetters") >> WriteDeadLetters(job.output_prefix)


def runs_in_one_worker(options):
    """True for the DirectRunner's default mode: one in-process worker, batch.

    ReadRecords' Reshuffle spreads the records of each file over the workers; with one worker
    there is nothing to spread, and the runner would still encode every record into the shuffle
    and decode it again (bench/throughput_bench.py case D: ~10% of the run at 1M tokens).
    """
    from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

    standard = options.view_as(StandardOptions)
    direct = options.view_as(DirectOptions)
    return (is_direct_runner(standard.runner)
            and not standard.streaming
            and direct.direct_running_mode == "in_memory"
            and direct.direct_num_workers == 1)


def run_tag_job(job, options, models=None):
    """Builds and runs the pipeline (``build_tag_pipeline``'s ``models``: several); returns
    (PipelineResult, seconds until it finished)."""
    start = time.monotonic()
    pipeline = beam.Pipeline(runner=local_runner(options), options=options)
    pipeline = (build_tag_pipeline(pipeline, job) if models is None
                else build_tag_pipeline(pipeline, job, models))
    try:
        result = pipeline.run()
        result.wait_until_finish()
    except Exception as error:  # noqa: BLE001  (each runner wraps its workers' own way)
        replaced = replaced_in_worker_text(error)
        if replaced is None:
            raise
        raise replaced from None
    return result, time.monotonic() - start
