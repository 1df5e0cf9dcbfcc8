"""``beamtagger tag``: what a job's files hold that its model decides, known and said before
launch: the CoNLL-U tag column (the model's, unless ``--tag-column``), entities in JSON Lines
and Parquet records where the model's labels are BIO, ``--output-format spans`` refused for a
tagger whose labels are not, and a flag tagger's threshold (the model's, unless
``--threshold``). Each is one line of what the run does; other taggers' files stay as they were.

``tag_command`` imports this module where a run needs it; the model's spec is read once here
(``worker_resources.load_spec``), for a ``gs://`` model one round trip.
"""
import dataclasses

from beamtagger.errors import BeamtaggerError
from beamtagger.model.flag_threshold import model_threshold

__all__ = ["with_model_outputs"]


def with_model_outputs(job):
    """(``job``, its model's spec read, with what its files need of the model: the CoNLL-U
    tag column, entities, the threshold said)."""
    from beamtagger.transforms import worker_resources

    # Read once for the three lines below: each read it again, a bucket's round trip each
    # for a gs:// model.
    spec = worker_resources.load_spec(job.model_dir)
    if job.output_format == "conllu":
        job = _with_tag_column(job, spec)
    job = _with_entities(job, spec)
    return job, _threshold_said(job, spec)


def _with_tag_column(job, spec):
    """The job, its CoNLL-U tag column known (``--tag-column``, else the model's: ``spec``'s),
    and said."""
    from beamtagger.transforms.conllu_blocks import check_output_tag_column, model_tag_column

    if job.tag_column is not None:
        return job
    column = model_tag_column(spec)
    try:
        check_output_tag_column(column)
    except BeamtaggerError as error:
        raise BeamtaggerError(f"the model's tag column: {error}; give --tag-column") from None
    print(f"CoNLL-U labels   in {column}  (the model's; --tag-column sets it)", flush=True)
    return dataclasses.replace(job, tag_column=column)


def _with_entities(job, spec):
    """The job, writing each record's entities where the model's labels (``spec``'s) are BIO
    and the format holds them (JSON Lines, Parquet), and said: other taggers' files stay as
    they were. ``--output-format spans`` (entities only) with another tagger: BeamtaggerError."""
    from beamtagger.transforms.write_results import ENTITY_FORMATS

    if job.output_format == "spans":
        _check_spans_tagger(job, spec)
        return job
    if job.output_format not in ENTITY_FORMATS or not spec.is_bio:
        return job
    print('entities         in "entities" of each record  (the model\'s labels are BIO)',
          flush=True)
    return dataclasses.replace(job, entities=True)


def _threshold_said(job, spec):
    """The threshold a flag tagger's run tags at and what set it (``summary_json``'s
    ``threshold``), said in one line; None for other taggers (``spec``'s), which have none."""
    own = model_threshold(spec)
    if own is None:
        return None
    if job.threshold is None:
        print(f"threshold        {own}  (the model's; --threshold sets another)", flush=True)
        return {"value": own, "set_by": "model"}
    print(f"threshold        {job.threshold}  (--threshold; the model's own is {own})",
          flush=True)
    return {"value": job.threshold, "set_by": "--threshold"}


def _check_spans_tagger(job, spec):
    """Refuses ``--output-format spans`` for a tagger whose labels are not BIO (its records
    have no entities: every line would hold none), and says where the spans' text comes
    from."""
    if not spec.is_bio:
        labels = ", ".join(spec.labels[:4]) + (", ..." if len(spec.labels) > 4 else "")
        raise BeamtaggerError(
            f"--output-format spans writes entities, and the model's labels ({labels}) are "
            "not BIO (O, B-X, I-X): it finds none; write jsonl, parquet, conll or conllu")
    if job.input_format in ("conll", "conllu"):
        print(f"spans            in \"spans\" of each record, its \"text\" the tokens joined by "
              f"single spaces  ({job.input_format} input has no text of its own)", flush=True)
    else:
        print('spans            in "spans" of each record, with its "text"  (the model\'s labels '
              'are BIO)', flush=True)
