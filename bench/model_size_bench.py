"""Model and memory (issue 5, section 2): what keeping the word vectors outside the models saves.

1. Size of a beamtagger model directory against the same tagger with ``Embedding(400000, 300)``
   inside (target ratio >= 50).
2. Twenty models sharing one store: disk, and the memory of one process holding 20 loaded
   taggers + the memory-mapped store, against one holding 20 models with embedded tables.
3. Four worker processes sharing one store: the sum of their private memory against four
   processes that each hold the embedded-table model.

D=300: there are no real 300-dimensional vectors offline, so the store holds random vectors over
the real 400k GloVe vocabulary (sizes and memory do not depend on the values). Tagger: BiLSTM 300
units, beamtagger's default featurizer, 18 labels, random weights. Memory is measured in child
processes with psutil's ``memory_full_info`` (RSS, USS = private, PSS = shared pages split
between the processes that map them).

  python bench/model_size_bench.py          # full size (~5 min, needs ~12 GB free memory)
  python bench/model_size_bench.py --tiny   # seconds, for CI
"""
import argparse
import json
import multiprocessing
import os
import pathlib
import sys
import tempfile
import time

import numpy as np
import psutil

import bench_common
import bench_models

TARGET_RATIO = 50
MIB = bench_common.MIB


def directory_bytes(path):
    path = pathlib.Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def memory():
    """This process's memory in MiB: rss, uss (private), pss, and the store mapping's share."""
    info = psutil.Process().memory_full_info()
    return {"rss": info.rss / MIB, "uss": info.uss / MIB, "pss": info.pss / MIB}


def mapping_memory(file_name):
    """Resident and proportional MiB of this process's mappings of ``file_name``."""
    rss = pss = 0
    for mapping in psutil.Process().memory_maps(grouped=True):
        if mapping.path.endswith(file_name):
            rss += mapping.rss
            pss += mapping.pss
    return {"rss": rss / MIB, "pss": pss / MIB}


# ---------------------------------------------------------------- models

def build_embedded_tagger(tagger_dir, count):
    """The tagger in ``tagger_dir`` with ``Embedding(count, D)`` in front: word ids in, the same
    network after the lookup. Returns a Keras functional model."""
    import keras

    from beamtagger.model.inference import load_keras_model

    tagger = load_keras_model(pathlib.Path(tagger_dir) / "tagger.keras")
    columns = len(tagger.feature_sizes)
    ids = keras.Input((None,), dtype="int32", name="ids")
    lengths = keras.Input((), dtype="int32", name="lengths")
    extra_ids = keras.Input((None,), dtype="int32", name="extra_ids")
    feature_ids = keras.Input((None, columns), dtype="int32", name="feature_ids")
    vectors = keras.layers.Embedding(count, tagger.dim, name="embedding")(ids)
    probs = tagger({"vectors": vectors, "lengths": lengths, "extra_ids": extra_ids,
                    "feature_ids": feature_ids})
    return keras.Model([ids, lengths, extra_ids, feature_ids], probs)


def sample_inputs(store, featurizer, sentences):
    """One padded batch (rows, lengths, extra ids, feature ids) of real sentences."""
    width = max(map(len, sentences))
    rows = np.zeros((len(sentences), width), np.int64)
    extra = np.zeros((len(sentences), width), np.int32)
    features = np.zeros((len(sentences), width, featurizer.num_feature_columns), np.int32)
    for i, tokens in enumerate(sentences):
        found = store.rows(list(tokens))
        rows[i, :len(tokens)] = np.maximum(found, 0)
        extra[i, :len(tokens)] = featurizer.extra_ids(tokens, found >= 0)
        features[i, :len(tokens)] = featurizer.feature_ids(tokens)
    return rows, np.array([len(s) for s in sentences], np.int32), extra, features


def runner_inputs(store, featurizer, sentences):
    """The same sentences as one ``ModelInputs`` batch, for ``TaggerRunner.predict``."""
    from beamtagger.model.model_inputs import ModelInputs

    flat = [token for tokens in sentences for token in tokens]
    rows = store.rows(flat)
    return ModelInputs.from_tokens([len(s) for s in sentences], rows,
                                   featurizer.featurize(flat, rows >= 0), store)


# ---------------------------------------------------------------- children

def child_shared(args):
    """One process: open the store once, load N taggers, tag sample sentences with each."""
    import keras  # noqa: F401  (imported before the baseline so it is in every figure)

    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.inference import TaggerRunner

    baseline = memory()
    store = EmbeddingStore.open(args.store)
    sentences = bench_models.ewt_sentences(args.sample)
    runners, per_model = [], []
    started = time.perf_counter()
    for model_dir in args.models:
        runner = TaggerRunner.load(model_dir)
        runner.predict(runner_inputs(store, runner.spec.featurizer, sentences))
        runners.append(runner)
        per_model.append(memory()["uss"])
    bench_common.child_result(baseline=baseline, after=memory(), models=len(runners),
                              uss_after_each=per_model, store_mapping=mapping_memory("vectors.npy"),
                              seconds=time.perf_counter() - started)


