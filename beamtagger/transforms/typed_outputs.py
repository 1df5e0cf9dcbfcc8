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
The element types are what a user's next step's hints are checked against when the
pipeline is built, and what picks the coders (Arrow's for ``pa.RecordBatch``).
"""
from typing import Any, Optional

__all__ = ["typed_outputs"]


def typed_outputs(pcoll, label, pardo, main: str, main_type: Optional[type] = None,
                  **tagged_types):
    """``pcoll | label >> pardo.with_outputs(*tagged_types, main=main)``, the main output's
    element type ``main_type`` (None: ``Any``) and each tagged output's the type given
    for its tag.

    Steps that read these outputs must not declare input hints of their own on their ParDo
    (declare them on the composite): ``--performance_runtime_type_check`` would hold every
    output of ``pardo`` to them (see the module docstring).
    """
    outputs = pcoll | label >> pardo.with_output_types(Any, **tagged_types).with_outputs(
        *tagged_types, main=main)
    if main_type is not None:
        outputs[main].element_type = main_type
    return outputs
