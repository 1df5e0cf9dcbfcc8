"""Beam PTransforms, one concern a module."""
