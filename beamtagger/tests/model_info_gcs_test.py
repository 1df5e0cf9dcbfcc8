"""``beamtagger model info gs://...`` against the GCS emulator (``gcs_emulated_test``): a model
in a bucket described from its listing and small files as a local one is, its model file
checked by its listed size only and that said; a store in a bucket checked against it; no
network or credentials, a bucket that refuses the listing, a store given as the model, a
missing or other model file, a URL of another scheme, each one line."""
import json
import os
import shutil

from apache_beam.io.filesystems import FileSystems

from beamtagger.tests.cloud_access_test import (credentials, probe_answering, probe_failing,
                                                without_emulator_or_proxy)
from beamtagger.tests.gcs_emulated_test import (BUCKET, EXAMPLE, gcs,  # noqa: F401  (fixtures)
                                                staged_copies)
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
                          "Connection refused), where model info reads "
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

    # A public bucket: read without credentials, as Beam's client then does (its listing
    # stood in for here, which proves the check let it through).
    def listing(patterns, limits=None):
        raise OSError(f"listed {patterns}")

    monkeypatch.setattr(FileSystems, "match", listing)
    code, _, err = model_info(capsys, "--no_auth", "gs://bucket/models/ner")
    assert (code, err.strip()) == (2, "beamtagger model: error: cannot read "
                                      "gs://bucket/models/ner: listed "
                                      "['gs://bucket/models/ner/**']")


def _objects_read(monkeypatch):
    """The names of the objects whose contents the emulator serves from now on."""
    from gcp_storage_emulator.storage import Storage

    read, get_file = [], Storage.get_file

    def recorded(self, bucket_name, file_name, *args, **kwargs):
        read.append(file_name)
        return get_file(self, bucket_name, file_name, *args, **kwargs)

    monkeypatch.setattr(Storage, "get_file", recorded)
    return read


def test_model_info_reads_the_small_files_of_its_folder_alone(gcs, tiny_tagger,  # noqa: F811
                                                              capsys, monkeypatch):
    model = gcs.put(tiny_tagger.model_dir, "models/ner")
    gcs.put(tiny_tagger.model_dir, "models/ner2")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    read = _objects_read(monkeypatch)
    code, out, err = model_info(capsys, "--json", model + "/", "--embeddings", store)
    assert code == 0, err
    # The model file never: the listing's size is what is checked of it.
    assert sorted(set(read)) == ["models/ner/tagger.json", "models/ner/training_report.json",
                                 "stores/tiny/manifest.json", "stores/tiny/vectors.npy",
                                 "stores/tiny/vocab.parquet"]
    remote = json.loads(out)
    assert remote["files"] == {name: os.path.getsize(os.path.join(tiny_tagger.model_dir, name))
                               for name in ("tagger.json", "tagger.keras",
                                            "training_report.json")}
    code, out, _ = model_info(capsys, "--json", tiny_tagger.model_dir)
    local = json.loads(out)
    assert set(remote) == set(local) and set(remote["checks"]) == {*local["checks"],
                                                                   "not_checked"}
    for path, message in [
            (f"gs://{BUCKET}/models/ne", f"model directory gs://{BUCKET}/models/ne does not exist"),
            (f"{model}/tagger.keras", f"{model}/tagger.keras is a file, not a model directory; "
                                      f"give its folder, {model}")]:
        code, out, err = model_info(capsys, path)
        assert (code, out, err.strip()) == (2, "", f"beamtagger model: error: {message}")


def test_a_small_file_deleted_after_the_listing_or_too_large_is_one_line(
        gcs, tiny_tagger, capsys, monkeypatch):  # noqa: F811
    from google.cloud import storage

    from beamtagger.transforms import remote_paths

    model = gcs.put(tiny_tagger.model_dir, "models/ner")
    listed = remote_paths.listed_files

    def listed_then_deleted(name):
        def listing(path, absent):
            files = listed(path, absent)
            storage.Client.create_anonymous_client().bucket(BUCKET).blob(name).delete()
            return files
        monkeypatch.setattr(remote_paths, "listed_files", listing)

    listed_then_deleted("models/ner/training_report.json")
    code, out, err = model_info(capsys, model)
    assert code == 0, err
    assert "trained on:    training_report.json is unreadable (" in out and "404" in out, out
    listed_then_deleted("models/ner/tagger.json")
    code, out, err = model_info(capsys, model)
    assert code == 2 and err.startswith(
        f"beamtagger model: error: cannot read {model}/tagger.json: ") and "404" in err, err
    assert len(err.strip().splitlines()) == 1, err

    monkeypatch.setattr(remote_paths, "listed_files", listed)
    gcs.put(tiny_tagger.model_dir, "models/ner")
    monkeypatch.setattr(remote_paths, "SMALL_FILE_MAX_BYTES", 1000)
    code, out, err = model_info(capsys, model)
    assert (code, err.strip()) == (2, f"beamtagger model: error: cannot read {model}/tagger.json: "
                                      "it holds more than 1,000 bytes, where beamtagger writes a "
                                      "few KB there")


def test_a_store_file_deleted_after_the_listing_is_one_line_for_model_info_and_tag(
        gcs, staged_copies, tiny_tagger, capsys, monkeypatch):  # noqa: F811
    """model info reads the store's listed files in place (remote_paths), tag copies them
    (worker_resources._stage): a file gone since the listing was the storage client's
    NotFound, a traceback, in both."""
    from google.cloud import storage

    from beamtagger.tests.conftest import run_tag_command
    from beamtagger.transforms import remote_paths, worker_resources

    source = gcs.put(EXAMPLE, "text/example.txt")
    for name in ("vectors.npy", "vocab.parquet"):
        for command, module, step in (("model info", remote_paths, "listed_files"),
                                      ("tag", worker_resources, "_stage")):
            store = gcs.put(tiny_tagger.store_path, "stores/tiny")
            listed = getattr(module, step)

            def deleted_after(*args, name=name, listed=listed, module=module):
                # listed_files lists; _stage is given the listing and copies it.
                files = listed(*args) if module is remote_paths else None
                storage.Client.create_anonymous_client().bucket(BUCKET).blob(
                    f"stores/tiny/{name}").delete()
                return files if module is remote_paths else listed(*args)
            monkeypatch.setattr(module, step, deleted_after)
            if command == "tag":
                code, _, err = run_tag_command(capsys, "--input", source, "--output",
                                               f"gs://{BUCKET}/tagged/r", "--model",
                                               tiny_tagger.model_dir, "--embeddings", store)
            else:
                code, _, err = model_info(capsys, tiny_tagger.model_dir, "--embeddings", store)
            monkeypatch.setattr(module, step, listed)
            (line,) = err.strip().splitlines()  # one line, no traceback
            assert code == 2 and f"{store}/{name}" in line and "404" in line, (command, err)
