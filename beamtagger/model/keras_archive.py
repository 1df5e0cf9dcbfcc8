"""Opening ``tagger.keras`` as a file from someone else: what every runtime reads of it, checked
before anything is allocated or imported for it (docs/design.md, "Trust").

A model folder is shared (a colleague's bucket, a download), and its ``tagger.keras`` decides
what the loaders do. Each finding below was an artifact built in an audit (2026-12-06), and each
check refuses one in one line:

- members beyond Keras' three: Keras extracts an archive of more than three members to a
  temporary folder, with a per-member bomb limit only (256 MiB each), so a few MB of deflated
  members filled the disk; a beamtagger model has no assets.
- a member that inflates far beyond its stored bytes: Keras refuses those above 4 GiB only, and
  every reader read the member whole, so a 1 MB ``config.json`` of deflated spaces took 2 GB
  of memory in every runtime and a 1.5 MB weights member 3.1 GB (NumPy) and 3.8 GB
  (TensorFlow). Keras stores members uncompressed; a re-zipped model deflates by about 10%.
- a ``config.json`` that is not beamtagger's ``Tagger`` with plain values: Keras 3.15's safe
  mode refused each class-from-a-module, Lambda and ``enable_unsafe_deserialization`` config
  tried, but the NumPy and JAX runtimes loaded a config naming another class, or none.
  Checking the class here keeps that refusal independent of the Keras version's safe mode.
- HDF5 datasets whose values are not in the file: external storage made the NumPy runtime read
  ``/etc/passwd`` into a weight, and a FIFO hung it for good; a virtual dataset reads another
  file; a compressed or never-written dataset of 1 GiB took 1 GiB from 40 KB. A weight
  stored in full in the file costs at most its bytes there, and the config's sizes are held to
  the weights' shapes before Keras allocates a layer of them.
"""
import contextlib
import io
import json
import zipfile

CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.weights.h5"
MEMBERS = ("metadata.json", CONFIG_MEMBER, WEIGHTS_MEMBER)
# A Tagger's config.json is under 1 KB; a CRF head adds its label x label allowed-transition
# matrix (a few hundred KB for hundreds of labels).
MAX_JSON_BYTES = 16 << 20
MAX_INFLATION = 10
_TAGGER_CLASS = {"module": "beamtagger.model.tagger_model", "class_name": "Tagger",
                 "registered_name": "beamtagger>Tagger"}


@contextlib.contextmanager
def opened_weights(path, in_memory=True):
    """(the Tagger's config, {name: h5py Dataset}) of the ``tagger.keras`` at ``path``, every
    dataset stored in full in the file; no value is read. ``in_memory``: copy the weights member
    into memory first (faster to read every weight; bounded by ``MAX_INFLATION``). ValueError,
    OSError, KeyError or zipfile.BadZipFile where it is not such a file."""
    import h5py

    with zipfile.ZipFile(path) as archive:
        check_members(archive)
        config = tagger_config(json.loads(archive.read(CONFIG_MEMBER)))
        with contextlib.ExitStack() as stack:
            source = (io.BytesIO(archive.read(WEIGHTS_MEMBER)) if in_memory
                      else stack.enter_context(archive.open(WEIGHTS_MEMBER)))
            store = stack.enter_context(h5py.File(source, "r"))
            yield config, _stored_datasets(store)


def check_members(archive):
    """ValueError unless ``archive`` (an open ``tagger.keras``) holds only Keras' members, none
    inflating far beyond its stored bytes."""
    for info in archive.infolist():
        if info.filename not in MEMBERS:
            raise ValueError(f"it holds {info.filename[:80]!r}, which a tagger model never has "
                             f"(only {', '.join(MEMBERS)})")
        bound = (MAX_JSON_BYTES if info.filename != WEIGHTS_MEMBER
                 else MAX_INFLATION * info.compress_size + (1 << 20))
        if info.file_size > bound:
            raise ValueError(f"its {info.filename} inflates to {info.file_size:,} bytes from "
                             f"{info.compress_size:,} stored, more than a tagger model's")


def tagger_config(saved):
    """The ``config`` of ``saved`` (``config.json``'s object); ValueError unless it describes
    beamtagger's Tagger with plain values (numbers, strings, lists: no object to deserialize)."""
    if not isinstance(saved, dict) or any(saved.get(key) != value
                                          for key, value in _TAGGER_CLASS.items()):
        named = (saved.get("registered_name") or saved.get("class_name")
                 if isinstance(saved, dict) else None)
        raise ValueError(f"its {CONFIG_MEMBER} describes {str(named or 'no class')[:80]!r}, "
                         f"not {_TAGGER_CLASS['registered_name']}")
    config = saved.get("config")
    if not isinstance(config, dict) or not all(map(_is_plain, config.values())):
        raise ValueError(f"its {CONFIG_MEMBER} gives the Tagger settings that are not numbers, "
                         "strings or lists of them")
    return config


def _is_plain(value):
    if isinstance(value, list):
        return all(map(_is_plain, value))
    return value is None or isinstance(value, (bool, int, float, str))


def _stored_datasets(store):
    import h5py

    # Checked after the walk: h5py turns an exception raised inside its visitor into a
    # SystemError.
    names = []
    store.visit_links(names.append)
    found = {}
    for name in names:
        if not isinstance(store.get(name, getlink=True), h5py.HardLink):
            raise ValueError(f"its weight {name} is a link to elsewhere")
        item = store[name]
        if isinstance(item, h5py.Dataset):
            _check_stored(name, item)
            found[name] = item
    return found


def _check_stored(name, dataset):
    if dataset.external or dataset.is_virtual:
        raise ValueError(f"its weight {name} reads its values from another file")
    if dataset.dtype.kind not in "fiu":
        raise ValueError(f"its weight {name} holds {dataset.dtype}, not numbers")
    if dataset.id.get_create_plist().get_nfilters():
        raise ValueError(f"its weight {name} is compressed, which Keras never does")
    if dataset.id.get_storage_size() < dataset.nbytes:
        raise ValueError(f"its weight {name} of shape {dataset.shape} is not stored in the file")
