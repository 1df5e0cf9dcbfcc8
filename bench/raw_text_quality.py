"""What a user gets from raw text: EWT dev's sentences tagged from their ``# text`` lines by
``beamtagger tag`` (beamtagger's tokenizer, then the tagger), scored against EWT's words.

The quality figures elsewhere (``beamtagger evaluate``, docs/quality.md) give the tagger EWT's
own words. A user gives it text, which beamtagger's tokenizer cuts first (98.94% token F1
against EWT dev, docs/tokenizer.md); a word cut wrongly cannot be tagged right. Here:

- the raw text: each dev sentence's ``# text`` line, one sentence a line of a text file, tagged
  by ``beamtagger tag`` in a child process, as a user runs it (JSON Lines output);
- the reference: EWT's words placed on the text as character spans (multi-word tokens such as
  "don't" as their words "do" "n't", as bench/tokenizer_bench.py does), with their UPOS tags;
- the same sentences tagged on EWT's words, by ``beamtagger tag --input-format conllu`` (the
  labels word by word) and by ``beamtagger evaluate`` (the published figure).

Reported, overall and per genre (the sent_id prefix): token span precision / recall / F1;
UPOS accuracy over the gold words whose span was cut exactly; **end to end**, the gold words
cut exactly *and* tagged right over all gold words; and accuracy on gold words. The gap between
the last two splits into words cut wrongly (counted wrong end to end) and words cut right whose
tag changed because a neighbour was cut differently. The disagreements are then grouped (EWT's
words against the tokens cut for the same stretch of text) and ranked by the gold words they
cost, counting apart those the tagger labels right on EWT's words ("tags lost to the tokenizer").

  python bench/raw_text_quality.py [--model DIR] [--embeddings STORE] [--data CONLLU]
  python bench/raw_text_quality.py --tiny      # the first 200 sentences, for CI

Prints the JSON report on stdout and a markdown summary on stderr.
"""
import argparse
import collections
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import bench_common

from beamtagger.corpus_readers import read_conllu

