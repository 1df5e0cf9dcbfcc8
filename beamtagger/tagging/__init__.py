"""The tagging steps as plain Python: what the Beam transforms and ``beamtagger.Tagger`` share.

No module here imports Apache Beam (``tagger_beamfree_startup_test.py`` checks it), so
``from beamtagger import Tagger`` tags text without Beam's import (about a second, most of
its start-up before; BENCHMARKS.md, "In-process tagging"). The Beam side (``transforms/``)
imports these back: its coders, DoFns and counters stay there, and its modules re-export
the names that lived in them before.

==================  ==============================================================  ==============
module              does                                                            Beam side
==================  ==============================================================  ==============
record_checks       what ``Tokenize`` makes a dead letter (``checked_record``)      tokenize
token_blocks        a group of records tokenized at once, held as columns           token_blocks
chunk_spans         where a long record is cut into chunks, which tokens each owns  chunks
length_buckets      the length buckets and the token budget of a batch              bucket
record_batches      model-ready ``pyarrow.RecordBatch``es                           arrow_batches
loaded_tagger       a model's runner and its store, checked (``LoadedTagger``)      model_handler
record_tagger       a group of records tagged at once (``RecordTagger``)            model_handler
==================  ==============================================================  ==============
"""
