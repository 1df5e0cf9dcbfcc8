"""tag --input - and the encoding warning (audit): the warning sees the copy of standard input
and names it as the user gave it, not as the temporary file the run removes."""
import io
import sys

from beamtagger.tests.conftest import run_tag_command

TEXT = "Café au lait .\nA dog ran .\n"


def _tag_standard_input(capsys, monkeypatch, tmp_path, tagger, data, *options):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    return run_tag_command(capsys, "--input", "-", "--output", str(tmp_path / "r"), "--model",
                           tagger.model_dir, "--embeddings", tagger.store_path, *options)


def test_utf16_on_standard_input_is_warned_of_as_stdin(capsys, monkeypatch, tmp_path,
                                                        tiny_tagger, temporary):
    code, _, err = _tag_standard_input(capsys, monkeypatch, tmp_path, tiny_tagger,
                                       TEXT.encode("utf-16"))
    # Nothing read, so nothing tagged: exit 3, the dead letter saying why.
    assert code == 3, err
    assert err.strip().splitlines()[-1].startswith("beamtagger tag: nothing was tagged (1 part "
                                                   "of the input not read")
    warning = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1, err
    assert warning[0].startswith("warning: --input stdin: the file is UTF-16"), warning
    assert str(temporary) not in err


def test_utf16_on_standard_input_read_with_encoding_is_tagged_without_a_warning(
        capsys, monkeypatch, tmp_path, tiny_tagger, temporary):
    code, out, err = _tag_standard_input(capsys, monkeypatch, tmp_path, tiny_tagger,
                                         TEXT.encode("utf-16"), "--encoding", "utf-16")
    assert code == 0, err
    assert "warning:" not in err
    assert "records tagged              2" in out


def test_utf8_on_standard_input_read_as_cp1252_is_warned_of_as_stdin(
        capsys, monkeypatch, tmp_path, tiny_tagger, temporary):
    code, _, err = _tag_standard_input(capsys, monkeypatch, tmp_path, tiny_tagger,
                                       TEXT.encode("utf-8"), "--encoding", "cp1252")
    assert code == 0, err
    assert "warning: --input stdin: " in err and str(temporary) not in err
