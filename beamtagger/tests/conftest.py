"""Shared fixtures. Tests that need ../shared/data skip with a clear reason without it."""
import os
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED_DATA = pathlib.Path(
    os.environ.get("BEAMTAGGER_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data():
    """Path to ../shared/data (real corpora and GloVe subset); skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent "
                    "(set BEAMTAGGER_SHARED_DATA to point at it)")
    return SHARED_DATA
