"""The tag stage's progress line (``transforms/progress.py``): a run of several models counts
each model's tokens apart, by name; one model's line is the line it always was."""
import json
import re

import pytest

from beamtagger.tests.conftest import run_tag_command
from beamtagger.transforms import progress


@pytest.fixture
def own_tally(monkeypatch):
    """A tally of this test's own: the process's is shared by every pipeline it runs."""
    monkeypatch.setattr(progress, "_TALLY",
                        {"start": None, "last": None, "batches": 0, "models": {}})


@pytest.fixture
def fresh_tally(own_tally, monkeypatch):
    """Its own tally and a clock the test sets."""
    clock = {"now": 100.0}
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock["now"])
    return clock


def _report(clock, capsys, at, tokens, model):
    clock["now"] = 100.0 + at
    progress.report(1, tokens, 1.0, model=model)
    return capsys.readouterr().err


def test_several_models_are_counted_apart_by_name(fresh_tally, capsys):
    # One sum read 942,142 "tagged" tokens at 30 s of a run of 3 models over 337,387 tokens.
    assert _report(fresh_tally, capsys, 0.0, 100, "upos") == ""
    assert _report(fresh_tally, capsys, 0.5, 100, "ner") == ""
    assert _report(fresh_tally, capsys, 2.0, 90, "upos") == (
        "beamtagger tag: 0:00:02 tagged tokens: ner 100, upos 190 in 3 batches "
        "(145 tokens/s, the 2 models together)\n")


def test_one_model_s_line_is_unchanged(fresh_tally, capsys):
    _report(fresh_tally, capsys, 0.0, 100, None)
    assert _report(fresh_tally, capsys, 2.0, 190, None) == (
        "beamtagger tag: 0:00:02 tagged 290 tokens in 2 batches (145 tokens/s)\n")


def test_beamtagger_tag_with_two_models_counts_each_model_s_tokens(
        own_tally, tiny_tagger, entity_tagger, binary_tagger, tmp_path, capsys):
    text = tmp_path / "in.txt"
    text.write_text("The cat sat on the mat .\nA bird flew over Boston .\n", encoding="utf-8")
    summary = tmp_path / "summary.json"
    code, _, err = run_tag_command(
        capsys, "--embeddings", tiny_tagger.store_path, "--input", str(text), "--output",
        str(tmp_path / "out" / "run"), "--model", f"ner={entity_tagger.model_dir}",
        "--model", f"flag={binary_tagger.model_dir}", "--progress-every", "0.000001",
        "--summary-json", str(summary))
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("beamtagger tag: ")]
    counts = re.fullmatch(r"beamtagger tag: \d:\d\d:\d\d tagged tokens: flag (\S+), ner (\S+) "
                          r"in \d+ batches \(.* tokens/s, the 2 models together\)", lines[-1])
    assert counts, lines
    batched = json.loads(summary.read_text())["batched_tokens"]
    assert [int(count.replace(",", "")) for count in counts.groups()] == [batched, batched]
