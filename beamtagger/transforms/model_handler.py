"""TaggerModelHandler: the tagger as a Beam ``ModelHandler`` for ``RunInference``.

``RunInference(TaggerModelHandler())`` takes ``str`` or ``TextRecord`` examples and gives
``PredictionResult(example, inference=TaggedRecord)``. Beam's RunInference brings what a
ModelHandler gets for free: its metrics (``num_inferences``, ``inference_batch_latency_micro_secs``,
``load_model_latency_milli_secs``, ``model_byte_size``, ``failed_batches_counter``),
``with_exception_handling()``, ``KeyedModelHandler``, model refresh (``model_metadata_pcoll``,
``watch_model_pattern``), ``share_model_across_processes`` / ``model_copies`` and resource
hints. ``TagText`` stays the faster path for plain tagging (model one batch ahead of the
Python stages, length buckets across the whole bundle): see docs/library.md, "RunInference
or TagText".

Each batch RunInference hands over is tagged at once by ``tagging.record_tagger.RecordTagger``
(no Beam there; ``beamtagger.Tagger`` tags through it too): tokenized into a block of numbered
tokens (``token_blocks.tokenize_block``), its long records cut into chunks of at most ``chunk``
tokens like TagText does, sorted into the same length buckets under ``max_batch_tokens``, turned
into model inputs by ``record_batches.entry_model_inputs`` (``build_record_batch``'s inputs
without the Arrow batch, which nothing here reads; each token type looked up and featurized
once a thread: ``model.token_inputs``) and run by the runtime's ``predict``: the code paths TagText
uses, so both give the same labels.

It adds to the same ``beamtagger`` counters as TagText (tokens, batches, padded slots, OOV
tokens, records tagged), so ``counters.query_counters`` reads both alike.

A model is bound to its embedding store. ``load_model`` checks the binding and that
``tagger.keras`` is whole and the model ``tagger.json`` describes, and so does every model
update: an update to a model bound to another store, or whose model file is damaged or another
model's, is refused (logged, counted in ``beamtagger/refused_model_updates``) and the model
already serving keeps serving.
"""
import inspect
import logging
import pathlib
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import ModelHandler, PredictionResult
from apache_beam.ml.inference import base as _beam_inference

from beamtagger.errors import BeamtaggerError
from beamtagger.model.flag_threshold import threshold_option
from beamtagger.tagging.loaded_tagger import LoadedTagger, check_binding, loaded_tagger
from beamtagger.tagging.record_checks import check_max_record_chars
from beamtagger.tagging.record_tagger import RecordTagger, TaggingCounters
from beamtagger.tagging_defaults import (CHUNK, MAX_BATCH_TOKENS, MAX_RECORD_CHARS, OVERLAP,
                                         check_accelerator, check_flag, check_runtime,
                                         model_dir_option, path_option)
from beamtagger.transforms import counters, worker_resources
from beamtagger.transforms.built_against import BuiltAgainst
from beamtagger.transforms.records import TaggedRecord, TextRecord, TokenizedRecord
from beamtagger.transforms.runtime_where_applied import accelerator_hinted, runtime_where_applied
from beamtagger.transforms.schema_rows import (how_to_make_a_record, row_columns,
                                               text_record_of_row)
from beamtagger.transforms.stateful_batching import check_stateful_batching
from beamtagger.transforms.tag import check_tag_options
from beamtagger.worker_threads import (options_being_applied, pipeline_being_applied,
                                       tagger_threads_of_options)

if getattr(_beam_inference, "resource", False) is None:
    # Beam 2.78 imports ``resource`` in one try with its ModelManager, which needs torch: without
    # torch the name is None, and each model load logged "Resource module is not available for
    # current platform, memory usage cannot be fetched" (root logger, WARNING) twice, in a
    # RunInference run that went well, and counted 0 bytes for the model's memory. The module is
    # there on every POSIX system; where it is not (Windows), Beam's warning is true and stays.
    try:
        import resource
    except ImportError:
        pass
    else:
        _beam_inference.resource = resource

