"""README's in-process example (``beamtagger.Tagger``) runs as a user runs it and shows what it
prints."""
import doctest
import sys

from beamtagger.tests.docs_examples_test import (DISPLAY, default_store, run,  # noqa: F401
                                                 shown_values, the_block)


def test_readme_tagger_example(default_store, tmp_path):  # noqa: F811  (the fixture above)
    block = the_block("README.md", "In Python, without a pipeline", "from beamtagger import Tagger")
    shown = shown_values(block)
    assert len(shown) == 2, "the example shows the labels of tag and of tag_many"
    example = tmp_path / "example.py"
    example.write_text(block)
    printed = run([sys.executable, "-c", DISPLAY, str(example), *map(str, shown)], tmp_path)
    want = "".join(value + "\n" for value in shown.values())
    assert doctest.OutputChecker().check_output(want, printed, 0), (want, printed)
