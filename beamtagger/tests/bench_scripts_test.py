"""The benchmark scripts in bench/ run end to end in their tiny mode and report consistent counts.

Correctness only: tiny inputs, tiny models, no timing asserted. Each script runs as users run it
(a subprocess), writing its results into a temporary folder instead of bench/results/; CI's
throughput check runs that script's own part in the test's process (its cases in children, as
in any run).
"""
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from beamtagger.model import shape_grid

# Each runs a benchmark script end to end in child processes (minutes on 2 cores). CI (`make
# test`) runs the throughput bench's pipeline cases and the GPU check's CPU dry run; the rest are
# marked bench_full (`make test-all`): what they check is held by unit tests too (runtimes'
# labels: tag_pipeline_test.py and model_tagger_test.py; training in length buckets:
# model_training_test.py; a small input's tag run without TensorFlow: runtime_choice_test.py and
# tag_pipeline_test.py's run where TensorFlow is not installed), so CI keeps to 15 minutes on 2
# cores (it took 14:39 on 2026-12-07 with the start-up bench's 27 s in it).
pytestmark = pytest.mark.slow

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"


def run_script(name, tmp_path, *args):
    results = tmp_path / "results"
    env = {**os.environ, "BEAMTAGGER_BENCH_RESULTS": str(results), "TF_CPP_MIN_LOG_LEVEL": "2"}
    completed = subprocess.run([sys.executable, str(BENCH / name), *map(str, args)],
                               cwd=BENCH.parent, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-4000:]
    return results


