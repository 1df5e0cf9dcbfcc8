"""``beamtagger tag --runtime_type_check``: Beam 2.78's own file sinks (WriteToText,
WriteToParquet, iobase.WriteImpl's FinalizeWrite typed str, giving TimestampedValues) fail
every such run after its records are tagged, a TypeCheckError traceback and exit 1. tag
refuses the option in one line before launch, naming --performance_runtime_type_check, under
which the same run writes every record (its results and its format dead letters)."""
import glob
import json
import pathlib

from beamtagger.tests.conftest import run_tag_command


def _tag(capsys, tiny_tagger, tmp_path, *options):
    source = tmp_path / "in.txt"
    source.write_text("the cat sat\n\na dog\n", encoding="utf-8")
    prefix = str(tmp_path / "out")
    code, out, err = run_tag_command(
        capsys, "--input", str(source), "--output", prefix, "--output-format", "conllu",
        "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path, *options)
    return code, out, err, prefix


def test_the_runtime_type_check_is_refused_in_one_line(tiny_tagger, tmp_path, capsys):
    code, _, err, prefix = _tag(capsys, tiny_tagger, tmp_path, "--runtime_type_check")
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "pass --performance_runtime_type_check" in err
    assert not glob.glob(prefix + "*")


def test_the_performance_check_writes_every_record(tiny_tagger, tmp_path, capsys):
    code, _, err, prefix = _tag(capsys, tiny_tagger, tmp_path,
                                  "--performance_runtime_type_check")
    assert code == 0, err
    [results] = glob.glob(prefix + "-[0-9]*-of-*.conllu")
    text = pathlib.Path(results).read_text(encoding="utf-8")
    assert text.count("# sent_id = ") == 2
    [errors] = glob.glob(prefix + "-errors-*")
    letters = [json.loads(line)
               for line in pathlib.Path(errors).read_text(encoding="utf-8").splitlines()]
    assert [letter["stage"] for letter in letters] == ["format"]   # the blank line