# A logger of its own, not the root one: logging.error() on the root logger sets a handler up
# there (basicConfig) where none is, and the application's own logging set-up after it did
# nothing (library_logging_test).
_logger = logging.getLogger(__name__)

# LoadedTagger is tagging/loaded_tagger.py's (no Beam there), re-exported.
__all__ = ["LoadedTagger", "MAX_BATCH_CHARACTERS", "MIN_BATCH_CHARACTERS", "TaggerModelHandler",
           "check_model_handler_options", "length_bucket_options", "record_of", "text_length",
           "updates_models"]

Example = Union[str, TextRecord]
# A RunInference batch's text when the caller sets no batch size (batch_elements_kwargs): about
# 13,000 to 200,000 tokens of English, so its records fill the model's length buckets.
MIN_BATCH_CHARACTERS = 1 << 16
MAX_BATCH_CHARACTERS = 1 << 20
REFUSED_MODEL_UPDATES = Metrics.counter(counters.NAMESPACE, "refused_model_updates")
# Files inside a model directory that watch_model_pattern may be pointed at.
_MODEL_FILES = ("tagger.keras", "tagger.json")
# What each batch adds to: the beamtagger counters TagText adds to.
_COUNTERS = TaggingCounters(tokens=counters.TOKENS, records_tagged=counters.RECORDS_TAGGED,
                            batches=counters.BATCHES, batched_tokens=counters.BATCHED_TOKENS,
                            padded_slots=counters.PADDED_SLOTS, oov_tokens=counters.OOV_TOKENS)


def text_length(element) -> int:
    """The characters of an example's text (at least 1): a ``str``, a ``TextRecord`` or a
    tuple like it, a schema'd row (its ``text`` column), or the ``(key, example)`` of a
    ``KeyedModelHandler``; 1 for anything else, which ``run_inference`` then refuses itself."""
    for _ in range(3):
        if isinstance(element, str):
            return max(1, len(element))
        columns = row_columns(element)
        if columns is not None:
            element = columns["text"]
            continue
        if not isinstance(element, tuple) or len(element) < 2:
            return 1
        element = element[1]   # a TextRecord's text, or a keyed example's example
    return 1


def length_bucket_options(batching: Dict[str, Any]) -> Dict[str, Any]:
    """ModelHandler's options ``batching`` with Beam's length buckets (``batch_length_fn``,
    ``batch_bucket_boundaries``) checked, and measured by ``text_length`` (characters) where
    boundaries come without a length function.

    BeamtaggerError where Beam would not bucket: on Beam 2.77, whose ModelHandler takes
    neither option (a TypeError from Beam), and without ``max_batch_duration_secs``, where
    BatchElements ignores both with a warning (only its stateful batching keys records by
    length; the handler's own batches are sorted into the model's length buckets anyway)."""
    asked = [name for name in ("batch_length_fn", "batch_bucket_boundaries")
             if batching.get(name) is not None]
    if not asked:
        return batching
    if "batch_length_fn" not in inspect.signature(ModelHandler.__init__).parameters:
        from apache_beam import version

        raise BeamtaggerError(f"TaggerModelHandler: {' and '.join(asked)} need apache-beam "
                              f"2.78 or later (installed: {version.__version__})")
    if batching.get("max_batch_duration_secs") is None:
        raise BeamtaggerError(
            f"TaggerModelHandler: {' and '.join(asked)} take effect only with "
            "max_batch_duration_secs (Beam buckets records by length in its stateful "
            "batching only); without it each batch is sorted into the model's length "
            "buckets already: leave them out, or set max_batch_duration_secs")
    return {**batching, "batch_length_fn": batching.get("batch_length_fn") or text_length}


