"""What a saved tagger is, without TensorFlow: labels, head, featurizer, decoding and the binding
to the embedding store whose vectors it was trained on (``tagger.json`` in the model directory).

The Beam CPU stages (featurize, look up, decode) only need this; the stage that runs the network
loads ``inference.TaggerRunner``.
"""
import collections
import dataclasses
import fnmatch
import hashlib
import io
import json
import os
import pathlib

import numpy as np

from beamtagger.bundled_models import BUNDLED_MODELS, COMMAND_LINE_NAMES, bundled_model
from beamtagger.errors import BeamtaggerError, not_readable
from beamtagger.model import viterbi
from beamtagger.model.keras_archive import MAX_JSON_BYTES
from beamtagger.model.model_inputs import id_dtypes, inputs_fingerprint
from beamtagger.model.features import TokenFeaturizer, stable_hash

FORMAT_VERSION = 1
SPEC_FILE = "tagger.json"
MODEL_FILE = "tagger.keras"
REPORT_FILE = "training_report.json"
FORMS_FILE = "training_forms.npy"
ENTITIES_FILE = "training_entities.npy"
SENTENCES_FILE = "training_sentences.npy"
DEFAULT_MODEL_DIR = bundled_model("upos")
HEADS = ("softmax", "sigmoid", "crf")
# In tagger.json, written when a model is saved (model/saving.py): the SHA-256 of the file's own
# content without this key (``content_digest``). The other checks compare sizes with the model
# file, so an edit that keeps them (two labels swapped, a feature flag flipped) mislabelled
# every token without an error. Models saved before it have none and load as they did.
CONTENT_DIGEST_KEY = "content_sha256"


def state_folder(model_dir):
    """``.NAME.train-state`` beside the model directory ``NAME``: where a killed training's
    state waits for the same train command (``train_state``)."""
    model_dir = pathlib.Path(model_dir).expanduser().absolute()
    return model_dir.parent / f".{model_dir.name}.train-state"


@dataclasses.dataclass
class BinaryLabels:
    """Tags matching any of ``patterns`` (fnmatch, e.g. ``B-*``) become ``positive``."""
    patterns: tuple
    negative: str = "no"
    positive: str = "yes"

    def map_tags(self, tags):
        return tuple(self.positive if any(fnmatch.fnmatchcase(tag, p) for p in self.patterns)
                     else self.negative for tag in tags)

    def map_sentences(self, sentences):
        return [dataclasses.replace(s, tags=self.map_tags(s.tags)) for s in sentences]

    def to_json(self):
        return {"patterns": list(self.patterns), "negative": self.negative,
                "positive": self.positive}

    @classmethod
    def from_json(cls, data):
        return cls(tuple(data["patterns"]), data["negative"], data["positive"])


