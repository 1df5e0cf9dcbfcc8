"""What an ML engineer's first training runs met on the way in: a folder of exports or a quoted
pattern given to --train, and a --format that is not the file's. Refused before any training
(and before TensorFlow's import), so these run in milliseconds."""
import json

import pytest

from beamtagger.pipeline import cli

SPANS = "".join(json.dumps({"text": text, "spans": [{"start": 0, "end": 3, "label": "PRODUCT"}]})
                + "\n" for text in ("Pixel crashed again .", "iOS update failed ."))
CONLLU = ("# sent_id = s1\n"
          "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\tFlag=NO\n"
          "2\tbug\tbug\tNOUN\tNN\t_\t0\troot\t_\tFlag=ERR\n\n")


def refusal(capsys, *argv):
    code = cli.main(list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    return err[0]


@pytest.fixture
def exports(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("week1.jsonl", "week2.jsonl"):
        (folder / name).write_text(SPANS, encoding="utf-8")
    return folder


def test_a_folder_given_to_train_asks_for_its_files_not_one_of_them(capsys, exports, tmp_path):
    err = refusal(capsys, "train", "--train", str(exports), "--dev",
                  str(exports / "week1.jsonl"), "--out", str(tmp_path / "m"))
    assert err.endswith(f"training corpus {exports} is a folder: give its files "
                        "(--train reads several as one)")


@pytest.mark.parametrize("role", ["--train", "--dev"])
def test_a_quoted_pattern_is_named_a_pattern_not_a_missing_file(capsys, exports, tmp_path, role):
    pattern = str(exports / "*.jsonl")
    files = {"--train": str(exports / "week1.jsonl"), "--dev": str(exports / "week2.jsonl")}
    files[role] = pattern
    err = refusal(capsys, "train", "--train", files["--train"], "--dev", files["--dev"],
                  "--out", str(tmp_path / "m"))
    assert "does not exist" not in err
    what = "training" if role == "--train" else "dev"
    assert f"{what} corpus {pattern} is a pattern, which is read as a file name here" in err
    assert err.endswith("so that the shell gives --train its files (read as one)"
                        if role == "--train" else "give one of the files it matches")


@pytest.mark.parametrize("given", ["conll", "conllu"])
def test_a_spans_file_read_with_another_format_names_format_spans(capsys, exports, tmp_path,
                                                                  given):
    week1 = exports / "week1.jsonl"
    err = refusal(capsys, "train", "--train", str(week1), "--dev", str(week1),
                  "--format", given, "--out", str(tmp_path / "m"))
    assert err.endswith("; it reads as spans (from its extension): give --format spans "
                        "(or leave --format out)")


def test_a_conllu_file_read_as_spans_names_format_conllu(capsys, tmp_path):
    flags = tmp_path / "flags.conllu"
    flags.write_text(CONLLU, encoding="utf-8")
    err = refusal(capsys, "evaluate", "--data", str(flags), "--format", "spans")
    assert err.endswith(f"{flags}:1: not JSON (Expecting value at character 1); it reads as "
                        "conllu (from its extension): give --format conllu (or leave --format out)")


def test_a_malformed_file_of_the_named_format_gets_no_hint(capsys, tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text(SPANS + '{"text": "cut off", "spans": [{"start": 0\n', encoding="utf-8")
    err = refusal(capsys, "train", "--train", str(broken), "--dev", str(broken),
                  "--format", "spans", "--out", str(tmp_path / "m"))
    assert err.endswith(f"{broken}:3: not JSON (Expecting ',' delimiter at character 42)")
