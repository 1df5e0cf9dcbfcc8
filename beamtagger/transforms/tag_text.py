"""TagText: the whole tagging job for a PCollection of records, as one composite transform.

    records (TextRecord | TokenizedRecord)
      -> Tokenize -> SplitIntoChunks -> BucketByLength -> AttachVectors -> TagBatches
      -> (StitchChunks for long records) -> TaggedRecord, plus DeadLetters

On bounded input the records travel from Tokenize to BucketByLength in blocks (lists of up to
1,024 records, ``blocks.py``), so the runner's cost per element is paid per block, and the
results stay tagged batches (``tagged_batches``) until they become TaggedRecords after the
Flatten that merges whole, stitched and empty records. A block holds records of one window at
any timestamps and carries each record's own (``Block.timestamps``), as the batches do (their
``timestamp`` column), so every TaggedRecord and DeadLetter leaves in its record's window at its
record's timestamp, as in streaming; a block and a batch are stamped with their records'
earliest, so none turns late on the way where the input is unbounded (the block path runs there
too, without ``max_buffering_secs``). ``beamtagger tag`` carries no timestamps.

Without an accelerator every stage fuses into one CPU stage and batches never leave the worker
that built them. With ``accelerator="type:nvidia-l4;count:1;install-nvidia-driver"`` only
TagBatches carries the resource hint: Dataflow right fitting runs it on GPU workers, and the
Arrow batches cross to them through ArrowRecordBatchCoder (never pickled).

``TagTextWithModels`` (``tag_with_models.py``) and ``TagTextInParts(models=...)`` run the same
stages for several models (``models_to_tag.py``): everything up to BucketByLength once,
AttachVectors once a group of models with the same inputs, TagBatches and StitchChunks once a
model; TagText is the case of one model, whose steps keep their labels.
"""
from typing import NamedTuple, Optional

import apache_beam as beam
from apache_beam import typehints
import numpy as np
import pyarrow as pa
from apache_beam.utils.windowed_value import WindowedValue

from beamtagger.model import runtimes
from beamtagger.model.flag_threshold import threshold_option
from beamtagger.model.model_inputs import check_vector_dtype
from beamtagger.tagging_defaults import (MAX_RECORD_CHARS, VECTORS_AT, check_accelerator,
                                         check_runtime, check_vectors_at, model_dir_option,
                                         path_option)
from beamtagger.transforms.attach_vectors import AttachVectors
from beamtagger.transforms.blocks import CollectRecordBlocks
from beamtagger.transforms.bucket import (DEFAULT_MAX_BATCH_TOKENS, BucketByLength,
                                          buffering_secs_on, check_batch_options)
from beamtagger.transforms.records import DeadLetter, TaggedRecord
from beamtagger.transforms.tagged_batches import tagged_batch_of_records
from beamtagger.transforms.tag import (TagBatches, check_flag, check_tag_options,
                                       tagged_records_at_own_timestamps)
from beamtagger.transforms import worker_resources
from beamtagger.transforms.built_against import BuiltAgainst
from beamtagger.transforms.kept_text import with_kept_texts
from beamtagger.transforms.models_to_tag import (ModelsRefused, ModelToTag, attach_groups,
                                                 models_option)
from beamtagger.transforms.runtime_where_applied import runtime_of_pipeline
from beamtagger.transforms.tokenize import Tokenize, check_max_record_chars, check_record_type
from beamtagger.transforms.typed_outputs import typed_outputs
from beamtagger.transforms.chunks import (DEFAULT_CHUNK, DEFAULT_OVERLAP, ERRORS,
                                          SplitIntoChunks, StitchChunks, check_chunk)


__all__ = ["TagText", "TagTextResult"]


class TagTextResult(NamedTuple):
    """What TagText returns.

    Args:
      tagged: TaggedRecord, one per input record that could be tagged.
      errors: DeadLetter, one per record that could not.
    """
    tagged: beam.PCollection
    errors: beam.PCollection


