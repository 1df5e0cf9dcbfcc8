"""beamtagger.Tagger tags without importing Apache Beam or TensorFlow, with the labels of the
RunInference handler; the Beam steps still register their coders."""
import json
import os
import subprocess
import sys

from beamtagger.tests.conftest import REPO_ROOT
from beamtagger.transforms import TaggerModelHandler

TEXT = "Bob went to Paris with Alice yesterday ."

# A fresh process: every module of beamtagger.tagging imported, then Taggers (the default
# runtime) tag a text, a pre-tokenized record and, with chunks of 4 tokens, the text cut into
# chunks; then the Beam side is imported as a pipeline imports it, and its coders looked up.
CHILD = r"""
import importlib, json, pkgutil, sys
import beamtagger.tagging
from beamtagger import Tagger
from beamtagger.transforms import TextRecord, TokenizedRecord

for module in pkgutil.iter_modules(beamtagger.tagging.__path__):
    importlib.import_module(f"beamtagger.tagging.{module.name}")
model_dir, store_path, text = sys.argv[1:4]
tagger = Tagger(model_dir, store_path)
found = {"runtime": tagger.runtime, "one": tagger.tag(text).labels,
         "many": [tagged.labels for tagged in tagger.tag_many(
             [TextRecord("a", text), TokenizedRecord.from_tokens("b", text.split())])],
         "chunked": Tagger(model_dir, store_path, chunk=4, overlap=1).tag(text).labels}
found["heavy"] = [name for name in ("apache_beam", "tensorflow") if name in sys.modules]

import apache_beam as beam
import pyarrow as pa
from beamtagger.transforms import TagText  # noqa: F401
from beamtagger.tagging.token_blocks import SegmentBlock, TokenizedBlock

found["coders"] = [type(beam.coders.registry.get_coder(kind)).__name__
                   for kind in (pa.RecordBatch, TokenizedBlock, SegmentBlock)]
print(json.dumps(found))
"""


def test_tagger_imports_neither_beam_nor_tensorflow_and_gives_the_handler_s_labels(
        tiny_tagger):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}   # this checkout's beamtagger
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, tiny_tagger.model_dir, tiny_tagger.store_path, TEXT],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    found = json.loads(completed.stdout.splitlines()[-1])
    assert found["heavy"] == []
    assert found["runtime"] == "numpy"
    expected = []
    for chunk in (256, 4):   # RunInference's handler in this process: whole, then in chunks
        handler = TaggerModelHandler(**tiny_tagger.options, chunk=chunk, overlap=1)
        (result,) = handler.run_inference([TEXT], handler.load_model())
        expected.append(list(result.inference.labels))
    assert found["one"] == found["many"][0] == found["many"][1] == expected[0]
    assert found["chunked"] == expected[1]
    assert found["coders"] == ["ArrowRecordBatchCoder", "_TokenBlockCoder", "_TokenBlockCoder"]
