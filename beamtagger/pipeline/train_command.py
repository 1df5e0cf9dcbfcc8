"""``beamtagger train``: train a tagger on a tagged corpus and write a model directory."""
import argparse
import contextlib
import fnmatch
import math
import sys

from beamtagger.corpus_readers import select_sentences
from beamtagger.errors import BeamtaggerError
from beamtagger.model.training_threads import MAX_TRAINING_THREADS
from beamtagger.pipeline import init_from
from beamtagger.pipeline.common import FORMAT_CHOICES, FORMAT_HELP
from beamtagger.pipeline.common import choose_corpus_format, read_sentences, require_tensorflow

TEMPORARY_FILES_WRITER = "TensorFlow"   # its import asks for the folder (absl)

# Defaults per kind of tag set, chosen on the dev splits (docs/quality.md); every flag overrides.
# "entity": BIO tag sets (WNUT-17; IOB1, IO, BIOES and BILOU files are read as BIO), small and
# O-heavy; "tags": every other tag set (UPOS), which the entity settings (O's weight, entity
# drop, Viterbi, entity F1) do not cover.
# "tags" keeps 128 LSTM units: 256 with EMA gave +0.17 EWT dev accuracy (3 seeds) for 1.8x the
# network's time per batch when tagging and 2x the training time (docs/quality.md), a poor trade
# for a tagger whose cost per token is the point; the bundled model is trained with this preset.
# Adversarial training (0.5) gave "tags" +0.5 points on EWT over 3 seeds for about 2x the
# training time and nothing at tagging time; on WNUT-17 dev, before the refit, it gained nothing
# (-0.2 F1, seed 1, 3x the training time; with the refit it does, below). "entity" refits on
# train + dev for the best epoch's count (--refit):
# WNUT-17's dev comes from other sources than its training tweets, and on a part of dev held
# out of both training and choosing the refit gained +2.6 F1 (3 seeds; docs/quality.md).
# "entity" also shows the known words of entities as OOV at 30% (--entity-drop 0.3; others
# 5%): with the refit, +1.0 F1 on that part and +1.0 on its entities unseen in train and the
# choosing part, every one of 3 seeds higher on both; same network and training time. "tags"
# leaves it unset (--word-drop's share; entity drop needs a BIO tag set anyway).
# "entity" uses 192 LSTM units: on top of the refit and entity drop, +1.0 F1 on that part (3 of
# 5 seeds higher) and +1.4 on its unseen entities (4 of 5), for 1.5x the parameters (3.2 MB
# model directory) and about 1.3x the tagging CPU time; 96 character filters
# instead of 48 gained nothing there (3 seeds), so --char-filters stays 48 for both presets.
# "entity" trains adversarially too since issue 20's fifth round (--adversarial 0.5, on top of
# all the above): on the held-out part of dev +2.4 F1 and on its unseen entities +2.3 (3 seeds
# paired, each higher on every part; docs/quality.md), for 4-6x the training time (the best
# epoch moves from 3 to 7-14 and the refit runs that many) and nothing at tagging time.
PRESETS = {
    "entity": {"batch_tokens": 512, "dropout": 0.5, "outside_weight": 0.1, "ema": 0.99,
               "patience": 6, "crf": False, "word_drop": 0.05, "learning_rate": 2e-3,
               "units": 192, "lr_decay": 1.0, "form_buckets": 0,
               "weight_decay": 0.0, "label_smoothing": 0.0, "aux_column": "none",
               "adversarial": 0.5, "refit": True, "entity_drop": 0.3},
    "tags": {"batch_tokens": 2048, "dropout": 0.3, "outside_weight": 1.0, "ema": 0.0,
             "patience": 4, "crf": False, "word_drop": 0.05, "learning_rate": 2e-3,
             "units": 128, "lr_decay": 1.0, "form_buckets": 0,
             "weight_decay": 0.0, "label_smoothing": 0.0, "aux_column": "none",
             "adversarial": 0.5, "refit": False},
}
_ENTITY_PREFIXES = ("B-", "I-", "E-", "S-", "L-", "U-")   # BIO, BIOES and BILOU
# Preset settings a yes/no flag tagger (a sigmoid head) trains without: {dest: (the value it
# runs with, why)}. The preset line listed both for a run that printed "no adversarial training
# with a sigmoid head" and ignored the entity drop, and the report kept their values.
_NOT_FOR_A_FLAG_TAGGER = {
    "adversarial": (0.0, "adversarial training is implemented for softmax taggers only, and "
                         "tried on a flag of WNUT-17's product and company tokens it scored "
                         "lower (3 seeds of 3, docs/quality.md)"),
    "entity_drop": (None, "entity drop scored lower on a flag of WNUT-17's product and "
                          "company tokens (3 seeds of 3, with and without the refit, "
                          "docs/quality.md)"),
}