def updates_models(pipeline) -> bool:
    """Whether the RunInference being applied to ``pipeline`` takes model updates
    (``watch_model_pattern`` or ``model_metadata_pcoll``).

    Such a run serves other models on purpose, at the same path too: Beam's WatchFilePattern
    reports a model file saved again where it was (once), and until its next poll reaches a
    worker, that worker loads the files at ``model_dir`` as they are. Held to the model it
    was built with, every worker set up between the save and the update (a new Dataflow
    worker, a DoFn set up after a shuffle) failed the run, saying to build the pipeline
    again. The store is still held to what was checked: an update never changes it.

    RunInference's ``expand`` asks its handler to validate before it builds anything, so the
    transform on top of the pipeline's stack is the RunInference; its options are Beam's
    private attributes, read with defaults so a Beam that names them otherwise keeps the
    model held (the safe side)."""
    from apache_beam.ml.inference.base import RunInference

    stack = getattr(pipeline, "transforms_stack", None)
    if not stack:
        return False
    transform = stack[-1].transform
    return isinstance(transform, RunInference) and bool(
        getattr(transform, "_watch_model_pattern", None)
        or getattr(transform, "_model_metadata_pcoll", None) is not None)


def check_model_handler_options(kwargs: Dict[str, Any]):
    """TypeError for a keyword that is neither the handler's nor Beam ModelHandler's: Beam's
    ``__init__`` takes any keyword and reads only ``env_vars``, so a misspelt option
    (``runtim="numpy"``) or one of ``TagText``'s (``max_buffering_secs``, ``keep_text``)
    was dropped without a word and the run went on without it."""
    known = {name for name, parameter in inspect.signature(ModelHandler.__init__).parameters.items()
             if parameter.kind is inspect.Parameter.KEYWORD_ONLY}
    # env_vars: read from Beam's **kwargs; the length buckets: length_bucket_options says
    # which Beam lacks them.
    known |= {"env_vars", "batch_length_fn", "batch_bucket_boundaries"}
    unknown = sorted(kwargs.keys() - known)
    if not unknown:
        return
    from beamtagger.transforms.tag_text import TagText

    tagtext_only = [name for name in unknown
                    if name in inspect.signature(TagText.__init__).parameters]
    raise TypeError(
        f"TaggerModelHandler got unexpected keyword arguments: {', '.join(unknown)}"
        + (f" ({', '.join(tagtext_only)}: TagText's, which RunInference has no use for)"
           if tagtext_only else "")
        + f"; Beam's ModelHandler takes {', '.join(sorted(known))}")


def record_of(example) -> TextRecord:
    """The TextRecord of an example: a ``str``, a ``TextRecord`` (or a tuple or list like
    one: id, text, and optionally source and fields), or a schema'd row with ``id`` and
    ``text`` columns (``beam.Row``, a NamedTuple; read by name, ``schema_rows``). TypeError,
    naming what it got, for anything else: a dict ``{"id": ..., "text": ...}`` used to be read
    as the tuple of its keys and its key "text" tagged; None or bytes failed with "argument
    after * must be an iterable"."""
    if isinstance(example, str):
        return TextRecord("", example)
    columns = row_columns(example)
    if columns is not None:
        record = text_record_of_row(columns)
    elif not isinstance(example, (tuple, list)) or not 2 <= len(example) <= 4:
        raise TypeError("TaggerModelHandler examples are str or TextRecord (id, text[, source"
                        f"[, fields]]) or a row with id and text columns, not "
                        f"{_described(example)}{how_to_make_a_record(example)}")
    else:
        record = TextRecord(*example)
    for name in ("id", "text"):
        value = getattr(record, name)
        if not isinstance(value, str):
            raise TypeError(f"a TaggerModelHandler example's {name} must be a str, not "
                            f"{_described(value)}")
    return record


def _described(value):
    kind = type(value).__name__
    return f"a {kind} of {len(value)}" if isinstance(value, (tuple, list)) else kind


