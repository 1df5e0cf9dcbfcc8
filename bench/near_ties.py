"""How close the bundled model's top two probabilities come, and what float16 does to its labels.

A reduced precision anywhere on the GPU path (float16 vectors, the default there; float16
probabilities back from the device, a candidate) can only change a label where the top two
probabilities of a token lie closer than the error it adds. This counts such tokens on real
text (EWT and WNUT-17, train and dev: news, web, e-mail and social media; the bundled model
trained on EWT train) and the labels that change when

* the probabilities are rounded to float16 (what bringing them back in float16 would do), and
* the vectors are float16 (what ``--vector-dtype float16`` does),

each against float32 vectors and probabilities, with the NumPy runtime (the same arithmetic
as the TensorFlow runtime to within 1e-6; ``model_tagger_test.py``).

  python bench/near_ties.py          # needs ../shared/data; about a minute on 2 cores
"""
import argparse

import numpy as np

import bench_common
import gpu_bench   # its featurizing and batching, as the tag stage batches

CORPORA = (("ud-english-ewt/en_ewt-ud-train.conllu", "conllu"),
           ("ud-english-ewt/en_ewt-ud-dev.conllu", "conllu"),
           ("wnut17/wnut17train.conll", "conll"),
           ("wnut17/emerging.dev.conll", "conll"))
# float16's spacing just below 0.5: a top-two gap under it can vanish in rounding.
FLOAT16_SPACING = float(np.spacing(np.float16(0.499)))


def main(argv=None):
    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    from beamtagger.corpus_readers import read_corpus
    from beamtagger.embeddings.default import open_store
    from beamtagger.model.numpy_inference import NumpyTaggerRunner
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR

    bench_common.require_shared_data()
    runner = NumpyTaggerRunner.load(str(DEFAULT_MODEL_DIR))
    store = open_store(None)
    print(f"| corpus | tokens | top-2 gap < {FLOAT16_SPACING:.1e} | < 1e-3 | smallest gap | "
          "labels changed: probabilities in float16 | vectors in float16 |")
    print("|---|---|---|---|---|---|---|")
    totals = np.zeros(5, np.int64)
    for name, fmt in CORPORA:
        sentences = [list(s.tokens) for s in read_corpus(str(bench_common.SHARED_DATA / name),
                                                         fmt) if s.tokens]
        features = gpu_bench.featurized(sentences, store, runner.spec.featurizer)
        full = np.concatenate(gpu_bench.sentence_probs(runner, features, 16384, None))
        half = np.concatenate(gpu_bench.sentence_probs(runner, features, 16384, None,
                                                       "float16"))
        top_two = np.sort(full, axis=-1)[:, -2:]
        gaps = top_two[:, 1] - top_two[:, 0]
        labels = full.argmax(-1)
        row = np.array([len(labels), (gaps < FLOAT16_SPACING).sum(), (gaps < 1e-3).sum(),
                        (full.astype(np.float16).argmax(-1) != labels).sum(),
                        (half.argmax(-1) != labels).sum()])
        totals += row
        print(f"| {name.split('/')[-1]} | {row[0]:,} | {row[1]} | {row[2]} | {gaps.min():.1e} | "
              f"{row[3]} | {row[4]} |")
    print(f"| **all** | {totals[0]:,} | {totals[1]} | {totals[2]} | | {totals[3]} | "
          f"{totals[4]} |")


if __name__ == "__main__":
    main()
