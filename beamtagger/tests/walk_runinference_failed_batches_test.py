"""What docs/library.md says of ``RunInference(TaggerModelHandler(...)).with_exception_handling()``:
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
