"""A tagger.json from someone else: refused in one line where it raised a RecursionError,
was read whole however large, or made the constructor allocate labels x labels scores
(model/tagger_spec.py). The content digest is no defence: its writer recomputes it."""
import json

import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.model import tagger_spec
from beamtagger.model.tagger_spec import CONTENT_DIGEST_KEY, TaggerSpec, content_digest
from beamtagger.tests.model_spec_test import make_spec


def _model_dir(tmp_path, edit=None, text=None):
    make_spec().save(tmp_path)
    (tmp_path / "tagger.keras").write_bytes(b"")  # TaggerSpec.load only checks that it exists
    data = json.loads((tmp_path / "tagger.json").read_text(encoding="utf-8"))
    if edit:
        edit(data)
        data[CONTENT_DIGEST_KEY] = content_digest(data)
    (tmp_path / "tagger.json").write_text(text or json.dumps(data), encoding="utf-8")
    return tmp_path


def test_deeply_nested_json_is_refused_in_one_line(tmp_path):
    _model_dir(tmp_path, text="[" * 100_000 + "]" * 100_000)
    with pytest.raises(BeamtaggerError, match="nested too deeply"):
        TaggerSpec.load(tmp_path)


def test_a_file_larger_than_beamtagger_writes_is_not_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(tagger_spec, "MAX_JSON_BYTES", 1 << 10)
    _model_dir(tmp_path, edit=lambda data: data.update(tag_column="x" * (2 << 10)))
    with pytest.raises(BeamtaggerError, match="more than 1,024 bytes"):
        TaggerSpec.load(tmp_path)   # a 1 GB one took 4.2 GB before its digest was checked


def _crf_without_scores(data):
    data.update(head="crf", labels=[f"L{i}" for i in range(3000)])
    data["decoding"] = {"viterbi": False}


@pytest.mark.parametrize("edit", [
    _crf_without_scores,
    lambda data: (data.update(head="crf"), data["decoding"].update(
        crf={"start": [0, 0, 0], "end": [0, 0, 0], "transitions": [[0] * 9000] * 3})),
])
def test_a_crf_head_must_record_scores_of_its_label_count(tmp_path, edit):
    _model_dir(tmp_path, edit=edit)
    with pytest.raises(BeamtaggerError, match=r"decoding.crf must hold start, end \(\d+ scores"):
        TaggerSpec.load(tmp_path)


def test_a_saved_crf_model_still_loads(tmp_path):
    make_spec(head="crf").save(tmp_path)
    (tmp_path / "tagger.keras").write_bytes(b"")
    assert TaggerSpec.load(tmp_path).crf_scores[1].shape == (3, 3)


def _npy_header(shape, dtype="<u4"):
    import io

    import numpy as np

    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": dtype, "fortran_order": False,
                                                  "shape": shape})
    return stream.getvalue()


@pytest.mark.parametrize("content, said", [
    # np.load allocated the claimed shape first: a MemoryError traceback in model info and tag.
    (_npy_header((10 ** 12,)), "claims 1,000,000,000,000 entries, more than"),
    # A header shorter than its file (or longer) is not what train writes.
    (_npy_header((4,)) + b"\0" * 8, "claims 4 entries and the file holds 8 bytes"),
    (_npy_header((2, 2)) + b"\0" * 16, "not a NumPy vector of uint32"),
])
def test_training_forms_whose_header_does_not_fit_the_file_are_refused(tmp_path, content, said):
    _model_dir(tmp_path)
    (tmp_path / tagger_spec.FORMS_FILE).write_bytes(content)
    with pytest.raises(BeamtaggerError, match=said):
        TaggerSpec.load(tmp_path)

