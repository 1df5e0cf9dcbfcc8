"""TagTextWithModels: several taggers over one embedding store, in one tagging pass.

    records -> Tokenize -> SplitIntoChunks -> BucketByLength -> AttachVectors (once a group
      of models with the same inputs) -> TagBatches[name] -> StitchChunks[name]
      -> {name: TagTextResult}

Two TagTexts over one collection tokenize, chunk, bucket and look up every record twice,
though none of those stages depends on the model: here they run once, and each further model
adds only its tag stage, its stitching of long records and its conversion to TaggedRecords
(bench/two_models_bench.py: with a no-op model, the CPU stages alone, two TagTexts in one
pipeline took 1.23x the CPU of one pass with two models).
"""
from typing import Mapping, Optional

from beamtagger.transforms.models_to_tag import ModelsRefused, models_option
from beamtagger.transforms.tag_text import TagText

__all__ = ["TagTextWithModels"]


class TagTextWithModels(TagText):
    """Tags every token of every record with each of ``models``; returns ``{name:
    TagTextResult(tagged, errors)}``, in ``models``' order, where each model's ``tagged`` and
    ``errors`` are what ``TagText(model_dir=that model, the same options)`` returns on the same
    input: the same TaggedRecords (labels, scores, offsets, fields, windows, timestamps) and the
    same DeadLetters. A record refused before tagging (stage ``tokenize``) is a dead letter in
    every model's errors; one a model's stages fail on (``lookup``, ``featurize``, ``tag``) in
    that model's (and in those of the models that share its vectors, for ``lookup`` and
    ``featurize``).

    Tokenize, SplitIntoChunks and BucketByLength are applied once. AttachVectors once for each
    group of models whose batches would be the same (``models_to_tag.attach_groups``: the same
    featurizer and store binding, read where the pipeline is built); TagBatches and
    StitchChunks once a model, labelled with its name (``Tag[upos]``, ``StitchChunks[upos]``).

    Args:
      models: model name -> model directory (None: the bundled model), at least one. A name is
        1 to 64 ASCII letters, digits, ``_`` and ``-``, the first a letter or a digit, and no
        two are equal but for case (``models_to_tag``: names label steps, and name
        ``beamtagger tag``'s files). One directory under two names is tagged twice.
      store_path: the embedding store every model reads (None: the default store). Each model
        is checked against it here, as TagText checks its one, and refused with TagText's line.
      thresholds: model name -> a flag tagger's threshold, as TagText's ``threshold``; a name
        not in ``models``, or a model on this machine that is no flag tagger, is refused here.
      options: TagText's, which mean what they mean there (``chunk``, ``overlap``,
        ``max_batch_tokens``, ``max_buffering_secs``, ``accelerator``, ``vector_dtype``,
        ``allow_other_embeddings``, ``progress_every_secs``, ``tagger_threads``, ``runtime``,
        ``max_record_chars``, ``vectors_at``, ``validate``, ``keep_text``), the same for every
        model. ``accelerator`` hints every model's tag stage.
    """

    def __init__(self, models: Mapping[str, Optional[str]], store_path: Optional[str] = None,
                 *, thresholds: Optional[Mapping[str, float]] = None, **options):
        given = set(options) & {"model_dir", "threshold"}
        if given:
            raise ModelsRefused(f"TagTextWithModels takes models and thresholds, not "
                                f"{' or '.join(sorted(given))}")
        self._models_option = models_option(models, thresholds)
        super().__init__(None, store_path, **options)

    def _models_given(self, model_dir, threshold):
        return self._models_option

    def expand(self, records):
        return self._results(records)
