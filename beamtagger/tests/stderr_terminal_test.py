"""The CLI's stderr filter puts a pipe in front of fd 2, so ``sys.stderr.isatty()`` is False on
any terminal while a command runs: ``embeddings import`` and ``embeddings default`` asked it
whether to draw their progress bar, and never drew it. They ask ``stderr_is_terminal()``,
which answers for the original fd 2."""
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the filter runs on POSIX only")

_SCRIPT = textwrap.dedent("""
    import argparse, os, sys
    terminal = sys.argv[1] == "terminal"
    if terminal:
        leader, follower = os.openpty()
        os.dup2(follower, 2)
    else:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    sys.stderr = open(2, "w", closefd=False)
    from beamtagger.pipeline.embeddings_command import _show_progress
    from beamtagger.tensorflow_setup import filtered_native_stderr, stderr_is_terminal
    with filtered_native_stderr():
        seen = (sys.stderr.isatty(), stderr_is_terminal(),
                _show_progress(argparse.Namespace(quiet=False)),
                _show_progress(argparse.Namespace(quiet=True)))
    print(*seen, stderr_is_terminal())
""")


def _run(kind):
    env = {**os.environ}
    env.pop("BEAMTAGGER_TENSORFLOW_LOGS", None)
    done = subprocess.run([sys.executable, "-c", _SCRIPT, kind], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_terminal_behind_the_filter_still_draws_the_progress_bar():
    # The filter's pipe says False; the terminal behind it is what counts, and --quiet still wins.
    assert _run("terminal") == ["False", "True", "True", "False", "True"]


def test_no_terminal_behind_the_filter_draws_none():
    assert _run("file") == ["False", "False", "False", "False", "False"]
