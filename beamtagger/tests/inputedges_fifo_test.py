"""A named pipe (FIFO) given as ``--input``, with a process writing to it and with none: refused
before launch in one line, without opening it. Its bytes can be read once, and a run opens its
input files several times (the launch's checks, then the reading). Before, with a writer the
launch's check took its first byte and the pipeline then waited on a pipe nobody wrote again
(killed after 90 s); with none, the launch's check waited on the open. Each run here is on a
thread given RUN_SECONDS, so a hang fails the test instead of holding the suite."""
import os
import subprocess
import threading

import pytest

from beamtagger.tests.conftest import run_tag_command

RUN_SECONDS = 30


def _tag_or_hung(capsys, *args):
    """run_tag_command(capsys, *args), None where it has not returned in RUN_SECONDS."""
    result = []
    runner = threading.Thread(target=lambda: result.append(run_tag_command(capsys, *args)),
                              daemon=True)
    runner.start()
    runner.join(RUN_SECONDS)
    return result[0] if result else None


@pytest.mark.parametrize("name", ["pipe.txt", "pipe.gz"])
def test_a_fifo_input_is_refused_before_launch_with_or_without_a_writer(
        tiny_tagger, tmp_path, capsys, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    args = ["--input", str(fifo), "--output", str(tmp_path / "out"),
            "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path]
    # No writer: an open of the FIFO would wait for one.
    ran = _tag_or_hung(capsys, *args)
    assert ran is not None, "tag hung on a FIFO with no writer"
    code, _, err = ran
    assert code == 2 and f"--input {fifo} is a named pipe (FIFO)" in err, err
    assert "--input -" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1

    # A writer: refused the same, its bytes left unread in the pipe.
    writer = subprocess.Popen(["sh", "-c", f"printf 'Beam tags this.\\n' > '{fifo}'"])
    try:
        ran = _tag_or_hung(capsys, *args)
        assert ran is not None, "tag hung on a FIFO with a writer"
        assert ran[0] == 2 and "is a named pipe (FIFO)" in ran[2], ran
        # The writer still waits for a reader: its bytes were not taken.
        assert writer.poll() is None
        with open(fifo, "rb") as pipe:
            assert pipe.read() == b"Beam tags this.\n"
    finally:
        writer.kill()
        writer.wait(5)
    assert not list(tmp_path.glob("out*"))


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null here")
def test_a_device_input_is_refused_as_a_device(tiny_tagger, tmp_path, capsys):
    # It was refused as "a device or socket, no file, whose bytes can be read once".
    ran = _tag_or_hung(capsys, "--input", "/dev/null", "--output", str(tmp_path / "out"),
                       "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    assert ran is not None, "tag hung on /dev/null"
    code, _, err = ran
    assert code == 2 and err.strip().splitlines() == [
        "beamtagger tag: error: --input /dev/null is a device, not a file, where a run opens its "
        "input files more than once; pipe it in as --input - (beamtagger tag --input - < "
        "/dev/null) or copy it to a file"], err
