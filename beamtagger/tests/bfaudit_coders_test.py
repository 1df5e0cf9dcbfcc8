"""Each Beam step that carries Arrow batches registers their coder itself: with
``transforms/__init__.py`` importing on first use, a pipeline built from one transform has
only that transform's imports."""
import json
import os
import subprocess
import sys

from beamtagger.tests.conftest import REPO_ROOT

# A fresh process: a user's own pa.RecordBatch PCollection (tagged batches they made) written
# by WriteResults, the only beamtagger transform imported; the coder the pipeline gives its
# workers for those batches.
CHILD = r"""
import json, sys
import apache_beam as beam
import pyarrow as pa
from apache_beam.runners import pipeline_context
from beamtagger.transforms import WriteResults

pipeline = beam.Pipeline()
batches = (pipeline | beam.Create([]) | beam.Map(lambda x: x).with_output_types(pa.RecordBatch))
batches | WriteResults(sys.argv[1])
context = pipeline_context.PipelineContext()
proto = pipeline.to_runner_api(context=context)
coder_id = proto.components.pcollections[context.pcollections.get_id(batches)].coder_id
print(json.dumps(type(context.coders.get_by_id(coder_id)).__name__))
"""


def test_write_results_alone_carries_tagged_batches_with_the_arrow_coder(tmp_path):
    # Pickled instead (FastPrimitivesCoder), each batch was copied whole to be encoded, and
    # again each time Beam sampled its size.
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}   # this checkout's beamtagger
    completed = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "out")],
                               cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads(completed.stdout.splitlines()[-1]) == "ArrowRecordBatchCoder"
