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


@pytest.mark.parametrize("argv, said", [
    (["embeddings", "info", "store", "x\ny"], "unrecognized arguments: x\\ny"),
    (["tag", "--input", "in.txt", "--output", "out/x", "--m=a\nb"],
     "ambiguous option: --m=a\\nb could match --model,"),
    (["model", "info", "m", "--x\u2028y"], "unrecognized arguments: --x\\u2028y"),
])
def test_argparse_s_refusal_of_an_argument_with_line_breaks_ends_in_one_line(argv, said, capsys):
    # Found by fuzzing the commands' arguments: argparse's own line (after its usage) named the
    # argument as given, and its line break split the refusal's last line in two.
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    last = capsys.readouterr().err.rstrip("\n").split("\n")[-1]
    assert last.startswith("beamtagger") and ": error: " in last and said in last, last
    assert not any(br in last for br in "\r\u2028")
