"""beamtagger run where the user may not read or write what root may: another user's model,
store, input or folder (mode 700, 600), no writable folder for temporary files (a read-only
root file system), a cache folder that cannot be written, no home directory. Each works, or is
one line before launch naming what to ask for or set; never a traceback, nor a model called
damaged.

The checks run in a child process that file permissions apply to. As root (CI) it keeps uid 0
but drops the capabilities that let root ignore them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
CAP_FOWNER) from its bounding set, and the files it may not use belong to uid 65534: a child
switched to uid 65534 could not start the interpreter itself where it is installed under
/root (pyenv's, mode 700, as on the machines this suite runs on). As another user the files'
modes are cleared. Each child runs several checks (the NumPy runtime: no TensorFlow import).
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from beamtagger.tests.conftest import CHILD_SETUP_FAILED, prepared_child

_PR_CAPBSET_DROP = 24
# CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER (linux/capability.h).
_FILE_PERMISSION_CAPABILITIES = (1, 2, 3)
_NOBODY = 65534


# Run in the child before it becomes the interpreter of the check (prepared_child).
_DROP_FILE_PERMISSION_CAPABILITIES = f"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
for capability in {_FILE_PERMISSION_CAPABILITIES!r}:
    if libc.prctl({_PR_CAPBSET_DROP}, capability, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
"""


def _not_ours(path, mode):
    """``path`` as another user's with ``mode`` (0o600, 0o700): this child may not use it."""
    if os.geteuid() == 0:
        os.chown(path, _NOBODY, _NOBODY)
        os.chmod(path, mode)
    else:
        os.chmod(path, 0)   # its owner's bits too: the child is its owner


def _locked_down(script, *args, timeout=120):
    """(exit status, the JSON the child printed last or None, its standard error) of
    ``script`` run with ``args`` in a child that file permissions apply to."""
    command = [sys.executable, "-c", script, *map(str, args)]
    if os.geteuid() == 0:
        command = prepared_child(command, _DROP_FILE_PERMISSION_CAPABILITIES)
    # A check that hangs fails (TimeoutExpired): it is not a machine that cannot drop them.
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode == CHILD_SETUP_FAILED and "prctl(PR_CAPBSET_DROP)" in done.stderr:
        # prctl refused: no CAP_SETPCAP here
        pytest.skip("cannot drop root's file permission capabilities here: "
                    f"{done.stderr.strip()}")
    try:
        seen = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):   # it died before printing (a traceback, on stderr)
        seen = None
    return done.returncode, seen, done.stderr


# Runs each command in this process, its standard error captured on its own, and first makes
# sure file permissions do apply to it (a CAP_DAC_OVERRIDE left in the inheritable set would
# give it back).
_CHILD_PRELUDE = r"""
import contextlib, io, json, sys
from beamtagger.errors import BeamtaggerError
from beamtagger.pipeline import cli

def command(*argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = cli.main(list(argv))
    return [status, err.getvalue()]

def raised(call):
    try:
        call()
    except BeamtaggerError as error:
        return str(error)
    return None

try:
    open(sys.argv[1], "rb").close()
    print(json.dumps("file permissions do not apply"))
    sys.exit()
except PermissionError:
    pass
"""


def _searchable_not_listable(folder):
    """``folder`` as another user's with mode 711, its files readable by all (as the child's
    own with mode 111 where that child is not root's)."""
    if os.geteuid() == 0:
        for path in (folder, *folder.iterdir()):
            os.chown(path, _NOBODY, _NOBODY)
        os.chmod(folder, 0o711)
    else:
        os.chmod(folder, 0o111)


def test_a_child_that_hangs_fails_the_test_rather_than_skipping_it():
    # TimeoutExpired is a SubprocessError too, which the skip for prctl's refusal once caught: a
    # check that hung (pinned_links_test's FIFO case did, 02c5610) was reported as skipped.
    with pytest.raises(subprocess.TimeoutExpired):
        try:
            _locked_down("import time; time.sleep(60)", timeout=0.5)
        except pytest.skip.Exception as skipped:
            pytest.fail(f"a hang was skipped: {skipped}")


@pytest.fixture
def not_ours_probe(tmp_path):
    probe = tmp_path / "probe"
    probe.write_bytes(b"")
    _not_ours(probe, 0o600)
    return probe


