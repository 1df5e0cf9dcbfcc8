"""The tag stage on a GPU: the jax runtime against a cuDNN BiLSTM, in one prepared device check.

Issue 17's check, sized for at most 7.5 minutes (``TIME_LIMIT_S``) on the lent GPU machine (one
NVIDIA H200, 16 CPU cores; JAX 0.11.2, PyTorch, pyarrow, h5py, numpy; no TensorFlow, no Beam, no
network). What it measures, each figure written to ``$OUT/gpu_bench.json`` as soon as it is
measured and the output of each step's process relayed line by line to the log, so a crash or
the call's time limit loses only what was still to come; a step that fails or runs past its
limit (``STEP_LIMITS_S``) is noted and the next one runs (the parity and the rates of each
variant are measured together, a variant after another):

1. **Parity** with a CPU reference on held-out text: the bundled UPOS model's probabilities on
   every EWT dev sentence, computed here with the TensorFlow runtime (``--prepare``) and carried
   over; labels that differ and the largest probability difference, for float32 (JAX's default
   matmul precision), float16 vectors (the default GPU path), the same gathered on the device
   from store rows (2-4 bytes a slot instead of 100: ``vectors_at="tag"``), the same with the
   scan's loop unrolled 8 steps an iteration, the same decoded on the device (labels back),
   then, last in their step (``MEASURED_LAST``), the same with cuDNN's LSTM
   (``jax.experimental.rnn.lstm``) as the recurrence instead of the scan, and bfloat16 compute.
2. **Model-only rate**: EWT train repeated 4 times (818k tokens), bucketed by the grid's widths
   under 16k, 64k and 256k-slot budgets as the tag stage batches for ``--runtime jax``;
   inputs go in from the host and probabilities come back for every batch, the next batch
   dispatched before the current one is waited for. Compiled shapes and compile seconds of a
   fresh process with an empty compilation cache, and of a second process with it warm: each
   variant warmed up at load for its feed as the tag stage warms its runner up (vectors in its
   dtype, or store rows), then the new shapes of its first pass.
   The bytes each variant sends to the device a slot and brings back. What the host-to-device
   copy costs at D=50 and D=300, float32 and float16, and for store rows. What a second
   model over the same store adds to the device's memory with store rows (its weights; the
   store's table is the first runner's: ``second_model_on_the_device``).
3. **cuDNN anchor** of the same shape (PyTorch ``nn.LSTM``, bidirectional, the model's LSTM input
   width, units and labels, packed sequences, pinned host memory), on the same batches, beside
   the jax runtime (float32; bfloat16 unmasked as the upper bound). Skipped without CUDA.
4. **End to end**: ``beamtagger tag --runtime jax`` on EWT train repeated to >= 10M tokens, the
   machine's cores as Beam worker processes (``--direct_running_mode=multi_processing``),
   tokens/s and the GPU's busy share (``nvidia-smi`` sampled every 250 ms).

The store is the 29k-word GloVe subset of ../shared/data with ``--allow-other-embeddings`` (the
full 80 MB store is over what a call can carry); its vectors are GloVe's own for every EWT word,
so the bundled model sees what it sees with the full store on this text, and the reference is
computed with the same subset.

Prepare here (CPU, TensorFlow installed), then run there:

  python bench/gpu_bench.py --prepare .gpu_bench        # store, text, CPU reference (1 min)
  python3 -m pip download ... -d .whl apache-beam==2.77.0 ...    # see bench/gpu_check.sh
  python bench/gpu_bench.py --smoke --data .gpu_bench --out /tmp/gpu-smoke   # CPU dry run

The device call (from the checkout the device tool sends; .whl and .gpu_bench are git-ignored
and carried, 47 MiB with the working tree):

  run(command="bash bench/gpu_check.sh", carry=[".whl", ".gpu_bench"], timeout_s=540)

``--smoke`` runs every step at a small scale on the CPU (``JAX_PLATFORMS=cpu``); only the cuDNN
anchor (where PyTorch has no CUDA device) and the cuDNN recurrence (where JAX has no NVIDIA
GPU) are skipped, with the reason; ``--smoke-sentences N`` takes N sentences of EWT train and of
dev instead of 40 and 30 (the test suite's 3: two grid shapes a variant to compile, not five).
``bash bench/gpu_rehearsal.sh`` runs
gpu_check.sh itself that way, in a Python 3.12 virtualenv holding only the GPU image's packages
that the check touches (jax 0.11.2, numpy 2.5, pyarrow 26; no TensorFlow, Keras, spaCy or
PyTorch) with the carried wheels installed as on the device, and fails if the end-to-end run
tagged nothing or the call would carry over 64 MiB.
"""
import argparse
import gzip
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

BUDGETS = (16384, 65536, 262144)
SMOKE_BUDGETS = (4096,)
# --smoke's share of EWT: enough sentences for several grid shapes at 4,096 slots (each variant
# compiles every one of them, most of the dry run's time on a CPU), few enough to stay seconds.
SMOKE_TRAIN_SENTENCES = 40
SMOKE_DEV_SENTENCES = 30
# --smoke-sentences N: N of each instead (the test suite's dry run, where a 3-sentence prefix of
# each still runs every step and compiles 2 shapes a variant instead of 5, most of its seconds).
MAIN_BUDGET = 65536          # the anchor's and the end-to-end run's
# "float16 vectors" is the default GPU path (--vector-dtype auto); "gathered on the device" is
# vectors_at="tag": the batches carry store rows (2 bytes a slot for this 29k-word store, 4 above
# 65,536 rows; the vectors are 100 bytes at D=50 in float16, 600 at D=300) and the runner gathers
# from the store's table on the device (JaxTaggerRunner.device_table; bit-equal to the host's
# gather on the CPU, model_tagger_test.py). Second, so the step's limit cuts it last: it is what
# issue 17's bytes-bound rate (0.74 of the anchor with float16 vectors) needs. The unrolled
# recurrence is a candidate for it, measured beside it (fewer iterations of the device-side loop,
# one per 8 steps; labels held equal on the CPU by model_tagger_test.py). "labels back": the device
# decodes (arg-max) and sends back each slot's label and its probability, 5 bytes instead of 68
# (JaxTaggerRunner(labels_back=True); labels held equal to the host's decoding on the CPU by
# model_tagger_test.py). "cuDNN recurrence": each BiLSTM layer as one call of cuDNN's LSTM
# (jax.experimental.rnn.lstm, JaxTaggerRunner(recurrence="cudnn")) instead of the scan
# (MEASURED_LAST); its weight packing held equal to the Keras model on the CPU by
# model_tagger_test.py (through JAX's reference of it). NVIDIA GPUs only: skipped, with the reason,
# elsewhere.
VARIANTS = {"float32": {}, "float16 vectors": {"vector_dtype": "float16"},
            "float16 vectors, gathered on the device": {"vector_dtype": "float16",
                                                        "store_rows": True},
            "float16 vectors, cuDNN recurrence": {"vector_dtype": "float16",
                                                  "recurrence": "cudnn"},
            "float16 vectors, scan unrolled x8": {"vector_dtype": "float16", "scan_unroll": 8},
            "float16 vectors, labels back": {"vector_dtype": "float16", "labels_back": True},
            "bfloat16 compute": {"compute_dtype": "bfloat16"}}
