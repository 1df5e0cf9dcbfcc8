"""A user's pipeline script, run as ``__main__`` by user_contexts_pickling_test.py.

    python user_contexts_main_script.py MODEL_DIR STORE_PATH [BEAM OPTIONS...]

TagText, the handler and the functions after them are built at the module's top level, as
in a script or a notebook, so the workers get them by pickling ``__main__``'s objects (by
value with cloudpickle; with ``--save_main_session``, the main session too). Exits non-zero
if a label differs from the tiny model's own (``assert_that`` fails the run).
"""
import operator
import sys

import apache_beam as beam
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.testing import TinyTagger
from beamtagger.transforms import TaggerModelHandler, TagText, TextRecord

TEXTS = {"a": "Beam tags this.", "b": "I like green apples.", "c": "They went home yesterday."}
tiny = TinyTagger(sys.argv[1], sys.argv[2])
tag = TagText(**tiny.options)
handler = TaggerModelHandler(**tiny.options)
expected = [(id, tuple(tiny.labels(text))) for id, text in TEXTS.items()]


def id_and_labels(record):   # a function of __main__'s, pickled with the pipeline
    return record.id, tuple(record.labels)


def run(argv):
    with beam.Pipeline(options=PipelineOptions(argv)) as p:
        records = p | beam.Create([TextRecord(id, text) for id, text in TEXTS.items()])
        out = records | "Tag" >> tag
        assert_that(out.tagged | beam.Map(id_and_labels), equal_to(expected), label="Tagged")
        assert_that(out.errors, equal_to([]), label="NoErrors")
        inferred = records | "Infer" >> RunInference(handler)
        # Not a lambda calling id_and_labels: under dill, in worker processes of the
        # DirectRunner's own, a __main__ lambda does not find __main__'s functions, with
        # --save_main_session too ("NameError: name 'id_and_labels' is not defined"; a plain
        # Map(lambda x: double(x)) fails alike, Beam 2.78 with dill 0.3.1.1).
        assert_that(inferred | beam.Map(operator.attrgetter("inference"))
                    | "InferredLabels" >> beam.Map(id_and_labels),
                    equal_to(expected), label="Inferred")
    print(f"tagged {len(expected)} records twice")


if __name__ == "__main__":
    run(sys.argv[3:])
