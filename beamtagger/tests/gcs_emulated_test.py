"""``gs://`` paths end to end, through Beam's own GCS file system against a GCS emulator on this
machine's loopback (gcp-storage-emulator): what a Dataflow user's model, store, input and output
paths go through, with GCS's listing, ranged reads and rename-by-copy, where the other tests
stand a registered test file system in for it.

No credentials and no network: Beam's credential lookup is replaced by "none" (it would
otherwise retry Google's default credentials for about 25 s, and probe the GCE metadata
server), so its storage client connects anonymously to the emulator that
``STORAGE_EMULATOR_HOST`` names, and every socket connect is held to the loopback.
"""
import glob
import json
import logging
import pathlib
import socket

import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline import cli
from beamtagger.tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "beamtagger" / "data" / "example.txt"
BUCKET = "beamtagger-test"


class EmulatedBucket:
    """The emulator's one bucket: files put there and listed, through the storage client."""

    def __init__(self, client):
        self._bucket = client.bucket(BUCKET)
        self._client = client

    def put(self, local, prefix):
        """``local`` (a file or a folder's files) under ``gs://BUCKET/prefix``; the gs:// path."""
        local = pathlib.Path(local)
        files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
        for path in files:
            name = prefix if local.is_file() else f"{prefix}/{path.relative_to(local)}"
            self._bucket.blob(name).upload_from_filename(str(path))
        return f"gs://{BUCKET}/{prefix}"

    def names(self, prefix):
        return sorted(blob.name for blob in self._client.list_blobs(BUCKET, prefix=prefix))

    def text(self, name):
        return self._bucket.blob(name).download_as_bytes().decode("utf-8")

    def cut_short(self, name, keep):
        blob = self._bucket.blob(name)
        blob.upload_from_string(blob.download_as_bytes()[:keep])


@pytest.fixture
def gcs(monkeypatch):
    from apache_beam.internal.gcp import auth
    from gcp_storage_emulator.server import create_server
    from google.cloud import storage

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # It warns of every object it serves ("Content handled as string").
    monkeypatch.setattr(logging.getLogger("gcp_storage_emulator"), "level", logging.ERROR)
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(auth, "get_service_credentials", lambda options: None)
    _hold_connections_to_the_loopback(monkeypatch)
    try:
        yield EmulatedBucket(storage.Client.create_anonymous_client())
    finally:
        server.stop()


