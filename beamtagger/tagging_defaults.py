"""Defaults of the tagging transforms, in a module without Beam or NumPy imports, so the CLI
shows and uses the transforms' own values and ``beamtagger --help`` stays instant."""

WINDOW = 256              # tokens per window of a long record (SplitIntoWindows)
OVERLAP = 64              # tokens shared by neighbouring windows
MAX_BATCH_TOKENS = 16384  # padded slots (B x T) per batch (BucketByLength)
STREAMING_BUFFERING_SECS = 5.0  # how long a partial batch may wait in a streaming job
