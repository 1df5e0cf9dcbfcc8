"""Quality on styled text: EWT dev and WNUT-17 dev with their words written full-width, in
mathematical bold, or (as social posts do) a share of the sentences in one of three styles.

Social media text writes words in Unicode's compatibility characters for their look
(``beamtagger.unicode_styles``). The corpora hold none, so styled copies are made, each word's
letters and digits replaced (and in full-width its punctuation too; tags and sentence breaks
stay), in the word column and in CoNLL-U's ``# text`` lines alike:

- ``full-width``: every ASCII character but the space full-width (U+FF01-FF5E,
  "ＢＲＥＡＫＩＮＧ：ｔｈｅ"), punctuation too
- ``bold``: every ASCII letter and digit mathematical bold (U+1D400, U+1D41A, U+1D7CE)
- ``mixed``: a share of the sentences (default 20%, seeded) styled, each in full-width,
  mathematical bold or mathematical sans-serif italic (U+1D608, U+1D622; digits plain),
  chosen at random

and each copy is scored by ``beamtagger evaluate`` in a child process run in the checkout
named by ``--code`` (default: this one), so two checkouts compare on the same copies. The copies
go under ``--work`` (default /tmp/beamtagger-styled), never into the repository.

  python bench/styled_text_quality.py                     # EWT dev, the bundled UPOS tagger
  python bench/styled_text_quality.py --entity-model M --entity-sentences 505:
  python bench/styled_text_quality.py --code /path/to/other/checkout
  python bench/styled_text_quality.py --tiny              # the first 200 sentences

The copies' raw text (``# text``) is what bench/raw_text_quality.py --data tokenizes and tags:
  python bench/raw_text_quality.py --data /tmp/beamtagger-styled/en_ewt-ud-dev.full-width.conllu

Prints the JSON report on stdout and a markdown table on stderr.
"""
import argparse
import json
import os
import pathlib
import random
import subprocess
import sys

import bench_common

WNUT_DEV = bench_common.SHARED_DATA / "wnut17" / "emerging.dev.conll"
STYLES = ("plain", "full-width", "bold", "mixed")
TINY_SENTENCES = 200
TEXT_LINE = "# text = "


def _shifted(upper, lower, digit):
    """A str.translate table moving A-Z, a-z (and 0-9 where ``digit``) to those code points."""
    table = {}
    for first, start in ((ord("A"), upper), (ord("a"), lower), (ord("0"), digit)):
        if start is not None:
            table.update({first + i: start + i for i in range(10 if first == ord("0") else 26)})
    return table


# Full-width text is full-width throughout, marks as well as letters ("ｍａｔ，ｈｅｌｌｏ"):
# U+FF01-FF5E are the forms of ASCII "!" to "~", a fixed offset away.
FULL_WIDTH = {code: code + 0xFEE0 for code in range(ord("!"), ord("~") + 1)}
BOLD = _shifted(0x1D400, 0x1D41A, 0x1D7CE)
SANS_ITALIC = _shifted(0x1D608, 0x1D622, None)
MIXED_TABLES = (FULL_WIDTH, BOLD, SANS_ITALIC)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="UPOS model for EWT dev (default: the bundled one)")
    parser.add_argument("--entity-model", help="WNUT-17 entity model (default: none, no WNUT)")
    parser.add_argument("--entity-sentences", default=None,
                        help="evaluate --sentences for WNUT-17 dev, e.g. '505:'")
    parser.add_argument("--embeddings", help="store (default: the default store)")
    parser.add_argument("--code", type=pathlib.Path, default=bench_common.REPO_ROOT,
                        help="checkout whose beamtagger evaluates (default: this one)")
    parser.add_argument("--work", type=pathlib.Path, default=pathlib.Path("/tmp/beamtagger-styled"))
    parser.add_argument("--share", type=float, default=0.2, help="styled share of 'mixed'")
    parser.add_argument("--seed", type=int, default=0, help="seed of 'mixed'")
    parser.add_argument("--tiny", action="store_true", help=f"the first {TINY_SENTENCES} sentences")
    return parser.parse_args(argv)


def sentences_of(path):
    """The file's sentences as lists of lines (a blank line, or one of spaces or tabs, ends
    one); comment lines stay with their sentence."""
    sentence = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if line.strip():
                sentence.append(line)
            elif sentence:
                yield sentence
                sentence = []
    if sentence:
        yield sentence


