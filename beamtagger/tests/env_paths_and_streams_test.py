"""What the user's environment hands beamtagger: file names that are not UTF-8, an ASCII locale
with ``PYTHONUTF8=0``, closed standard streams, a deleted working directory. Each is either
tagged whole or refused in one line before launch; never a traceback or a lost record."""
import json
import os
import subprocess
import sys

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline.common import read_sentences
from beamtagger.tests.conftest import prepared_child
from beamtagger.transforms import ReadRecords, TagText

# An ASCII locale where Python does not switch to UTF-8 by itself: file names and standard
# streams are ASCII (surrogate-escaped beyond it).
ASCII_LOCALE = {"LC_ALL": "C", "PYTHONUTF8": "0"}


def _beamtagger(*args, env=None, cwd=None, child_setup=None, **streams):
    """The ``beamtagger`` executable in a child process; ``args`` may be bytes (file names
    that are not UTF-8); ``child_setup``: source run in the child first (``prepared_child``)."""
    child_env = {name: value for name, value in os.environ.items()
                 if name not in ("LANG", "LC_ALL", "LC_CTYPE", "PYTHONIOENCODING", "PYTHONUTF8")}
    child_env.update(env or {})
    command = [sys.executable, "-m", "beamtagger", *args]
    if child_setup is not None:
        command = prepared_child(command, child_setup)
    return subprocess.run(command, env=child_env, cwd=cwd,
                          timeout=300, **{"capture_output": True, **streams})


def _tiny_options(tiny_tagger):
    return ["--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
            "--runtime", "numpy", "--progress-every", "0"]


def _one_line_refusal(done):
    err = done.stderr.decode("ascii", "backslashreplace")
    assert done.returncode == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_a_file_whose_name_is_not_utf8_is_tagged_not_lost(tiny_tagger, tmp_path):
    # Latin-1 names (old archives, unzipped on Linux): Python names such a file with lone
    # surrogates, and every record of it became a dead letter ("featurize failed").
    folder = os.fsencode(tmp_path)
    with open(folder + b"/caf\xe9.txt", "wb") as handle:
        handle.write(b"the cat sat .\nthe dog ran .\n")
    with beam.Pipeline(runner=FnApiRunner()) as pipeline:
        read = pipeline | ReadRecords(str(tmp_path / "*.txt"), "text")
        out = read.records | TagText(**tiny_tagger.options)
        assert_that(out.tagged | beam.Map(lambda record: record.id),
                    equal_to(["caf\\xe9.txt:1", "caf\\xe9.txt:2"]))
        assert_that(out.errors, equal_to([]), label="no dead letters")


def test_an_ascii_locale_tags_files_with_non_ascii_names(tiny_tagger, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "café.txt").write_text("the cat sat .\n", encoding="utf-8")
    done = _beamtagger("tag", "--input", str(tmp_path / "in" / "*.txt"),
                       "--output", str(tmp_path / "out" / "r"), *_tiny_options(tiny_tagger),
                       env=ASCII_LOCALE)
    assert done.returncode == 0, done.stderr
    (results,) = (tmp_path / "out").glob("r-0*.jsonl")
    ids = [json.loads(line)["id"] for line in results.read_text(encoding="utf-8").splitlines()]
    assert ids == ["café.txt:1"]
    (errors,) = (tmp_path / "out").glob("r-errors-*.jsonl")
    assert errors.read_text() == ""


def test_a_path_argument_that_is_not_utf8_is_refused_in_one_line(tiny_tagger, tmp_path):
    folder = os.fsencode(tmp_path) + b"/caf\xe9"
    os.mkdir(folder)
    with open(folder + b"/in.txt", "wb") as handle:
        handle.write(b"the cat sat .\n")
    done = _beamtagger("tag", "--input", folder + b"/*.txt",
                       "--output", str(tmp_path / "out" / "r"), *_tiny_options(tiny_tagger))
    err = _one_line_refusal(done)
    assert "--input" in err and "caf\\xe9" in err and "not valid UTF-8" in err
    assert not (tmp_path / "out").exists()
    # The embedding store named so: pyarrow's "unreadable vocabulary" before.
    done = _beamtagger("embeddings", "info", folder)
    assert "not valid UTF-8" in _one_line_refusal(done)


