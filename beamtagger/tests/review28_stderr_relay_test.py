"""The stderr relay's own failure modes: the command's stderr must reach the user whatever
happens to the relay, on a terminal set to stop background writers (``stty tostop``) and
where the relay process dies before the command ends."""
import os
import subprocess
import sys
import textwrap

import pytest

WRITES_A_LINE = """
    import os, sys, time
    from beamtagger import tensorflow_setup
    if sys.argv[1] == "relay dies":
        # What an interpreter that cannot start (ENOMEM, a broken install) or the OOM killer
        # leaves: a relay process gone while the command runs.
        tensorflow_setup._RELAY_CODE = "import os; os._exit(1)"
    with tensorflow_setup.filtered_native_stderr():
        time.sleep(0.3)
        print("warning: a line the user must read", file=sys.stderr, flush=True)
    print("command done", flush=True)
    """


def test_a_relay_that_dies_leaves_the_commands_stderr_working():
    # Before: the pipe had no reader, so the warning's print raised BrokenPipeError and the
    # command ended in its traceback (exit 1), the warning lost.
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(WRITES_A_LINE), "relay dies"],
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"command done\n"
    assert done.stderr == b"warning: a line the user must read\n"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux pty and stty")
def test_a_terminal_with_tostop_gets_the_commands_stderr_without_a_wait():
    import pty
    import termios

    pid, terminal = pty.fork()
    if pid == 0:   # the session leader of the pty, in its foreground process group
        try:
            attributes = termios.tcgetattr(0)
            attributes[3] |= termios.TOSTOP
            termios.tcsetattr(0, termios.TCSANOW, attributes)
            os.execv(sys.executable, [sys.executable, "-c", textwrap.dedent(WRITES_A_LINE),
                                      "relay lives"])
        finally:
            os._exit(127)
    seen = b""
    while True:
        try:
            chunk = os.read(terminal, 1 << 16)
        except OSError:   # EIO: the pty's last writer is gone
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    # Before: the relay, in a process group of its own, was stopped by SIGTTOU at its first
    # write; the line never came (and the command's end waited 2 s for it).
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"warning: a line the user must read\r\n" in seen, seen


OUTLIVED = """
    import os, sys, time
    from beamtagger.tensorflow_setup import filtered_native_stderr
    with filtered_native_stderr():
        # More than the relay's pipe to a stderr nobody reads takes: it is still writing when
        # the command's end has waited its 2 s for it.
        for n in range(1100):
            os.write(2, b"x" * 99 + b"\\n")
    print("ended", flush=True)
    sys.stdin.readline()   # the reader has read it all: the relay exits now
    time.sleep(0.3)
    try:
        found = os.waitpid(-1, os.WNOHANG)[0]
    except ChildProcessError:
        found = 0
    print("a zombie" if found else "none", flush=True)
    """


def test_a_relay_that_outlives_the_commands_wait_is_reaped():
    # Before: never waited for again, it stayed a zombie of a notebook or test process that
    # calls main() again and again.
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(OUTLIVED)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        assert child.stdout.readline() == b"ended\n"
        read = b""
        while len(read) < 110000:
            chunk = child.stderr.read1(1 << 16)
            assert chunk, read[-200:]
            read += chunk
        child.stdin.write(b"go\n")
        child.stdin.flush()
        assert child.stdout.readline() == b"none\n"
    finally:
        child.kill()
        child.communicate(timeout=60)
