"""beamtagger: per-token tagging of large text collections in Apache Beam."""

__version__ = "0.1.0"
