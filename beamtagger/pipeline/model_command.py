"""``beamtagger model info``: what a saved tagger is, what it was trained on, which store it
reads its vectors from, and whether its files are whole (``embeddings info`` for models).

A model folder is four small files whose meaning a user otherwise reads from raw JSON:
with twenty models beside one store, "which one tags entities, how good was it, does it read
this store" is the everyday question. Nothing here imports TensorFlow or Keras.

A ``gs://`` model (where Dataflow users keep theirs) is read as ``beamtagger tag`` checks one
before launch (``transforms/remote_paths``), never copied: a listing of its folder and its
small files (``tagger.json``, ``training_report.json``), its model file checked by its listed
size against the one ``tagger.json`` records; what only the model file's bytes tell (its
archive, layers and SHA-256) is said to be unchecked. A ``gs://`` store is read the same way.
"""
import json
import math
import os
import pathlib

from beamtagger.errors import BeamtaggerError, os_error_text
from beamtagger.pipeline.common import human_size
from beamtagger.pipeline.model_argument import model_dir_named

MAX_LABELS_SHOWN = 20
# cli: model info reads gs:// models and stores itself; other URLs it refuses (_url_problem).
READS_REMOTE_PATHS = True


def add_arguments(parser):
    actions = parser.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    info = actions.add_parser(
        "info", help="describe a tagger model",
        description="Print what a tagger model tags (labels, tag column, decoding), its network, "
        "the embedding store it reads its vectors from and whether a store matches it, what it "
        "was trained on and its dev score, and whether its files are whole and belong together "
        "(the checks tag and evaluate make before they start). A gs:// model is read where "
        "it is, as tag checks one before launch: its model file by its listed size, not its "
        "contents. Exit 1 if a check fails.")
    info.add_argument("model", nargs="?", default=None,
                      help="model directory, or a gs:// one, read without copying its model "
                      "file, whose contents are then left unchecked (default, or 'bundled': "
                      "the bundled UPOS tagger; 'bundled-ner': the bundled entity tagger)")
    info.add_argument("--embeddings", metavar="STORE",
                      help="check the model against this store, local or gs:// (default: the "
                      "store it was trained with, where that is still on this machine, else "
                      "the default store, where it has been set up)")
    info.add_argument("--no_auth", action="store_true",
                      help="read gs:// paths without Google Cloud credentials, as tag's "
                      "--no_auth does: a public bucket")
    info.add_argument("--json", action="store_true", help="print the description as JSON")
    threshold = actions.add_parser(
        "set-threshold", help="set the threshold a binary tagger flags tokens at",
        description="Make THRESHOLD the probability of the positive label from which a binary "
        "tagger (train --binary-label) flags a token (0.5 after training), in the model's "
        "tagger.json: tag, evaluate, Tagger, TagText and every runtime use it from then on. "
        "'evaluate --thresholds' shows precision and recall at several. The model folder "
        "stays whole (model info checks it); copy it first to keep both. Refused while a train run "
        "writes the folder: the model it publishes would replace the threshold.")
    threshold.add_argument("model", help="the binary tagger's model directory, on this machine")
    threshold.add_argument("threshold", type=float, metavar="THRESHOLD",
                           help="a number from 0 to 1")


def run(args) -> int:
    return {"info": _run_info, "set-threshold": _run_set_threshold}[args.model_command](args)


def _run_set_threshold(args):
    from beamtagger.model.saving import set_threshold
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR
    from beamtagger.pipeline import output_lock

    # The bundled model is no binary tagger: set_threshold refuses it, naming its folder.
    args.model = str(model_dir_named(args.model, written_as="model set-threshold {} THRESHOLD")
                     or DEFAULT_MODEL_DIR)
    if "://" in args.model:
        raise BeamtaggerError(f"model {args.model}: set-threshold rewrites a model on this "
                              "machine; copy it here, set it, and copy it back")
    # A training writing the folder (train --overwrite) replaces its tagger.json when it ends:
    # the threshold set meanwhile was reported set, and lost.
    busy = (f"model {args.model} is being written by a beamtagger train run; wait until it "
            "ends, then set the threshold of the model it wrote")
    with output_lock.not_held(args.model, "train", busy):
        previous = set_threshold(args.model, args.threshold)
    # Every digit given (":g" kept 6: 0.1234567 read as 0.123457); + 0.0 as set_threshold writes.
    print(f"{args.model}: threshold {previous} -> {args.threshold + 0.0}")
    return 0


