"""Beam PTransforms for tagging text, one concern a module; compose them or use ``TagText``.

=====================  ===========================================================  ===========
transform              does                                                         module
=====================  ===========================================================  ===========
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
TaggerModelHandler     the tagger as a ModelHandler for Beam's RunInference         model_handler
=====================  ===========================================================  ===========

Element types are in ``records``, and how a step with dead letters declares the type of each of
its outputs (Beam's runtime type checks included) in ``typed_outputs``; the Arrow layout and
coder in ``arrow_batches``; Beam counters in ``counters``; how streaming steps group in the
global window and give each record its own window back in ``global_window``.
"""
from beamtagger.transforms.arrow_batches import ArrowRecordBatchCoder
from beamtagger.transforms.attach_vectors import AttachVectors
from beamtagger.transforms.bucket import BucketByLength
from beamtagger.transforms.dead_letters import WriteDeadLetters
from beamtagger.transforms.model_handler import TaggerModelHandler
from beamtagger.transforms.reading import ReadRecords
from beamtagger.transforms.records import (DeadLetter, Segment, TaggedRecord, TextRecord,
                                           TokenizedRecord)
from beamtagger.transforms.tag import TagBatches
from beamtagger.transforms.tag_text import TagText
from beamtagger.transforms.tokenize import Tokenize
from beamtagger.transforms.chunks import SplitIntoChunks, StitchChunks
from beamtagger.transforms.write_results import WriteResults

__all__ = [
    "ArrowRecordBatchCoder", "AttachVectors", "BucketByLength", "DeadLetter", "ReadRecords",
    "Segment", "SplitIntoChunks", "StitchChunks", "TagBatches", "TagText", "TaggedRecord",
    "TaggerModelHandler", "TextRecord", "Tokenize", "TokenizedRecord", "WriteDeadLetters", "WriteResults",
]
