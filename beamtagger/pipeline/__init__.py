"""Runnable pipelines and the ``beamtagger`` command line."""