# The network's sizes where neither a flag nor --init-from's model gives them (the presets set
# --units, --crf and --form-buckets). Unset (None) when parsed, so that a fine-tune can tell a
# flag given against its model's network from one left to the model (``init_from``).
NETWORK_DEFAULTS = {"layers": 1, "projection": 0, "oov_buckets": 1024, "char_filters": 48,
                    "char_kernel": 3, "char_dim": 24, "max_chars": 16}


def _network_default(dest):
    return f"(default: {NETWORK_DEFAULTS[dest]}; with --init-from, the model's)"


def _preset(dest):
    """The help text's note on a tuning flag the preset sets: its value in each preset, where
    "(preset)" alone left a new user to find both the term and the numbers elsewhere."""
    def shown(value):
        if isinstance(value, bool):
            return "on" if value else "off"
        return f"{value:g}" if isinstance(value, float) else str(value)

    values = {name: shown(preset[dest]) for name, preset in PRESETS.items()}
    if len(set(values.values())) == 1:
        return f"(default: {next(iter(values.values()))}, in either --preset)"
    return "(default from --preset: " + ", ".join(
        f"{name} {value}" for name, value in values.items()) + ")"


def add_arguments(parser):
    data = parser.add_argument_group("data")
    # One file each was all it took, and a second --train silently replaced the first: the
    # loop of tag, correct, train again trains on the corrected sample and the first set.
    data.add_argument("--train", required=True, metavar="FILE", nargs="+", action="extend",
                      help="training corpus; several files (--train a.jsonl b.jsonl, or "
                      "--train given again) are read as one, each in its own format")
    data.add_argument("--dev", required=True, metavar="FILE",
                      help="development corpus (early stopping, reported metrics)")
    data.add_argument("--dev-sentences", metavar="START:END", default=None,
                      help="use only these sentences of --dev (0-based, END excluded, as a "
                      "Python slice), e.g. ':505' to choose on part of dev and score the rest "
                      "with 'evaluate --sentences 505:'")
    data.add_argument("--format", default="auto", choices=FORMAT_CHOICES,
                      help=FORMAT_HELP + "; --train and --dev may differ (a .conllu train "
                      "with a .conll dev) (default: auto)")
    data.add_argument("--tag-column", default="upos", metavar="COLUMN",
                      help="CoNLL-U tag column: upos, xpos or misc:KEY, read from each CoNLL-U "
                      "corpus; a conll corpus has one tag column, read as it is, and a spans "
                      "corpus's BIO tags come from its spans (default: upos)")
    data.add_argument("--binary-label", nargs="+", metavar="TAG", default=None,
                      help="train a binary (sigmoid) tagger: tokens whose tag matches one of "
                      "these patterns (fnmatch, e.g. 'B-*' 'I-*') are positive")
    data.add_argument("--embeddings", metavar="STORE", default=None,
                      help="embedding store directory (default: the GloVe 6B 50d store, "
                      "imported on first use)")
    parser.add_argument("--out", required=True, metavar="MODEL", help="model directory to write")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing model directory (written whole at the end: "
                        "a failed or killed run leaves the old model as it was)")
    parser.add_argument("--restart", action="store_true",
                        help="discard the training state a killed run left beside --out "
                        "(.MODEL.train-state) and start from epoch 1; without it a rerun of the "
                        "same command (same data, store and flags; --epochs may change where "
                        "the epochs done are the first of the new run's) resumes at the first "
                        "epoch not finished, and any other run is refused while the state is "
                        "there")
    parser.add_argument("--init-from", metavar="MODEL", default=None,
                        help="fine-tune: start from this saved model (a model directory, "
                        "'bundled' for the bundled UPOS tagger or 'bundled-ner' for the bundled "
                        "entity tagger) instead of random weights; its "
                        "network, labels and store binding are kept, and a network option "
                        "given that differs from its is refused (docs/training.md)")
    parser.add_argument("--allow-other-embeddings", action="store_true",
                        help="with --init-from: train over a store whose fingerprint differs "
                        "from the model's (another build of the same vectors; the dimension "
                        "and normalisation must match)")
    model = parser.add_argument_group("model")
    model.add_argument("--units", type=int, default=None,
                       help=f"LSTM units per direction {_preset('units')}")
    model.add_argument("--layers", type=int, default=None,
                       help=f"stacked BiLSTM layers {_network_default('layers')}")
    model.add_argument("--projection", type=int, default=None,
                       help="size of the shared projection of each token (0: none) "
                       f"{_network_default('projection')}")
    model.add_argument("--dropout", type=float, default=None,
                       help=f"share of the LSTM's inputs and outputs dropped in training "
                       f"{_preset('dropout')}")
    model.add_argument("--oov-buckets", type=int, default=None,
                       help="hashed trainable rows for out-of-vocabulary words "
                       f"{_network_default('oov_buckets')}")
    model.add_argument("--no-viterbi", action="store_true",
                       help="plain arg-max decoding even for BIO label sets")
    model.add_argument("--crf", action=argparse.BooleanOptionalAction, default=None,
                       help="CRF output layer (learned transitions, Viterbi decoding) instead of "
                       f"softmax {_preset('crf')}")
    model.add_argument("--char-filters", type=int, default=None,
                       help="filters of the character CNN (0: no character encoder) "
                       f"{_network_default('char_filters')}")
    model.add_argument("--char-kernel", type=int, default=None, metavar="WIDTH",
                       help="characters each filter of the character CNN reads at once "
                       f"{_network_default('char_kernel')}")
    model.add_argument("--char-dim", type=int, default=None,
                       help=f"character embedding size {_network_default('char_dim')}")
    model.add_argument("--max-chars", type=int, default=None,
                       help="characters per token the character CNN reads (first and last "
                       f"ones of longer tokens) {_network_default('max_chars')}")
    model.add_argument("--form-buckets", type=int, default=None, metavar="N",
                       help="hashed buckets of a trainable lower-cased word-form feature "
                       f"(0: none) {_preset('form_buckets')}")
    model.add_argument("--aux-column", default=None, metavar="COLUMN",
                       help="CoNLL-U tag column (e.g. xpos) learned as a second task during "
                       "training only, by a head the saved model leaves out; 'none': no second "
                       f"task {_preset('aux_column')}")
    model.add_argument("--aux-weight", type=float, default=1.0,
                       help="loss weight of the --aux-column task (default: %(default)g)")
    model.add_argument("--preset", choices=sorted(PRESETS), default=None,
                       help="defaults for the tuning flags (default: 'entity' for BIO tag sets, "
                       "IOB1, IO, BIOES and BILOU ones read as BIO; 'tags' otherwise)")
    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=int, default=30,
                          help="at most this many epochs (default: %(default)s; --patience stops "
                          "earlier)")
    training.add_argument("--patience", type=int, default=None,
                          help="stop after this many epochs without a better dev score "
                          f"{_preset('patience')}")
    training.add_argument("--batch-tokens", type=int, default=None,
                          help="padded tokens per batch (sentences are bucketed by length) "
                          f"{_preset('batch_tokens')}")
    training.add_argument("--learning-rate", type=float, default=None,
                          help=f"Adam's learning rate {_preset('learning_rate')}")
    training.add_argument("--lr-decay", type=float, default=None, metavar="FACTOR",
                          help="multiply the learning rate by FACTOR after every "
                          "--decay-patience epochs without a better dev score (1: constant "
                          f"rate) {_preset('lr_decay')}")
    training.add_argument("--weight-decay", type=float, default=None, metavar="W",
                          help="decoupled weight decay of Adam (AdamW), e.g. 1e-4 "
                          f"{_preset('weight_decay')}")
    training.add_argument("--label-smoothing", type=float, default=None, metavar="E",
                          help="spread this share of each token's target over all labels "
                          f"{_preset('label_smoothing')}")
    training.add_argument("--adversarial", type=float, default=None, metavar="EPSILON",
                          help="adversarial training: also learn from each batch with its token "
                          "inputs moved EPSILON on average against the model (0: off; about 2x "
                          "the training time, nothing at tagging time; not for a flag tagger, "
                          f"--binary-label) {_preset('adversarial')}")
    training.add_argument("--refit", action=argparse.BooleanOptionalAction, default=None,
                          help="after early stopping on --dev, train a new model on train + "
                          "dev for the best epoch's number of epochs and save that one "
                          "(about 1.3-1.5x the training time; then --dev scores a model that "
                          f"has seen it) {_preset('refit')}")
    training.add_argument("--refit-dev-copies", type=int, default=1, metavar="N",
                          help="with --refit: the new model's training set holds dev N times (1 "
                          "to 1,000), weighting text like dev's against the training corpus "
                          "(default: "
                          "%(default)s)")
    training.add_argument("--decay-patience", type=int, default=2, metavar="N",
                          help="bad epochs before each --lr-decay step (default: %(default)s)")
    training.add_argument("--decay-restore", action="store_true",
                          help="go back to the best epoch's weights at each --lr-decay step")
    training.add_argument("--word-drop", type=float, default=None,
                          help="share of known words shown as OOV during training "
                          f"{_preset('word_drop')}")
    training.add_argument("--lowercase", type=float, default=0.0, metavar="SHARE",
                          help="share of training sentences shown lower-cased (drawn anew each "
                          "epoch), so entities are found without capitals")
    training.add_argument("--entity-drop", type=float, default=None, metavar="SHARE",
                          help="share of the known words inside entities (BIO tags other than "
                          "O) shown as OOV during training, so context, casing and characters "
                          "must carry them; not for a flag tagger, --binary-label (entity "
                          f"preset: {PRESETS['entity']['entity_drop']:g}; otherwise --word-drop's "
                          "share)")
    training.add_argument("--outside-weight", type=float, default=None, metavar="W",
                          help="loss weight W of the O tokens (BIO tags); for a flag tagger "
                          "(--binary-label): the 'no' tokens' weight against 'yes' at 1, the "
                          "same training as a 'yes' weight of 1/W (0.1: each 'yes' token counts "
                          "as 10 'no' tokens); below 1 trades precision for recall "
                          f"{_preset('outside_weight')}")
    training.add_argument("--ema", type=float, default=None, metavar="MOMENTUM",
                          help="score and keep the exponential moving average of the weights "
                          "(e.g. 0.99; 0: off); steadies small, noisy training sets "
                          f"{_preset('ema')}")
    training.add_argument("--seed", type=int, default=1,
                          help="seeds the weights' initialisation, shuffling and drops: the "
                          "same command and data train the same model on the same number of "
                          "--threads (default: %(default)s)")
    training.add_argument("--threads", type=int, default=None, metavar="N",
                          help="TensorFlow's CPU threads (intra- and inter-op), 1 to 4,096: the "
                          "weights depend on the count, not on the cores or the load (default: "
                          "every core this process may run on; the report records the count)")
    training.add_argument("--limit", type=int, default=0, metavar="N",
                          help="use only the first N training sentences (quick runs)")