def test_an_ascii_locale_refuses_a_non_ascii_output_path_in_one_line(tiny_tagger, text_in,
                                                                    tmp_path):
    done = _beamtagger("tag", "--input", str(text_in), "--output", str(tmp_path / "ré" / "r"),
                       *_tiny_options(tiny_tagger), env=ASCII_LOCALE)
    err = _one_line_refusal(done)
    assert "--output" in err and "PYTHONUTF8=1" in err
    assert not (tmp_path / "ré").exists()


def test_print_results_to_an_ascii_terminal_escapes_what_it_cannot_encode(tiny_tagger,
                                                                        tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("Zoë sat .\n", encoding="utf-8")
    done = _beamtagger("tag", "--input", str(text), "--output", str(tmp_path / "out" / "r"),
                       "--print-results", *_tiny_options(tiny_tagger), env=ASCII_LOCALE)
    assert done.returncode == 0, done.stderr
    assert b"in.txt:1: Zo\\xeb/" in done.stdout
    (results,) = (tmp_path / "out").glob("r-0*.jsonl")
    assert "Zoë" in results.read_text(encoding="utf-8")   # the files stay UTF-8


def test_closed_standard_streams(tiny_tagger, text_in, tmp_path):
    closed = {"stdin": None, "stdout": None, "stderr": None, "capture_output": False}
    # Python's sys.stderr is None then: flushing it at exit failed, and a refusal exited 1.
    refused = _beamtagger("tag", "--input", str(tmp_path / "none-*.txt"),
                          "--output", str(tmp_path / "refused" / "r"), *_tiny_options(tiny_tagger),
                          child_setup=_CLOSE_STANDARD_DESCRIPTORS, **closed)
    assert refused.returncode == 2
    done = _beamtagger("tag", "--input", str(text_in), "--output", str(tmp_path / "out" / "r"),
                       *_tiny_options(tiny_tagger), child_setup=_CLOSE_STANDARD_DESCRIPTORS,
                       **closed)
    assert done.returncode == 0
    (results,) = (tmp_path / "out").glob("r-0*.jsonl")
    assert [json.loads(line)["id"] for line in results.read_text().splitlines()] == [
        "in.txt:1", "in.txt:2"]


_CLOSE_STANDARD_DESCRIPTORS = "for descriptor in (0, 1, 2): os.close(descriptor)"


def test_a_deleted_working_directory_is_named_in_the_error(tiny_tagger, tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    done = _beamtagger("embeddings", "info", os.path.relpath(tiny_tagger.store_path),
                       cwd=gone, child_setup=f"os.rmdir({str(gone)!r})")
    err = done.stderr.decode()
    assert done.returncode == 1 and len(err.strip().splitlines()) == 1, err
    assert "the working directory no longer exists" in err


def test_a_link_to_a_missing_file_given_as_the_input_is_named_so(tiny_tagger, tmp_path):
    # "no input files match in.txt" only, beside an `ls` that lists in.txt.
    (tmp_path / "in.txt").symlink_to(tmp_path / "moved.txt")
    done = _beamtagger("tag", "--input", str(tmp_path / "in.txt"),
                       "--output", str(tmp_path / "out" / "r"), *_tiny_options(tiny_tagger))
    err = _one_line_refusal(done)
    assert f"is a symbolic link to {tmp_path / 'moved.txt'}, which does not exist" in err
    # train and evaluate read their corpora through the same check.
    with pytest.raises(BeamtaggerError, match="symbolic link to .*moved.txt, which does not"):
        read_sentences(str(tmp_path / "in.txt"), "conllu", None, "training")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("buffered", [True, False])
def test_standard_output_on_a_full_disk_is_named(tiny_tagger, text_in, tmp_path, buffered):
    # Buffered (the usual), the summary failed at the flush before exit: Python's traceback,
    # exit 120. Unbuffered (PYTHONUNBUFFERED=1): "error: No space left on device (ENOSPC)",
    # no word of which file.
    with open("/dev/full", "w") as full:
        done = _beamtagger("tag", "--input", str(text_in), "--output", str(tmp_path / "r"),
                           *_tiny_options(tiny_tagger), stdout=full, stderr=subprocess.PIPE,
                           capture_output=False,
                           env={"PYTHONUNBUFFERED": "" if buffered else "1"})   # "": unset
    err = done.stderr.decode()
    assert done.returncode == 1 and len(err.strip().splitlines()) == 1, err
    assert "error: standard output: No space left on device (ENOSPC)" in err
