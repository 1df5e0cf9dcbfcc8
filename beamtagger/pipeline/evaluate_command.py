"""``beamtagger evaluate``: score a tagger on a tagged corpus (the bundled model by default)."""
import json
import pathlib
import sys

from beamtagger.corpus_readers import select_sentences
from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline.common import FORMAT_CHOICES, FORMAT_HELP
from beamtagger.pipeline.common import choose_corpus_format, read_sentences, require_tensorflow
from beamtagger.pipeline.model_argument import model_dir_named

TEMPORARY_FILES_WRITER = "TensorFlow"   # its import asks for the folder (absl)


def add_arguments(parser):
    parser.add_argument("--model", metavar="MODEL", default=None,
                        help="model directory (default, or 'bundled': the bundled UPOS "
                        "tagger; 'bundled-ner': the bundled entity tagger)")
    parser.add_argument("--embeddings", metavar="STORE", default=None,
                        help="embedding store directory (default: the GloVe 6B 50d store)")
    parser.add_argument("--allow-other-embeddings", action="store_true",
                        help="accept a store whose fingerprint differs from the one the model "
                        "was trained on (same dimension and normalisation)")
    parser.add_argument("--data", required=True, metavar="FILE", help="tagged corpus to score")
    parser.add_argument("--format", default="auto", choices=FORMAT_CHOICES,
                        help=FORMAT_HELP + "; --json gives the format and what chose it "
                        "(default: auto)")
    parser.add_argument("--sentences", metavar="START:END", default=None,
                        help="score only these sentences of --data (0-based, END excluded, as a "
                        "Python slice), e.g. '505:' for the part of WNUT-17 dev that "
                        "'train --dev-sentences :505' did not choose on")
    parser.add_argument("--seen-entities-of", metavar="MODEL", default=None,
                        help="count an entity as seen in training when it occurred as an "
                        "entity in the training corpus of MODEL instead (to compare models "
                        "trained on different corpora on the same unseen entities)")
    parser.add_argument("--tag-column", default=None, metavar="COLUMN",
                        help="CoNLL-U tag column (default: the one the model was trained on); "
                        "a conll corpus has one tag column, read as it is, and a spans "
                        "corpus's BIO tags come from its spans")
    parser.add_argument("--batch-tokens", type=int, default=4096,
                        help="padded tokens per inference batch")
    parser.add_argument("--by-sent-id-prefix", action="store_true",
                        help="also report token accuracy per sent_id prefix (the part before the "
                        "first '-': the genre in UD English-EWT, e.g. answers, email, reviews)")
    parser.add_argument("--thresholds", metavar="T[,T...]", default=None,
                        help="a binary tagger's (train --binary-label): also score the "
                        "positive label at each of these thresholds on its probability "
                        "(comma-separated, from 0 to 1, e.g. 0.1,0.2,0.3,0.4,0.5), from the "
                        "same run of the network; 'beamtagger model set-threshold' makes the "
                        "one chosen the model's")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args):
    from beamtagger.embeddings.default import open_store
    from beamtagger.model.encoding import describe_unknown_tags, encode_sentences
    from beamtagger.model.evaluation import evaluate_corpus
    from beamtagger.model.inference import TaggerRunner
    from beamtagger.model.saving import check_model_file
    from beamtagger.model.tagger_spec import TaggerSpec, seen_sentences

    if args.batch_tokens < 1:  # else a traceback from the batching, after data and TensorFlow
        raise BeamtaggerError(f"--batch-tokens must be at least 1, not {args.batch_tokens}")
    require_tensorflow("evaluate")
    model_dir = _model_folder(args.model, "--model")
    spec = TaggerSpec.load(model_dir)  # cheap checks before reading data or TensorFlow
    check_model_file(spec)
    thresholds = None if args.thresholds is None else parse_thresholds(args.thresholds)
    if thresholds is not None and spec.head != "sigmoid":
        raise BeamtaggerError(f"--thresholds: {model_dir} is not a binary tagger (a {spec.head} "
                              "head); thresholds apply to taggers trained with train "
                              "--binary-label")
    seen_entities = None
    if args.seen_entities_of is not None:
        seen_entities = TaggerSpec.load(
            _model_folder(args.seen_entities_of, "--seen-entities-of")).training_entities
        if seen_entities is None:
            raise BeamtaggerError(f"{args.seen_entities_of} keeps no training entities (its "
                                  "training_entities.npy; models trained on BIO tags have one)")
    tag_column = args.tag_column or spec.tag_column or "upos"
    corpus_format = choose_corpus_format(args.data, args.format, "evaluation")
    if not args.json:   # where stdout is the one JSON object, which carries it instead
        corpus_format.announce("evaluate", args.data)
    span_stats = None
    if corpus_format.format == "spans":
        from beamtagger.span_corpus import SpanReadStats

        span_stats = SpanReadStats()
    # Entity tags are read as BIO for a model of BIO labels, as its training read them. A flag
    # tagger's patterns map the tags as the file writes them; a model trained before BIOES,
    # BILOU or IO tags were read as BIO has them as its labels, and gold rewritten to BIO was
    # scored against its own tags' other spelling (every S- token an error).
    sentences = read_sentences(args.data, corpus_format.format, tag_column, "evaluation",
                               span_stats=span_stats,
                               entities_as_bio=spec.binary_labels is None and spec.is_bio)
    if args.sentences is not None:
        sentences = select_sentences(sentences, args.sentences, "evaluation")
    if args.by_sent_id_prefix:
        # A sentence without an id is named by its file and line: one "group" a sentence.
        unnamed = [sentence for sentence in sentences if not sentence.has_own_id]
        if unnamed:
            raise BeamtaggerError(
                f"--by-sent-id-prefix: {len(unnamed)} of the {len(sentences)} sentences of "
                f"{args.data} have no sent_id (a '# sent_id = ...' comment), the first at "
                f"line {unnamed[0].line}")
    seen = (None if spec.training_sentences is None
            else seen_sentences(spec.training_sentences, sentences))
    if seen:
        print(seen_sentences_warning(model_dir, seen, len(sentences)), file=sys.stderr)
    refit_on = None if spec.training_sentences is not None else _refit_on_these(
        model_dir, sentences)
    if refit_on:
        # Models saved before training_sentences.npy: the counts of the dev they trained on.
        print(f"warning: {args.data} holds as many sentences and tokens as the --dev of "
              f"{model_dir}'s training ({refit_on}), and that model was refit on train + dev "
              "(--refit, the entity preset's default): it has seen what it is scored on. Score "
              "a file it did not train on, or split dev: train --dev-sentences :N, evaluate "
              "--sentences N:", file=sys.stderr)
    store = open_store(args.embeddings)  # the default store when None
    spec.check_store(store, allow_other_fingerprint=args.allow_other_embeddings)
    if spec.binary_labels is not None:
        unmapped, sentences = sentences, spec.binary_labels.map_sentences(sentences)
        if sentences and not any(spec.binary_labels.positive in sentence.tags
                                 for sentence in sentences):
            # Every tag maps to yes or no, so the check for tags the model does not know
            # below never fires: a corpus of another task was scored, exit 0.
            original_tags = {tag for sentence in unmapped for tag in sentence.tags}
            shown = ", ".join(repr(tag) for tag in sorted(original_tags)[:5])
            print(f"warning: no tag of {args.data} matches the model's positive patterns "
                  f"({', '.join(spec.binary_labels.patterns)}); every token is scored as "
                  f"'{spec.binary_labels.negative}' (its tags: {shown}"
                  f"{' ...' if len(original_tags) > 5 else ''}): a corpus of another task, "
                  "or another --tag-column?", file=sys.stderr)
    corpus = encode_sentences(sentences, store, spec.featurizer,
                              {label: i for i, label in enumerate(spec.labels)},
                              source=args.data)
    if corpus.unknown_tags:
        unknown = sum(count for _, count in corpus.unknown_tags.values())
        if unknown == sum(len(targets) for targets in corpus.targets):
            # Nothing to score: another task's corpus, or another --tag-column. A 0.00% report
            # and exit 0 read as a (bad) score to a script.
            tags = ", ".join(repr(tag) for tag in list(corpus.unknown_tags)[:5])
            more = f" and {len(corpus.unknown_tags) - 5} more" if len(corpus.unknown_tags) > 5 \
                else ""
            column = (f" (tag column {tag_column})" if corpus_format.format == "conllu" else "")
            raise BeamtaggerError(
                f"{args.data}{column}: none of its tags is a label of the model {model_dir} "
                f"({tags}{more}; the model's: {', '.join(spec.labels[:8])}"
                f"{' ...' if len(spec.labels) > 8 else ''}): a corpus of another task, or "
                "another --tag-column?")
        print(f"warning: {describe_unknown_tags(corpus.unknown_tags, args.data)}",
              file=sys.stderr)
    runner = TaggerRunner.load(model_dir)
    if seen_entities is not None:
        runner.spec.training_entities = seen_entities
    group_of = (lambda sentence: sentence.sent_id.split("-", 1)[0]) if args.by_sent_id_prefix \
        else None
    metrics = evaluate_corpus(runner, corpus, store, args.batch_tokens, group_of, thresholds)
    metrics = {"model": str(model_dir), "data": args.data, "format": corpus_format.format,
               "format_chosen_by": corpus_format.chosen_by, "embeddings": str(store.path),
               "sentence_selection": args.sentences, "seen_entities_of": args.seen_entities_of,
               "sentences_seen_in_training": seen,
               **metrics,
               "unknown_tags": {tag: count for tag, (_, count) in corpus.unknown_tags.items()}}
    if span_stats is not None:
        # Of the whole --data file, before any --sentences selection.
        metrics["spans"] = {"read": span_stats.spans,
                            "snapped_to_tokens": span_stats.snapped_spans,
                            "lines_not_accepted": span_stats.not_accepted,
                            "texts_split": span_stats.split_documents}
    if args.json:
        print(json.dumps(metrics))
    else:
        print(format_metrics(metrics))
    return 0


