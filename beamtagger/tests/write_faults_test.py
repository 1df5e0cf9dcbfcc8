"""Faults while writing (``tag``, ``train``, ``embeddings import``): one line, exit 1, no
traceback, and nothing half-written left behind.

A fake Beam file system (``faulty_filesystem``) fails writes or renames in process, wherever the
machine runs the tests; a real full tmpfs is tried too where this machine lets the tests mount
one.
"""
import errno
import glob
import logging
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from beamtagger.pipeline import cli, run_failures
from beamtagger.tests import faulty_filesystem
from beamtagger.tests.conftest import REPO_ROOT
from beamtagger.tests.faulty_filesystem import FaultyFileSystem

EXAMPLE = REPO_ROOT / "beamtagger" / "data" / "example.txt"


@pytest.fixture
def faulty():
    yield FaultyFileSystem
    FaultyFileSystem.heal()


def tag(capsys, tiny_tagger, output, *args):
    code = cli.main(["tag", "--input", str(EXAMPLE), "--output", output, "--model",
                     tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                     "--progress-every", "0", *args])
    out, err = capsys.readouterr()
    return code, out, err


def files_of(prefix):
    return sorted(glob.glob(prefix + "-*"))


@pytest.mark.parametrize("output_format", ["jsonl", "parquet"])
@pytest.mark.parametrize("error, cause", [(errno.ENOSPC, "No space left on device (ENOSPC)"),
                                          (errno.EIO, "Input/output error (EIO)"),
                                          (errno.EROFS, "Read-only file system (EROFS)")])
def test_a_write_fault_is_one_line_and_leaves_no_file_then_a_rerun_completes(
        faulty, tiny_tagger, tmp_path, capsys, error, cause, output_format):
    prefix = str(tmp_path / "out")
    faulty.fail_after(300, error)
    code, out, err = tag(capsys, tiny_tagger, faulty_filesystem.PREFIX + prefix,
                         "--output-format", output_format)
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"beamtagger tag: error: cannot write --output faultyfs://{prefix}: "
                          f"{cause}"), err
    assert "records tagged" not in out and "results" not in out
    assert files_of(prefix) == [] and glob.glob(str(tmp_path / "beam-temp-*" / "*")) == []

    faulty.heal()
    code, out, err = tag(capsys, tiny_tagger, faulty_filesystem.PREFIX + prefix,
                         "--output-format", output_format, "--overwrite")
    assert code == 0, err
    assert "records tagged             12" in out
    assert files_of(prefix)


def test_shards_published_before_a_failing_rename_are_removed(faulty, tiny_tagger, tmp_path,
                                                             capsys):
    prefix = str(tmp_path / "out")
    faulty.fail_renames_after(1, errno.EIO)
    code, out, err = tag(capsys, tiny_tagger, faulty_filesystem.PREFIX + prefix,
                         "--num-shards", "3")
    assert code == 1 and "Traceback" not in err and "(EIO)" in err, err
    # The one shard renamed into place before the fault would claim records of a failed run.
    assert files_of(prefix) == []


def test_a_failure_that_is_no_os_error_is_raised_as_it_is_and_leaves_no_file(
        faulty, tiny_tagger, tmp_path, capsys):
    prefix = str(tmp_path / "out")
    faulty.fail_after(300, ZeroDivisionError("a bug, not the environment"))
    with pytest.raises(Exception, match="a bug, not the environment"):
        tag(capsys, tiny_tagger, faulty_filesystem.PREFIX + prefix)
    assert files_of(prefix) == []


@pytest.mark.parametrize("message, expected", [
    ("OSError: [Errno 28] No space left on device [while running 'WriteResults/WriteText/"
     "WriteBundles0']", (errno.ENOSPC, "No space left on device")),
    ("Traceback (most recent call last):\n  File \"x\", line 1\nPermissionError: [Errno 13] "
     "Permission denied: '/out/x' [while running 'WriteDeadLetters/WriteErrors']",
     (errno.EACCES, "Permission denied: '/out/x'")),
    ("BeamIOError: Rename operation failed with exceptions {('a', 'b'): OSError(5, "
     "'Input/output error')}", (errno.EIO, "Input/output error")),
    ("OSError: Error writing bytes to file. Detail: [errno 122] Disk quota exceeded",
     (errno.EDQUOT, "Disk quota exceeded")),
    ("ValueError: no OS error here", None),
])
def test_the_os_error_behind_a_failed_run_is_found_in_its_text(message, expected):
    assert run_failures.os_error_of(RuntimeError(message)) == expected


