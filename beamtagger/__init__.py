"""beamtagger: per-token tagging of large text collections in Apache Beam.

``from beamtagger import Tagger`` tags text in this process, without a pipeline
(``beamtagger/tagger.py``); it is imported on first use, so ``import beamtagger`` stays free of
Beam, NumPy and TensorFlow (the CLI's ``--help`` imports it). ``bundled_model("ner")`` is the
folder of the bundled entity tagger, ``bundled_model("upos")`` the default model's
(``beamtagger/bundled_models.py``).
"""
from beamtagger.bundled_models import bundled_model

__version__ = "0.1.0"
__all__ = ["Tagger", "bundled_model"]


def __getattr__(name):
    if name == "Tagger":
        from beamtagger.tagger import Tagger
        return Tagger
    raise AttributeError(f"module 'beamtagger' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