def _run_info(args):
    model_dir = (None if args.model is None
                 else model_dir_named(args.model, written_as="model info {}"))
    description = describe_model(model_dir, args.embeddings, anonymous=args.no_auth)
    if args.json:
        print(json.dumps(description, indent=2, ensure_ascii=False))
    else:
        for line in description_lines(description):
            print(line)
    return 0 if description["checks"]["ok"] else 1


def describe_model(model_dir=None, store_path=None, anonymous=False) -> dict:
    """The JSON description ``model info`` prints; BeamtaggerError where ``model_dir`` is not
    a readable model (with a hint where it is something else a user may have meant), or a
    ``gs://`` model or store cannot be read from here (without credentials too where
    ``anonymous``: a public bucket, ``--no_auth``)."""
    from beamtagger.cloud_access import cloud_storage_problem

    problem = (_url_problem("model", model_dir) or _url_problem("--embeddings", store_path)
               or cloud_storage_problem([model_dir, store_path], anonymous=anonymous,
                                        reader="model info reads"))
    if problem:
        raise BeamtaggerError(problem)
    if not (_is_gs(model_dir) or _is_gs(store_path)):
        return _finite_only(_describe_local_model(model_dir, store_path))
    # Beam's file systems read gs://: imported only here, so a local model is described in
    # 0.2 s without Beam.
    from beamtagger.transforms.remote_paths import RemoteUnreadable

    try:
        return _finite_only(_describe_remote_model(str(model_dir), store_path)
                            if _is_gs(model_dir) else _describe_local_model(model_dir, store_path))
    except RemoteUnreadable as error:
        # Its own message is that of a pipeline's check (validate=False).
        raise BeamtaggerError(f"cannot read {error.path}: {error.reason}") from None


def _is_gs(path):
    return path is not None and str(path).startswith("gs://")


def _url_problem(name, path):
    """Why ``path``, the argument ``name``, is a URL model info does not read (any but
    ``gs://``), or None."""
    if path is None or "://" not in str(path) or str(path).startswith("gs://"):
        return None
    way = ("write it as a plain path" if str(path).startswith("file://")
           else "copy it to this machine or to a gs:// bucket first")
    return f"{name} {path}: model info reads gs:// paths and this machine's, no other URLs; {way}"


def _describe_local_model(model_dir, store_path):
    from beamtagger.bundled_models import bundled_task_at
    from beamtagger.model.tagger_spec import (DEFAULT_MODEL_DIR, REPORT_FILE, SPEC_FILE,
                                              TaggerSpec)

    model_dir = pathlib.Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    try:
        _refuse_what_is_not_a_model(model_dir, SPEC_FILE)
        spec = TaggerSpec.load(model_dir)
        report, report_problem = _parsed_report(REPORT_FILE, (model_dir / REPORT_FILE).read_bytes)
        return {
            "model": str(model_dir),
            "bundled": bundled_task_at(model_dir) is not None,
            "files": _file_sizes(model_dir),
            "task": _task(spec),
            "network": _network(spec, report),
            "vectors": dict(spec.binding),
            "store": _store_match(spec, store_path, report),
            "training": _training(report, report_problem),
            "checks": _checks(spec, json.loads((spec.model_dir / SPEC_FILE).read_bytes())),
        }
    except OSError as error:
        # A folder another user's permissions close: exit 2 as any model not readable, where
        # it left as an OSError, whose exit 1 says "a check failed" to a script.
        raise BeamtaggerError(f"cannot read model {model_dir}: {os_error_text(error)}") from None


