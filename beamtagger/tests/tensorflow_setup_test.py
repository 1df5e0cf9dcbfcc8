"""TensorFlow's native start-up lines are dropped from the CLI's stderr; nothing else is."""
import subprocess
import sys

SCRIPT = r'''
import os, sys
from beamtagger.tensorflow_setup import filtered_native_stderr
with filtered_native_stderr():
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written "
                b"to STDERR\n")
    os.write(2, b"I0000 00:00:1796135673.859686   11650 port.cc:153] oneDNN custom operations "
                b"are on. You may see slightly different numerical results\n")
    os.write(2, b"kept 1\nE0000 00:00:1796135680.254145   11650 util.cc:131] oneDNN supports "
                b"DT_BOOL only on platforms with AVX-512.\n")
    os.write(2, b"E0000 00:00:1.5   7 other.cc:1] a real error\n")
    print("kept 2", file=sys.stderr, flush=True)
    os.write(2, b"progress 50%\r")
    os.write(2, b"no newline at the end")
print("after", file=sys.stderr)
'''


def test_native_start_up_lines_are_dropped_and_everything_else_kept():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, timeout=60)
    assert result.returncode == 0
    assert result.stderr.decode() == ("kept 1\nE0000 00:00:1.5   7 other.cc:1] a real error\n"
                                      "kept 2\nprogress 50%\rno newline at the endafter\n")