class TaggerSpec:
    """The contents of ``tagger.json``; ``decode`` turns network outputs into labels."""

    def __init__(self, labels, head, featurizer, binding, model_config, decoding=None,
                 tokenizer=None, bucketing=None, tag_column=None, binary_labels=None,
                 model_dir=None, training_forms=None, training_entities=None,
                 training_sentences=None):
        if head not in HEADS:
            raise BeamtaggerError(f"unknown head {head!r}; expected one of {HEADS}")
        if head == "sigmoid" and len(labels) != 2:
            raise BeamtaggerError("a sigmoid head needs exactly two labels (negative, positive)")
        self.labels = list(labels)
        self.head = head
        self.featurizer = featurizer
        self.binding = {"fingerprint": binding["fingerprint"], "dim": int(binding["dim"]),
                        "normalization": list(binding["normalization"])}
        self.model_config = dict(model_config)
        if decoding is None:
            decoding = {"viterbi": head == "softmax" and viterbi.is_bio_label_set(labels),
                        "threshold": 0.5}
        self.decoding = dict(decoding)
        self.tokenizer = dict(tokenizer or {"name": "beamtagger.tokenizer.Tokenizer"})
        self.bucketing = dict(bucketing or {})
        self.tag_column = tag_column
        # A binary tagger trained from a tag column keeps the mapping, so evaluation maps gold
        # tags the same way.
        if isinstance(binary_labels, dict):
            binary_labels = BinaryLabels.from_json(binary_labels)
        self.binary_labels = binary_labels
        self.model_dir = pathlib.Path(model_dir) if model_dir is not None else None
        # Sorted uint32 hashes of the training corpus's token forms (evaluate's "unseen form").
        self.training_forms = training_forms
        # Sorted uint32 hashes of the training corpus's entity surfaces (BIO tag sets; evaluate's
        # entities "seen" / "unseen" in training; evaluation.entity_surface_hash).
        self.training_entities = training_entities
        # Sorted uint64 hashes of the token sequences of every sentence the saved network was
        # trained on, dev's too where it was refit (evaluate's "sentences seen in training").
        self.training_sentences = training_sentences
        if self.decoding.get("viterbi"):
            if not viterbi.is_bio_label_set(self.labels):
                raise BeamtaggerError("Viterbi decoding is only defined for BIO label sets")
            self._start, self._allowed = viterbi.bio_transitions(self.labels)
            self.constrained_viterbi = viterbi.ConstrainedViterbi(self._start, self._allowed)
        if head == "crf":
            crf = self.decoding.get("crf")
            if crf is None:
                size = len(self.labels)
                crf = {"start": [0.0] * size, "end": [0.0] * size,
                       "transitions": [[0.0] * size for _ in range(size)]}
            self.set_crf(crf["start"], crf["transitions"], crf["end"])

    def set_crf(self, start, transitions, end):
        """The CRF head's learned scores (from the Keras model); BIO constraints stay -inf."""
        start, transitions, end = (np.asarray(x, dtype=np.float64)
                                   for x in (start, transitions, end))
        self.decoding["crf"] = {"start": start.tolist(), "transitions": transitions.tolist(),
                                "end": end.tolist()}
        if self.is_bio:
            allowed_start, allowed = viterbi.bio_transitions(self.labels)
            start = np.where(allowed_start, start, -np.inf)
            transitions = np.where(allowed, transitions, -np.inf)
        self._crf = (start, transitions, end)

    @property
    def crf_scores(self):
        """A CRF head's (start (L,), transitions (L, L), end (L,)) log-scores, float64, BIO
        constraints as -inf."""
        return self._crf

    @property
    def input_dims(self):
        """Fixed sizes of the model inputs (see model_inputs.FIELDS)."""
        return {"D": self.binding["dim"], "F": self.featurizer.num_feature_columns,
                "C": self.featurizer.char_width}

    @property
    def id_dtypes(self):
        """{id field: its narrowest type} (model_inputs.id_dtypes): what the Arrow batches carry
        and the JAX runner sends to its device."""
        return id_dtypes(self.featurizer)

    @property
    def inputs_fingerprint(self):
        """Identifies the featurizer and store binding; carried by every Arrow batch."""
        return inputs_fingerprint(self.featurizer.get_config(), self.binding)

    def seen_in_training(self, tokens):
        """bool (N,): the exact form occurred in the training corpus (None: not recorded)."""
        if self.training_forms is None:
            return None
        hashes = np.fromiter((stable_hash(token) for token in tokens), np.uint32, len(tokens))
        if not len(self.training_forms):
            return np.zeros(len(hashes), dtype=bool)
        index = np.searchsorted(self.training_forms, hashes)
        index = np.minimum(index, len(self.training_forms) - 1)
        return self.training_forms[index] == hashes

    @property
    def is_bio(self):
        return viterbi.is_bio_label_set(self.labels)

    @property
    def model_path(self):
        return self.model_dir / MODEL_FILE

    @classmethod
    def load(cls, model_dir):
        model_dir = pathlib.Path(model_dir).expanduser()
        spec_path = model_dir / SPEC_FILE
        if not model_dir.is_dir():
            raise BeamtaggerError(f"model directory {model_dir} does not exist"
                                  f"{_bundled_hint(model_dir)}")
        try:
            if not spec_path.is_file():
                raise BeamtaggerError(f"{model_dir} is not a tagger model: {SPEC_FILE} is "
                                      "missing")
            if not (model_dir / MODEL_FILE).is_file():
                raise BeamtaggerError(f"{model_dir} is not a tagger model: {MODEL_FILE} is "
                                      "missing")
            with open(spec_path, "rb") as file:
                content = file.read(MAX_JSON_BYTES + 1)
        except PermissionError as error:
            # Another user's model (mode 700): is_file raised, a traceback from Tagger and
            # exit 1 from evaluate. The folder is named where it may not be searched, as tag's
            # launch check names it.
            searchable = os.access(model_dir, os.X_OK)
            raise not_readable(error, None if searchable else model_dir) from None
        if len(content) > MAX_JSON_BYTES:
            raise BeamtaggerError(f"{spec_path} is corrupt: it holds more than "
                                  f"{MAX_JSON_BYTES:,} bytes, where beamtagger writes a few KB")
        data = parse_spec_json(content, spec_path)
        # Loaded apart, so that a damaged array is not reported as a damaged tagger.json.
        training_forms = _load_forms(model_dir / FORMS_FILE)
        training_entities = _load_forms(model_dir / ENTITIES_FILE)
        training_sentences = _load_forms(model_dir / SENTENCES_FILE, np.uint64)
        return cls.from_json(data, spec_path, model_dir=model_dir, training_forms=training_forms,
                             training_entities=training_entities,
                             training_sentences=training_sentences)

    @classmethod
    def from_json(cls, data, spec_path, **kwargs):
        """The spec ``data`` (``parse_spec_json``'s) describes; BeamtaggerError naming
        ``spec_path`` where it cannot. ``kwargs``: the constructor's other arguments."""
        try:
            return cls(labels=data["labels"], head=data["head"],
                       featurizer=TokenFeaturizer.from_config(data["featurizer"]),
                       binding=data["binding"], model_config=data["model_config"],
                       decoding=data.get("decoding"), tokenizer=data.get("tokenizer"),
                       bucketing=data.get("bucketing"), tag_column=data.get("tag_column"),
                       binary_labels=data.get("binary_labels"), **kwargs)
        except (ValueError, KeyError, TypeError) as error:
            raise BeamtaggerError(f"{spec_path} is corrupt: {error!r}") from None

    def to_json(self):
        return {"format_version": FORMAT_VERSION, "labels": self.labels, "head": self.head,
                "tag_column": self.tag_column,
                "binary_labels": self.binary_labels and self.binary_labels.to_json(),
                "featurizer": self.featurizer.get_config(),
                "model_config": self.model_config, "decoding": self.decoding,
                "binding": self.binding, "tokenizer": self.tokenizer,
                "bucketing": self.bucketing}

    def save(self, model_dir):
        model_dir = pathlib.Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        (model_dir / SPEC_FILE).write_text(json.dumps(self.to_json(), indent=2) + "\n",
                                           encoding="utf-8")
        if self.training_forms is not None:
            _save_array(model_dir / FORMS_FILE, self.training_forms)
        if self.training_entities is not None:
            _save_array(model_dir / ENTITIES_FILE, self.training_entities)
        if self.training_sentences is not None:
            _save_array(model_dir / SENTENCES_FILE, self.training_sentences)
        self.model_dir = model_dir

    @staticmethod
    def binding_of(store):
        return {"fingerprint": store.fingerprint, "dim": int(store.dim),
                "normalization": list(store.normalization)}

    def check_store(self, store, allow_other_fingerprint=False, model_location=None):
        """Refuse a store this model cannot read vectors from (BeamtaggerError).
        ``model_location``: where the model is, as the message names it (default: its
        ``model_dir``; a remote one, ``gs://...``, which a local path would misspell)."""
        location = model_location or self.model_dir
        where = f"model {location}" if location else "this model"
        if int(store.dim) != self.binding["dim"]:
            raise BeamtaggerError(
                f"{where} was trained on {self.binding['dim']}-dimensional vectors but the "
                f"embedding store {store.path} has dimension {store.dim}"
                f"{self._trained_store_hint(store)}")
        if list(store.normalization) != self.binding["normalization"]:
            raise BeamtaggerError(
                f"{where} was trained with lookup normalisation {self.binding['normalization']} "
                f"but the embedding store {store.path} uses {list(store.normalization)}"
                f"{self._trained_store_hint(store)}")
        if store.fingerprint != self.binding["fingerprint"] and not allow_other_fingerprint:
            hint = self._trained_store_hint(store)
            raise BeamtaggerError(
                f"{where} was trained on the embedding store with fingerprint "
                f"{self.binding['fingerprint'][:12]}... but {store.path} has fingerprint "
                f"{store.fingerprint[:12]}...{hint + '; or' if hint else ';'} pass "
                "--allow-other-embeddings "
                "(allow_other_embeddings=True in Python) if it holds the same vectors "
                "(another build of them)")

    def _trained_store_hint(self, store):
        """'; it was trained with the store S, ...' where the training report names a store
        still on this machine that this model reads, other than ``store``; else ''.

        evaluate, tag and Tagger take the default GloVe 6B 50d store where given none, not
        the one a model was trained with: a model trained with --embeddings was refused there
        for its 300 dimensions with no word of the store it needs, which model info finds."""
        from beamtagger.embeddings.store import EmbeddingStore

        try:
            recorded = json.loads((self.model_dir / REPORT_FILE).read_text(encoding="utf-8"))
            path = recorded["store"]["path"]
            if not isinstance(path, str) or not os.path.isdir(path) or (
                    os.path.realpath(path) == os.path.realpath(str(store.path))):
                return ""
            trained = EmbeddingStore.open(path)
        except (OSError, ValueError, TypeError, KeyError, BeamtaggerError):
            return ""   # no report, another tool's, a store gone or damaged: no hint
        if self.binding_of(trained) != self.binding:
            return ""
        return (f"; it was trained with the store {path}, which is still there: give that one "
                "(--embeddings, or store_path in Python)")

    def decode(self, probs, length):
        """One sentence: probs (T, L) -> (labels, per-token score of the chosen label).

        For a CRF head ``probs`` are emission scores: the labels are the Viterbi path and the
        score of each is its marginal probability under the CRF (forward-backward).
        """
        probs = np.asarray(probs)[:length]
        if self.head == "crf":
            start, transitions, end = self._crf
            path = viterbi.best_path(probs, transitions, start, end)
            if not len(path):
                return [], np.zeros(0, np.float32)
            marginals = viterbi.crf_marginals(probs, transitions, start, end)
            scores = marginals[np.arange(len(path)), path].astype(np.float32)
            return [self.labels[i] for i in path], scores
        if self.decoding.get("viterbi"):
            path = viterbi.viterbi_decode(probs, self._start, self._allowed)
        elif self.head == "sigmoid":
            path = (probs[:, 1] >= self.decoding.get("threshold", 0.5)).astype(np.int64)
        else:
            path = np.argmax(probs, axis=-1)
        scores = probs[np.arange(len(path)), path].astype(np.float32)
        return [self.labels[i] for i in path], scores

    def decode_batch(self, probs, lengths):
        """(B, T, L) padded outputs -> one (labels, scores) pair per sentence, each what
        ``decode`` gives for its row (decoded over the whole batch where that is the same)."""
        from beamtagger.model.batch_decoding import decode_batch

        return decode_batch(self, probs, lengths)


