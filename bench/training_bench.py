"""Training batching (issue 5, section 3): tokens/s of beamtagger's sorted, token-budgeted buckets
(``beamtagger.model.batching.token_budget_batches``, what ``beamtagger train`` uses) against
padding every batch to 128 tokens; same model, same sentences, one epoch each, target >= 4x.

Both runs go through the same ``keras.fit`` on a ``tf.data`` generator whose signature leaves B and
T unknown (as ``beamtagger.model.training`` does), so the only difference is how sentences are
grouped and padded. Each run is its own process. The clock covers one epoch after a two-batch
warm-up epoch that traces the train step.

  python bench/training_bench.py            # all of EWT train, units 128 (train's default)
  python bench/training_bench.py --tiny     # seconds, for CI
"""
import argparse
import itertools
import pathlib
import sys
import tempfile
import time

import numpy as np

import bench_common

TARGET = 4.0
PADDED_LENGTH = 128


def child(args):
    import keras
    import tensorflow as tf

    from beamtagger.corpus_readers import read_corpus
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model import batching
    from beamtagger.model.encoding import encode_sentences
    from beamtagger.model.tagger_model import Tagger
    from beamtagger.model.training import TrainingConfig, _signature, choose_labels
    from beamtagger.model.features import TokenFeaturizer

    config = TrainingConfig(units=args.units, batch_tokens=args.batch_tokens)
    store = EmbeddingStore.open(args.store)
    sentences = list(itertools.islice(
        (s for s in read_corpus(str(bench_common.EWT_TRAIN), "conllu") if s.tokens),
        args.sentences))
    labels, head = choose_labels(sentences)
    featurizer = TokenFeaturizer(config.special_tokens, config.oov_buckets,
                                 config.feature_columns)
    corpus = encode_sentences(sentences, store, featurizer, {l: i for i, l in enumerate(labels)})

    def batches(rng):
        if args.mode == "bucketed":
            return batching.token_budget_batches(corpus.lengths, config.batch_tokens, rng)
        return batching.fixed_size_batches(len(corpus), args.batch_size, rng)

    pad_to = PADDED_LENGTH if args.mode == "padded" else None
    epoch_number = [0]

    def generate(limit=None):
        rng = np.random.default_rng([config.seed, epoch_number[0]])
        epoch_number[0] += 1
        for indices in batches(rng)[:limit]:
            inputs, targets, weights = batching.pad_batch(
                corpus, indices, store, pad_to=pad_to, drop_rate=config.word_drop, rng=rng)
            yield inputs.as_dict(), targets, weights

    def dataset(limit=None):
        return tf.data.Dataset.from_generator(
            lambda: generate(limit),
            output_signature=_signature({"D": store.dim, "F": featurizer.num_feature_columns,
                                         "C": featurizer.char_width})).prefetch(2)

    keras.utils.set_random_seed(config.seed)
    model = Tagger(dim=store.dim, num_outputs=len(labels),
                   num_extra_rows=featurizer.num_extra_rows,
                   feature_sizes=featurizer.feature_sizes, feature_dim=config.feature_dim,
                   units=config.units, dropout=config.dropout)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=config.clipnorm),
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      reduction="mean_with_sample_weight"))
    model.fit(dataset(limit=2), epochs=1, verbose=0)  # traces the train step once
    plan = batches(np.random.default_rng([config.seed, epoch_number[0]]))
    slots = sum(len(indices) * (pad_to or int(corpus.lengths[indices].max()))
                for indices in plan)
    tokens = sum(int(np.minimum(corpus.lengths[indices], pad_to or 10 ** 9).sum())
                 for indices in plan)
    started = time.perf_counter()
    history = model.fit(dataset(), epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    bench_common.child_result(mode=args.mode, seconds=seconds, tokens=tokens, slots=slots,
                              batches=len(plan), sentences=len(corpus),
                              loss=float(history.history["loss"][-1]))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="120 sentences, 16 units (CI)")
    parser.add_argument("--sentences", type=int, default=None,
                        help="first N EWT train sentences (default: all 12,544)")
    parser.add_argument("--units", type=int, default=128,
                        help="LSTM units (default 128, beamtagger train's default)")
    parser.add_argument("--batch-tokens", type=int, default=2048,
                        help="token budget of a bucketed batch (beamtagger train's default)")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="sentences per padded batch (default 32, Keras' default)")
    parser.add_argument("--name", default="training")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("bucketed", "padded"), help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tiny:
        args.sentences, args.units = 120, 16
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        child(args)
        return 0
    bench_common.require_shared_data()
    from beamtagger.embeddings import default as default_store

    with tempfile.TemporaryDirectory(prefix="beamtagger-training-") as temp:
        store = (bench_common.tiny_store(pathlib.Path(temp)) if args.tiny
                 else default_store.ensure_default_store())
        results = {}
        for mode in ("bucketed", "padded"):
            print(f"[training] {mode} ...", file=sys.stderr, flush=True)
            results[mode] = bench_common.run_child(
                [__file__, "--child", "--mode", mode, "--store", store.path,
                 *(["--sentences", args.sentences] if args.sentences else []),
                 "--units", args.units,
                 "--batch-tokens", args.batch_tokens, "--batch-size", args.batch_size],
                label=f"training {mode}")
            results[mode]["tokens_per_s"] = results[mode]["tokens"] / results[mode]["seconds"]
            results[mode]["padding_efficiency"] = results[mode]["tokens"] / results[mode]["slots"]
    speedup = results["bucketed"]["tokens_per_s"] / results["padded"]["tokens_per_s"]
    command = "python bench/training_bench.py" + (" --tiny" if args.tiny else "")
    report = {"command": command, "date": bench_common.now(), "machine": bench_common.machine(),
              "sentences": args.sentences, "units": args.units,
              "batch_tokens": args.batch_tokens, "batch_size": args.batch_size,
              "store": {"path": store.path, "dim": store.dim, "count": store.count},
              "results": results, "speedup": speedup}
    bench_common.save_results(args.name, report, markdown(report))
    return 0


