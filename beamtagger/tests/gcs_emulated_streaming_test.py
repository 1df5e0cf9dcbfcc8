"""Streaming writes and RunInference model updates on ``gs://``, against the GCS emulator of
``gcs_emulated_test`` (its fixtures): GCS renames by copy and delete, lists by prefix and has
no folders, where the other streaming and model-update tests run on a local disk or a
registered test file system."""
import json
import re

import pytest

from beamtagger.tests import gcs_emulated_test as emulated
from beamtagger.tests.gcs_emulated_test import BUCKET, EXAMPLE, _labels_by_line, _tag

# The emulator and the staging folder, as fixtures of this module too.
gcs, staged_copies = emulated.gcs, emulated.staged_copies


def test_a_streaming_tagtext_writes_each_pane_to_gs_once_under_its_window_name(
        gcs, staged_copies, tiny_tagger):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.testing.test_stream import TestStream
    from apache_beam.transforms.window import TimestampedValue

    from beamtagger.transforms import TagText, TextRecord, WriteDeadLetters, WriteResults

    model = gcs.put(tiny_tagger.model_dir, "models/tiny")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    # "a" and the dead letter "bad" in [0, 60); the watermark passes 200; "c" (of [0, 60): the
    # batch holding "a" holds the watermark, so it is on time) and "b" (of [180, 240)).
    stream = (TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue(TextRecord("a", "The dog went home ."), 1),
                             TimestampedValue(TextRecord("bad", "The d\ud800g ."), 2)])
              .advance_processing_time(10).advance_watermark_to(200)
              .add_elements([TimestampedValue(TextRecord("c", "A cat ."), 3),
                             TimestampedValue(TextRecord("b", "The cat sat ."), 201)])
              .advance_processing_time(10).advance_watermark_to_infinity())
    prefix = f"gs://{BUCKET}/streamed/run"
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        out = p | stream | TagText(model, store, runtime="numpy", max_buffering_secs=1)
        _ = out.tagged | WriteResults(prefix, triggering_frequency=60)
        _ = out.errors | WriteDeadLetters(prefix, triggering_frequency=60)

    written = {name: [json.loads(line) for line in gcs.text(name).splitlines()]
               for name in gcs.names("") if name.startswith("streamed/")}
    ids = {name[len("streamed/"):]: sorted(row.get("id", row.get("source")) for row in rows)
           for name, rows in written.items()}
    # Files a window, named as README says, each record once; no temporary object left.
    assert ids == {"run-[0.0, 60.0)-00000-of-00001.jsonl": ["a", "c"],
                   "run-[180.0, 240.0)-00000-of-00001.jsonl": ["b"],
                   "run-errors-[0.0, 60.0)-00000-of-00001.jsonl": ["bad"]}, ids
    labels = {row["id"]: [token["label"] for token in row["tokens"]]
              for rows in written.values() for row in rows if "tokens" in row}
    assert labels == {key: tiny_tagger.labels(text) for key, text in (
        ("a", "The dog went home ."), ("c", "A cat ."), ("b", "The cat sat ."))}


@pytest.mark.parametrize("output", ["jsonl", "parquet", "dead letters"])
def test_a_late_pane_on_gs_gets_objects_of_its_own_and_leaves_no_temporary_ones(
        gcs, output):
    # GCS renames each pane's file out of the sink's temporary folder by a copy and a delete,
    # and has no folder to remove: only the objects of each pane may be left.
    import io

    import apache_beam as beam
    import pyarrow.parquet as pq
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.transforms import trigger, window

    from beamtagger.tests.transforms_write_panes_test import _late_stream, _suffix, _write

    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        windowed = p | _late_stream(output, later=True) | beam.WindowInto(
            window.FixedWindows(60), trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
            accumulation_mode=trigger.AccumulationMode.DISCARDING, allowed_lateness=300)
        _ = _write(windowed, output, f"gs://{BUCKET}/streamed/run")

    def ids(name):
        if name.endswith(".parquet"):
            data = gcs._bucket.blob(name).download_as_bytes()
            return sorted(pq.read_table(io.BytesIO(data)).column("id").to_pylist())
        rows = [json.loads(line) for line in gcs.text(name).splitlines()]
        return sorted(row.get("id", row.get("source")) for row in rows)

    name = "streamed/run-errors" if output == "dead letters" else "streamed/run"
    suffix = _suffix(output)
    assert {written: ids(written) for written in gcs.names("")} == {
        f"{name}-[0.0, 60.0)-00000-of-00001{suffix}": ["a"],
        f"{name}-[0.0, 60.0)-1-00000-of-00001{suffix}": ["late"],
        f"{name}-[0.0, 60.0)-2-00000-of-00001{suffix}": ["later"],
        f"{name}-[180.0, 240.0)-00000-of-00001{suffix}": ["b"]}


