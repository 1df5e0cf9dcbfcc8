"""What chunking costs long records in labels and in tokens: documents tagged whole against tagged
in overlapping chunks (``transforms/chunks.chunk_spans``), at the model level (no Beam).

Documents are consecutive sentences of a corpus joined (15 to 60 a document, seeded), so the
gold labels of the sentences are the documents' gold labels. For each way of cutting:
- accuracy against the gold labels (UPOS corpora only; WNUT's tags are entities);
- agreement with the document tagged whole, in one sequence (the labels chunking changes);
- the tokens the model runs, over the documents' tokens.

Ways of cutting: ``end`` puts the last chunk's end at the record's end, as ``chunk_spans`` did
up to 2026-12-05 (every chunk ``chunk`` tokens long, so a record of 260 tokens ran two full
chunks, 512 tokens); ``remainder`` is ``chunk_spans`` since: the last chunk starts one stride
after the one before, like every other chunk, so it is shorter, and every boundary keeps the
same context on each side (half the overlap at least).

  python bench/chunking_quality.py [--model DIR] [--overlaps 16,32,64] [--out FILE]

``--count-text FILE`` only counts, for a text file of one record a line (tokenized as
``beamtagger tag`` does), the tokens each way of cutting runs over the file's tokens.
"""
import argparse
import json
import pathlib
import sys

import numpy as np

import bench_common


def spans_end_aligned(length, chunk, overlap):
    """The cut of ``chunk_spans`` before 2026-12-05: the last chunk ends at the record's end,
    ``chunk`` tokens long like every other."""
    from beamtagger.transforms.chunks import ChunkSpan
    if length <= chunk:
        return [ChunkSpan(0, length, 0, length)]
    stride = chunk - overlap
    starts = list(range(0, length - chunk, stride)) + [length - chunk]
    spans, keep_start = [], 0
    for k, start in enumerate(starts):
        # Each token owned by the chunk whose centre it is nearest (ties to the first).
        keep_end = ((start + starts[k + 1] + chunk - 1) // 2 + 1 if k + 1 < len(starts)
                    else length)
        spans.append(ChunkSpan(start, start + chunk, keep_start, keep_end))
        keep_start = keep_end
    return spans


def documents(sentences, seed, smallest=15, largest=60):
    rng = np.random.default_rng(seed)
    docs, i = [], 0
    while i < len(sentences):
        n = int(rng.integers(smallest, largest + 1))
        group = sentences[i:i + n]
        docs.append((tuple(t for s in group for t in s.tokens),
                     tuple(t for s in group for t in s.tags)))
        i += n
    return docs


class Tagger:
    def __init__(self, model_dir, store_path):
        from beamtagger.embeddings.store import EmbeddingStore
        from beamtagger.model.numpy_inference import NumpyTaggerRunner
        self.runner = NumpyTaggerRunner.load(model_dir)
        self.store = EmbeddingStore.open(store_path)

    def probs(self, token_lists):
        """One (length, L) probability array per token list."""
        from beamtagger.corpus_readers import Sentence
        from beamtagger.model.batching import pad_batch, token_budget_batches
        from beamtagger.model.encoding import encode_sentences
        sentences = [Sentence(str(i), tokens, ("_",) * len(tokens), "", 0)
                     for i, tokens in enumerate(token_lists)]
        corpus = encode_sentences(sentences, self.store, self.runner.spec.featurizer)
        out = [None] * len(token_lists)
        for indices in token_budget_batches(corpus.lengths, 16384):
            inputs, _, _ = pad_batch(corpus, indices, self.store)
            probs = self.runner.predict(inputs)
            for row, i in enumerate(indices):
                out[i] = probs[row, :corpus.lengths[i]]
        return out

    def tag(self, docs, cut):
        """(labels a document, tokens run) with the documents cut by ``cut`` (None: whole)."""
        pieces, owners = [], []
        for d, (tokens, _) in enumerate(docs):
            for span in (cut(len(tokens)) if cut else [None]):
                pieces.append(tokens if span is None else tokens[span.start:span.end])
                owners.append((d, span))
        probs = self.probs(pieces)
        stitched = [[] for _ in docs]
        for (d, span), piece_probs in zip(owners, probs):
            stitched[d].append(piece_probs if span is None else piece_probs[
                span.keep_start - span.start:span.keep_end - span.start])
        spec = self.runner.spec
        labels = []
        for parts in stitched:
            whole = np.concatenate(parts)
            labels.append(tuple(spec.decode(whole, len(whole))[0]))
        return labels, sum(map(len, pieces))


