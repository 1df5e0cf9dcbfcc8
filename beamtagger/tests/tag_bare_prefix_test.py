"""``tag --output NAME``, a prefix with no folder (files in the working directory): Beam 2.78's
matching lists the folder before a pattern's first wildcard, "" for ``NAME-[0-9]...``, and
found none of the run's files there. So a rerun was not refused, ``--overwrite`` left the
earlier run's shards beside the new ones (``NAME-00000-of-00002`` and ``NAME-00000-of-00001``:
every record read twice by a reader of ``NAME-*``), and ``--print-results`` and the summary's
``results`` listed nothing."""
import json
import os

from beamtagger.pipeline import cli


def _tag(capsys, *args):
    code = cli.main(["tag", "--progress-every", "0", "--input", "in.txt", "--output", "q",
                     *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_prefix_in_the_working_directory_is_refused_replaced_and_listed(tmp_path, capsys,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("Taylor Swift lives in London .\nI love it .\n",
                                     encoding="utf-8")
    assert _tag(capsys, "--num-shards", "2")[0] == 0
    code, _, err = _tag(capsys)
    assert code == 2 and "--output q already holds the files of an earlier run" in err, err
    code, out, err = _tag(capsys, "--overwrite", "--print-results", "--summary-json", "s.json")
    assert code == 0, err
    assert sorted(name for name in os.listdir(tmp_path) if name.startswith("q-")) == [
        "q-00000-of-00001.jsonl", "q-errors-00000-of-00001.jsonl"]
    assert "in.txt:1: Taylor/PROPN" in out
    results = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))["results"]
    assert [os.path.basename(path) for path in results] == ["q-00000-of-00001.jsonl"]