@pytest.fixture(autouse=True)
def _modes_restored(tmp_path):
    yield
    if os.geteuid() != 0:   # else root removes them as they are
        os.chmod(tmp_path, 0o700)
        # Top down, each folder's entries before os.walk lists them.
        for folder, folders, files in os.walk(tmp_path):
            for name in (*folders, *files):
                os.chmod(os.path.join(folder, name), 0o700)


def test_another_users_model_store_or_input_is_refused_in_one_line_naming_the_file(
        tiny_tagger, text_in, tmp_path, not_ours_probe):
    def copy(source, name):
        return shutil.copytree(source, tmp_path / name)

    private_model = copy(tiny_tagger.model_dir, "private-model")
    private_weights = copy(tiny_tagger.model_dir, "private-weights")
    private_vectors = copy(tiny_tagger.store_path, "private-vectors")
    store = copy(tiny_tagger.store_path, "store")
    _not_ours(private_model, 0o700)
    _not_ours(private_weights / "tagger.keras", 0o600)
    _not_ours(private_vectors / "vectors.npy", 0o600)
    model = copy(tiny_tagger.model_dir, "model")
    listless_model = copy(tiny_tagger.model_dir, "listless-model")
    listless_store = copy(tiny_tagger.store_path, "listless-store")
    for folder in (listless_model, listless_store):
        _searchable_not_listable(folder)
    script = _CHILD_PRELUDE + r"""
import os
from beamtagger import Tagger
(_, _, private_model, private_weights, private_vectors, model, store, listless_model,
 listless_store, text, gold, out) = sys.argv
def tag(model, embeddings, name):
    return command("tag", "--input", text, "--output", f"{out}/{name}", "--model", model,
                   "--embeddings", embeddings, "--runtime", "numpy", "--progress-every", "0")
print(json.dumps({
    "folder": tag(private_model, store, "folder"),
    "weights": tag(private_weights, store, "weights"),
    "vectors": tag(model, private_vectors, "vectors"),
    "Tagger": raised(lambda: Tagger(private_weights, store, runtime="numpy")),
    # Before: PermissionError's traceback from Tagger, exit 1 from evaluate; the store's
    # vectors.npy "unreadable or truncated" to all but tag.
    "Tagger folder": raised(lambda: Tagger(private_model, store, runtime="numpy")),
    "Tagger vectors": raised(lambda: Tagger(model, private_vectors, runtime="numpy")),
    "evaluate folder": command("evaluate", "--data", gold, "--model", private_model,
                               "--embeddings", store),
    "evaluate vectors": command("evaluate", "--data", gold, "--model", model,
                                "--embeddings", private_vectors),
    # Mode 711, its files readable (a shared folder whose names are handed out): every file
    # the run reads opens by name. The check listed it and refused it as another user's.
    "listless": tag(listless_model, listless_store, "listless"),
    # In a folder this user may not search (another user's home): Path.exists raised there,
    # exit 1, "locked/sub: Permission denied (EACCES)".
    "output": command("tag", "--input", text, "--output", f"{os.path.dirname(out)}/locked/sub/r",
                      "--model", model, "--embeddings", store),
    # "no folder locked/sub": it may well exist, in a folder this user may not search.
    "summary": command("tag", "--input", text, "--output", f"{out}/summary", "--model", model,
                       "--embeddings", store, "--summary-json",
                       f"{os.path.dirname(out)}/locked/sub/summary.json"),
    "model out": command("train", "--train", text, "--dev", text, "--embeddings", store,
                         "--out", f"{os.path.dirname(out)}/locked/m"),
}))
"""
    (tmp_path / "locked").mkdir()
    _not_ours(tmp_path / "locked", 0o700)
    gold = tmp_path / "gold.conllu"
    gold.write_text("1\tHello\t_\tINTJ\t_\t_\t_\t_\t_\t_\n\n", encoding="utf-8")
    status, seen, err = _locked_down(script, not_ours_probe, private_model, private_weights,
                                     private_vectors, model, store, listless_model,
                                     listless_store, text_in, gold, tmp_path / "out")
    assert status == 0 and isinstance(seen, dict), (seen, err)
    exit_status, said = seen["listless"]
    # Before: exit 2, "cannot read MODEL: Permission denied (EACCES)". The links or copy need
    # a listing: the run says it reads the model in place.
    assert exit_status == 0 and "is read where it is, not pinned" in said, said
    tagged = (tmp_path / "out" / "listless-00000-of-00001.jsonl").read_text(encoding="utf-8")
    assert [[token["text"] for token in json.loads(line)["tokens"]]
            for line in tagged.splitlines()] == [["Hello", "there", "."], ["Good", "bye", "."]]
    for case, path in (("folder", private_model), ("weights", private_weights / "tagger.keras"),
                       ("vectors", private_vectors / "vectors.npy")):
        exit_status, line = seen[case]
        # Before: a warning that the model was not pinned, then the first read's OSError
        # (exit 1), or the model called damaged ("train it again"); the store "truncated".
        assert exit_status == 2, (case, line)
        assert len(line.strip().splitlines()) == 1, (case, line)
        assert f"cannot read {path}: Permission denied (EACCES)" in line, (case, line)
        assert "damaged" not in line and "truncated" not in line, (case, line)
    assert seen["output"][0] == 2 and seen["output"][1].strip().endswith(
        f"the folder {tmp_path / 'locked'} is not writable"), seen["output"]
    assert seen["summary"][0] == 2 and seen["summary"][1].strip().endswith(
        f"cannot write in {tmp_path / 'locked' / 'sub'}: this user may not search the folder "
        f"{tmp_path / 'locked'}"), seen["summary"]
    assert seen["model out"][0] == 2 and seen["model out"][1].strip().endswith(
        f"the folder {tmp_path / 'locked'} is not writable"), seen["model out"]
    assert sorted(os.listdir(tmp_path / "out")) == ["listless-00000-of-00001.jsonl",
                                                    "listless-errors-00000-of-00001.jsonl"]
    for case, path in (("Tagger folder", private_model),
                       ("Tagger vectors", private_vectors / "vectors.npy"),
                       ("evaluate folder", private_model),
                       ("evaluate vectors", private_vectors / "vectors.npy")):
        said = seen[case][1] if case.startswith("evaluate") else seen[case]
        assert said is not None and f"cannot read {path}: Permission denied (EACCES)" in said, (
            case, said)
        assert case.startswith("Tagger") or seen[case][0] == 2, (case, seen[case])
    assert seen["Tagger"].startswith(f"cannot read {private_weights / 'tagger.keras'}: "
                                     "Permission denied (EACCES)"), seen["Tagger"]


