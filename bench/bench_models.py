"""The models and inputs the benchmarks share: EWT text files, a beamtagger model directory with
random weights, and the "what a Keras user builds today" model with the embedding table inside.

Weights are random (seeded): throughput and memory do not depend on their values, and random
weights keep the benchmark independent of how well (or whether) a tagger has been trained.
"""
import pathlib

import numpy as np

import bench_common

# 17 UPOS tags plus "_": the 18 labels of the tagger size.
LABELS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
          "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X", "_"]
PADDED_LENGTH = 128
# Row 0 pads (mask_zero=True), row 1 is "unknown word", row i + 2 is store row i.
PAD_ID, OOV_ID, FIRST_WORD_ID = 0, 1, 2


def ewt_sentences(limit=None):
    """EWT train sentences (tokens only), in file order."""
    from beamtagger.corpus_readers import read_corpus

    sentences = []
    for sentence in read_corpus(str(bench_common.EWT_TRAIN), "conllu"):
        if sentence.tokens:
            sentences.append(sentence.tokens)
        if limit is not None and len(sentences) >= limit:
            break
    return sentences


def write_text_files(sentences, folder, target_tokens=None, parts=4):
    """Writes the sentences as plain text lines (space-joined tokens), repeated until the total
    reaches ``target_tokens`` (whole passes over the corpus, then a prefix of it), cut into
    ``parts`` files so that multi-worker runners have more than one file to split.

    Returns (glob pattern, number of lines, number of corpus tokens).
    """
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines, tokens = [], 0
    target = target_tokens or sum(map(len, sentences))
    while tokens < target:
        for sentence in sentences:
            if tokens >= target:
                break
            lines.append(" ".join(sentence))
            tokens += len(sentence)
    size = -(-len(lines) // parts)
    for part in range(parts):
        chunk = lines[part * size:(part + 1) * size]
        (folder / f"part-{part:02d}.txt").write_text("\n".join(chunk) + "\n", encoding="utf-8")
    return str(folder / "part-*.txt"), len(lines), tokens


def read_lines(pattern):
    import glob

    lines = []
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as handle:
            lines.extend(line.rstrip("\n") for line in handle if line.strip())
    return lines


def build_tagger_dir(store, model_dir, units=300, seed=0, featurizer_config=None):
    """A beamtagger model directory bound to ``store``, with random weights.

    The default featurizer (special tokens, hashed OOV rows, 6 casing/affix columns) is what
    ``beamtagger train`` uses, so the benchmarked network is the one users run; its LSTM input is
    wider than D (vectors + feature embeddings), which only makes our side slower.
    """
    import keras

    from beamtagger.model.features import TokenFeaturizer
    from beamtagger.model.saving import save_model_dir
    from beamtagger.model.tagger_model import Tagger
    from beamtagger.model.tagger_spec import TaggerSpec

    keras.utils.set_random_seed(seed)
    featurizer = (TokenFeaturizer.from_config(featurizer_config) if featurizer_config
                  else TokenFeaturizer())
    model = Tagger(dim=store.dim, num_outputs=len(LABELS),
                   num_extra_rows=featurizer.num_extra_rows,
                   feature_sizes=featurizer.feature_sizes, units=units)
    spec = TaggerSpec(labels=LABELS, head="softmax", featurizer=featurizer,
                      binding=TaggerSpec.binding_of(store), model_config=model.get_config())
    save_model_dir(model, spec, {"note": "random weights, for benchmarks"}, model_dir,
                   overwrite=True)
    return pathlib.Path(model_dir)


def build_embedded_keras_model(table, units=300, seed=0, length=PADDED_LENGTH):
    """The same BiLSTM tagger with the word vectors inside: ``Embedding(rows + 2, D,
    mask_zero=True)`` whose rows 2.. hold ``table`` (rows 0 and 1: padding, unknown word)."""
    import keras

    keras.utils.set_random_seed(seed)
    count, dim = table.shape
    ids = keras.Input((length,), dtype="int32", name="ids")
    embedding = keras.layers.Embedding(count + FIRST_WORD_ID, dim, mask_zero=True,
                                       name="embedding")
    x = embedding(ids)
    x = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True))(x)
    probs = keras.layers.Dense(len(LABELS), activation="softmax")(x)
    model = keras.Model(ids, probs)
    weights = np.zeros((count + FIRST_WORD_ID, dim), dtype=np.float32)
    weights[FIRST_WORD_ID:] = table
    embedding.set_weights([weights])
    return model


def vocabulary_index(store):
    """word -> id of the embedded model (store row + 2), read from the store's vocabulary."""
    import pyarrow.parquet as pq

    words = pq.read_table(pathlib.Path(store.path) / "vocab.parquet",
                          columns=["word"]).column(0).to_pylist()
    return {word: row + FIRST_WORD_ID for row, word in enumerate(words)}


class NoopTaggerRunner:
    """Stands in for ``TaggerRunner`` with the model taken out: the same spec and the same
    float32 (B, T, L) output (every token's probability mass on label 0), computed without
    TensorFlow. What the Beam stages around the model cost is then all a run costs."""

    def __init__(self, model_dir):
        from beamtagger.model.tagger_spec import TaggerSpec

        self.spec = TaggerSpec.load(model_dir)

    def predict(self, inputs):
        batch, time = inputs.vectors.shape[:2]
        probs = np.zeros((batch, time, len(self.spec.labels)), dtype=np.float32)
        probs[..., 0] = 1.0
        return probs

    def warm_up(self, vector_dtype="float32"):
        pass

    def tracing_counts(self):
        return {}

    def computed_slots(self, batch_size, width):
        return batch_size * width


def install_noop_tagger():
    """Makes every tag stage in this process load NoopTaggerRunner and skip TensorFlow (the
    in-process DirectRunner's workers are threads of this process)."""
    from beamtagger import tensorflow_setup
    from beamtagger.model import inference

    inference.TaggerRunner.load = classmethod(lambda cls, model_dir: NoopTaggerRunner(model_dir))
    tensorflow_setup.configure_tensorflow = lambda threads=None: None
