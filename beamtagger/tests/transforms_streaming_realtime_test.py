"""TagText in a streaming pipeline that runs for a few seconds on the real clock.

The source is Beam's own Pub/Sub read on the DirectRunner, fed by an in-memory subscriber that
releases one message every 0.4 s of wall time (no network, no emulator): the stream never ends,
so every record that comes out was flushed by the processing-time buffering, as the runner's
real clock measured it.
"""
import datetime
import threading
import time

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import StandardOptions

from beamtagger.transforms import TagText, TextRecord

pubsub = pytest.importorskip("google.cloud.pubsub")
from google.pubsub_v1.types import PubsubMessage, PullResponse, ReceivedMessage  # noqa: E402

MESSAGES = 6
INTERVAL_SECS = 0.4
_TAGGED = {}   # record id -> wall time it came out (the DirectRunner runs DoFns in this process)
_LOCK = threading.Lock()


class _Subscriber:
    """What the DirectRunner's Pub/Sub read calls on ``pubsub.SubscriberClient``."""
    started = None

    @staticmethod
    def subscription_path(project, subscription):
        return f"projects/{project}/subscriptions/{subscription}"

    def __init__(self):
        self.sent = 0

    def pull(self, subscription, max_messages, timeout):
        now = time.time()
        if _Subscriber.started is None:
            # The clock starts at the first pull: on a loaded machine the pipeline may take
            # longer than the whole stream to start, and would then find every message ready.
            _Subscriber.started = now
        released = min(MESSAGES, int((now - self.started) / INTERVAL_SECS) + 1)
        batch = [ReceivedMessage(ack_id=str(i), message=PubsubMessage(
                     data=f"Record {i} : the cat sat on the mat .".encode(), message_id=str(i),
                     publish_time=datetime.datetime.fromtimestamp(now, datetime.timezone.utc)))
                 for i in range(self.sent, min(released, self.sent + max_messages))]
        self.sent += len(batch)
        if not batch:
            time.sleep(0.05)
        return PullResponse(received_messages=batch)

    def acknowledge(self, subscription, ack_ids):
        pass

    def close(self):
        pass


def _record_output(record):
    with _LOCK:
        _TAGGED[record.id] = time.time()


def test_streaming_tagtext_flushes_on_the_real_clock(tiny_tagger, monkeypatch):
    monkeypatch.setattr(pubsub, "SubscriberClient", _Subscriber)
    _TAGGED.clear()
    pipeline = beam.Pipeline(options=StandardOptions(streaming=True))
    tagged = (pipeline
              | beam.io.ReadFromPubSub(subscription="projects/beamtagger-test/subscriptions/tagged")
              | beam.Map(lambda data: TextRecord(data.decode().split(" :")[0], data.decode()))
              | TagText(max_buffering_secs=1, **tiny_tagger.options))
    _ = tagged.tagged | beam.Map(_record_output)
    _Subscriber.started = None
    result = pipeline.run()
    try:
        deadline = time.time() + 60
        while len(_TAGGED) < MESSAGES and time.time() < deadline:
            time.sleep(0.2)
    finally:
        result.cancel()
    assert sorted(_TAGGED) == [f"Record {i}" for i in range(MESSAGES)]
    # Records came out while the stream was still going, not all at once at some end.
    last_release = _Subscriber.started + (MESSAGES - 1) * INTERVAL_SECS
    assert min(_TAGGED.values()) < max(_TAGGED.values()) - INTERVAL_SECS
    assert min(_TAGGED.values()) < last_release + 30