def _model_folder(given, option):
    """The folder of the model ``option`` names as ``given``: the bundled model's where it is
    None (left out) or 'bundled', the bundled entity model's for 'bundled-ner'
    (``model_argument``)."""
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR

    if given is None:
        return DEFAULT_MODEL_DIR
    return model_dir_named(given, written_as=f"{option} {{}}") or DEFAULT_MODEL_DIR


def parse_thresholds(text):
    """``--thresholds``' comma-separated numbers, each from 0 to 1, in the order given;
    BeamtaggerError naming the first that is not one."""
    thresholds = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            value = None
        # NaN fails both comparisons: a sweep row that flags no token would read as a score.
        if value is None or not 0 <= value <= 1:
            raise BeamtaggerError(f"--thresholds: {item.strip()!r} is not a number from 0 to 1 "
                                  "(give them comma-separated, e.g. 0.2,0.3,0.5)")
        thresholds.append(value + 0.0)   # -0 is 0, shown as one
    return thresholds


def seen_sentences_warning(model_dir, seen, scored):
    """The warning that ``seen`` of the ``scored`` sentences are ones ``model_dir`` trained on."""
    started = _started_from(model_dir)
    # A fine-tune's hashes hold its starting model's training too: told "its --train" alone,
    # a user searched the few hundred sentences of the fine-tune for them.
    base = (f"; or the training of {started}, which it was fine-tuned from with --init-from"
            if started else "")
    return (f"warning: {seen:,} of the {scored:,} sentences scored ({seen / scored:.1%}) are "
            f"sentences {model_dir} was trained on (its --train, and its --dev where --refit, "
            f"the entity preset's default, trained on it{base}): their score is no held-out "
            "score. Score a file it did not train on, or split dev: train --dev-sentences :N, "
            "evaluate --sentences N:")


