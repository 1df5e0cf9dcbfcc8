"""training_sentences.npy: the sentences a saved model trained on, by their tokens, so that
evaluate says how many of those it scores are not held out."""
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.model.tagger_spec import (SENTENCES_FILE, TaggerSpec, seen_sentences,
                                          sentence_hashes)


def sentences(*texts):
    return [SimpleNamespace(tokens=tuple(text.split())) for text in texts]


def test_a_sentence_is_seen_where_its_tokens_are_the_same():
    known = sentence_hashes(sentences("the cat sat", "a dog", "the cat sat"))
    assert known.dtype == np.uint64 and len(known) == 2
    assert seen_sentences(known, sentences("the cat sat", "a dog", "a  dog", "a dog .",
                                           "the cat", "")) == 3
    assert seen_sentences(None, sentences("a dog")) == 0
    assert seen_sentences(known, []) == 0


def test_saved_and_loaded_with_the_model_and_checked(tiny_tagger, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_tagger.model_dir, model)
    spec = TaggerSpec.load(model)
    spec.training_sentences = sentence_hashes(sentences("the cat sat", "a dog"))
    spec.save(model)
    assert seen_sentences(TaggerSpec.load(model).training_sentences,
                          sentences("a dog", "no")) == 1
    np.save(model / SENTENCES_FILE, np.arange(3, dtype=np.uint32))
    with pytest.raises(BeamtaggerError, match="not a NumPy vector of uint64"):
        TaggerSpec.load(model)
