"""Turning corpus sentences into the per-token arrays the tagger trains and evaluates on.

Vectors are not materialised here: a sentence keeps its store row numbers (-1 for OOV) and the
batcher gathers vectors from the memory-mapped store per batch, so a corpus costs a few bytes a
token in memory whatever the vector dimension.
"""
import dataclasses

import numpy as np

from beamtagger.errors import BeamtaggerError


@dataclasses.dataclass
class EncodedCorpus:
    sentences: list            # the Sentence objects, in input order
    rows: list                 # int64 (T,) store rows per sentence, -1 = out of vocabulary
    token_inputs: list         # {token-level model input: (T, ...) array} per sentence
    oov_extra_ids: list        # int32 (T,): the extra ids each token would get were it OOV
    targets: list              # int32 (T,) label indices (-1: tag unknown to the model), or None
    lengths: np.ndarray        # int32 (N,)
    unknown_tags: dict = dataclasses.field(default_factory=dict)  # tag -> (first place, count)
    form_column: object = None  # index of the featurizer's "form" column in feature_ids, or None

    def __len__(self):
        return len(self.sentences)

    @property
    def num_tokens(self):
        return int(self.lengths.sum())


def encode_sentences(sentences, store, featurizer, label_index=None, source="corpus"):
    """Encode sentences; ``label_index`` maps tag -> index (None: leave targets empty).

    A tag absent from ``label_index`` gets target -1 (it can never be predicted, so metrics
    count it as an error) and is listed in ``unknown_tags`` with its first place and count,
    for the caller to report.
    """
    sentences = [sentence for sentence in sentences if len(sentence.tokens)]
    if not sentences:
        raise BeamtaggerError(f"{source}: no sentences with tokens")
    encoded = EncodedCorpus(sentences, [], [], [], [], np.zeros(len(sentences), np.int32),
                            form_column=featurizer.form_column)
    for i, sentence in enumerate(sentences):
        rows = store.rows(sentence.tokens)
        in_vocab = rows >= 0
        encoded.rows.append(rows)
        encoded.token_inputs.append(featurizer.featurize(sentence.tokens, in_vocab))
        encoded.oov_extra_ids.append(
            featurizer.extra_ids(sentence.tokens, np.zeros(len(rows), dtype=bool)))
        encoded.lengths[i] = len(sentence.tokens)
        if label_index is None:
            encoded.targets.append(None)
            continue
        targets = np.empty(len(sentence.tokens), dtype=np.int32)
        for j, tag in enumerate(sentence.tags):
            index = label_index.get(tag)
            if index is None:
                first = f"{sentence.source}:{sentence.line}"
                place, count = encoded.unknown_tags.get(tag, (first, 0))
                encoded.unknown_tags[tag] = (place, count + 1)
                index = -1
            targets[j] = index
        encoded.targets.append(targets)
    return encoded


def describe_unknown_tags(unknown_tags, source):
    """One line naming the tags a corpus holds that the model has no label for."""
    total = sum(count for _, count in unknown_tags.values())
    listed = ", ".join(f"{tag!r} x{count} (first at {place})"
                       for tag, (place, count) in list(unknown_tags.items())[:5])
    more = f" and {len(unknown_tags) - 5} more" if len(unknown_tags) > 5 else ""
    return (f"{source}: {total} token(s) carry {len(unknown_tags)} tag(s) the model has no label "
            f"for, counted as errors: {listed}{more}")
