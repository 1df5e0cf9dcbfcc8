"""``beamtagger tag --input -``: standard input kept in a private file for the pipeline to read.

A Beam pipeline reads files, whose size it knows before it starts (the runtime's choice) and
which its readers may read more than once; a pipe is neither. So standard input is copied, to
its end, into the file ``stdin`` of a private temporary folder (in ``TMPDIR``), which the caller
removes however the run ends, and tagged from there as ``--input-format`` says (``auto``: text).
Standard input redirected from a file (``< big.txt``) is copied too, not read in place: the
copy is the input as it was when the run started, from where the shell left the descriptor,
at about 1.9 GB/s (400 MB in 0.2 s from the page cache, 2026-12-06), where tagging those 400
MB (some 80M tokens) at the 63,000 tokens/s BENCHMARKS.md gives for 2 cores takes about 20
minutes; its cost is the room in ``TMPDIR``, which a full disk says in one line.

The file's name is what users see: default ids and dead letters' sources read ``stdin:LINE``
(``stdin:ROW`` in Parquet, ``stdin:@BYTE`` past 64 MiB of text, as for any file), and
``shown_as_stdin`` replaces the folder's path in messages and dead letters, which would name
a file that is gone by the time anyone reads them.
"""
import os
import re
import sys

from beamtagger.errors import BeamtaggerError, JobFailed, os_error_text
from beamtagger.transforms.records import DeadLetter

__all__ = ["STDIN", "renamed_dead_letter", "shown_as_stdin", "spool_standard_input"]

STDIN = "stdin"
CHUNK_BYTES = 1 << 20
# What compressed data starts with, and the command that decompresses it to a pipe. Standard
# input is read as it comes (a file's extension says its compression, a pipe has none): piped
# without zcat, a .gz file was one "not valid UTF-8" dead letter of a run that exited 0. Each
# magic is one no text starts with (bzip2's with its block header, "BZh91AY&SY").
_COMPRESSED_STARTS = ((re.compile(rb"\x1f\x8b"), "gzip", "zcat"),
                      (re.compile(rb"\x28\xb5\x2f\xfd"), "zstd", "zstdcat"),
                      (re.compile(rb"\xfd7zXZ\x00"), "xz", "xzcat"),
                      (re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)"), "bzip2", "bzcat"))


def spool_standard_input(folder, stdin=None):
    """Copies standard input (``stdin``: a binary stream to read instead) into ``folder/stdin``
    and returns that path. From a terminal a line on standard error says how to end it.
    JobFailed (exit 1) where it cannot be read or kept (a full disk), in one line;
    BeamtaggerError (exit 2) at its first bytes where they are compressed data."""
    if stdin is None:
        if sys.stdin is not None and sys.stdin.isatty():
            # Like cat or sort: typing the text is a use, but a waiting prompt with no word
            # of what it waits for looked like a hang.
            print("beamtagger tag: reading standard input from the terminal; end it with "
                  "Ctrl-D (tagging starts then)", file=sys.stderr, flush=True)
        stdin = sys.stdin.buffer if sys.stdin is not None else open(os.devnull, "rb")
    path = os.path.join(folder, STDIN)
    # Unbuffered: a write that fails raises here, not again when the file is closed.
    with open(path, "wb", buffering=0) as spool:
        first = True
        while True:
            try:
                chunk = stdin.read(CHUNK_BYTES)
            except OSError as error:
                raise JobFailed(f"cannot read standard input: {os_error_text(error)}") from None
            if not chunk:
                return path
            if first:
                _refuse_compressed(chunk)
                first = False
            view = memoryview(chunk)
            while view:
                try:
                    view = view[spool.write(view):]
                except OSError as error:
                    raise _not_kept(folder, error) from None


def _refuse_compressed(head):
    for start, compression, command in _COMPRESSED_STARTS:
        if start.match(head):
            raise BeamtaggerError(
                f"--input -: standard input is {compression}-compressed data, which --input - "
                f"reads as it comes; decompress it on the way ({command} FILE | beamtagger "
                "tag --input - ...) or give the file itself (--input FILE, decompressed by "
                "its extension)")


def _not_kept(folder, error):
    error.filename = None
    return JobFailed(f"cannot keep standard input in {os.path.dirname(folder)} for the "
                     f"pipeline to read: {os_error_text(error)}; point TMPDIR at a folder "
                     "with room for it")


def shown_as_stdin(text, path):
    """``text`` with the spool file's ``path`` written as ``stdin``."""
    return text.replace(path, STDIN)


def renamed_dead_letter(letter, path):
    """``letter`` with the spool file's ``path`` shown as ``stdin`` in its source and reason."""
    return DeadLetter(shown_as_stdin(letter.source, path), shown_as_stdin(letter.reason, path),
                      letter.record, letter.stage)
