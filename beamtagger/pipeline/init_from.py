"""``train --init-from MODEL``: the saved model a fine-tune starts from, read and checked before
any epoch (Keras' ``load_model`` then ``fit``, spaCy's ``[initialize]`` from a base model).

What the model fixes is taken from it, not from the flags: its network (LSTM units and layers,
projection, character CNN, feature tables, OOV rows, head and decoding), its labels and its
store binding. A flag given against one of them is refused in one line naming both values,
rather than one of them silently winning: a ``--units 64`` meant for a new model would
otherwise train the model's 128 units with no word said. Everything that only steers training
(learning rate, dropout, patience, epochs, seed, word drop, adversarial training) is the run's.

Its labels are kept: a training corpus with tags the model has no label for is refused, as the
model has no output for them (a new label is a new output layer; train a new model for it).
"""
import dataclasses
import os
import pathlib

from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline.model_argument import is_bundled, model_dir_named

_LABELS_SHOWN = 5


@dataclasses.dataclass
class InitFrom:
    """The model ``--init-from`` named (``given``), checked: its spec and ``record``, what the
    new model's report keeps of it. ``training.StartingModel`` adds its weights."""
    given: str
    spec: object
    record: dict

    @property
    def folder(self):
        return self.spec.model_dir


def starting_folder(given):
    """The folder ``given`` (``--init-from``) names: a bundled model's for 'bundled' and
    'bundled-ner', else the path given, by the rule every model argument follows
    (``model_argument``)."""
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR

    model_dir = model_dir_named(given, written_as="--init-from {}")
    return DEFAULT_MODEL_DIR if model_dir is None else pathlib.Path(model_dir).expanduser()


def open_starting_model(given, out):
    """The ``InitFrom`` ``given`` names (a model folder, 'bundled' or 'bundled-ner');
    BeamtaggerError for a folder that is no readable model of this beamtagger's format, a
    damaged model file, or the folder ``out`` itself. Needs no TensorFlow: the weights are read later
    (``load_weights``)."""
    from beamtagger.model.saving import check_model_file
    from beamtagger.model.tagger_spec import (SPEC_FILE, TaggerSpec, content_digest,
                                              parse_spec_json, state_folder)

    bundled = is_bundled(given)
    folder = starting_folder(given)
    check_not_out(given, out)
    if not bundled and not (folder / SPEC_FILE).exists() and state_folder(folder).is_dir():
        raise BeamtaggerError(
            f"--init-from {given}: that model was not saved, its training stopped before the "
            f"end (its state is in {state_folder(folder)}); finish it first (run the same "
            "train command again)")
    try:
        spec = TaggerSpec.load(folder)
        check_model_file(spec)
        data = parse_spec_json((folder / SPEC_FILE).read_bytes(), folder / SPEC_FILE)
    except BeamtaggerError as error:
        raise BeamtaggerError(f"--init-from {given}: {error}") from None
    except OSError as error:
        raise BeamtaggerError(f"--init-from {given}: cannot read it: "
                              f"{error.strerror or error}") from None
    record = {"model": str(given),
              "path": str(folder.absolute()),
              # Recorded where a model is saved since 2026-12-06; computed alike for an older one.
              "tagger_json_sha256": data.get("content_sha256") or content_digest(data),
              "model_file_sha256": _sha256(spec.model_path),
              "labels": len(spec.labels)}
    return InitFrom(given, spec, record)


def check_not_out(given, out):
    """BeamtaggerError where ``given`` (``--init-from``) is the folder ``out`` names: before
    ``--out``'s own checks, whose "exists: add --overwrite" would lead there. (A URL the
    command line refuses for every train option: ``cli._remote_path_argument``.) 'bundled'
    too (``starting_folder``): --out naming the bundled model's folder, with --overwrite,
    replaced it with the fine-tune while its weights were being read."""
    folder = starting_folder(given)
    if _same_folder(folder, out):
        raise BeamtaggerError(
            f"--init-from {given} is --out: the fine-tuned model would replace the one it "
            "starts from while it is read; write it to another --out (and move it after, "
            "if it is to take that one's place)")


def busy_text(given):
    """``output_lock.not_held``'s refusal of a model a ``train`` run is writing."""
    return (f"--init-from {given}: a beamtagger train run is writing that model; wait until "
            "it ends, then start from the model it wrote")


