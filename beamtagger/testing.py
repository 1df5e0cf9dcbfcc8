"""Fast unit tests of pipelines that contain ``TagText``: a tiny store, a tiny model, a fixture.

The bundled model needs the 400k-word default store (about 10 s to load in every test
process, TensorFlow included). ``build_tiny_tagger`` writes, in well under a second, a
store of a few hundred deterministic random vectors and an *untrained* tagger built by the
same function the trainer uses (``model.training.build_tagger``, fixed seed), so it follows
every change to the model and its labels are the same on every run::

    # conftest.py
    pytest_plugins = ("beamtagger.testing",)

    # my_pipeline_test.py (FnApiRunner: docs/library.md, "Testing your pipeline", says why)
    def test_my_pipeline(tiny_tagger):
        with TestPipeline(runner=FnApiRunner()) as p:
            out = p | beam.Create([TextRecord("a", "Beam tags this.")]) | TagText(
                **tiny_tagger.options)
            assert_that(out.tagged | beam.Map(lambda r: len(r.labels)), equal_to([4]))

The labels carry no meaning (the model is untrained); what a test can rely on is that every
token gets one of ``TINY_LABELS``, the same one on every run, and that ``tiny_tagger.labels``
gives them for a text without Beam.

``tiny_tagger.options`` runs the model's forward pass in NumPy (``runtime="numpy"``), so a
test process never imports TensorFlow: that import alone is 2.6-3.6 s of every fresh test
process on the bench machine. Every other stage of the pipeline runs as in production, and
beamtagger's own tests hold the NumPy forward pass equal to the Keras model's.
``tiny_tagger.tensorflow_options`` runs the same model through TensorFlow, for a test that
wants that path.

The plugin also declares ``--test-pipeline-options`` (Beam's ``TestPipeline`` reads it, but
only Beam's own test suite declares it), so ``pytest --test-pipeline-options="--runner=..."``
reaches every ``TestPipeline()``, in pytest-xdist's workers too.

The fixture builds the pair once per machine, not once per test session: it is kept under
``$BEAMTAGGER_CACHE/tiny-tagger/KEY`` (default cache ``$XDG_CACHE_HOME/beamtagger``, else
``~/.cache/beamtagger``), where KEY hashes beamtagger's version, the seed, the code that builds
it and the NumPy/Keras/TensorFlow/pyarrow versions, so any change to them builds a new one. It is built in a hidden folder and renamed
into place (two sessions racing both end up with one whole copy), and every session gets its
own copy in its temporary folder, so a test that writes into it cannot change the next
session's. ``BEAMTAGGER_TINY_TAGGER_CACHE=0`` builds it afresh in every session instead.
"""
import collections
import dataclasses
import hashlib
import os
import pathlib
import shutil
import tempfile
import threading
from typing import List, Sequence

try:
    import pytest
except ModuleNotFoundError:
    # Only the fixture needs pytest: build_tiny_tagger in another test framework (or python -m
    # beamtagger.testing) without the test extra was this import's ModuleNotFoundError.
    pytest = None

__all__ = ["TINY_LABELS", "TinyTagger", "build_tiny_tagger", "cached_tiny_tagger"]

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
        """``TagText(**tiny.options)`` / ``TaggerModelHandler(**tiny.options)``: the NumPy
        runtime, no TensorFlow import."""
        return {"model_dir": self.model_dir, "store_path": self.store_path, "runtime": "numpy"}

    @property
    def tensorflow_options(self) -> dict:
        """As ``options``, with the model run by TensorFlow (the production runtime)."""
        return {**self.options, "runtime": "tensorflow"}

    def labels(self, text: str) -> List[str]:
        """The labels the tiny model gives ``text``'s tokens, without a pipeline (loads the
        model on the first call in a process); the same as TagText gives, as a list, where a
        ``TaggedRecord``'s ``labels`` are a tuple: compare with ``list(record.labels)``."""
        handler, model = _loaded_handler(self.model_dir, self.store_path)
        (result,) = handler.run_inference([text], model)
        return list(result.inference.labels)


