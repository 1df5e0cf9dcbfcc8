"""Fast unit tests of pipelines that contain ``TagText``: a tiny store, a tiny model, a fixture.

The bundled model needs the 400k-word default store (about 10 s to load in every test
process, TensorFlow included). ``build_tiny_tagger`` writes, in well under a second, a
store of a few hundred deterministic random vectors and an *untrained* tagger built by the
same function the trainer uses (``model.training.build_tagger``, fixed seed), so it follows
every change to the model and its labels are the same on every run::

    # conftest.py
    pytest_plugins = ("beamtagger.testing",)

    # my_pipeline_test.py
    def test_my_pipeline(tiny_tagger):
        with TestPipeline() as p:
            out = p | beam.Create([TextRecord("a", "Beam tags this.")]) | TagText(
                **tiny_tagger.options)
            assert_that(out.tagged | beam.Map(lambda r: len(r.labels)), equal_to([4]))

The labels carry no meaning (the model is untrained); what a test can rely on is that every
token gets one of ``TINY_LABELS``, the same one on every run, and that ``tiny_tagger.labels``
gives them for a text without Beam.
"""
import dataclasses
import pathlib
import tempfile
from typing import List

import pytest

__all__ = ["TINY_LABELS", "TinyTagger", "build_tiny_tagger", "tiny_tagger"]

TINY_LABELS = ("DET", "NOUN", "PUNCT", "VERB")
_SEED = 7
_DIM = 8
# Lower-case words (as GloVe 6B): the store looks tokens up lower-cased, like the default one.
_WORDS = ("the a an this that it he she they we you i is are was were be have has do did not "
          "and or but of to in on at for with from by as like went go home yesterday today "
          "green red apples apple cat dog dogs sat mat bark rained all day paris beam tags "
          "text pipeline test . , ! ? ' \" - ( ) : ;").split()


@dataclasses.dataclass(frozen=True)
class TinyTagger:
    """A tiny model directory and the store it is bound to.

    Args:
      model_dir: the model directory (pass as ``TagText(model_dir=...)``).
      store_path: the embedding store directory (``TagText(store_path=...)``).
    """
    model_dir: str
    store_path: str

    @property
    def options(self) -> dict:
        """``TagText(**tiny.options)`` / ``TaggerModelHandler(**tiny.options)``."""
        return {"model_dir": self.model_dir, "store_path": self.store_path}

    def labels(self, text: str) -> List[str]:
        """The labels the tiny model gives ``text``'s tokens, without a pipeline (loads
        TensorFlow); the same as TagText gives."""
        from beamtagger.transforms.model_handler import TaggerModelHandler

        handler = TaggerModelHandler(**self.options)
        (result,) = handler.run_inference([text], handler.load_model())
        return list(result.inference.labels)


def build_tiny_tagger(directory, seed: int = _SEED, store_path=None) -> TinyTagger:
    """Writes a tiny store and a tiny untrained tagger under ``directory``; returns where.

    Args:
      directory: where to write (created if missing).
      seed: another seed gives another store and other weights (another model).
      store_path: bind the new model to this existing store instead of writing one.
    """
    import numpy as np

    from beamtagger.embedding_import import import_embeddings
    from beamtagger.embedding_store import EmbeddingStore
    from beamtagger.model.features import CASING_CLASSES, TokenFeaturizer, build_char_vocab
    from beamtagger.model.saving import save_model_dir
    from beamtagger.model.training import TrainingConfig, build_tagger

    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if store_path is None:
        vectors = np.random.default_rng(seed).normal(size=(len(_WORDS), _DIM)).astype(np.float32)
        text = directory / "tiny-vectors.txt"
        text.write_text("".join(f"{word} {' '.join(f'{v:.5f}' for v in row)}\n"
                                for word, row in zip(_WORDS, vectors)), encoding="utf-8")
        store_path = directory / "store"
        import_embeddings(text, store_path)
    store = EmbeddingStore.open(store_path)
    config = TrainingConfig(units=4, feature_dim=2, oov_buckets=8, dropout=0.0, seed=seed,
                            feature_columns=(("casing", len(CASING_CLASSES)), ("suffix2", 16)),
                            char_dim=4, char_filters=4, max_chars=8)
    # The character encoder is on, as in trained models, so users' tests run that path too.
    featurizer = TokenFeaturizer(config.special_tokens, config.oov_buckets, config.feature_columns,
                                 char_vocab=build_char_vocab(_WORDS, min_count=1), max_chars=config.max_chars)
    model, spec = build_tagger(list(TINY_LABELS), "softmax", store, config, featurizer)
    model_dir = save_model_dir(model, spec, {"tiny": True, "seed": seed}, directory / "model")
    return TinyTagger(str(model_dir), str(store_path))


@pytest.fixture(scope="session")
def tiny_tagger(tmp_path_factory) -> TinyTagger:
    """A TinyTagger built once per test session."""
    return build_tiny_tagger(tmp_path_factory.mktemp("beamtagger-tiny"))


def _main():  # pragma: no cover  (python -m beamtagger.testing DIR: build one to look at)
    import sys
    print(build_tiny_tagger(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()))


if __name__ == "__main__":
    _main()
