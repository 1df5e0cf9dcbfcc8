"""Odd file names in a data lake, walked through as a user on a shared box would: names that
are not UTF-8 (Latin-1 archives unpacked on Linux), names holding line breaks, a leading dash
or pattern characters, and paths given in single quotes ($VARIABLE, ~). Each is tagged with
ids and sources that name its own file, or refused in one line that says what to type; the
commands run in-process (cli.main)."""
import json
import os
import shlex

import pytest

from beamtagger.pipeline import cli
from beamtagger.pipeline.common import FormatChoice
from beamtagger.pipeline.unexpanded_variables import unexpanded_variable
from beamtagger.tests.conftest import run_tag_command
from beamtagger.transforms.reading import default_record_id


def _tiny(tiny_tagger):
    return ("--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)


def _lines(folder, pattern):
    # Split at "\n" only: JSON keeps U+2028 as it is, where splitlines() cuts.
    return [json.loads(line) for path in sorted(folder.glob(pattern))
            for line in path.read_text(encoding="utf-8").split("\n") if line]


def test_names_that_are_not_utf8_keep_ids_and_sources_of_their_own(capsys, tmp_path,
                                                                   tiny_tagger):
    # Each byte that is not UTF-8 was read as U+FFFD: caf\xe9.txt and caf\xe8.txt gave their
    # records the same ids, and a dead letter's source named no file (open() of it failed).
    # A damaged file's source held \udce9, which no shell reads back as the byte.
    lake = tmp_path / "lake"
    lake.mkdir()
    folder = os.fsencode(lake)
    for name, content in [(b"caf\xe9.txt", b"the cat sat .\n"),
                          (b"caf\xe8.txt", b"the cat sat .\n\xff bad line\n"),
                          (b"caf\xe7.txt.gz", b"not gzip at all\n")]:
        with open(folder + b"/" + name, "wb") as handle:
            handle.write(content)
    pattern = str(lake / "*")
    code, out, err = run_tag_command(capsys, "--input", pattern, "--input-format", "text",
                                   "--output", str(tmp_path / "out" / "run"), *_tiny(tiny_tagger),
                                   "--max-dead-letters", "100%")
    assert code == 0, err
    # Standard error and the summary name them so too (Python's own escape was \udce8).
    assert f"warning: --input {lake}/caf\\xe8.txt: its byte 14 (0xff) is not UTF-8" in err
    assert f"not read from    {lake}/caf\\xe7.txt.gz:1" in out
    assert "\\udc" not in out + err
    ids = sorted(record["id"] for record in _lines(tmp_path / "out", "run-0*.jsonl"))
    assert ids == ["caf\\xe8.txt:1", "caf\\xe9.txt:1"]
    letters = {letter["source"]: letter for letter in _lines(tmp_path / "out", "run-errors-*")}
    assert sorted(letters) == [f"{lake}/caf\\xe7.txt.gz:1", f"{lake}/caf\\xe8.txt:2"]
    for source in letters:
        # As bash's $'...' reads it: the file's own bytes, so the user finds that file.
        path = source.rpartition(":")[0].encode().decode("unicode_escape").encode("latin-1")
        assert os.path.isfile(path), source
    # Tagging the failed record again rebuilds the id its run would have given it.
    assert default_record_id(f"{lake}/caf\\xe8.txt:2", pattern) == "caf\\xe8.txt:2"
    assert default_record_id(f"{lake}/caf\\xe8.txt:2", str(tmp_path / "*" / "*")) == \
        "lake/caf\\xe8.txt:2"


def test_names_with_line_breaks_keep_the_summary_one_line_a_file(capsys, tmp_path,
                                                                tiny_tagger):
    # The summary's "results", "dead letters" and "not read from" lines and --print-results'
    # ids printed such a name as it is: each line cut in two, its second half a line of its own.
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "new\nline.txt").write_bytes(b"the cat sat .\n\xff bad line\n")
    (lake / "bro\u2028ken.txt.gz").write_bytes(b"not gzip at all\n")
    prefix = tmp_path / "out" / "n\nl"
    code, out, err = run_tag_command(capsys, "--input", str(lake / "*"), "--input-format",
                                     "text", "--output", str(prefix), *_tiny(tiny_tagger),
                                     "--max-dead-letters", "100%", "--print-results",
                                     "--summary-json", str(tmp_path / "sum\nmary.json"))
    assert code == 0, err
    lines = out.splitlines()
    assert [line for line in lines if "line.txt" in line] == [
        line for line in lines if line.startswith("new\\nline.txt:1: the/")], out
    shown = str(tmp_path / "out" / "n\\nl")
    assert f"results          {shown}-00000-of-00001.jsonl" in lines, out
    assert f"dead letters     {shown}-errors-00000-of-00001.jsonl" in lines, out
    assert f"not read from    {lake}/bro\\u2028ken.txt.gz:1" in lines, out
    # The summary JSON and the errors file hold the names as they are: they find the files.
    summary = json.loads((tmp_path / "sum\nmary.json").read_text(encoding="utf-8"))
    assert all(os.path.isfile(path) for path in summary["results"] + summary["dead_letter_files"])
    sources = sorted(letter["source"] for letter in _lines(tmp_path / "out", "n\nl-errors-*"))
    assert sources == [f"{lake}/bro\u2028ken.txt.gz:1", f"{lake}/new\nline.txt:2"]