def compare(tagger, docs, cuts, with_gold):
    whole, _ = tagger.tag(docs, None)
    tokens = sum(len(tokens) for tokens, _ in docs)
    rows = {}
    for name, cut in [("whole", None), *cuts.items()]:
        labels, run = (whole, tokens) if cut is None else tagger.tag(docs, cut)
        flat = [label for doc in labels for label in doc]
        row = {"tokens_run_over_tokens": run / tokens,
               "differ_from_whole": sum(a != b for a, b in zip(
                   flat, (label for doc in whole for label in doc)))}
        if with_gold:
            gold = [tag for _, tags in docs for tag in tags]
            row["accuracy"] = sum(a == b for a, b in zip(flat, gold)) / len(gold)
        rows[name] = row
    return {"documents": len(docs), "tokens": tokens, "cuts": rows}


def count_text(path, chunk, overlaps):
    from beamtagger.tokenizer import Tokenizer
    from beamtagger.transforms.chunks import chunk_spans
    tokenizer = Tokenizer()
    with open(path, encoding="utf-8") as lines:
        lengths = [len(tokenizer.tokenize(line.rstrip("\n"))) for line in lines]
    tokens = sum(lengths)
    ratios = {}
    for overlap in overlaps:
        for name, spans in (("end", spans_end_aligned), ("remainder", chunk_spans)):
            run = sum(span.end - span.start for n in lengths for span in spans(n, chunk, overlap))
            ratios[f"{name} {chunk}/{overlap}"] = run / tokens
    return {"records": len(lengths), "tokens": tokens, "long_records": sum(
        n > chunk for n in lengths), "tokens_run_over_tokens": ratios}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: the bundled UPOS tagger)")
    parser.add_argument("--embeddings", help="its store (default: the default store)")
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--overlaps", default="16,32,64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=pathlib.Path)
    parser.add_argument("--count-text", type=pathlib.Path,
                        help="only count the tokens run on this text file's records")
    args = parser.parse_args(argv)
    if args.count_text:
        print(json.dumps(count_text(args.count_text, args.chunk,
                                    list(map(int, args.overlaps.split(",")))), indent=1))
        return 0
    bench_common.require_shared_data()
    from beamtagger.corpus_readers import read_conll, read_conllu
    from beamtagger.embeddings.default import default_store_path
    from beamtagger.transforms.chunks import chunk_spans
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR
    tagger = Tagger(args.model or DEFAULT_MODEL_DIR, args.embeddings or default_store_path())
    is_upos = "NOUN" in tagger.runner.spec.labels
    ewt = bench_common.EWT_DEV
    corpora = {
        "EWT dev (UPOS gold)": (list(read_conllu(ewt)), is_upos),
        "WNUT-17 dev (tweets)": (list(read_conll(bench_common.WNUT_DEV)),
                                 not is_upos),
    }
    cuts = {}
    for overlap in map(int, args.overlaps.split(",")):
        for name, spans in (("end", spans_end_aligned), ("remainder", chunk_spans)):
            cuts[f"{name} {args.chunk}/{overlap}"] = (
                lambda length, spans=spans, overlap=overlap: spans(length, args.chunk, overlap))
    report = {"date": bench_common.now(), "machine": bench_common.machine(),
              "command": "python bench/chunking_quality.py " + " ".join(sys.argv[1:]),
              "model": str(args.model or "bundled"), "corpora": {}}
    for name, (sentences, with_gold) in corpora.items():
        docs = documents(sentences, args.seed)
        report["corpora"][name] = compare(tagger, docs, cuts, with_gold)
        print(f"{name}: {json.dumps(report['corpora'][name], indent=1)}", file=sys.stderr)
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
