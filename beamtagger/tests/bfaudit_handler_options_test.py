"""TaggerModelHandler's batching and chunking options have one home, the RecordTagger that
tags for it: what the handler says it tags with is what it tags with, here and in the copy
Beam ships to the workers."""
import pickle

import pytest

from beamtagger.transforms import TaggerModelHandler

OPTIONS = {"max_batch_tokens": 4096, "chunk": 4, "overlap": 1, "vector_dtype": "float16"}


def test_the_handler_reads_its_options_from_the_record_tagger_and_refuses_a_change(
        tiny_tagger):
    handler = TaggerModelHandler(**tiny_tagger.options, **OPTIONS)
    shipped = pickle.loads(pickle.dumps(handler))
    tagger = shipped._record_tagger
    for name, value in OPTIONS.items():
        assert getattr(handler, name) == getattr(shipped, name) == value
        assert getattr(tagger, name) == value
        # Set on the handler, the value was a copy its RecordTagger never read.
        with pytest.raises(AttributeError):
            setattr(handler, name, value)