def detect_preset(sentences):
    """'entity' for a BIO tag set, 'tags' otherwise.

    BIO as ``viterbi.is_bio_label_set`` defines it, which also decides Viterbi decoding, entity
    scores and early stopping on entity F1, O's loss weight and entity drop: a tag set it does
    not call BIO (BIOES, say) would get the entity preset's settings with none of them working.
    """
    return "entity" if _is_bio(_tag_set(sentences)) else "tags"


def _tag_set(sentences):
    return sorted({tag for sentence in sentences for tag in sentence.tags})


def _is_bio(labels):
    # Imported here: viterbi imports NumPy, and every command's parser imports this module.
    from beamtagger.model import viterbi

    return viterbi.is_bio_label_set(labels)


def _not_bio_reason(tags):
    """Why a tag set of entity prefixes (O and ``B-X``, ``E-X``, ...) is not BIO; None for a
    BIO tag set or one that is not of entity prefixes."""
    others = [tag for tag in tags if tag != "O"]
    if (_is_bio(tags) or not others
            or not all(tag[:2] in _ENTITY_PREFIXES and len(tag) > 2 for tag in others)):
        return None
    unknown = sorted({tag[:2] for tag in others} - {"B-", "I-"})
    if unknown:
        return f"{', '.join(unknown)} tags: a scheme other than BIO"
    return "I- tags without any B- tag: not BIO"


