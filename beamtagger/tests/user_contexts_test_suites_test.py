"""A user's test suite: pytest-xdist workers running TagText pipeline tests at once on
``beamtagger.testing``'s tiny tagger, from a cache folder none of them has built yet (each
worker races to build and publish it; the jax tests share JAX's compilation cache there),
TestPipeline's options given on pytest's command line, and ``assert_that`` on both outputs.
"""
import subprocess
import sys
import textwrap

import pytest

from beamtagger.tests.docs_examples_test import child_env

USERS_TESTS = '''
import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.transforms import TagText, TextRecord

TEXTS = {"a": "Beam tags this.", "b": "I like green apples."}


@pytest.mark.parametrize("runtime", ["numpy", "numpy", "numpy", "jax", "jax"])
def test_tagged_and_errors(tiny_tagger, runtime):
    expected = [(id, tuple(tiny_tagger.labels(text))) for id, text in TEXTS.items()]
    with TestPipeline() as p:
        records = [*(TextRecord(id, text) for id, text in TEXTS.items()),
                   TextRecord("x", b"bytes", "in:3")]
        out = p | beam.Create(records) | TagText(**{**tiny_tagger.options, "runtime": runtime})
        assert_that(out.tagged | beam.Map(lambda r: (r.id, tuple(r.labels))),
                    equal_to(expected), label="Tagged")
        assert_that(out.errors | beam.Map(lambda e: (e.source, e.stage)),
                    equal_to([("in:3", "tokenize")]), label="Errors")


def test_the_command_line_s_options_reach_test_pipeline():
    options = TestPipeline().get_pipeline_options().get_all_options()
    assert options["runner"].endswith("FnApiRunner")
    assert options["pickle_library"] == "cloudpickle"
'''


@pytest.mark.slow
def test_two_xdist_workers_share_a_cache_they_build_at_once(tmp_path):
    pytest.importorskip("jax", reason="the jax runtime's tests need beamtagger[jax]")
    (tmp_path / "conftest.py").write_text('pytest_plugins = ("beamtagger.testing",)\n')
    (tmp_path / "users_pipeline_test.py").write_text(textwrap.dedent(USERS_TESTS))
    cache = tmp_path / "cache"
    # A user's shell has none of the JAX, XLA or beamtagger settings this suite's own tests may
    # have left in the environment: the full CI run once had no jax-compilation folder here.
    leaked = sorted(k for k in child_env() if k.startswith(("JAX_", "XLA_", "BEAMTAGGER_")))
    env = {**{k: v for k, v in child_env().items() if k not in leaked},
           "BEAMTAGGER_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider",
         "users_pipeline_test.py",
         "--test-pipeline-options=--runner=apache_beam.runners.portability.fn_api_runner."
         "FnApiRunner --pickle_library=cloudpickle"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=500)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "6 passed" in done.stdout, done.stdout[-2000:]
    # One published copy, no half-built folder left by the worker that lost the race.
    assert [path.name.split("-")[0] for path in (cache / "tiny-tagger").iterdir()] == ["seed7"]
    assert (cache / "jax-compilation").is_dir(), (leaked, sorted(cache.iterdir()))