class TaggerModelHandler(ModelHandler[Example, PredictionResult, LoadedTagger]):
    """A ModelHandler whose examples are ``str`` or ``TextRecord`` (or a schema'd row with
    ``id`` and ``text`` columns, ``record_of``) and whose inferences are ``TaggedRecord`` (one
    label and score per token).

    Args:
      model_dir: the tagger's model directory (None: the bundled model).
      store_path: its embedding store (None: the default store). Either, when on this
        machine, is checked here as TagText checks it (``worker_resources.check_where_built``);
        a remote one (``gs://``) where RunInference is applied (``validate_inference_args``;
        see ``validate``), as is one not here where the pipeline's workers run here (the
        DirectRunner unless told --environment_type=DOCKER or EXTERNAL, LOOPBACK); else by
        ``load_model`` on the workers.
      max_batch_tokens: padded slots (batch size x padded length) of one model call.
      chunk: records longer than this many tokens are tagged in overlapping chunks.
      overlap: tokens shared by neighbouring chunks.
      max_record_chars: an example of more characters fails its batch (a BeamtaggerError
        naming it; ``with_exception_handling()`` sends the batch to ``failed_inferences``),
        where ``TagText`` makes it a dead letter: held whole, a record takes about 0.8 kB a
        token of the worker's memory (a 50 MB line took 6.9 GB), and the handler tagged a
        record of any length.
      accelerator: a Beam accelerator resource hint for the RunInference stage, e.g.
        ``"type:nvidia-l4;count:1;install-nvidia-driver"``.
      vector_dtype: "float32" or "float16" vectors fed to the model.
      allow_other_embeddings: accept a store whose fingerprint differs from the model's.
      runtime: "tensorflow", "numpy" to run the model's forward pass without TensorFlow, or
        "jax" (see TagBatches; ``model/runtimes.py``). None (the default): chosen where
        RunInference is applied, for its pipeline's runner, as TagText chooses
        (``runtime_where_applied``, logged): "numpy" where each worker process gives the
        tagger one thread (``--runner=DataflowRunner``'s CPU workers, ``tagger_threads=1``)
        and no accelerator hint is given (``accelerator``, or one on RunInference or the
        options); else "tensorflow", as with ``large_model`` or ``model_copies`` (a model
        process serving the whole machine), or "numpy" where TensorFlow is not installed
        or would not start under this process's ``ulimit -v`` (locally). A handler used
        outside a pipeline: "tensorflow" where installed and within that limit, else "numpy",
        chosen at its first load.
      tagger_threads: TensorFlow threads per worker process; 0: TensorFlow's default, every
        core; None: ``beamtagger tag``'s default for the options of the pipeline RunInference
        is applied to (1 with ``--runner=DataflowRunner``, which runs one SDK process per
        vCPU; see TagBatches), or, where the options name no runner, for the runner object
        the pipeline was given (``beam.Pipeline(runner=DataflowRunner())``), as TagText. With
        ``large_model`` or ``model_copies`` (a model process serving all of a machine's
        SDK processes), None is TensorFlow's default.
      validate: True (the default): a remote ``model_dir`` and ``store_path`` are checked
        where RunInference is applied, before launch, without copying them, as TagText's
        ``validate`` says, and recorded (``tagger.json``'s and the manifest's SHA-256; a
        local path's too where the workers run here): ``load_model`` on a worker that finds
        either saved again at its path since raises one BeamtaggerError naming it, and the
        run fails rather than tag some records with each model (``built_against.py``).
        False skips that (a pipeline built where the bucket cannot be reached): nothing
        recorded, nothing compared. Models that ``model_metadata_pcoll`` or
        ``watch_model_pattern`` bring later are checked by ``update_model_path`` on the
        workers, as before, and served whatever was recorded of ``model_dir``; a
        RunInference given either records the store only (``updates_models``).
      threshold: a yes/no flag tagger's (``train --binary-label``) threshold to tag at instead
        of the model's own (None, the default: the model's), its files left as they are;
        pickled with the handler to the workers. ValueError (a ``BeamtaggerError``) here for
        a number outside 0..1 or a model on this machine that is no flag tagger; a remote one
        is checked by ``load_model``, and a model update that is no flag tagger is refused
        as one bound to another store is.
      **kwargs: ModelHandler's own options: ``min_batch_size``, ``max_batch_size`` (records per
        RunInference batch, or with ``element_size_fn`` the total of its sizes),
        ``element_size_fn``, ``max_batch_duration_secs``, ``large_model``, ``model_copies``,
        ``env_vars``, and on Beam 2.78 ``batch_length_fn`` and ``batch_bucket_boundaries``
        (length buckets; with ``max_batch_duration_secs`` only, the length ``text_length``'s
        characters unless ``batch_length_fn`` says otherwise: ``length_bucket_options``).
        Without any of the first four, batches are sized by their text: from
        ``MIN_BATCH_CHARACTERS`` to ``MAX_BATCH_CHARACTERS`` characters (see
        ``batch_elements_kwargs``).
    """

    def __init__(self, model_dir: Optional[str] = None, store_path: Optional[str] = None, *,
                 max_batch_tokens: int = MAX_BATCH_TOKENS, chunk: int = CHUNK,
                 overlap: int = OVERLAP, max_record_chars: int = MAX_RECORD_CHARS,
                 accelerator: Optional[str] = None,
                 vector_dtype: str = "float32", allow_other_embeddings: bool = False,
                 runtime: Optional[str] = None, tagger_threads: Optional[int] = None,
                 validate: bool = True, threshold: Optional[float] = None, **kwargs):
        check_model_handler_options(kwargs)
        super().__init__(**length_bucket_options(kwargs))
        check_tag_options(None, tagger_threads)
        # Checks the batching and chunking options; one per handler copy (a DoFn instance,
        # one thread), so its tokenizer is the copy's own.
        self._record_tagger = RecordTagger(max_batch_tokens=max_batch_tokens, chunk=chunk,
                                           overlap=overlap, vector_dtype=vector_dtype,
                                           counters=_COUNTERS)
        self.max_record_chars = check_max_record_chars(max_record_chars)
        self.model_dir = model_dir_option("model_dir", model_dir)
        self.store_path = path_option("store_path", store_path)
        self.accelerator = check_accelerator("accelerator", accelerator)
        self.allow_other_embeddings = check_flag("allow_other_embeddings",
                                                 allow_other_embeddings)
        worker_resources.check_where_built(self.model_dir, self.store_path,
                                           self.allow_other_embeddings)
        self.threshold = threshold_option(threshold, self.model_dir)
        self.validate = check_flag("validate", validate)
        # What validate_inference_args checked, for load_model to find again on the workers.
        self._built_against = BuiltAgainst()
        self.runtime = check_runtime(runtime)
        self.tagger_threads = tagger_threads
        # What load_model gives the runtime: tagger_threads, or the default for the pipeline
        # once RunInference is applied (validate_inference_args).
        self._worker_threads = tagger_threads
        # What load_model and the length buckets use: runtime, or where it is None, the choice
        # for the pipeline (validate_inference_args) or, outside one, at the first use.
        self._chosen_runtime = self.runtime

    # The batching and chunking options are the RecordTagger's, read only: as copies here,
    # one set after construction changed nothing the handler tagged (load_model's vector
    # dtype then differed from the one its batches were fed).
    @property
    def max_batch_tokens(self) -> int:
        return self._record_tagger.max_batch_tokens

    @property
    def chunk(self) -> int:
        return self._record_tagger.chunk

    @property
    def overlap(self) -> int:
        return self._record_tagger.overlap

    @property
    def vector_dtype(self) -> str:
        return self._record_tagger.vector_dtype

    def load_model(self) -> LoadedTagger:
        """Loads the tagger and opens its store; BeamtaggerError if they do not match, or if
        either is not what ``validate`` checked where the pipeline was built (saved again at
        its path since: ``built_against.py``)."""
        store = worker_resources.open_store(self.store_path, self._built_against)
        directory = self._model_use().directory
        self._built_against.check_model(self.model_dir, directory)
        return loaded_tagger(directory, store, self._runtime(),
                             model_dir=self.model_dir, threads=self._worker_threads,
                             vector_dtype=self.vector_dtype,
                             allow_other_embeddings=self.allow_other_embeddings,
                             threshold=self.threshold)

    def _runtime(self) -> str:
        """The runtime this handler runs (see ``runtime``)."""
        if self._chosen_runtime is None:   # never applied to a pipeline: used directly
            self._chosen_runtime = runtime_where_applied(None, "TaggerModelHandler")
        return self._chosen_runtime

    def update_model_path(self, model_path: Optional[str] = None):
        """Switches to the model at ``model_path`` (a model directory, or a file in one, as
        ``watch_model_pattern`` reports it) if it is whole, readable and bound to this
        handler's store; otherwise logs why, counts it and keeps the current model."""
        if not model_path:
            return
        model_dir = str(model_path)
        name = pathlib.PurePath(model_dir).name
        if name in _MODEL_FILES:
            # Cut as text: PurePath's parent reads "gs://b/m" as "gs:/b/m", a local path
            # that does not exist, and refused every update watch_model_pattern reported.
            model_dir = model_dir.rstrip("/\\")[:-len(name)].rstrip("/\\")
        use = None
        try:
            use = worker_resources.use_model_dir(model_dir)
            check_binding(use.directory,
                          worker_resources.open_store(self.store_path, self._built_against),
                          self.allow_other_embeddings, threshold=self.threshold,
                          model_dir=model_dir)
        # OSError: a remote model the workers cannot read (a GCS fault that gcsio's own
        # retries did not get past, a bucket they may not read) escaped here, and
        # RunInference failed every bundle from then on, retrying the update each time.
        except (BeamtaggerError, OSError) as refused:
            if use is not None:
                use.release()
            REFUSED_MODEL_UPDATES.inc()
            _logger.error("beamtagger: model update to %s refused, %s keeps serving: %s",
                          model_dir, self.model_dir or "the bundled model", refused)
            return
        # Another model on purpose, maybe at the same path: the one built against is no more.
        self._built_against = self._built_against.without_model()
        self._switch_to(model_dir, use)

    def _model_use(self) -> worker_resources.ModelDirUse:
        """The use of ``model_dir`` this handler copy holds, taken at its first load."""
        use = self.__dict__.get("_held_model")
        if use is None or use.model_dir != self.model_dir:
            self._switch_to(self.model_dir, worker_resources.use_model_dir(self.model_dir))
        return self._held_model

    def _switch_to(self, model_dir, use):
        """Serves ``model_dir`` from now on, and lets the model before go: its runner is in
        memory if it was loaded, and its copy is removed once no thread or process of the
        machine uses it (``ModelDirUse.release``). Beam's RunInference calls
        ``update_model_path`` before it loads the new model, in every handler copy that sees
        the update: a copy still serving the old model holds its own use of it."""
        previous = self.__dict__.get("_held_model")
        self.model_dir, self._held_model = model_dir, use
        if previous is not None:
            previous.release()

    def __getstate__(self):
        # A use of a model copy is this process's: a handler copy unpickled elsewhere (on a
        # worker, or for each DoFn instance) takes its own when it first loads.
        state = dict(self.__dict__)
        state.pop("_held_model", None)
        return state

    def validate_inference_args(self, inference_args: Optional[Dict[str, Any]]):
        """Beam's check of ``inference_args``; also where the handler learns the options of
        the pipeline RunInference is being applied to, for the defaults of
        ``tagger_threads`` and ``runtime``, and checks a remote ``model_dir`` and
        ``store_path`` (``validate``).

        A ModelHandler is never given the pipeline. RunInference's ``expand`` calls this first,
        inside ``Pipeline.apply``, whose options Beam makes available there, and whose frame
        holds the pipeline (``pipeline_being_applied``: its runner object where the options
        name none); KeyedModelHandler (one model or several) and ``with_preprocess_fn`` pass it
        on to this handler. The handler travels to the workers after this, pickled with
        RunInference's DoFn."""
        super().validate_inference_args(inference_args)
        pipeline = pipeline_being_applied()
        if self.validate:
            self._built_against = worker_resources.check_where_built(
                self.model_dir, self.store_path, self.allow_other_embeddings, remote=True,
                pipeline=pipeline)
            if updates_models(pipeline):
                self._built_against = self._built_against.without_model()
        options = options_being_applied()
        if options is None:
            return
        runner = None if pipeline is None else pipeline.runner
        # A model shared across processes (large_model, model_copies) runs in a process of
        # its own per copy, which serves every SDK process of the machine: not one of
        # Dataflow's one-per-vCPU processes, so it keeps TensorFlow's default.
        if not self.share_model_across_processes():
            self._worker_threads = tagger_threads_of_options(self.tagger_threads, options,
                                                             runner)
        self._chosen_runtime = runtime_where_applied(
            self.runtime, "TaggerModelHandler", options, runner, self._worker_threads,
            bool(self.accelerator) or accelerator_hinted(pipeline))
        check_stateful_batching(super().batch_elements_kwargs(), options, pipeline)

    def run_inference(self, batch: Sequence[Example], model: LoadedTagger,
                      inference_args: Optional[Dict[str, Any]] = None
                      ) -> Iterable[PredictionResult]:
        """Tags every example of ``batch``; one PredictionResult each, in order."""
        records = [record_of(example) for example in batch]
        for record in records:
            if len(record.text) > self.max_record_chars:
                # A str example has no id: "record ''" named none of a batch's examples.
                which = (f"record {record.id!r:.60}" if record.id else
                         f"an example without an id, beginning {record.text[:30]!r},")
                raise BeamtaggerError(
                    f"{which} holds {len(record.text):,} characters, more "
                    f"than max_record_chars ({self.max_record_chars:,}): held whole, it would "
                    "take about 0.8 kB of a worker's memory a token; split it, or give "
                    "TaggerModelHandler a larger max_record_chars where workers have the memory")
        model_id = model.model_id()
        for example, tagged in zip(batch, self.tagged_records(records, model)):
            yield PredictionResult(example, tagged, model_id)

    def tagged_records(self, records: Sequence[Union[TextRecord, TokenizedRecord]],
                       model: LoadedTagger) -> List[TaggedRecord]:
        """The TaggedRecord of each of ``records`` (TextRecord or TokenizedRecord, already
        checked: ``record_of``), in order: ``run_inference`` without Beam's PredictionResult
        around each."""
        return self._record_tagger.tagged_records(records, model, self._runtime())

    def batch_elements_kwargs(self):
        """BatchElements' options: the ones given, or batches sized by their characters.

        RunInference's own default starts at one record a batch and grows from there, and
        each batch is cut into batches of one length for the model: on EWT sentences that
        made 13,017 model batches of 79 tokens on average for a million tokens, where
        batches of thousands of records make 682 (``bench/case_g_side_by_side.py --through
        runinference``). Sized by characters, a batch of documents holds about as much text
        as a batch of sentences."""
        given = dict(super().batch_elements_kwargs())
        # With max_batch_duration_secs (Beam's stateful batching) records are counted from
        # one: Beam 2.77 counts them there whatever the size function says, and on the
        # DirectRunner a batch still short of 64 Ki characters when the input ends reaches
        # the steps below too late and its records are lost (stateful_batching;
        # 2.78 sizes these batches by the size function, and lost every record so).
        if given.keys() & {"min_batch_size", "max_batch_size", "element_size_fn",
                           "max_batch_duration_secs"}:
            return given
        return {**given, "min_batch_size": MIN_BATCH_CHARACTERS,
                "max_batch_size": MAX_BATCH_CHARACTERS, "element_size_fn": text_length}

    def get_num_bytes(self, batch: Sequence[Example]) -> int:
        # Through record_of: a row's second column is not always its text (beam.Row has none).
        return sum(len(record_of(e).text.encode("utf-8")) for e in batch)

    def get_metrics_namespace(self) -> str:
        return "BeamML_beamtagger"

    def get_resource_hints(self) -> dict:
        return {"accelerator": self.accelerator} if self.accelerator else {}