def malformed_entity_tags(sentences):
    """{tag: (first place, tokens)} for tags that look like entity tags but are not well formed
    (``B-`` without a type, a lower-case ``b-person``) in a corpus whose other tags are O or
    entity tags; empty otherwise. One such tag makes the whole tag set not BIO."""
    def malformed(tag):
        return tag[:2].upper() in _ENTITY_PREFIXES and (len(tag) <= 2
                                                        or tag[:2] not in _ENTITY_PREFIXES)

    tags = _tag_set(sentences)
    rest = [tag for tag in tags if not malformed(tag)]
    if len(rest) == len(tags) or not (_is_bio(rest) or _not_bio_reason(rest)):
        return {}
    found = {}
    for sentence in sentences:
        for tag in sentence.tags:
            if malformed(tag):
                place, count = found.get(tag, (f"{sentence.source}:{sentence.line}", 0))
                found[tag] = (place, count + 1)
    return found


def apply_preset(args, sentences, log=print, warn=None):
    """Fill the flags left unset from the preset (for a --binary-label flag tagger, less what
    it trains without) and the network's sizes from ``NETWORK_DEFAULTS`` (those --init-from's
    model has not set); print which preset and what it set."""
    warn = warn or (lambda line: print(line, file=sys.stderr))
    malformed = malformed_entity_tags(sentences)
    if malformed:
        listed = ", ".join(f"{tag!r} x{count} (first in the sentence at {place})"
                           for tag, (place, count) in list(malformed.items())[:5])
        more = f" and {len(malformed) - 5} more" if len(malformed) > 5 else ""
        warn(f"warning: malformed entity tags in the training corpus: {listed}{more}; with "
             "them the tag set is not BIO, so it trains without Viterbi decoding, entity "
             "scores or the entity settings: correct them to train an entity tagger")
    tags = _tag_set(sentences)
    name = args.preset or detect_preset(sentences)
    not_bio = "malformed entity tags" if malformed else _not_bio_reason(tags)
    if args.preset:
        why = "asked for"
    elif name == "entity":
        why = "BIO tag set detected"
    elif not_bio:
        why = f"{not_bio}, trained as plain tags without Viterbi decoding or entity scores"
    else:
        why = "plain tag set detected"
    # A tag set of two tags trains a sigmoid head too (training.choose_labels), which
    # train_tagger trains without these settings, saying so; the preset calls it plain tags.
    flag = bool(args.binary_label)
    if name == "entity" and not _is_bio(tags):
        # A sigmoid head weighs its negative label by --outside-weight whatever the tags.
        sigmoid = flag or len(tags) == 2
        unused = ("Viterbi decoding, entity scores and --entity-drop" if sigmoid else
                  "Viterbi decoding, entity scores, --outside-weight and --entity-drop")
        why += f"; the tag set is not BIO, so {unused} do not apply"
    if flag:
        for key, (value, _) in _NOT_FOR_A_FLAG_TAGGER.items():
            setattr(args, key, value)   # given otherwise, check_options refused it
        why += "; a yes/no flag tagger (sigmoid head): no adversarial training, no entity drop"
    for key, value in NETWORK_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    chosen = []
    for key, value in PRESETS[name].items():
        if getattr(args, key) is None and not (flag and key in _NOT_FOR_A_FLAG_TAGGER):
            setattr(args, key, value)
            chosen.append(f"--{key.replace('_', '-')} {value}" if not isinstance(value, bool)
                          else f"--{'' if value else 'no-'}{key.replace('_', '-')}")
    log(f"preset {name!r} ({why}): {' '.join(chosen) or 'every flag given'}")
    return name


