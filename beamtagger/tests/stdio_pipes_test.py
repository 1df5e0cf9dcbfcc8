"""``beamtagger tag --input -`` and ``--output -``: pipes in and out, results in input order.

The pipe cases run the executable in a child process (its standard streams are the point);
the others call ``cli.main`` here, with ``sys.stdin`` replaced, to keep the suite's time."""
import io
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time

import pytest

from beamtagger.tests.conftest import run_tag_command as tag

LINES = 300
TOO_LONG = 7   # the line made a dead letter (--max-record-chars)


def _varied_lines():
    """Lines of 1 to 41 tokens, so the tag stage's length buckets reorder them; line
    TOO_LONG is longer than --max-record-chars 400."""
    rng = random.Random(1)
    return "".join(("x" * 500 if number == TOO_LONG else
                    " ".join([f"w{number}"] + ["tok"] * rng.randint(0, 40))) + "\n"
                   for number in range(1, LINES + 1)).encode()


def _child(tiny_tagger, temporary, *args, **popen):
    command = [sys.executable, "-m", "beamtagger", "tag", "--progress-every", "0",
               "--runtime", "numpy", "--model", tiny_tagger.model_dir, "--embeddings",
               tiny_tagger.store_path, *args]
    return subprocess.Popen(command, env={**os.environ, "TMPDIR": str(temporary)}, **popen)


