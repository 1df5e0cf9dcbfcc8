"""beamtagger/data/tag_in_parts.sh, the loop of docs/tagging.md's "A large collection in parts": a part
with a summary is never tagged again, a part without one is, over what a killed run left."""
import fcntl
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from beamtagger.tests.conftest import prepared_child, run_tag_command
from beamtagger.tests.docs_examples_test import doc_commands, the_block

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "data" / "tag_in_parts.sh"
pytestmark = pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("flock") is None,
    reason="tag_in_parts.sh needs bash and util-linux flock")


def _loop(root, out, *tag_options, lock_wait="5"):
    # The CLI in a child process, as a user runs it, from this checkout.
    environment = dict(os.environ, PYTHONPATH=str(SCRIPT.parents[2]),
                       BEAMTAGGER=f"{sys.executable} -m beamtagger",
                       TAG_IN_PARTS_LOCK_WAIT=lock_wait)
    return subprocess.run(["bash", str(SCRIPT), str(root), str(out), "20", *tag_options],
                          capture_output=True, text=True, env=environment, timeout=120)


def _ids(out):
    ids = []
    for results in sorted(out.glob("part-*/tagged-?????-of-?????.jsonl")):
        ids += [json.loads(line)["id"] for line in results.read_text().splitlines()]
    return sorted(ids)


