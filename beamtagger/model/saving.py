"""Writing a model directory: ``tagger.keras`` + ``tagger.json`` + ``training_report.json``.

The directory is written under a hidden name beside its target and renamed into place
(``atomic_dirs``): a kill while saving leaves the old model whole. An existing model directory
is replaced only with ``overwrite=True``. ``tagger.json`` records the SHA-256 of the
``tagger.keras`` saved with it (``model_file``), so ``check_model_file`` can tell, without
TensorFlow, a damaged or swapped ``tagger.keras`` from the one the spec describes, and the
SHA-256 of its own content (``content_sha256``), which ``TaggerSpec.load`` checks: an edited
``tagger.json`` (two labels swapped) is refused wherever a model is read.

A ``.keras`` file saved from a compiled, trained model always carries the optimizer state
(for Adam two slots per weight: 3x the size of the weights). The saved model is rebuilt from its
config and given the trained weights first, so it holds the weights and nothing else; it never
holds an embedding table either, the vectors stay in the store.
"""
import contextlib
import hashlib
import json
import os
import pathlib
import shutil
import tempfile
import zipfile

import numpy as np

from beamtagger import atomic_dirs
from beamtagger.errors import BeamtaggerError, JobFailed, not_readable, too_many_open_files
from beamtagger.model import keras_archive
from beamtagger.model.tagger_spec import (CONTENT_DIGEST_KEY, MODEL_FILE, REPORT_FILE, SPEC_FILE,
                                          content_digest)

MODEL_FILE_KEY = "model_file"   # in tagger.json: {"sha256", "bytes"} of tagger.keras
_KERAS_MEMBERS = ("config.json", "model.weights.h5")


def check_model_destination(model_dir, overwrite=False):
    """BeamtaggerError unless a model can be saved at ``model_dir`` (before training starts)."""
    atomic_dirs.check_destination(model_dir, overwrite, "a tagger model", SPEC_FILE,
                                  "model directory")


def save_model_dir(model, spec, report, model_dir, overwrite=False):
    from beamtagger.model.tagger_model import Tagger

    model_dir = pathlib.Path(model_dir).expanduser().absolute()
    weights = model.get_weights()
    # A NaN weight makes every output NaN, and arg-max then picks the first label everywhere
    # with no error: such a model must never reach a directory that tag and evaluate read.
    broken = [weight.path for weight, values in zip(model.weights, weights)
              if not np.isfinite(values).all()]
    if broken:
        raise JobFailed(f"the model's weights hold NaN or infinity ({len(broken)} of "
                        f"{len(weights)} arrays, e.g. {broken[0]}); it was not saved to "
                        f"{model_dir}")
    check_model_destination(model_dir, overwrite)
    with atomic_dirs.published(model_dir, "saving", overwrite, "the model", check=lambda:
                               check_model_destination(model_dir, overwrite)) as building:
        clean = Tagger.from_config(model.get_config())
        clean.set_weights(weights)
        clean.save(str(building / MODEL_FILE))
        spec.save(building)
        _record_model_file(building)
        (building / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n",
                                            encoding="utf-8")
        for path in building.iterdir():
            with open(path, "rb") as stream:
                os.fsync(stream.fileno())
    spec.model_dir = model_dir
    return model_dir


def _record_model_file(model_dir):
    spec_path = model_dir / SPEC_FILE
    data = json.loads(spec_path.read_text(encoding="utf-8"))
    data[MODEL_FILE_KEY] = _file_digest(model_dir / MODEL_FILE)
    data[CONTENT_DIGEST_KEY] = content_digest(data)
    spec_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def set_threshold(model_dir, threshold):
    """Makes ``threshold`` the binary tagger's ``decoding.threshold`` in ``model_dir``'s
    ``tagger.json`` (its content digest recomputed, so every reader still finds it whole);
    returns the threshold it replaces. BeamtaggerError for a model that is not binary or a
    threshold out of 0..1.

    Every runtime and every entry point (``tag``, ``evaluate``, ``Tagger``, ``TagText``,
    ``TaggerModelHandler``) reads the threshold from there unless given one of its own
    (``tag --threshold``, ``threshold=``: ``flag_threshold``, which leaves this file alone),
    and a loaded model is cached by ``tagger.json``'s bytes
    (``worker_resources.model_identity``), so the next load of the model flags with the new
    one. The file is replaced atomically: a reader sees the old or the new, never half of it.
    """
    from beamtagger.model.flag_threshold import check_threshold, check_threshold_applies
    from beamtagger.model.tagger_spec import TaggerSpec

    spec = TaggerSpec.load(model_dir)   # refuses a folder that is no model, or an edited one
    # The rules and words tag --threshold and the library's threshold= refuse by too.
    check_threshold_applies(spec, str(model_dir))
    threshold = check_threshold(threshold)
    spec_path = pathlib.Path(model_dir).expanduser() / SPEC_FILE
    data = json.loads(spec_path.read_text(encoding="utf-8"))
    previous = data["decoding"].get("threshold", 0.5)
    data["decoding"]["threshold"] = threshold   # a float, "-0" made 0 (check_threshold)
    data[CONTENT_DIGEST_KEY] = content_digest(data)
    temporary = spec_path.with_name(f".{SPEC_FILE}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(data, indent=2) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        # The new file got this process's umask: a tagger.json shared with a group (0664) or
        # kept private (0600) would have lost its permissions.
        shutil.copymode(spec_path, temporary)
        os.replace(temporary, spec_path)
    except OSError as error:
        # On a read-only file system unlinking even a missing file fails (EROFS): that error
        # replaced the one to report, a traceback naming the temporary file.
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise too_many_open_files(error, spec_path) or BeamtaggerError(
            f"cannot write {spec_path}: {error.strerror or error}") from None
    return previous


def _file_digest(path):
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "bytes": size}


