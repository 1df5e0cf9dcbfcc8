"""``beamtagger embeddings import`` of a source it cannot read as a file (another user's, mode
600 or 700; a folder, a FIFO; one removed while it is imported) is refused in one line, exit 2,
naming the file, and leaves no store nor anything half-built beside ``--out``, as every other
command refuses such an input.

The unreadable cases run in a child that file permissions apply to (``locked_down_test``'s):
the suite runs as root.
"""
import json
import os

import numpy as np
import pytest

from beamtagger.embeddings import importers
from beamtagger.pipeline import cli
from beamtagger.tests.locked_down_test import _CHILD_PRELUDE, _locked_down, _not_ours
# Autouse: a run as another user than root gives the files' modes back for the clean-up.
from beamtagger.tests.locked_down_test import _modes_restored  # noqa: F401

_GLOVE = "the 0.1 0.2\ncat 0.3 0.4\n"


def _glove(path):
    path.write_text(_GLOVE, encoding="utf-8")
    return path


def _npy_folder(folder):
    folder.mkdir()
    np.save(folder / "m.npy", np.ones((2, 2), dtype=np.float32))
    (folder / "w.txt").write_text("the\ncat\n", encoding="utf-8")
    return folder


def _import(capsys, *argv):
    code = cli.main(["embeddings", "import", "--quiet", *map(str, argv)])
    return code, capsys.readouterr().err


def test_a_source_this_user_may_not_read_is_refused_in_one_line_in_every_format(
        tmp_path):
    # Before: each failed at its first read, exit 1, "PATH: Permission denied (EACCES)".
    sources = tmp_path / "sources"
    sources.mkdir()
    for name in ("g.txt", "f.vec", "w.bin"):
        _glove(sources / name)
    for name in ("m.npy", "m-locked.npy"):
        np.save(sources / name, np.ones((2, 2), dtype=np.float32))
    for name in ("words.txt", "words-locked.txt"):
        (sources / name).write_text("the\ncat\n", encoding="utf-8")
    _npy_folder(sources / "folder")
    _npy_folder(sources / "folder-m")
    argvs = {   # the import's arguments, and the file it may not read
        "glove": ([sources / "g.txt"], sources / "g.txt"),
        "fasttext": ([sources / "f.vec", "--format", "fasttext-vec"], sources / "f.vec"),
        "word2vec": ([sources / "w.bin", "--format", "word2vec-bin"], sources / "w.bin"),
        "npy matrix": ([sources / "m-locked.npy", "--words", sources / "words.txt"],
                       sources / "m-locked.npy"),
        "npy words": ([sources / "m.npy", "--words", sources / "words-locked.txt"],
                      sources / "words-locked.txt"),
        "folder": ([sources / "folder"], sources / "folder"),
        "folder's matrix": ([sources / "folder-m"], sources / "folder-m" / "m.npy"),
    }
    locked = {case: path for case, (_, path) in argvs.items()}
    for case, path in locked.items():
        _not_ours(path, 0o700 if path.is_dir() else 0o600)
    out = tmp_path / "out"
    out.mkdir()
    probe = _glove(tmp_path / "probe")   # the prelude's check that permissions apply
    _not_ours(probe, 0o600)
    script = _CHILD_PRELUDE + r"""
_, _, out, cases = sys.argv
seen = {}
for name, argv in json.loads(cases).items():
    seen[name] = command("embeddings", "import", *argv, "--out", f"{out}/{len(seen)}",
                         "--quiet")
print(json.dumps(seen))
"""
    status, seen, err = _locked_down(script, probe, out, json.dumps(
        {case: list(map(str, argv)) for case, (argv, _) in argvs.items()}))
    assert status == 0 and isinstance(seen, dict), (seen, err)
    for case, path in locked.items():
        exit_status, said = seen[case]
        assert exit_status == 2, (case, said)
        assert said.count("\n") == 1, (case, said)
        assert said.startswith(f"beamtagger embeddings: error: cannot read {path}: Permission "
                               "denied (EACCES): this user may not read it"), (case, said)
    # No store, no half-built hidden folder, no lock left behind.
    assert os.listdir(out) == []