def _finite_only(value):
    """``value`` with NaN and infinities as None: Python's json reads and writes them (a
    diverged loss, a hand edit of an older tagger.json), no other JSON reader takes them, and
    --json's output is for other programs."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_only(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite_only(item) for item in value]
    return value


def _refuse_what_is_not_a_model(model_dir, spec_file):
    if model_dir.is_file():
        hint = (f"; give its folder, {model_dir.parent}" if model_dir.parent.joinpath(
            spec_file).is_file() else "")
        raise BeamtaggerError(f"{model_dir} is a file, not a model directory{hint}")
    if model_dir.is_dir() and (model_dir / "manifest.json").is_file() and not (
            model_dir / spec_file).exists():
        raise BeamtaggerError(f"{model_dir} is an embedding store, not a model: "
                              f"beamtagger embeddings info {model_dir}")
    if (model_dir / spec_file).exists():
        return
    from beamtagger.model.tagger_spec import state_folder
    if state_folder(model_dir).is_dir():
        raise BeamtaggerError(
            f"{model_dir} was not saved: its training stopped before the end (its state is in "
            f"{state_folder(model_dir)}); run the same train command again to resume it")


def _describe_remote_model(model_dir, store_path):
    """``describe_model`` of a remote model folder (the module docstring says what is read)."""
    from beamtagger.model.saving import check_model_file_size, digests_not_recorded
    from beamtagger.model.tagger_spec import MODEL_FILE, REPORT_FILE, SPEC_FILE, TaggerSpec
    from beamtagger.transforms import remote_paths

    files = _remote_model_files(model_dir)
    if "manifest.json" in files and SPEC_FILE not in files:
        # Not `embeddings info`'s hint: it reads this machine's stores only.
        raise BeamtaggerError(f"{model_dir} is an embedding store, not a model")
    data = remote_paths.model_spec_data(model_dir, files)
    spec = TaggerSpec.from_json(data, files[SPEC_FILE].path)
    report, report_problem = _parsed_report(REPORT_FILE, lambda: _listed_file_bytes(
        files, REPORT_FILE))
    model_file = files[MODEL_FILE]
    try:
        check_model_file_size(model_file.path, model_file.size_in_bytes, data)
        checks = {"ok": True, "problem": None}
    except BeamtaggerError as error:
        checks = {"ok": False, "problem": str(error)}
    return {
        "model": model_dir,
        "bundled": False,
        "files": {name: files[name].size_in_bytes for name in sorted(files)
                  if "/" not in name},
        "task": _task(spec),
        "network": _network(spec, report),
        "vectors": dict(spec.binding),
        "store": _store_match(spec, store_path, report),
        "training": _training(report, report_problem),
        "checks": {**checks, **_not_recorded(digests_not_recorded(data)),
                   "not_checked": REMOTE_NOT_CHECKED},
    }


def _remote_model_files(model_dir):
    """``remote_paths.listed_files`` of the remote ``model_dir``; BeamtaggerError where none
    is there, naming the folder where ``model_dir`` is a file of a model (as a local one)."""
    from apache_beam.io.filesystems import FileSystems

    from beamtagger.model.tagger_spec import SPEC_FILE
    from beamtagger.transforms import remote_paths

    absent = f"model directory {model_dir} does not exist"
    try:
        return remote_paths.listed_files(model_dir, absent)
    except remote_paths.RemoteUnreadable:
        raise
    except BeamtaggerError:
        path = model_dir.rstrip("/")
        if not FileSystems.exists(path):
            raise
    folder = path.rsplit("/", 1)[0]
    hint = f"; give its folder, {folder}" if FileSystems.exists(f"{folder}/{SPEC_FILE}") else ""
    raise BeamtaggerError(f"{path} is a file, not a model directory{hint}")


# What a listing and the small files cannot tell of a remote model: check_model_file's reads.
REMOTE_NOT_CHECKED = ("the model file's contents (its archive, layers and SHA-256), which tag "
                      "checks on its copy before launch")


def _listed_file_bytes(files, name):
    """The bytes of the remote file ``name`` among ``files`` (``listed_files``);
    FileNotFoundError where it is not listed."""
    from beamtagger.transforms.remote_paths import RemoteUnreadable, read_small_file

    if name not in files:
        raise FileNotFoundError(name)
    try:
        return read_small_file(files[name].path)
    except RemoteUnreadable as error:
        # As a local report that cannot be read: said in the description, not refused.
        raise OSError(error.reason) from None


def _parsed_report(name, read):
    """(report dict or None, why it is missing or unreadable or None) of the report file
    ``name`` whose bytes ``read()`` returns."""
    try:
        report = json.loads(read())
    except FileNotFoundError:
        return None, f"no {name} (a model saved without one)"
    except (OSError, ValueError) as error:
        return None, f"{name} is unreadable ({error})"
    if not isinstance(report, dict):
        return None, f"{name} is not a JSON object"
    return report, None


def _file_sizes(model_dir):
    return {entry.name: entry.stat().st_size
            for entry in sorted(os.scandir(model_dir), key=lambda entry: entry.name)
            if entry.is_file()}


def _task(spec):
    task = {"labels": list(spec.labels), "tag_column": spec.tag_column, "head": spec.head,
            "decoding": _decoding(spec)}
    if spec.head == "sigmoid":
        task["threshold"] = spec.decoding.get("threshold", 0.5)
    if spec.binary_labels is not None:
        task["binary_labels"] = spec.binary_labels.to_json()
    if spec.is_bio:
        task["entity_types"] = sorted({label[2:] for label in spec.labels if label != "O"})
    return task


def _decoding(spec):
    if spec.head == "crf":
        return "crf"
    if spec.decoding.get("viterbi"):
        return "bio-viterbi"
    if spec.head == "sigmoid":
        return "threshold"
    return "argmax"


DECODING_TEXT = {"crf": "CRF (Viterbi over its learned transitions)",
                 "bio-viterbi": "constrained Viterbi (valid BIO sequences only)",
                 "threshold": "a threshold on the positive label's probability",
                 "argmax": "arg-max"}


def _network(spec, report):
    config = spec.model_config
    featurizer = spec.featurizer
    network = {"lstm_layers": config.get("layers"), "lstm_units": config.get("units"),
               "projection": config.get("projection") or 0,
               "feature_tables": [name for name, _ in featurizer.feature_columns],
               "char_cnn": None, "parameters": None}
    if featurizer.max_chars and config.get("char_filters"):
        network["char_cnn"] = {"filters": config.get("char_filters"),
                               "width": config.get("char_kernel"),
                               "char_dim": config.get("char_dim"),
                               "max_chars": featurizer.max_chars}
    if report is not None:
        network["parameters"] = _count(report.get("parameters"))
    return network


def _store_match(spec, store_path, report):
    """Which store the model was checked against and whether it reads vectors from it. Only a
    store already on this machine is opened: the default one is never imported here."""
    from beamtagger.embeddings.store import EmbeddingStore
    trained_with = None
    if report is not None and isinstance(report.get("store"), dict):
        trained_with = report["store"].get("path")
    if store_path is not None:
        candidates = [("given", store_path)]
    else:
        candidates = [("trained with", trained_with), ("default", _default_store_path())]
    for role, path in candidates:
        if path is None or (role != "given" and not os.path.isdir(path)):
            continue
        result = {"path": str(path), "role": role, "trained_with": trained_with}
        try:
            store = _remote_store(path) if _is_gs(path) else EmbeddingStore.open(path)
        except BeamtaggerError as error:
            if role == "given":
                raise
            # A damaged store found on its own says nothing of the model: shown, not failed.
            return {**result, "matches": None, "problem": f"{path} cannot be opened: {error}"}
        try:
            spec.check_store(store)
        except BeamtaggerError as error:
            return {**result, "matches": False, "problem": str(error)}
        return {**result, "matches": True, "problem": None}
    return {"path": None, "role": None, "trained_with": trained_with, "matches": None,
            "problem": "no store to check against on this machine (pass --embeddings STORE)"}


def _default_store_path():
    """Where the default store would be, None where this process has no home directory to find
    it in (HOME unset, a user id the password database does not know): only looked for here,
    and its path's refusal refused every ``model info`` of such a process."""
    from beamtagger.embeddings.default import default_store_path

    try:
        return str(default_store_path())
    except BeamtaggerError:
        return None


