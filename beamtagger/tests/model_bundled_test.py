"""The bundled models, the default UPOS one and the entity one (``bundled-ner``): small, bound
to the default GloVe store, and accurate."""
import json

import pytest

from beamtagger import bundled_model
from beamtagger.model.saving import keras_file_arrays
from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR, TaggerSpec
from beamtagger.tests.docs_examples_test import default_store  # noqa: F401  (fixture)

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


NER_MODEL_DIR = bundled_model("ner")
WNUT17_TYPES = ["corporation", "creative-work", "group", "location", "person", "product"]


def test_bundled_entity_model_is_small_self_describing_and_bound_to_the_default_store():
    assert sorted(p.name for p in NER_MODEL_DIR.iterdir()) == [
        "tagger.json", "tagger.keras", "training_entities.npy", "training_forms.npy",
        "training_report.json", "training_sentences.npy"]
    assert sum(p.stat().st_size for p in NER_MODEL_DIR.iterdir()) < 5_000_000
    spec = TaggerSpec.load(NER_MODEL_DIR)
    assert spec.is_bio and spec.head == "softmax" and spec.decoding["viterbi"]
    assert sorted({label[2:] for label in spec.labels if label != "O"}) == WNUT17_TYPES
    # The default store, as the bundled UPOS model's.
    assert spec.binding == TaggerSpec.load(DEFAULT_MODEL_DIR).binding
    # What evaluate needs to split seen from unseen entities, and to warn of text it trained on.
    assert spec.training_entities is not None and len(spec.training_entities) > 1_000
    assert spec.training_sentences is not None and len(spec.training_sentences) > 3_000
    arrays = keras_file_arrays(spec.model_path)
    assert not [name for name in arrays if "optimizer" in name]
    assert max(shape[0] for shape in arrays.values()) < 10_000  # no 400k-row table inside
    report = json.loads((NER_MODEL_DIR / "training_report.json").read_text())
    # Chosen on WNUT-17 dev's first 505 sentences only (docs/quality.md scores it on the rest).
    assert report["dev"]["sentences"] == 505 and report["config"]["seed"] == 1
    assert report["best_dev"]["dev_entity_f1"] >= 0.44   # issue 20's seed 1: 45.55 on part A


def test_model_info_bundled_ner_shows_its_bio_tag_set(capsys, default_store):  # noqa: F811
    from beamtagger.pipeline import cli

    assert cli.main(["model", "info", "bundled-ner", "--embeddings",
                     str(default_store.path)]) == 0
    out = capsys.readouterr().out
    assert f"{NER_MODEL_DIR}  (the bundled entity model, bundled-ner)" in out
    assert f"13 BIO labels, 6 entity types: {', '.join(WNUT17_TYPES)}" in out
    assert f"store:         {default_store.path} matches (--embeddings)" in out


def test_model_info_names_a_link_to_the_entity_model_as_the_entity_model(capsys, tmp_path):
    # Told apart by its folder's name, a link "mine" to it was shown as "(the bundled model)",
    # which the docs use for the UPOS one.
    from beamtagger.pipeline import cli

    (tmp_path / "mine").symlink_to(NER_MODEL_DIR)
    cli.main(["model", "info", str(tmp_path / "mine")])
    assert capsys.readouterr().out.splitlines()[0].endswith(
        "mine  (the bundled entity model, bundled-ner)")


def test_bundled_entity_model_finds_an_obvious_entity(default_store):  # noqa: F811
    from beamtagger import Tagger

    record = Tagger(NER_MODEL_DIR, runtime="numpy").tag("I met Taylor Swift in London yesterday.")
    # Scored 1.00 and 0.96 by the bundled model: far from any other label.
    assert [(entity.text, entity.label) for entity in record.entities()] == [
        ("Taylor Swift", "person"), ("London", "location")]