@pytest.mark.parametrize("argv, hint", [
    (["tag", "--input", "-x.txt", "--output", "out/r"],
     "write --input=-x.txt, or --input ./-x.txt for a file)"),
    (["tag", "--input", "--y.jsonl", "--output", "out/r"], "write --input=--y.jsonl, or --input ./--y.jsonl for a file)"),
    (["train", "--train", "-x.txt", "--dev", "d.conllu", "--out", "m"],
     "write --train=-x.txt, or --train ./-x.txt for a file)"),
    (["embeddings", "coverage", "store", "-x.txt"], "write ./-x.txt)"),
])
def test_a_value_starting_with_a_dash_is_refused_with_how_to_give_it(argv, hint, capsys,
                                                                     tmp_path, monkeypatch):
    # argparse said only "argument --input: expected one argument" for a file named -x.txt.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-x.txt").write_text("the cat sat .\n", encoding="utf-8")
    with pytest.raises(SystemExit) as refused:
        cli.main(argv)
    assert refused.value.code == 2
    line = capsys.readouterr().err.splitlines()[-1]
    command = " ".join(argv[:2] if argv[0] == "embeddings" else argv[:1])
    assert line.startswith(f"beamtagger {command}: error: "), line
    assert "starts with '-', which reads as an option: " in line and line.endswith(hint), line
    assert sorted(path.name for path in tmp_path.iterdir()) == ["-x.txt"]


def test_a_name_holding_pattern_characters_is_tagged_as_the_refusal_or_warning_says(
        capsys, tmp_path, tiny_tagger, monkeypatch):
    # The refusal's suggestion was quoted with bare single quotes ('./it's[[]1].txt': not one
    # shell word), and what?.txt tagged whats.txt too without a word.
    monkeypatch.chdir(tmp_path)
    for name in ("it's[1].txt", "what?.txt", "whats.txt"):
        (tmp_path / name).write_text("the cat sat .\n", encoding="utf-8")
    code, _, err = run_tag_command(capsys, "--input", "it's[1].txt", "--output", "out/a",
                                   *_tiny(tiny_tagger))
    assert code == 2 and not (tmp_path / "out").exists(), err
    said = err.strip().rpartition("write it as --input ")[2]
    assert shlex.split(said) == ["./it's[[]1].txt"], err

    code, out, err = run_tag_command(capsys, "--input", "what?.txt", "--output", "out/b",
                                     *_tiny(tiny_tagger))
    assert code == 0 and "records read                2" in out, err
    assert err.strip() == (
        "warning: --input ./what?.txt is the name of a file, and as a pattern it also matches "
        "1 other file (./whats.txt): all are tagged; for that file alone write --input "
        "'./what[?].txt'")
    code, out, err = run_tag_command(capsys, "--input", *shlex.split(said), "--output", "out/c",
                                     *_tiny(tiny_tagger))
    assert code == 0 and "records read                1" in out and err == "", err
    assert [record["id"] for record in _lines(tmp_path / "out", "c-0*")] == ["it's[1].txt:1"]