# Loaded and measured after the float32 breakdown, the timings by width and the copy costs, at
# the end of the model step's 210 s: the cuDNN recurrence, whose native code has never run
# here (a crash inside cuDNN ends the step's process, which no guard catches), then the least
# informative variant (bfloat16 compute: off by default since its labels differ, 6 on EWT dev,
# 0.44 of the anchor in the first H200 run), so a crash or the step's limit cuts only these.
MEASURED_LAST = ("float16 vectors, cuDNN recurrence", "bfloat16 compute")
CHILD_PART = "CHILD_PART "
E2E_TOKENS = 10_000_000
SMOKE_E2E_TOKENS = 5_000
# The whole check, inside gpu_check.sh's `timeout 480` with room for the summary: each step
# before the end-to-end run is stopped at its limit, and the end-to-end run gets what they left
# (at least 150 s; about 250 where the steps take what the first H200 run suggests).
TIME_LIMIT_S = 450
STEP_LIMITS_S = {"model": 210, "compile_warm_cache": 45, "anchor": 45}
E2E_MIN_S = 120


def log(*parts):
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, flush=True)


# ---------------------------------------------------------------------------------------------
# Preparing the carried folder (here, with TensorFlow).

def prepare(folder):
    """Writes the store, the EWT sentences and the TensorFlow CPU reference into ``folder``."""
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    import bench_common
    from beamtagger.corpus_readers import read_corpus
    from beamtagger.embeddings.importers import import_embeddings
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR
    from beamtagger.transforms.worker_resources import loaded_runner

    bench_common.require_shared_data()
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    store_dir = folder / "store"
    if not (store_dir / "manifest.json").exists():
        import_embeddings(bench_common.GLOVE_SUBSET, store_dir)
    store = EmbeddingStore.open(store_dir)
    for name, path in (("train", bench_common.EWT_TRAIN), ("dev", bench_common.EWT_DEV)):
        sentences = [list(s.tokens) for s in read_corpus(str(path), "conllu") if s.tokens]
        with gzip.open(folder / f"ewt-{name}.json.gz", "wt", encoding="utf-8") as out:
            json.dump(sentences, out)
    dev = load_sentences(folder, "dev")
    runner = loaded_runner(None, "tensorflow")
    probs = sentence_probs(runner, featurized(dev, store, runner.spec.featurizer), 16384, None)
    flat = np.concatenate(probs).astype(np.float32)
    labels = [labels for labels, _ in (runner.spec.decode(p, len(p)) for p in probs)]
    np.savez_compressed(folder / "reference.npz", probs=flat,
                        lengths=np.array([len(s) for s in dev], np.int32))
    (folder / "reference.json").write_text(json.dumps({
        "labels": labels, "model": str(DEFAULT_MODEL_DIR.name), "runtime": "tensorflow",
        "machine": f"{platform.processor()} {os.cpu_count()} cores", "date": now()}))
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    log(f"prepared {folder}: {len(dev)} dev sentences, {flat.shape[0]} reference tokens, "
        f"{size / 2**20:.1f} MiB")


