"""Defaults of the tagging transforms, in a module without Beam or NumPy imports, so the CLI
shows and uses the transforms' own values and ``beamtagger --help`` stays instant."""

CHUNK = 256               # tokens per chunk of a long record (SplitIntoChunks)
OVERLAP = 64              # tokens shared by neighbouring chunks
MAX_BATCH_TOKENS = 16384  # padded slots (B x T) per batch (BucketByLength)
STREAMING_BUFFERING_SECS = 5.0  # how long a partial batch may wait in a streaming job
# What runs the tagger's forward pass: TensorFlow (GPUs; releases the GIL for a whole batch) or
# NumPy (no TensorFlow import: ready in 0.1 s instead of 3 s, a little slower per batch on one
# core; bench/runtime_bench.py, BENCHMARKS.md).
RUNTIMES = ("tensorflow", "numpy")
RUNTIME = "tensorflow"


def check_runtime(runtime):
    """ValueError, at pipeline construction, for a runtime beamtagger does not have."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    return runtime
