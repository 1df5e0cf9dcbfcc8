"""Path arguments that Python 3.11's pathlib cannot resolve (it raises RuntimeError, not OSError)
are refused in one line before anything runs: each was a traceback, found by fuzzing the
commands' arguments."""
import os

import pytest

from beamtagger.pipeline import cli

NO_USER = "~beamtagger-no-such-user/x"


@pytest.mark.parametrize("argv, shown", [
    (["tag", "--input", "{text}", "--output", "out/r", "--model", "{path}"], "--model {path}"),
    (["tag", "--input", "{text}", "--output", "out/r", "--model", "ner={path}"],
     "--model ner={path}"),
    (["evaluate", "--model", "{path}", "--data", "{corpus}"], "--model {path}"),
    (["model", "info", "{path}"], "model {path}"),
    (["model", "set-threshold", "{path}", "0.5"], "model {path}"),
    (["train", "--train", "{corpus}", "--dev", "{corpus}", "--out", "{path}/m"],
     "--out {path}/m"),
    (["embeddings", "import", "{vectors}", "--out", "{path}"], "--out {path}"),
])
@pytest.mark.parametrize("kind", ["unknown user", "symbolic link loop"])
def test_a_path_pathlib_cannot_resolve_is_refused_in_one_line(argv, shown, kind, tmp_path,
                                                               capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("Hello .\n", encoding="utf-8")
    (tmp_path / "vectors.txt").write_text("the 0.1 0.2\n", encoding="utf-8")
    (tmp_path / "corpus.conllu").write_text("1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n\n",
                                            encoding="utf-8")
    os.symlink("loop", tmp_path / "loop")
    path = NO_USER if kind == "unknown user" else "loop"
    before = sorted(p.name for p in tmp_path.iterdir())
    paths = {"text": "in.txt", "corpus": "corpus.conllu", "vectors": "vectors.txt", "path": path}
    code = cli.main([part.format(**paths) for part in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    (line,) = err.strip().splitlines()   # one line, no traceback
    why = ("this machine has no user beamtagger-no-such-user" if kind == "unknown user"
           else "a symbolic link on that path leads back to itself")
    assert line.startswith(f"beamtagger {argv[0]}: error: {shown.format(path=path)}: "), line
    assert why in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("argv, option", [
    (["tag", "--input", "in.txt", "--output", "out/r", "--summary-json=--"], "--summary-json"),
    (["tag", "--input=--", "--output", "out/r"], "--input"),
    (["tag", "--input", "in.txt", "--output", "out/r", "--chunk=--"], "--chunk"),
    (["tag", "--input", "in.txt", "--output", "out/r", "--model=--"], "--model"),
    (["train", "--train=--", "--dev", "corpus.conllu", "--out", "m"], "--train"),
    (["model", "info", "--embeddings=--"], "--embeddings"),
])
def test_double_dash_as_an_option_s_value_is_refused_in_one_line(argv, option, tmp_path, capsys,
                                                                 monkeypatch):
    # Found by fuzzing: Python 3.11's argparse reads --opt=-- as an empty list, past the
    # option's type (--chunk=-- gave chunk []): a TypeError traceback wherever it was used.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("Hello .\n", encoding="utf-8")
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"beamtagger {argv[0]}: error: {option}: "), line
    assert "--" in line.split(": ", 2)[2] and "./--" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]



def test_an_option_whose_default_is_an_empty_list_left_out_is_no_double_dash():
    # An option of nargs="*" may default to []: left out, it is no "--opt=--" (the check once
    # read every empty list as one, and would have refused each run of such a command).
    import argparse

    parser = argparse.ArgumentParser(prog="beamtagger sub")
    parser.add_argument("--fields", nargs="*", default=[])
    parser.add_argument("--input", nargs="+")
    args = parser.parse_args([])
    args._parser = parser
    assert cli._double_dash_value(args) is None
    args = parser.parse_args(["--input=--"])
    args._parser = parser
    assert cli._double_dash_value(args).startswith("--input: -- given as its value")

@pytest.mark.parametrize("argv", [
    ["tag", "--runtime", "numpy", "--progress-every", "0", "--input", "~*.txt",
     "--output", "out/r", "--summary-json", "~summary.json", "--model", "{model}",
     "--embeddings", "{store}"],
    ["embeddings", "coverage", "{store}", "~draft.txt"],
])
def test_a_file_named_tilde_something_is_read_where_the_path_is_read_as_given(
        argv, tiny_tagger, tmp_path, capsys, monkeypatch):
    # The shell leaves ~draft.txt (and a quoted '~*.txt') as it is where no user draft.txt
    # exists, and these arguments never go through pathlib's expanduser: the files of that name
    # were read, exit 0, until the check of ~USER refused them ("this machine has no user
    # *.txt").
    monkeypatch.chdir(tmp_path)
    (tmp_path / "~draft.txt").write_text("The cat sat .\n", encoding="utf-8")
    code = cli.main([part.format(model=tiny_tagger.model_dir, store=tiny_tagger.store_path)
                     for part in argv])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "names no home folder" not in err
    if "--summary-json" in argv:
        assert (tmp_path / "~summary.json").is_file()


@pytest.mark.parametrize("argv, next_check", [
    (["evaluate", "--model", "no-model", "--data", "~dev.conllu"],
     "model directory no-model does not exist"),
    (["train", "--train", "~dev.conllu", "--dev", "~dev.conllu", "--out", "m", "--epochs", "0"],
     "--epochs must be at least 1, not 0"),
])
def test_a_corpus_named_tilde_something_passes_to_the_command_s_own_checks(
        argv, next_check, tmp_path, capsys, monkeypatch):
    # evaluate --data and train's corpora are opened as given, as tag --input is (above); the
    # command's next check is what refuses these, not "this machine has no user dev.conllu".
    monkeypatch.chdir(tmp_path)
    (tmp_path / "~dev.conllu").write_text("1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n\n",
                                          encoding="utf-8")
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.strip().endswith(next_check), err


@pytest.mark.parametrize("model, next_check", [
    ("./x=~beamtagger-no-such-user", "model directory x=~beamtagger-no-such-user does not exist"),
    ("a=~beamtagger-no-such-user", "a=~beamtagger-no-such-user is not a tagger model: "
                                   "tagger.json is missing"),
])
def test_a_model_folder_named_with_an_equals_sign_is_one_path(model, next_check, tmp_path,
                                                              capsys, monkeypatch):
    # tag reads --model as NAME=DIR only where the value is no path there and its start is a
    # name (tag_models.split_model_argument); the check of ~USER split every value at its =
    # and refused these folders ("this machine has no user beamtagger-no-such-user").
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("Hello .\n", encoding="utf-8")
    (tmp_path / "a=~beamtagger-no-such-user").mkdir()
    code = cli.main(["tag", "--input", "in.txt", "--output", "out/r", "--model", model])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.strip().endswith(next_check), err


def test_a_named_model_s_unknown_user_is_refused_with_the_name_kept_in_the_advice(
        tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["tag", "--input", "in.txt", "--output", "out/r", "--model", f"ner={NO_USER}"])
    err = capsys.readouterr().err
    assert code == 2, err
    # Not ./~beamtagger-no-such-user/x, which would drop the model's name.
    assert err.strip().endswith(f"(ner=./{NO_USER} for a folder of that name)"), err
