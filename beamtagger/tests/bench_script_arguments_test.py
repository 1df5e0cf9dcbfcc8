"""The benchmark scripts quoted in BENCHMARKS.md take their arguments as it writes them, and a
wrong one is a usage line, not a traceback or a run of the wrong code.

Fast: each script stops at its arguments (well under a second each, nothing measured).
"""
import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
BENCH = REPO_ROOT / "bench"


def run_script(name, *args, env=None):
    return subprocess.run([sys.executable, str(BENCH / name), *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, env=env, timeout=60)


def assert_usage_error(completed, message):
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    assert completed.stderr.startswith("usage: ")
    assert completed.stderr.rstrip("\n").splitlines()[-1].endswith(message)


@pytest.mark.parametrize("name, args, message", [
    # Each read sys.argv by position: a missing one was an IndexError or a ValueError.
    ("encoding_reader_memory.py", ["."], "the following arguments are required: file, encoding"),
    ("tagtext_timestamps_bench.py", ["own"], "the following arguments are required: records"),
    ("utf8_tag_side_by_side.py", [".", "."],
     "the following arguments are required: rounds"),
    ("small_files_bench.py", ["--all-gz", "10000", "3"],
     "the following arguments are required: CHECKOUT"),
    ("profile_summary.py", [], "the following arguments are required: raw"),
])
def test_a_missing_argument_is_a_usage_error(name, args, message):
    assert_usage_error(run_script(name, *args), message)


@pytest.mark.parametrize("name, args", [
    ("encoding_reader_memory.py", ["{folder}", "big8.txt", "utf-8"]),
    ("utf8_tag_side_by_side.py", ["{folder}", ".", "5"]),
    ("small_files_bench.py", ["10000", "3", ".", "{folder}", "--all-gz", "--"]),
    ("cli_side_by_side.py", ["--before", "{folder}", "--after", ".", "--rounds", "1"]),
])
def test_a_checkout_without_beamtagger_is_refused_before_anything_runs(name, args, tmp_path):
    completed = run_script(name, *(str(arg).format(folder=tmp_path) for arg in args))
    assert_usage_error(completed, f"{tmp_path} holds no beamtagger package")


def test_side_by_side_d_refuses_a_folder_that_is_no_checkout(tmp_path):
    # It was a RuntimeError traceback from the first run of case D, after writing EWT's text.
    completed = run_script("side_by_side_d.py", "--before", tmp_path, "--work", tmp_path / "w")
    assert_usage_error(completed, f"{tmp_path} holds no bench/throughput_bench.py: give a "
                       "checkout")
    assert not (tmp_path / "w").exists()


def test_near_ties_help_prints_its_usage_instead_of_running():
    completed = run_script("near_ties.py", "--help")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.startswith("usage: near_ties.py")
    assert "| corpus |" not in completed.stdout   # the table it prints once it has run


def test_small_files_bench_runs_the_checkout_named_not_the_installed_one(monkeypatch):
    # Its runs start in /tmp: '.' passed on as it was named /tmp there, and the children
    # imported the beamtagger installed in this Python instead, measuring another tree.
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("small_files_bench",
                                                  BENCH / "small_files_bench.py")
    small_files_bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(small_files_bench)
    monkeypatch.chdir(BENCH)
    args, tag_args = small_files_bench.parse_args(["100", "1", "..", "--", "--runtime", "jax"])
    assert args.checkouts == [str(REPO_ROOT)]
    assert tag_args == ["--runtime", "jax"]


@pytest.mark.parametrize("name", ["records_bench.py", "tagtext_timestamps_bench.py"])
def test_a_bench_reads_the_shared_data_beamtagger_shared_data_names(name, tmp_path):
    # records_bench read ../shared/data whatever the variable said (as the tests' own corpora
    # do not): elsewhere, the tests' data folder and the script's differed.
    env = {**os.environ, "BEAMTAGGER_SHARED_DATA": str(tmp_path / "data")}
    completed = run_script(name, *(["one", "10"] if name.startswith("tagtext") else []),
                           env=env)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip() == (
        f"{tmp_path / 'data' / 'ud-english-ewt' / 'en_ewt-ud-train.conllu'} is missing: the "
        "benchmarks read the real EWT corpus from ../shared/data (set BEAMTAGGER_SHARED_DATA "
        "to point elsewhere)")


def test_run_all_refuses_to_write_over_a_file_before_running_anything(tmp_path):
    # `make bench` wrote over BENCHMARKS.md: 2,500 lines, most of them side-by-side measurements
    # run by hand, replaced by the 7 scripts' sections.
    results = tmp_path / "results"
    results.mkdir()
    (results / "throughput.md").write_text("## section throughput\n")
    kept = "# Benchmarks\n\n## 0. Measured by hand\n\n### A side by side\n"
    out = tmp_path / "BENCHMARKS.md"
    out.write_text(kept)
    env = {**os.environ, "BEAMTAGGER_BENCH_RESULTS": str(results)}
    # Without --assemble-only: a refusal that came after the runs would cost 17 minutes.
    completed = run_script("run_all.py", "--out", out, env=env)
    assert_usage_error(completed, f"{out} exists (3 headings) and this run writes only its own "
                       "sections: give another --out (make bench writes "
                       "bench/results/BENCHMARKS.md) or --overwrite to replace it")
    assert "[run_all]" not in completed.stderr   # no script started
    assert out.read_text() == kept
    completed = run_script("run_all.py", "--out", out, "--assemble-only", "--overwrite", env=env)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "## section throughput" in out.read_text()
    assert "--out " + str(out) + " --overwrite --assemble-only" in out.read_text()


def test_make_bench_writes_beside_benchmarks_md_not_over_it():
    make = subprocess.run(["make", "-n", "bench"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert make.returncode == 0, make.stderr
    (recipe,) = [line for line in make.stdout.splitlines() if "run_all.py" in line]
    assert recipe.endswith("bench/run_all.py --out bench/results/BENCHMARKS.md --overwrite")


@pytest.mark.parametrize("name, args, message", [
    # BENCHMARKS.md quotes both with --work /tmp/tb18, a folder case G's run fills; an empty one
    # was a traceback (FileNotFoundError, or the thin model's "does not exist") mid-run.
    ("stage_costs.py", ["--size", "x5"],
     "{work}/g-text-x5/part-00.txt is missing: write case G's inputs and thin model first "
     "(python bench/throughput_bench.py --cases G --work {work} --profile '' --no-memory)"),
    ("case_g_side_by_side.py", ["--before", ".", "--after", ".", "--rounds", "1"],
     "{work}/g-text-x1/part-00.txt is missing: write case G's inputs and thin model first "
     "(python bench/throughput_bench.py --cases G --work {work} --profile '' --no-memory)"),
    ("case_g_side_by_side.py", ["--before", ".", "--after", ".", "--inputs", "doc-text"],
     "{work}/doc-text-x1/part-00.txt is missing"),
])
def test_a_work_folder_without_case_g_inputs_is_refused_naming_the_command_that_writes_them(
        name, args, message, tmp_path):
    completed = run_script(name, "--work", tmp_path, *args)
    assert_usage_error(completed, message.format(work=tmp_path))


def test_run_all_refuses_an_out_it_could_not_write_before_running_anything(tmp_path):
    # Checked only once the 17 minutes of scripts were done: an --out under a file was a
    # FileExistsError traceback from the final mkdir, the run's markdown never written.
    # (--assemble-only: the refusal is in the argument checks, which come before any script;
    # without it the code before the fix ran every benchmark at full size.)
    (tmp_path / "notes").write_text("")
    out = tmp_path / "notes" / "BENCHMARKS.md"
    completed = run_script("run_all.py", "--out", out, "--assemble-only")
    assert_usage_error(completed, f"{out}: {tmp_path / 'notes'} is not a folder, so "
                       "--out cannot be written there")


@pytest.mark.parametrize("name, args, folder", [
    ("utf8_tag_side_by_side.py", ["{checkout}", "{checkout}", "1"], "utf8-tag-"),
    ("small_files_bench.py", ["1", "1", "{checkout}"], "small-files-"),
])
def test_a_side_by_side_whose_tag_run_fails_removes_its_temporary_folder(name, args, folder,
                                                                          tmp_path):
    # Both exited on a failed child before their rmtree: EWT's text (and small_files' lake of
    # files) stayed in the temporary folder after every failed comparison.
    checkout = tmp_path / "checkout"
    (checkout / "beamtagger" / "pipeline").mkdir(parents=True)
    (checkout / "beamtagger" / "__init__.py").write_text("")
    (checkout / "beamtagger" / "pipeline" / "__init__.py").write_text("")
    (checkout / "beamtagger" / "pipeline" / "cli.py").write_text(
        "import sys\n\ndef main(argv):\n    print('refused', file=sys.stderr)\n    return 3\n")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary)}
    completed = run_script(name, *(arg.format(checkout=checkout) for arg in args), env=env)
    assert completed.returncode == 1, completed.stderr[-2000:]
    assert "exit" in completed.stderr and "refused" in completed.stderr, completed.stderr
    assert [path.name for path in temporary.iterdir() if path.name.startswith(folder)] == []


def test_run_all_refuses_an_only_that_names_none_of_its_scripts(tmp_path):
    # --only throughput (no .py) ran nothing and wrote OUT from bench/results/'s earlier
    # sections, "no script" ran, exit 0: a measurement that was never made looked made.
    out = tmp_path / "b.md"
    completed = run_script("run_all.py", "--out", out, "--only", "throughput_bench.py",
                           "throughput", "--assemble-only")
    assert_usage_error(completed, "--only throughput: not one of its scripts "
                       "(throughput_bench.py, tag_timeline.py, startup_bench.py, "
                       "runtime_bench.py, model_size_bench.py, training_bench.py, "
                       "store_bench.py)")
    assert not out.exists()


@pytest.mark.parametrize("option", ["--records", "--repeat"])
def test_records_bench_refuses_a_count_below_one(option):
    # --records 0 was an AssertionError traceback, --repeat 0 a ValueError (min of no timings).
    assert_usage_error(run_script("records_bench.py", option, "0"),
                       f"{option} must be at least 1, not 0")
