"""What fails a RunInference batch of ``TaggerModelHandler``, and what docs/library.md says of
``with_exception_handling()``:
one example the handler refuses sends its whole batch, the good records with it, to
``failed_inferences`` (Beam hands the handler batches, and takes back results or one failure
for each)."""
import apache_beam as beam
from apache_beam.ml.inference.base import RunInference
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.transforms import TaggerModelHandler, TextRecord


def test_one_refused_example_fails_its_whole_batch(tiny_tagger):
    records = [TextRecord(str(number), "The dog sat.") for number in range(50)]
    with beam.Pipeline(runner=FnApiRunner()) as pipeline:
        tagged, failed = (
            pipeline | beam.Create(records + [TextRecord("bad", None)])
            | RunInference(TaggerModelHandler(**tiny_tagger.options)).with_exception_handling())
        assert_that(tagged, equal_to([]), label="NoneTagged")
        assert_that(failed.failed_inferences
                    | beam.Map(lambda failure: sorted(record.id for record in failure[0])),
                    equal_to([sorted([record.id for record in records] + ["bad"])]),
                    label="OneBatchFailed")


def test_an_example_over_max_record_chars_fails_its_batch_naming_it(tiny_tagger):
    """The handler tagged a record of any length whole (about 0.8 kB a token: a 12-million-
    character record was tagged), where TagText dead-letters one over max_record_chars and
    Tagger refuses it; a worker could run out of memory on one."""
    import pytest

    from beamtagger.errors import BeamtaggerError

    handler = TaggerModelHandler(**tiny_tagger.options, max_record_chars=40)
    model = handler.load_model()
    fits = TextRecord("fits", "x" * 40)
    [result] = handler.run_inference([fits], model)
    assert len(result.inference.labels) == 1
    with pytest.raises(BeamtaggerError) as raised:
        list(handler.run_inference([fits, TextRecord("long", "the dog sat . " * 3)], model))
    assert str(raised.value) == (
        "record 'long' holds 42 characters, more than max_record_chars (40): held whole, it "
        "would take about 0.8 kB of a worker's memory a token; split it, or give "
        "TaggerModelHandler a larger max_record_chars where workers have the memory")
    assert TaggerModelHandler(**tiny_tagger.options).max_record_chars == 10_000_000
    with pytest.raises(ValueError, match="max_record_chars must be a whole number"):
        TaggerModelHandler(**tiny_tagger.options, max_record_chars=0)


def test_a_keyword_neither_the_handler_nor_beam_takes_is_refused(tiny_tagger):
    """Beam's ModelHandler takes any keyword and reads only env_vars: a misspelt option, or
    one of TagText's, was dropped without a word."""
    import pytest

    with pytest.raises(TypeError, match=(
            r"^TaggerModelHandler got unexpected keyword arguments: runtim; Beam's "
            r"ModelHandler takes .*min_batch_size")):
        TaggerModelHandler(tiny_tagger.model_dir, tiny_tagger.store_path, runtim="numpy")
    with pytest.raises(TypeError, match=(
            r"arguments: keep_text, max_buffering_secs \(keep_text, max_buffering_secs: "
            r"TagText's, which RunInference has no use for\)")):
        TaggerModelHandler(**tiny_tagger.options, max_buffering_secs=1, keep_text=True)
    # Beam's own keep working.
    handler = TaggerModelHandler(**tiny_tagger.options, min_batch_size=2, max_batch_size=8,
                                 env_vars={"A": "1"}, large_model=False)
    assert handler.batch_elements_kwargs() == {"min_batch_size": 2, "max_batch_size": 8}