# Input: TextRecord or TokenizedRecord (or a tuple shaped like a TextRecord, or a schema'd
# row with id and text columns, schema_rows.py). Not declared as a
# type hint: Beam would refuse those tuples while the pipeline is built, where today each
# element that is no record becomes a dead letter naming its type.
class TagText(beam.PTransform):
    """Tags every token of every record; returns ``TagTextResult(tagged, errors)``.

    Args:
      model_dir: the tagger's model directory (None: the bundled model).
      store_path: its embedding store (None: the default store). A model directory or store
        on this machine is checked here, where the transform is built, with the messages
        ``beamtagger tag`` gives before launch (not a model, not a store, a store the model
        cannot read); a remote one (``gs://``) where it is applied (see ``validate``), as is
        one not here where the pipeline's workers run here (the DirectRunner unless told
        --environment_type=DOCKER or EXTERNAL, the FnApiRunner, LOOPBACK: "does not exist"); a
        path that is in neither place (in the workers' image) when the workers read it
        (``worker_resources.check_where_built``).
      chunk: records longer than this many tokens are tagged in overlapping chunks of this
        many tokens and stitched back together.
      overlap: tokens shared by neighbouring chunks.
      max_batch_tokens: padded slots (batch size x padded length) of a batch.
      max_buffering_secs: streaming: how long a partial batch may wait for more records of its
        length (processing time, as the runner keeps it: TestStream's clock in tests; whole
        seconds, rounded up). Records keep their own Beam windows; late ones are tagged too.
        Left out in a batch pipeline over bounded input, where every partial batch goes out
        at its bundle's end (one INFO line says so); records come out in their own windows at
        their own timestamps there too, as without the option.
      accelerator: a Beam accelerator resource hint for the tag stage only.
      vector_dtype: "float32" or "float16" vectors in the batches.
      allow_other_embeddings: accept a store whose fingerprint differs from the model's.
      max_record_chars: a record of more characters is a dead letter (stage tokenize) instead
        of being held whole in a worker's memory, about 0.8 kB a token.
      progress_every_secs: print a progress line this often (local runs).
      tagger_threads: TensorFlow threads per worker process; 0: TensorFlow's default, every
        core; None: ``beamtagger tag``'s default for the pipeline's runner (1 on Dataflow,
        which runs one SDK process per vCPU; see TagBatches).
      runtime: "tensorflow", "numpy" to run the model's forward pass in NumPy, without
        importing TensorFlow (what ``beamtagger.testing`` uses), or "jax" for GPUs without
        TensorFlow, whose batches are bucketed by its grid's widths (see TagBatches). None
        (the default): chosen where the transform is applied, as ``beamtagger tag`` chooses
        for an input of unknown size (``runtime_where_applied``, logged): "numpy" where each
        worker process gives the tagger one thread (Dataflow's CPU workers by default,
        ``tagger_threads=1``) and a Dataflow tag stage has no accelerator hint; otherwise
        "tensorflow", or "numpy" where TensorFlow is not installed or would not start under
        this process's ``ulimit -v`` (locally). Never "jax".
      vectors_at: where the word vectors are gathered from the store: "attach" (the default),
        on the CPU workers, the batches carrying them to the tag stage; or "tag", in the tag
        stage, the batches carrying each slot's store row (4 bytes a slot where the vectors are
        2-4 x D: 100-200 at D=50, 600-1,200 at D=300), the store opened there too. For a tag
        stage on GPU workers (``accelerator``; the jax runtime, which gathers on its device):
        the batches between the stages carry about 60 bytes a token instead of 155-255 at
        D=50 (``bench/batch_bytes.py``).
      validate: Beam's name and meaning (``ReadFromText(validate=...)``): True (the default)
        checks a remote ``model_dir`` and ``store_path`` (``gs://``) where the transform is
        applied, before anything is launched, without copying them
        (``transforms/remote_paths.py``: ``tagger.json``, the model file's listed size
        against the one it records, the store's manifest, matrix header and vocabulary
        footer, and the store against the model), each problem one BeamtaggerError naming
        the path; where they cannot be read, the workers failed every bundle after the
        launch. What was checked is recorded (``tagger.json``'s and the manifest's SHA-256;
        a local path's too where the workers run here) and every stage's workers compare it
        once as they load the model or open the store: a model saved again or a store
        imported over the same path after the pipeline was built fails the run with one
        BeamtaggerError naming the path (``built_against.py``), never a mix of the two.
        False skips that, for a pipeline built where the bucket cannot be reached (a
        launcher without its credentials): nothing is recorded, nothing compared. Paths on
        this machine are checked either way.
      keep_text: each TextRecord's text is kept in its result's pass-through fields
        (``kept_text``), for ``WriteResults(keep_text=True)`` to write CoNLL-U's ``# text``
        and spacing and each entity's text from it, and to take out again. Off by default:
        the record then carries its text a second time.
      threshold: a yes/no flag tagger's (``train --binary-label``): a token is positive where
        its probability is at least this, instead of the model's own threshold
        (``tagger.json``, ``beamtagger model set-threshold``), whose files are left as they
        are: a model in a bucket or a read-only folder, or two pipelines at two thresholds
        from one model. It travels with the transform to the workers. None (the default): the
        model's own. ValueError (a ``BeamtaggerError``) here for a number outside 0..1 (NaN
        too) or a model on this machine that is no flag tagger; a remote one's workers fail
        their stage with that line as they load it.
    """

    def __init__(self, model_dir: Optional[str] = None, store_path: Optional[str] = None,
                 chunk: int = DEFAULT_CHUNK, overlap: int = DEFAULT_OVERLAP,
                 max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
                 max_buffering_secs: Optional[float] = None, accelerator: Optional[str] = None,
                 vector_dtype: str = "float32", allow_other_embeddings: bool = False,
                 progress_every_secs: Optional[float] = None,
                 tagger_threads: Optional[int] = None, runtime: Optional[str] = None,
                 max_record_chars: int = MAX_RECORD_CHARS, vectors_at: str = VECTORS_AT,
                 validate: bool = True, keep_text: bool = False,
                 threshold: Optional[float] = None):
        super().__init__()
        # Here, not where the stages are built in expand: a wrong option is refused where the
        # user wrote it.
        check_chunk(chunk, overlap)
        check_batch_options(max_batch_tokens, max_buffering_secs)
        check_tag_options(progress_every_secs, tagger_threads)
        self.store_path = path_option("store_path", store_path)
        self.chunk = chunk
        self.overlap = overlap
        self.max_batch_tokens = max_batch_tokens
        self.max_buffering_secs = max_buffering_secs
        self.accelerator = check_accelerator("accelerator", accelerator)
        self.vector_dtype = check_vector_dtype(vector_dtype)
        self.allow_other_embeddings = check_flag("allow_other_embeddings",
                                                 allow_other_embeddings)
        self.models = tuple(self._checked_model(model)
                            for model in self._models_given(model_dir, threshold))
        self.progress_every_secs = progress_every_secs
        self.tagger_threads = tagger_threads
        self.runtime = check_runtime(runtime)
        self.max_record_chars = check_max_record_chars(max_record_chars)
        self.vectors_at = check_vectors_at(vectors_at)
        self.validate = check_flag("validate", validate)
        self.keep_text = check_flag("keep_text", keep_text)

    def _models_given(self, model_dir, threshold):
        """The models to tag with, as given (``models_to_tag``): TagText's one, unnamed."""
        return (ModelToTag(None, model_dir, threshold),)

    # Attributes of TagText before it became the one-model case of TagTextWithModels, which a
    # user's code may read; read-only: the stages were checked against them where it was built.
    @property
    def model_dir(self) -> Optional[str]:
        """The model directory it tags with, as checked (None: the bundled model; a bundled
        model's folder given is its ``bundled_models.BundledModel``)."""
        return self._one_model("model_dir").model_dir

    @property
    def threshold(self) -> Optional[float]:
        """The flag tagger's threshold it tags at (None: the model's own)."""
        return self._one_model("threshold").threshold

    def _one_model(self, attribute):
        model = self.models[0]   # an unnamed one is TagText's only model
        if model.name is not None:
            raise AttributeError(f"{type(self).__name__} tags with models by name: read its "
                                 f"models, not {attribute}")
        return model

    def _checked_model(self, model):
        """``model`` with its path and threshold as TagText takes them; refused here (one
        line) where it is no model, or its store check fails, as ``check_where_built`` says."""
        named = model.name is not None
        model_dir = model_dir_option(f"models[{model.name!r}]" if named else "model_dir",
                                     model.model_dir)
        worker_resources.check_where_built(model_dir, self.store_path,
                                           self.allow_other_embeddings)
        return model._replace(model_dir=model_dir, threshold=threshold_option(
            model.threshold, model_dir, f"thresholds[{model.name!r}]" if named else "threshold"))

    # No return annotation: Beam reads one as an output type hint and warns, on every use,
    # that a NamedTuple of PCollections is not one it can check.
    def expand(self, records):
        [result] = self._results(records).values()
        return result

    def _results(self, records):
        """{model name: its TagTextResult}, the stages before the tag stage shared."""
        check_record_type(records, type(self).__name__)
        buffering_secs = buffering_secs_on(records, self.max_buffering_secs, "TagText")
        if buffering_secs is not None:
            # Streaming: one element a record all the way, each in its own window.
            return {model.name: TagTextResult(
                        parts | model.label("AllTagged") >> beam.Flatten(),
                        errors | model.label("AllErrors") >> beam.Flatten())
                    for model, (parts, errors)
                    in self._tag_in_parts(records, buffering_secs).items()}
        # Bounded: the parts stay tagged batches until after the Flatten, which Beam's local
        # runner encodes element by element (fn_api_runner ``sink_flattens``): an Arrow batch of
        # hundreds of records, where it was a pickled TaggedRecord each. Where the tag stage
        # runs on GPU workers, the batches are also what crosses from them.
        # Each record's own timestamp goes with it (its block's, then its batch row's), so each
        # result and dead letter leaves at it, as in streaming.
        in_parts = self._tag_in_parts(records, None, output_batches=True, own_timestamps=True)
        # Empty records are tagged alike by every model: their batches are made once.
        empty = next(iter(in_parts.values()))[0][2] | "EmptyAsBatches" >> beam.ParDo(
            _EmptyRecordsAsBatches()).with_output_types(pa.RecordBatch)
        results = {}
        for model, ((whole, stitched, _), errors) in in_parts.items():
            tagged = typed_outputs(
                (whole, stitched, empty) | model.label("AllTagged") >> beam.Flatten(),
                model.label("AsTaggedRecords"), beam.FlatMap(tagged_records_at_own_timestamps),
                "tagged", TaggedRecord, **{ERRORS: DeadLetter})
            results[model.name] = TagTextResult(
                tagged.tagged,
                (*errors, tagged[ERRORS]) | model.label("AllErrors") >> beam.Flatten())
        return results

    def _tag_in_parts(self, records, buffering_secs, blocks_given=False, output_batches=False,
                      own_timestamps=False):
        """{ModelToTag: ((whole records, stitched long records, empty records), the dead
        letters' parts)}, one entry a model of ``self.models``: the stages up to the vectors
        are applied once for all (``attach_groups``), the tag stage and the stitching once a
        model.

        Bounded input goes through the stages in blocks of records (``blocks.py``: the
        runner's cost per element paid per block); ``blocks_given``: ``records`` already holds
        blocks. Streaming keeps one element a record: each carries its own window and
        timestamp through BucketByLength's trigger. ``output_batches``: whole records and
        stitched long records leave as tagged batches (``TagBatches`` and ``StitchChunks``
        with ``output_batches=True``). ``buffering_secs``: ``max_buffering_secs`` where it
        takes effect (``buffering_secs_on``), else None. ``own_timestamps``: on the block path,
        each record's own timestamp travels with it (its block's and its batch row's), for
        outputs at their records' timestamps; ``beamtagger tag``, whose records' timestamps
        mean nothing, leaves it out.
        """
        # Here, not where it is built: a transform built without network access (in a test, a
        # notebook, a module) stays so until it is applied. One record a model for every
        # stage: each stage's workers must find the files the others find.
        built_against = {model: self._built_against(records.pipeline, model)
                         for model in self.models}
        # Here, not where it is built: a transform does not know its runner until it is applied.
        runtime = runtime_of_pipeline(self.runtime, "TagText", records.pipeline,
                                      self.tagger_threads, accelerator=bool(self.accelerator))
        blocks = buffering_secs is None
        if blocks and not blocks_given:
            records = records | "CollectRecordBlocks" >> CollectRecordBlocks(own_timestamps)
        elif blocks_given and not blocks:
            raise ValueError("blocks of records are tagged on bounded input only")
        if self.keep_text:
            # A Block stays one, for its coder; a schema'd row becomes a TextRecord, which the
            # row's own coder (its schema's) would not encode where the stages are not fused.
            records = records | "KeepText" >> beam.Map(with_kept_texts).with_output_types(
                records.element_type if blocks else typehints.Any)
        tokenized = records | "Tokenize" >> Tokenize(blocks=blocks,
                                                     max_record_chars=self.max_record_chars)
        chunked = tokenized.records | "SplitIntoChunks" >> SplitIntoChunks(
            self.chunk, self.overlap, blocks=blocks)
        batches = chunked.segments | "BucketByLength" >> BucketByLength(
            self.max_batch_tokens, buffering_secs, blocks=blocks,
            widths=runtimes.bucket_widths(runtime))
        in_parts = {}
        for group in attach_groups(self.models, built_against):
            first = group[0]
            label = ("AttachVectors" if len(group) == len(self.models)
                     else f"AttachVectors[{'+'.join(model.name for model in group)}]")
            attached = batches | label >> AttachVectors(
                self.store_path, first.model_dir, self.vector_dtype,
                self.allow_other_embeddings, self.vectors_at,
                built_against=built_against[first])
            for model in group:
                tag = TagBatches(model.model_dir, self.progress_every_secs, self.tagger_threads,
                                 runtime, output_batches=output_batches,
                                 vectors_at=self.vectors_at, store_path=self.store_path,
                                 vector_dtype=self.vector_dtype,
                                 allow_other_embeddings=self.allow_other_embeddings,
                                 validate=False,   # checked above
                                 built_against=built_against[model], threshold=model.threshold,
                                 model_name=model.name)
                if self.accelerator:
                    tag = tag.with_resource_hints(accelerator=self.accelerator)
                tagged = attached.batches | model.label("Tag") >> tag
                stitched = ((chunked.long_records, tagged.chunks, attached.chunks)
                            | model.label("StitchChunks") >> StitchChunks(
                                model.model_dir, output_batches=output_batches,
                                built_against=built_against[model],
                                threshold=model.threshold))
                in_parts[model] = ((tagged.tagged, stitched.tagged, chunked.empty),
                                   (tokenized.errors, attached.errors, tagged.errors,
                                    stitched.errors))
        # In the models' order, as the caller gave them.
        return {model: in_parts[model] for model in self.models}

    def _built_against(self, pipeline, model):
        """What the stages' workers must find (``built_against.py``): ``model`` and the store
        checked here where ``validate``, else nothing."""
        if not self.validate:
            return BuiltAgainst()
        return worker_resources.check_where_built(model.model_dir, self.store_path,
                                                  self.allow_other_embeddings, remote=True,
                                                  pipeline=pipeline)