def child_embedded(args):
    """One process: load N embedded-table models, run each on the same sample sentences."""
    import keras

    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model import tagger_model  # noqa: F401  (registers Tagger for loading)
    from beamtagger.model.features import TokenFeaturizer

    baseline = memory()
    store = EmbeddingStore.open(args.store)
    spec = json.loads((pathlib.Path(args.tagger) / "tagger.json").read_text())
    featurizer = TokenFeaturizer.from_config(spec["featurizer"])
    inputs = sample_inputs(store, featurizer, bench_models.ewt_sentences(args.sample))
    models, per_model = [], []
    started = time.perf_counter()
    for _ in range(args.count):
        model = keras.saving.load_model(args.embedded, compile=False)
        model.predict(list(inputs), verbose=0)
        models.append(model)
        per_model.append(memory()["uss"])
    bench_common.child_result(baseline=baseline, after=memory(), models=len(models),
                              uss_after_each=per_model, seconds=time.perf_counter() - started)


def _worker(mode, store_path, tagger_dir, embedded_path, sample, barrier, queue):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.inference import TaggerRunner

    store = EmbeddingStore.open(store_path)
    runner = TaggerRunner.load(tagger_dir)
    inputs = sample_inputs(store, runner.spec.featurizer, bench_models.ewt_sentences(sample))
    if mode == "shared":
        # A long job ends up touching most of the table; touch all of it (worst case for us).
        for start in range(0, store.count, 65536):
            np.add.reduce(store.vectors[start:start + 65536], axis=0)
        runner.predict(runner_inputs(store, runner.spec.featurizer,
                                     bench_models.ewt_sentences(sample)))
    else:
        model = keras.saving.load_model(embedded_path, compile=False)
        model.predict(list(inputs), verbose=0)
    barrier.wait()  # all four alive and loaded: shared pages are split four ways
    info = memory()
    info["store_mapping"] = mapping_memory("vectors.npy")
    queue.put(info)
    barrier.wait()