def test_no_writable_folder_for_temporary_files_is_refused_in_one_line_naming_tmpdir(
        tiny_tagger, text_in, tmp_path, not_ours_probe):
    # A read-only root file system: TMPDIR unset or not writable, and /tmp, /var/tmp, /usr/tmp
    # and the working directory neither. tempfile is handed that one folder to try (the others
    # would take a mount namespace); its own search fails on it as on them.
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    _not_ours(read_only, 0o755)
    script = _CHILD_PRELUDE + r"""
import tempfile
from beamtagger import Tagger
_, _, read_only, model, store, text, out = sys.argv
tempfile.tempdir = None
tempfile._candidate_tempdir_list = lambda: [read_only]
tiny = ["--model", model, "--embeddings", store]
print(json.dumps({
    "tag": command("tag", "--input", text, "--output", f"{out}/r", *tiny, "--runtime", "numpy"),
    "evaluate": command("evaluate", "--data", text, *tiny),
    "train": command("train", "--train", text, "--dev", text, "--out", f"{out}/m",
                     "--embeddings", store),
    "Tagger": raised(lambda: Tagger(model, store, runtime="tensorflow")),
    "tensorflow imported": "tensorflow" in sys.modules,
}))
"""
    status, seen, err = _locked_down(script, not_ours_probe, read_only, tiny_tagger.model_dir,
                                     tiny_tagger.store_path, text_in, tmp_path / "out")
    assert status == 0 and isinstance(seen, dict), (seen, err)
    for command, needs in (("tag", "the Beam pipeline"), ("evaluate", "TensorFlow"),
                           ("train", "TensorFlow")):
        exit_status, line = seen[command]
        # Before: tag ran and failed after launch ("the run failed in step (unknown): No usable
        # temporary directory found in [...]", exit 1); evaluate called the model unloadable;
        # Tagger(runtime="tensorflow") raised FileNotFoundError from TensorFlow's import.
        assert exit_status == 2, (command, line)
        assert line.startswith(f"beamtagger {command}: error: {needs} needs a folder for "
                               "temporary files"), line
        assert line.rstrip().endswith("set TMPDIR to a writable folder"), line
        assert len(line.strip().splitlines()) == 1, line
    assert not (tmp_path / "out").exists()
    assert seen["Tagger"].startswith("TensorFlow needs a folder for temporary files")
    assert not seen["tensorflow imported"]


