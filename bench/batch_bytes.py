"""Bytes a token of the Arrow batches that cross from the vectors' stage to the tag stage, with
the vectors attached (float32, float16) and with store rows instead (``vectors_at="tag"``).

EWT train's sentences as whole records (their tokens, their offsets), the bundled model's
featurizer and the default store, batched by length as BucketByLength does at a slot budget;
each batch's Arrow buffers (``RecordBatch.nbytes``) and its encoding by the coder that carries
it between stages (``ArrowRecordBatchCoder``, one IPC stream a batch), over the real tokens.
D=300 is computed from the D=50 figures: the vectors' bytes times 6, everything else the same.

  python bench/batch_bytes.py [--max-batch-tokens 65536]
"""
import argparse
import sys

import bench_common


def batch_bytes(max_batch_tokens):
    from beamtagger.corpus_readers import read_corpus
    from beamtagger.embeddings.default import open_store
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR, TaggerSpec
    from beamtagger.transforms.arrow_batches import ArrowRecordBatchCoder, build_record_batch
    from beamtagger.transforms.bucket import length_batches
    from beamtagger.transforms.records import Segment

    spec = TaggerSpec.load(DEFAULT_MODEL_DIR)
    store = open_store()
    sentences = [s for s in read_corpus(str(bench_common.EWT_TRAIN), "conllu") if s.tokens]
    segments = []
    for sentence in sentences:
        starts, offset = [], 0
        for token in sentence.tokens:
            starts.append(offset)
            offset += len(token) + 1
        segments.append(Segment(sentence.sent_id, tuple(sentence.tokens), sentence.sent_id,
                                tuple(starts), tuple(s + len(t) for s, t in
                                                     zip(starts, sentence.tokens))))
    groups = list(length_batches([len(s.tokens) for s in segments], max_batch_tokens))
    tokens = sum(len(s.tokens) for s in segments)
    coder = ArrowRecordBatchCoder()
    rows = {}
    for name, dtype, store_rows in (("vectors float32", "float32", False),
                                    ("vectors float16", "float16", False),
                                    ("store rows (vectors_at=tag)", "float32", True)):
        buffers = encoded = vectors = 0
        for group in groups:
            batch, _ = build_record_batch([segments[i] for i in group], store, spec.featurizer,
                                          dtype, spec.inputs_fingerprint,
                                          store_rows=store_rows)
            buffers += batch.nbytes
            encoded += len(coder.encode(batch))
            column = "store_rows" if store_rows else "vectors"
            vectors += batch.column(column).nbytes
        rows[name] = {"buffers": buffers / tokens, "encoded": encoded / tokens,
                      "words": vectors / tokens, "store_rows": store_rows}
    return {"tokens": tokens, "batches": len(groups), "dim": store.dim, "rows": rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-batch-tokens", type=int, default=16384)
    args = parser.parse_args(argv)
    bench_common.require_shared_data()
    result = batch_bytes(args.max_batch_tokens)
    dim = result["dim"]
    print(f"EWT train, {result['tokens']:,} tokens in {result['batches']} batches of at most "
          f"{args.max_batch_tokens:,} slots; D={dim}; bytes a token:")
    print("| batches carry | words (vectors or rows) | Arrow buffers | encoded (IPC) | "
          "encoded at D=300 (computed) |")
    print("|---|---|---|---|---|")
    for name, row in result["rows"].items():
        at_300 = row["encoded"] + (0 if row["store_rows"] else row["words"] * (300 / dim - 1))
        print(f"| {name} | {row['words']:.1f} | {row['buffers']:.1f} | {row['encoded']:.1f} | "
              f"{at_300:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
