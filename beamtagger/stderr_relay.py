"""The process that reads the CLI's stderr pipe (``tensorflow_setup.filtered_native_stderr``):
drops TensorFlow's native start-up lines, holds Python tracebacks while told to, and writes
everything else to the original stderr.

It runs as its own interpreter (``python -I -S``, standard library only), not as a thread of
the CLI: TensorFlow aborts during its import on a CPU without the instructions it was built
for, after one line that says so, and a thread died with the process before writing that line
(5 of 5 runs printed nothing, exit 134). A process of its own reads the pipe to its end
whatever happens to the CLI (abort, SIGKILL, ``os._exit``), so the last line written reaches
the user, and a traceback held when the CLI died is written, since no one-line report came.

Its standard input is the pipe's read end and its stderr the original one. The CLI controls it
with markers written into the same pipe (``marker``): a pipe keeps a write of up to PIPE_BUF
bytes whole and in order with every write before it, so a hold, drop or release applies
exactly to the bytes written before it, whichever process wrote them. The marker holds a token
made for each run, which no other writer of the pipe knows.
"""
import os
import re
import select
import sys

HOLD, RELEASE, DROP, END = b"H", b"R", b"D", b"E"

_NATIVE_NOISE = re.compile(
    rb"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|^[IWE]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] (?:oneDNN |This TensorFlow binary is optimized"
    rb"|Unable to register cu(?:DNN|FFT|BLAS) factory|computation placer already registered"
    rb"|TF-TRT Warning)")

_TRACEBACK_START = b"Traceback (most recent call last):"
_TRACEBACK_CONTINUES = (b"During handling of the above exception",
                        b"The above exception was the direct cause")
_FRAME = b'  File "'
# A traceback's last line: an exception's (dotted) name, alone or before ": message".
_EXCEPTION_LINE = re.compile(rb"(?:[A-Za-z_]\w*\.)*(?=[A-Z])\w*(?:Error|Exception|Interrupt|Exit|"
                             rb"Iteration|Empty|Full)(?::\s|\Z)")
# How long the pipe stays idle before the relay looks whether the CLI is still there: the
# worker processes of a killed CLI may hold the pipe open for long after it died.
_IDLE_CHECK_SECONDS = 0.25


def marker(token, command):
    """The bytes that give the relay of ``token`` one of HOLD, RELEASE, DROP or END."""
    return b"\x00beamtagger-stderr-relay " + token + b" " + command


class HeldTracebacks:
    def __init__(self):
        self.lines = []
        self.inside = False
        self.ended = False   # a traceback just ended: the blank lines after it go with it

    def take(self, line):
        """True when ``line`` belongs to a traceback and is held."""
        stripped = line.rstrip(b"\r\n")
        if stripped.endswith(_TRACEBACK_START) or stripped.startswith(_TRACEBACK_CONTINUES):
            self.inside = True
        elif not self.inside:
            if self.ended and _EXCEPTION_LINE.match(stripped):
                pass  # the last line of another traceback interleaved with the one just ended
            elif self.ended and (stripped[:1].isspace() or stripped.startswith(_FRAME)):
                # The tracebacks of several processes (or threads) failing at once interleave
                # line by line: another one's last line ended this one, which goes on.
                self.inside = True
            elif not (self.ended and not stripped):
                self.ended = False
                return False
        elif stripped and not stripped[:1].isspace():
            self.inside = False   # the exception's own line ends the traceback
            self.ended = True
        self.lines.append(line)
        return True


class Relay:
    """Filters the bytes fed to it and hands what the user should read to ``write``."""

    def __init__(self, token, write):
        self._marker = marker(token, b"")
        self._write = write
        self._unparsed = b""   # the end of what was read, which may start a marker
        self._pending = b""    # the start of a line not yet ended
        self.hold = None
        self.ended = False

    def feed(self, data):
        data = self._unparsed + data
        while True:
            at = data.find(self._marker)
            if at < 0 or at + len(self._marker) >= len(data):
                break
            self._text(data[:at])
            self._command(data[at + len(self._marker):at + len(self._marker) + 1])
            data = data[at + len(self._marker) + 1:]
        self._unparsed = data[len(data) - _marker_start_at_end(data, self._marker):]
        self._text(data[:len(data) - len(self._unparsed)])

    def finish(self):
        """Writes out the line not yet ended and what a hold still holds (never lost)."""
        self._text(self._unparsed)
        self._unparsed = b""
        if self.hold is not None:
            self._write(b"".join(self.hold.lines))
            self.hold = None
        if self._pending and not _NATIVE_NOISE.search(self._pending):
            self._write(self._pending)
        self._pending = b""

    def _command(self, command):
        if command == HOLD:
            self.hold = HeldTracebacks()
        elif command in (RELEASE, DROP):
            if self.hold is not None and command == RELEASE:
                self._write(b"".join(self.hold.lines))
            self.hold = None
        elif command == END:
            self.finish()
            self.ended = True

    def _text(self, data):
        if not data:
            return
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        out = b"".join(line + b"\n" for line in lines if not _NATIVE_NOISE.search(line)
                       and not (self.hold is not None and self.hold.take(line + b"\n")))
        if b"\r" in self._pending:  # a progress bar redrawing its line: pass it on now
            out, self._pending = out + self._pending, b""
        if out:
            self._write(out)


def _marker_start_at_end(data, marker_bytes):
    """The length of the longest end of ``data`` that a marker could go on from."""
    for length in range(min(len(data), len(marker_bytes)), 0, -1):
        if marker_bytes.startswith(data[-length:]):
            return length
    return 0


def write_all(fd, data):
    while data:
        try:
            data = data[os.write(fd, data):]
        except InterruptedError:
            continue
        except OSError:
            return   # the reader of the original stderr is gone: nothing can show it


def run(token, cli_pid, *, pipe=0, out=2):
    """Relays ``pipe`` to ``out`` until its end, the CLI's END marker, or the CLI's death with
    the pipe idle (``cli_pid`` None: this process is the CLI, ``tensorflow_setup``'s stand-in
    for a relay that died)."""
    relay = Relay(token, lambda data: write_all(out, data))
    try:
        while not relay.ended:
            if not select.select([pipe], [], [], _IDLE_CHECK_SECONDS)[0]:
                if cli_pid is not None and os.getppid() != cli_pid:
                    break   # the CLI died; its worker processes hold the pipe, quiet
                continue
            chunk = os.read(pipe, 1 << 16)
            if not chunk:
                break
            relay.feed(chunk)
    finally:
        relay.finish()


def main(argv):
    token, cli_pid = argv[1].encode("ascii"), int(argv[2])
    try:
        run(token, cli_pid)
    except Exception:
        # A bug here must not cost the user the CLI's stderr: the rest goes through as it is.
        while True:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                break
            write_all(2, chunk)
    # Everything went out through os.write: the interpreter's teardown (3 ms, which the CLI's
    # end waits for) has nothing left to do.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