def test_a_cache_folder_this_user_may_not_write_is_named_with_the_variable_to_set(
        monkeypatch, tmp_path, caplog):
    # HOME read-only, XDG_CACHE_HOME pointing at a folder of another user's: the JAX runtime
    # tags without its compilation cache, and the default store cannot be imported. A file
    # stands for that folder, which root could write (nothing to change users for here).
    from beamtagger.embeddings import default as default_store
    from beamtagger.errors import BeamtaggerError

    pytest.importorskip("jax", reason="the jax extra is not installed")
    from beamtagger.model import jax_setup

    (tmp_path / "a-file").write_text("")
    monkeypatch.delenv("BEAMTAGGER_CACHE", raising=False)
    monkeypatch.delenv("BEAMTAGGER_JAX_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))   # no ~/.cache/beamtagger, which would be used
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    monkeypatch.setattr(default_store, "glove_package_data", lambda: tmp_path / "package")
    with pytest.raises(BeamtaggerError) as raised:
        default_store.ensure_default_store()
    # Before: "(default ~/.cache/beamtagger)", where the folder was XDG_CACHE_HOME's.
    assert "$XDG_CACHE_HOME/beamtagger" in str(raised.value), raised.value
    assert "set BEAMTAGGER_CACHE to a writable folder" in str(raised.value)
    import jax

    # A JAX run earlier in this process (another test's, in the same xdist worker) set its
    # cache, and configure_jax keeps a cache already set.
    set_before = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", None)
    try:
        with caplog.at_level("WARNING", logger=jax_setup.logger.name):
            jax_setup.configure_jax()
    finally:
        jax.config.update("jax_compilation_cache_dir", set_before)
    (warning,) = [record.getMessage() for record in caplog.records
                  if "no JAX compilation cache" in record.getMessage()]
    # Before, it named no way out ("every process compiles its shapes"), in every run.
    assert warning.endswith("set BEAMTAGGER_JAX_CACHE (or BEAMTAGGER_CACHE) to a folder this "
                            "user may write, or BEAMTAGGER_JAX_CACHE=off"), warning


def test_a_process_with_no_home_keeps_keras_settings_out_of_the_working_directory(
        tiny_tagger, monkeypatch, capsys):
    # HOME unset and a user id the password database does not know (`docker run --user 12345`
    # under `env -i`): expanduser("~") is "~", and TensorFlow's import made ./~/.keras/keras.json
    # in the working directory of every train, evaluate and --runtime tensorflow run. The CLI
    # sets Keras 3's own fallback before anything imports TensorFlow.
    import pwd

    from beamtagger.pipeline import cli

    def unknown_user(uid):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(os, "environ", {name: value for name, value in os.environ.items()
                                        if name not in ("HOME", "KERAS_HOME")})
    monkeypatch.setattr(pwd, "getpwuid", unknown_user)
    assert os.path.expanduser("~") == "~"   # what TensorFlow joins ".keras" to
    assert cli.main(["model", "info", tiny_tagger.model_dir]) == 0
    assert os.environ.get("KERAS_HOME") == "/tmp/.keras"
    capsys.readouterr()
    # A home, or a KERAS_HOME of the user's, is left to Keras.
    monkeypatch.setitem(os.environ, "HOME", "/home/someone")
    del os.environ["KERAS_HOME"]
    assert cli.main(["model", "info", tiny_tagger.model_dir]) == 0
    assert "KERAS_HOME" not in os.environ



def test_inputs_and_outputs_this_user_may_not_read_list_or_write_are_refused_before_launch(
        tiny_tagger, text_in, tmp_path, not_ours_probe):
    # Until 2026-12-08 tag_pipeline_test skipped these as root ("root may read and write
    # anything"): the only skip in the suite, so CI never ran them.
    (tmp_path / "secret.txt").write_text("Hello .\n", encoding="utf-8")
    _not_ours(tmp_path / "secret.txt", 0o600)
    # Another user's home (700), and a folder that may be listed but not searched (604).
    for name, mode in (("private", 0o700), ("listed", 0o604)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.txt").write_text("Hello .\n", encoding="utf-8")
        _not_ours(tmp_path / name, mode)
    for name in ("a1", "a2"):
        (tmp_path / "parts" / name).mkdir(parents=True)
        (tmp_path / "parts" / name / "x.txt").write_text("Hello .\n", encoding="utf-8")
    _not_ours(tmp_path / "parts" / "a2", 0o700)
    (tmp_path / "listless").mkdir()
    (tmp_path / "listless" / "x.txt").write_text("Hello .\n", encoding="utf-8")
    _searchable_not_listable(tmp_path / "listless")
    # May create files in it, not list it: an earlier run's shard there is not seen.
    (tmp_path / "write-only").mkdir()
    earlier = tmp_path / "write-only" / "r-00000-of-00001.jsonl"
    earlier.write_text("earlier\n", encoding="utf-8")
    if os.geteuid() == 0:
        _not_ours(tmp_path / "write-only", 0o733)
    else:   # its owner's bits, not cleared: the child is its owner
        os.chmod(tmp_path / "write-only", 0o300)
    (tmp_path / "read-only").mkdir()
    _not_ours(tmp_path / "read-only", 0o755)
    script = _CHILD_PRELUDE + r"""
from beamtagger.pipeline import tag_inputs
_, _, folder, model, store = sys.argv
def tag(given, out="out/r"):
    return command("tag", "--input", f"{folder}/{given}", "--output", f"{folder}/{out}",
                   "--model", model, "--embeddings", store, "--runtime", "numpy",
                   "--progress-every", "0")
print(json.dumps({
    "unreadable file": tag("*.txt"),
    "pattern in a private folder": tag("private/*.txt"),
    "path in a private folder": tag("private/x.txt"),
    "pattern in a listed folder": tag("listed/*.txt"),
    "folder pattern": tag("parts/a*/x.txt"),
    "pattern under **": tag("parts/**/x.txt"),
    "pattern in a listless folder": tag("listless/*.txt"),
    # A file named in a folder this user may search, not list, is read (the check alone:
    # a run takes seconds).
    "path in a listless folder": raised(lambda: tag_inputs._check_folders_searchable(
        f"{folder}/listless/x.txt")),
    "write-only output": tag("in.txt", "write-only/r"),
    "read-only output": tag("in.txt", "read-only/sub/r"),
}))
"""
    status, seen, err = _locked_down(script, not_ours_probe, tmp_path, tiny_tagger.model_dir,
                                     tiny_tagger.store_path, timeout=60)
    assert status == 0 and isinstance(seen, dict), (seen, err)
    for case, told in (
            ("unreadable file", f"cannot read input file {tmp_path / 'secret.txt'}: "
                                "Permission denied"),
            # Before: "no input files match ..." (the first three), and Beam's listing error.
            ("pattern in a private folder", f"--input {tmp_path / 'private' / '*.txt'}: "
                                            f"this user may not search the folder "
                                            f"{tmp_path / 'private'}"),
            ("path in a private folder", f"--input {tmp_path / 'private' / 'x.txt'}: this user "
                                         f"may not search the folder {tmp_path / 'private'}"),
            ("pattern in a listed folder", f"--input {tmp_path / 'listed' / '*.txt'}: this "
                                           f"user may not search the folder "
                                           f"{tmp_path / 'listed'}"),
            # Before: parts/a1/x.txt alone was tagged, exit 0; a2's file lost without a word.
            ("folder pattern", f"--input {tmp_path / 'parts' / 'a*' / 'x.txt'}: this user may "
                               f"not search the folder {tmp_path / 'parts' / 'a2'}"),
            ("pattern under **", f"--input {tmp_path / 'parts' / '**' / 'x.txt'}: this user "
                                 f"may not search the folder {tmp_path / 'parts' / 'a2'}"),
            ("pattern in a listless folder", f"--input {tmp_path / 'listless' / '*.txt'}: this "
                                             "user may not list the folder "
                                             f"{tmp_path / 'listless'}"),
            # Before: the earlier run's shard went unseen and was overwritten, exit 0.
            ("write-only output", f"--output {tmp_path / 'write-only' / 'r'}: cannot list the "
                                  f"folder {tmp_path / 'write-only'} to check for an earlier "
                                  "run's files"),
            ("read-only output", f"--output {tmp_path / 'read-only' / 'sub' / 'r'} cannot be "
                                 f"created: the folder {tmp_path / 'read-only'} is not "
                                 "writable")):
        exit_status, said = seen[case]
        assert exit_status == 2, (case, said)
        assert len(said.strip().splitlines()) == 1 and "Traceback" not in said, (case, said)
        assert said.startswith(f"beamtagger tag: error: {told}"), (case, said)
    assert not (tmp_path / "out").exists()
    assert seen["path in a listless folder"] is None, seen["path in a listless folder"]
    os.chmod(tmp_path / "write-only", 0o700)   # root's again reads it
    assert sorted(os.listdir(tmp_path / "write-only")) == [earlier.name]
    assert earlier.read_text(encoding="utf-8") == "earlier\n"


def test_the_other_commands_name_the_folder_this_user_may_not_search_not_a_missing_file(
        tiny_tagger, tmp_path, not_ours_probe):
    # train, evaluate and embeddings import and coverage found no file where tag --input named
    # the folder (fdb71a4): "does not exist", "no file matches", or the file called unreadable.
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "gold.conllu").write_text(
        "1\tHello\t_\tINTJ\t_\t_\t_\t_\t_\t_\n\n", encoding="utf-8")
    (tmp_path / "private" / "vectors.txt").write_text("hello 0.1 0.2\n", encoding="utf-8")
    _not_ours(tmp_path / "private", 0o700)
    for name in ("a1", "a2"):
        (tmp_path / "parts" / name).mkdir(parents=True)
        (tmp_path / "parts" / name / "x.txt").write_text("Hello .\n", encoding="utf-8")
    _not_ours(tmp_path / "parts" / "a2", 0o700)
    # A link to it below a wildcard: Beam's matching never follows one (os.walk), so no match
    # can be in it, and tag refused links/*/x.txt for it.
    (tmp_path / "links" / "a1").mkdir(parents=True)
    (tmp_path / "links" / "a1" / "x.txt").write_text("Hello .\n", encoding="utf-8")
    (tmp_path / "links" / "a2").symlink_to(tmp_path / "private")
    script = _CHILD_PRELUDE + r"""
from beamtagger.pipeline import tag_inputs
_, _, folder, model, store = sys.argv
gold = f"{folder}/private/gold.conllu"
print(json.dumps({
    "train": command("train", "--train", gold, "--dev", gold, "--embeddings", store,
                     "--out", f"{folder}/m"),
    "evaluate": command("evaluate", "--data", gold, "--model", model, "--embeddings", store),
    "embeddings import": command("embeddings", "import", f"{folder}/private/vectors.txt",
                                 "--out", f"{folder}/s"),
    "embeddings coverage": command("embeddings", "coverage", store, f"{folder}/parts/a*/x.txt"),
    "tag through a link": raised(lambda: tag_inputs._check_folders_searchable(
        f"{folder}/links/*/x.txt")),
    "tag under **": raised(lambda: tag_inputs._check_folders_searchable(
        f"{folder}/parts/**/x.txt")),
    # Beam matches it as parts/a1.*/x.txt: nothing in parts/a2 can match.
    "tag where ** leaves it out": raised(lambda: tag_inputs._check_folders_searchable(
        f"{folder}/parts/a1**/x.txt")),
}))
"""
    status, seen, err = _locked_down(script, not_ours_probe, tmp_path, tiny_tagger.model_dir,
                                     tiny_tagger.store_path, timeout=60)
    assert status == 0 and isinstance(seen, dict), (seen, err)
    private, a2 = tmp_path / "private", tmp_path / "parts" / "a2"
    for case, told in (
            ("train", f"train: error: training corpus {private / 'gold.conllu'}: this user may "
                      f"not search the folder {private}, so the files in it cannot be read"),
            ("evaluate", f"evaluate: error: evaluation corpus {private / 'gold.conllu'}: this "
                         f"user may not search the folder {private}"),
            ("embeddings import", f"embeddings: error: {private / 'vectors.txt'}: this user "
                                  f"may not search the folder {private}"),
            # Before: the coverage of parts/a1's file alone, exit 0.
            ("embeddings coverage", f"embeddings: error: {tmp_path / 'parts' / 'a*' / 'x.txt'}: "
                                    f"this user may not search the folder {a2}")):
        exit_status, said = seen[case]
        assert exit_status == 2, (case, said)
        assert len(said.strip().splitlines()) == 1 and "Traceback" not in said, (case, said)
        assert said.startswith(f"beamtagger {told}"), (case, said)
    assert not (tmp_path / "m").exists() and not (tmp_path / "s").exists()
    assert seen["tag through a link"] is None, seen["tag through a link"]
    assert seen["tag where ** leaves it out"] is None, seen["tag where ** leaves it out"]
    # Reached through a wildcard (lost+found, another user's .git/objects): the way around it.
    assert seen["tag under **"].endswith(
        f"may not search the folder {a2}, so the files in it cannot be read; ask its owner for "
        "access, or use a copy of your own, or a pattern that does not reach it"), seen