def read_training_corpora(paths, formats, tag_column, **reading):
    """The sentences of every ``--train`` file, in the order given (each in its own format);
    BeamtaggerError where all of them together hold none. ``reading``: ``read_sentences``'
    ``entities_as_bio`` and ``read_as_bio``.

    One file of several may hold none: a shard of ``tag --output-format spans`` whose records
    were all blank lines (``--train out/sample-[0-9]*.jsonl``) stopped the training."""
    several = len(paths) > 1
    sentences = [sentence for path, choice in zip(paths, formats)
                 for sentence in read_sentences(path, choice.format, tag_column, "training",
                                                may_be_empty=several, **reading)]
    if not sentences:
        raise BeamtaggerError(f"training corpora {', '.join(paths)} hold no sentences")
    return sentences


def read_auxiliary(args, train_formats, count, log=print, read_as_bio=None):
    """The training sentences tagged from ``--aux-column``, or None (no second task: 'none', a
    training file of a format without columns, a binary tagger, or the tag column itself).
    ``read_as_bio``: a list, given ``(scheme name, "PATH (--aux-column COLUMN)")`` for each
    file whose column's entity tags were read as BIO."""
    column = args.aux_column
    if column in (None, "", "none"):
        return None
    if any(choice.format != "conllu" for choice in train_formats) or args.binary_label or column == args.tag_column:
        log(f"no auxiliary task: --aux-column {column} needs CoNLL-U input and a tag column "
            "other than the one trained, and no --binary-label")
        return None
    # The role names the column: reading it says what it did (IOB1 or BIOES tags read as BIO)
    # in lines that otherwise read as the tag column's.
    read = []
    sentences = [sentence for path in args.train
                 for sentence in read_sentences(
                     path, "conllu", column, f"--aux-column {column}: training",
                     read_as_bio=read, tags_used_as="the tags the auxiliary task learns")][:count]
    if read_as_bio is not None:
        read_as_bio.extend((scheme, f"{path} (--aux-column {column})") for scheme, path in read)
    return sentences


# Each numeric option's allowed values: (lowest, highest, whether each end is allowed). Floats
# must also be finite: argparse reads "nan" and "inf", and a NaN learning rate trained a model of
# NaN weights that tagged every token with the first label.
_AT_LEAST_1 = (1, math.inf, True, False)
_AT_LEAST_0 = (0, math.inf, True, False)
_POSITIVE = (0, math.inf, False, False)
_SHARE = (0, 1, True, True)
_SHARE_BELOW_1 = (0, 1, True, False)
# The model's sizes have upper ends too, far above any tagger worth training (the presets use
# 128-192 units, 1 layer, 48 filters of width 3 over 24-dim characters, 16 characters, 1,024
# OOV rows): beyond them a typo failed deep in TensorFlow, --char-dim 100000 as a segmentation
# fault, --max-chars 100000 and --oov-buckets 100000000 out of memory, --layers 50 ran for
# minutes before its first epoch (found by the train audit).
OPTION_RANGES = {
    "epochs": _AT_LEAST_1, "units": (1, 4096, True, True), "layers": (1, 16, True, True),
    "batch_tokens": _AT_LEAST_1, "patience": _AT_LEAST_1, "decay_patience": _AT_LEAST_1,
    # The refit trains on dev this many times over: 9223372036854775808 was an OverflowError
    # traceback once the first training was done (fuzzing); 1,000 copies of WNUT-17's dev
    # (1,009 sentences) are 300x its training set already.
    "refit_dev_copies": (1, 1000, True, True), "char_kernel": (1, 32, True, True),
    "projection": (0, 4096, True, True), "oov_buckets": (0, 1_000_000, True, True),
    "char_filters": (0, 4096, True, True), "char_dim": (0, 1024, True, True),
    "max_chars": (0, 256, True, True), "form_buckets": (0, 1_000_000, True, True),
    "limit": _AT_LEAST_0,
    "seed": (0, 2**32 - 1, True, True),   # what NumPy's and TensorFlow's seeding accept
    "threads": (1, MAX_TRAINING_THREADS, True, True),   # train_tagger's threads= too
    "dropout": _SHARE_BELOW_1, "ema": _SHARE_BELOW_1, "label_smoothing": _SHARE_BELOW_1,
    "word_drop": _SHARE, "entity_drop": _SHARE, "lowercase": _SHARE,
    "lr_decay": (0, 1, False, True),
    "learning_rate": _POSITIVE, "outside_weight": _POSITIVE, "aux_weight": _POSITIVE,
    "weight_decay": _AT_LEAST_0, "adversarial": _AT_LEAST_0,
}