def markdown(report):
    r = report["results"]
    rows = [[mode, bench_common.fmt(r[mode]["batches"]), bench_common.fmt(r[mode]["tokens"]),
             bench_common.fmt(r[mode]["slots"]), bench_common.fmt(r[mode]["padding_efficiency"], 3),
             bench_common.fmt(r[mode]["seconds"], 1), bench_common.fmt(r[mode]["tokens_per_s"]),
             bench_common.fmt(r[mode]["peak_tree_rss_mib"])]
            for mode in ("bucketed", "padded")]
    return "\n".join([
        "## 3. Training batching", "",
        f"Command: `{report['command']}`. One epoch over "
        f"{report['results']['bucketed']['sentences']:,} EWT train sentences, tagger with "
        f"{report['units']} LSTM units"
        + (" (beamtagger train's default)" if report["units"] == 128 else "") + ", "
        f"store {report['store']['count']:,} x {report['store']['dim']}, Adam, same seed. "
        f"Bucketed: sorted by length, at most {report['batch_tokens']:,} padded tokens a batch "
        f"(`token_budget_batches`). Padded: {report['batch_size']} sentences a batch in shuffled "
        "order, every batch padded to 128 (longer sentences cut). The clock covers one epoch "
        "after a two-batch warm-up that traces the train step.", "",
        bench_common.markdown_table(
            ["batching", "batches", "real tokens", "padded slots", "padding efficiency",
             "seconds", "tokens/s", "peak RSS MiB"], rows),
        "| ratio | measured | target | verdict |", "|---|---|---|---|",
        bench_common.target_line("bucketed / padded tokens/s", report["speedup"], TARGET), ""])


if __name__ == "__main__":
    sys.exit(main())
