"""A binary (flag) tagger's threshold: ``evaluate --thresholds`` shows precision and recall at
several, ``beamtagger model set-threshold`` makes one the model's, and every runtime then flags
at it (the JAX runner's labels decoded on the device too), without retraining.

A user trading precision for recall had only the 0.5 that training writes: tagger.json's
``decoding.threshold`` was read everywhere, but nothing set it, and an edit by hand is refused
(its content digest).
"""
import itertools
import json
import pathlib

import numpy as np
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.model.saving import set_threshold
from beamtagger.pipeline import cli

TEXT = "the cat sat on the mat in paris yesterday and the dog went home with a red apple ."


def _yes_probabilities(model_dir, store_path):
    from beamtagger import Tagger

    record = Tagger(model_dir, store_path, runtime="numpy").tag(TEXT)
    return np.array([score if label == "yes" else 1 - score
                     for label, score in zip(record.labels, record.scores)])


def _threshold_that_changes_the_flags(probs):
    """A threshold half-way across the widest gap between two of ``probs`` whose flags differ
    from the default 0.5's, so that runtimes' last-digit differences cannot tip a token."""
    ordered = np.unique(probs)
    gaps = [(high - low, (low + high) / 2) for low, high in itertools.pairwise(ordered)
            if ((probs >= (low + high) / 2) != (probs >= 0.5)).any()]
    gap, threshold = max(gaps)
    assert gap > 1e-4, ordered
    return float(threshold)


def test_every_runtime_flags_at_the_threshold_set(binary_tagger, flag_model):
    from beamtagger import Tagger

    probs = _yes_probabilities(flag_model, binary_tagger.store_path)
    threshold = _threshold_that_changes_the_flags(probs)
    assert set_threshold(flag_model, threshold) == 0.5
    expected = ["yes" if p >= threshold else "no" for p in probs]
    assert expected != ["yes" if p >= 0.5 else "no" for p in probs]
    for runtime in ("numpy", "tensorflow", "jax"):
        if runtime == "jax":
            pytest.importorskip("jax", reason="the jax extra is not installed")
        record = Tagger(flag_model, binary_tagger.store_path, runtime=runtime).tag(TEXT)
        assert list(record.labels) == expected, runtime
    # The JAX runner's labels decoded on the device (labels_back), as a GPU run takes them.
    from beamtagger.corpus_readers import Sentence
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.batching import pad_batch
    from beamtagger.model.encoding import encode_sentences
    from beamtagger.model.jax_inference import JaxTaggerRunner

    runner = JaxTaggerRunner.load(flag_model, labels_back=True)
    tokens = Tagger(flag_model, binary_tagger.store_path, runtime="numpy").tag(TEXT).tokens
    store = EmbeddingStore.open(binary_tagger.store_path)
    corpus = encode_sentences([Sentence("s", tokens, ("O",) * len(tokens), "text", 1)], store,
                              runner.spec.featurizer)
    inputs, _, _ = pad_batch(corpus, [0], store)
    labels, _ = runner.predict(inputs)
    assert [runner.spec.labels[i] for i in labels[0, :len(tokens)]] == expected


def test_the_sweep_scores_what_the_model_then_tags(binary_tagger, flag_model, tmp_path, capsys):
    probs = _yes_probabilities(flag_model, binary_tagger.store_path)
    threshold = _threshold_that_changes_the_flags(probs)
    from beamtagger import Tagger

    tokens = Tagger(flag_model, binary_tagger.store_path, runtime="numpy").tag(TEXT).tokens
    # Gold flags that neither threshold gets all right: P, R and F1 differ between them.
    gold = ["B-x" if i % 3 == 0 else "O" for i in range(len(tokens))]
    data = tmp_path / "dev.conll"
    data.write_text("".join(f"{t}\t{g}\n" for t, g in zip(tokens, gold)) + "\n",
                    encoding="utf-8")

    def evaluate(*extra):
        code = cli.main(["evaluate", "--model", flag_model, "--embeddings",
                         binary_tagger.store_path, "--data", str(data), "--json", *extra])
        assert code == 0
        return json.loads(capsys.readouterr().out)

    swept = evaluate("--thresholds", f"0.5,{threshold}")
    assert [row["threshold"] for row in swept["thresholds"]] == [0.5, threshold]
    at_default, at_chosen = swept["thresholds"]
    assert swept["positive"]["threshold"] == 0.5
    assert {k: at_default[k] for k in ("precision", "recall", "f1")} == {
        k: swept["positive"][k] for k in ("precision", "recall", "f1")}
    assert at_default["flagged"] == int((probs >= 0.5).sum())
    assert at_chosen["flagged"] == int((probs >= threshold).sum())
    assert cli.main(["model", "set-threshold", flag_model, str(threshold)]) == 0
    assert capsys.readouterr().out == f"{flag_model}: threshold 0.5 -> {threshold}\n"
    after = evaluate()
    assert after["positive"]["threshold"] == threshold
    assert {k: after["positive"][k] for k in ("precision", "recall", "f1")} == {
        k: at_chosen[k] for k in ("precision", "recall", "f1")}
    # The folder is still whole, and model info says which threshold it flags at.
    assert cli.main(["model", "info", flag_model]) == 0
    assert f"threshold on the positive label's probability ({threshold})" in \
        capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["model", "set-threshold", "{flag}", "1.5"], "must be a number from 0 to 1, not 1.5"),
    (["model", "set-threshold", "{flag}", "nan"], "must be a number from 0 to 1, not nan"),
    (["model", "set-threshold", "{tags}", "0.3"],
     "is not a binary tagger (a softmax head): a threshold applies to taggers trained with "
     "train --binary-label"),
    (["model", "set-threshold", "gs://bucket/models/flags", "0.3"],
     "set-threshold rewrites a model on this machine"),
    (["evaluate", "--model", "{tags}", "--data", "dev.conll", "--thresholds", "0.3"],
     "--thresholds: {tags} is not a binary tagger (a softmax head)"),
    (["evaluate", "--model", "{flag}", "--data", "dev.conll", "--thresholds", "0.3,,0.5"],
     "--thresholds: '' is not a number from 0 to 1"),
])
def test_refusals_are_one_line_and_leave_the_model_as_it_was(
        argv, message, flag_model, tiny_tagger, capsys):
    names = {"flag": flag_model, "tags": tiny_tagger.model_dir}
    spec_file = pathlib.Path(flag_model, "tagger.json")
    before = spec_file.read_bytes()
    code = cli.main([arg.format(**names) for arg in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message.format(**names) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert spec_file.read_bytes() == before


def test_a_threshold_set_from_python_is_checked(flag_model):
    with pytest.raises(BeamtaggerError, match="not True"):
        set_threshold(flag_model, True)
