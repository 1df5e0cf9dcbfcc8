"""The gs:// pre-check of ``beamtagger tag`` where the network misleads it: a probe held past
its timeout (a name of several addresses, a resolver that does not answer) and a client sent
to another endpoint than storage.googleapis.com."""
import socket
import threading

from beamtagger import cloud_access
from beamtagger.cloud_access import cloud_storage_problem
from beamtagger.tests.cloud_access_test import credentials, probe_answering


def test_the_probe_gives_up_after_its_timeout_in_all(monkeypatch):
    # create_connection's timeout holds for each address it tries, and the lookup has none:
    # the check waited for as long as the probe was held.
    monkeypatch.setattr(cloud_access, "PROBE_TIMEOUT_S", 0.2)
    released = threading.Event()
    returned = []

    def create_connection(address, timeout=None):
        released.wait(5)   # each of many addresses, or a lookup, taking its own time
        returned.append(address)
        raise TimeoutError()

    monkeypatch.setattr(socket, "create_connection", create_connection)
    problem = cloud_storage_problem(["gs://b/in/*.txt"], environ={})
    held_past_the_timeout = bool(returned)
    released.set()
    assert not held_past_the_timeout
    assert problem.startswith("cannot reach Google Cloud Storage (storage.googleapis.com:443: "
                              "no answer within 0.2 s)")


def test_the_endpoint_the_client_is_sent_to_is_the_one_probed(monkeypatch):
    # google-cloud-storage's client connects to API_ENDPOINT_OVERRIDE (a Private Service
    # Connect endpoint, on a network with no way to storage.googleapis.com): probing the
    # latter refused a run that would have worked.
    credentials(monkeypatch, found=True)
    probed = probe_answering(monkeypatch)
    for endpoint, address in [
            ("https://storage-mine.p.googleapis.com", ("storage-mine.p.googleapis.com", 443)),
            ("http://10.0.0.5:8080/", ("10.0.0.5", 8080)),
            ("https://[fd00::5]", ("fd00::5", 443))]:
        assert cloud_storage_problem(["gs://b/x"], environ={
            "API_ENDPOINT_OVERRIDE": endpoint}) is None
        assert probed.pop() == address
