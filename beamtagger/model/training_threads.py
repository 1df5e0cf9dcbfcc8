"""The number of TensorFlow threads a training runs on, which its weights depend on.

On TensorFlow's CPU kernels the same seed, data and flags train the same weights, run after
run, whatever the load, as long as the intra-op thread count is the same: the kernels split
their sums by thread, and the order of floating-point additions with them. Measured
2026-12-07 on the 2-core dev machine (200 EWT sentences, 2 epochs, every weight array
compared): 1 thread and 2 threads gave weights up to 1.2e-7 apart (after 2 epochs; the gap
grows with training), while 2 threads on one core (``taskset -c 0``) gave exactly the weights
of 2 threads on two cores, and 1 thread on two cores those of one core; the inter-op count
changed nothing. ``tf.config.experimental.enable_op_determinism()`` did not remove the
dependence (it changed the weights, and 1 and 2 threads still differed), nor did
``TF_ENABLE_ONEDNN_OPTS=0``. So ``train --threads N`` fixes the count, and the report records
the count a training ran on, so that it can be run again alike on another machine.
"""
import os
import sys
from typing import Optional

from beamtagger.errors import BeamtaggerError

# TensorFlow's own variable for its intra-op pool, read where no count is set in the process.
_INTRA_OP_VARIABLE = "TF_NUM_INTRAOP_THREADS"


# What ``train --threads`` takes (tag --tagger-threads' bound); ``train_tagger`` takes the same.
MAX_TRAINING_THREADS = 4096


def set_training_threads(threads: Optional[int], *, option: str = "--threads ") -> int:
    """Sets TensorFlow's intra- and inter-op threads to ``threads`` where given, and returns
    the intra-op count the training runs on (``threads``, else TensorFlow's default: its
    variable ``TF_NUM_INTRAOP_THREADS`` where set, else the cores this process may run on).
    Must run before TensorFlow runs its first op in this process; a count that cannot be set
    any more is refused, not ignored, since the weights would not be the ones asked for.
    ``option``: how the refusal names the count's option (``threads=`` in the Python API)."""
    if threads is None:
        return _default_intra_op_threads()
    from beamtagger.tensorflow_setup import quiet_tensorflow

    quiet_tensorflow()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass   # already running: refused below unless it runs with this count
    running = tf.config.threading.get_intra_op_parallelism_threads()
    if running != threads:
        raise BeamtaggerError(
            f"{option}{threads}: TensorFlow already runs in this process with "
            f"{running or 'its default number of'} thread(s), which can no longer be changed; "
            "train in a new process")
    return threads


def _default_intra_op_threads() -> int:
    tf = sys.modules.get("tensorflow")
    if tf is not None and tf.config.threading.get_intra_op_parallelism_threads():
        return tf.config.threading.get_intra_op_parallelism_threads()   # set in this process
    given = os.environ.get(_INTRA_OP_VARIABLE, "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    if hasattr(os, "sched_getaffinity"):   # what TensorFlow counts on Linux (taskset included)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