_LOADED = collections.OrderedDict()   # model and store identity -> (handler, loaded model)
_LOADED_LOCK = threading.Lock()
# A test session builds a tiny tagger per test (in its tmp_path); each loaded model holds its
# store's mapping, so only the most recently used few are kept, not one per test for the
# session's life.
_LOADED_KEPT = 4


def _loaded_handler(model_dir, store_path):
    """One loaded handler per tiny tagger and process: a test asking for several texts' labels
    would otherwise read the model and open the store again for each."""
    from beamtagger.embeddings.store import MANIFEST_FILE
    from beamtagger.transforms.model_handler import TaggerModelHandler
    from beamtagger.transforms.worker_resources import model_identity

    # By the files, not the paths: a tiny tagger rebuilt in the same folder (another seed) kept
    # giving the old model's labels, where TagText gave the new one's.
    manifest = pathlib.Path(store_path) / MANIFEST_FILE
    key = (model_identity(pathlib.Path(model_dir).resolve()), store_path,
           manifest.read_bytes() if manifest.is_file() else None)
    with _LOADED_LOCK:
        if key in _LOADED:
            _LOADED.move_to_end(key)
            return _LOADED[key]
        handler = TaggerModelHandler(model_dir=model_dir, store_path=store_path,
                                     runtime="numpy")
        _LOADED[key] = loaded = (handler, handler.load_model())
        while len(_LOADED) > _LOADED_KEPT:
            _LOADED.popitem(last=False)
        return loaded


