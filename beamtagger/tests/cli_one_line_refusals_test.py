"""A refusal is one line on standard error whatever the paths it names hold: a script that
reads the last line, or a log that keeps a line an event, saw only its end where an argument
held a line break."""
import pytest

from beamtagger.pipeline import cli


@pytest.mark.parametrize("argv, said", [
    (["model", "info", "no\nmodel"], "model directory no\\nmodel does not exist"),
    (["tag", "--input", "/nonexistent/a\r\nb\u2028c.txt", "--output", "out/x"],
     "no input files match /nonexistent/a\\r\\nb\\u2028c.txt"),
])
def test_a_refusal_naming_a_path_with_line_breaks_is_one_line(argv, said, capsys, tmp_path,
                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert said in err
    assert err.count("\n") == 1 and err.endswith("\n")
    assert not any(br in err for br in "\r\u2028")