def _read_by_the_docs_recipe(folder):
    """The ids docs/tagging.md's reader of the parts done gives, run verbatim in ``folder``."""
    recipe = the_block("docs/tagging.md", "A large collection in parts",
                       "# The result files of the parts done so far, as one pandas table: a "
                       "part in progress or killed")
    printed = subprocess.run([sys.executable, "-c", recipe + "print(json.dumps(sorted(tagged.id)))"],
                             cwd=folder, capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    return json.loads(printed.stdout)


def test_a_part_with_a_summary_is_skipped_and_one_without_is_tagged_over_a_killed_runs_files(
        tiny_tagger, tmp_path, capsys):
    root = tmp_path / "texts [1] *"
    (root / "sub dir").mkdir(parents=True)
    (root / "a b?.txt").write_text("The cat sat .\nA dog ran .\n", encoding="utf-8")
    (root / "sub dir" / "c.txt").write_text("It is here .\n", encoding="utf-8")
    out = tmp_path / "out" / "texts"   # as in the docs' reader
    model = ("--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
             "--runtime", "numpy", "--progress-every", "0")

    # A refusal before launch (exit 2) stops the loop at its first part, nothing tagged; the
    # plan stays: one part a file here (20 bytes a part), ids by path under ROOT.
    refused = _loop(root, out, *model, "--max-dead-letters", "lots")
    assert refused.returncode == 2, refused.stderr
    assert "part-00000 did not finish (exit 2)" in refused.stderr
    parts = sorted(out.glob("part-*"))
    assert [part.name for part in parts] == ["part-00000", "part-00001"]
    assert not list(out.glob("part-*/summary.json"))

    # part-00000 tagged as the loop tags it (in this process: one child process fewer);
    # part-00001 as a run killed while publishing left it: a result file, its lock folder.
    code, _, err = run_tag_command(
        capsys, *model[:4], "--input", f"{parts[0]}/in/**", "--output", f"{parts[0]}/tagged",
        "--summary-json", f"{parts[0]}/summary.json", "--overwrite")
    assert code == 0, err
    done = {path.name: path.stat().st_mtime_ns for path in parts[0].iterdir()}
    (parts[1] / "tagged-00000-of-00001.jsonl").write_text('{"id": "killed"}\n')
    (parts[1] / ".tagged.tag-lock").mkdir()
    assert _read_by_the_docs_recipe(tmp_path) == ["a b?.txt:1", "a b?.txt:2"]   # done only

    finished = _loop(root, out, *model)
    assert finished.returncode == 0, finished.stderr
    assert "part-00000: tagging" not in finished.stderr
    assert "part-00001: tagging" in finished.stderr
    assert "2 parts done (1 tagged now, 1 before)" in finished.stderr
    assert {path.name: path.stat().st_mtime_ns for path in parts[0].iterdir()} == done
    assert (parts[1] / "summary.json").is_file()
    assert _ids(out) == ["a b?.txt:1", "a b?.txt:2", "sub dir/c.txt:1"]
    assert _read_by_the_docs_recipe(tmp_path) == _ids(out)


def test_a_second_loop_on_the_same_output_and_an_output_inside_the_input_are_refused(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    (root / "a.txt").write_text("The cat sat .\n", encoding="utf-8")
    inside = _loop(root, root / "out")
    assert inside.returncode == 2 and "inside ROOT" in inside.stderr, inside.stderr
    assert not (root / "out" / "part-00000").exists()

    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".tag-in-parts.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # as a loop running there holds it
        second = _loop(root, out, lock_wait="0")
    assert second.returncode == 2 and "another loop, or the run of a part" in second.stderr, second.stderr
    assert not (out / "part-00000").exists()


def _fake_tag(tmp_path, body):
    """A stand-in for ``beamtagger`` (BEAMTAGGER), in bash: the loop's own behaviour in
    milliseconds, without a Python start a part. ``body`` runs with $input (the part's
    --input) and $summary (its --summary-json) set."""
    fake = tmp_path / "fake-beamtagger"
    fake.write_text("#!/usr/bin/env bash\n"
                    "while [ $# -gt 0 ]; do case $1 in --input) input=$2 ;; "
                    "--summary-json) summary=$2 ;; esac; shift; done\n"
                    f"{body}\n", encoding="utf-8")
    fake.chmod(0o755)
    return str(fake)


def _fake_loop(root, out, fake, *tag_options):
    # Ctrl-C as a terminal sends it: to the loop's process group, whose SIGINT is not ignored
    # (a child started from a non-interactive shell in the background inherits it ignored).
    own_group_with_default_signals = "os.setpgrp(); signal.signal(signal.SIGINT, signal.SIG_DFL)"
    return subprocess.run(prepared_child(["bash", str(SCRIPT), str(root), str(out), "20",
                                          *tag_options], own_group_with_default_signals),
                          capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, BEAMTAGGER=fake))


def test_ctrl_c_that_a_parts_run_outlives_with_its_files_published_stops_the_loop(tmp_path):
    # Ctrl-C reaches the loop's shell and the part's run alike. A run stopped once its files
    # are published is done: it exits 0, summary written (docs/tagging.md, exit statuses);
    # bash goes on after a child that did not die of the signal, and the loop went on to
    # tag the next part, and the next, each maybe hours.
    root = tmp_path / "texts"
    root.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (root / name).write_text("The cat sat on the mat .\n", encoding="utf-8")
    fake = _fake_tag(tmp_path, 'echo "$input" >>"${summary%/*/*}/tagged"\n'
                               'trap "" INT   # held, as tag holds one once published\n'
                               'kill -INT 0   # Ctrl-C, to the loop\'s process group\n'
                               'echo \'{"exit_status": 0}\' >"$summary"')
    out = tmp_path / "out"
    stopped = _fake_loop(root, out, fake)
    assert stopped.returncode == 130, stopped.stderr
    assert (out / "tagged").read_text().splitlines() == [f"{out}/part-00000/in/**"]
    assert ("tag_in_parts: stopped (Ctrl-C) once part-00000 was done (its summary written): "
            "run the same command again to go on from the next part") in stopped.stderr

    # The next loop goes on from the part after it.
    fake = _fake_tag(tmp_path, 'echo "$input" >>"${summary%/*/*}/tagged"\n'
                               'echo \'{"exit_status": 0}\' >"$summary"')
    assert _fake_loop(root, out, fake).returncode == 0
    assert (out / "tagged").read_text().splitlines() == [
        f"{out}/part-0000{part}/in/**" for part in range(3)]


def test_every_file_that_a_run_of_root_reads_is_planned_and_a_linked_folder_is_refused(
        tmp_path):
    # A link to a file is read by `tag --input 'ROOT/**'` (its default id its path under
    # ROOT), and was left out of every part, the loop exiting 0; a file in a folder whose name
    # ends in a newline was left out of its part (`$(dirname)` dropped the newline, ln failed,
    # the loop went on).
    root = tmp_path / "texts"
    (root / "sub\n").mkdir(parents=True)
    (root / "sub\n" / "a.txt").write_text("The cat sat .\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("A dog ran .\n", encoding="utf-8")
    (root / "linked.txt").symlink_to(elsewhere)
    fake = _fake_tag(tmp_path, '(cd "${input%/\\*\\*}" && find . ! -type d -printf "%P\\0") '
                               '>>"${summary%/*/*}/planned"\n'
                               'echo \'{"exit_status": 0}\' >"$summary"')
    out = tmp_path / "out"
    planned = _fake_loop(root, out, fake)
    assert planned.returncode == 0, planned.stderr
    assert sorted((out / "planned").read_text().split("\0")[:-1]) == ["linked.txt", "sub\n/a.txt"]

    # A link to a folder: tag refuses it (Beam's matching does not follow it), and the loop
    # left its files out; now it is refused before anything is planned, as tag does.
    (root / "folder").symlink_to(root / "sub\n")
    refused = _fake_loop(root, tmp_path / "out2", fake)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("tag_in_parts: ROOT holds folder, a symbolic link to a "
                                     "folder"), refused.stderr
    assert not list((tmp_path / "out2").glob("part-*"))


def test_the_installed_script_is_where_the_docs_line_says():
    # Under docs/ it was not installed: a user of `pip install beamtagger` had no copy.
    # package_data ("beamtagger.data": "*") installs it; the docs' line names it.
    (line,) = [command for file, heading, command in doc_commands()
               if heading == "A large collection in parts" and command.startswith("loop=")]
    printed = subprocess.run(["bash", "-c", line.replace("python", sys.executable, 1)
                              + '; printf %s "$loop"'], capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=str(SCRIPT.parents[2])), timeout=30)
    assert printed.returncode == 0, printed.stderr
    assert pathlib.Path(printed.stdout) == SCRIPT and SCRIPT.is_file()


def test_a_root_that_find_cannot_read_whole_is_refused_before_any_part_is_planned(tmp_path):
    # A folder under ROOT that find cannot read (its permissions: root reads anything, so the
    # fault is made by a find that fails as it does there) was left out of the plan, and the
    # loop tagged the rest and exited 0, those files never tagged.
    root = tmp_path / "in"
    root.mkdir()
    (root / "a.txt").write_text("The cat sat .\n", encoding="utf-8")
    shims = tmp_path / "bin"
    shims.mkdir()
    real_find = shutil.which("find")
    (shims / "find").write_text(
        "#!/usr/bin/env bash\n"
        f'"{real_find}" "$@" || exit\n'
        'case "$*" in *"%s"*) echo "find: ./private: Permission denied" >&2; exit 1 ;; esac\n',
        encoding="utf-8")
    (shims / "find").chmod(0o755)
    fake = _fake_tag(tmp_path, 'echo "{}" > "$summary"')
    out = tmp_path / "out"
    done = subprocess.run(["bash", str(SCRIPT), str(root), str(out), "20"],
                          capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, BEAMTAGGER=fake,
                                   PATH=f"{shims}{os.pathsep}{os.environ['PATH']}"))
    assert done.returncode == 2, done.stderr
    assert "cannot read all of ROOT" in done.stderr, done.stderr
    assert not list(out.glob("part-*")) and not list(out.glob(".new-part-*"))


