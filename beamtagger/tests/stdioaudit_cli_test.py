"""``beamtagger tag --input -`` / ``--output -`` on their unhappy paths: what a hostile user or
environment gives a pipe (compressed bytes, closed streams, a full disk behind standard
output, file names that JSON escapes).

Where the standard streams themselves are the point, the executable runs in a child process;
the other cases call ``cli.main`` here with ``sys.stdin`` replaced, to keep the suite's time."""
import bz2
import gzip
import io
import json
import lzma
import os
import subprocess
import sys

import pytest

from beamtagger.tests.conftest import prepared_child
from beamtagger.tests.conftest import run_tag_command as tag

TEXT = b"The cat sat on the mat .\n" * 50



def _tagger_args(tiny_tagger):
    return ("--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)


def _child(tiny_tagger, temporary, *args, child_setup=None, **popen):
    """``beamtagger tag ARGS`` in a child process (NumPy runtime, no progress lines);
    ``child_setup``: source run in the child first (``prepared_child``)."""
    command = [sys.executable, "-m", "beamtagger", "tag", "--progress-every", "0",
               "--runtime", "numpy", *_tagger_args(tiny_tagger), *args]
    if child_setup is not None:
        command = prepared_child(command, child_setup)
    return subprocess.run(command, env={**os.environ, "TMPDIR": str(temporary)},
                          capture_output="stdout" not in popen, timeout=300, check=False,
                          **popen)


def _with_stdin(monkeypatch, data):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


@pytest.mark.parametrize("compressed, compression, command", [
    (gzip.compress(TEXT), "gzip", "zcat"),
    (bz2.compress(TEXT), "bzip2", "bzcat"),
    (lzma.compress(TEXT), "xz", "xzcat"),
    # zstd's frame magic, then what would follow (the module is not a dependency).
    (b"\x28\xb5\x2f\xfd\x04\x58" + bytes(range(200)), "zstd", "zstdcat"),
], ids=["gzip", "bzip2", "xz", "zstd"])
def test_compressed_standard_input_is_refused_with_its_decompressor(
        tiny_tagger, temporary, capsys, monkeypatch, compressed, compression, command):
    # `cat posts.txt.gz | beamtagger tag --input - ...` was one "not valid UTF-8" dead letter
    # of a run that exited 0.
    _with_stdin(monkeypatch, compressed)
    code, out, err = tag(capsys, "--input", "-", "--output", "-", *_tagger_args(tiny_tagger))
    assert (code, out) == (2, "")
    assert err == (f"beamtagger tag: error: --input -: standard input is {compression}-"
                   "compressed data, which --input - reads as it comes; decompress it on the "
                   f"way ({command} FILE | beamtagger tag --input - ...) or give the file "
                   "itself (--input FILE, decompressed by its extension)\n")
    assert not os.listdir(temporary)


def test_text_that_starts_like_a_magic_is_tagged(tiny_tagger, capsys, monkeypatch):
    _with_stdin(monkeypatch, b"BZh9 is no bzip2 header .\n")
    code, out, err = tag(capsys, "--input", "-", "--output", "-", *_tagger_args(tiny_tagger))
    assert code == 0, err
    assert json.loads(out)["tokens"][0]["text"] == "BZh9"


@pytest.mark.parametrize("descriptor, option, message", [
    (0, ("--input", "-", "--output", "-"), ("--input -: standard input is closed (<&-); give "
                                            "it a pipe or a file (< FILE), or --input PATTERN")),
    (1, ("--input", "-", "--output", "-"), ("--output -: standard output is closed (>&-); "
                                            "give it a pipe or a file (> FILE), or --output "
                                            "PREFIX")),
], ids=["stdin", "stdout"])
def test_a_closed_standard_stream_is_refused(tiny_tagger, temporary, descriptor, option,
                                             message):
    # The executable puts /dev/null on a closed descriptor: `<&-` was an empty input and
    # `>&-` threw every result away, both in runs that exited 0.
    run = _child(tiny_tagger, temporary, *option, input=None if descriptor == 0 else TEXT,
                 child_setup=f"os.close({descriptor})")
    assert run.returncode == 2, run.stderr.decode()
    assert run.stderr.decode() == f"beamtagger tag: error: {message}\n"
    assert not os.listdir(temporary)


def test_a_closed_standard_input_is_refused_before_beam_is_imported(tiny_tagger, temporary):
    # Beam's import starts gRPC's poller threads; refused after it, the process now and then
    # aborted in gRPC (SIGABRT, "epoll_wait error: Bad file descriptor") instead of exiting 2.
    run = subprocess.run(prepared_child([sys.executable, "-X", "importtime", "-m", "beamtagger",
                                         "tag", "--input", "-", "--output", "-",
                                         *_tagger_args(tiny_tagger)], "os.close(0)"),
                         env={**os.environ, "TMPDIR": str(temporary)}, capture_output=True,
                         timeout=300, check=False)
    err = run.stderr.decode()
    assert run.returncode == 2 and "standard input is closed" in err, err
    assert "apache_beam" not in err and "grpc" not in err


def test_a_full_disk_behind_standard_output_names_it(tiny_tagger, temporary):
    # `> /dev/full` said only "No space left on device (ENOSPC)".
    with open("/dev/full", "wb") as full:
        run = _child(tiny_tagger, temporary, "--input", "-", "--output", "-", input=TEXT,
                     stdout=full, stderr=subprocess.PIPE)
    assert run.returncode == 1
    assert run.stderr.decode().splitlines()[-1] == ("beamtagger tag: error: standard output: "
                                                    "No space left on device (ENOSPC)")
    assert not os.listdir(temporary)


def test_files_come_out_in_the_order_of_their_names_whatever_json_escapes(
        tiny_tagger, tmp_path, capsys):
    # Sorted as JSON strings, "a" came after "a b" and "a!": its closing quote is above them.
    folder = tmp_path / "in"
    folder.mkdir()
    names = ["a", "a b", 'a"', "a!"]
    for name in names:
        (folder / name).write_text("word .\n", encoding="utf-8")
    code, out, err = tag(capsys, "--input", str(folder / "*"), "--input-format", "text",
                         "--output", "-", *_tagger_args(tiny_tagger))
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == [
        f"{name}:1" for name in sorted(names)]
