"""A tagger.keras from someone else: every runtime refuses in one line what would run code it
names, read files outside it, or take far more memory than its bytes (model/keras_archive.py).

Each artifact is the bundled model's file with one hostile edit, built here from a few bytes;
the digests in tagger.json are no defence (whoever wrote the file writes them too), so the
loaders are called on the file itself."""
import io
import json
import zipfile

import h5py
import numpy as np
import pytest

from beamtagger.errors import BeamtaggerError
from beamtagger.model.inference import load_keras_model
from beamtagger.model.numpy_inference import read_keras_weights
from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR, MODEL_FILE

BUNDLED = DEFAULT_MODEL_DIR / MODEL_FILE


def _members():
    with zipfile.ZipFile(BUNDLED) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path, members, deflated=()):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED
                             if name in deflated else zipfile.ZIP_STORED)
    return path


def _with_config(edit):
    members = _members()
    saved = json.loads(members["config.json"])
    edit(saved)
    members["config.json"] = json.dumps(saved).encode()
    return members


def _with_weights(edit):
    members = _members()
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "a") as store:
        edit(store)
    members["model.weights.h5"] = buffer.getvalue()
    return members


def _os_system(saved):
    saved.update(module="os", class_name="system", registered_name="os>system")


def _lambda_setting(saved):
    saved["config"]["dropout"] = {"module": "keras.layers", "class_name": "Lambda",
                                  "config": {"function": {"class_name": "__lambda__"}}}


def _larger_than_its_weights(saved):
    saved["config"]["units"] = 6000   # Keras built 1.7 GB of LSTM kernels before loading


def _external_storage(secret):
    def edit(store):
        store.create_dataset("leak", shape=(4,), dtype="float32", external=[(secret, 0, 16)])
    return edit


def _external_link(secret):
    def edit(store):
        store["leak"] = h5py.ExternalLink(secret, "/")
    return edit


def _compressed(store):
    store.create_dataset("junk", data=np.zeros(1 << 16, np.float32), compression="gzip")


def _never_written(store):
    store.create_dataset("junk", shape=(1 << 28,), dtype="float32", chunks=(1 << 16,))


def _strings(store):
    store["junk"] = np.zeros(4, "S4")


def _hostile_archives(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"root:x:0:0:root:")
    members = _members()
    config_bomb = members["config.json"][:-1] + b" " * (17 << 20) + b"}"
    weights_bomb = members["model.weights.h5"] + bytes(40 << 20)
    return {
        "class from a module": (_with_config(_os_system), (), "describes 'os>system'"),
        "object in its settings": (_with_config(_lambda_setting), (), "not numbers, strings"),
        "sizes beyond its weights": (_with_config(_larger_than_its_weights), (),
                                     "has shape .* the config implies"),
        "path outside the archive": ({**members, "../../outside": b"x"}, (),
                                     "'../../outside', which a tagger model never has"),
        "config.json bomb": ({**members, "config.json": config_bomb}, ("config.json",),
                             "config.json inflates to"),
        "weights bomb": ({**members, "model.weights.h5": weights_bomb}, ("model.weights.h5",),
                         "model.weights.h5 inflates to"),
        "external storage": (_with_weights(_external_storage(str(secret))), (),
                             "leak reads its values from another file"),
        "external link": (_with_weights(_external_link(str(secret))), (),
                          "leak is a link to elsewhere"),
        "compressed weight": (_with_weights(_compressed), (), "junk is compressed"),
        "weight not in the file": (_with_weights(_never_written), (),
                                   r"junk of shape \(268435456,\) is not stored"),
        "strings": (_with_weights(_strings), (), r"junk holds \|S4, not numbers"),
    }


def test_the_bundled_model_passes_every_check():
    config, weights = read_keras_weights(BUNDLED)
    assert config["units"] == 128 and weights["head"][0].shape == (256, 17)


def test_every_runtime_refuses_a_hostile_model_file_in_one_line(tmp_path):
    for case, (members, deflated, message) in _hostile_archives(tmp_path).items():
        path = _write(tmp_path / f"{case}.keras", members, deflated)
        with pytest.raises(BeamtaggerError, match=f"for the NumPy runtime: .*{message}"):
            read_keras_weights(path)   # the JAX runtime's reader too
        # TensorFlow's loader refuses before Keras is handed the file.
        with pytest.raises(BeamtaggerError, match=f"cannot load tagger model .*{message}"):
            load_keras_model(path)


def test_the_model_check_of_tag_and_evaluate_refuses_a_bomb_before_reading_it(tmp_path):
    from beamtagger.model.saving import check_model_file
    from beamtagger.model.tagger_spec import TaggerSpec

    members = _members()
    members["config.json"] = members["config.json"][:-1] + b" " * (17 << 20) + b"}"
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "tagger.json").write_bytes((DEFAULT_MODEL_DIR / "tagger.json").read_bytes())
    _write(model_dir / MODEL_FILE, members, ("config.json",))
    with pytest.raises(BeamtaggerError, match="is damaged.*config.json inflates to 17,8"):
        check_model_file(TaggerSpec.load(model_dir))