def _range_text(value, lowest, highest, low_allowed, high_allowed):
    if highest == math.inf:
        if not low_allowed and lowest == 0:
            return "positive"
        return f"at least {lowest}" if isinstance(value, int) else f">= {lowest}"
    return f"in {'[' if low_allowed else '('}{lowest}, {highest}{']' if high_allowed else ')'}"


def check_options(args):
    """BeamtaggerError for the first option given out of its range (unset ones are filled from
    a preset, whose values are in range); needs no data, store or TensorFlow."""
    for name, (lowest, highest, low_allowed, high_allowed) in OPTION_RANGES.items():
        value = getattr(args, name)
        if value is None:
            continue
        above = lowest <= value if low_allowed else lowest < value
        below = value <= highest if high_allowed else value < highest
        if not (math.isfinite(value) and above and below):
            rule = _range_text(value, lowest, highest, low_allowed, high_allowed)
            raise BeamtaggerError(f"--{name.replace('_', '-')} must be {rule}, not {value}")
    if args.form_buckets == 1:   # below 0 and above the top end: OPTION_RANGES
        raise BeamtaggerError("--form-buckets must be 0 (none) or at least 2")
    if args.crf and args.binary_label:
        raise BeamtaggerError("--crf needs a tag set of three or more labels; --binary-label "
                              "trains a sigmoid head")
    for key, (value, why_not) in _NOT_FOR_A_FLAG_TAGGER.items():
        given, option = getattr(args, key), f"--{key.replace('_', '-')}"
        if args.binary_label and given is not None and given != value:
            raise BeamtaggerError(f"{option} {given:g}: {why_not}, and --binary-label trains a "
                                  f"yes/no flag tagger (a sigmoid head): leave {option} out")


def check_binary_patterns(patterns, sentences):
    """BeamtaggerError unless each ``--binary-label`` pattern matches a training tag and some
    tag matches none (else one side of the binary tagger would never be seen)."""
    if not patterns:
        return
    tags = sorted({tag for sentence in sentences for tag in sentence.tags})
    shown = ", ".join(tags[:12]) + (f" and {len(tags) - 12} more" if len(tags) > 12 else "")
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(tag, pattern) for tag in tags):
            raise BeamtaggerError(f"--binary-label {pattern!r} matches no tag of the training "
                                  f"corpus ({shown})")
    if all(any(fnmatch.fnmatchcase(tag, pattern) for pattern in patterns) for tag in tags):
        raise BeamtaggerError(f"--binary-label {' '.join(repr(p) for p in patterns)} match every "
                              f"tag of the training corpus ({shown}): no token "
                              "would be negative")


def _read_as_bio_note(read):
    """What a training state saved from these files before they were read as BIO is, for
    its refusal: the same command rerun was told its corpus differs, and to rerun it.
    ``read``: ``(scheme name, file)`` pairs, as ``read_sentences`` gives them."""
    if not read:
        return None
    files = {}
    for scheme, path in read:
        files.setdefault(scheme, []).append(path)
    schemes = " and ".join(f"the {scheme} tags of {', '.join(paths)}"
                           for scheme, paths in files.items())
    return (f"this beamtagger reads {schemes} as BIO, which one before 2026-12-07 read as "
            "written, so a state saved then from the same files is another training's")


def check_dev_tags(train, dev, args, dev_format):
    """BeamtaggerError when no tag of ``dev`` is a training tag (a binary tagger maps every
    tag to one of its two labels): every dev token would count as an error, and a dev score
    stuck at 0 would choose the first epoch, as ``evaluate`` refuses such a corpus."""
    if args.binary_label:
        return
    labels = _tag_set(train)
    unknown = _tag_set(dev)
    if set(labels).isdisjoint(unknown):
        column = f" (tag column {args.tag_column})" if dev_format == "conllu" else ""
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise BeamtaggerError(
            f"dev corpus {args.dev}{column}: none of its tags is a tag of the training corpus "
            f"({', '.join(map(repr, unknown[:5]))}{more}; the training corpus's: "
            f"{', '.join(labels[:8])}{' ...' if len(labels) > 8 else ''}): a corpus of another "
            "task, or another --tag-column?")