@pytest.mark.parametrize("argv, shown", [
    (["tag", "--input", "in.txt", "--output", "$BT_DATA/run"], "--output $BT_DATA/run"),
    (["tag", "--input", "${BT_DATA}/*.txt", "--output", "out/run"], "--input ${BT_DATA}/*.txt"),
    (["tag", "--input", "in.txt", "--output", "out/run", "--summary-json", "$BT_DATA/s.json"],
     "--summary-json $BT_DATA/s.json"),
    (["tag", "--input", "in.txt", "--output", "out/run", "--model", "ner=$BT_DATA/m"],
     "--model ner=$BT_DATA/m"),
    (["train", "--train", "$BT_DATA/t.conllu", "--dev", "in.txt", "--out", "m"],
     "--train $BT_DATA/t.conllu"),
    (["embeddings", "import", "in.txt", "--out", "$BT_DATA/store"], "--out $BT_DATA/store"),
])
def test_a_variable_no_shell_expanded_is_refused_in_one_line(argv, shown, capsys, tmp_path,
                                                            monkeypatch):
    # Given in single quotes: --output '$BT_DATA/run' made a folder named $BT_DATA here and
    # wrote the run in it, exit 0; the others were "no input files match" or "does not exist".
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BT_DATA", str(tmp_path / "data"))
    (tmp_path / "in.txt").write_text("the cat sat .\n", encoding="utf-8")
    assert cli.main(argv) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (f"beamtagger {argv[0]}: error: {shown}: $BT_DATA is not expanded: the path "
                    "is read as given, and the shell leaves $BT_DATA as it is inside single "
                    "quotes; write the path in double quotes")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.txt"]


def test_a_folder_really_named_like_a_variable_is_read_as_it_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BT_DATA", "elsewhere")
    assert unexpanded_variable("$BT_DATA/run", written=True) is not None
    assert unexpanded_variable("out/$BT_DATA", written=True) is None   # a prefix's own name
    assert unexpanded_variable("$BT_UNSET/run", written=True) is None
    (tmp_path / "$BT_DATA").mkdir()
    assert unexpanded_variable("$BT_DATA/run", written=True) is None
    assert unexpanded_variable("$BT_DATA/*.txt", written=False) is None


def test_a_variable_like_name_under_the_home_folder_or_in_a_pattern_is_read_as_it_is(
        tmp_path, monkeypatch):
    # '~/$BT_DATA/c.txt' was looked for in a folder named ~ (refused, though the home folder
    # holds $BT_DATA), and 'in/$BT_DATA-*.txt' as a file of that very name (refused, though it
    # matches $BT_DATA-1.txt).
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BT_DATA", "elsewhere")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "$BT_DATA").mkdir(parents=True)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "$BT_DATA-1.txt").write_text("the cat sat .\n", encoding="utf-8")
    assert unexpanded_variable("~/$BT_DATA/c.txt", written=False) is None
    assert unexpanded_variable("in/$BT_DATA-*.txt", written=False) is None
    assert unexpanded_variable("in/$BT_DATA.*.txt", written=False) is not None
    assert unexpanded_variable("~/x/$BT_DATA/c.txt", written=False) is not None


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder of the test's own (``HOME``), the working directory ``tmp_path``."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return home


def test_a_quoted_tilde_is_the_home_folder_in_every_path_argument(capsys, home, tiny_tagger):
    # tag --input '~/...' read the home folder's file; evaluate --data, train --train,
    # embeddings coverage and --summary-json read a folder named ~ in the working directory.
    (home / "c.txt").write_text("the cat sat .\n", encoding="utf-8")
    assert cli.main(["embeddings", "coverage", tiny_tagger.store_path, "~/c.txt"]) == 0
    assert capsys.readouterr().out.startswith(f"corpus: {home}/c.txt (text")
    assert cli.main(["evaluate", "--model", tiny_tagger.model_dir, "--data",
                     "~/dev.conllu"]) == 2
    assert f"{home}/dev.conllu does not exist" in capsys.readouterr().err


def test_a_file_really_named_tilde_is_read_as_it_was(capsys, tmp_path, home, tiny_tagger):
    # Read before ~ was expanded everywhere; then the home folder: "is a folder".
    (tmp_path / "~").write_text("the cat sat .\n", encoding="utf-8")
    assert cli.main(["embeddings", "coverage", tiny_tagger.store_path, "~"]) == 0
    assert capsys.readouterr().out.startswith("corpus: ~ (text")


def test_train_and_evaluate_say_the_format_of_a_file_named_with_a_line_break_in_one_line():
    said = []
    FormatChoice("conllu", "extension").announce("train", "d\nv.conllu", log=said.append)
    assert said == ["train: reading d\\nv.conllu as conllu (from its extension)"]


