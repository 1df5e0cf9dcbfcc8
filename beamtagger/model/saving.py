"""Writing a model directory: ``tagger.keras`` + ``tagger.json`` + ``training_report.json``.

A ``.keras`` file saved from a compiled, trained model always carries the optimizer state
(for Adam two slots per weight: 3x the size of the weights). The saved model is rebuilt from its
config and given the trained weights first, so it holds the weights and nothing else; it never
holds an embedding table either, the vectors stay in the store.
"""
import json
import pathlib
import tempfile
import zipfile

from beamtagger.model.tagger_spec import MODEL_FILE, REPORT_FILE


def save_model_dir(model, spec, report, model_dir):
    from beamtagger.model.tagger_model import Tagger

    model_dir = pathlib.Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    clean = Tagger.from_config(model.get_config())
    clean.set_weights(model.get_weights())
    clean.save(str(model_dir / MODEL_FILE))
    spec.save(model_dir)
    (model_dir / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return model_dir


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