def now():
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def load_sentences(folder, name):
    with gzip.open(pathlib.Path(folder) / f"ewt-{name}.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


# ---------------------------------------------------------------------------------------------
# Inputs as the tag stage builds them.

class Featurized:
    """Every sentence's store rows and token arrays, flat, featurized once."""

    def __init__(self, sentences, store, featurizer):
        flat = [token for sentence in sentences for token in sentence]
        self.lengths = np.array([len(s) for s in sentences], np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        self.rows = store.rows(flat)
        self.arrays = featurizer.featurize(flat, self.rows >= 0)
        self.store = store

    def inputs(self, indices, vector_dtype="float32", store_rows=False):
        from beamtagger.model.model_inputs import ModelInputs

        pieces = [np.arange(self.starts[j], self.starts[j] + self.lengths[j]) for j in indices]
        take = np.concatenate(pieces)
        return ModelInputs.from_tokens(self.lengths[indices], self.rows[take],
                                       {name: array[take] for name, array in self.arrays.items()},
                                       self.store, vector_dtype, store_rows=store_rows)


def featurized(sentences, store, featurizer):
    return Featurized(sentences, store, featurizer)


def batches(features, budget, widths, vector_dtype="float32", repeat=1, store_rows=False):
    """(ModelInputs, sentence indices) in the tag stage's batches over the sentences repeated
    ``repeat`` times (the copies are the same sentences, bucketed together); with
    ``store_rows``, batches of store rows instead of vectors."""
    from beamtagger.transforms.bucket import length_batches

    lengths = [int(n) for n in features.lengths] * repeat
    count = len(features.lengths)
    out = []
    for group in length_batches(lengths, budget, widths):
        indices = np.array(group) % count
        out.append((features.inputs(indices, vector_dtype, store_rows), np.array(group)))
    return out


def sentence_probs(runner, features, budget, widths, vector_dtype="float32", store_rows=False):
    """Each sentence's (length, L) probabilities, in sentence order; a ``labels_back`` runner's:
    each sentence's (label indices, their probabilities)."""
    probs = [None] * len(features.lengths)
    for inputs, group in batches(features, budget, widths, vector_dtype, 1, store_rows):
        out = runner.predict(inputs)
        for row, j in enumerate(group):
            n = features.lengths[j]
            probs[j] = ((out[0][row, :n], out[1][row, :n])
                        if getattr(runner, "labels_back", False) else out[row, :n])
    return probs


# ---------------------------------------------------------------------------------------------
# Children: each step in a process of its own, so compile caches and GPU memory are its own.

def child_model(args):
    """Parity and model-only rates of the jax runtime in one fresh process. Each figure is sent
    to the parent (``send``) as soon as it is measured, and a step that fails is noted and the
    next one run: a crash or a timeout later in the process keeps what came before."""
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.errors import BeamtaggerError
    from beamtagger.model import jax_setup, runtimes
    from beamtagger.model.jax_inference import JaxTaggerRunner
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR

    started = time.perf_counter()
    jax_setup.configure_jax()
    import jax

    send(jax=jax.__version__, devices=[str(d) for d in jax.devices()],
         jax_import_and_set_up_s=round(time.perf_counter() - started, 2))
    store = EmbeddingStore.open(pathlib.Path(args.data) / "store")
    widths = runtimes.bucket_widths("jax")
    runners, skipped, warm_ups = {}, {}, {}

    def load(name):
        options = VARIANTS[name]
        try:
            runner = JaxTaggerRunner.load(DEFAULT_MODEL_DIR, **{
                k: v for k, v in options.items() if k not in ("vector_dtype", "store_rows")})
            # Warmed up as the tag stage warms its runner up for its feed, so each variant's
            # compiled shapes are the ones a tag stage fed so compiles, the warm-up's included.
            runners[name] = runtimes.warmed_up_for(
                runner, options.get("vector_dtype", "float32"),
                store if options.get("store_rows") else None)
            warm_ups[name] = compile_figures(runner.compiled_shapes())
            send(warm_up=warm_ups)
        except BeamtaggerError as error:
            if options.get("recurrence") != "cudnn":
                raise
            # cuDNN's LSTM runs on NVIDIA GPUs only (the runner refuses elsewhere, in one
            # line): on a CPU (--smoke) the variant is recorded as skipped, as the anchor is.
            skipped[name] = {"skipped": str(error)}

    # The variants measured last are also loaded last: loading the cuDNN one already calls
    # into cuDNN (its buffer sizes), and a crash there must not take the others' figures.
    for name in VARIANTS:
        if name not in MEASURED_LAST:
            loaded = guarded(lambda: load(name))
            if isinstance(loaded, dict):    # its warm-up failed: recorded as its figures
                skipped[name] = loaded
    spec = runners["float32"].spec
    gathered = runners.get("float16 vectors, gathered on the device")
    if gathered is not None:
        send(second_model=guarded(lambda: second_model_on_the_device(gathered, store)))
    budgets = SMOKE_BUDGETS if args.smoke else BUDGETS
    main_budget = budgets[-1] if args.smoke else MAIN_BUDGET

    train = load_sentences(args.data, "train")
    if args.smoke:
        train = train[:smoke_share(args, SMOKE_TRAIN_SENTENCES)]
    features = featurized(train, store, spec.featurizer)
    dev = parity_inputs(args, store, spec)
    repeat = 2 if args.smoke else 4
    compiled, rates, parities = {}, {}, {}
    # Each variant's parity right after its rates: the labels on the GPU come in early, and
    # the rates' first pass still compiles its shapes in a fresh runner (parity's dev text adds
    # shapes only to the runner it runs on).
    def measure(name):
        if name not in runners and name not in skipped:
            loaded = guarded(lambda: load(name))
            if isinstance(loaded, dict):    # {"failed": why}: recorded as the variant's figures
                skipped[name] = loaded
        if name in skipped:
            rates[f"{name} @ {main_budget}"] = parities[name] = skipped[name]
            send(rates=rates, parity=parities)
            return
        runner = runners[name]
        dtype = VARIANTS[name].get("vector_dtype", "float32")
        store_rows = VARIANTS[name].get("store_rows", False)
        for budget in (budgets if name == "float32" else (main_budget,)):
            key = f"{name} @ {budget}"
            rates[key] = guarded(lambda: model_rate(runner, name, features, budget, widths,
                                                    dtype, repeat, args.passes, store_rows))
            send(rates=rates)
        parities[name] = guarded(lambda: parity(runner, name, dev, widths, main_budget))
        send(parity=parities)
        compiled[name] = {f"{k[1]}x{k[2]} {k[0]}": round(s, 3)
                          for k, s in runner.compiled_shapes().items()}
        send(compiled=compiled)

    for name in VARIANTS:
        if name not in MEASURED_LAST:
            measure(name)
    send(breakdown=guarded(lambda: breakdown(runners["float32"], features, main_budget, widths,
                                             repeat)))
    send(compute_by_width=guarded(lambda: compute_by_width(
        runners["float16 vectors"], features, main_budget, widths, repeat, "float16")))
    send(copy=guarded(lambda: copy_costs(args)))
    for name in MEASURED_LAST:
        measure(name)


def second_model_on_the_device(fed, store):
    """What a second model over the same store adds to the device with ``vectors_at="tag"``
    (``beamtagger tag --model a=... --model b=...``): another runner of the same model, fed by
    store rows of ``store`` as ``fed`` (a runner already fed so, its table on the device) is.
    Its table should be ``fed``'s (``model/device_tables.py``), so the device's bytes in use
    (``memory_stats``, a GPU's; None on a CPU) grow by its weights, not by a table as well.
    Not warmed up: no compile, under a second on the device."""
    import jax

    from beamtagger.model import runtimes
    from beamtagger.model.jax_inference import JaxTaggerRunner
    from beamtagger.model.numpy_inference import read_keras_weights

    started = time.perf_counter()
    device = fed.runner.device

    def in_use():
        stats = device.memory_stats()
        return None if not stats else stats.get("bytes_in_use")

    before = in_use()
    spec = fed.runner.spec
    second = runtimes.fed_by_store_rows(JaxTaggerRunner(spec, *read_keras_weights(
        spec.model_path)), store, fed.table.vector_dtype)
    after = in_use()
    weights = sum(leaf.nbytes for leaf in jax.tree_util.tree_leaves(second.runner._params))
    figures = {"same_table": second.table is fed.table, "table_bytes": fed.table.array.nbytes,
               "weights_bytes": int(weights),
               "device_bytes_added": None if before is None else after - before,
               "seconds": round(time.perf_counter() - started, 2)}
    log(f"second model over the same store: {figures}")
    return figures


def slot_bytes(runner, dtype, store_rows=False):
    """(bytes a slot sends to the device, bytes a slot brings back) for a variant: its words
    (vectors, or a store row), its narrowed id columns; probabilities, or a label and its
    probability (``labels_back``)."""
    dims, ids = runner.spec.input_dims, runner._id_dtypes
    words = (np.dtype(runner.table.row_dtype).itemsize if store_rows
             else dims["D"] * np.dtype(dtype).itemsize)
    sent = words + sum(np.dtype(ids[name]).itemsize * count for name, count in (
        ("extra_ids", 1), ("feature_ids", dims["F"]), ("char_ids", dims["C"])))
    labels = len(runner.spec.labels)
    back = (np.dtype("uint8" if labels <= 256 else "uint16").itemsize + 4
            if getattr(runner, "labels_back", False) else 4 * labels)
    return int(sent), int(back)


def model_rate(runner, name, features, budget, widths, dtype, repeat, passes, store_rows=False):
    """The model-only rate of one variant at one budget, compiled shapes of its first pass."""
    work = batches(features, budget, widths, dtype, repeat, store_rows)
    tokens = int(sum(inputs.lengths.sum() for inputs, _ in work))
    slots = int(sum(runner.computed_slots(i.batch_size, i.width) for i, _ in work))
    before = set(runner.compiled_shapes())
    compile_started = time.perf_counter()
    first = timed_pass(runner, [inputs for inputs, _ in work])
    new = {key: s for key, s in runner.compiled_shapes().items() if key not in before}
    times = [timed_pass(runner, [inputs for inputs, _ in work]) for _ in range(passes)]
    sent, back = slot_bytes(runner, dtype, store_rows)
    log(f"model {name} @ {budget}: {tokens / min(times):,.0f} tokens/s, {len(new)} new "
        f"shapes in {sum(new.values()):.1f} s, {sent} bytes a slot sent, {back} back")
    return {"budget": budget, "variant": name, "tokens": tokens, "batches": len(work),
            "bytes_per_slot_sent": sent, "bytes_per_slot_back": back,
            "grid_slots": slots, "grid_padding_efficiency": round(tokens / slots, 3),
            "first_pass_s": round(first, 3), "passes_s": [round(p, 4) for p in times],
            "tokens_per_s": round(tokens / min(times)),
            "new_shapes": len(new), "new_shapes_compile_s": round(sum(new.values()), 2),
            "first_pass_wall_s": round(time.perf_counter() - compile_started, 2)}


def guarded(step):
    """``step()``, or {"failed": why} where it raises (a CUDA OOM, an XLA error of another JAX
    version): the figures after it are still measured."""
    try:
        return step()
    except Exception as error:  # noqa: BLE001
        log(f"failed: {type(error).__name__}: {error}"[:2000])
        return {"failed": f"{type(error).__name__}: {error}"[-2000:]}


def send(**parts):
    """Figures of a child process, to its parent at once (``run_child`` saves them)."""
    print(CHILD_PART + json.dumps(parts), flush=True)


def grid_pieces(runner, features, budget, widths, repeat, dtype):
    """([(arrays padded to a grid shape, ids narrowed; compiled function)], tokens): the
    batches as the runner splits and pads them, ready to hand over."""
    from beamtagger.model import shape_grid
    from beamtagger.model.jax_inference import _padded

    pieces, tokens = [], 0
    for inputs, _ in batches(features, budget, widths, dtype, repeat):
        inputs = inputs.checked()
        tokens += int(inputs.lengths.sum())
        arrays, start = inputs.as_dict(), 0
        for rows, grid_width in shape_grid.grid_shapes(inputs.batch_size, inputs.width):
            stop = min(inputs.batch_size, start + rows)
            pieces.append((_padded(arrays, start, stop, rows, grid_width, runner._id_dtypes),
                           runner._compiled_for(rows, grid_width, dtype)))
            start = stop
    return pieces, tokens


def compute_by_width(runner, features, budget, widths, repeat, dtype):
    """The forward pass alone (inputs already on the device), one grid shape at a time: ns a
    slot at each width. Flat across widths: the work a slot does bounds it; growing with the
    width: the recurrence's steps do (a step of a wide batch has few rows to work on)."""
    import jax

    from beamtagger.model.model_inputs import FIELD_NAMES

    pieces, _ = grid_pieces(runner, features, budget, widths, repeat, dtype)
    by_shape = {}
    for arrays, compiled in pieces:
        shape = arrays["extra_ids"].shape
        entry = by_shape.setdefault(shape, {"pieces": 0, "arrays": arrays, "compiled": compiled})
        entry["pieces"] += 1
    out = {}
    for (rows, width), entry in sorted(by_shape.items(), key=lambda item: item[0][::-1]):
        placed = jax.device_put(entry["arrays"], runner.device)

        def run_once(placed=placed, compiled=entry["compiled"]):
            jax.block_until_ready(compiled(runner._params, *(placed[n] for n in FIELD_NAMES)))

        run_once()
        best = min(timed(run_once) for _ in range(3))
        out[f"{rows}x{width}"] = {"pieces": entry["pieces"], "ms": round(best * 1e3, 3),
                                  "ns_per_slot": round(best * 1e9 / (rows * width), 2)}
    log("compute by width, " + dtype + ": " + ", ".join(
        f"{shape} {v['ns_per_slot']} ns/slot" for shape, v in out.items()))
    return out


def breakdown(runner, features, budget, widths, repeat):
    """Where a float32 pass's time goes: the same batches already padded to their grid shapes
    on the host (ids narrowed) as the tag stage could hand them over, then timed as a whole
    (put, compute, probabilities back, overlapped as predict_async does), as puts alone, and
    as compute alone on inputs already on the device."""
    import jax

    from beamtagger.model.model_inputs import FIELD_NAMES

    pieces, tokens = grid_pieces(runner, features, budget, widths, repeat, "float32")
    device = runner.device

    def whole():
        pending = None
        for arrays, compiled in pieces:
            on_device = jax.device_put(arrays, device)
            probs = compiled(runner._params, *(on_device[name] for name in FIELD_NAMES))
            probs.copy_to_host_async()
            if pending is not None:
                np.asarray(pending)
            pending = probs
        np.asarray(pending)

    def puts():
        for arrays, _ in pieces:
            jax.block_until_ready(jax.device_put(arrays, device))

    on_device = [jax.device_put(arrays, device) for arrays, _ in pieces]

    def compute():
        out = [compiled(runner._params, *(placed[name] for name in FIELD_NAMES))
               for placed, (_, compiled) in zip(on_device, pieces)]
        jax.block_until_ready(out)

    result = {"tokens": tokens, "pieces": len(pieces),
              "bytes_per_piece": int(np.mean([sum(a.nbytes for a in arrays.values())
                                              for arrays, _ in pieces]))}
    for name, function in (("grid-shaped whole", whole), ("puts only", puts),
                           ("compute only", compute)):
        function()
        best = min(timed(function) for _ in range(3))
        result[name] = {"s": round(best, 4), "tokens_per_s": round(tokens / best)}
        log(f"breakdown float32 @ {budget}, {name}: {tokens / best:,.0f} tokens/s")
    return result


def timed(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def timed_pass(runner, work):
    """Seconds for every batch: dispatch k+1, then wait for k (the tag stage's overlap)."""
    started = time.perf_counter()
    pending = None
    for inputs in work:
        dispatched = runner.predict_async(inputs)
        if pending is not None:
            pending.result()
        pending = dispatched
    pending.result()
    return time.perf_counter() - started


def smoke_share(args, default):
    """How many sentences of EWT train or dev a --smoke run takes."""
    return default if args.smoke_sentences is None else args.smoke_sentences


def parity_inputs(args, store, spec):
    """(EWT dev featurized, its reference probabilities, its reference labels)."""
    folder = pathlib.Path(args.data)
    reference = np.load(folder / "reference.npz")
    reference_labels = json.loads((folder / "reference.json").read_text())["labels"]
    dev = load_sentences(folder, "dev")
    if args.smoke:
        dev = dev[:smoke_share(args, SMOKE_DEV_SENTENCES)]
    features = featurized(dev, store, spec.featurizer)
    return features, reference["probs"][:int(features.lengths.sum())], reference_labels


def parity(runner, name, dev, widths, budget):
    """Labels and probabilities of a variant against the carried TensorFlow CPU reference."""
    features, expected, reference_labels = dev
    spec = runner.spec
    count = int(features.lengths.sum())
    dtype = VARIANTS[name].get("vector_dtype", "float32")
    probs = sentence_probs(runner, features, budget, widths, dtype,
                           VARIANTS[name].get("store_rows", False))
    if getattr(runner, "labels_back", False):
        labels = [[spec.labels[i] for i in ids] for ids, _ in probs]
        chosen = np.concatenate([ids for ids, _ in probs]).astype(np.int64)
        got = np.concatenate([scores for _, scores in probs])
        # The chosen label's probability against the reference's for that label.
        difference = np.abs(got - expected[np.arange(count), chosen]).max()
    else:
        labels = [spec.decode(p, len(p))[0] for p in probs]
        difference = np.abs(np.concatenate(probs) - expected).max()
    differing = sum(a != b for got_labels, want in zip(labels, reference_labels)
                    for a, b in zip(got_labels, want))
    log(f"parity {name}: {differing} of {count} labels differ, max |dp| {difference:.2e}")
    return {"tokens": count, "labels_differing": int(differing),
            "max_prob_difference": float(difference)}


def copy_costs(args):
    """Host-to-device seconds of one 65,536-slot batch of vectors, D=50 and D=300, and of its
    store rows (int32, whatever D)."""
    import jax

    slots = 4096 if args.smoke else 65536
    device = jax.devices()[0]
    out = {}
    for dim, dtype in ((50, "float32"), (50, "float16"), (300, "float32"), (300, "float16"),
                       (1, "int32")):
        host = np.random.default_rng(0).normal(size=(slots, dim)).astype(dtype)
        jax.device_put(host, device).block_until_ready()
        times = []
        for _ in range(5):
            started = time.perf_counter()
            jax.device_put(host, device).block_until_ready()
            times.append(time.perf_counter() - started)
        best = min(times)
        name = "store rows int32" if dtype == "int32" else f"D={dim} {dtype}"
        out[name] = {"bytes_per_token": dim * np.dtype(dtype).itemsize,
                     "ms_per_batch": round(best * 1e3, 3),
                     "gb_per_s": round(host.nbytes / best / 1e9, 2), "slots": slots}
    return out


def compile_figures(compiled):
    """{"shapes": how many, "compile_s": their seconds} of ``compiled_shapes()``' items."""
    return {"shapes": len(compiled), "compile_s": round(sum(compiled.values()), 2)}


def child_compile(args):
    """A second process over the same compilation cache: compile seconds with the cache warm,
    of the warm-up (float32, as the float32 variant's) and of each budget's new shapes."""
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.model import jax_setup, runtimes
    from beamtagger.model.jax_inference import JaxTaggerRunner
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR

    jax_setup.configure_jax()
    store = EmbeddingStore.open(pathlib.Path(args.data) / "store")
    runner = runtimes.warmed_up_for(JaxTaggerRunner.load(DEFAULT_MODEL_DIR), "float32")
    send(warm_up=compile_figures(runner.compiled_shapes()))
    train = load_sentences(args.data, "train")
    if args.smoke:
        train = train[:smoke_share(args, SMOKE_TRAIN_SENTENCES)]
    features = featurized(train, store, runner.spec.featurizer)
    for budget in (SMOKE_BUDGETS if args.smoke else BUDGETS):
        before = set(runner.compiled_shapes())
        for inputs, _ in batches(features, budget, runtimes.bucket_widths("jax"), "float32",
                                 2 if args.smoke else 4):
            runner.predict(inputs)
        new = {k: s for k, s in runner.compiled_shapes().items() if k not in before}
        send(**{str(budget): {"new_shapes": len(new), "compile_s": round(sum(new.values()), 2)}})


def child_anchor(args):
    """The cuDNN BiLSTM of the model's shape in PyTorch, on the main budget's batch shapes."""
    try:
        import torch
    except ImportError:
        torch = None
    # GPU_BENCH_ANCHOR_ON_CPU=1: the same code on the CPU, to dry-run it where there is no GPU.
    on_cpu = os.environ.get("GPU_BENCH_ANCHOR_ON_CPU") == "1"
    cuda = torch is not None and torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    budget = SMOKE_BUDGETS[-1] if args.smoke else MAIN_BUDGET
    if not (cuda or (torch is not None and on_cpu)):
        send(skipped="no CUDA device for PyTorch")
        return
    from beamtagger.model import runtimes
    from beamtagger.model.numpy_inference import read_keras_weights
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR, TaggerSpec
    from beamtagger.transforms.bucket import length_batches

    # The model's shape read from its weights here (NumPy), not from the model step's child,
    # so the anchor runs whatever became of that step.
    config, weights = read_keras_weights(TaggerSpec.load(DEFAULT_MODEL_DIR).model_path)
    kernel, recurrent_kernel, _ = weights["recurrent"][0][0]
    width, units, labels = kernel.shape[0], recurrent_kernel.shape[0], config["num_outputs"]
    send(shape={"input_width": width, "units": units, "labels": labels, "budget": budget,
                "device": str(device)})
    train = load_sentences(args.data, "train")
    if args.smoke:
        train = train[:smoke_share(args, SMOKE_TRAIN_SENTENCES)]
    lengths = np.array([len(s) for s in train] * (2 if args.smoke else 4))
    groups = list(length_batches(lengths.tolist(), budget, runtimes.bucket_widths("jax")))
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(width, units, batch_first=True, bidirectional=True).to(device).eval()
    head = torch.nn.Linear(2 * units, labels).to(device).eval()
    tokens = int(lengths.sum())
    host = []
    for group in groups:
        group_lengths = lengths[group]
        x = torch.randn(len(group), int(group_lengths.max()), width)
        host.append((x.pin_memory() if cuda else x, torch.as_tensor(group_lengths)))
    send(torch=torch.__version__, batches=len(groups))
    for name, dtype, packed in (("float32, packed", torch.float32, True),
                                ("bfloat16, unmasked", torch.bfloat16, False)):
        model_lstm, model_head = lstm.to(dtype), head.to(dtype)

        def one_pass():
            started = time.perf_counter()
            results = []
            with torch.inference_mode():
                for x, group_lengths in host:
                    x = x.to(device, non_blocking=True).to(dtype)
                    if packed:
                        sequence = torch.nn.utils.rnn.pack_padded_sequence(
                            x, group_lengths, batch_first=True, enforce_sorted=False)
                        y, _ = model_lstm(sequence)
                        y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True)
                    else:
                        y, _ = model_lstm(x)
                    probs = torch.softmax(model_head(y).float(), dim=-1)
                    results.append(probs.to("cpu", non_blocking=True))
                if cuda:
                    torch.cuda.synchronize()
            return time.perf_counter() - started

        try:
            one_pass()   # cuDNN plans and warm-up
            passes = [one_pass() for _ in range(args.passes)]
        except Exception as error:  # noqa: BLE001  (the other variant still counts)
            send(**{name: {"failed": str(error)[-1000:]}})
            continue
        send(**{name: {"tokens": tokens, "passes_s": [round(p, 4) for p in passes],
                       "tokens_per_s": round(tokens / min(passes))}})
        log(f"anchor {name}: {tokens / min(passes):,.0f} tokens/s")


def run_child(role, args, env=None, timeout=None, on_part=None):
    """A step in a process of its own: its figures ({name: value}, merged as the child sends
    them), each part passed to ``on_part`` as it arrives. Its output is relayed line by line, so
    the log holds what it printed even where the device call is cut off. Never raises: a child
    that fails or runs past ``timeout`` seconds (then killed) adds "failed" to what it sent."""
    command = [sys.executable, str(pathlib.Path(__file__).resolve()), "--child", role,
               "--data", args.data, "--passes", str(args.passes)]
    if args.smoke:
        command.append("--smoke")
    if args.smoke_sentences is not None:
        command += ["--smoke-sentences", str(args.smoke_sentences)]
    return stream_child(command, {**os.environ, **(env or {})}, timeout, on_part)


def _part(line):
    """The figures a ``send`` line holds; None for any other line, or for one that XLA's own
    output (the same pipe) cut into: a log line then, not the end of the check."""
    if not line.startswith(CHILD_PART):
        return None
    try:
        part = json.loads(line[len(CHILD_PART):])
    except ValueError:
        return None
    return part if isinstance(part, dict) else None


def stream_child(command, env, timeout, on_part=None):
    """``run_child``'s process: ``command`` run with its output relayed and its parts kept."""
    started = time.perf_counter()
    result, tail = {}, []
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, errors="replace", env=env)
    killed = []

    def kill():
        killed.append(timeout)
        process.kill()

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.start()
    try:
        for line in process.stdout:
            part = _part(line)
            if part is not None:
                result.update(part)
                if on_part:
                    on_part(result)
                continue
            print(line, end="", flush=True)
            tail = (tail + [line])[-30:]
        code = process.wait()
    finally:
        if timer:
            timer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    wall = round(time.perf_counter() - started, 1)
    result["process_wall_s"] = wall
    if code:
        cut = f"killed after its {timeout:.0f} s" if killed else f"exit {code}"
        result["failed"] = f"{cut}: {''.join(tail)[-2000:]}"
    if on_part:
        on_part(result)
    return result


# ---------------------------------------------------------------------------------------------
# End to end.

class GpuSampler(threading.Thread):
    """``nvidia-smi`` utilization samples every 250 ms while running (none without it)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples = []
        self.memory = []
        self._process = None

    def run(self):
        if shutil.which("nvidia-smi") is None:
            return
        self._process = subprocess.Popen(
            ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used",
             "--format=csv,noheader,nounits", "-lms", "250"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in self._process.stdout:
            try:
                busy, memory = (float(x) for x in line.split(","))
            except ValueError:
                continue
            self.samples.append(busy)
            self.memory.append(memory)

    def stop(self):
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=5)


def end_to_end(args, work, timeout):
    sentences = load_sentences(args.data, "train")
    target = SMOKE_E2E_TOKENS if args.smoke else E2E_TOKENS
    text = work / "text"
    text.mkdir(parents=True, exist_ok=True)
    lines = [" ".join(s) for s in sentences]
    per_copy = sum(len(s) for s in sentences)
    copies = max(1, -(-target // per_copy))
    if target < per_copy:   # --smoke: a prefix of one copy
        lines = lines[:max(1, len(lines) * target // per_copy)]
    tokens = copies * sum(len(line.split()) for line in lines)
    parts = 32
    size = -(-len(lines) * copies // parts)
    everything = lines * copies
    for part in range(parts):
        chunk = everything[part * size:(part + 1) * size]
        if chunk:
            (text / f"part-{part:02d}.txt").write_text("\n".join(chunk) + "\n", encoding="utf-8")
    del everything
    workers = 2 if args.smoke else (os.cpu_count() or 1)
    command = [sys.executable, "-m", "beamtagger.pipeline.cli", "tag",
               "--input", str(text / "part-*.txt"), "--output", str(work / "out" / "tagged"),
               "--runtime", "jax", "--embeddings", str(pathlib.Path(args.data) / "store"),
               "--allow-other-embeddings", "--max-batch-tokens",
               str(SMOKE_BUDGETS[-1] if args.smoke else MAIN_BUDGET), "--progress-every", "0",
               "--overwrite", "--direct_running_mode=multi_processing",
               f"--direct_num_workers={workers}"]
    sampler = GpuSampler()
    sampler.start()
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=REPO_ROOT)
    except subprocess.TimeoutExpired:
        sampler.stop()
        return {"tokens": tokens, "timed_out_after_s": timeout, "workers": workers}
    wall = time.perf_counter() - started
    sampler.stop()
    if done.returncode:
        raise RuntimeError(f"beamtagger tag failed (exit {done.returncode}): "
                           f"{done.stderr[-3000:]}")
    summary = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition("  ")
        if value.strip():
            summary[key.strip()] = value.strip()
    busy = sampler.samples
    # A run whose records became dead letters is no throughput figure (the first device run's
    # were all dead letters: the tokenizer needed spaCy, which the image lacks); keep why.
    dead_letters = []
    for path in sorted((work / "out").glob("tagged-errors-*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            dead_letters += [json.loads(line) for _, line in zip(range(3), handle)]
        if len(dead_letters) >= 3:
            break
    tagged = int(summary.get("records tagged", "0").replace(",", "") or 0)
    # The tokenizer's count (it splits more than str.split does: "don't", "U.S.").
    tokens = int(summary.get("tokens", str(tokens)).split()[0].replace(",", ""))
    # What --vector-dtype auto resolved to, as the command said it: a "GPU batches" line only
    # where it found a GPU and JAX's CUDA build (float32 on this check's CPU dry runs).
    on_gpu = "float16 vectors" in summary.get("GPU batches", "")
    return {"tokens": tokens, "workers": workers, "wall_s": round(wall, 1),
            "vector_dtype": "float16" if on_gpu else "float32",
            "tokens_per_s": round(tokens / wall) if tagged else 0,
            "records_tagged": tagged, "first_dead_letters": dead_letters[:3],
            "summary": summary,
            "gpu_busy_share": round(float(np.mean(busy)) / 100, 3) if busy else None,
            "gpu_samples": len(busy),
            "gpu_memory_peak_mib": max(sampler.memory) if sampler.memory else None,
            "command": " ".join(command[1:])}


# ---------------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare", metavar="FOLDER", help="write the carried folder (here)")
    parser.add_argument("--data", default=str(REPO_ROOT / ".gpu_bench"))
    parser.add_argument("--out", default=os.environ.get("OUT") or str(REPO_ROOT / "bench" /
                                                                      "results" / "gpu"))
    parser.add_argument("--smoke", action="store_true",
                        help="small scale on the CPU (JAX_PLATFORMS=cpu): every step's code path")
    parser.add_argument("--smoke-sentences", type=int, metavar="N",
                        help=f"--smoke: the first N sentences of EWT train and of dev (default "
                             f"{SMOKE_TRAIN_SENTENCES} and {SMOKE_DEV_SENTENCES})")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--skip-end-to-end", action="store_true")
    parser.add_argument("--child", choices=("model", "compile", "anchor"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke_sentences is not None and args.smoke_sentences < 1:
        parser.error("--smoke-sentences must be at least 1")
    if args.prepare:
        prepare(args.prepare)
        return 0
    if args.smoke:
        os.environ["JAX_PLATFORMS"] = "cpu"
        args.passes = min(args.passes, 2)
    if args.child:
        {"model": child_model, "compile": child_compile, "anchor": child_anchor}[args.child](args)
        return 0
    return run_check(args)


def run_check(args):
    started = time.perf_counter()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="gpu-bench-"))
    cache = work / "jax-cache"
    env = {"BEAMTAGGER_JAX_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    os.environ.update(env)
    report = {"date": now(), "machine": machine(), "smoke": args.smoke,
              "store": "GloVe 6B 50d, 29,376-word subset of ../shared/data, float32 "
                       "(--allow-other-embeddings)"}

    def save():
        (out / "gpu_bench.json").write_text(json.dumps(report, indent=2) + "\n")

    # Each step's figures are saved as they come, and a step that fails or runs out of time
    # stops none after it: the device call is made once, and its earlier figures must survive
    # a later step's crash or the call's own limit. --smoke sets no limits: a CPU dry run takes
    # as long as the machine it runs on needs.
    for name, role in (("model", "model"), ("compile_warm_cache", "compile"),
                       ("anchor", "anchor")):
        log(f"step {name}")

        def keep(figures, name=name):
            report[name] = figures
            save()

        run_child(role, args, env, None if args.smoke else STEP_LIMITS_S[name], keep)
    if not args.skip_end_to_end:
        left = TIME_LIMIT_S - (time.perf_counter() - started)
        log(f"step end_to_end ({left:.0f} s left)")
        try:
            report["end_to_end"] = end_to_end(args, work, timeout=max(E2E_MIN_S, left))
        except Exception as error:  # noqa: BLE001
            report["end_to_end"] = {"failed": str(error)[-3000:]}
        save()
    report["wall_s"] = round(time.perf_counter() - started, 1)
    save()
    try:
        text = markdown(report)
    except Exception as error:  # noqa: BLE001  (gpu_bench.json holds the figures)
        text = f"### GPU check: no summary ({type(error).__name__}: {error}); see gpu_bench.json\n"
    (out / "gpu_bench.md").write_text(text)
    print(text, flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def machine():
    info = {"python": platform.python_version(), "cores": os.cpu_count(),
            "platform": platform.platform()}
    if shutil.which("nvidia-smi"):
        done = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                               "--format=csv,noheader"], capture_output=True, text=True)
        info["gpu"] = done.stdout.strip()
    return info


def markdown(report):
    # A step that failed or ran out of time left some figures out: the summary says so and
    # gives the rest.
    model = report.get("model") or {}
    rates = {key: rate for key, rate in (model.get("rates") or {}).items()
             if "failed" not in rate and "skipped" not in rate}
    anchor = report.get("anchor") or {}
    anchor_rate = anchor.get("float32, packed", {}).get("tokens_per_s")
    budget = SMOKE_BUDGETS[-1] if report["smoke"] else MAIN_BUDGET
    lines = [f"### GPU check ({report['date']}; {report['machine'].get('gpu', 'no GPU: CPU')})",
             "", f"`python bench/gpu_bench.py{' --smoke' if report['smoke'] else ''}`; "
             f"jax {model.get('jax')} on {', '.join(model.get('devices') or ['?'])}; "
             f"store: {report['store']}."]
    failed = [step for step in ("model", "compile_warm_cache", "anchor", "end_to_end")
              if "failed" in (report.get(step) or {})]
    failed += [f"model {name}" for name, value in model.items()
               if isinstance(value, dict) and "failed" in value]
    failed += [f"model {part} {key}" for part in ("rates", "parity")
               for key, value in (model.get(part) or {}).items() if "failed" in value]
    if failed:
        lines += ["", "**Failed or cut short** (gpu_bench.json says why): " + ", ".join(failed)]
    lines += ["", "| variant @ budget | tokens/s | grid padding efficiency | new shapes | "
              "compile s | bytes a slot sent / back | vs cuDNN anchor |",
              "|---|---|---|---|---|---|---|"]
    for key, rate in rates.items():
        ratio = (f"{rate['tokens_per_s'] / anchor_rate:.2f}"
                 if anchor_rate and rate["budget"] == MAIN_BUDGET else "")
        lines.append(f"| {key} | {rate['tokens_per_s']:,} | {rate['grid_padding_efficiency']} | "
                     f"{rate['new_shapes']} | {rate['new_shapes_compile_s']} | "
                     f"{rate.get('bytes_per_slot_sent')} / {rate.get('bytes_per_slot_back')} | "
                     f"{ratio} |")
    warm_cache = report.get("compile_warm_cache") or {}
    lines += ["", "Compile with the cache warm (a second process): " + ", ".join(
        [f"warm-up: {v['shapes']} shape(s) in {v['compile_s']} s"
         for v in (warm_cache.get("warm_up"),) if v] + [
            f"{budget}: {v['new_shapes']} shapes in {v['compile_s']} s"
            for budget, v in warm_cache.items()
            if isinstance(v, dict) and "new_shapes" in v]) + ".", ""]
    # The shapes each variant's warm-up compiled at load (the tag stage's, for its feed),
    # before the new shapes of its first pass in the table above.
    warm_ups = model.get("warm_up") or {}
    if warm_ups:
        lines.append("- warm-up at load, fresh process: " + "; ".join(
            f"{name} {v['shapes']} shape(s) in {v['compile_s']} s"
            for name, v in warm_ups.items()))
    for name, value in anchor.items():
        if isinstance(value, dict) and "tokens_per_s" in value:
            lines.append(f"- cuDNN anchor {name}: {value['tokens_per_s']:,} tokens/s")
    if "skipped" in anchor or "failed" in anchor:
        lines.append(f"- cuDNN anchor: {anchor.get('skipped') or 'failed'}")
    for key, value in (model.get("rates") or {}).items():
        if "skipped" in value:
            lines.append(f"- {key}: skipped ({value['skipped']})")
    scan_rate = rates.get(f"float16 vectors @ {budget}", {}).get("tokens_per_s")
    # Each float16 variant against float16 vectors sent through the scan, and the anchor.
    for variant, label in (("float16 vectors, cuDNN recurrence",
                            f"cuDNN recurrence against the scan (float16 vectors @ {budget:,})"),
                           ("float16 vectors, gathered on the device",
                            "store rows gathered on the device against float16 vectors sent "
                            f"(@ {budget:,})")):
        rate = rates.get(f"{variant} @ {budget}", {}).get("tokens_per_s")
        if scan_rate and rate:
            ratio = f", {rate / anchor_rate:.2f} of the anchor" if anchor_rate else ""
            lines.append(f"- {label}: {rate:,} tokens/s against {scan_rate:,} = "
                         f"{rate / scan_rate:.2f}{ratio}")
    for name, value in (model.get("parity") or {}).items():
        if "failed" in value or "skipped" in value:
            continue
        lines.append(f"- parity {name}: {value['labels_differing']} of {value['tokens']:,} "
                     f"labels differ from TensorFlow on CPU; max probability difference "
                     f"{value['max_prob_difference']:.1e}")
    second = model.get("second_model") or {}
    if "same_table" in second:
        added = second["device_bytes_added"]
        lines.append(f"- a second model over the same store (--vectors-at tag): "
                     f"{'the same' if second['same_table'] else 'another'} table "
                     f"({second['table_bytes'] / 2**20:.1f} MiB); device memory "
                     + ("not reported here" if added is None else f"+{added / 2**20:.1f} MiB")
                     + f" for {second['weights_bytes'] / 2**20:.1f} MiB of weights")
    split = model.get("breakdown") or {}
    split = {} if "failed" in split else split
    for name in ("grid-shaped whole", "puts only", "compute only"):
        if name in split:
            ratio = (f" ({split[name]['tokens_per_s'] / anchor_rate:.2f} of the anchor)"
                     if anchor_rate else "")
            lines.append(f"- float32, batches handed over in their grid shapes, {name}: "
                         f"{split[name]['tokens_per_s']:,} tokens/s{ratio}")
    by_width = model.get("compute_by_width") or {}
    if by_width and "failed" not in by_width:
        lines.append("- forward pass alone by grid shape (float16 vectors), ns a slot: "
                     + ", ".join(f"{shape}: {v['ns_per_slot']}" for shape, v in by_width.items()))
    copies = model.get("copy") or {}
    for name, value in ({} if "failed" in copies else copies).items():
        lines.append(f"- host-to-device copy {name}: {value['ms_per_batch']} ms per "
                     f"{value['slots']:,}-slot batch ({value['gb_per_s']} GB/s)")
    e2e = report.get("end_to_end")
    if e2e:
        if e2e.get("first_dead_letters"):
            lines.append(f"- end to end: {e2e.get('records_tagged', 0):,} records tagged; "
                         f"dead letters such as {json.dumps(e2e['first_dead_letters'][0])[:400]}")
        if "tokens_per_s" in e2e:
            lines.append(f"- end to end, `beamtagger tag --runtime jax`, {e2e['workers']} worker "
                         f"processes, {e2e.get('vector_dtype')} vectors: "
                         f"{e2e['tokens']:,} tokens in {e2e['wall_s']} s = "
                         f"{e2e['tokens_per_s']:,} tokens/s; GPU busy share "
                         f"{e2e['gpu_busy_share']} (nvidia-smi)")
            # Should nvidia-smi read nothing in the device's sandbox: the share of the model's
            # own rate on the same batches that the whole pipeline reached.
            variant = "float16 vectors" if e2e.get("vector_dtype") == "float16" else "float32"
            model_rate = rates.get(f"{variant} @ {budget}", {}).get("tokens_per_s")
            if model_rate and e2e["tokens_per_s"]:
                lines.append(f"- end to end over the model alone ({model_rate:,} tokens/s, same "
                             f"vectors and budget): {e2e['tokens_per_s'] / model_rate:.2f}")
        else:
            lines.append(f"- end to end: {json.dumps(e2e)[:500]}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