def _remote_store(path):
    from beamtagger.transforms.remote_paths import store_summary

    return store_summary(path)


def _training(report, report_problem):
    if report is None:
        return {"problem": report_problem}
    training = {key: report.get(key) for key in ("train", "dev", "best_epoch", "best_dev",
                                                 "seconds")}
    epochs = report.get("epochs")
    training["epochs_run"] = len(epochs) if isinstance(epochs, list) else None
    config = report.get("config") if isinstance(report.get("config"), dict) else {}
    training["max_epochs"] = config.get("epochs")
    training["seed"] = config.get("seed")
    refit = report.get("refit")
    if isinstance(refit, dict):
        training["refit"] = {"epochs": refit.get("epochs"), "train": refit.get("train")}
    # train --init-from: the model the training started from (its name and digests)
    init_from = report.get("init_from")
    training["init_from"] = init_from if isinstance(init_from, dict) else None
    # ... its dev score before epoch 1, and whether no epoch beat it (its weights kept)
    start = report.get("starting_model")
    training["starting_model"] = start if isinstance(start, dict) else None
    # train's warning of a model no better than a trivial tagger on dev (trivial_baseline)
    warning = report.get("warning")
    training["warning"] = warning if isinstance(warning, str) else None
    training["problem"] = None
    return training