@pytest.mark.parametrize("make, argv, said", [
    (lambda folder: _npy_folder(folder / "vectors"), ["vectors", "--format", "glove"],
     "vectors is a folder, which is read as a .npy matrix and its word list (--format npy), "
     "not as glove: give the vector file itself"),
    (lambda folder: (np.save(folder / "m.npy", np.ones((2, 2), dtype=np.float32)),
                     (folder / "words").mkdir()),
     ["m.npy", "--words", "words"], "the word list words is a folder, not a file"),
    (lambda folder: (np.save(folder / "m.npy", np.ones((2, 2), dtype=np.float32)),
                     os.mkfifo(folder / "words.txt")),
     ["m.npy", "--words", "words.txt"], "the word list words.txt is not a regular file (a pipe "
                                        "or a device?)"),
    (lambda folder: os.mkfifo(folder / "v.txt"), ["v.txt"],
     "the source v.txt is not a regular file (a pipe or a device?)"),
])
def test_a_folder_or_fifo_where_a_file_is_read_is_refused_naming_it(make, argv, said, tmp_path,
                                                                    capsys, monkeypatch):
    # Before: "vectors: Is a directory (EISDIR)", exit 1; a word list that is a folder or a
    # FIFO "not found".
    monkeypatch.chdir(tmp_path)
    make(tmp_path)
    before = sorted(os.listdir(tmp_path))
    code, err = _import(capsys, *argv, "--out", "store")
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"beamtagger embeddings: error: {said}"), err
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("step", ["detect_format", "_text_chunks_fast"])
def test_a_source_removed_while_it_is_imported_is_one_line_and_no_store(step, tmp_path, capsys,
                                                                        monkeypatch):
    # The import opens its source by name several times; one removed between them was an
    # OSError's line, exit 1, naming no input.
    source = _glove(tmp_path / "v.txt")
    real = getattr(importers, step)

    def removed_first(path, *args):
        os.remove(source)
        return real(path, *args)

    monkeypatch.setattr(importers, step, removed_first)
    code, err = _import(capsys, source, "--out", tmp_path / "store")
    assert code == 2 and err.count("\n") == 1, err
    assert err == (f"beamtagger embeddings: error: {source}: no such file or directory while "
                   "it was imported; nothing was imported\n")
    assert os.listdir(tmp_path) == []


_TOO_LONG = "no line break in 64 MiB: not a line of vector text (a binary or damaged file?)"


@pytest.mark.parametrize("name", ["sparse.txt", "sparse.vec", "sparse.bin"])
def test_a_sparse_file_without_line_breaks_is_refused_at_64_mib_with_no_store(
        name, tmp_path, capsys):
    # Before, its first line was read whole: a 20 GB sparse file was killed for memory (about
    # twice its size), this one 'a word without values' or a binary header's line after 65 MiB.
    source = tmp_path / name
    with open(source, "wb") as sparse:
        sparse.truncate(65 << 20)
    code, err = _import(capsys, source, "--out", tmp_path / "store")
    assert (code, err.splitlines()) == (2, [f"beamtagger embeddings: error: {source}:1: "
                                            f"{_TOO_LONG}"])
    assert sorted(os.listdir(tmp_path)) == [name]


def test_a_line_over_64_mib_is_skipped_as_a_bad_line_with_on_error_skip(tmp_path):
    source = tmp_path / "long.txt"
    with open(source, "wb") as glove:
        glove.write(b"the 0.1 0.2\n" + b"x" * (65 << 20) + b"\ncat 0.3 0.4\n")
    report = importers.import_embeddings(source, tmp_path / "store", on_error="skip")
    assert (report.count, report.lines_skipped) == (2, 1)
    assert report.problems == [f"{source}:2: {_TOO_LONG}"]
