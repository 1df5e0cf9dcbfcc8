"""``beamtagger model info gs://...`` against the GCS emulator (``gcs_emulated_test``): a model
in a bucket described from its listing and small files as a local one is, its model file
checked by its listed size only and that said; a store in a bucket checked against it; no
network or credentials, a bucket that refuses the listing, a store given as the model, a
missing or other model file, a URL of another scheme, each one line."""
import json
import shutil

from apache_beam.io.filesystems import FileSystems

from beamtagger.tests.cloud_access_test import (credentials, probe_answering, probe_failing,
                                                without_emulator_or_proxy)
from beamtagger.tests.gcs_emulated_test import BUCKET, gcs  # noqa: F401  (fixture)
from beamtagger.tests.model_info_command_test import model_info


def test_a_model_on_gs_is_described_as_its_local_copy_without_reading_its_model_file(
        gcs, tiny_tagger, tmp_path, capsys):  # noqa: F811
    model = gcs.put(tiny_tagger.model_dir, "models/tiny")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    code, out, err = model_info(capsys, "--json", model, "--embeddings", store)
    assert code == 0, err
    remote = json.loads(out)
    code, out, _ = model_info(capsys, "--json", tiny_tagger.model_dir, "--embeddings",
                              tiny_tagger.store_path)
    local = json.loads(out)
    for key in ("files", "task", "network", "vectors", "training"):
        assert remote[key] == local[key], key
    assert remote["store"] == {**local["store"], "path": store}
    assert remote["store"]["matches"] is True
    assert remote["checks"] == {
        "ok": True, "problem": None, "not_checked": "the model file's contents (its archive, "
        "layers and SHA-256), which tag checks on its copy before launch"}

    code, out, _ = model_info(capsys, model, "--embeddings", store)
    assert code == 0
    assert f"model:         {model}\n" in out and "size listed:" in out
    assert out.rstrip().endswith(
        "checks:        the model file has the size its tagger.json records; not checked "
        "without a copy: the model file's contents (its archive, layers and SHA-256), which "
        "tag checks on its copy before launch")

    gcs.cut_short("models/tiny/tagger.keras", 100)
    code, out, _ = model_info(capsys, model)
    assert code == 1
    assert f"checks:        FAILED: {model}/tagger.keras is not the model file saved with the " \
           "tagger.json beside it (100 bytes, tagger.json records" in out


def test_what_is_no_model_on_gs_is_refused_in_one_line(gcs, tiny_tagger, tmp_path,  # noqa: F811
                                                       capsys, monkeypatch):
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    without_model_file = tmp_path / "half"
    shutil.copytree(tiny_tagger.model_dir, without_model_file)
    (without_model_file / "tagger.keras").unlink()
    half = gcs.put(without_model_file, "models/half")
    for path, message in [
            (store, f"{store} is an embedding store, not a model"),
            (half, f"{half} is not a tagger model: tagger.keras is missing"),
            (f"gs://{BUCKET}/models/none", f"model directory gs://{BUCKET}/models/none does not "
                                           "exist")]:
        code, out, err = model_info(capsys, path)
        assert (code, out, err.strip()) == (2, "", f"beamtagger model: error: {message}")

    def forbidden(patterns, limits=None):
        raise OSError("Match operation failed with exceptions {'gs://...': 403 Forbidden}")

    monkeypatch.setattr(FileSystems, "match", forbidden)
    code, _, err = model_info(capsys, half)
    assert (code, err.strip()) == (2, f"beamtagger model: error: cannot read {half}: Match "
                                      "operation failed with exceptions {'gs://...': 403 "
                                      "Forbidden}")


def test_without_a_network_or_credentials_model_info_says_so_before_reading(monkeypatch,
                                                                           capsys):
    without_emulator_or_proxy(monkeypatch)
    probe_failing(monkeypatch, ConnectionRefusedError("Connection refused"))
    code, _, err = model_info(capsys, "gs://bucket/models/ner")
    assert code == 2
    assert err.startswith("beamtagger model: error: cannot reach Google Cloud Storage (storage.googleapis.com:443: "
                          "Connection refused), where the checks before launch read "
                          "gs://bucket/models/ner"), err
    code, _, err = model_info(capsys, "s3://bucket/models/ner")
    assert (code, err.strip()) == (2, "beamtagger model: error: model s3://bucket/models/ner: "
                                      "model info reads gs:// paths and this machine's, no other "
                                      "URLs; copy it to this machine or to a gs:// bucket first")
    probe_answering(monkeypatch)
    credentials(monkeypatch, found=False)
    code, _, err = model_info(capsys, "gs://bucket/models/ner")
    assert code == 2 and err.startswith(
        "beamtagger model: error: gs://bucket/models/ner needs Google Cloud credentials and this machine has "
        "none"), err