def test_a_parquet_file_whose_name_is_not_utf8_is_read(tmp_path):
    # Its rows were read from the name as written in sources (U+FFFD, or \xe9 there): "No such
    # file or directory", none of its rows read.
    import pyarrow as pa
    import pyarrow.parquet as pq

    from beamtagger.transforms.reading.parquet_rows import row_group_records, row_groups

    path = os.fsencode(tmp_path) + b"/b\xe9.parquet"
    with open(path, "wb") as handle:
        pq.write_table(pa.table({"text": ["the dog ran ."]}), handle)
    (group,) = row_groups(os.fsdecode(path), "text")
    (record,) = row_group_records(group)
    assert (record.id, record.source, record.text) == (
        "b\\xe9.parquet:1", f"{tmp_path}/b\\xe9.parquet:1", "the dog ran .")


@pytest.mark.parametrize("input_format, content, line", [
    ("text", b"the cat sat .\n", 1), ("jsonl", b'{"text": "the cat sat ."}\n', 1),
    ("csv", b"text\nthe cat sat .\n", 2), ("conll", b"the\ncat\n", 1),
])
def test_a_name_that_is_utf8_keeps_its_id_whatever_backslashes_it_holds(input_format, content,
                                                                        line, tmp_path):
    # The ids' backslash rule took path_text's \xNN for the file's own and left it, so a file
    # named caf\xe9.txt with a backslash (valid UTF-8: its id was xe9.txt, the backslash a
    # Windows folder's) got caf\xe9.txt, the id of the file whose name holds the byte 0xE9; a
    # Windows folder named x86 under the id folder kept the whole path in its ids.
    from beamtagger.transforms.reading.csv_rows import read_path_csv_records
    from beamtagger.transforms.reading.record_parsers import (file_name, pattern_id_folder,
                                                              read_path_records)

    records = {}
    for name in (b"caf\xe9.in", b"caf\\xe9.in"):
        path = os.fsdecode(os.fsencode(tmp_path) + b"/" + name)
        with open(path, "wb") as handle:
            handle.write(content)
        (records[name],) = (read_path_csv_records(path) if input_format == "csv"
                            else read_path_records(path, input_format))
    assert {name: record.id for name, record in records.items()} == {
        b"caf\xe9.in": f"caf\\xe9.in:{line}", b"caf\\xe9.in": f"xe9.in:{line}"}
    # Tagging a failed record again rebuilds the id from its source; the other file's source
    # is the same text (docs/tagging.md, Default ids), read as the byte's.
    source = records[b"caf\xe9.in"].source
    assert source == records[b"caf\\xe9.in"].source == f"{tmp_path}/caf\\xe9.in:{line}"
    assert default_record_id(source, str(tmp_path / "*")) == f"caf\\xe9.in:{line}"
    windows = "C:\\build\\*\\*.txt"
    assert file_name("C:\\build\\x86\\a.txt", pattern_id_folder(windows)) == "x86/a.txt"
    assert default_record_id("C:\\build\\x86\\a.txt:3", windows) == "x86/a.txt:3"


def test_parquet_ids_name_a_file_as_the_other_formats_do(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from beamtagger.transforms.reading.parquet_rows import row_group_records, row_groups

    path = os.fsdecode(os.fsencode(tmp_path) + b"/b\\xe9.parquet")
    pq.write_table(pa.table({"text": ["the dog ran ."]}), path)
    (group,) = row_groups(path, "text")
    (record,) = row_group_records(group)
    assert (record.id, record.source) == ("xe9.parquet:1", f"{path}:1")


def test_standard_output_writes_a_name_that_is_not_utf8_as_its_escapes(capsys, tmp_path,
                                                                      monkeypatch, tiny_tagger):
    # embeddings coverage's "files:" line raised UnicodeEncodeError on a strict UTF-8 standard
    # output (capsys', en_US.UTF-8's), and wrote the raw byte on a surrogateescape one.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("the cat sat .\n", encoding="utf-8")
    with open(b"b\xe9.txt", "wb") as handle:
        handle.write(b"the dog ran .\n")
    assert cli.main(["embeddings", "coverage", tiny_tagger.store_path, "*.txt"]) == 0
    assert "files:  ./a.txt, ./b\\xe9.txt\n" in capsys.readouterr().out
