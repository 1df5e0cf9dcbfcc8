"""gs:// paths on a machine without a network to Cloud Storage or without credentials: refused
in one line before anything reads them (Beam's own client waited 2 minutes and printed a
traceback a retry)."""
import socket

from beamtagger.pipeline import cli
from beamtagger.cloud_access import PROBE_TIMEOUT_S, cloud_storage_problem

NO_EMULATOR = {}


def probe_failing(monkeypatch, error):
    probed = []

    def create_connection(address, timeout=None):
        probed.append((address, timeout))
        raise error

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return probed


def probe_answering(monkeypatch):
    probed = []

    class Connection:
        def close(self):
            pass

    def create_connection(address, timeout=None):
        probed.append(address)
        return Connection()

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return probed


def credentials(monkeypatch, found):
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    def default(*args, **kwargs):
        if not found:
            raise DefaultCredentialsError("Your default credentials were not found.")
        return object(), "a-project"

    monkeypatch.setattr(google.auth, "default", default)


def without_emulator_or_proxy(monkeypatch):
    """The environment of a machine that talks to Cloud Storage itself: no emulator, no proxy."""
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_no_gs_path_and_the_emulator_ask_nothing(monkeypatch):
    probed = probe_failing(monkeypatch, AssertionError("probed"))
    assert cloud_storage_problem(["in/*.txt", "out/run", None], environ=NO_EMULATOR) is None
    assert cloud_storage_problem(["gs://b/in*"],
                                 environ={"STORAGE_EMULATOR_HOST": "http://127.0.0.1:9"}) is None
    assert probed == []


def test_no_network_is_named_with_the_paths_that_need_it(monkeypatch):
    probed = probe_failing(monkeypatch, socket.gaierror(-2, "Name or service not known"))
    problem = cloud_storage_problem(["gs://b/in/*.txt", "gs://b/out/run", "models/ner"],
                                    environ=NO_EMULATOR)
    assert problem.startswith("cannot reach Google Cloud Storage (storage.googleapis.com:443: "
                              "[Errno -2] Name or service not known)")
    assert "gs://b/in/*.txt (and 1 more gs:// path)" in problem
    assert probed == [(("storage.googleapis.com", 443), PROBE_TIMEOUT_S)]

    probe_failing(monkeypatch, TimeoutError())
    problem = cloud_storage_problem(["gs://b/in/*.txt"], environ=NO_EMULATOR)
    assert f"no answer within {PROBE_TIMEOUT_S} s" in problem


def test_another_universe_is_probed_and_a_proxy_is_not(monkeypatch):
    credentials(monkeypatch, found=True)
    probed = probe_answering(monkeypatch)
    assert cloud_storage_problem(["gs://b/x"], environ={
        "GOOGLE_CLOUD_UNIVERSE_DOMAIN": "example.test"}) is None
    assert probed == [("storage.example.test", 443)]
    probe_failing(monkeypatch, AssertionError("probed through a proxy"))
    assert cloud_storage_problem(["gs://b/x"], environ={"HTTPS_PROXY": "http://proxy:3128"}) \
        is None


def test_no_credentials_is_refused_unless_anonymous(monkeypatch):
    probe_answering(monkeypatch)
    credentials(monkeypatch, found=False)
    problem = cloud_storage_problem(["gs://b/x"], environ=NO_EMULATOR)
    assert "gs://b/x needs Google Cloud credentials" in problem
    assert "gcloud auth application-default login" in problem and "--no_auth" in problem
    assert cloud_storage_problem(["gs://b/x"], anonymous=True, environ=NO_EMULATOR) is None


def test_tag_refuses_before_reading_any_gs_path(monkeypatch, capsys, tmp_path):
    from apache_beam.io.filesystems import FileSystems

    without_emulator_or_proxy(monkeypatch)
    probe_failing(monkeypatch, socket.gaierror(-3, "Temporary failure in name resolution"))

    def match(*args, **kwargs):
        raise AssertionError("a gs:// path was read")

    monkeypatch.setattr(FileSystems, "match", match)
    assert cli.main(["tag", "--input", "gs://b/in/*.txt", "--output",
                     str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach Google Cloud Storage" in err
    assert "gs://b/in/*.txt" in err and "Traceback" not in err


def test_tag_refuses_before_listing_a_gs_input_without_an_extension(monkeypatch, capsys,
                                                                      tmp_path):
    # Found by fuzzing tag's arguments: the input's format, which an extension did not give,
    # was looked for among the files the pattern matched before this check ran: Beam retried
    # its credentials for 24 s, logging a traceback each time, before the refusal.
    from apache_beam.io.filesystems import FileSystems

    without_emulator_or_proxy(monkeypatch)
    probe_failing(monkeypatch, socket.gaierror(-3, "Temporary failure in name resolution"))
    listed = []
    monkeypatch.setattr(FileSystems, "match", lambda *args, **kwargs: listed.append(args))
    assert cli.main(["tag", "--input", "gs://b/in/*", "--output", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach Google Cloud Storage" in err, err
    assert "gs://b/in/*" in err and not listed
