"""Tokenizer speed and agreement with EWT's own tokenization, on the EWT dev raw text.

The raw text is the ``# text = ...`` line of every dev sentence; the reference is EWT's word
segmentation of it (multi-word tokens such as "don't" count as their words "do" "n't", which
is what the taggers are trained on), placed on the text as character spans. Compared:

  beamtagger      beamtagger.tokenizer.Tokenizer (spaCy rules adjusted to EWT)
  spacy-default   spaCy's unmodified blank("en") tokenizer, to show what the adjustments buy
  nltk-treebank   NLTK's TreebankWordTokenizer().span_tokenize, when nltk is installed
                  (a bench-only dependency: pip install nltk)

Agreement: exact-match rate of whole sentences, and precision / recall / F1 of tokens as
(start, end) character spans. Speed: tokens/s and sentences/s over all dev sentences,
one call per sentence, best of --repeat passes on a warm tokenizer, plus the first
(cold-cache) pass of a fresh one, its construction time and a pickle round trip.

  python bench/tokenizer_bench.py            # full dev set (seconds)
  python bench/tokenizer_bench.py --tiny     # 200 sentences, one pass: correctness only
"""
import argparse
import os
import pickle
import sys
import time

import bench_common

from beamtagger.corpus_readers import read_conllu


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed passes (best is kept)")
    parser.add_argument("--limit", type=int, default=None, help="first N dev sentences only")
    parser.add_argument("--tiny", action="store_true", help="200 sentences, one pass")
    parser.add_argument("--no-nltk", action="store_true", help="skip NLTK even if installed")
    args = parser.parse_args(argv)
    if args.tiny:
        args.limit, args.repeat = args.limit or 200, 1
    return args


def ewt_reference(path, limit=None):
    """(raw text, EWT word spans) for each sentence of a CoNLL-U file with ``# text`` lines."""
    texts = {}
    sent_id = None
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("# sent_id = "):
                sent_id = line[len("# sent_id = "):].strip()
            elif line.startswith("# text = "):
                texts[sent_id] = line[len("# text = "):].rstrip("\n")
    pairs = []
    for sentence in read_conllu(path):
        text = texts[sentence.sent_id]
        spans = bench_common.word_spans(sentence.sent_id, text, sentence.tokens)
        pairs.append((text, spans))
        if limit and len(pairs) == limit:
            break
    return pairs


def candidates(use_nltk):
    """name -> (factory, function(tokenizer, text) -> list of (start, end))."""
    from beamtagger.tokenizer import Tokenizer

    def spacy_default():
        import spacy
        return spacy.blank("en").tokenizer

    found = {
        "beamtagger": (Tokenizer, lambda tok, text: [(t.start, t.end) for t in tok.tokenize(text)]),
        "spacy-default": (spacy_default, lambda tok, text: [
            (t.idx, t.idx + len(t.text)) for t in tok(text) if not t.text.isspace()]),
    }
    if use_nltk:
        try:
            from nltk.tokenize import TreebankWordTokenizer
        except ImportError:
            print("nltk is not installed: skipping the NLTK comparison (pip install nltk)",
                  file=sys.stderr)
        else:
            found["nltk-treebank"] = (TreebankWordTokenizer, nltk_spans)
    return found


def nltk_spans(tokenizer, text):
    try:
        return list(tokenizer.span_tokenize(text))
    except ValueError:
        # span_tokenize re-aligns its rewritten quotes (`` '') with the text and gives up on
        # some inputs; count the sentence as wholly wrong rather than crash.
        return []