TINY_SENTENCES = 200


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model directory (default: the bundled UPOS tagger)")
    parser.add_argument("--embeddings", help="its store (default: the default store)")
    parser.add_argument("--data", type=pathlib.Path, default=bench_common.EWT_DEV,
                        help="CoNLL-U file with '# text' lines and UPOS tags (default: EWT dev)")
    parser.add_argument("--limit", type=int, help="the first N sentences only")
    parser.add_argument("--tiny", action="store_true",
                        help=f"the first {TINY_SENTENCES} sentences")
    parser.add_argument("--top", type=int, default=25, help="disagreements listed")
    parser.add_argument("--work", type=pathlib.Path,
                        help="folder for the text file and the tag outputs (default: temporary)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.limit = args.limit or TINY_SENTENCES
    return args


def gold_sentences(path, limit=None):
    """One dict a sentence: sent_id, genre, text, EWT's words as (start, end) spans, their UPOS
    tags, and the CoNLL-U lines of the sentence (to tag the same sentences on gold words)."""
    texts, blocks, block = {}, [], []
    sent_id = None
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            block.append(line)
            if line.startswith("# sent_id = "):
                sent_id = line[len("# sent_id = "):].strip()
            elif line.startswith("# text = "):
                texts[sent_id] = line[len("# text = "):].rstrip("\n")
            elif not line.strip():
                if len(block) > 1:   # a second blank line in a row ends no sentence
                    blocks.append("".join(block))
                block = []
    if any(line.strip() for line in block):
        blocks.append("".join(block))
    sentences = []
    for sentence, lines in zip(read_conllu(path), blocks):
        text = texts[sentence.sent_id]
        spans = bench_common.word_spans(sentence.sent_id, text, sentence.tokens)
        sentences.append({"sent_id": sentence.sent_id,
                          "genre": sentence.sent_id.split("-", 1)[0], "text": text,
                          "spans": spans, "words": sentence.tokens, "tags": sentence.tags,
                          "conllu": lines})
        if limit and len(sentences) == limit:
            break
    return sentences


def run_cli(*args):
    """A beamtagger command in a child process, as a user runs it, from this checkout."""
    completed = subprocess.run([sys.executable, "-m", "beamtagger.pipeline.cli", *map(str, args)],
                               cwd=bench_common.REPO_ROOT, capture_output=True, text=True,
                               env={**os.environ, **bench_common.CHILD_ENV})
    if completed.returncode != 0:
        raise RuntimeError(f"beamtagger {args[0]} failed ({completed.returncode}):\n"
                           + completed.stderr[-4000:])
    return completed.stdout


def tag_records(work, name, input_path, model_args, *extra):
    """{record id: [(start, end, text, label), ...]} from ``beamtagger tag``'s JSON Lines, and
    the number of dead letters."""
    prefix = work / name / "run"
    run_cli("tag", "--input", input_path, "--output", prefix, "--output-format", "jsonl",
            "--progress-every", "0", *model_args, *extra)
    tagged = {}
    for path in sorted(prefix.parent.glob("run-?????-of-?????.jsonl")):
        with open(path, encoding="utf-8") as rows:
            for row in rows:
                record = json.loads(row)
                tagged[record["id"]] = [(t["start"], t["end"], t["text"], t["label"])
                                        for t in record["tokens"]]
    dead_letters = sum(1 for path in prefix.parent.glob("run-errors-?????-of-?????.jsonl")
                       for _ in open(path, encoding="utf-8"))
    return tagged, dead_letters


def disagreements(sentence, predicted):
    """The stretches of text where EWT's words and the tokens cut differ: maximal groups of
    overlapping gold words and predicted tokens, none of whose spans is in the other side.
    Yields (indices of the gold words, predicted tokens)."""
    gold_spans = set(sentence["spans"])
    predicted_spans = {(start, end) for start, end, _, _ in predicted}
    pieces = [(start, end, "gold", i) for i, (start, end) in enumerate(sentence["spans"])
              if (start, end) not in predicted_spans]
    pieces += [(start, end, "cut", token) for token in predicted
               for start, end in [token[:2]] if (start, end) not in gold_spans]
    pieces.sort(key=lambda piece: (piece[0], piece[1]))
    group, group_end = [], -1
    for piece in pieces:
        if group and piece[0] >= group_end:
            yield group
            group = []
        group.append(piece)
        group_end = max(group_end, piece[1]) if len(group) > 1 else piece[1]
    if group:
        yield group


class Tally:
    """The counts behind every figure of one row (a genre, or all)."""

    def __init__(self):
        self.sentences = self.exact_sentences = 0
        self.gold_words = self.predicted_tokens = self.spans_matched = 0
        self.matched_tagged_right = 0          # raw text: cut exactly and tagged right
        self.gold_tagged_right = 0             # tagged on EWT's words
        self.matched_gold_tagged_right = 0     # the matched words, tagged on EWT's words
        self.context_made_wrong = self.context_made_right = 0

    def add(self, sentence, predicted, gold_token_labels):
        self.sentences += 1
        label_at = {(start, end): label for start, end, _, label in predicted}
        self.exact_sentences += [(s, e) for s, e, _, _ in predicted] == sentence["spans"]
        self.gold_words += len(sentence["spans"])
        self.predicted_tokens += len(predicted)
        for span, tag, gold_token_label in zip(sentence["spans"], sentence["tags"],
                                               gold_token_labels):
            self.gold_tagged_right += gold_token_label == tag
            if span in label_at:
                self.spans_matched += 1
                self.matched_tagged_right += label_at[span] == tag
                self.matched_gold_tagged_right += gold_token_label == tag
                # The word was cut right, yet a neighbour cut differently can change its tag.
                self.context_made_wrong += gold_token_label == tag != label_at[span]
                self.context_made_right += gold_token_label != tag == label_at[span]

    def figures(self):
        precision = self.spans_matched / self.predicted_tokens if self.predicted_tokens else 0.0
        recall = self.spans_matched / self.gold_words
        return {
            "sentences": self.sentences, "gold_words": self.gold_words,
            "predicted_tokens": self.predicted_tokens, "spans_matched": self.spans_matched,
            "exact_sentences": self.exact_sentences / self.sentences,
            "span_precision": precision, "span_recall": recall,
            "span_f1": 2 * precision * recall / (precision + recall) if self.spans_matched else 0,
            "accuracy_on_matched_spans": self.matched_tagged_right / self.spans_matched,
            "end_to_end": self.matched_tagged_right / self.gold_words,
            "accuracy_on_gold_words": self.gold_tagged_right / self.gold_words,
            "gold_words_accuracy_on_matched_spans": (self.matched_gold_tagged_right
                                                     / self.spans_matched),
            "lost_to_cuts": self.gold_words - self.spans_matched,
            "context_made_wrong": self.context_made_wrong,
            "context_made_right": self.context_made_right,
        }


def measure(sentences, raw_tagged, gold_tagged, top):
    tallies = collections.defaultdict(Tally)
    patterns = collections.defaultdict(lambda: {"times": 0, "gold_words": 0,
                                                "tags_lost_to_the_tokenizer": 0,
                                                "example": None})
    for line_number, sentence in enumerate(sentences, start=1):
        predicted = raw_tagged.get(f"texts.txt:{line_number}", [])
        gold_token_labels = [label for _, _, _, label in gold_tagged[sentence["sent_id"]]]
        for row in (sentence["genre"], "all"):
            tallies[row].add(sentence, predicted, gold_token_labels)
        for group in disagreements(sentence, predicted):
            words = [piece[3] for piece in group if piece[2] == "gold"]
            cut = [piece[3][2] for piece in group if piece[2] == "cut"]
            key = (" ".join(sentence["words"][i] for i in words) + "  ->  "
                   + " ".join(cut)).lower()
            entry = patterns[key]
            entry["times"] += 1
            entry["gold_words"] += len(words)
            entry["tags_lost_to_the_tokenizer"] += sum(
                gold_token_labels[i] == sentence["tags"][i] for i in words)
            entry["example"] = entry["example"] or sentence["sent_id"]
    ranked = sorted(patterns.items(), key=lambda item: (-item[1]["tags_lost_to_the_tokenizer"],
                                                        -item[1]["gold_words"], item[0]))
    rows = {name: tally.figures() for name, tally in sorted(
        tallies.items(), key=lambda item: (item[0] == "all", item[0]))}
    return rows, {"distinct": len(patterns),
                  "gold_words": sum(entry["gold_words"] for entry in patterns.values()),
                  "tags_lost_to_the_tokenizer": sum(entry["tags_lost_to_the_tokenizer"]
                                                    for entry in patterns.values()),
                  "top": [{"pattern": key, **entry} for key, entry in ranked[:top]]}


def markdown(report):
    evaluate = report["evaluate"]
    rows = []
    for name, row in report["rows"].items():
        published = (evaluate["accuracy"] if name == "all"
                     else evaluate["groups"][name]["accuracy"])
        rows.append([name if name != "all" else "**all**", f"{row['gold_words']:,}",
                     f"{row['exact_sentences']:.1%}", f"{row['span_f1']:.2%}",
                     f"{row['accuracy_on_matched_spans']:.2%}",
                     f"{row['gold_words_accuracy_on_matched_spans']:.2%}",
                     f"**{row['end_to_end']:.2%}**", f"{published:.2%}",
                     f"{row['lost_to_cuts']:,}",
                     f"{row['context_made_wrong']:,} / {row['context_made_right']:,}"])
    lines = [bench_common.markdown_table(
        ["genre", "gold words", "sentences cut exactly", "token span F1",
         "UPOS acc. on words cut exactly", "the same words tagged on gold words",
         "end to end", "evaluate (gold words)", "words cut wrongly",
         "words cut right, tag made wrong / right by a neighbour's cut"],
        rows), "", "Disagreements costing the most tags (EWT's words  ->  tokens cut):", ""]
    lines.append(bench_common.markdown_table(
        ["EWT words  ->  tokens cut (lower-cased)", "times", "gold words",
         "of them tagged right on gold words", "example"],
        [[f"`{entry['pattern']}`", entry["times"], entry["gold_words"],
          entry["tags_lost_to_the_tokenizer"], entry["example"]]
         for entry in report["disagreements"]["top"]]))
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    bench_common.require_shared_data()
    sentences = gold_sentences(args.data, args.limit)
    with tempfile.TemporaryDirectory(prefix="raw-text-quality-") as scratch:
        work = args.work or pathlib.Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        texts = work / "texts.txt"
        texts.write_text("".join(sentence["text"] + "\n" for sentence in sentences),
                         encoding="utf-8")
        gold = work / "gold.conllu"
        gold.write_text("".join(sentence["conllu"] for sentence in sentences), encoding="utf-8")
        model_args = [*(["--model", args.model] if args.model else []),
                      *(["--embeddings", args.embeddings] if args.embeddings else [])]
        raw_tagged, raw_dead = tag_records(work, "raw", texts, model_args)
        gold_tagged, gold_dead = tag_records(work, "gold", gold, model_args,
                                             "--input-format", "conllu")
        evaluate = json.loads(run_cli("evaluate", "--data", gold, "--format", "conllu",
                                      "--by-sent-id-prefix", "--json", *model_args))
    rows, found = measure(sentences, raw_tagged, gold_tagged, args.top)
    report = {"date": bench_common.now(), "machine": bench_common.machine(),
              "command": " ".join(["python", "bench/raw_text_quality.py",
                                   *(argv if argv is not None else sys.argv[1:])]),
              "model": str(args.model or "bundled"), "data": str(args.data),
              "dead_letters": {"raw": raw_dead, "gold": gold_dead},
              "raw_records_tagged": len(raw_tagged), "rows": rows,
              "evaluate": {key: evaluate[key] for key in ("sentences", "tokens", "accuracy",
                                                          "groups")},
              "disagreements": found}
    print(markdown(report), file=sys.stderr)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