def _hold_connections_to_the_loopback(monkeypatch):
    """Every socket connect held to this machine: no real GCS, metadata server or oauth."""
    real_connect = socket.socket.connect

    def connect(sock, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"the run reached {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def staged_copies(monkeypatch, tmp_path):
    """Where the workers (in this process) stage copies of remote models and stores: a folder
    of the test's, the process holding none yet (each test's bucket reuses the same paths)."""
    from beamtagger.transforms import worker_resources

    monkeypatch.setenv("BEAMTAGGER_STAGING", str(tmp_path / "staging"))
    for name in ("_LOCAL_COPIES", "_HELD_COPIES", "_COPY_USES"):
        monkeypatch.setattr(worker_resources, name, {})
    monkeypatch.setattr(worker_resources, "_KEPT_FOR_LIFE", set())
    return tmp_path / "staging" / worker_resources.staging_folder_name()


def _tag(capsys, *args):
    code = cli.main(["tag", "--progress-every", "0", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _labels_by_line(texts):
    """{line number: its labels} of the JSON Lines results in ``texts``."""
    rows = [json.loads(line) for text in texts for line in text.splitlines() if line]
    return {int(row["id"].rsplit(":", 1)[1]): [token["label"] for token in row["tokens"]]
            for row in rows}


def test_beamtagger_tag_reads_and_writes_gs_paths(gcs, staged_copies, tiny_tagger, tmp_path,
                                                   capsys):
    model = gcs.put(tiny_tagger.model_dir, "models/tiny")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    gcs.put(EXAMPLE, "text/example.txt")
    args = ["--model", model, "--embeddings", store]
    code, out, err = _tag(capsys, "--input", f"gs://{BUCKET}/text/*.txt", "--output",
                          f"gs://{BUCKET}/tagged/run1", *args)
    assert code == 0, err
    written = gcs.names("tagged/")
    results = [name for name in written if "-errors-" not in name]
    assert results and all(name.startswith("tagged/run1-") and name.endswith(".jsonl")
                           for name in results), written
    remote = _labels_by_line(gcs.text(name) for name in results)

    # The same run on this machine's copies: the same labels.
    local_prefix = str(tmp_path / "local")
    code, _, err = _tag(capsys, "--input", str(EXAMPLE), "--output", local_prefix,
                        "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    local = _labels_by_line(pathlib.Path(path).read_text(encoding="utf-8")
                            for path in glob.glob(local_prefix + "-[0-9]*.jsonl"))
    assert len(remote) == 12 and remote == local

    # A rerun on the same prefix is refused; --overwrite replaces the results.
    code, _, err = _tag(capsys, "--input", f"gs://{BUCKET}/text/*.txt", "--output",
                        f"gs://{BUCKET}/tagged/run1", *args)
    assert code == 2 and "--overwrite" in err, err
    code, _, err = _tag(capsys, "--input", f"gs://{BUCKET}/text/*.txt", "--output",
                        f"gs://{BUCKET}/tagged/run1", "--overwrite", *args)
    assert code == 0, err
    assert gcs.names("tagged/") == written


def test_a_missing_gs_model_is_refused_before_launch(gcs, tiny_tagger, capsys):
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    source = gcs.put(EXAMPLE, "text/example.txt")
    code, _, err = _tag(capsys, "--input", source, "--output", f"gs://{BUCKET}/tagged/r",
                        "--model", f"gs://{BUCKET}/models/no-such-model", "--embeddings", store)
    assert code == 2, err
    assert "no-such-model" in err and "Traceback" not in err, err
    assert gcs.names("tagged/") == []


def test_a_gs_output_prefix_that_is_a_folder_is_refused_before_launch(gcs, tiny_tagger,
                                                                     capsys):
    # A prefix with objects under PREFIX/: the results went beside it.
    gcs.put(EXAMPLE, "tagged/earlier.txt")
    args = ["--input", str(EXAMPLE), "--model", tiny_tagger.model_dir, "--embeddings",
            tiny_tagger.store_path]
    prefix = f"gs://{BUCKET}/tagged"
    code, _, err = _tag(capsys, *args, "--output", prefix)
    assert code == 2 and err.strip() == (
        f"beamtagger tag: error: --output {prefix} is a folder, and its files would be "
        f"written beside it ({prefix}-00000-of-00001.jsonl); give a prefix of file names "
        f"inside it, such as {prefix}/run"), err
    # A bucket's files are not written beside it: gs://b-00000-of-00001.jsonl names no object
    # (the line said they would be; before that, Beam's refusal to list it, 1,500 characters).
    code, _, err = _tag(capsys, *args, "--output", f"gs://{BUCKET}")
    assert code == 2 and err.strip() == (
        f"beamtagger tag: error: --output gs://{BUCKET} is a bucket, and a prefix of file names "
        f"needs a name inside it; give one such as gs://{BUCKET}/run"), err
    assert gcs.names("") == ["tagged/earlier.txt"]


def test_tagtext_checks_gs_paths_where_applied_and_its_workers_stage_them(
        gcs, staged_copies, tiny_tagger):
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.util import assert_that, equal_to

    from beamtagger.transforms import TagText, TextRecord

    model = gcs.put(tiny_tagger.model_dir, "models/tiny")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    texts = {"a": "Beam tags this.", "b": "Fast tests."}
    expected = [(key, tuple(tiny_tagger.labels(text))) for key, text in texts.items()]
    with beam.Pipeline(runner=FnApiRunner()) as pipeline:
        out = (pipeline | beam.Create([TextRecord(key, text) for key, text in texts.items()])
               | TagText(model, store, runtime="numpy"))
        assert_that(out.tagged | beam.Map(lambda record: (record.id, tuple(record.labels))),
                    equal_to(expected))

    # What is wrong there is found where TagText is applied, through GCS's own listing and
    # ranged reads: a store that is not there, and a model file cut short.
    with pytest.raises(BeamtaggerError, match="stores/typo"):
        _ = beam.Pipeline() | beam.Create([]) | TagText(model, f"gs://{BUCKET}/stores/typo")
    gcs.cut_short("models/tiny/tagger.keras", keep=100)
    with pytest.raises(BeamtaggerError, match="tagger.keras"):
        _ = beam.Pipeline() | beam.Create([]) | TagText(model, store)


def test_a_gs_model_saved_again_is_copied_again_by_the_next_run_in_the_process(
        gcs, staged_copies, tiny_tagger, tmp_path, capsys):
    # The copy was kept by path alone for the process's life: the second run (a notebook, a
    # launcher running several jobs) checked and tagged with the model it had replaced.
    from beamtagger.testing import build_tiny_tagger

    model = gcs.put(tiny_tagger.model_dir, "models/tiny")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    source = gcs.put(EXAMPLE, "text/example.txt")
    args = ["--input", source, "--model", model, "--embeddings", store]
    code, _, err = _tag(capsys, *args, "--output", f"gs://{BUCKET}/tagged/first")
    assert code == 0, err

    retrained = build_tiny_tagger(tmp_path / "retrained", seed=31,
                                  store_path=tiny_tagger.store_path)
    gcs.put(retrained.model_dir, "models/tiny")
    code, _, err = _tag(capsys, *args, "--output", f"gs://{BUCKET}/tagged/second")
    assert code == 0, err
    first = _labels_by_line(gcs.text(name) for name in gcs.names("tagged/first-0"))
    second = _labels_by_line(gcs.text(name) for name in gcs.names("tagged/second-0"))
    assert second == {number: retrained.labels(line) for number, line in enumerate(
        EXAMPLE.read_text(encoding="utf-8").splitlines(), start=1)} != first

    # Cut short there, it is refused before launch, not served from the earlier copies.
    gcs.cut_short("models/tiny/tagger.keras", keep=100)
    code, _, err = _tag(capsys, *args, "--output", f"gs://{BUCKET}/tagged/third")
    assert code == 2 and "tagger.keras" in err and "Traceback" not in err, err
    assert gcs.names("tagged/third") == []


def _gcs_publishing_failing(monkeypatch, name_part):
    """Beam's GCS renames out of a sink's temporary folder fail (EIO) for destinations whose
    name holds ``name_part``: that sink's publishing, after a sink before it published."""
    import errno

    from apache_beam.io.gcp import gcsio

    real_copy_batch = gcsio.GcsIO.copy_batch

    def copy_batch(self, pairs):
        if any("/beam-temp-" in source and name_part in destination
               for source, destination in pairs):
            return [(source, destination, OSError(errno.EIO, "simulated GCS fault"))
                    for source, destination in pairs]
        return real_copy_batch(self, pairs)

    monkeypatch.setattr(gcsio.GcsIO, "copy_batch", copy_batch)


def test_a_gs_rerun_with_overwrite_that_fails_puts_the_earlier_results_back(
        gcs, staged_copies, tiny_tagger, tmp_path, capsys, monkeypatch):
    # They were deleted before the run: a rerun that failed lost both runs' results.
    model = gcs.put(tiny_tagger.model_dir, "models/tiny")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    lines = [json.dumps({"id": "good", "text": "Hello world ."}), "{not json"]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = gcs.put(tmp_path / "in.jsonl", "text/in.jsonl")
    args = ["--input", source, "--output", f"gs://{BUCKET}/tagged/run", "--model", model,
            "--embeddings", store]
    code, _, err = _tag(capsys, *args)
    assert code == 0, err
    earlier = {name: gcs.text(name) for name in gcs.names("tagged/")}
    assert sorted(earlier) == ["tagged/run-00000-of-00001.jsonl",
                               "tagged/run-errors-00000-of-00001.jsonl"]

    # The results are published, then the dead letters' rename fails.
    _gcs_publishing_failing(monkeypatch, "-errors-")
    code, out, err = _tag(capsys, *args, "--overwrite")
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "simulated GCS fault (EIO)" in err and "records tagged" not in out
    # This run's results and Beam's temporary files are gone, the earlier run's are back.
    assert {name: gcs.text(name) for name in gcs.names("tagged/")} == earlier
    monkeypatch.undo()


def test_the_next_gs_run_puts_back_what_a_killed_rerun_was_replacing(
        gcs, staged_copies, tiny_tagger, capsys):
    model = gcs.put(tiny_tagger.model_dir, "models/tiny")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    source = gcs.put(EXAMPLE, "text/example.txt")
    gcs._bucket.blob("tagged/.run.tag-replaced/run-00000-of-00001.jsonl").upload_from_string(
        '{"id": "earlier"}\n')
    code, out, err = _tag(capsys, "--input", source, "--output", f"gs://{BUCKET}/tagged/run",
                          "--model", model, "--embeddings", store)
    assert "put back         1 file(s)" in out
    # Back where they were, and refused as any earlier run's files are.
    assert code == 2 and "--overwrite" in err, err
    assert gcs.names("tagged/") == ["tagged/run-00000-of-00001.jsonl"]
    assert gcs.text("tagged/run-00000-of-00001.jsonl") == '{"id": "earlier"}\n'


def test_runinference_serves_a_gs_model_on_the_fn_api_runner(gcs, staged_copies, tiny_tagger):
    import apache_beam as beam
    from apache_beam.ml.inference.base import RunInference
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.util import assert_that, equal_to

    from beamtagger.transforms import TaggerModelHandler

    model = gcs.put(tiny_tagger.model_dir, "models/tiny")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    texts = ["Beam tags this.", "Fast tests."]
    expected = [(text, tuple(tiny_tagger.labels(text))) for text in texts]
    with beam.Pipeline(runner=FnApiRunner()) as pipeline:
        results = (pipeline | beam.Create(texts)
                   | RunInference(TaggerModelHandler(model, store, runtime="numpy")))
        assert_that(results | beam.Map(lambda result: (result.example,
                                                       tuple(result.inference.labels))),
                    equal_to(expected))
    # The workers (this process) staged one copy of each, named by their gs:// paths.
    assert sorted((folder / "source").read_text() for folder in staged_copies.iterdir()
                  if not folder.name.startswith(".")) == [model, store]


def test_a_dataflow_dry_run_checks_gs_paths_through_the_emulator_alone(
        gcs, staged_copies, tiny_tagger, capsys, monkeypatch):
    # The remote checks before launch (paths the workers reach, the model and store read
    # through their copies, the input listed) with nothing but the loopback to talk to.
    # (The gcs fixture holds every socket connect to the loopback.)
    model = gcs.put(tiny_tagger.model_dir, "models/tiny")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    dataflow = ["--runner=DataflowRunner", "--dry_run=True", "--project=beamtagger-test",
                "--region=us-central1", f"--temp_location=gs://{BUCKET}/tmp", "--no_auth"]
    args = ["--output", f"gs://{BUCKET}/tagged/r", "--model", model, "--embeddings", store,
            *dataflow]
    code, _, err = _tag(capsys, "--input", f"gs://{BUCKET}/text/*.txt", *args)
    assert code == 2 and "no input files match" in err, err

    gcs.put(EXAMPLE, "text/example.txt")
    code, out, err = _tag(capsys, "--input", f"gs://{BUCKET}/text/*.txt", *args)
    assert code == 0, err
    assert "Dataflow job (dry run) finished" in out
    assert gcs.names("tagged/") == []