def _checks(spec, spec_data):
    """``check_model_file``'s verdict: what tag and evaluate refuse before they start, and
    the digests an older beamtagger did not record (``_not_recorded``)."""
    from beamtagger.model.saving import check_model_file, digests_not_recorded
    try:
        check_model_file(spec)
    except BeamtaggerError as error:
        return {"ok": False, "problem": str(error)}
    return {"ok": True, "problem": None, **_not_recorded(digests_not_recorded(spec_data))}


# What each digest that a model saved before it lacks would have caught: without them the
# checks line claimed a model file of 2026-11-24 "belongs to its tagger.json", which another
# training's file of the same shape passes as well.
NOT_RECORDED = {
    "model_file": "the model file's SHA-256 and size (saved before 2026-12-01: another "
                  "training's model file of the same shape would pass)",
    "content_sha256": "tagger.json's own SHA-256 (saved before 2026-12-06: an edit that keeps "
                      "its shape, two labels swapped, would pass)",
}


def _not_recorded(names):
    """``checks.not_recorded`` (``--json``: the tagger.json names), present only where a
    digest is missing, as ``checks.not_checked`` is for a gs:// model only."""
    return {"not_recorded": names} if names else {}


def _checks_text(checks, remote):
    missing = checks.get("not_recorded", [])
    if remote:
        size = ("nothing recorded to compare the model file's size with"
                if "model_file" in missing else "the model file has the size its tagger.json "
                "records")
        text = f"{size}; not checked without a copy: {checks['not_checked']}"
    else:
        text = ("the model file is whole and belongs to its tagger.json" if not missing else
                "the model file is whole and its layers fit its tagger.json")
    if missing:
        text += ("; not recorded when it was saved, so not checked: "
                 + "; ".join(NOT_RECORDED[name] for name in missing)
                 + "; a model trained again records them")
    return text


def _bundled_note(description):
    """What ``model info`` adds after a bundled model's folder: which of the two it is, told
    by the folder itself (a link named ``mine`` to the entity model is the entity model)."""
    from beamtagger.bundled_models import bundled_task_at

    if not description["bundled"]:
        return ""
    if bundled_task_at(description["model"]) == "ner":
        return "  (the bundled entity model, bundled-ner)"
    return "  (the bundled model)"


