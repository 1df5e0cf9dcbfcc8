"""Standard output on a terminal that hung up while ``tag`` printed its summary, in a run that
SIGHUP does not stop (``setsid``, or SIGHUP ignored): review of session 28's reader_may_leave."""
import errno
import os

import pytest

from beamtagger.pipeline import summary_stdout


class _Failing:
    """A stream whose writes fail as a hung-up terminal's (EIO) or a failing disk's do."""
    encoding = "utf-8"

    def __init__(self, descriptor):
        self.descriptor = descriptor

    def write(self, text):
        raise OSError(errno.EIO, "Input/output error")

    flush = write

    def fileno(self):
        return self.descriptor


def test_a_terminal_hung_up_is_a_reader_gone_and_a_disk_s_eio_is_not(monkeypatch, tmp_path):
    # Reproduced: script -qc 'setsid -w tag ... --print-results --summary-json tt.json', the
    # script killed in the listing: 'standard output: Input/output error (EIO)', exit 1 and no
    # tt.json, every file published.
    device = os.open(os.devnull, os.O_WRONLY)   # a character device, as a terminal is
    monkeypatch.setattr("sys.stdout", _Failing(device))
    try:
        with summary_stdout.reader_may_leave():
            print("records read           2")
            print("records tagged         2")
    finally:
        os.close(device)
    disk = os.open(tmp_path / "summary.txt", os.O_WRONLY | os.O_CREAT)
    monkeypatch.setattr("sys.stdout", _Failing(disk))
    try:
        with pytest.raises(OSError, match="Input/output error"), (
                summary_stdout.reader_may_leave()):
            print("records read           2")
    finally:
        os.close(disk)