def test_a_part_past_99999_is_refused_where_its_pattern_would_miss_it(tmp_path):
    # part-100000 escapes the loop's part-????? patterns: its files would never be tagged.
    root = tmp_path / "in"
    root.mkdir()
    (root / "a.txt").write_text("The cat sat .\n", encoding="utf-8")
    (root / "b.txt").write_text("A dog ran .\n", encoding="utf-8")
    out = tmp_path / "out"
    (out / "part-99999" / "in").mkdir(parents=True)
    (out / "part-99999" / "in" / "a.txt").symlink_to(root / "a.txt")
    fake = _fake_tag(tmp_path, 'echo "{}" > "$summary"')
    done = subprocess.run(["bash", str(SCRIPT), str(root), str(out), "20"],
                          capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, BEAMTAGGER=fake))
    assert done.returncode == 2 and "more than 99,999 parts" in done.stderr, done.stderr
    assert not (out / "part-100000").exists()


def test_a_killed_part_of_several_models_leaves_none_of_their_files_to_its_rerun(tmp_path):
    # With --model NAME=DIR twice a part's files are tagged-NAME-..., which the loop's clean-up
    # (tagged-?????-of-?????.*) missed: the rerun's tag found the killed run's files and
    # refused the part. A stand-in for tag lists what its part's folder holds as it starts.
    root, out = tmp_path / "root", tmp_path / "out"
    root.mkdir()
    (root / "a.txt").write_text("The cat sat .\n", encoding="utf-8")
    seen = tmp_path / "seen.txt"
    fake = tmp_path / "fake_tag.sh"
    fake.write_text('out=; summary=\nwhile [ $# -gt 0 ]; do case $1 in --output) out=$2;; '
                    '--summary-json) summary=$2;; esac; shift; done\n'
                    f'ls -A "$(dirname "$out")" > {seen}\n'
                    'echo \'{"exit_status": 0}\' > "$summary"\n', encoding="utf-8")
    environment = dict(os.environ, BEAMTAGGER=f"bash {fake}")

    def loop():
        return subprocess.run(["bash", str(SCRIPT), str(root), str(out), "20", "--model",
                               "upos=bundled", "--model", "ner=models/ner"],
                              capture_output=True, text=True, env=environment, timeout=60)

    assert loop().returncode == 0
    part = out / "part-00000"
    (part / "summary.json").unlink()   # killed while it published: no summary
    left = ["tagged-upos-00000-of-00001.jsonl", "tagged-upos-errors-00000-of-00001.jsonl",
            "tagged-ner-00001-of-00002.parquet"]
    for name in left:
        (part / name).write_text("")
    (part / ".tagged-ner.tag-replaced").mkdir()
    (part / ".tagged-ner.tag-replaced" / "tagged-ner-00000-of-00001.jsonl").write_text("")
    ran = loop()
    assert ran.returncode == 0, ran.stderr
    assert seen.read_text().split() == ["in", "inputs"]