class TagTextInParts(TagText):
    """For ``beamtagger tag`` only: TagText with ``tagged`` left as a tuple of three
    PCollections (whole records, stitched long records, empty records) for WriteResults,
    which formats each where it is produced.

    Beam's local runner copies every element of a multi-input Flatten through an encoded
    buffer into a stage of its own (fn_api_runner ``translations.sink_flattens``), so
    formatting and writing all records waited for the last batch (bench/throughput_bench.py
    case D). On bounded input the whole records and the stitched long records are tagged
    batches (``tagged_batches``), which WriteResults formats column by column, and
    ``blocks=True`` takes blocks of records from ``ReadRecords(blocks=True)``. Not part of the
    public API: TagText always returns one PCollection of TaggedRecords. ``validate`` is
    False unless given: ``beamtagger tag`` checks remote paths before it builds the pipeline,
    on copies (``check_job``), further than TagText can without them. The files are
    recorded all the same: ``built_against``, what ``beamtagger tag`` checked
    (``launch_files``: the digests of the files its checks read, recorded before them), or,
    where None, as they are here (``worker_resources.record_built_against``). A Dataflow
    job's workers read the ``gs://`` paths themselves, and a local run's the folders
    ``launch_files`` pinned (the same bytes), or a store it reads in place.

    ``models`` and ``thresholds`` (``TagTextWithModels``' options) in place of ``model_dir``
    and ``threshold`` (``thresholds`` without ``models`` is refused, where it was dropped): it
    returns ``{name: TagTextResult(parts, errors)}``, each what it returns for that model
    alone, and ``built_against`` is then ``{name: BuiltAgainst}``.
    """

    def __init__(self, *args, models=None, thresholds=None, blocks=False, built_against=None,
                 **kwargs):
        kwargs.setdefault("validate", False)
        if models is None and thresholds is not None:
            raise ModelsRefused("thresholds are models' (by name): give models with them, or "
                                "threshold with model_dir")
        self._models_option = None if models is None else models_option(models, thresholds)
        model_dir = args[0] if args else kwargs.get("model_dir")
        if models is not None and (model_dir is not None or kwargs.get("threshold") is not None):
            raise ModelsRefused("give models (and thresholds), or model_dir (and threshold), "
                                "not both")
        super().__init__(*args, **kwargs)
        self.blocks = blocks
        # beamtagger tag's checks, by model name (None: its one model).
        self.checked = (built_against if built_against is None or models is not None
                        else {None: built_against})

    def _models_given(self, model_dir, threshold):
        return self._models_option or super()._models_given(model_dir, threshold)

    def expand(self, records):
        """TagTextResult(the three parts, errors); with ``models``, {name: that}."""
        buffering_secs = buffering_secs_on(records, self.max_buffering_secs, "TagText")
        results = {model.name: TagTextResult(
                       parts, errors | model.label("AllErrors") >> beam.Flatten())
                   for model, (parts, errors) in self._tag_in_parts(
                       records, buffering_secs, blocks_given=self.blocks,
                       output_batches=buffering_secs is None).items()}
        return results if self._models_option else results[None]

    def _built_against(self, pipeline, model):
        if self.checked is not None and model.name in self.checked:
            return self.checked[model.name]
        if self.validate:
            return super()._built_against(pipeline, model)
        return worker_resources.record_built_against(
            model.model_dir, self.store_path, worker_resources.runs_on_this_machine(pipeline))


class _EmptyRecordsAsBatches(beam.DoFn):
    """TaggedRecords without tokens -> a tagged batch of them a window and timestamp (their
    records'), once a bundle, so that TagText's Flatten carries only tagged batches. Each keeps
    its record's ``source``."""

    def start_bundle(self):
        self._records = {}

    def process(self, record, window=beam.DoFn.WindowParam,
                timestamp=beam.DoFn.TimestampParam):
        self._records.setdefault((window, timestamp), []).append(record)

    def finish_bundle(self):
        for (window, timestamp), records in self._records.items():
            empty = tagged_batch_of_records(records, (), np.zeros(0, np.float32), (),
                                            keys=[record.source for record in records])
            yield WindowedValue(empty, timestamp, (window,))
        self._records = {}