def content_digest(data):
    """The SHA-256 of tagger.json's object ``data`` without ``CONTENT_DIGEST_KEY``, as canonical
    JSON (keys sorted, no spaces, UTF-8), so its layout and key order do not count."""
    content = {key: value for key, value in data.items() if key != CONTENT_DIGEST_KEY}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_spec_json(content, spec_path):
    """The object ``tagger.json`` holds (``content``: its bytes, read from ``spec_path``),
    checked as far as it can be without the model file: JSON, format version, field types and
    the SHA-256 of its content. BeamtaggerError naming ``spec_path`` otherwise."""
    try:
        data = json.loads(content.decode("utf-8"))
    except RecursionError:
        raise BeamtaggerError(f"{spec_path} is corrupt: JSON nested too deeply to read") from None
    except ValueError as error:   # UnicodeDecodeError too
        raise BeamtaggerError(f"{spec_path} is corrupt: {error!r}") from None
    if not isinstance(data, dict):
        raise BeamtaggerError(f"{spec_path} is corrupt: it holds a JSON {_json_type(data)}, "
                              "not an object")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise BeamtaggerError(f"{spec_path}: format_version {version!r} is not supported "
                              f"(this beamtagger reads {FORMAT_VERSION})")
    problem = _field_type_problem(data)
    if problem:
        raise BeamtaggerError(f"{spec_path} is corrupt: {problem}")
    recorded = data.get(CONTENT_DIGEST_KEY)
    if recorded is not None and recorded != content_digest(data):
        raise BeamtaggerError(
            f"{spec_path} is not the one saved with this model: its content does not match "
            f"the SHA-256 it records (edited by hand, or damaged), and an edited label or "
            f"flag would mislabel tokens; copy the model directory again or train it again")
    problem = _compatibility_problem(data)
    if problem:
        raise BeamtaggerError(f"{spec_path}: {problem}")
    return data