def test_a_pipe_in_and_out_keeps_the_input_order_and_says_stdin(tiny_tagger, temporary):
    run = _child(tiny_tagger, temporary, "--input", "-", "--output", "-",
                 "--max-record-chars", "400", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
    out, err = run.communicate(_varied_lines(), timeout=300)
    assert run.returncode == 0, err.decode()
    records = [json.loads(line) for line in out.decode().splitlines()]   # results alone
    assert [r["id"] for r in records] == [f"stdin:{n}" for n in range(1, LINES + 1)
                                          if n != TOO_LONG]
    assert all(r["tokens"][0]["text"] == r["id"].replace("stdin:", "w") for r in records)
    err_lines = err.decode().splitlines()
    dead = [json.loads(line) for line in err_lines if line.startswith("{")]
    assert [(d["source"], d["stage"]) for d in dead] == [(f"stdin:{TOO_LONG}", "tokenize")]
    assert "dead letters     standard error, above, in input order" in err_lines
    assert not any(str(temporary) in line for line in err_lines)
    assert not os.listdir(temporary)


def test_a_reader_that_takes_one_line_ends_the_run_quietly(tiny_tagger, temporary):
    # `... | beamtagger tag --input - --output - | head -1`: more than a pipe's 64 KiB follow.
    run = _child(tiny_tagger, temporary, "--input", "-", "--output", "-",
                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run.stdin.write(_varied_lines().replace(b"x" * 500, b"x"))
    run.stdin.close()
    first = run.stdout.readline()
    run.stdout.close()
    err = run.stderr.read().decode()
    assert run.wait(timeout=300) == 128 + signal.SIGPIPE
    assert json.loads(first)["id"] == "stdin:1"
    assert "Traceback" not in err and "Exception ignored" not in err and "error" not in err
    assert not os.listdir(temporary)


def test_sigterm_while_standard_input_is_read_removes_its_copy(tiny_tagger, temporary):
    run = _child(tiny_tagger, temporary, "--input", "-", "--output", "-",
                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run.stdin.write(b"The cat sat .\n" * 10_000)
    run.stdin.flush()   # the pipe stays open: the command waits for more
    deadline = time.monotonic() + 120
    while not any(os.listdir(temporary / name) for name in os.listdir(temporary)):
        assert time.monotonic() < deadline and run.poll() is None
        time.sleep(0.1)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 128 + signal.SIGTERM
    assert "beamtagger: terminated" in err.decode()
    assert not os.listdir(temporary)


def _with_stdin(monkeypatch, data):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_standard_input_to_files_names_it_stdin(tiny_tagger, temporary, tmp_path, capsys,
                                               monkeypatch):
    _with_stdin(monkeypatch, b"Hello there .\n" + b"y" * 50 + b"\nGood bye .\n")
    code, out, err = tag(capsys, "--input", "-", "--output", str(tmp_path / "out" / "r"),
                         "--max-record-chars", "40", "--model", tiny_tagger.model_dir,
                         "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    results = [json.loads(line) for line in
               (tmp_path / "out" / "r-00000-of-00001.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in results) == ["stdin:1", "stdin:3"]
    dead = json.loads((tmp_path / "out" / "r-errors-00000-of-00001.jsonl").read_text())
    assert dead["source"] == "stdin:2"
    assert f"results          {tmp_path / 'out' / 'r'}-00000-of-00001.jsonl" in out
    assert not os.listdir(temporary)


def test_records_with_ids_of_their_own_come_out_in_input_order_not_id_order(
        tiny_tagger, capsys, monkeypatch):
    ids = ["10", "9", "b", "a", "1"]
    _with_stdin(monkeypatch, "".join(json.dumps({"id": i, "text": "word " * (3 + n % 2 * 30)})
                                     + "\n" for n, i in enumerate(ids)).encode())
    code, out, err = tag(capsys, "--input", "-", "--input-format", "jsonl", "--output", "-",
                         "--model", tiny_tagger.model_dir, "--embeddings",
                         tiny_tagger.store_path)
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == ids


def test_empty_standard_input_tags_nothing(tiny_tagger, temporary, capsys, monkeypatch):
    _with_stdin(monkeypatch, b"")
    code, out, err = tag(capsys, "--input", "-", "--output", "-", "--model",
                         tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    assert (code, out) == (0, ""), err
    assert "records read                0" in err
    assert not os.listdir(temporary)


def test_a_failed_run_removes_the_copy_and_names_it_stdin(tiny_tagger, temporary, capsys,
                                                          monkeypatch):
    _with_stdin(monkeypatch, b"not Parquet\n")
    code, out, err = tag(capsys, "--input", "-", "--output", "-", "--input-format", "parquet",
                         "--model", tiny_tagger.model_dir, "--embeddings",
                         tiny_tagger.store_path)
    assert (code, out) == (2, "")
    assert err.startswith("beamtagger tag: error: --input stdin: not a readable Parquet file")
    assert str(temporary) not in err and len(err.splitlines()) == 1
    assert not os.listdir(temporary)


def test_a_full_disk_while_standard_input_is_copied_is_one_line(tiny_tagger, temporary,
                                                                capsys, monkeypatch):
    # RLIMIT_FSIZE: a write past it fails as one on a full disk does (Python ignores SIGXFSZ).
    _with_stdin(monkeypatch, b"The cat sat .\n" * 100_000)
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, limits[1]))
    try:
        code, out, err = tag(capsys, "--input", "-", "--output", "-", "--model",
                             tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
    assert (code, out) == (1, "")
    assert err == (f"beamtagger tag: error: cannot keep standard input in {temporary} for the "
                   "pipeline to read: File too large (EFBIG); point TMPDIR at a folder with "
                   "room for it\n")
    assert not os.listdir(temporary)


@pytest.mark.parametrize("output_format", ["conll", "conllu"])
def test_files_to_standard_output_in_file_then_line_order(tiny_tagger, tmp_path, capsys,
                                                          output_format):
    for name in ("b.txt", "a.txt"):
        (tmp_path / name).write_text("".join(f"{name[0]}{n} {'tok ' * (n % 5)}\n"
                                             for n in range(1, 31)), encoding="utf-8")
    code, out, err = tag(capsys, "--input", str(tmp_path / "*.txt"), "--output", "-",
                         "--output-format", output_format, "--model", tiny_tagger.model_dir,
                         "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    key = "id" if output_format == "conll" else "sent_id"
    ids = [line.split(" = ", 1)[1] for line in out.splitlines()
           if line.startswith(f"# {key} = ")]
    assert ids == [f"{name}:{n}" for name in ("a.txt", "b.txt") for n in range(1, 31)]
    assert out.endswith("\n\n") and "\n\n\n" not in out   # one blank line after each block
    assert "results          standard output, in input order" in err


@pytest.mark.parametrize("option, message", [
    (("--output-format", "parquet"), "--output - cannot write parquet: a Parquet file is read "
     "from its end"),
    (("--overwrite",), "--overwrite applies to result files, and --output - writes none"),
    (("--num-shards", "2"), "--num-shards applies to result files"),
    (("--print-results",), "--print-results applies to result files, and --output - writes "
     "none: the results go to standard output, in input order"),
    (("--streaming",), "--input - and --output - cannot go with --streaming"),
])
def test_what_standard_output_cannot_go_with_is_refused(tiny_tagger, capsys, option, message):
    code, out, err = tag(capsys, "--input", "-", "--output", "-", *option)
    assert (code, out) == (2, "")
    assert err.startswith(f"beamtagger tag: error: {message}")