def test_beamtagger_tag_streaming_writes_every_record_to_gs_once(
        gcs, staged_copies, tiny_tagger, tmp_path, capsys):
    model = gcs.put(tiny_tagger.model_dir, "models/tiny")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    (tmp_path / "in.jsonl").write_text("\n".join(
        [json.dumps({"id": f"line:{n}", "text": line}) for n, line in enumerate(lines, 1)]
        + ["{not json"]) + "\n", encoding="utf-8")
    source = gcs.put(tmp_path / "in.jsonl", "text/in.jsonl")
    code, out, err = _tag(capsys, "--input", source, "--output", f"gs://{BUCKET}/tagged/run",
                          "--model", model, "--embeddings", store, "--streaming")
    assert code == 0, err
    # Beam's batch sink (the input is files): its shards renamed out of its temporary folder
    # by GCS copies and deletes, every record in one of them, nothing else left.
    written = gcs.names("tagged/")
    results = [name for name in written if not name.startswith("tagged/run-errors-")]
    errors = [name for name in written if name.startswith("tagged/run-errors-")]
    assert all(re.fullmatch(r"tagged/run-(errors-)?\d{5}-of-\d{5}\.jsonl", name)
               for name in written), written
    rows = [line for name in results for line in gcs.text(name).splitlines()]
    assert len(rows) == len(lines) and _labels_by_line(rows) == {
        n: tiny_tagger.labels(line) for n, line in enumerate(lines, 1)}
    dead = [line for name in errors for line in gcs.text(name).splitlines()]
    assert len(dead) == 1 and "{not json" in dead[0], dead
    summary = dict(re.findall(r"^(records tagged|dead letters)\s+([\d,]+)", out, re.M))
    assert summary == {"records tagged": str(len(lines)), "dead letters": "1"}, out


def _staged_sources(staged_copies):
    """The gs:// paths of the copies staged on this machine."""
    return sorted((folder / "source").read_text() for folder in staged_copies.iterdir()
                  if not folder.name.startswith(".")) if staged_copies.exists() else []


def test_a_runinference_model_update_to_a_gs_model_switches_labels_and_lets_the_old_copy_go(
        gcs, staged_copies, tiny_tagger, tmp_path):
    from beamtagger.testing import build_tiny_tagger
    from beamtagger.transforms import TaggerModelHandler

    first = gcs.put(tiny_tagger.model_dir, "models/first")
    retrained = build_tiny_tagger(tmp_path / "retrained", seed=31,
                                  store_path=tiny_tagger.store_path)
    second = gcs.put(retrained.model_dir, "models/second")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    texts = ["The dog went home .", "Fast tests ."]

    def labels(handler):
        return [list(result.inference.labels)
                for result in handler.run_inference(texts, handler.load_model())]

    handler = TaggerModelHandler(first, store, runtime="numpy")
    assert labels(handler) == [tiny_tagger.labels(text) for text in texts]
    assert _staged_sources(staged_copies) == [first, store]
    handler.update_model_path(second + "/tagger.keras")   # as watch_model_pattern says
    assert handler.model_dir == second
    assert labels(handler) == [retrained.labels(text) for text in texts] != [
        tiny_tagger.labels(text) for text in texts]
    # The first model's copy is gone; the store's is kept (its newest copy, held by the store).
    assert _staged_sources(staged_copies) == [second, store]