def run_json_report(name, *args):
    """The JSON report a benchmark script prints on stdout."""
    completed = subprocess.run([sys.executable, str(BENCH / name), *map(str, args)],
                               cwd=BENCH.parent, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(completed.stdout)


def bench_module(name, monkeypatch, results=None):
    """A bench/ script imported as a module (its sibling imports found); with ``results``,
    bench_common's results folder for it and for the children it starts."""
    monkeypatch.syspath_prepend(str(BENCH))
    import importlib

    import bench_common

    if results is not None:
        monkeypatch.setattr(bench_common, "RESULTS_DIR", results)
        monkeypatch.setenv("BEAMTAGGER_BENCH_RESULTS", str(results))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.chdir(BENCH.parent)
    return importlib.import_module(name)


@pytest.fixture
def json_report(monkeypatch, capsys):
    """The JSON report a benchmark script prints on stdout, its main(argv) run in this process:
    a child imported Beam, and TensorFlow where the script runs a model, which this process has
    imported already (the upos_model fixture's training; any CI worker)."""
    def run(name, *args):
        script = bench_module(name.removesuffix(".py"), monkeypatch)
        capsys.readouterr()
        assert script.main(list(map(str, args))) in (0, None)   # exit status 0 either way
        return json.loads(capsys.readouterr().out)

    return run


def test_throughput_bench_counts_every_token_of_the_pipeline_cases(shared_data, tmp_path,
                                                                   monkeypatch):
    """CI's share of the throughput bench: the pipeline (D), the model alone (C) and issue
    18's cases (G, M, N) on the corpus; every case runs in ``test-all``'s test below. The
    script's own part (inputs, models, the report) runs in this process, whose TensorFlow is
    imported already; each case runs in its child, as in any run."""
    results = tmp_path / "results"
    throughput_bench = bench_module("throughput_bench", monkeypatch, results)
    assert throughput_bench.main(["--tiny", "--work", str(tmp_path / "work"), "--cases",
                                  "CDGMN", "--roles", "corpus", "--no-memory"]) == 0
    report = json.loads((results / "throughput.json").read_text())
    by_case = {(r["case"], r["size"]): r for r in report["results"]}
    assert {case for case, _ in by_case} == set("CDGMN")
    corpus = report["inputs"]["corpus"]
    tokens = by_case[("C", "corpus")]["tokens"]
    assert by_case[("D", "corpus")]["tokens"] == tokens == by_case[("N", "corpus")]["tokens"]
    assert by_case[("D", "corpus")]["output_lines"] == corpus["lines"]
    assert by_case[("N", "corpus")]["output_lines"] == corpus["lines"]
    g_runs = {r["size"]: r for r in report["results"] if r["case"] == "G"}
    assert set(g_runs) == {"x1", "x5"}
    assert g_runs["x1"]["tokens"] == tokens and g_runs["x5"]["tokens"] == 5 * tokens
    assert g_runs["x5"]["output_lines"] == report["g_inputs"]["x5"]["lines"]
    assert by_case[("M", "x1")]["tokens"] == tokens
    text = (results / "throughput.md").read_text()
    assert "### What the non-model stages cost (case G" in text
    assert "non-model core-µs per token" in text
    # The stages one by one, on the same inputs: every token of x1 in both batch sizes.
    work = tmp_path / "work"
    completed = subprocess.run(
        [sys.executable, str(BENCH / "stage_costs.py"), "--work", str(work), "--size", "x1",
         "--embeddings", str(work / "store-subset")], cwd=BENCH.parent, capture_output=True,
        text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert completed.stdout.count(f"{tokens:,} tokens in ") == 2
    assert completed.stdout.count("| **all but the model** |") == 2
    # Side by side: this checkout against itself, one round; every stage in both columns.
    completed = subprocess.run(
        [sys.executable, str(BENCH / "stage_costs.py"), "--work", str(work), "--size", "x1",
         "--embeddings", str(work / "store-subset"), "--before", str(BENCH.parent),
         "--after", str(BENCH.parent), "--rounds", "1"], cwd=BENCH.parent, capture_output=True,
        text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert f"{tokens:,} tokens in " in completed.stdout
    rows = [line.split("|") for line in completed.stdout.splitlines()
            if line.startswith("| ") and "before (" not in line]
    assert {"tokenize", "build Arrow batch", "**all but the model**"} <= {
        row[1].strip() for row in rows}
    assert all(float(row[2]) > 0 and float(row[3]) > 0 for row in rows if row[1].strip() in (
        "tokenize", "**all but the model**"))


@pytest.mark.bench_full
def test_throughput_bench_counts_every_token_of_every_case(shared_data, tmp_path):
    results = run_script("throughput_bench.py", tmp_path, "--tiny", "--work", tmp_path / "work")
    report = json.loads((results / "throughput.json").read_text())
    by_case = {(r["case"], r["size"]): r for r in report["results"]}
    assert {case for case, _ in by_case} == set("ABCDEFGMNPR")
    corpus = report["inputs"]["corpus"]
    # The same tokenizer everywhere: C (tokenized up front) and D, E (the pipeline) agree, and
    # every input line comes out as one JSON Lines record.
    tokens = by_case[("C", "corpus")]["tokens"]
    assert by_case[("D", "corpus")]["tokens"] == tokens == by_case[("E", "corpus")]["tokens"]
    assert by_case[("D", "corpus")]["output_lines"] == corpus["lines"]
    assert by_case[("E", "corpus")]["output_lines"] == corpus["lines"]
    assert by_case[("F", "corpus")]["output_lines"] == corpus["lines"]
    assert by_case[("R", "corpus")]["output_lines"] == corpus["lines"]
    assert by_case[("R", "corpus")]["tokens"] == tokens
    # G (thin model, NumPy runtime) and N (no-op model) run every stage on every record; G's
    # x1 is the corpus once, x5 five times, and M (the thin model alone) sees x1's tokens.
    assert by_case[("N", "corpus")]["tokens"] == tokens
    assert by_case[("N", "corpus")]["output_lines"] == corpus["lines"]
    g_runs = [r for r in report["results"] if r["case"] == "G"]
    assert len(g_runs) == 2 and {r["size"] for r in g_runs} == {"x1", "x5"}   # --tiny: 1 run a size
    for run in g_runs:
        assert run["tokens"] == (tokens if run["size"] == "x1" else 5 * tokens)
        assert run["output_lines"] == report["g_inputs"][run["size"]]["lines"]
        assert run["cpu_seconds"] > 0
    assert by_case[("M", "x1")]["tokens"] == tokens
    assert by_case[("P", "x5")]["output_lines"] == report["g_inputs"]["x5"]["lines"]
    memory = report["memory"]
    assert [r["size"] for r in memory] == ["small, one file", "large, one file"]
    assert memory[0]["tokens"] < memory[1]["tokens"]
    assert all(r["output_lines"] > 0 and r["peak_tree_rss_mib"] > 0 for r in memory)
    assert by_case[("D", "small")]["output_lines"] == report["inputs"]["small"]["lines"]
    assert by_case[("A", "corpus")]["output_lines"] == corpus["lines"]
    assert by_case[("C", "corpus")]["padding_efficiency"] == 1.0
    for result in report["results"]:
        assert result["seconds"] > 0 and result["peak_tree_rss_mib"] > 0
        assert 0 < result["padding_efficiency"] <= 1
    # A and B pad every sentence to 128.
    assert by_case[("B", "corpus")]["slots"] == 128 * corpus["lines"]
    assert report["ratios"]["corpus"]["D/A"] > 0
    assert report["scaling"] is not None  # D ran at two sizes: a line was fitted
    assert (results / "throughput.md").read_text().startswith("## 1. Tagging throughput")
    scaling = (results / "throughput-scaling.md").read_text()
    assert "## 4. Scaling" in scaling and "### Peak memory against input size" in scaling
    assert "### What the non-model stages cost (case G" in (results / "throughput.md").read_text()


@pytest.mark.bench_full
def test_training_bench_pads_less_with_buckets(shared_data, tmp_path):
    results = run_script("training_bench.py", tmp_path, "--tiny")
    report = json.loads((results / "training.json").read_text())
    bucketed, padded = report["results"]["bucketed"], report["results"]["padded"]
    assert bucketed["tokens"] == padded["tokens"] > 0
    assert bucketed["sentences"] == padded["sentences"] == 120
    assert bucketed["slots"] < padded["slots"] == 128 * 120
    assert bucketed["loss"] == bucketed["loss"] and padded["loss"] == padded["loss"]  # not NaN
    assert "## 3. Training batching" in (results / "training.md").read_text()


@pytest.mark.bench_full
def test_model_size_bench_measures_both_layouts(shared_data, tmp_path):
    results = run_script("model_size_bench.py", tmp_path, "--tiny", "--work", tmp_path / "work")
    report = json.loads((results / "model_size.json").read_text())
    sizes = report["sizes"]
    # The embedded model holds the whole table; the model directory holds none of it.
    assert sizes["embedded_keras"] > sizes["store"] * 0.9
    assert sizes["tagger_dir"] < sizes["store"] / 5
    assert report["shared"]["models"] == report["models"] == 3
    assert len(report["shared"]["uss_after_each"]) == 3
    assert report["embedded"]["models"] == report["embedded_measured"] >= 1
    for mode in ("shared", "copies"):
        assert len(report["workers"][mode]["workers"]) == 2
    assert "## 2. Model and memory" in (results / "model_size.md").read_text()


def test_run_all_assembles_sections_in_order(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    for name in ("throughput", "tag_timeline", "startup", "runtime", "model_size", "training",
                 "throughput-scaling", "store"):
        (results / f"{name}.md").write_text(f"## section {name}\n")
    env = {**os.environ, "BEAMTAGGER_BENCH_RESULTS": str(results)}
    out = tmp_path / "BENCHMARKS.md"
    completed = subprocess.run(
        [sys.executable, str(BENCH / "run_all.py"), "--out", str(out), "--assemble-only"],
        cwd=BENCH.parent, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    text = out.read_text()
    assert text.startswith("# Benchmarks")
    assert "- Machine: " in text and "- Date: " in text and "bench/run_all.py --out" in text
    order = [text.index(f"## section {name}") for name in
             ("throughput", "tag_timeline", "startup", "runtime", "model_size", "training",
              "throughput-scaling", "store")]
    assert order == sorted(order)
    # The store bench's section sits under "4. Scaling", one heading level down.
    assert "### section store" in text and "\n## section store" not in text
    assert "## 5. GPU" in text


@pytest.mark.bench_full
def test_tag_timeline_finds_the_model_load_and_every_prediction(shared_data, tmp_path):
    results = run_script("tag_timeline.py", tmp_path, "--tiny")
    timeline = json.loads((results / "tag_timeline.json").read_text())["timeline"]
    assert timeline["tokens"] > 0 and timeline["predictions"] >= 1
    assert 0 < timeline["load_end"] <= timeline["first_predict"]
    assert timeline["first_predict"] < timeline["last_predict_end"] <= timeline["run_end"]
    assert 0 < timeline["predict_busy_seconds"] < timeline["run_end"]
    assert "### When the model runs in D" in (results / "tag_timeline.md").read_text()


@pytest.mark.bench_full
def test_startup_bench_times_the_demo_against_importing_tensorflow(tmp_path):
    # The runtime crossover (beamtagger tag on EWT prefixes with each runtime) is test-all's.
    results = run_script("startup_bench.py", tmp_path, "--tiny", "--no-crossover")
    report = json.loads((results / "startup.json").read_text())
    assert report["demo_median"] > 0 and report["tensorflow_median"] > 0
    # docs/library.md's pipeline test ran (and passed: a failing child raises) in a fresh pytest.
    assert report["pipeline_test_median"] > 0 and report["bytecode_cache"] is True
    assert report["tensorflow_test_median"] > 0   # the same test with the TensorFlow runtime
    events = [event for _, event in report["timeline"]]
    # The 12 lines are small: the command picks the NumPy runtime, so TensorFlow never loads.
    for event in ("Beam imported", "NumPy runtime warm-up ends",
                  "first batch of records (NumPy runtime): predict starts",
                  "summary printed, process ends"):
        assert event in events
    assert not any("TensorFlow" in event for event in events)
    times = [seconds for seconds, _ in report["timeline"]]
    assert times == sorted(times)
    assert events.index("NumPy runtime warm-up ends") < events.index(
        "first batch of records (NumPy runtime): predict starts")
    assert "### Start-up: the 12-line demo" in (results / "startup.md").read_text()


@pytest.mark.bench_full
def test_startup_bench_finds_the_runtime_crossover(shared_data, tmp_path):
    results = run_script("startup_bench.py", tmp_path, "--tiny")
    report = json.loads((results / "startup.json").read_text())
    rows = report["crossover"]
    assert len(rows) == 2 and rows[0]["tokens"] < rows[1]["tokens"]
    for row in rows:
        assert set(row["best"]) == {"numpy", "tensorflow"} and min(row["best"].values()) > 0
    assert "### Which runtime for which input size" in (
        results / "startup-crossover.md").read_text()


@pytest.mark.bench_full
def test_runtime_bench_runs_every_runtime_to_the_same_labels(shared_data, tmp_path):
    results = run_script("runtime_bench.py", tmp_path, "--tiny")
    report = json.loads((results / "runtime.json").read_text())
    assert report["sentences"] == 200 and report["tokens"] > 2000 and report["batches"] > 1
    assert report["labels_differing"] == 0
    assert report["labels_differing_from_tensorflow"] == {"numpy": 0, "jax": 0}
    assert all(len(report["seconds"][name]) == 1 for name in ("tensorflow", "numpy", "jax"))
    assert 0 < report["jax_compiled_shapes"] <= 16
    # beamtagger tag ran end to end with each runtime (a failing run raises in the script).
    assert report["end_to_end_tokens"]["2k"] >= 2000
    assert set(report["end_to_end_median"]["2k"]) == {"tensorflow", "numpy", "jax"}
    assert "### The tag stage's runtimes" in (results / "runtime.md").read_text()


def test_gpu_bench_smoke_runs_every_step_on_the_cpu(shared_data, tmp_path, monkeypatch):
    # The device check's code paths at a small scale (JAX on the CPU; the cuDNN anchor and the
    # cuDNN recurrence are skipped without CUDA), from a freshly prepared carried folder. Three
    # sentences of EWT train and dev: two grid shapes a variant to compile besides the warm-up's
    # (CPU 40 s against 57 with --smoke's 40 and 30, whose five shapes check nothing more).
    # --prepare runs in this process: its TensorFlow reference needs the import a child made
    # again (6 s of CPU); the check itself runs as on the device.
    gpu_bench = bench_module("gpu_bench", monkeypatch)
    data = tmp_path / "gpu-data"
    assert gpu_bench.main(["--prepare", str(data)]) == 0
    out = tmp_path / "gpu-out"
    run_script("gpu_bench.py", tmp_path, "--smoke", "--smoke-sentences", 3, "--data", data,
               "--out", out)
    report = json.loads((out / "gpu_bench.json").read_text())
    model = report["model"]
    # The model step's child took 3 sentences of dev as told (the compile step's, 3 of train:
    # its new shapes equal the float32 rate's below).
    assert model["parity"]["float32"]["tokens"] == sum(
        len(sentence) for sentence in gpu_bench.load_sentences(data, "dev")[:3])
    assert set(model["parity"]) == {"float32", "float16 vectors", "bfloat16 compute",
                                    "float16 vectors, gathered on the device",
                                    "float16 vectors, cuDNN recurrence",
                                    "float16 vectors, scan unrolled x8",
                                    "float16 vectors, labels back"}
    # Recorded, not measured, on a CPU: the runner's one-line refusal is the reason given.
    cudnn = model["rates"]["float16 vectors, cuDNN recurrence @ 4096"]
    assert cudnn == model["parity"]["float16 vectors, cuDNN recurrence"]
    assert "needs an NVIDIA GPU" in cudnn["skipped"] and "\n" not in cudnn["skipped"]
    # The cuDNN recurrence (native code never run on the device) and the least informative
    # variant are loaded and measured after the float32 breakdown and the copies.
    assert list(model["rates"])[-2:] == ["float16 vectors, cuDNN recurrence @ 4096",
                                         "bfloat16 compute @ 4096"]
    assert model["parity"]["float16 vectors, scan unrolled x8"]["labels_differing"] == 0
    labels_back = model["parity"]["float16 vectors, labels back"]
    assert labels_back["labels_differing"] == model["parity"]["float16 vectors"][
        "labels_differing"]
    assert labels_back["max_prob_difference"] < 1e-2
    assert model["rates"]["float16 vectors, labels back @ 4096"]["tokens_per_s"] > 0
    # Store rows gathered on the device: the float16 vectors' labels and probabilities, 4
    # bytes a slot for the words (the smoke store has under 65,536 rows: 2) instead of 100.
    gathered, sent = (model["parity"]["float16 vectors, gathered on the device"],
                      model["parity"]["float16 vectors"])
    assert gathered == sent
    gathered_rate = model["rates"]["float16 vectors, gathered on the device @ 4096"]
    vectors_rate = model["rates"]["float16 vectors @ 4096"]
    assert gathered_rate["tokens_per_s"] > 0
    assert vectors_rate["bytes_per_slot_sent"] - gathered_rate["bytes_per_slot_sent"] == 100 - 2
    assert model["copy"]["store rows int32"]["bytes_per_token"] == 4
    assert model["parity"]["float32"]["labels_differing"] == 0
    assert model["parity"]["float32"]["max_prob_difference"] < 1e-4
    rate = model["rates"]["float32 @ 4096"]
    assert rate["tokens_per_s"] > 0 and 0 < rate["new_shapes"] <= 16
    assert report["compile_warm_cache"]["4096"]["new_shapes"] == rate["new_shapes"]
    assert report["compile_warm_cache"]["warm_up"]["shapes"] == 1
    # Each variant warmed up at load for its own feed, as the tag stage warms up: its compiled
    # shapes are all of the program its batches run (store rows, or vectors of its dtype).
    rows, width = shape_grid.grid_shapes(2, 2)[0]
    assert set(model["warm_up"]) == set(model["compiled"]) == set(model["parity"]) - {
        "float16 vectors, cuDNN recurrence"}
    for name, shapes in model["compiled"].items():
        kinds = {key.split(" ", 1)[1] for key in shapes}
        own = ({"float16 store rows, 29,377 x 50"} if "gathered" in name
               else {"float16"} if name.startswith("float16") else {"float32"})
        assert kinds == own, name
        assert model["warm_up"][name]["shapes"] == 1 and f"{rows}x{width} {own.pop()}" in shapes
    by_width = model["compute_by_width"]   # every grid shape of the float16 pass, timed alone
    # Its first pass compiled them all but the warm-up's, where the pass runs that one too.
    assert len(by_width) == model["rates"]["float16 vectors @ 4096"]["new_shapes"] + (
        f"{rows}x{width}" in by_width)
    assert all(shape["ns_per_slot"] > 0 for shape in by_width.values())
    assert "skipped" in report["anchor"] or "float32, packed" in report["anchor"]
    e2e = report["end_to_end"]
    assert e2e["tokens"] >= 5000 and e2e["summary"]["records tagged"] == \
        e2e["summary"]["records read"]
    assert e2e["vector_dtype"] == "float32"   # --vector-dtype auto where JAX has no GPU
    text = (out / "gpu_bench.md").read_text()
    assert text.startswith("### GPU check") and "end to end over the model alone" in text
    assert "- float16 vectors, cuDNN recurrence @ 4096: skipped (recurrence='cudnn'" in text
    assert "- store rows gathered on the device against float16 vectors sent (@ 4,096)" in text


def test_a_gpu_check_step_that_fails_or_runs_out_of_time_stops_no_other(tmp_path, monkeypatch,
                                                                        capsys):
    """The device check runs once: a model step that crashed (a CUDA OOM, another JAX) raised
    through the whole script, and a child's figures and log came back only if it ended, so a
    crash or the call's time limit lost every figure measured before."""
    import argparse

    sys.path.insert(0, str(BENCH))
    try:
        import gpu_bench
    finally:
        sys.path.remove(str(BENCH))
    rate = {"budget": 65536, "tokens_per_s": 1000, "grid_padding_efficiency": 0.7,
            "new_shapes": 7, "new_shapes_compile_s": 13.2}
    children = {
        "model": f"send(rates={{'float32 @ 65536': {rate!r}}}); print('model log');"
                 "raise MemoryError('out of GPU memory')",
        "compile": "send(**{'16384': {'new_shapes': 3, 'compile_s': 0.5}});"
                   "import time; time.sleep(120)",
        "anchor": "print(CHILD_PART + '{\"cut by XLA'); send(skipped='no CUDA device for PyTorch')"}

    def fake_child(role, args, env, timeout, on_part):
        script = (f"import json; CHILD_PART = {gpu_bench.CHILD_PART!r}\n"
                  "def send(**parts): print(CHILD_PART + json.dumps(parts), flush=True)\n"
                  + children[role])
        return gpu_bench.stream_child([sys.executable, "-c", script], dict(os.environ),
                                      timeout, on_part)

    monkeypatch.setattr(gpu_bench, "run_child", fake_child)
    monkeypatch.setattr(gpu_bench, "STEP_LIMITS_S", {"model": 60, "compile_warm_cache": 3,
                                                      "anchor": 60})
    monkeypatch.setattr(gpu_bench, "end_to_end",
                        lambda args, work, timeout: {"timeout_given_s": timeout})
    args = argparse.Namespace(out=str(tmp_path), smoke=False, skip_end_to_end=False)
    assert gpu_bench.run_check(args) == 0
    report = json.loads((tmp_path / "gpu_bench.json").read_text())
    model, compiled = report["model"], report["compile_warm_cache"]
    assert model["rates"] == {"float32 @ 65536": rate}
    assert model["failed"].startswith("exit 1: ") and "out of GPU memory" in model["failed"]
    assert compiled["16384"] == {"new_shapes": 3, "compile_s": 0.5}
    assert compiled["failed"].startswith("killed after its 3 s")
    assert report["anchor"]["skipped"] == "no CUDA device for PyTorch"
    assert report["end_to_end"]["timeout_given_s"] >= gpu_bench.E2E_MIN_S
    relayed = capsys.readouterr().out   # as the children printed it, a cut part line too
    assert "model log" in relayed and "cut by XLA" in relayed
    summary = (tmp_path / "gpu_bench.md").read_text()
    assert "**Failed or cut short**" in summary and "compile_warm_cache" in summary
    assert "16384: 3 shapes in 0.5 s" in summary and "| float32 @ 65536 | 1,000 |" in summary


def test_the_device_check_and_its_rehearsal_are_valid_bash():
    # Neither runs in CI (the device check needs the GPU machine; the rehearsal, Python 3.12 and
    # the registry), so a syntax error would show only on the device, where minutes are few.
    for script in ("gpu_check.sh", "gpu_rehearsal.sh"):
        checked = subprocess.run(["bash", "-n", str(BENCH / script)], capture_output=True,
                                 text=True)
        assert checked.returncode == 0, checked.stderr


def test_featurize_bench_times_every_type_of_the_corpus_for_each_checkout(shared_data):
    corpus = shared_data / "ud-english-ewt" / "en_ewt-ud-dev.conllu"
    completed = subprocess.run(
        [sys.executable, str(BENCH / "featurize_bench.py"), "--corpus", str(corpus),
         "--repeat", "2", "--trees", str(BENCH.parent), str(BENCH.parent)],
        cwd=BENCH.parent, capture_output=True, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-4000:]
    from beamtagger.corpus_readers import read_conllu
    types = {token for sentence in read_conllu(corpus) for token in sentence.tokens}
    assert f"{len(types):,} types" in completed.stdout
    rows = [line for line in completed.stdout.splitlines()
            if line.startswith(f"| {BENCH.parent}")]
    assert len(rows) == 2
    for row in rows:
        least, median = (float(cell) for cell in row.strip("|").split("|")[1:3])
        assert 0 < least <= median


@pytest.mark.bench_full
def test_near_ties_counts_every_token_of_each_corpus(shared_data):
    completed = subprocess.run([sys.executable, str(BENCH / "near_ties.py")], cwd=BENCH.parent,
                               capture_output=True, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-4000:]
    rows = [line.strip("|").split("|") for line in completed.stdout.splitlines()
            if line.startswith("| ") and "tokens" not in line]
    assert [row[0].strip() for row in rows] == [
        "en_ewt-ud-train.conllu", "en_ewt-ud-dev.conllu", "wnut17train.conll",
        "emerging.dev.conll", "**all**"]
    for row in rows:
        tokens, close, near = (int(cell.replace(",", "")) for cell in row[1:4])
        assert 0 <= close <= near < tokens
    assert sum(int(row[1].replace(",", "")) for row in rows[:-1]) == int(
        rows[-1][1].replace(",", ""))


@pytest.mark.bench_full
def test_cli_label_parity_compares_every_token_of_each_corpus(shared_data, tmp_path):
    pytest.importorskip("jax", reason="the jax extra is not installed")
    completed = subprocess.run([sys.executable, str(BENCH / "cli_label_parity.py"), "--work",
                                str(tmp_path)], cwd=BENCH.parent, capture_output=True, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-4000:]
    rows = [line.strip("|").split("|") for line in completed.stdout.splitlines()
            if line.startswith("| ") and "labels differing" not in line]
    assert len(rows) == 5 and rows[-1][0].strip() == "**all**"
    assert sum(int(row[1].replace(",", "")) for row in rows[:-1]) == int(
        rows[-1][1].replace(",", ""))
    assert rows[-1][2].strip() == "**0**"   # issue 17's check on a CPU: no label differs


@pytest.mark.bench_full
def test_one_thread_runtimes_compares_the_cpu_a_token_of_both_runtimes(shared_data):
    completed = subprocess.run([sys.executable, str(BENCH / "one_thread_runtimes.py"),
                                "--rounds", "1", "--passes", "1"], cwd=BENCH.parent,
                               capture_output=True, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-4000:]
    rows = [line.strip("|").split("|") for line in completed.stdout.splitlines()
            if line.startswith("| ") and "runtime" not in line]
    assert [row[0].strip() for row in rows] == ["tensorflow", "numpy"]
    assert all(float(row[2]) > 0 for row in rows)
    assert "labels that differ: 0 of 25,147" in completed.stdout



@pytest.mark.bench_full   # eight beamtagger tag runs with two SDK worker processes each
def test_one_thread_jobs_counts_every_process_of_both_runtimes_jobs(shared_data, tmp_path):
    results = run_script("one_thread_jobs.py", tmp_path, "--rounds", "2", "--tokens", "3000",
                         "6000")
    report = json.loads((results / "one_thread_jobs.json").read_text())
    assert list(report["sizes"]) == ["3000", "6000"]
    text = (results / "one_thread_jobs.md").read_text()
    for size in report["sizes"].values():
        assert size["tokens"] >= 3000 and size["labels_differing"] == 0
        assert (f"Labels differing between the two runtimes' outputs: 0 of {size['tokens']:,}"
                in text)
        for runtime in ("tensorflow", "numpy"):
            runs = size["runs"][runtime]
            assert len(runs) == 2
            for run in runs:
                # Every worker seen, and the CPU of all processes at least the workers' own.
                assert len(run["workers_cpu"]) == len(run["workers_peak_rss_mib"]) == 2
                assert run["cpu"] >= sum(run["workers_cpu"]) > 0 and run["wall"] > 0
                assert all(threads for threads in run["workers_busy_threads"])
        # One thread for the tagger: one of TensorFlow's compute threads ran in a worker that
        # tagged (the default on 2 cores, --tagger-threads 0, runs two), none in NumPy's.
        for runtime, most in (("tensorflow", 1), ("numpy", 0)):
            for run in size["runs"][runtime]:
                assert max(run["workers_tensorflow_compute_threads"]) == most
    marginal = report["marginal"]
    assert all(len(marginal[key]) == 2 for key in ("tensorflow", "numpy", "numpy / tensorflow"))
    assert "Between the smallest and the largest input" in text


def test_decode_bench_decodes_every_token_both_ways(shared_data, json_report):
    report = json_report("decode_bench.py", "--limit", "300", "--repeats", "1")
    assert report["sentences"] == 300
    by_set = report["label_sets"]
    assert by_set["WNUT-17 BIO (Viterbi)"]["viterbi"] is True
    assert by_set["UPOS (argmax)"]["viterbi"] is False
    assert by_set["WNUT-17 BIO, CRF head"]["head"] == "crf"
    assert by_set["WNUT-17 BIO (Viterbi)"]["tokens"] == by_set["UPOS (argmax)"]["tokens"] > 300
    for figures in by_set.values():
        assert figures["row by row"]["ns_per_token"] > 0 < figures["whole batch"]["ns_per_token"]
        assert figures["records together"]["ns_per_token"] > 0


def test_chunking_quality_compares_every_cut_with_the_whole_documents(shared_data, upos_model,
                                                                      subset_store, json_report):
    report = json_report("chunking_quality.py", "--model", upos_model, "--embeddings",
                             subset_store, "--overlaps", "64")
    ewt = report["corpora"]["EWT dev (UPOS gold)"]
    assert ewt["tokens"] == 25_147   # all of EWT dev, in documents of 15 to 60 sentences
    for corpus in report["corpora"].values():
        cuts = corpus["cuts"]
        assert set(cuts) == {"whole", "end 256/64", "remainder 256/64"}
        assert cuts["whole"]["differ_from_whole"] == 0
        # chunk_spans runs at most one overlap more a chunk; the old cut ran full chunks
        assert 1 < cuts["remainder 256/64"]["tokens_run_over_tokens"] < cuts["end 256/64"][
            "tokens_run_over_tokens"]
        assert all(0 <= cut["differ_from_whole"] < corpus["tokens"] for cut in cuts.values())
    assert 0 < ewt["cuts"]["whole"]["accuracy"] <= 1


def test_chunking_quality_counts_the_tokens_each_cut_runs_on_a_text_file(tmp_path, json_report):
    source = tmp_path / "docs.txt"
    source.write_text("short one\n" + " ".join(["w"] * 260) + "\n", encoding="utf-8")
    report = json_report("chunking_quality.py", "--count-text", source, "--overlaps", "64")
    assert (report["records"], report["tokens"], report["long_records"]) == (2, 262, 1)
    # 260 tokens: two full chunks before (512), 256 + 68 now; the short record runs once
    assert report["tokens_run_over_tokens"] == {"end 256/64": (2 + 512) / 262,
                                                "remainder 256/64": (2 + 324) / 262}


def test_parquet_input_bench_reads_both_formats_alike_and_tags_the_wide_table_both_ways(
        shared_data, tmp_path):
    """--tiny: EWT train once read as JSON Lines and as Parquet, and a 16-row wide table tagged
    with and without --fields (two tag runs, 15 s on 2 cores)."""
    completed = subprocess.run(
        [sys.executable, str(BENCH / "parquet_input_bench.py"), "--work", str(tmp_path),
         "--tiny"], cwd=BENCH.parent, capture_output=True, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-4000:]
    out = completed.stdout
    assert "reading alone: 12,544 records" in out, out
    assert "wide table: 16 records written each way" in out, out
    written = re.search(r"results written .*\n  all +MiB: ([\d.]+).*\n  named +MiB: ([\d.]+)",
                        out)
    # 16 images of 16 KiB carried without --fields, none with it.
    assert written and float(written[1]) > 0.25 > float(written[2]), out


def test_csv_input_bench_reads_the_same_records_from_both_formats(shared_data, tmp_path):
    """--tiny: EWT train once as JSON Lines and as CSV (every 8th text over two lines), read
    alone in one round (4 s on 2 cores): the same records, the same characters."""
    completed = subprocess.run(
        [sys.executable, str(BENCH / "csv_input_bench.py"), "--work", str(tmp_path), "--tiny"],
        cwd=BENCH.parent, capture_output=True, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert re.search(r"reading alone: 12,544 records, [\d,]+ characters each", completed.stdout), \
        completed.stdout
    assert "csv / jsonl:" in completed.stdout


def test_records_bench_times_both_conversions_and_both_formattings(shared_data, json_report):
    report = json_report("records_bench.py", "--records", "200", "--repeat", "1")
    assert report["records"] == 200 and report["tokens"] > 200
    assert set(report["core_us_a_token"]) == {
        "tagged_records (flat)", "nested conversion (before)", "JSON Lines, grouped",
        "JSON Lines, to_json_line record by record"}
    assert all(value > 0 for value in report["core_us_a_token"].values())


def test_tokenizer_worst_case_times_every_shape_at_every_size(json_report):
    report = json_report("tokenizer_worst_case.py", "--sizes", "300", "1200", "--repeat",
                             "1")
    assert report["sizes"] == [300, 1200] and len(report["shapes"]) == 10
    for figures in report["shapes"].values():
        assert len(figures["cpu_seconds"]) == 2 and len(figures["growth_per_4x"]) == 1


@pytest.mark.bench_full   # four evaluate processes, a minute on 2 cores
def test_styled_text_quality_scores_each_styled_copy_as_the_plain_text(shared_data, upos_model,
                                                                     subset_store, tmp_path):
    report = run_json_report("styled_text_quality.py", "--tiny", "--model", upos_model,
                             "--embeddings", subset_store, "--work", tmp_path)
    (ewt,) = report["corpora"]
    assert ewt["sentences"] == 200 and 0 < ewt["mixed_styled_sentences"] < 200
    scores = ewt["scores"]
    assert {style: result["tokens"] for style, result in scores.items()} == dict.fromkeys(
        ("plain", "full-width", "bold", "mixed"), scores["plain"]["tokens"])
    assert len({(result["score"], result["oov_tokens"]) for result in scores.values()}) == 1
    assert "𝐓𝐡𝐞" in (tmp_path / "en_ewt-ud-dev.bold.conllu").read_text(encoding="utf-8")
    # Full-width punctuation in the words and in the raw text that raw_text_quality.py tags.
    full_width = (tmp_path / "en_ewt-ud-dev.full-width.conllu").read_text(encoding="utf-8")
    assert "# text = Ｆｒｏｍ ｔｈｅ ＡＰ ｃｏｍｅｓ ｔｈｉｓ ｓｔｏｒｙ ：\n" in full_width
    assert "\t：\t:\tPUNCT\t" in full_width


def test_raw_text_quality_scores_every_gold_word_of_the_raw_text(shared_data, upos_model,
                                                                 subset_store):
    report = run_json_report("raw_text_quality.py", "--tiny", "--model", upos_model,
                             "--embeddings", subset_store)
    assert report["raw_records_tagged"] == 200
    assert report["dead_letters"] == {"raw": 0, "gold": 0}
    rows = report["rows"]
    overall = rows.pop("all")
    assert overall["sentences"] == 200 and overall["gold_words"] == report["evaluate"]["tokens"]
    for count in ("sentences", "gold_words", "predicted_tokens", "spans_matched",
                  "context_made_wrong", "context_made_right"):
        assert sum(row[count] for row in rows.values()) == overall[count]
    # Every gold word cut wrongly lies in exactly one disagreement, and costs its tag.
    assert report["disagreements"]["gold_words"] == overall["lost_to_cuts"] > 0
    assert overall["lost_to_cuts"] == overall["gold_words"] - overall["spans_matched"]
    assert overall["end_to_end"] == pytest.approx(overall["accuracy_on_matched_spans"] * overall[
        "spans_matched"] / overall["gold_words"])
    assert overall["end_to_end"] < overall["accuracy_on_matched_spans"]
    top = report["disagreements"]["top"]
    assert top and all("  ->  " in entry["pattern"] for entry in top)
    assert [entry["tags_lost_to_the_tokenizer"] for entry in top] == sorted(
        (entry["tags_lost_to_the_tokenizer"] for entry in top), reverse=True)


@pytest.mark.bench_full
def test_streaming_bench_tags_every_record_once_a_window(shared_data, tmp_path):
    """EWT dev's sentences and documents in sliding windows, this checkout on both sides: each
    record comes out tagged once in each of its two windows, none as a dead letter."""
    report = run_json_report("streaming_bench.py", "--work", tmp_path, "--before", ".",
                             "--after", ".", "--rounds", "1", "--sliding")
    for runs in report["runs"].values():
        assert [(run["tagged"], run["dead"]) for run in runs] == [(2 * report["records"], 0)]


@pytest.mark.bench_full
def test_runinference_length_buckets_tags_every_record_once_in_each_variant(shared_data):
    report = run_json_report("runinference_length_buckets.py", "--rounds", "1", "--limit", "200")
    for variant in ("duration", "buckets", "default"):
        (run,) = report["runs"][variant]
        assert run["records"] == run["records_tagged"] == 200
        assert run["padded_slots"] >= run["batched_tokens"] > 200 and run["cpu"] > 0
    # Each bucket's stateful batches grow from one record: more model batches than the default.
    assert report["runs"]["buckets"][0]["batches"] >= report["runs"]["default"][0]["batches"]
    assert len(report["summary"]["buckets_over_duration_cpu_per_round"]) == 1


def test_lifetime_bench_counts_every_resource_at_every_checkpoint():
    completed = subprocess.run(
        [sys.executable, str(BENCH / "lifetime_bench.py"), "--runs", "2", "--every", "1"],
        cwd=BENCH.parent, capture_output=True, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    checkpoints = [json.loads(line) for line in lines if line.startswith("{")]
    assert [point["runs"] for point in checkpoints] == [0, 1, 2]
    counted = {"fds", "threads", "rss_mib", "store_maps", "logging_handlers",
               "atexit_handlers", "tmp_entries"}
    assert all(counted <= set(point) for point in checkpoints)
    assert checkpoints[-1]["store_maps"] >= 1   # the store is mapped while it tags
    growth = json.loads(lines[-1].partition(": ")[2])
    assert set(growth) == counted
