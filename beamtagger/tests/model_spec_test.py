"""TaggerSpec: tagger.json round trip, binding refusal, decoding per head."""
import io
import json
import subprocess
import sys
import shutil
import types

import numpy as np
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.model.features import TokenFeaturizer
from beamtagger.model.tagger_spec import BinaryLabels, TaggerSpec
from beamtagger.tests.conftest import REPO_ROOT

BINDING = {"fingerprint": "a" * 64, "dim": 50, "normalization": ["exact", "lower"]}


def make_spec(labels=("B-loc", "I-loc", "O"), head="softmax", **kwargs):
    return TaggerSpec(labels=list(labels), head=head, featurizer=TokenFeaturizer(),
                      binding=BINDING, model_config={"units": 8}, **kwargs)


def store(**overrides):
    fields = {"path": "/stores/x", "dim": 50, "normalization": ("exact", "lower"),
              "fingerprint": "a" * 64, **overrides}
    return types.SimpleNamespace(**fields)


def test_matching_store_is_accepted():
    make_spec().check_store(store())


@pytest.mark.parametrize("overrides, message", [
    ({"dim": 300}, "300-dimensional|dimension 300"),
    ({"normalization": ("exact",)}, "normalisation"),
    ({"fingerprint": "b" * 64}, "--allow-other-embeddings")])
def test_mismatched_store_is_refused(overrides, message):
    with pytest.raises(BeamtaggerError, match=message):
        make_spec().check_store(store(**overrides))


def test_other_fingerprint_accepted_with_override_but_not_other_dimension():
    spec = make_spec()
    spec.check_store(store(fingerprint="b" * 64), allow_other_fingerprint=True)
    with pytest.raises(BeamtaggerError):
        spec.check_store(store(dim=300, fingerprint="b" * 64), allow_other_fingerprint=True)


def test_save_load_round_trip(tmp_path):
    spec = make_spec(head="sigmoid", labels=("no", "yes"),
                     binary_labels=BinaryLabels(("B-*", "I-*")))
    spec.save(tmp_path)
    (tmp_path / "tagger.keras").write_bytes(b"")  # load only checks that it exists
    loaded = TaggerSpec.load(tmp_path)
    assert loaded.to_json() == spec.to_json()
    assert loaded.binary_labels.map_tags(["O", "B-x", "I-y"]) == ("no", "yes", "yes")
    data = json.loads((tmp_path / "tagger.json").read_text())
    assert data["binding"] == BINDING and data["head"] == "sigmoid"


def test_missing_or_corrupt_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(BeamtaggerError, match="does not exist"):
        TaggerSpec.load(tmp_path / "nope")
    with pytest.raises(BeamtaggerError, match="tagger.json is missing"):
        TaggerSpec.load(tmp_path)
    (tmp_path / "tagger.json").write_text("{not json")
    (tmp_path / "tagger.keras").write_bytes(b"")
    with pytest.raises(BeamtaggerError, match="corrupt"):
        TaggerSpec.load(tmp_path)


def test_viterbi_on_by_default_for_bio_only():
    assert make_spec().decoding["viterbi"]
    assert not make_spec(labels=("NOUN", "VERB", "X")).decoding["viterbi"]


def test_decode_bio_uses_constraints_and_cuts_padding():
    spec = make_spec()
    # Arg-max starts with I-loc (invalid); the third row is padding.
    probs = np.array([[0.1, 0.6, 0.3], [0.1, 0.8, 0.1], [1.0, 0.0, 0.0]])
    labels, scores = spec.decode(probs, 2)
    assert labels == ["B-loc", "I-loc"]
    assert scores.dtype == np.float32 and scores.tolist() == pytest.approx([0.1, 0.8])


def test_decode_sigmoid_thresholds_positive_column():
    spec = make_spec(head="sigmoid", labels=("no", "yes"))
    labels, scores = spec.decode(np.array([[0.3, 0.7], [0.8, 0.2]]), 2)
    assert labels == ["yes", "no"] and scores.tolist() == pytest.approx([0.7, 0.8])