def _started_from(model_dir):
    """The model ``model_dir`` was fine-tuned from (``train --init-from``'s, as given), or None
    (none, or no readable report)."""
    from beamtagger.model.tagger_spec import REPORT_FILE

    try:
        report = json.loads((pathlib.Path(model_dir) / REPORT_FILE).read_text(encoding="utf-8"))
        model = report["init_from"]["model"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return model if isinstance(model, str) else None


def _refit_on_these(model_dir, sentences):
    """"N sentences, M tokens" where ``sentences`` look like the dev corpus a refit model
    trained on (the same counts; its report keeps no digest of dev), else None. A user following
    "train --dev D" with "evaluate --data D" got a score of text the saved model had seen."""
    from beamtagger.model.tagger_spec import REPORT_FILE

    try:
        report = json.loads((pathlib.Path(model_dir) / REPORT_FILE).read_text(encoding="utf-8"))
        dev = report["dev"]
        refit = report.get("refit")
    except (OSError, ValueError, KeyError, TypeError):
        return None   # a bundled or hand-made model: no report to compare with
    tokens = sum(len(sentence.tokens) for sentence in sentences)
    if not refit or (dev.get("sentences"), dev.get("tokens")) != (len(sentences), tokens):
        return None
    return f"{len(sentences)} sentences, {tokens} tokens"


def _percent(value):
    return "n/a" if value is None else f"{100 * value:.2f}%"


def format_metrics(metrics):
    lines = [
        f"model {metrics['model']} on {metrics['data']}",
        f"{metrics['sentences']} sentences, {metrics['tokens']} tokens",
        f"token accuracy        {_percent(metrics['accuracy'])}",
        f"  in vocabulary       {_percent(metrics['in_vocabulary_accuracy'])} "
        f"({metrics['in_vocabulary_tokens']} tokens)",
        f"  out of vocabulary   {_percent(metrics['oov_accuracy'])} "
        f"({metrics['oov_tokens']} tokens)",
    ]
    if "unseen_form_tokens" in metrics:
        lines.append(f"  form unseen in training {_percent(metrics['unseen_form_accuracy'])} "
                     f"({metrics['unseen_form_tokens']} tokens)")
    for name, scores in metrics.get("groups", {}).items():
        lines.append(f"  {name:<20}{_percent(scores['accuracy'])} ({scores['tokens']} tokens)")
    if "entities" in metrics:
        entities = metrics["entities"]
        lines.append(f"entity micro F1       {_percent(entities['f1'])} "
                     f"(P {_percent(entities['precision'])}, R {_percent(entities['recall'])}, "
                     f"{entities['support']} entities)")
        for side in ("seen", "unseen"):
            if side in entities:
                scores = entities[side]
                lines.append(f"  {side + ' in training':<20}F1 {_percent(scores['f1'])} "
                             f"(P {_percent(scores['precision'])}, "
                             f"R {_percent(scores['recall'])}, {scores['support']} entities)")
        for kind, scores in entities["per_type"].items():
            lines.append(f"  {kind:<20}F1 {_percent(scores['f1'])} ({scores['support']})")
    if "positive" in metrics:
        positive = metrics["positive"]
        lines.append(f"positive class {positive['label']!r} at threshold "
                     f"{positive['threshold']}: F1 {_percent(positive['f1'])} "
                     f"(P {_percent(positive['precision'])}, R {_percent(positive['recall'])}, "
                     f"{positive['support']} tokens)")
    if "thresholds" in metrics:
        lines.append(f"{'threshold':>11}{'precision':>10}{'recall':>10}{'f1':>10}{'flagged':>9}")
        for row in metrics["thresholds"]:
            # Every digit ("g" kept 6): 0.9999991 and 0.9999994 were two rows of 0.999999.
            lines.append(f"{row['threshold']!s:>11}{100 * row['precision']:>10.2f}"
                         f"{100 * row['recall']:>10.2f}{100 * row['f1']:>10.2f}"
                         f"{row['flagged']:>9}")
    lines.append(f"{'label':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for label, scores in metrics["per_label"].items():
        lines.append(f"{label:<16}{100 * scores['precision']:>10.2f}{100 * scores['recall']:>10.2f}"
                     f"{100 * scores['f1']:>10.2f}{scores['support']:>9}")
    if metrics["unknown_tags"]:
        lines.append(f"tags unknown to the model (counted as errors): {metrics['unknown_tags']}")
    if "spans" in metrics:
        spans = metrics["spans"]
        lines.append(f"spans of {metrics['data']}: {spans['read']} read, "
                     f"{spans['snapped_to_tokens']} widened to whole tokens (a start or end "
                     "inside a token)")
    return "\n".join(lines)