def build_tiny_tagger(directory, seed: int = _SEED, store_path=None,
                      labels: Sequence[str] = TINY_LABELS,
                      binary_label: Sequence[str] = ()) -> TinyTagger:
    """Writes a tiny store and a tiny untrained tagger under ``directory``; returns where.

    Args:
      directory: where to write (created if missing).
      seed: another seed gives another store and other weights (another model).
      store_path: bind the new model to this existing store instead of writing one.
      labels: the model's labels (BIO ones, ``("O", "B-per", "I-per")``, make an entity
        tagger with Viterbi decoding).
      binary_label: patterns, as ``train --binary-label`` takes them (``("B-*", "I-*")``):
        a binary (sigmoid) tagger of labels ``no``/``yes`` instead of one of ``labels``.
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # Checked before anything is written or imported (Keras, 4 s): the store's refusal came
    # after tiny-vectors.txt was written over, and a folder holding only a model got a store
    # before the model's refusal.
    for name in ("store", "model") if store_path is None else ("model",):
        if os.path.lexists(directory / name):
            _refuse_existing(directory / name)

    import numpy as np

    from beamtagger.embeddings.importers import import_embeddings
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.features import CASING_CLASSES, TokenFeaturizer, build_char_vocab
    from beamtagger.model.saving import save_model_dir
    from beamtagger.model.training import TrainingConfig, build_tagger

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
    if binary_label:
        from beamtagger.model.tagger_spec import BinaryLabels

        binary = BinaryLabels(tuple(binary_label))
        model, spec = build_tagger([binary.negative, binary.positive], "sigmoid", store, config,
                                   featurizer, binary=binary)
    else:
        model, spec = build_tagger(list(labels), "softmax", store, config, featurizer)
    model_dir = save_model_dir(model, spec, {"tiny": True, "seed": seed}, directory / "model")
    return TinyTagger(str(model_dir), str(store_path))


def cached_tiny_tagger(directory, seed: int = _SEED) -> TinyTagger:
    """A copy under ``directory`` of the tiny tagger kept in the cache (built there first if
    it is not yet); the same files ``build_tiny_tagger(directory, seed)`` would write.

    Args:
      directory: where to put the copy (created if missing).
      seed: as for ``build_tiny_tagger``.

    Raises:
      BeamtaggerError: ``directory`` already holds a ``store`` or a ``model``, as
        ``build_tiny_tagger`` refuses it, before writing anything: a second call on one folder was copytree's
        FileExistsError, and where only one of them was there, a half-made copy.
    """
    directory = pathlib.Path(directory)
    cached = _cache_dir(seed)
    if cached is None:
        return build_tiny_tagger(directory, seed)
    if not cached.is_dir() and not _build_into_cache(cached, seed):
        return build_tiny_tagger(directory, seed)
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("store", "model"):
        if os.path.lexists(directory / name):
            _refuse_existing(directory / name)
    for name in ("store", "model"):
        try:
            shutil.copytree(cached / name, directory / name)
        except FileExistsError:   # made by another process since the check above
            _refuse_existing(directory / name)
    return TinyTagger(str(directory / "model"), str(directory / "store"))


def _refuse_existing(path):
    from beamtagger.errors import BeamtaggerError

    raise BeamtaggerError(f"{path} already exists; choose another directory for the tiny "
                          "tagger, or remove it first")


# What build_tiny_tagger's output depends on besides the seed: the code that writes the store and
# builds, initialises and saves the model (beamtagger/model/ holds all of the model's code).
_BUILD_CODE = ("testing.py", "embeddings/importers.py", "embeddings/store.py", "atomic_dirs.py",
               "model")
_BUILD_LIBRARIES = ("numpy", "keras", "tensorflow", "pyarrow")


def _cache_key(seed):
    from importlib import metadata

    import beamtagger

    package = pathlib.Path(beamtagger.__file__).parent
    digest = hashlib.sha256(f"{beamtagger.__version__}\0{seed}".encode())
    for library in _BUILD_LIBRARIES:
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"\0{library} {version}".encode())
    for name in _BUILD_CODE:
        path = package / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(f"\0{source.relative_to(package)}\0".encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:24]


def _cache_dir(seed):
    """Where the tiny tagger of ``seed`` is cached; None when the cache is turned off."""
    if os.environ.get("BEAMTAGGER_TINY_TAGGER_CACHE", "1") == "0":
        return None
    from beamtagger.cache_folder import cache_folder
    from beamtagger.errors import BeamtaggerError

    try:
        cache = cache_folder()
    except BeamtaggerError:
        return None   # no home directory: built afresh, as with the cache turned off
    return cache / "tiny-tagger" / f"seed{seed}-{_cache_key(seed)}"


def _build_into_cache(cached, seed):
    """Builds the tiny tagger into the cache; False if the cache folder cannot be written."""
    from beamtagger.atomic_dirs import building_dir, publish
    from beamtagger.errors import BeamtaggerError

    try:
        building = building_dir(cached, "staging")
    except (BeamtaggerError, OSError):
        return False
    try:
        build_tiny_tagger(building, seed)
        publish(building, cached, overwrite=False, describe="the tiny tagger")
    except BeamtaggerError:
        if not cached.is_dir():
            raise
        # Another session published it first: the same files.
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return True


if pytest is not None:
    @pytest.fixture(scope="session")
    def tiny_tagger(tmp_path_factory) -> TinyTagger:
        """A TinyTagger for the test session: a copy of the one cached on this machine."""
        return cached_tiny_tagger(tmp_path_factory.mktemp("beamtagger-tiny"))

    __all__.append("tiny_tagger")

    def pytest_addoption(parser):
        # Beam's TestPipeline reads these options, but only Beam's own conftest declares
        # them: elsewhere `pytest --test-pipeline-options=...` was "unrecognized arguments".
        try:
            parser.addoption("--test-pipeline-options", default=None,
                             help="Beam pipeline options for TestPipeline, as one string "
                                  "(\"--runner=... --pickle_library=...\")")
        except ValueError:
            pass   # the project's own conftest declares it already

    def pytest_configure(config):
        # Through TestPipeline's class attribute, as Beam's conftest does: pytest-xdist's
        # workers do not get the command line in sys.argv, where TestPipeline looks otherwise.
        options = config.getoption("test_pipeline_options", default=None)
        if options is not None:
            from apache_beam.testing.test_pipeline import TestPipeline

            TestPipeline.pytest_test_pipeline_options = options


def _main():  # pragma: no cover  (python -m beamtagger.testing DIR: build one to look at)
    import sys
    print(build_tiny_tagger(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()))


if __name__ == "__main__":
    _main()
