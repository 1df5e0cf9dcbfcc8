"""``model info`` on model folders saved by earlier beamtaggers, before ``tagger.json`` recorded
the model file's digest (2026-12-01) and its own (2026-12-06): described and checked as they
are, saying which checks their files give nothing to compare with, where the checks line said
"belongs to its tagger.json" of a model file another training's of the same shape passed."""
import json
import shutil

import pytest

from beamtagger.tests.gcs_emulated_test import gcs  # noqa: F401  (fixture)
from beamtagger.tests.model_info_command_test import model_info

# What tagger.json held when the beamtagger of 8b4e8ec (2026-11-24) and 7f126f4 (2026-12-01)
# saved a model: the fields every version writes, without these.
_SAVED_BY = {"8b4e8ec": ("model_file", "content_sha256"), "7f126f4": ("content_sha256",)}


def _older_copy(model_dir, tmp_path, commit):
    copy = shutil.copytree(model_dir, tmp_path / commit)
    spec = json.loads((copy / "tagger.json").read_text(encoding="utf-8"))
    for name in _SAVED_BY[commit]:
        del spec[name]
    (copy / "tagger.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
    return copy


@pytest.mark.parametrize("commit", sorted(_SAVED_BY))
def test_a_model_saved_before_the_digests_says_what_is_not_checked(capsys, tiny_tagger,
                                                                    tmp_path, commit):
    model = _older_copy(tiny_tagger.model_dir, tmp_path, commit)
    code, out, err = model_info(capsys, "--json", model, "--embeddings",
                                tiny_tagger.store_path)
    assert code == 0, err
    assert json.loads(out)["checks"] == {"ok": True, "problem": None,
                                         "not_recorded": list(_SAVED_BY[commit])}

    code, out, _ = model_info(capsys, model, "--embeddings", tiny_tagger.store_path)
    assert code == 0, "a model of an earlier version is read as it is: no check failed"
    checks = out.rstrip().splitlines()[-1]
    assert "belongs to its tagger.json" not in checks
    assert checks.startswith("checks:        the model file is whole and its layers fit its "
                             "tagger.json; not recorded when it was saved, so not checked: ")
    assert ("the model file's SHA-256 and size" in checks) == ("model_file" in _SAVED_BY[commit])
    assert "tagger.json's own SHA-256 (saved before 2026-12-06" in checks
    assert checks.endswith("; a model trained again records them")


def test_a_model_on_gs_saved_before_the_digests_has_no_size_to_compare(
        gcs, capsys, tiny_tagger, tmp_path):  # noqa: F811
    model = gcs.put(_older_copy(tiny_tagger.model_dir, tmp_path, "8b4e8ec"), "models/old")
    code, out, err = model_info(capsys, model)
    assert code == 0, err
    checks = out.rstrip().splitlines()[-1]
    assert checks.startswith("checks:        nothing recorded to compare the model file's size "
                             "with; not checked without a copy: the model file's contents")
    assert "not recorded when it was saved, so not checked: the model file's SHA-256" in checks