def run(args):
    require_tensorflow("train")   # before training's imports, which import it
    from beamtagger.model.saving import check_model_destination
    from beamtagger.pipeline import output_lock

    check_options(args)
    if args.allow_other_embeddings and args.init_from is None:
        raise BeamtaggerError("--allow-other-embeddings applies with --init-from only: a new "
                              "model is bound to the store it trains with")
    if args.init_from is not None:
        init_from.check_not_out(args.init_from, args.out)
    check_out_not_bundled(args.out)
    check_model_destination(args.out, args.overwrite)  # before hours of training, not after
    # Held until the model is written and the state removed: two runs into one --out read and
    # wrote one training state, each resuming from the other's epochs.
    with output_lock.held(args.out, "--out", "train", "model directory"), \
            contextlib.ExitStack() as base_held:
        starting = None
        if args.init_from is not None:
            if not init_from.is_bundled(args.init_from):
                # Shared until its weights are read: a train run replacing it meanwhile would
                # give this one another model's weights than the spec it checked.
                base_held.enter_context(output_lock.not_held(
                    args.init_from, "train", init_from.busy_text(args.init_from)))
            starting = init_from.open_starting_model(args.init_from, args.out)
            # Before the corpora are read: a flag tagger's patterns decide how they are read.
            init_from.take_network_options(args, starting)
        return _run_held(args, starting, base_held)


def check_out_not_bundled(out):
    """BeamtaggerError where ``out`` is a bundled model's folder: with --overwrite the model
    trained replaced the installed one, and every later ``bundled-ner`` (or a run with no
    --model) tagged with it, its documented scores no longer its own."""
    from beamtagger.bundled_models import BUNDLED_MODELS, COMMAND_LINE_NAMES, bundled_task_at

    task = bundled_task_at(out)
    if task is not None:
        word = next(word for word, named in COMMAND_LINE_NAMES.items() if named == task)
        raise BeamtaggerError(
            f"--out {out} is the folder of {BUNDLED_MODELS[task][1]} ({word}) in the installed "
            "package, which the trained model would replace; write it to another --out")


