"""The refusals of the Python API's argument checks are one line, however the value prints."""
import numpy as np
import pytest

from beamtagger.embeddings.store import EmbeddingStore
from beamtagger.tagging.length_buckets import check_batch_options
from beamtagger.tagging_defaults import (check_accelerator, check_flag, check_whole_number,
                                         path_option)
from beamtagger.transforms.reading.read_records import ReadRecords
from beamtagger.transforms.tag_text import TagText
from beamtagger.transforms.write_results import WriteResults

# A NumPy array (or a pandas column) given where one value belongs printed its rows on lines of
# their own in the refusal, and a long string all of itself.
VALUES = [np.arange(60).reshape(6, 10), "x" * 100_000]

CHECKS = {
    "max_batch_tokens": lambda value: check_whole_number("max_batch_tokens", value, 1),
    "accelerator": lambda value: check_accelerator("accelerator", value),
    "keep_text": lambda value: check_flag("keep_text", value),
    "model_dir": lambda value: path_option("model_dir", value),
    "output_prefix": WriteResults,
    "file_pattern": ReadRecords,
    "path": EmbeddingStore.open,
    "progress_every_secs": lambda value: TagText(progress_every_secs=value),
    "max_buffering_secs": lambda value: check_batch_options(16384, value),
}


@pytest.mark.parametrize("value", VALUES, ids=["array", "long str"])
@pytest.mark.parametrize("name", CHECKS)
def test_a_refusal_is_one_short_line_naming_the_option(name, value):
    if isinstance(value, str) and name in ("model_dir", "output_prefix", "file_pattern", "path"):
        value = [value]   # a str is a path there
    with pytest.raises((TypeError, ValueError)) as refused:
        CHECKS[name](value)
    said = str(refused.value)
    assert "\n" not in said and len(said) <= 400, said
    assert name in said
