"""Defaults of the tagging transforms, in a module without Beam or NumPy imports, so the CLI
shows and uses the transforms' own values and ``beamtagger --help`` stays instant."""

CHUNK = 256               # tokens per chunk of a long record (SplitIntoChunks)
OVERLAP = 64              # tokens shared by neighbouring chunks
MAX_BATCH_TOKENS = 16384  # padded slots (B x T) per batch (BucketByLength)
STREAMING_BUFFERING_SECS = 5.0  # how long a partial batch may wait in a streaming job
