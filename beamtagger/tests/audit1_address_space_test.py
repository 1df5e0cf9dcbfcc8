"""The address-space checks on the edges the first tests left: a limit just under 4 GB, and a
tagging transform given no runtime, which falls back to NumPy as ``beamtagger tag`` does."""
import resource

import pytest

from beamtagger.model import runtimes
from beamtagger.tests.smallfix_jax_address_space_test import _limited_getrlimit

JUST_UNDER = 3_900_000 * 1024   # ulimit -v 3900000: 3.99 GB


def test_a_limit_just_under_is_not_said_to_be_the_one_needed(monkeypatch):
    monkeypatch.setattr(resource, "getrlimit", _limited_getrlimit(JUST_UNDER))
    # Rounded to 0.1 GB it read "needs ... at least 4.0 GB ... limited to 4.0 GB".
    assert runtimes.address_space_shortfall("tensorflow") == (
        "the tensorflow runtime needs an address space of at least 4.0 GB (ulimit -v 3906250) "
        "and this process is limited to 3.99 GB (ulimit -v 3900000)")


def test_a_transform_given_no_runtime_chooses_numpy_under_the_limit(monkeypatch):
    from beamtagger.transforms.runtime_where_applied import runtime_where_applied

    if not runtimes.is_installed("tensorflow"):
        pytest.skip("TensorFlow is not installed: the transform's choice is numpy anyway")
    # TagText(runtime=None) with two tagger threads chose TensorFlow, and its workers failed
    # at the runner's load (BeamtaggerError in the tag step); at 3.99 GB TensorFlow had
    # tagged before the check (measured 2026-12-07), so the check itself had broken it.
    assert runtime_where_applied(None, "TagText", threads=2) == "tensorflow"
    monkeypatch.setattr(resource, "getrlimit", _limited_getrlimit(JUST_UNDER))
    assert runtime_where_applied(None, "TagText", threads=2) == "numpy"
    # A named runtime is the user's: refused at the load, as before.
    assert runtime_where_applied("tensorflow", "TagText", threads=2) == "tensorflow"
