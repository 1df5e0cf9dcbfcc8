"""tagger.json as earlier beamtaggers wrote it, and as a hand edit leaves it: read as it was
written, or refused in one line before a job starts; never read as something else."""
import json

import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.model.tagger_spec import CONTENT_DIGEST_KEY, TaggerSpec
from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.model_spec_test import make_spec


def _saved_before_the_digest(tmp_path, edit, spec=None):
    """A model directory whose tagger.json, as a beamtagger before the content digest saved it
    (none records one), went through ``edit``; returns tagger.json's path."""
    (spec or make_spec()).save(tmp_path)
    (tmp_path / "tagger.keras").write_bytes(b"")  # TaggerSpec.load only checks that it exists
    spec_path = tmp_path / "tagger.json"
    data = json.loads(spec_path.read_text(encoding="utf-8"))
    assert CONTENT_DIGEST_KEY not in data
    edit(data)
    spec_path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return spec_path


def test_a_model_trained_with_outside_scale_is_refused(tmp_path):
    # decoding.outside_scale (train --outside-scale, 7d46b7f to 5a5b3a4, both 2026-12-01)
    # scaled O's probability before decoding. Later code ignored it: a WNUT-17 model trained at
    # 7d46b7f with --outside-scale 0.5 got 33 of 4,787 labels different, with exit 0.
    spec_path = _saved_before_the_digest(
        tmp_path, lambda data: data["decoding"].update(outside_scale=0.5))
    with pytest.raises(BeamtaggerError) as refused:
        TaggerSpec.load(tmp_path)
    assert str(refused.value) == (
        f"{spec_path}: decoding.outside_scale is 0.5, a decoding option of an earlier "
        "beamtagger that this one does not apply, so its labels would differ; train the model "
        "again with this beamtagger, or use the beamtagger it was trained with")


def test_outside_scale_1_changes_nothing_and_loads(tmp_path):
    _saved_before_the_digest(tmp_path, lambda data: data["decoding"].update(outside_scale=1.0))
    assert TaggerSpec.load(tmp_path).labels == ["B-loc", "I-loc", "O"]


@pytest.mark.parametrize("edit, message", [
    (lambda data: data.pop("decoding"), "decoding missing, which every beamtagger writes"),
    (lambda data: data.pop("binary_labels"),
     "binary_labels missing, which every beamtagger writes"),
    (lambda data: data.update(notes="mine"), "unknown field notes (written by a later"),
    (lambda data: data["decoding"].update(temperature=2.0),
     "unknown field decoding.temperature"),
    (lambda data: data["featurizer"].update(lowercase=True),
     "unknown field featurizer.lowercase"),
    (lambda data: data["binding"].update(dtype="float16"), "unknown field binding.dtype"),
    (lambda data: data.update(tokenizer={"name": "my.Tokenizer"}),
     "tokenizer.name is 'my.Tokenizer'; this beamtagger tokenizes with "
     "beamtagger.tokenizer.Tokenizer only"),
], ids=["no-decoding", "no-binary-labels", "unknown-field", "unknown-decoding",
        "unknown-featurizer", "unknown-binding", "other-tokenizer"])
def test_a_field_missing_or_unknown_is_refused(edit, message, tmp_path):
    # Each loaded: a missing decoding became Viterbi for a BIO label set whatever the model
    # was trained with; an unknown name was ignored, whatever it would have changed.
    spec_path = _saved_before_the_digest(tmp_path, edit)
    with pytest.raises(BeamtaggerError) as refused:
        TaggerSpec.load(tmp_path)
    assert str(refused.value).startswith(f"{spec_path}: ")
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("edit, message", [
    (lambda data: data["decoding"].update(viterbi="false"),
     'decoding.viterbi must be true or false, not "false"'),
    (lambda data: data["decoding"].update(threshold="0.5"),
     'decoding.threshold must be a number from 0 to 1, not "0.5"'),
    (lambda data: data["featurizer"].update(oov_buckets=1024.7),
     "featurizer.oov_buckets must be an integer, not 1024.7"),
    (lambda data: data["featurizer"]["feature_columns"][1].__setitem__(1, "512"),
     "featurizer.feature_columns must be an array of [name, integer size] pairs"),
    (lambda data: data["binding"].update(dim="50"), 'binding.dim must be an integer, not "50"'),
    (lambda data: data["binding"].update(normalization="lower"),
     'binding.normalization must be an array of strings, not "lower"'),
], ids=["viterbi-string", "threshold-string", "oov-float", "feature-size-string", "dim-string",
        "normalization-string"])
def test_a_value_of_another_type_is_refused_as_corrupt(edit, message, tmp_path):
    # Each loaded: "false" switched Viterbi on (a non-empty string is true), int() took "50" and
    # cut 1024.7, "lower" became the chain l, o, w, e, r; a string threshold failed in the
    # workers at the first batch of a sigmoid model.
    spec_path = _saved_before_the_digest(tmp_path, edit, make_spec(labels=("A", "B", "C")))
    with pytest.raises(BeamtaggerError) as refused:
        TaggerSpec.load(tmp_path)
    assert str(refused.value).startswith(f"{spec_path} is corrupt: ")
    assert message in str(refused.value)


def test_tag_refuses_an_outside_scale_model_before_it_starts(tiny_tagger, tmp_path, capsys,
                                                            text_in):
    import shutil

    model = shutil.copytree(tiny_tagger.model_dir, tmp_path / "model")
    spec_path = model / "tagger.json"
    data = json.loads(spec_path.read_text(encoding="utf-8"))
    data.pop(CONTENT_DIGEST_KEY)
    data["decoding"]["outside_scale"] = 0.5
    spec_path.write_text(json.dumps(data), encoding="utf-8")
    code, out, err = run_tag_command(capsys, "--input", str(text_in), "--output",
                                     str(tmp_path / "out" / "run"), "--model", str(model),
                                     "--embeddings", tiny_tagger.store_path)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "decoding.outside_scale is 0.5" in err
    assert not (tmp_path / "out").exists()