def styled_line(line, corpus_format, table):
    """``line`` with the word column (CoNLL-U FORM, CoNLL's first) translated by ``table``,
    and a CoNLL-U ``# text`` line too, so that the copy's raw text (bench/raw_text_quality.py
    --data) is styled as its words are."""
    if line.startswith(TEXT_LINE):
        return TEXT_LINE + line[len(TEXT_LINE):].translate(table)
    if line.startswith("#"):
        return line
    columns = line.split("\t")
    word = 1 if corpus_format == "conllu" else 0
    columns[word] = columns[word].translate(table)
    return "\t".join(columns)


def write_copies(source, corpus_format, work, share, seed, limit):
    """{style: path} of the styled copies of ``source``, each sentence's lines in order."""
    sentences = list(sentences_of(source))[:limit]
    chooser = random.Random(seed)
    mixed_tables = [chooser.choice(MIXED_TABLES) if chooser.random() < share else None
                    for _ in sentences]
    paths = {}
    for style in STYLES:
        path = work / f"{source.stem}.{style}.{corpus_format}"
        tables = {"plain": [None] * len(sentences), "full-width": [FULL_WIDTH] * len(sentences),
                  "bold": [BOLD] * len(sentences), "mixed": mixed_tables}[style]
        with open(path, "w", encoding="utf-8") as out:
            for sentence, table in zip(sentences, tables):
                out.write("".join((styled_line(line, corpus_format, table) if table else line)
                                  + "\n" for line in sentence) + "\n")
        paths[style] = path
    return paths, sum(table is not None for table in mixed_tables), len(sentences)


def evaluate(code, data, corpus_format, model=None, embeddings=None, sentences=None):
    command = [sys.executable, "-m", "beamtagger", "evaluate", "--data", str(data),
               "--format", corpus_format, "--json"]
    for flag, value in (("--model", model), ("--embeddings", embeddings),
                        ("--sentences", sentences)):
        if value:
            command += [flag, str(value)]
    completed = subprocess.run(command, cwd=code, capture_output=True, text=True,
                               env={**os.environ, **bench_common.CHILD_ENV})
    if completed.returncode != 0:
        raise SystemExit(f"evaluate failed on {data}:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout)


def main(argv=None):
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    limit = TINY_SENTENCES if args.tiny else None
    corpora = [("EWT dev", "UPOS accuracy", bench_common.EWT_DEV, "conllu", args.model, None,
                lambda result: result["accuracy"])]
    if args.entity_model:
        corpora.append(("WNUT-17 dev" + (f" [{args.entity_sentences}]"
                                         if args.entity_sentences else ""),
                        "entity F1", WNUT_DEV, "conll", args.entity_model,
                        args.entity_sentences, lambda result: result["entities"]["f1"]))
    report = {"code": str(args.code.resolve()), "share": args.share, "seed": args.seed,
              "corpora": []}
    for name, metric, source, corpus_format, model, sentences, score_of in corpora:
        paths, mixed_styled, count = write_copies(source, corpus_format, args.work, args.share,
                                                  args.seed, limit)
        scores = {}
        for style, path in paths.items():
            result = evaluate(args.code, path, corpus_format, model, args.embeddings, sentences)
            scores[style] = {"score": score_of(result), "oov_tokens": result["oov_tokens"],
                             "tokens": result["tokens"]}
            print(f"[styled_text_quality] {name} {style}: {metric} {score_of(result):.4f}",
                  file=sys.stderr, flush=True)
        report["corpora"].append({"corpus": name, "metric": metric, "sentences": count,
                                  "mixed_styled_sentences": mixed_styled, "scores": scores})
    print(json.dumps(report, indent=1))
    print(render(report), file=sys.stderr)


def render(report):
    lines = [f"code: {report['code']}", "",
             "| corpus | metric | " + " | ".join(STYLES) + " |",
             "|---|---|" + "---|" * len(STYLES)]
    for corpus in report["corpora"]:
        cells = [f"{100 * corpus['scores'][style]['score']:.2f} "
                 f"({corpus['scores'][style]['oov_tokens']:,} OOV)" for style in STYLES]
        lines.append(f"| {corpus['corpus']} | {corpus['metric']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