def training_form_hashes(tokens):
    """Sorted unique uint32 crc32 hashes of token forms: 4 bytes a type (EWT train: 80 KB), and
    a chance of about types / 2**32 that an unseen form is taken for a seen one."""
    return np.unique(np.fromiter((stable_hash(token) for token in tokens), np.uint32))


def _sentence_hash(sentence):
    return int.from_bytes(hashlib.blake2b("\x1f".join(sentence.tokens).encode(
        "utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def sentence_hashes(sentences):
    """Sorted unique uint64 hashes of sentences' token sequences (8 bytes a sentence: EWT train
    100 KB): a scored sentence is one the model trained on where its tokens are the same."""
    return np.unique(np.fromiter(map(_sentence_hash, sentences), np.uint64))


def seen_sentences(known, sentences):
    """How many of ``sentences`` are among the ``known`` hashes (``sentence_hashes``)."""
    if known is None or not len(known) or not sentences:
        return 0
    hashes = np.fromiter(map(_sentence_hash, sentences), np.uint64)
    index = np.minimum(np.searchsorted(known, hashes), len(known) - 1)
    return int(np.count_nonzero(known[index] == hashes))


def _save_array(path, array):
    # np.save to a path writes with C's fwrite, and a short write on a full disk becomes an
    # OSError without errno or path ("2127 requested and 992 written"). Python's own write
    # raises the file system's error (ENOSPC), which publishing reports as a full destination.
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    path.write_bytes(buffer.getvalue())


def _json_type(value):
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
             float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


# Read as JSON objects: the constructor failed on other types with an AttributeError, or kept a
# string as binary_labels until evaluation called a method on it.
_OBJECT_FIELDS = ("featurizer", "binding", "model_config")
_OPTIONAL_OBJECT_FIELDS = ("decoding", "tokenizer", "bucketing", "binary_labels")

# What every beamtagger since format_version 1 wrote to tagger.json, and where a name outside
# these lists came from: a later beamtagger or a hand edit. The readers ignored such names, so
# a model trained with decoding.outside_scale (a decoding option from 2026-12-01, dropped the
# same day) was read as if it had none and tagged different labels without a word. A name this
# beamtagger does not know is refused, as it cannot tell whether it changes the labels.
_WRITTEN_FIELDS = ("format_version", "labels", "head", "tag_column", "binary_labels",
                   "featurizer", "model_config", "decoding", "binding", "tokenizer", "bucketing")
_RECORD_FIELDS = ("model_file", CONTENT_DIGEST_KEY)   # added by model/saving.py
_KNOWN_FIELDS = {
    None: _WRITTEN_FIELDS + _RECORD_FIELDS,
    "decoding": ("viterbi", "threshold", "crf"),
    "featurizer": ("special_tokens", "oov_buckets", "feature_columns", "char_vocab",
                   "max_chars"),
    "binding": ("fingerprint", "dim", "normalization"),
    "tokenizer": ("name",),
    "bucketing": ("batch_tokens",),
}
# Decoding options earlier beamtaggers applied and this one does not, with the value under
# which leaving them out changes nothing.
_RETIRED_DECODING = {"outside_scale": 1.0}
_TOKENIZER_NAME = "beamtagger.tokenizer.Tokenizer"
_RETRAIN = "train the model again with this beamtagger"


def _compatibility_problem(data):
    """What in ``data`` (tagger.json's object, its JSON types checked) this beamtagger would
    read differently from the beamtagger that wrote it, or None."""
    missing = [key for key in _WRITTEN_FIELDS if key not in data]
    if missing:
        return (f"{', '.join(missing)} missing, which every beamtagger writes (edited by "
                f"hand?); copy the model directory again or {_RETRAIN}")
    decoding = data["decoding"]
    for option, neutral in _RETIRED_DECODING.items():
        if option in decoding and decoding[option] != neutral:
            return (f"decoding.{option} is {decoding[option]!r}, a decoding option of an "
                    f"earlier beamtagger that this one does not apply, so its labels would "
                    f"differ; {_RETRAIN}, or use the beamtagger it was trained with")
    for section, known in _KNOWN_FIELDS.items():
        fields = data if section is None else (data.get(section) or {})
        unknown = sorted(key for key in fields
                         if key not in known and not (section == "decoding"
                                                      and key in _RETIRED_DECODING))
        if unknown:
            where = "" if section is None else f"{section}."
            return (f"unknown field {where}{unknown[0]} (written by a later beamtagger, or by "
                    "hand), which this beamtagger would ignore though it may change the labels; "
                    f"use the beamtagger that wrote it, or {_RETRAIN}")
    tokenizer = data["tokenizer"] or {}
    if tokenizer.get("name", _TOKENIZER_NAME) != _TOKENIZER_NAME:
        return (f"tokenizer.name is {tokenizer['name']!r}; this beamtagger tokenizes with "
                f"{_TOKENIZER_NAME} only")
    return None


def _is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _value_type_problem(data):
    """What in the objects of ``data`` (tagger.json's) is not of the JSON type it must be, or
    None. The constructors converted "1024" and 50.9 with int() and took the string "lower"
    as the chain l, o, w, e, r, so a hand edit was misread rather than refused."""
    featurizer, binding = data["featurizer"], data["binding"]
    decoding = data.get("decoding") or {}
    checks = [
        ("featurizer.special_tokens", featurizer.get("special_tokens"),
         lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
         "an array of strings"),
        ("featurizer.oov_buckets", featurizer.get("oov_buckets"), _is_integer, "an integer"),
        ("featurizer.feature_columns", featurizer.get("feature_columns"),
         lambda v: isinstance(v, list) and all(
             isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and _is_integer(c[1])
             for c in v), "an array of [name, integer size] pairs"),
        ("featurizer.char_vocab", featurizer.get("char_vocab", ""),
         lambda v: isinstance(v, str), "a string"),
        ("featurizer.max_chars", featurizer.get("max_chars", 0), _is_integer, "an integer"),
        ("binding.fingerprint", binding.get("fingerprint"), lambda v: isinstance(v, str),
         "a string"),
        ("binding.dim", binding.get("dim"), _is_integer, "an integer"),
        ("binding.normalization", binding.get("normalization"),
         lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
         "an array of strings"),
        ("decoding.viterbi", decoding.get("viterbi", False), lambda v: isinstance(v, bool),
         "true or false"),
        # NaN (json reads it) compared false with every probability: no token was positive.
        ("decoding.threshold", decoding.get("threshold", 0.5),
         lambda v: _is_number(v) and 0 <= v <= 1, "a number from 0 to 1"),
        ("decoding.crf", decoding.get("crf", {}), lambda v: isinstance(v, dict), "an object"),
    ]
    for name, value, fits, expected in checks:
        if not fits(value):
            return f"{name} must be {expected}, not {json.dumps(value)[:80]}"
    if data.get("head") == "crf":
        # Every saved CRF model records its scores; without them the constructor built
        # labels x labels zeros, 7 GB from a 300 KB tagger.json naming 30,000 labels.
        size = len(data["labels"])
        crf = decoding.get("crf") or {}
        rows = crf.get("transitions")
        if not (isinstance(crf.get("start"), list) and len(crf["start"]) == size
                and isinstance(crf.get("end"), list) and len(crf["end"]) == size
                and isinstance(rows, list) and len(rows) == size
                and all(isinstance(row, list) and len(row) == size for row in rows)):
            return (f"decoding.crf must hold start, end ({size} scores each) and {size} x "
                    f"{size} transitions for its {size} labels")
    return None


def _field_type_problem(data):
    """What in ``data`` (tagger.json's object) is not of the JSON type it must be, or None."""
    labels = data.get("labels")
    if not isinstance(labels, list) or not all(isinstance(label, str) and label
                                               for label in labels):
        return f"labels must be an array of non-empty strings, not {json.dumps(labels)[:80]}"
    repeated = sorted(label for label, count in collections.Counter(labels).items() if count > 1)
    if repeated:
        return f"labels repeat {', '.join(map(repr, repeated))}"
    if not isinstance(data.get("head"), str):
        return f"head must be a string, not a JSON {_json_type(data.get('head'))}"
    if data.get("tag_column") is not None and not isinstance(data["tag_column"], str):
        return f"tag_column must be a string or null, not a JSON {_json_type(data['tag_column'])}"
    for key in _OBJECT_FIELDS + _OPTIONAL_OBJECT_FIELDS:
        if key in _OPTIONAL_OBJECT_FIELDS and data.get(key) is None:
            continue
        if not isinstance(data.get(key), dict):
            return f"{key} must be an object, not a JSON {_json_type(data.get(key))}"
    return _value_type_problem(data)


# training_forms.npy holds one hash per distinct word form of the training corpus (EWT: 19k;
# a billion-token corpus some millions); beyond this the file is not one train wrote.
_MAX_FORMS = 1 << 27


def _load_forms(path, dtype=np.uint32):
    if not path.is_file():
        return None
    fix = "train the model again or copy the model directory again"
    try:
        _check_forms_header(path, np.dtype(dtype))
        forms = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as error:
        raise BeamtaggerError(f"{path} is damaged ({error}); {fix}") from None
    if not isinstance(forms, np.ndarray) or forms.dtype != dtype or forms.ndim != 1:
        raise BeamtaggerError(f"{path} is damaged (not a NumPy vector of "
                              f"{np.dtype(dtype).name}); {fix}")
    return forms


def _check_forms_header(path, dtype):
    """ValueError where the .npy header at ``path`` is not a vector of ``dtype`` of at most
    ``_MAX_FORMS`` entries that the file holds whole: np.load allocates the header's shape
    before it reads (a header claiming 1e12 entries was a MemoryError traceback; a sparse 4 GB
    file took 4.3 GB in `model info`, 8.7 GB in `tag`)."""
    with open(path, "rb") as stream:
        version = np.lib.format.read_magic(stream)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, stored_dtype = read_header(stream)
        data_start = stream.tell()
    if stored_dtype != dtype or len(shape) != 1:
        raise ValueError(f"not a NumPy vector of {dtype.name}")
    if shape[0] > _MAX_FORMS:
        raise ValueError(f"its header claims {shape[0]:,} entries, more than a training corpus "
                         f"has word forms ({_MAX_FORMS:,})")
    if os.path.getsize(path) - data_start != shape[0] * dtype.itemsize:
        raise ValueError(f"its header claims {shape[0]:,} entries and the file holds "
                         f"{os.path.getsize(path) - data_start:,} bytes after it")


def _bundled_hint(model_dir):
    """Where ``model_dir`` is a word the command line takes for a bundled model: how the
    command line and Python name that model. The library takes folders, so
    ``Tagger("bundled-ner")`` looked for a folder of that name, and so does the command line
    for ``./bundled-ner`` and ``bundled-ner/`` (which reach here as ``bundled-ner``): one
    sentence for both readers."""
    task = COMMAND_LINE_NAMES.get(str(model_dir))
    if task is None:
        return ""
    return (f"; the word {model_dir} (no ./, no trailing /) names {BUNDLED_MODELS[task][1]} "
            f"on the command line; in Python its folder is beamtagger.bundled_model({task!r})"
            + (", or leave model_dir out" if task == "upos" else ""))