def _run_held(args, starting=None, base_held=None):
    """The training, ``--out`` held. ``starting``: ``--init-from``'s model, checked; its
    folder held (``base_held``, closed once its weights are read)."""
    from beamtagger.embeddings.default import open_store
    from beamtagger.model.saving import save_model_dir
    from beamtagger.model.tagger_spec import BinaryLabels

    # All chosen before any is read: a dev file of neither format is refused before the
    # training corpus is read, as a missing one is.
    train_formats = [choose_corpus_format(path, args.format, "training") for path in args.train]
    dev_format = choose_corpus_format(args.dev, args.format, "dev")
    for path, choice in zip(args.train, train_formats):
        choice.announce("train", path)
    dev_format.announce("train", args.dev)
    # A flag tagger's patterns match the tags as its files write them (read_sentences).
    reading = {"entities_as_bio": not args.binary_label, "read_as_bio": []}
    train = read_training_corpora(args.train, train_formats, args.tag_column, **reading)
    if args.limit:
        train = train[:args.limit]
    check_binary_patterns(args.binary_label, train)
    if starting is not None:
        patterns = args.binary_label
        init_from.check_training_tags(
            starting, BinaryLabels(tuple(patterns)).map_sentences(train) if patterns else train,
            args.train)
        threshold = starting.spec.decoding.get("threshold", 0.5)
        if starting.spec.head == "sigmoid" and threshold != 0.5:
            print(f"fine-tuning: the threshold {threshold:g} set on {args.init_from} is not kept "
                  "(chosen for its weights, which this run moves): the new model flags at 0.5; "
                  "choose its own with evaluate --thresholds, then model set-threshold")
    apply_preset(args, train)
    if args.decay_restore and args.ema > 0:
        # With EMA the weights in place at an epoch's end are the averages, swapped back out
        # when the next epoch starts, so a restore would be undone.
        raise BeamtaggerError("--decay-restore does not combine with --ema")
    if args.refit_dev_copies != 1 and not args.refit:
        raise BeamtaggerError("--refit-dev-copies weights dev in the refit, which this run "
                              "does not do: add --refit")
    aux = read_auxiliary(args, train_formats, len(train), read_as_bio=reading["read_as_bio"])
    dev = read_sentences(args.dev, dev_format.format, args.tag_column, "dev", **reading)
    if args.dev_sentences is not None:
        dev = select_sentences(dev, args.dev_sentences, "dev")
    check_dev_tags(train, dev, args, dev_format.format)
    store = open_store(args.embeddings)  # the default store when None
    if starting is not None:
        starting.spec.check_store(store, allow_other_fingerprint=args.allow_other_embeddings)
    # Imported once the corpora and the store are read: it imports TensorFlow (4-8 s), which
    # a misspelt --train path waited for before its one-line error.
    from beamtagger.model.training_threads import set_training_threads

    threads = set_training_threads(args.threads)   # before TensorFlow runs an op
    from beamtagger.model.train_state import TrainingState, state_folder
    from beamtagger.model.training import (StartingModel, TrainingConfig, TrainingDiverged,
                                           train_tagger)

    config = TrainingConfig(
        epochs=args.epochs, units=args.units, layers=args.layers, projection=args.projection,
        dropout=args.dropout, oov_buckets=args.oov_buckets, word_drop=args.word_drop,
        batch_tokens=args.batch_tokens, learning_rate=args.learning_rate, seed=args.seed,
        outside_weight=args.outside_weight, ema=args.ema,
        patience=args.patience, viterbi=not args.no_viterbi, crf=args.crf,
        char_filters=args.char_filters, char_kernel=args.char_kernel, char_dim=args.char_dim,
        max_chars=args.max_chars,
        lr_decay=args.lr_decay, decay_patience=args.decay_patience,
        decay_restore=args.decay_restore, form_buckets=args.form_buckets,
        weight_decay=args.weight_decay, label_smoothing=args.label_smoothing,
        aux_weight=args.aux_weight, adversarial=args.adversarial,
        entity_drop=args.entity_drop, refit=args.refit, lowercase=args.lowercase,
        refit_dev_copies=args.refit_dev_copies,
        verbose=1 if sys.stdout.isatty() else 2)
    binary = BinaryLabels(tuple(args.binary_label)) if args.binary_label else None
    # The model records the column it learned from: its CoNLL-U training files'.
    tag_column = (args.tag_column if any(choice.format == "conllu" for choice in train_formats)
                  else None)
    state = TrainingState(state_folder(args.out), restart=args.restart,
                          data_note=_read_as_bio_note(reading["read_as_bio"]), threads=threads)
    if starting is not None:
        starting = StartingModel(starting.spec, init_from.load_weights(starting),
                                 starting.record)
        base_held.close()
        print(f"fine-tuning {args.init_from}: its network, {len(starting.spec.labels)} labels "
              "and weights are the start")
    try:
        model, spec, report = train_tagger(train, dev, store, config, binary=binary,
                                           tag_column=tag_column, aux_sentences=aux, state=state,
                                           starting=starting, threads=args.threads)
    except TrainingDiverged:
        # The same command resumed would diverge again, and the fix (a lower --learning-rate)
        # is another training, which the kept state would refuse without --restart.
        state.discard()
        raise
    except KeyboardInterrupt:
        # "interrupted" alone left a user to guess whether the epochs done were lost.
        if state.saved_epochs:
            print(f"note: the state of the epochs finished is kept in {state.folder}: run the "
                  "same command again to resume from there (--restart discards it)",
                  file=sys.stderr)
        raise
    out = save_model_dir(model, spec, report, args.out, overwrite=args.overwrite)
    state.discard()   # only now: a run killed while saving resumes from it
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    if "warning" in report:
        # Written all the same (the user may want to inspect it), but a score of 0.0000 on the
        # last line was easy to read past.
        print(f"warning: {report['warning']}", file=sys.stderr)
    (metric, value), = report["best_dev"].items()
    written = f"{out} ({size / 1e6:.1f} MB, {report['parameters']} parameters)"
    if report.get("starting_model", {}).get("kept"):
        print(start_kept_line(args.init_from, metric, value, report["epochs"],
                              refit=bool(args.refit)) + f": wrote its weights to {written}")
        return 0
    copies = f" x {args.refit_dev_copies}" if args.refit_dev_copies != 1 else ""
    refit = (f"; refit on train + dev{copies} ({report['refit']['train']['sentences']} "
             f"sentences) for {report['refit']['epochs']} epoch(s)" if "refit" in report else "")
    print(f"best epoch {report['best_epoch']}: {metric} {value:.4f}{refit}; wrote {written}")
    return 0


def start_kept_line(given, metric, start, epochs, refit=False):
    """The closing line of a fine-tune that no epoch improved on (``epochs``: the report's
    epoch records), in place of "best epoch N": the model written is the one it started from,
    which a user who reads only the last line must not take for an adapted one."""
    scored = [epoch for epoch in epochs if isinstance(epoch.get(metric), (int, float))]
    best = max(scored, key=lambda epoch: epoch[metric], default=None)
    best_text = (f"; its best of {len(epochs)} epoch(s), epoch {best['epoch']}, "
                 f"{best[metric]:.4f}" if best is not None else "")
    return (f"no epoch beat the starting model {given} on --dev ({metric} {start:.4f} before "
            f"training{best_text}){', so no refit' if refit else ''}")