def description_lines(description):
    """``describe_model``'s description as ``model info`` prints it."""
    files = description["files"]
    task = description["task"]
    network = description["network"]
    vectors = description["vectors"]
    remote = "not_checked" in description["checks"]
    lines = [
        _line("model", description["model"] + _bundled_note(description)),
        _line("size listed" if remote else "size on disk", f"{human_size(sum(files.values()))} ("
              + ", ".join(f"{name} {human_size(size)}" for name, size in files.items()) + ")"),
        _line("labels", _labels_text(task)),
        _line("decoding", f"{task['head']} head, {DECODING_TEXT[task['decoding']]}"
              + (f" ({task['threshold']})" if "threshold" in task else "")),
        _line("network", _network_text(network)),
        _line("vectors", f"{vectors['dim']}-d, normalization "
              f"{','.join(vectors['normalization'])}, store fingerprint "
              f"{vectors['fingerprint'][:12]}..."),
        _line("store", _store_text(description["store"])),
    ]
    lines.extend(_training_lines(description["training"], task.get("threshold")))
    checks = description["checks"]
    if not checks["ok"]:
        lines.append(_line("checks", f"FAILED: {checks['problem']}"))
    else:
        lines.append(_line("checks", _checks_text(checks, remote)))
    return lines


def _line(name, value):
    return f"{name + ':':<14} {value}"


def _labels_text(task):
    labels = [_shown_label(label) for label in task["labels"]]
    shown = " ".join(labels[:MAX_LABELS_SHOWN]) + (
        f" ... ({len(labels) - MAX_LABELS_SHOWN} more)" if len(labels) > MAX_LABELS_SHOWN
        else "")
    column = f", tag column {task['tag_column']}" if task.get("tag_column") else ""
    if "entity_types" in task:
        return (f"{len(labels)} BIO labels{column}, {len(task['entity_types'])} entity types: "
                + ", ".join(map(_shown_label, task["entity_types"])))
    if "binary_labels" in task:
        binary = task["binary_labels"]
        return (f"{binary['positive']} / {binary['negative']}{column}: {binary['positive']} "
                f"for tags matching {' '.join(binary['patterns'])}")
    return f"{len(labels)} labels{column}: {shown}"


def _shown_label(label):
    # A CoNLL-U tag may hold a space or a terminal's escape: quoted, a label list reads as one
    # and the terminal is left alone.
    return label if label.isprintable() and " " not in label else repr(label)


def _network_text(network):
    parts = []
    if network["char_cnn"]:
        cnn = network["char_cnn"]
        parts.append(f"char CNN ({cnn['filters']} filters of width {cnn['width']}, "
                     f"{cnn['max_chars']} characters a token)")
    if network["feature_tables"]:
        parts.append(f"{len(network['feature_tables'])} feature tables "
                     f"({', '.join(network['feature_tables'])})")
    if network["projection"]:
        parts.append(f"projection to {network['projection']}")
    parts.append(f"BiLSTM {network['lstm_layers']} x {network['lstm_units']}")
    if network["parameters"] is not None:
        parts.append(f"{network['parameters']:,} parameters")
    return ", ".join(parts)


def _store_text(store):
    if store["matches"] is None:
        text = store["problem"] + (f" ({_store_role(store)})" if store["role"] else "")
    elif store["matches"]:
        text = f"{store['path']} matches ({_store_role(store)})"
    else:
        text = f"{store['path']} ({_store_role(store)}) does NOT match: {store['problem']}"
    if store["trained_with"] and store["trained_with"] != store["path"]:
        text += f"; trained with {store['trained_with']}"
    return text


def _store_role(store):
    return {"given": "--embeddings", "trained with": "the store it was trained with",
            "default": "the default store"}[store["role"]]


