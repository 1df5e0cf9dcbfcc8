"""A progress line on long local runs, printed by the tag stage every ``every_secs``.

Beam's local runners report metrics only when the pipeline has finished, so the tag stage
itself prints how far it got. Each worker process keeps its own tally (a multi-process run
prints one line per process, marked with its pid); Dataflow runs leave it off (its job page
shows the counters live).
"""
import os
import sys
import threading
import time

__all__ = ["report"]

_LOCK = threading.Lock()
_TALLY = {"start": None, "last": None, "batches": 0, "tokens": 0}


def report(batches, tokens, every_secs, launcher_pid=None):
    """Adds to this process's tally and prints a line when ``every_secs`` have passed."""
    now = time.monotonic()
    with _LOCK:
        if _TALLY["start"] is None:
            _TALLY["start"] = _TALLY["last"] = now
        _TALLY["batches"] += batches
        _TALLY["tokens"] += tokens
        if now - _TALLY["last"] < every_secs:
            return
        _TALLY["last"] = now
        elapsed = now - _TALLY["start"]
        tally = dict(_TALLY)
    who = "" if launcher_pid in (None, os.getpid()) else f" (worker process {os.getpid()})"
    print(f"beamtagger tag{who}: {_clock(elapsed)} tagged {tally['tokens']:,} tokens in "
          f"{tally['batches']:,} batches ({tally['tokens'] / max(elapsed, 1e-9):,.0f} tokens/s)",
          file=sys.stderr, flush=True)


def _clock(seconds):
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"
