"""Multi-output ParDos whose outputs carry their element types, under Beam's runtime checks too.

A stage's dead letters (and chunks, long records) leave on tagged outputs next to its main
output. Beam 2.78's runtime type checks do not tell them apart:

- ``--runtime_type_check`` checks every output of a ParDo, tagged ones included, against the
  ParDo's *main* output hint (``typehints/typecheck.py``, ``TypeCheckWrapperDoFn``: "TODO
  Multi-output"), and a tagged WindowedValue as the WindowedValue itself;
- ``--performance_runtime_type_check`` checks every output of a ParDo against the ParDo's own
  output hint and against the input hint of each step that reads any of its outputs
  (``PerformanceTypeCheckVisitor``, ``opcounters.OperationCounters.type_check``).

With ``Tokenize``'s main output declared ``TokenizedBlock``, the first dead letter failed the
job under either option (a ``TypeCheckError``, or under the second Beam's own ``TypeError``
while formatting it). So the ParDo declares ``Any`` for its main output (nothing to check)
and each tagged output's type, and its main PCollection is given its type once made, as
Beam's own ``ParDo.with_exception_handling`` did before 2.73 (``core.py``, expand_2_72_0).
Under ``--performance_runtime_type_check`` that still held one output's elements to the hints
of a step reading another (a user's step typed ``TaggedRecord`` on ``TagText``'s records failed
on a dead letter of the same ParDo), so there each output leaves through a step of its own.
The element types are what a user's next step's hints are checked against when the
pipeline is built, and what picks the coders (Arrow's for ``pa.RecordBatch``).
"""
from typing import Any, Optional

import apache_beam as beam
from apache_beam.options.pipeline_options import TypeOptions

__all__ = ["typed_outputs"]


def typed_outputs(pcoll, label, pardo, main: str, main_type: Optional[type] = None,
                  **tagged_types):
    """``pcoll | label >> pardo.with_outputs(*tagged_types, main=main)``, the main output's
    element type ``main_type`` (None: ``Any``) and each tagged output's the type given
    for its tag.

    Returns {tag: PCollection}, each also an attribute (as Beam's ``DoOutputsTuple``).
    Under ``--performance_runtime_type_check`` each output leaves through a step of its own
    (``<label>_<tag>``), so that a step reading one output, a user's typed step included, is
    not held to the elements of the others; without it the outputs are the ParDo's own, at no
    cost a element.
    """
    outputs = pcoll | label >> pardo.with_output_types(Any, **tagged_types).with_outputs(
        *tagged_types, main=main)
    types = {main: main_type or Any, **tagged_types}
    if main_type is not None:
        outputs[main].element_type = main_type
    if not pcoll.pipeline.options.view_as(TypeOptions).performance_runtime_type_check:
        return TypedOutputs({tag: outputs[tag] for tag in types})
    return TypedOutputs({
        tag: outputs[tag] | f"{label}_{tag}" >> beam.Map(_same).with_output_types(element_type)
        for tag, element_type in types.items()})


class TypedOutputs(dict):
    """{tag: PCollection}, each also read as an attribute (``out.tagged``)."""

    def __getattr__(self, tag):
        try:
            return self[tag]
        except KeyError:
            raise AttributeError(tag) from None


def _same(element):
    return element