def agreement(pairs, predicted):
    exact = true_positives = n_predicted = n_reference = 0
    for (_, reference), spans in zip(pairs, predicted):
        exact += spans == reference
        true_positives += len(set(spans) & set(reference))
        n_predicted += len(spans)
        n_reference += len(reference)
    precision = true_positives / n_predicted
    recall = true_positives / n_reference
    return {"sentences": len(pairs), "reference_tokens": n_reference,
            "predicted_tokens": n_predicted, "exact_match": exact / len(pairs),
            "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall)}


def measure(name, factory, spans_of, pairs, repeat):
    texts = [text for text, _ in pairs]
    started = time.perf_counter()
    tokenizer = factory()
    construct_s = time.perf_counter() - started
    started = time.perf_counter()
    predicted = [spans_of(tokenizer, text) for text in texts]
    cold_s = time.perf_counter() - started
    warm_s, warm_cpu_s = cold_s, float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        for text in texts:
            spans_of(tokenizer, text)
        warm_s = min(warm_s, time.perf_counter() - started)
        warm_cpu_s = min(warm_cpu_s, time.process_time() - started_cpu)
    tokens = sum(len(spans) for spans in predicted)
    result = {"name": name, "construct_s": construct_s, "tokens": tokens,
              "cold_tokens_per_s": tokens / cold_s, "tokens_per_s": tokens / warm_s,
              "sentences_per_s": len(texts) / warm_s,
              "tokens_per_cpu_s": tokens / warm_cpu_s if repeat else None}
    if name == "beamtagger":
        started = time.perf_counter()
        pickle.loads(pickle.dumps(tokenizer))
        result["pickle_round_trip_s"] = time.perf_counter() - started
        started = time.perf_counter()
        many = list(tokenizer.tokenize_many(texts))
        result["tokenize_many_tokens_per_s"] = sum(map(len, many)) / (
            time.perf_counter() - started)
    result.update(agreement(pairs, predicted))
    return result


def library_versions():
    versions = {}
    for name in ("spacy", "nltk"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    return versions


def markdown(report):
    rows = [[r["name"], f"{r['exact_match']:.1%}", f"{r['precision']:.2%}",
             f"{r['recall']:.2%}", f"{r['f1']:.2%}", bench_common.fmt(r["tokens_per_s"]),
             bench_common.fmt(r["sentences_per_s"]), bench_common.fmt(r["tokens_per_cpu_s"]),
             bench_common.fmt(r["cold_tokens_per_s"]), bench_common.fmt(r["construct_s"], 2)]
            for r in report["results"]]
    reference = report["results"][0]
    lines = ["## Tokenizer: speed and agreement with EWT", "",
             f"Command: `{report['command']}`. Text: the `# text` lines of EWT dev "
             f"({reference['sentences']:,} sentences, {reference['reference_tokens']:,} EWT "
             "words). One call per sentence, one process, best of "
             f"{report['repeat']} warm passes (beamtagger's warm passes find every chunk "
             "remembered; its first pass, a fresh tokenizer, cuts each distinct chunk once).", "",
             bench_common.markdown_table(
                 ["tokenizer", "exact sentences", "precision", "recall", "F1", "tokens/s",
                  "sentences/s", "tokens per CPU s", "tokens/s, first pass", "construct s"],
                 rows)]
    ours = next(r for r in report["results"] if r["name"] == "beamtagger")
    machine = report["machine"]
    lines += [f"beamtagger pickle round trip: {ours['pickle_round_trip_s']:.2f} s;"
              f" `tokenize_many`: {ours['tokenize_many_tokens_per_s']:,.0f} tokens/s. "
              f"Loading spaCy's English data the first time in a process: "
              f"{report['spacy_first_load_s']:.2f} s. Machine: {machine['cpu']}, "
              f"{machine['cores']} cores, load average {report['load_average'][0]:.1f} before / "
              f"{report['load_average'][1]:.1f} after (other jobs share it: the CPU-time rate is "
              "the steadier speed figure). Versions: "
              + ", ".join(f"{name} {version}" for name, version in report["versions"].items()
                          if version) + ".", ""]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    bench_common.require_shared_data()
    pairs = ewt_reference(bench_common.EWT_DEV, args.limit)
    # Load spaCy's English data once up front, so "construct s" compares the tokenizers
    # themselves and not who happened to import spaCy first.
    started = time.perf_counter()
    import spacy
    spacy.blank("en")
    spacy_load_s = time.perf_counter() - started
    load_before = os.getloadavg()[0]
    results = [measure(name, factory, spans_of, pairs, args.repeat)
               for name, (factory, spans_of) in candidates(not args.no_nltk).items()]
    report = {"command": " ".join(["python", "bench/tokenizer_bench.py"] + (argv or sys.argv[1:])),
              "when": bench_common.now(), "machine": bench_common.machine(),
              "load_average": [load_before, os.getloadavg()[0]],
              "spacy_first_load_s": spacy_load_s, "repeat": args.repeat,
              "versions": library_versions(), "results": results}
    bench_common.save_results("tokenizer" + ("-tiny" if args.tiny else ""), report,
                              markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
