"""A loaded tagger: the model's runner and the embedding store it is bound to, checked.

No Beam here: ``TaggerModelHandler.load_model`` (``transforms/model_handler.py``) and
``beamtagger.Tagger`` load a model through ``loaded_tagger`` and tag with its ``LoadedTagger``
(``record_tagger``). A model or store on ``gs://`` is staged by ``worker_resources``
through Beam's file systems, which imports Beam then.
"""
import os
import threading
from typing import List, Optional, Union

import numpy as np

from beamtagger.model.batch_decoding import decode_batch_flat, decode_ragged
from beamtagger.model.flag_threshold import (check_threshold_applies, model_name, model_threshold,
                                             with_threshold)
from beamtagger.model.token_inputs import TokenInputs
from beamtagger.tagging.record_batches import entry_model_inputs
from beamtagger.tagging.token_blocks import WholeRecords
from beamtagger.transforms import worker_resources
from beamtagger.transforms.records import Segment

__all__ = ["LoadedTagger", "check_binding", "loaded_tagger"]


def loaded_tagger(directory, store, runtime: str, *, model_dir: Optional[str],
                  threads: Optional[int] = None, vector_dtype: str = "float32",
                  allow_other_embeddings: bool = False,
                  threshold: Optional[float] = None) -> "LoadedTagger":
    """The LoadedTagger of the model in ``directory`` (the local folder of ``model_dir``,
    ``worker_resources.use_model_dir``) for ``runtime``, bound to ``store`` (an open
    ``EmbeddingStore``): BeamtaggerError where the model is not whole or cannot read the
    store (``check_binding``). ``threads``: TensorFlow's, as ``worker_resources.loaded_runner``
    takes them. ``threshold``: a flag tagger's, checked (``flag_threshold.check_threshold``),
    which it tags at instead of its own (None: its own)."""
    check_binding(directory, store, allow_other_embeddings, threshold=threshold,
                  model_dir=model_dir)
    runner = worker_resources.loaded_runner(directory, runtime, threads,
                                            vector_dtype=vector_dtype)
    return LoadedTagger(runner, store, model_dir, threshold=threshold)


def check_binding(directory, store, allow_other_embeddings=False, *, threshold=None,
                  model_dir=None):
    """BeamtaggerError unless the model in ``directory`` is whole and the one its
    ``tagger.json`` describes, and reads ``store`` (its fingerprint, unless
    ``allow_other_embeddings``); given a ``threshold``, unless it is a flag tagger
    (``model_dir`` names it)."""
    from beamtagger.model.saving import check_model_file

    spec = worker_resources.load_spec(directory)
    # The model file whole and the one tagger.json describes (as `beamtagger tag` checks
    # before launch): a model directory copied half over, or a tagger.keras still being
    # written when watch_model_pattern saw it, is refused and the serving model stays,
    # where loading it would fail every batch from then on.
    check_model_file(spec)
    spec.check_store(store, allow_other_fingerprint=allow_other_embeddings)
    if threshold is not None:
        check_threshold_applies(spec, model_name(model_dir), "threshold: ")


class LoadedTagger:
    """A loaded model and the store it is bound to (``loaded_tagger``): what
    ``TaggerModelHandler.load_model`` returns, and what ``beamtagger.Tagger`` holds.

    RunInference may hold it in another process (``large_model`` / ``model_copies``: Beam's
    MultiProcessShared hands out a proxy that forwards method calls only), so its users
    reach it through methods, never attributes.

    Args:
      runner: the loaded runner (``model.runtimes``; ``TaggerRunner`` by default).
      store: the ``EmbeddingStore`` the runner's model is bound to.
      model_dir: the model directory (None: the bundled model).
      threshold: a flag tagger's threshold to tag at instead of its own (None: its own).
    """

    def __init__(self, runner, store, model_dir: Optional[str], *,
                 threshold: Optional[float] = None):
        self._runner = runner
        self._store = store
        self._model_dir = model_dir
        self._threshold = threshold
        self._decoding = None

    def model_id(self) -> Optional[str]:
        """``PredictionResult.model_id`` (Beam's ``Optional[str]``): the model directory as
        given, a bundled model's (``bundled_models.BundledModel``) as this process's folder of
        it. The BundledModel itself went into the results, where ``json.dumps`` and a
        str-typed schema field refuse it."""
        return None if self._model_dir is None else os.fspath(self._model_dir)

    def _decoding_spec(self):
        """What the labels are decoded by: the model's spec, or a copy of it at the threshold
        given; the runner's own is shared with every tagger of the process that loaded these
        files (``flag_threshold.with_threshold``). Made at the first decoding, as the runner's
        spec is read nowhere else (a stand-in runner that never decodes has none); threads
        sharing this object may each make one, and theirs are alike."""
        if self._decoding is None:
            self._decoding = with_threshold(self._runner.spec, self._threshold, self._model_dir)
        return self._decoding

    def predict(self, entries: List[Union[Segment, WholeRecords]],
                vector_dtype: str = "float32"):
        """(B, T, L) label probabilities of one batch of entries (its WholeRecords' records
        first, in order, then its Segments: ``token_blocks.entry_columns``), and (real tokens,
        padded slots, OOV tokens) for the counters of the calling process."""
        # Model inputs by token number, each token type's looked up and featurized once
        # (model.token_inputs), as AttachVectors does: one table a thread, since RunInference
        # may share this object between the threads of a process.
        per_thread = self.__dict__.get("_per_thread")
        if per_thread is None:
            per_thread = self._per_thread = threading.local()
        if getattr(per_thread, "token_inputs", None) is None:
            per_thread.token_inputs = TokenInputs(self._store, self._runner.spec.featurizer)
        # The model inputs as AttachVectors builds them, without its Arrow batch: nothing here
        # reads the batch's other columns, and building it and reading it back was a third of
        # a short sentence's Tagger.tag (entry_model_inputs).
        _, inputs, rows = entry_model_inputs(entries, self._store, self._runner.spec.featurizer,
                                             vector_dtype, token_inputs=per_thread.token_inputs)
        lengths = inputs.lengths
        # The slots the runtime ran: the batch's own, or its grid shapes' (jax).
        slots = self._runner.computed_slots(inputs.batch_size, inputs.width)
        return self._runner.predict(inputs), (int(lengths.sum()), int(slots),
                                              int((rows < 0).sum()))

    def decode_all(self, probs_list: List[np.ndarray], label_ids: bool = False):
        """Each record's (labels, scores) from its (n, L) probabilities, decoded together
        (``batch_decoding.decode_ragged``: BIO Viterbi over a batch of records, not one by
        one; with ``label_ids``, labels as int32 indices into ``labels()``); the first
        record's error that fails to decode is raised."""
        decoded = decode_ragged(self._decoding_spec(), probs_list, label_ids=label_ids)
        for result in decoded:
            if isinstance(result, Exception):
                raise result
        return decoded

    def decode_rows(self, probs: np.ndarray, lengths: np.ndarray):
        """(label ids int32, scores) of all real tokens of a (B, T, L) batch's rows, row after
        row (``batch_decoding.decode_batch_flat``); the ids index ``labels()``."""
        return decode_batch_flat(self._decoding_spec(), probs, lengths)

    def labels(self):
        return tuple(self._runner.spec.labels)

    def threshold(self) -> Optional[float]:
        """The threshold a flag tagger tags at here (the one given, else its own); None for
        a tagger that is not a flag tagger."""
        return model_threshold(self._decoding_spec())