def _training_lines(training, threshold=None):
    if training.get("problem"):
        return [_line("trained on", training["problem"])]
    lines = []
    train, dev = _corpus_size_text(training.get("train")), _corpus_size_text(training.get("dev"))
    if train is None:
        lines.append(_line("trained on", "not recorded in training_report.json"))
    else:
        lines.append(_line("trained on", train + (f"; dev {dev}" if dev else "")))
    best = training.get("best_dev")
    if training.get("best_epoch") and isinstance(best, dict) and best:
        (metric, value), = list(best.items())[:1]
        epochs = (f" of {training['epochs_run']} run" if training.get("epochs_run") else "")
        score = (f"{100 * value:.2f}%" if isinstance(value, (int, float))
                 and not isinstance(value, bool) else "not recorded")
        # Training scores a flag tagger at 0.5; after set-threshold the model flags elsewhere.
        at = (f" (at threshold 0.5; the model flags at {threshold} since)"
              if threshold is not None and threshold != 0.5 else "")
        lines.append(_line("best epoch", f"{training['best_epoch']}{epochs}: "
                           f"{metric.replace('_', ' ')} {score}{at}"))
    if training.get("init_from"):
        lines.append(_line("started from", _init_from_text(training["init_from"])))
    start = training.get("starting_model")
    if start:
        lines.append(_line("its dev score", _start_text(start, training.get("epochs_run"))))
    refit = training.get("refit")
    if refit:
        epochs = _count(refit.get("epochs"))
        lines.append(_line("refit", "then trained again on train + dev"
                           + (f" for {epochs} epoch(s)" if epochs is not None else "")
                           + ": the dev score above is the first model's"))
    if isinstance(training.get("seconds"), (int, float)):
        minutes, seconds = divmod(int(round(training["seconds"])), 60)
        lines.append(_line("training took", f"{minutes} min {seconds} s"
                           + (f" (seed {training['seed']})" if training.get("seed") is not None
                              else "")))
    if training.get("warning"):
        lines.append(_line("warning", training["warning"]))
    return lines


def _start_text(start, epochs_run):
    """The starting model's dev score before epoch 1, and where no epoch beat it, that the
    weights are its: "best epoch" is then 0, which the line above leaves out."""
    scores = [(key[len("dev_"):], value) for key, value in start.items()
              if key.startswith("dev_") and key != "dev_accuracy"
              and isinstance(value, (int, float)) and not isinstance(value, bool)]
    scores = scores or [("accuracy", start.get("dev_accuracy"))]
    metric, value = scores[0]
    score = (f"{metric.replace('_', ' ')} {100 * value:.2f}% before training"
             if isinstance(value, (int, float)) else "not recorded")
    if start.get("kept"):
        run = f" of {epochs_run}" if epochs_run else ""
        return f"{score}; no epoch{run} beat it, so this model has its weights"
    return score


def _init_from_text(init_from):
    """The ``started from`` line: the model ``train --init-from`` named, and the digests that
    tell it from a model trained again into the same folder since."""
    model = init_from.get("model")
    path = init_from.get("path")
    where = f" ({path})" if isinstance(path, str) and path != model else ""
    digests = [f"{name} SHA-256 {value[:12]}..." for name, value in (
        ("tagger.json", init_from.get("tagger_json_sha256")),
        ("model file", init_from.get("model_file_sha256"))) if isinstance(value, str)]
    return (f"{model if isinstance(model, str) else 'not recorded'}{where}"
            + (f"; its {', '.join(digests)}" if digests else ""))


def _corpus_size_text(part):
    """"1,234 sentences, 5,678 tokens", or None where the report holds no such counts."""
    if not isinstance(part, dict):
        return None
    sentences, tokens = _count(part.get("sentences")), _count(part.get("tokens"))
    if sentences is None or tokens is None:
        return None
    return f"{sentences:,} sentences, {tokens:,} tokens"


def _count(value):
    """``value`` where training_report.json holds a count there (a hand edit or another tool
    may not), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None

