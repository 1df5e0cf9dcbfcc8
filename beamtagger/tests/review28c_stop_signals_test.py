"""A run stopped by one signal and sent another while it cleans up (review of session 28's
SIGHUP handling): a closed ssh session's hang-up is followed by logind's SIGTERM
(``KillUserProcesses=yes``), which is no second request to hurry."""
import signal
import subprocess
import sys

# The clean-up stands in for tag's (0.4 s on one process, 1.6 s with two workers measured):
# the second signal comes in it, and the script says whether the clean-up got to its end.
_TWO_SIGNALS = """
import os, signal, sys, time
from beamtagger.pipeline.cli import _terminate_as_interrupt

first, second = int(sys.argv[1]), int(sys.argv[2])
signal.signal(signal.SIGINT, signal.default_int_handler)   # as in a terminal
# The suite run under nohup (or from a shell that ignores it) passed SIGHUP on ignored, and tag
# leaves an ignored SIGHUP alone: the hang-up never came and nothing was printed.
signal.signal(signal.SIGHUP, signal.SIG_DFL)
terminated = []
with _terminate_as_interrupt(terminated):
    try:
        os.kill(os.getpid(), first)
        time.sleep(5)
    except KeyboardInterrupt:
        os.kill(os.getpid(), second)
        time.sleep(0.05)
        print("cleaned up", [int(s) for s in terminated], flush=True)
"""


def _stopped(first, second):
    return subprocess.run([sys.executable, "-c", _TWO_SIGNALS, str(int(first)), str(int(second))],
                          capture_output=True, text=True, timeout=60)


def test_the_sigterm_after_a_hang_up_or_a_ctrl_c_waits_for_the_clean_up():
    # Before: SIGTERM after SIGHUP ended the process at once (lock and beam-temp folders
    # left, reproduced with tag on 30 MB, kill -HUP then -TERM 50 ms later); SIGTERM after
    # Ctrl-C raised again in the clean-up and changed the status to 143.
    for first, recorded in ((signal.SIGHUP, [signal.SIGHUP]), (signal.SIGINT, [])):
        done = _stopped(first, signal.SIGTERM)
        assert done.returncode == 0, (first, done.returncode, done.stderr)
        assert done.stdout == f"cleaned up {[int(s) for s in recorded]}\n", done.stdout


def test_a_second_sigterm_still_ends_the_process_at_once():
    done = _stopped(signal.SIGTERM, signal.SIGTERM)
    assert done.returncode == -signal.SIGTERM and done.stdout == "", done
