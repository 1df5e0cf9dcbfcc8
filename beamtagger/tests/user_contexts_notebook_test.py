"""TagText and RunInference(TaggerModelHandler) in a notebook: Beam's InteractiveRunner,
``ib.collect`` and ``ib.show`` on the tagged PCollections, the cells run twice in one
process as a notebook re-runs them.

Interactive Beam needs ``apache-beam[interactive]`` (IPython and pandas at least; the test
extra installs those two); without them these tests skip. Outside a notebook ``ib.show`` prints its table instead of drawing it.
"""
import pytest

pytest.importorskip("IPython", reason="Interactive Beam needs apache-beam[interactive]")
pytest.importorskip("pandas", reason="Interactive Beam needs apache-beam[interactive]")

import apache_beam as beam  # noqa: E402
from apache_beam.ml.inference.base import RunInference  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402
from apache_beam.runners.interactive import interactive_beam as ib  # noqa: E402
from apache_beam.runners.interactive.interactive_runner import InteractiveRunner  # noqa: E402

from beamtagger.transforms import TaggerModelHandler, TagText, TextRecord  # noqa: E402

TEXTS = {"a": "Beam tags this.", "b": "I like green apples."}


def notebook_cells(tiny_tagger, options=None):
    """What a notebook's cells build: the tagged, error and inferred PCollections."""
    p = beam.Pipeline(InteractiveRunner(), options=options)
    records = p | beam.Create([*(TextRecord(id, text) for id, text in TEXTS.items()),
                               TextRecord("bad", None, "cell:3")])
    out = records | TagText(**tiny_tagger.options)
    inferred = (p | "Texts" >> beam.Create(list(TEXTS.values()))
                | RunInference(TaggerModelHandler(**tiny_tagger.options)))
    return p, records, out, inferred


def test_collect_twice_gives_the_models_labels_and_the_dead_letters(tiny_tagger):
    expected = {id: list(tiny_tagger.labels(text)) for id, text in TEXTS.items()}
    for _ in range(2):   # the notebook's cells run again, in the same process
        _, _, out, inferred = notebook_cells(tiny_tagger)
        tagged = ib.collect(out.tagged)
        assert {id: list(labels) for id, labels in zip(tagged["id"], tagged["labels"])} == expected
        errors = ib.collect(out.errors)
        assert list(zip(errors["source"], errors["stage"])) == [("cell:3", "tokenize")]
        results = ib.collect(inferred)
        assert sorted(list(r.labels) for r in results["inference"]) == sorted(expected.values())
        ib.show(out.tagged)   # prints outside a notebook; must not fail


def test_a_re_run_cell_needs_auto_unique_labels(tiny_tagger):
    # Re-running only the cell that applies TagText to the same pipeline is Beam's "already
    # exists" error, as for any transform; auto_unique_labels names the second one apart.
    p, records, _, _ = notebook_cells(tiny_tagger, PipelineOptions(auto_unique_labels=True))
    again = records | TagText(**tiny_tagger.options)
    assert sorted(ib.collect(again.tagged)["id"]) == sorted(TEXTS)
