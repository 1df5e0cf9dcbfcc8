"""Beam PTransforms for tagging text, one concern a module; compose them or use ``TagText``.

=====================  ===========================================================  ===============
transform              does                                                         module
=====================  ===========================================================  ===============
ReadRecords            text/jsonl/conll/conllu/parquet files -> records, errors     reading
Tokenize               TextRecord -> TokenizedRecord with character offsets         tokenize
SplitIntoChunks        long records -> overlapping chunks; short ones pass whole    chunks
BucketByLength         segments -> batches of one length bucket under a token budget bucket
AttachVectors          batches -> pyarrow.RecordBatch of vectors and feature ids    attach_vectors
TagBatches             RecordBatch -> labels and scores (the GPU-placeable stage)   tag
StitchChunks           chunk results -> one TaggedRecord per long record            chunks
WriteResults           TaggedRecords -> JSON Lines / Parquet / CoNLL files          write_results
WriteDeadLetters       DeadLetters -> PREFIX-errors-*.jsonl                         dead_letters
TagText                Tokenize ... StitchChunks in one composite                   tag_text
TagTextWithModels      TagText with several models, the stages before tagging once  tag_with_models
TaggerModelHandler     the tagger as a ModelHandler for Beam's RunInference         model_handler
=====================  ===========================================================  ===============

Each name is imported from its module on first use (PEP 562), so importing one module of the
package (``records``, ``worker_resources``) imports no other, nor Beam: ``beamtagger.Tagger``
reads its records from here and tags through ``beamtagger/tagging/``, without Beam.

Element types are in ``records``, and how a step with dead letters declares the type of each of
its outputs (Beam's runtime type checks included) in ``typed_outputs``; the Arrow coder in
``arrow_batches`` (the batches' layout in ``beamtagger/tagging/record_batches.py``); Beam counters in ``counters``; how streaming steps group in the
global window and give each record its own window back in ``global_window``.
"""
import importlib

# Each public name -> the module that defines it.
_MODULES = {
    "ArrowRecordBatchCoder": "arrow_batches", "AttachVectors": "attach_vectors",
    "BucketByLength": "bucket", "DeadLetter": "records", "ReadRecords": "reading",
    "Segment": "records", "SplitIntoChunks": "chunks", "StitchChunks": "chunks",
    "TagBatches": "tag", "TagText": "tag_text", "TagTextWithModels": "tag_with_models",
    "TaggedRecord": "records",
    "TaggerModelHandler": "model_handler", "TextRecord": "records", "Tokenize": "tokenize",
    "TokenizedRecord": "records", "WriteDeadLetters": "dead_letters",
    "WriteResults": "write_results",
}
__all__ = sorted(_MODULES)


def __getattr__(name):
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value   # looked up once
    return value


def __dir__():
    return sorted([*globals(), *__all__])