def child_workers(args):
    """N worker processes (spawned, like Beam's SDK workers), each measuring itself."""
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(args.count), context.Queue()
    workers = [context.Process(target=_worker, args=(args.mode, args.store, args.tagger,
                                                     args.embedded, args.sample, barrier, queue))
               for _ in range(args.count)]
    for worker in workers:
        worker.start()
    infos = [queue.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    bench_common.child_result(
        workers=infos, sum_uss=sum(i["uss"] for i in infos),
        sum_pss=sum(i["pss"] for i in infos), sum_rss=sum(i["rss"] for i in infos))


# ---------------------------------------------------------------- parent

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true",
                        help="GloVe subset vocabulary, 16 units, 3 models, 2 workers (CI)")
    parser.add_argument("--models", type=int, default=20, help="models sharing one store")
    parser.add_argument("--workers", type=int, default=4, help="worker processes")
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--sample", type=int, default=64,
                        help="EWT sentences each loaded model tags (its real working state)")
    parser.add_argument("--work", help="folder for stores and models (default: temp)")
    parser.add_argument("--name", default="model_size")
    parser.add_argument("--child", choices=("shared", "embedded", "workers"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("shared", "copies"), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    for name in ("store", "tagger", "embedded"):
        parser.add_argument("--" + name, help=argparse.SUPPRESS)
    parser.add_argument("--model-dirs", dest="models_list", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tiny:
        args.models, args.workers, args.units, args.sample = 3, 2, 16, 8
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        args.models = args.models_list
        {"shared": child_shared, "embedded": child_embedded,
         "workers": child_workers}[args.child](args)
        return 0
    bench_common.require_shared_data()
    with tempfile.TemporaryDirectory(prefix="beamtagger-model-size-") as temp:
        return run(args, pathlib.Path(args.work or temp))


def _log(message):
    print(f"[model_size] {message}", file=sys.stderr, flush=True)


def run(args, work):
    from beamtagger.embeddings import default as default_store

    started = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    vocabulary_store = (bench_common.tiny_store(work) if args.tiny
                        else default_store.ensure_default_store())
    _log(f"random {args.dim}-d store over the {vocabulary_store.count:,}-word vocabulary ...")
    store = bench_common.random_store(pathlib.Path(vocabulary_store.path) / "vocab.parquet",
                                      work / f"store-{args.dim}d", args.dim)
    _log(f"{args.models} tagger directories ...")
    tagger_dirs = [bench_models.build_tagger_dir(store, work / f"tagger-{i:02d}",
                                                 units=args.units, seed=i)
                   for i in range(args.models)]
    embedded_path = work / "embedded.keras"
    _log("the same tagger with the table inside ...")
    bench_common.run_child(_embedded_builder_argv(tagger_dirs[0], store, embedded_path),
                           label="build embedded model")
    sizes = {"tagger_dir": directory_bytes(tagger_dirs[0]),
             "tagger_keras": directory_bytes(tagger_dirs[0] / "tagger.keras"),
             "embedded_keras": directory_bytes(embedded_path),
             "store": directory_bytes(store.path)}
    sizes["ratio"] = sizes["embedded_keras"] / sizes["tagger_dir"]
    disk = {"shared": sum(directory_bytes(d) for d in tagger_dirs) + sizes["store"],
            # The embedded models are one architecture: 20 files of the measured size.
            "embedded": args.models * sizes["embedded_keras"]}

    common = ["--store", store.path, "--tagger", tagger_dirs[0], "--embedded", embedded_path,
              "--sample", args.sample]
    _log(f"{args.models} taggers + one store in one process ...")
    shared = bench_common.run_child([__file__, "--child", "shared", *common, "--model-dirs",
                                     *tagger_dirs], label="20 taggers + store")
    embedded_count = _affordable_embedded_models(args.models, sizes["embedded_keras"])
    _log(f"{embedded_count} embedded-table models in one process ...")
    embedded = bench_common.run_child([__file__, "--child", "embedded", *common, "--count",
                                       embedded_count], label="embedded models")
    workers = {}
    for mode in ("shared", "copies"):
        _log(f"{args.workers} workers, {mode} ...")
        workers[mode] = bench_common.run_child(
            [__file__, "--child", "workers", "--mode", mode, "--count", args.workers, *common],
            label=f"workers {mode}")
    report = {"command": "python bench/model_size_bench.py" + (" --tiny" if args.tiny else ""),
              "date": bench_common.now(), "machine": bench_common.machine(),
              "dim": args.dim, "units": args.units, "models": args.models,
              "store": {"count": store.count, "dim": store.dim, "dtype": store.dtype.name},
              "sizes": sizes, "disk": disk, "shared": shared, "embedded": embedded,
              "embedded_measured": embedded_count, "workers": workers,
              "total_seconds": time.perf_counter() - started}
    report["memory"] = memory_summary(report)
    bench_common.save_results(args.name, report, markdown(report))
    return 0


def _embedded_builder_argv(tagger_dir, store, out):
    code = ("import sys; sys.path.insert(0, 'bench'); import model_size_bench as m; "
            f"m.build_embedded_tagger({str(tagger_dir)!r}, {store.count}).save({str(out)!r}); "
            "import bench_common; bench_common.child_result()")
    return ["-c", code]


def _affordable_embedded_models(wanted, model_bytes):
    """How many embedded-table models one process can load without starving the machine (it is
    shared): a model costs its file size once loaded, plus a transient copy while loading."""
    available = psutil.virtual_memory().available - 3 * 1024 ** 3
    return max(1, min(wanted, int(available // (model_bytes * 1.2)) - 1))


def memory_summary(report):
    shared, embedded, n = report["shared"], report["embedded"], report["models"]
    measured = report["embedded_measured"]
    embedded_uss = embedded["after"]["uss"] - embedded["baseline"]["uss"]
    per_embedded = embedded_uss / measured
    summary = {
        "shared_models_mib": shared["after"]["uss"] - shared["baseline"]["uss"],
        "shared_rss_mib": shared["after"]["rss"],
        "store_resident_mib": shared["store_mapping"]["rss"],
        "store_file_mib": report["sizes"]["store"] / MIB,
        "embedded_per_model_mib": per_embedded,
        "embedded_models_mib": per_embedded * n,
        "embedded_rss_mib": embedded["after"]["rss"] if measured == n else None,
        "embedded_extrapolated": measured < n,
    }
    # Worst case for the store: every page of it resident (a long job touches most words).
    summary["shared_worst_case_mib"] = (summary["shared_models_mib"]
                                        + summary["store_file_mib"])
    summary["memory_ratio_worst_case"] = (summary["embedded_models_mib"]
                                          / summary["shared_worst_case_mib"])
    workers = report["workers"]
    summary["workers_private_ratio"] = workers["copies"]["sum_uss"] / workers["shared"]["sum_uss"]
    summary["workers_total_ratio"] = workers["copies"]["sum_pss"] / workers["shared"]["sum_pss"]
    return summary


def markdown(report):
    fmt = bench_common.fmt
    sizes, disk, memory_, n = report["sizes"], report["disk"], report["memory"], report["models"]
    mb = lambda b: fmt(b / MIB, 1)  # noqa: E731
    lines = [
        "## 2. Model and memory", "",
        f"Command: `{report['command']}`. D={report['dim']}: **random vectors over the real "
        f"{report['store']['count']:,}-word GloVe vocabulary** (no real 300-d vectors offline; "
        f"size and memory do not depend on the values), {report['store']['dtype']}. Tagger: "
        f"BiLSTM {report['units']} units, default featurizer, 18 labels. The embedded-table "
        f"model is the same tagger with `Embedding({report['store']['count']}, "
        f"{report['dim']})` in front, saved the same way (no optimizer state).", "",
        "### Model size", "",
        bench_common.markdown_table(["what", "MiB on disk"], [
            ["beamtagger model directory (tagger.keras + tagger.json + report)",
             mb(sizes["tagger_dir"])],
            ["  of which tagger.keras", mb(sizes["tagger_keras"])],
            ["same tagger with the embedding table inside (.keras)", mb(sizes["embedded_keras"])],
            ["the shared store (vectors.npy + vocab.parquet + manifest)", mb(sizes["store"])]]),
        "| ratio | measured | target | verdict |", "|---|---|---|---|",
        bench_common.target_line("embedded model / model directory", sizes["ratio"],
                                 TARGET_RATIO, digits=1), "",
        f"### {n} models sharing one store", "",
        bench_common.markdown_table(["", f"{n} taggers + 1 store", f"{n} embedded-table models",
                                     "ratio"], [
            ["disk MiB", mb(disk["shared"]), mb(disk["embedded"]),
             fmt(disk["embedded"] / disk["shared"], 1)],
            ["memory added by the models, MiB (USS over the process's baseline)",
             fmt(memory_["shared_models_mib"], 0), fmt(memory_["embedded_models_mib"], 0),
             fmt(memory_["embedded_models_mib"] / max(memory_["shared_models_mib"], 1), 1)],
            ["worst case: + the whole store resident once, MiB",
             fmt(memory_["shared_worst_case_mib"], 0), fmt(memory_["embedded_models_mib"], 0),
             fmt(memory_["memory_ratio_worst_case"], 1)]]),
        f"Disk: the {n} tagger directories were written (random weights, one seed each); the "
        f"embedded-table models are {n} x the measured file (one architecture, one size). "
        "Memory: one process loads the models and tags the same sample sentences with each (TensorFlow imported before the baseline). "
        f"After tagging, {fmt(memory_['store_resident_mib'], 1)} MiB of the "
        f"{fmt(memory_['store_file_mib'], 0)} MiB store was resident (only the rows the "
        "sentences use); the worst-case row counts all of it.", ""]
    if memory_["embedded_extrapolated"]:
        lines += [f"Only {report['embedded_measured']} embedded-table models were loaded (free "
                  "memory on this shared machine); the figure for "
                  f"{n} is {n} x the measured {fmt(memory_['embedded_per_model_mib'], 0)} MiB "
                  "per model (the USS increments are even: "
                  + ", ".join(fmt(b - a, 0) for a, b in zip(
                      [report['embedded']['baseline']['uss']]
                      + report['embedded']['uss_after_each'][:-1],
                      report['embedded']['uss_after_each'])) + " MiB).", ""]
    workers = report["workers"]
    count = len(workers["shared"]["workers"])
    lines += [
        f"### {count} worker processes", "",
        f"{count} spawned processes alive at once, each with TensorFlow and one tagger. Shared: "
        "each opens the same store (memory-mapped) and reads every row of it (the worst case), "
        "then tags sample sentences. Copies: each loads the embedded-table model (its own copy "
        "of the table). Measured inside each process while all were alive.", "",
        bench_common.markdown_table(
            ["", "sum of private memory (USS) MiB", "sum of PSS MiB (total, shared pages split)",
             "sum of RSS MiB"],
            [[mode, fmt(workers[mode]["sum_uss"], 0), fmt(workers[mode]["sum_pss"], 0),
              fmt(workers[mode]["sum_rss"], 0)] for mode in ("shared", "copies")]),
        f"Private memory, copies / shared: {memory_['workers_private_ratio']:.1f}x; total "
        f"(PSS), copies / shared: {memory_['workers_total_ratio']:.1f}x. Each sharing worker "
        f"maps the whole {fmt(memory_['store_file_mib'], 0)} MiB store but owns "
        f"{fmt(np.mean([w['uss'] for w in workers['shared']['workers']]), 0)} MiB privately "
        "(mostly the TensorFlow runtime).", ""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