# A file-size limit makes the kernel refuse a write past it (EFBIG) the way a full disk does
# (ENOSPC), short write included; Python ignores SIGXFSZ, so the process lives to report it.
SAVE_PAST_A_FILE_SIZE_LIMIT = """
import resource, sys
import numpy as np
from beamtagger import atomic_dirs
from beamtagger.errors import BeamtaggerError
from beamtagger.tests.model_spec_test import make_spec
spec = make_spec(training_forms=np.arange(1 << 20, dtype=np.uint32))   # 4 MiB
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
try:
    with atomic_dirs.published(sys.argv[1], "saving", False, "the model") as building:
        spec.save(building)
except BeamtaggerError as error:
    print(error)
"""


def test_a_full_disk_while_saving_the_training_forms_is_the_usual_one_line(tmp_path):
    # np.save to a path reported only "4194432 requested and 1048576 written": no errno, no
    # path, not recognised as a full destination.
    out = tmp_path / "model"
    done = subprocess.run([sys.executable, "-c", SAVE_PAST_A_FILE_SIZE_LIMIT, str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == (f"cannot write the model to {out}: File too large (EFBIG); nothing "
                           "was saved\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("edit, message", [
    (lambda data: [], "is corrupt: it holds a JSON array, not an object"),
    (lambda data: None, "is corrupt: it holds a JSON null, not an object"),
    (lambda data: {**data, "labels": [1, 2, 3]},
     "labels must be an array of non-empty strings, not [1, 2, 3]"),
    (lambda data: {**data, "labels": ["B-loc", "O", "O"]}, "labels repeat 'O'"),
    (lambda data: {**data, "head": ["softmax"]}, "head must be a string, not a JSON array"),
    (lambda data: {**data, "binary_labels": "B-*"},
     "binary_labels must be an object, not a JSON string"),
    (lambda data: {**data, "featurizer": []}, "featurizer must be an object, not a JSON array"),
    (lambda data: {**data, "tag_column": 4}, "tag_column must be a string or null"),
], ids=["array", "null", "int-labels", "repeated-labels", "head", "binary-labels",
        "featurizer", "tag-column"])
def test_tagger_json_of_the_wrong_json_types_is_refused_as_corrupt(edit, message, tmp_path):
    # Each was an AttributeError traceback (or, for binary_labels, one at evaluation).
    make_spec().save(tmp_path)
    (tmp_path / "tagger.keras").write_bytes(b"")
    spec_path = tmp_path / "tagger.json"
    spec_path.write_text(json.dumps(edit(json.loads(spec_path.read_text()))))
    with pytest.raises(BeamtaggerError) as refused:
        TaggerSpec.load(tmp_path)
    assert str(refused.value).startswith(f"{spec_path} is corrupt: ")
    assert message in str(refused.value)


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize("damage", [
    lambda path: path.write_bytes(path.read_bytes()[:-8]),
    lambda path: path.write_bytes(b""),
    lambda path: np.save(path, np.arange(3, dtype=np.float64)),
    lambda path: path.write_bytes(npz_bytes(forms=np.arange(3, dtype=np.uint32))),
], ids=["truncated", "empty", "float64", "npz"])
@pytest.mark.parametrize("name", ["training_forms.npy", "training_entities.npy"])
def test_a_damaged_training_array_is_named_not_tagger_json(name, damage, tmp_path):
    forms = np.arange(10, dtype=np.uint32)
    make_spec(training_forms=forms, training_entities=forms).save(tmp_path)
    (tmp_path / "tagger.keras").write_bytes(b"")
    damage(tmp_path / name)
    with pytest.raises(BeamtaggerError) as refused:
        TaggerSpec.load(tmp_path)
    assert str(refused.value).startswith(f"{tmp_path / name} is damaged ")
    assert "tagger.json" not in str(refused.value)


def _edited_copy(model_dir, tmp_path, edit):
    import shutil

    edited = shutil.copytree(model_dir, tmp_path / "edited")
    data = json.loads((edited / "tagger.json").read_text(encoding="utf-8"))
    edit(data)
    (edited / "tagger.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return edited


def _swap(items, first, second):
    items[first], items[second] = items[second], items[first]


@pytest.mark.parametrize("edit", [
    lambda data: _swap(data["labels"], 0, 1),
    lambda data: _swap(data["featurizer"]["feature_columns"], 0, 1),
    lambda data: data["decoding"].update(threshold=0.4),
], ids=["labels-swapped", "features-swapped", "threshold"])
def test_a_tagger_json_edited_without_changing_any_size_is_refused(tiny_tagger, tmp_path,
                                                                    capsys, text_in, edit):
    # Its SHA-256 covered tagger.keras only and the other checks compare sizes: two labels
    # swapped gave every token of either label the other's, with exit 0.
    from beamtagger.tests.conftest import run_tag_command

    edited = _edited_copy(tiny_tagger.model_dir, tmp_path, edit)
    with pytest.raises(BeamtaggerError, match="tagger.json is not the one saved with this "
                       "model: .*; copy the model directory again or train it again$"):
        TaggerSpec.load(edited)
    code, _, err = run_tag_command(capsys, "--input", str(text_in), "--output",
                                   str(tmp_path / "out" / "run"), "--model", str(edited),
                                   "--embeddings", tiny_tagger.store_path)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "is not the one saved with this model" in err


def test_a_tagger_json_rewritten_in_another_layout_or_saved_before_the_digest_loads(
        tiny_tagger, tmp_path):
    from beamtagger.model.tagger_spec import CONTENT_DIGEST_KEY, DEFAULT_MODEL_DIR

    saved = TaggerSpec.load(tiny_tagger.model_dir)
    data = json.loads((saved.model_dir / "tagger.json").read_text(encoding="utf-8"))
    assert len(data[CONTENT_DIGEST_KEY]) == 64
    relaid = _edited_copy(tiny_tagger.model_dir, tmp_path, lambda data: None)
    reordered = {key: data[key] for key in reversed(list(data))}
    (relaid / "tagger.json").write_text(json.dumps(reordered, ensure_ascii=True))
    assert TaggerSpec.load(relaid).to_json() == saved.to_json()
    # A model saved by an earlier version has no digest: it loads as it did.
    older = _edited_copy(tiny_tagger.model_dir, tmp_path / "older",
                         lambda data: data.pop(CONTENT_DIGEST_KEY))
    assert TaggerSpec.load(older).labels == saved.labels
    # The bundled model records it too (stamped later: its tagger.keras is the same file).
    bundled = json.loads((DEFAULT_MODEL_DIR / "tagger.json").read_text(encoding="utf-8"))
    assert bundled[CONTENT_DIGEST_KEY] and TaggerSpec.load(DEFAULT_MODEL_DIR).labels[0] == "ADJ"


def _text_store(folder, rows):
    from beamtagger.embeddings.importers import import_embeddings

    source = folder.with_suffix(".txt")
    source.write_text("".join(f"{word} {' '.join(map(str, values))}\n" for word, values in rows),
                      encoding="utf-8")
    import_embeddings(str(source), str(folder), progress=False)
    return folder


def test_a_refused_store_names_the_store_the_model_was_trained_with(tmp_path):
    from beamtagger.embeddings.store import EmbeddingStore

    trained = EmbeddingStore.open(_text_store(tmp_path / "trained", [("cat", (1, 2, 3, 4))]))
    narrower = EmbeddingStore.open(_text_store(tmp_path / "narrow", [("cat", (1, 2, 3))]))
    rebuilt = EmbeddingStore.open(_text_store(tmp_path / "rebuilt", [("cat", (4, 3, 2, 1))]))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "training_report.json").write_text(
        json.dumps({"store": {"path": str(trained.path)}}), encoding="utf-8")
    spec = TaggerSpec(labels=["O", "B-x", "I-x"], head="softmax", featurizer=TokenFeaturizer(),
                      binding=TaggerSpec.binding_of(trained), model_config={"units": 8},
                      model_dir=model_dir)
    hint = (f"it was trained with the store {trained.path}, which is still there: give that "
            "one (--embeddings, or store_path in Python)")
    with pytest.raises(BeamtaggerError, match="has dimension 3") as refused:
        spec.check_store(narrower)
    assert hint in str(refused.value)
    with pytest.raises(BeamtaggerError) as refused:
        spec.check_store(rebuilt)
    assert (f"{hint}; or pass --allow-other-embeddings (allow_other_embeddings=True in Python)"
            in str(refused.value))
    spec.check_store(trained)
    # Its store gone (or another of its path since): no store to point to.
    shutil.rmtree(trained.path)
    _text_store(tmp_path / "trained", [("dog", (1, 2, 3, 4))])
    with pytest.raises(BeamtaggerError) as refused:
        spec.check_store(narrower)
    assert "trained with the store" not in str(refused.value)