@pytest.mark.parametrize("damage", ["tagger.json missing", "tagger.keras cut short",
                                    "nothing there", "unreadable"])
def test_a_broken_gs_model_update_is_refused_and_the_serving_model_stays(
        gcs, staged_copies, tiny_tagger, tmp_path, caplog, monkeypatch, damage):
    # "unreadable": a GCS read fault on the new model's files (gcsio's retries spent, or a
    # bucket the workers may not read) escaped update_model_path as an OSError.
    import errno

    from apache_beam.io.gcp import gcsio

    from beamtagger.testing import build_tiny_tagger
    from beamtagger.transforms import TaggerModelHandler

    serving = gcs.put(tiny_tagger.model_dir, "models/serving")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    newer = build_tiny_tagger(tmp_path / "newer", seed=12, store_path=tiny_tagger.store_path)
    broken = f"gs://{BUCKET}/models/broken"
    if damage != "nothing there":
        broken = gcs.put(newer.model_dir, "models/broken")
    if damage == "tagger.json missing":
        gcs._bucket.blob("models/broken/tagger.json").delete()
    elif damage == "tagger.keras cut short":
        gcs.cut_short("models/broken/tagger.keras", keep=1000)
    handler = TaggerModelHandler(serving, store, runtime="numpy")
    handler.load_model()
    if damage == "unreadable":
        real_open = gcsio.GcsIO.open

        def open_failing(self, filename, *args, **kwargs):
            if "/models/broken/" in filename:
                raise OSError(errno.EIO, "simulated GCS fault")
            return real_open(self, filename, *args, **kwargs)

        monkeypatch.setattr(gcsio.GcsIO, "open", open_failing)
    handler.update_model_path(broken + "/tagger.keras")
    assert handler.model_dir == serving
    assert "model update to " + broken + " refused" in caplog.text
    texts = ["The dog went home ."]
    assert [list(result.inference.labels) for result in handler.run_inference(
        texts, handler.load_model())] == [tiny_tagger.labels(texts[0])]
    # The refused model's copy went with it.
    assert _staged_sources(staged_copies) == [serving, store]


def test_gs_models_and_stores_with_folder_objects_are_staged_and_updated_to(
        gcs, staged_copies, tiny_tagger, tmp_path, caplog):
    # GCS has no folders: the Cloud console's "Create folder" and TensorFlow's gfile.makedirs
    # stand one in with an empty object named "folder/". Staging copied it to a file named
    # as the folder, and the next file below failed (EEXIST): `beamtagger tag` exited 1, and
    # an update to such a model escaped update_model_path instead of being taken.
    from beamtagger.testing import build_tiny_tagger
    from beamtagger.transforms import TaggerModelHandler

    def put_with_folder_objects(local, prefix):
        path = gcs.put(local, prefix)
        for folder in (f"{prefix}/", f"{prefix}/empty/"):
            gcs._bucket.blob(folder).upload_from_string(b"")
        return path

    first = put_with_folder_objects(tiny_tagger.model_dir, "models/first")
    retrained = build_tiny_tagger(tmp_path / "retrained", seed=31,
                                  store_path=tiny_tagger.store_path)
    second = put_with_folder_objects(retrained.model_dir, "models/second")
    store = put_with_folder_objects(tiny_tagger.store_path, "stores/tiny")
    text = "The dog went home ."
    handler = TaggerModelHandler(first, store, runtime="numpy")
    assert [list(result.inference.labels) for result in handler.run_inference(
        [text], handler.load_model())] == [tiny_tagger.labels(text)]
    handler.update_model_path(second)
    assert handler.model_dir == second, caplog.text
    assert [list(result.inference.labels) for result in handler.run_inference(
        [text], handler.load_model())] == [retrained.labels(text)]
    # The folders are folders in the copies, as on the disk the model was saved from.
    copies = {(folder / "source").read_text(): folder / "copy"
              for folder in staged_copies.iterdir() if not folder.name.startswith(".")}
    assert (copies[second] / "empty").is_dir() and (copies[store] / "empty").is_dir()