def check_model_file(spec):
    """BeamtaggerError unless ``tagger.keras`` is whole and is the model ``tagger.json`` describes.

    Without TensorFlow (milliseconds for the bundled model): the archive's members and their
    CRCs, the saved layer configuration against ``model_config`` and the label, featurizer and
    vector sizes, and, for models saved with the digest, the file's SHA-256.
    """
    path = spec.model_path
    fix = "train it again or copy the model directory again"
    try:
        with zipfile.ZipFile(path) as archive:
            # Before testzip and the config's read: a bomb member took 2 GB from 1 MB here.
            keras_archive.check_members(archive)
            missing = [name for name in _KERAS_MEMBERS if name not in archive.namelist()]
            damaged = None if missing else archive.testzip()
            config = None if missing else json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise too_many_open_files(error, path) or not_readable(error, path) or BeamtaggerError(
            f"{path} is damaged, not a complete Keras model file ({error}); {fix}") from None
    if missing or damaged:
        problem = (f"{', '.join(missing)} missing" if missing
                   else f"{damaged} fails its CRC check")
        raise BeamtaggerError(f"{path} is damaged ({problem}); {fix}")
    saved = config.get("config", {}) if isinstance(config, dict) else {}
    saved = saved if isinstance(saved, dict) else {}
    for key, value in sorted(spec.model_config.items()):
        if key != "name" and key in saved and saved[key] != value:
            raise BeamtaggerError(
                f"{path} does not belong to the {SPEC_FILE} beside it: {key} is {saved[key]!r} in "
                f"the model file and {value!r} in {SPEC_FILE} (files from two different models?)")
    # model_config is a copy the two files share; what tagging reads from tagger.json is the
    # labels, head, featurizer and binding, so an edit to those (a label removed shifts every
    # label after it) must be caught against the model file's own config.
    for key, value, source in _implied_by_spec(spec, saved):
        if key in saved and saved[key] != value:
            raise BeamtaggerError(
                f"{path} does not belong to the {SPEC_FILE} beside it: {key} is {saved[key]!r} in "
                f"the model file, but {SPEC_FILE} needs {value!r} for its {source} (an edited "
                f"{SPEC_FILE}, or files from two different models?)")
    recorded = _spec_json(spec).get(MODEL_FILE_KEY)
    if isinstance(recorded, dict) and recorded.get("sha256"):
        actual = _file_digest(path)
        if actual["sha256"] != recorded["sha256"]:
            raise BeamtaggerError(
                f"{path} is not the model file saved with the {SPEC_FILE} beside it (SHA-256 "
                f"{actual['sha256'][:12]}..., {SPEC_FILE} records {recorded['sha256'][:12]}...); "
                f"{fix}")


def digests_not_recorded(spec_data):
    """The digests ``spec_data`` (a ``tagger.json``, parsed) lacks, by their names there:
    models saved before 2026-12-01 have neither ``model_file`` nor ``content_sha256``, those
    saved before 2026-12-06 no ``content_sha256``. Such a model is read as it is
    (``check_model_file`` and ``TaggerSpec.load`` pass it), so what the digests catch (another
    training's model file of the same shape, two labels of ``tagger.json`` swapped) goes
    unseen there: ``model info`` says so, as ``embeddings info`` does of an old store."""
    recorded = spec_data.get(MODEL_FILE_KEY)
    missing = [] if isinstance(recorded, dict) and recorded.get("sha256") else [MODEL_FILE_KEY]
    return missing + ([] if spec_data.get(CONTENT_DIGEST_KEY) else [CONTENT_DIGEST_KEY])


def check_model_file_size(model_path, size, spec_data):
    """BeamtaggerError unless ``size``, the bytes a listing gives for ``model_path``, is what
    ``spec_data`` (the ``tagger.json`` beside it, parsed) records: the check of a remote model
    file that reads no byte of it. Models saved before the record pass."""
    recorded = spec_data.get(MODEL_FILE_KEY)
    expected = recorded.get("bytes") if isinstance(recorded, dict) else None
    if isinstance(expected, int) and expected != size:
        raise BeamtaggerError(
            f"{model_path} is not the model file saved with the {SPEC_FILE} beside it ({size:,} "
            f"bytes, {SPEC_FILE} records {expected:,}); train it again or copy the model "
            "directory again")


def _implied_by_spec(spec, saved):
    """(model config key, the value ``spec`` needs there, what in the spec says so)."""
    featurizer = spec.featurizer
    implied = [
        ("head", spec.head, "head"),
        ("num_outputs", 1 if spec.head == "sigmoid" else len(spec.labels),
         f"{len(spec.labels)} labels ({spec.head} head)"),
        ("dim", spec.binding["dim"], "binding's vector dimension"),
        ("num_extra_rows", featurizer.num_extra_rows, "featurizer's special tokens and "
         "oov_buckets"),
        ("feature_sizes", list(featurizer.feature_sizes), "featurizer's feature_columns"),
    ]
    if saved.get("char_filters") and saved.get("char_vocab_size"):
        implied.append(("char_vocab_size", featurizer.char_vocab_size,
                        "featurizer's char_vocab"))
    return implied


def _spec_json(spec):
    try:
        return json.loads((spec.model_dir / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def keras_file_arrays(path):
    """{weight path in the .keras zip: shape} for every array it stores (to audit what it holds)."""
    import h5py

    arrays = {}
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as tmp:
        weights = archive.extract("model.weights.h5", tmp)
        with h5py.File(weights, "r") as h5:
            h5.visititems(lambda name, item: arrays.__setitem__(name, item.shape)
                          if isinstance(item, h5py.Dataset) else None)
    return arrays
