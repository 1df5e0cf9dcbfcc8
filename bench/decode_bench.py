"""What decoding the tagger's outputs costs a token: row by row (``TaggerSpec.decode`` for each
record, what the tag stage did for BIO tag sets) against the whole batch at once
(``batch_decoding.decode_batch_flat``: the argmax, or the BIO constrained Viterbi over every row,
``viterbi.ConstrainedViterbi``), and each record cut to its own length and decoded with the
others (``batch_decoding.decode_ragged``: RunInference's handler, long records once
stitched), side by side in one process.

The batches are shaped as the tag stage shapes them: a corpus's sentence lengths bucketed by the
runtime's widths under a slot budget (``transforms.bucket.length_batches``). The probabilities
are seeded Dirichlet draws (their values do not change the cost; concentration 0.3 gives peaked
rows as a trained tagger does; a CRF head reads them as emission scores). The label sets:
WNUT-17's 13 BIO labels (Viterbi), the 17 UPOS tags plus "_" (argmax) and WNUT-17's labels
under a CRF head with seeded scores, or those of ``--model``. The three ways' labels and
scores are compared before anything is timed; a difference fails the run.

  python bench/decode_bench.py                       # WNUT-17 train lengths, 16,384 slots
  python bench/decode_bench.py --budget 65536 --corpus ../shared/data/ud-english-ewt/...conllu
"""
import argparse
import json
import pathlib
import sys
import time

import numpy as np

import bench_common
from bench_models import LABELS as UPOS_LABELS

sys.path.insert(0, str(bench_common.REPO_ROOT))

WNUT_TRAIN = bench_common.SHARED_DATA / "wnut17" / "wnut17train.conll"
WNUT_LABELS = ["O"] + [f"{prefix}-{kind}" for kind in ("corporation", "creative-work", "group",
                                                        "location", "person", "product")
                       for prefix in "BI"]


def corpus_lengths(path):
    from beamtagger.corpus_readers import read_corpus

    kind = "conllu" if str(path).endswith(".conllu") else "conll"
    return [len(s.tokens) for s in read_corpus(str(path), kind) if s.tokens]


def spec_for(labels, model=None, head="softmax"):
    from beamtagger.model.features import TokenFeaturizer
    from beamtagger.model.tagger_spec import TaggerSpec

    if model is not None:
        return TaggerSpec.load(model)
    binding = {"fingerprint": "bench", "dim": 50, "normalization": ["lower"]}
    spec = TaggerSpec(labels, head, TokenFeaturizer(), binding, {})
    if head == "crf":   # seeded learned scores; the BIO constraints are added as -inf
        rng = np.random.default_rng(1)
        size = len(labels)
        spec.set_crf(rng.normal(size=size), rng.normal(size=(size, size)), rng.normal(size=size))
    return spec


def shaped_batches(lengths, budget, runtime, labels, seed=0):
    from beamtagger.model import runtimes
    from beamtagger.transforms.bucket import bucket_length, length_batches

    widths = runtimes.bucket_widths(runtime)
    rng = np.random.default_rng(seed)
    out = []
    for indices in length_batches(lengths, budget, widths):
        batch_lengths = np.array([lengths[i] for i in indices], dtype=np.int32)
        width = bucket_length(int(batch_lengths.max()), widths)
        probs = rng.dirichlet(np.full(len(labels), 0.3), size=(len(indices), width))
        out.append((probs.astype(np.float32), batch_lengths))
    return out


def row_by_row(spec, probs, lengths):
    index = {label: i for i, label in enumerate(spec.labels)}
    label_ids, scores = [], []
    for b, n in enumerate(lengths.tolist()):
        labels, row_scores = spec.decode(probs[b], n)
        label_ids.extend(index[label] for label in labels)
        scores.append(row_scores)
    return np.asarray(label_ids, np.int32), np.concatenate(scores)


def records_together(spec, probs, lengths):
    """Each row cut to its own length first, then ``decode_ragged``: how RunInference's
    handler and StitchChunks decode the records they hold."""
    from beamtagger.model.batch_decoding import decode_ragged

    index = {label: i for i, label in enumerate(spec.labels)}
    decoded = decode_ragged(spec, [probs[b, :n] for b, n in enumerate(lengths.tolist())])
    label_ids = [index[label] for labels, _ in decoded for label in labels]
    return np.asarray(label_ids, np.int32), np.concatenate([s for _, s in decoded])


def measure(spec, batches, repeats):
    from beamtagger.model.batch_decoding import decode_batch_flat

    tokens = int(sum(lengths.sum() for _, lengths in batches))
    ways = {"row by row": row_by_row, "whole batch": decode_batch_flat,
            "records together": records_together}
    for probs, lengths in batches:
        expected, *others = (way(spec, probs, lengths) for way in ways.values())
        for found in others:
            if not (np.array_equal(expected[0], found[0])
                    and np.array_equal(expected[1], found[1])):
                raise SystemExit("two ways decoded a batch differently")
    seconds = {}
    for name, way in ways.items():
        runs = []
        for _ in range(repeats):
            started = time.process_time()
            for probs, lengths in batches:
                way(spec, probs, lengths)
            runs.append(time.process_time() - started)
        seconds[name] = min(runs)
    result = {name: {"cpu_s": round(s, 4), "ns_per_token": round(s / tokens * 1e9, 1)}
              for name, s in seconds.items()}
    result["row by row over whole batch"] = round(seconds["row by row"] / seconds["whole batch"],
                                                  1)
    return tokens, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=pathlib.Path, default=WNUT_TRAIN,
                        help="where the sentence lengths come from (CoNLL-U or CoNLL)")
    parser.add_argument("--budget", type=int, default=16384, help="padded slots a batch")
    parser.add_argument("--runtime", default="numpy", help="whose bucket widths (numpy, jax)")
    parser.add_argument("--model", type=pathlib.Path,
                        help="decode with this model's labels and decoding instead")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, help="first N sentences only (smoke runs)")
    args = parser.parse_args(argv)
    lengths = corpus_lengths(args.corpus)[:args.limit]
    report = {"date": bench_common.now(), "machine": bench_common.machine(),
              "command": "python bench/decode_bench.py " + " ".join(sys.argv[1:]),
              "corpus": str(args.corpus), "sentences": len(lengths), "budget": args.budget,
              "label_sets": {}}
    label_sets = ({"model": (None, None)} if args.model else
                  {"WNUT-17 BIO (Viterbi)": (WNUT_LABELS, "softmax"),
                   "UPOS (argmax)": (UPOS_LABELS, "softmax"),
                   "WNUT-17 BIO, CRF head": (WNUT_LABELS, "crf")})
    for name, (labels, head) in label_sets.items():
        spec = spec_for(labels, args.model, head)
        batches = shaped_batches(lengths, args.budget, args.runtime, spec.labels)
        tokens, result = measure(spec, batches, args.repeats)
        report["label_sets"][name] = {"labels": len(spec.labels), "head": spec.head,
                                      "viterbi": bool(spec.decoding.get("viterbi")),
                                      "tokens": tokens, "batches": len(batches), **result}
        print(f"{name}: row by row {result['row by row']['ns_per_token']} ns/token, whole "
              f"batch {result['whole batch']['ns_per_token']} "
              f"({result['row by row over whole batch']}x), records together "
              f"{result['records together']['ns_per_token']}", file=sys.stderr, flush=True)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
