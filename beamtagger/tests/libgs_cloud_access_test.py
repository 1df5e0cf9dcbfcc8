"""The library's checks of ``gs://`` models and stores where a pipeline is built
(``worker_resources.check_where_built``), on a machine without a network to Cloud Storage:
refused in one line by the connection probe, where Beam's client retried the listing for
120 s (104 s measured offline) and ended in a BeamtaggerError holding ``RetryError(...)``.
Credentials are left to Beam's client, which reads a public bucket anonymously."""
import socket

import apache_beam as beam
import pytest
from apache_beam.io.filesystems import FileSystems

from beamtagger.errors import BeamtaggerError
from beamtagger.tests.cloud_access_test import (credentials, probe_answering, probe_failing,
                                                without_emulator_or_proxy)
from beamtagger.transforms import worker_resources
from beamtagger.transforms.reading.read_records import ReadRecords
from beamtagger.transforms.records import TextRecord
from beamtagger.transforms.tag_text import TagText

MODEL, STORE = "gs://b/models/ner", "gs://b/stores/glove"
RECORD = TextRecord("r1", "A sentence .")


class Listed(Exception):
    """Beam's client was asked for a gs:// listing."""


@pytest.fixture
def listings(monkeypatch):
    """The gs:// listings asked of Beam's client (each raises ``Listed``)."""
    asked = []

    def match(patterns, *args, **kwargs):
        asked.extend(patterns)
        raise Listed(patterns)

    without_emulator_or_proxy(monkeypatch)
    monkeypatch.setattr(FileSystems, "match", match)
    return asked


def test_tag_text_refuses_gs_paths_it_cannot_reach_before_any_listing(monkeypatch, listings):
    probed = probe_failing(monkeypatch, socket.gaierror(-3, "Temporary failure in name "
                                                            "resolution"))
    tag = TagText(model_dir=MODEL, store_path=STORE)   # built: nothing remote read yet
    assert probed == [] and listings == []
    with pytest.raises(BeamtaggerError) as refused:
        with beam.Pipeline() as pipeline:
            _ = pipeline | beam.Create([RECORD]) | tag
    message = str(refused.value)
    assert message.startswith("cannot reach Google Cloud Storage (storage.googleapis.com:443: "
                              "[Errno -3] Temporary failure in name resolution)")
    assert f"read {MODEL} (and 1 more gs:// path)" in message
    assert message.endswith("; or pass validate=False to leave the check to the workers")
    assert "\n" not in message
    assert len(probed) == 1 and listings == []


def test_tagger_refuses_gs_paths_it_cannot_reach_before_any_listing(monkeypatch, listings):
    # Found by fuzzing the API's arguments: Tagger("gs://...") offline went to Beam's client,
    # which retried for 120 s (140 s measured) and raised a BeamIOError holding RetryError.
    from beamtagger import Tagger

    probed = probe_failing(monkeypatch, socket.gaierror(-3, "Temporary failure in name "
                                                            "resolution"))
    with pytest.raises(BeamtaggerError) as refused:
        Tagger(MODEL, STORE, runtime="numpy")
    message = str(refused.value)
    assert message == ("cannot reach Google Cloud Storage (storage.googleapis.com:443: [Errno -3] "
                       f"Temporary failure in name resolution), where Tagger reads {MODEL} (and "
                       "1 more gs:// path): connect this machine to the network (set HTTPS_PROXY "
                       "where a proxy is the way out)")
    assert len(probed) == 1 and listings == []


def test_validate_false_and_the_emulator_skip_the_probe(monkeypatch, listings):
    probe_failing(monkeypatch, AssertionError("probed"))
    pipeline = beam.Pipeline()   # applied, not run: where validate=True would check
    _ = pipeline | beam.Create([RECORD]) | TagText(
        model_dir=MODEL, store_path=STORE, validate=False)
    assert listings == []
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")
    with pytest.raises(Listed):
        worker_resources.check_where_built(MODEL, STORE, remote=True)
    assert listings == [MODEL + "/**"]


def test_without_credentials_the_check_goes_on_to_the_listing(monkeypatch, listings):
    # A public bucket is read anonymously by Beam's client: no credentials is no refusal.
    probe_answering(monkeypatch)
    credentials(monkeypatch, found=False)
    with pytest.raises(Listed):
        worker_resources.check_where_built(MODEL, None, remote=True)
    assert listings == [MODEL + "/**"]


def test_read_records_lists_no_gs_pattern_where_it_is_built(monkeypatch, listings):
    probe_failing(monkeypatch, AssertionError("probed"))
    pipeline = beam.Pipeline()
    _ = pipeline | ReadRecords("gs://b/in/*.txt")
    assert listings == []   # its pattern is listed by the workers' MatchFiles when it runs
