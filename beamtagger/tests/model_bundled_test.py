"""The bundled default UPOS model: small, bound to the default GloVe store, and accurate."""
import json

import pytest

from beamtagger.model.saving import keras_file_arrays
from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR, TaggerSpec

UPOS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
        "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"]


def test_bundled_model_is_small_and_self_describing():
    assert sorted(p.name for p in DEFAULT_MODEL_DIR.iterdir()) == [
        "tagger.json", "tagger.keras", "training_forms.npy", "training_report.json"]
    assert sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir()) < 5_000_000
    spec = TaggerSpec.load(DEFAULT_MODEL_DIR)
    assert spec.labels == UPOS and spec.head == "softmax" and spec.tag_column == "upos"
    assert spec.binding["dim"] == 50
    assert spec.featurizer.max_chars == 16 and len(spec.featurizer.char_vocab) > 50
    assert spec.training_forms is not None and len(spec.training_forms) > 15_000
    arrays = keras_file_arrays(spec.model_path)
    assert not [name for name in arrays if "optimizer" in name]
    assert max(shape[0] for shape in arrays.values()) < 10_000  # no 400k-row table inside
    report = json.loads((DEFAULT_MODEL_DIR / "training_report.json").read_text())
    assert report["best_dev"]["dev_accuracy"] >= 0.935  # the quality bar


def test_bundled_model_tags_ewt_dev_with_the_default_store(shared_data):
    pytest.importorskip("tensorflow")
    from beamtagger.corpus_readers import read_corpus
    from beamtagger.embeddings.default import ensure_default_store
    from beamtagger.model.encoding import encode_sentences
    from beamtagger.model.evaluation import evaluate_corpus
    from beamtagger.model.inference import TaggerRunner

    store = ensure_default_store()
    runner = TaggerRunner.load(DEFAULT_MODEL_DIR)
    runner.spec.check_store(store)  # trained against this very store
    dev = read_corpus(shared_data / "ud-english-ewt" / "en_ewt-ud-dev.conllu", "conllu")
    sentences = [s for _, s in zip(range(300), dev)]
    corpus = encode_sentences(sentences, store, runner.spec.featurizer,
                              {label: i for i, label in enumerate(runner.spec.labels)})
    metrics = evaluate_corpus(runner, corpus, store)
    assert metrics["tokens"] > 3000
    assert metrics["accuracy"] > 0.93