def _same_folder(folder, out):
    try:
        return os.path.samefile(folder, out)
    except OSError:   # --out not there yet (the usual case), or the model not there
        return os.path.abspath(folder) == os.path.abspath(pathlib.Path(out).expanduser())


def _sha256(path):
    # hashlib imported here: it loads OpenSSL (9 ms of CPU, 17 ms of wall), and every
    # command's parser, `--help` included, imports this module (BENCHMARKS.md).
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def network_options(spec):
    """{train option's dest: the value the model ``spec`` describes was built with}."""
    config, featurizer = spec.model_config, spec.featurizer
    columns = dict(featurizer.feature_columns)
    has_cnn = bool(featurizer.max_chars and config.get("char_filters"))
    options = {
        "units": config["units"], "layers": config["layers"],
        "projection": config.get("projection") or 0,
        "oov_buckets": featurizer.oov_buckets,
        "char_filters": config.get("char_filters", 0) if has_cnn else 0,
        "char_kernel": config.get("char_kernel", 3),
        "char_dim": config.get("char_dim", 0) if has_cnn else 0,
        "max_chars": featurizer.max_chars,
        "form_buckets": columns.get("form", 0),
        "crf": spec.head == "crf",
        "binary_label": list(spec.binary_labels.patterns) if spec.binary_labels else None,
    }
    if spec.is_bio and spec.head == "softmax":
        # Elsewhere --no-viterbi changes nothing, with or without --init-from.
        options["no_viterbi"] = not spec.decoding.get("viterbi")
    return options


def _option_text(dest, value):
    if dest == "crf":
        return "--crf" if value else "--no-crf"
    if dest == "no_viterbi":
        return "--no-viterbi" if value else "Viterbi decoding"
    if dest == "binary_label":
        return ("--binary-label " + " ".join(value)) if value else "no --binary-label"
    return f"--{dest.replace('_', '-')} {value}"


def take_network_options(args, starting):
    """Set ``args``' network options to the model's; BeamtaggerError naming the first one
    given with another value. A flag is given where it is not None (``NETWORK_DEFAULTS``:
    the parser leaves them unset), or True for ``--no-viterbi``."""
    for dest, value in network_options(starting.spec).items():
        given = getattr(args, dest)
        unset = given is None or (dest == "no_viterbi" and not given)
        if not unset and given != value:
            raise BeamtaggerError(
                f"{_option_text(dest, given)} conflicts with --init-from {starting.given}, "
                f"whose network has {_option_text(dest, value)}: a fine-tune keeps its "
                f"starting model's network; leave {_option_text(dest, given).split()[0]} out, or "
                "train a new model without --init-from")
        setattr(args, dest, value)


def check_training_tags(starting, sentences, paths):
    """BeamtaggerError where the training corpus holds tags the model has no label for, naming
    a few and the count. ``sentences`` are read (and mapped by a flag tagger's patterns)."""
    labels = set(starting.spec.labels)
    counts = {}
    for sentence in sentences:
        for tag in sentence.tags:
            if tag not in labels:
                counts[tag] = counts.get(tag, 0) + 1
    if not counts:
        return
    shown = sorted(counts, key=lambda tag: (-counts[tag], tag))[:_LABELS_SHOWN]
    more = f" and {len(counts) - _LABELS_SHOWN} more" if len(counts) > _LABELS_SHOWN else ""
    tokens = sum(counts.values())
    raise BeamtaggerError(
        f"training corpus {', '.join(paths)}: {len(counts)} of its tags "
        f"({', '.join(f'{tag!r} x{counts[tag]}' for tag in shown)}{more}; {tokens:,} tokens) "
        f"are not labels of --init-from {starting.given}, whose {len(labels)} labels a "
        "fine-tune keeps: another --tag-column? To add a label, train a new model without "
        "--init-from on a corpus holding every label")


def load_weights(starting):
    """The model's weights, as ``keras.Model.get_weights`` lists them (TensorFlow imported)."""
    from beamtagger.model.inference import load_keras_model

    try:
        return load_keras_model(starting.spec.model_path).get_weights()
    except BeamtaggerError as error:
        raise BeamtaggerError(f"--init-from {starting.given}: {error}") from None