def test_the_os_error_behind_a_failed_run_is_found_in_its_chain():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as cause:
            raise RuntimeError("wrapped") from cause
    except RuntimeError as error:
        assert run_failures.os_error_of(error) == (errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_importing_a_store_is_one_line_and_leaves_nothing(
        tmp_path, capsys, monkeypatch):
    from beamtagger.embeddings import importers

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.directory / "x"))

    monkeypatch.setattr(importers._StoreWriter, "finish", full)
    source = tmp_path / "vectors.txt"
    source.write_text("the 0.1 0.2\nof 0.3 0.4\n", encoding="utf-8")
    code = cli.main(["embeddings", "import", str(source), "--out", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"beamtagger embeddings: error: cannot write the store to "
                          f"{tmp_path / 'store'}: "), err
    assert "No space left on device (ENOSPC); nothing was saved" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vectors.txt"]   # no hidden folder


def test_a_full_disk_while_saving_a_model_leaves_the_old_model_whole(tiny_tagger, tmp_path,
                                                                     monkeypatch):
    import json

    from beamtagger import atomic_dirs
    from beamtagger.errors import JobFailed

    model_dir = tmp_path / "model"
    before = {p.name: p.read_bytes() for p in pathlib.Path(tiny_tagger.model_dir).iterdir()}
    shutil.copytree(tiny_tagger.model_dir, model_dir)
    with pytest.raises(JobFailed, match=r"cannot write the model to .*model: .*\(ENOSPC\); "
                                        "nothing was saved"):
        with atomic_dirs.published(model_dir, "saving", True, "the model") as building:
            (building / "tagger.json").write_text(json.dumps({}), encoding="utf-8")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert {p.name: p.read_bytes() for p in model_dir.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def _mount_tmpfs(path, size):
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    return done.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("runner_args", [[], ["--direct_running_mode=multi_processing",
                                              "--direct_num_workers=2"]],
                         ids=["in_process", "multi_processing"])
def test_a_real_full_disk(tiny_tagger, tmp_path, runner_args):
    """The reported case: a 256 kB tmpfs, the CLI as a user runs it."""
    disk = tmp_path / "disk"
    if os.geteuid() != 0 or not _mount_tmpfs(disk, "256k"):
        pytest.skip("this machine does not let the tests mount a tmpfs; the fake file "
                    "system tests above cover the same path")
    try:
        source = tmp_path / "many.txt"
        source.write_text(EXAMPLE.read_text(encoding="utf-8") * 300, encoding="utf-8")
        command = [sys.executable, "-m", "beamtagger", "tag", "--input", str(source),
                   "--output", str(disk / "out"), "--runtime", "numpy", "--model",
                   tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                   "--progress-every", "0", *runner_args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert done.returncode == 1
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        assert ("beamtagger tag: error: cannot write --output " + str(disk / "out")
                + ": No space left on device (ENOSPC)") in done.stderr
        assert "records tagged" not in done.stdout
        assert files_of(str(disk / "out")) == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)


@pytest.mark.slow
def test_a_real_full_disk_while_importing_a_store(shared_data, tmp_path):
    disk = tmp_path / "disk"
    if os.geteuid() != 0 or not _mount_tmpfs(disk, "256k"):
        pytest.skip("this machine does not let the tests mount a tmpfs; the patched writer "
                    "test above covers the same path")
    try:
        source = shared_data / "glove" / "glove.6B.50d.subset.txt.gz"
        done = subprocess.run([sys.executable, "-m", "beamtagger", "embeddings", "import",
                               str(source), "--out", str(disk / "store")],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
        assert f"cannot write the store to {disk / 'store'}: " in done.stderr
        assert os.listdir(disk) == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_beamtagger_error_raised_in_a_worker_is_not_preceded_by_its_logged_traceback(caplog):
    """A worker's BeamtaggerError (the jax runtime cannot start its backend, cannot compile)
    reaches the CLI as itself and is printed as one line; the traceback Beam logged for it
    was replayed before that line. Other failures still get the held logs."""
    from beamtagger.errors import BeamtaggerError
    from beamtagger.pipeline.run_failures import worker_logs_held

    worker = logging.getLogger("apache_beam.runners.common")
    with caplog.at_level(logging.ERROR):
        with pytest.raises(BeamtaggerError):
            with worker_logs_held():
                worker.error("Traceback (most recent call last): ... [while running 'Tag']")
                raise BeamtaggerError("JAX cannot start a backend here")
        assert caplog.records == []
        with pytest.raises(ZeroDivisionError):
            with worker_logs_held():
                worker.error("a bug's traceback")
                raise ZeroDivisionError("a bug")
        assert [record.getMessage() for record in caplog.records] == ["a bug's traceback"]
