"""What every benchmark script shares: where the data is, the machine, running a measured case in
its own process, and writing results (JSON to bench/results/, a markdown section to stdout).

Each case runs in a child process so that its peak memory is its own: the parent samples the
resident memory of the child's whole process tree (Beam's multi-processing workers included) and
the child reports its own ``ru_maxrss``.
"""
import datetime
import json
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psutil

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# BEAMTAGGER_BENCH_RESULTS lets the CI test keep its tiny runs away from the real results.
RESULTS_DIR = pathlib.Path(os.environ.get("BEAMTAGGER_BENCH_RESULTS",
                                          REPO_ROOT / "bench" / "results"))
SHARED_DATA = pathlib.Path(os.environ.get("BEAMTAGGER_SHARED_DATA",
                                          REPO_ROOT.parent / "shared" / "data"))
EWT_TRAIN = SHARED_DATA / "ud-english-ewt" / "en_ewt-ud-train.conllu"
EWT_DEV = SHARED_DATA / "ud-english-ewt" / "en_ewt-ud-dev.conllu"
GLOVE_SUBSET = SHARED_DATA / "glove" / "glove.6B.50d.subset.txt.gz"
WNUT_TRAIN = SHARED_DATA / "wnut17" / "wnut17train.conll"
WNUT_DEV = SHARED_DATA / "wnut17" / "emerging.dev.conll"
# The JSON line a child prints last, after everything TensorFlow and Beam write to stdout.
RESULT_MARKER = "BENCH_RESULT "
MIB = 1024 * 1024

# Quiet TensorFlow's C++ logging in the children; it goes to stderr, which we keep for errors.
CHILD_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}


def machine():
    """CPU model, cores, memory and library versions, for the header of BENCHMARKS.md."""
    model = platform.processor() or "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    from importlib import metadata

    versions = {}
    # Installed distribution versions: importing TensorFlow only to read its version costs ~5 s.
    for name in ("tensorflow-cpu", "keras", "apache-beam", "numpy", "pyarrow"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpu": model, "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 1024 ** 3, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "versions": versions}


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def child_result(**fields):
    """Called by a case's child process as its last act: prints its result for the parent."""
    self_usage = resource.getrusage(resource.RUSAGE_SELF)
    children_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    fields["child_maxrss_mib"] = round(self_usage.ru_maxrss / 1024, 1)  # Linux: KiB
    fields["grandchild_maxrss_mib"] = round(children_usage.ru_maxrss / 1024, 1)
    # CPU seconds of the whole process (all threads) and of its finished children: over the
    # wall time, how many of the machine's cores the case kept busy.
    fields["cpu_seconds"] = round(self_usage.ru_utime + self_usage.ru_stime
                                  + children_usage.ru_utime + children_usage.ru_stime, 2)
    sys.stdout.flush()
    print(RESULT_MARKER + json.dumps(fields), flush=True)


def tree_cpu_seconds():
    """CPU seconds (user + system) used so far by this process, its live descendants and the
    descendants it has reaped. The difference over a timed section / its wall time = the
    number of cores the section kept busy."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total += children.ru_utime + children.ru_stime
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


class Clock:
    """Wall and CPU time of a section: ``with Clock() as clock: ...``; clock.seconds,
    clock.cores (average busy cores)."""

    def __enter__(self):
        self._cpu = tree_cpu_seconds()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = tree_cpu_seconds() - self._cpu
        self.cores = self.cpu_seconds / self.seconds if self.seconds > 0 else None
        return False


class ProcessTreeSampler(threading.Thread):
    """Peak of the summed RSS of a process and all its descendants, sampled every ``interval``
    seconds; and each process's own: ``processes[pid]`` holds its command line, peak RSS (bytes),
    CPU seconds when last seen (user + system) and, with ``threads``, each of its threads' CPU
    seconds when last seen (``{thread id: seconds}``)."""

    def __init__(self, pid, interval=0.05, threads=False):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.threads = threads
        self.peak = 0
        self.processes = {}
        self.stopped = threading.Event()

    def run(self):
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.stopped.is_set():
            total = 0
            try:
                processes = [root] + root.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            for process in processes:
                try:
                    rss = process.memory_info().rss
                    seen = self._seen(process)
                    seen["peak_rss"] = max(seen["peak_rss"], rss)
                    seen["cpu"] = sum(process.cpu_times()[:2])
                    if self.threads:
                        self._threads_seen(process, seen["threads"])
                    total += rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self.stopped.wait(self.interval)

    @staticmethod
    def _threads_seen(process, threads):
        """Updates ``threads`` ({(thread id, name): CPU seconds}) from a sample of ``process``:
        threads that ended keep what they were last seen to use."""
        for thread in process.threads():
            try:
                name = pathlib.Path(f"/proc/{process.pid}/task/{thread.id}/comm").read_text()
            except OSError:
                name = "?"
            threads[(thread.id, name.strip())] = thread.user_time + thread.system_time

    def _seen(self, process):
        if process.pid not in self.processes:
            self.processes[process.pid] = {"cmdline": " ".join(process.cmdline()),
                                           "peak_rss": 0, "cpu": 0.0, "threads": {}}
        return self.processes[process.pid]


def run_child(argv, timeout=None, env=None, label=None, prefix=()):
    """Runs ``python argv...`` and returns the child's result dict plus wall time and peak memory.

    ``prefix``: a command that runs the child (a profiler: ``py-spy record ... --``).

    Raises RuntimeError with the child's stderr tail when it fails or prints no result.
    """
    full_env = {**os.environ, **CHILD_ENV, **(env or {})}
    command = [*map(str, prefix), sys.executable, *map(str, argv)]
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as stdout, tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=full_env,
                                   cwd=REPO_ROOT)
        sampler = ProcessTreeSampler(process.pid)
        sampler.start()
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            returncode = "timeout"
        sampler.stopped.set()
        sampler.join()
        wall = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        out_text, err_text = stdout.read(), stderr.read()
    result = None
    for line in out_text.splitlines():
        if line.startswith(RESULT_MARKER):
            result = json.loads(line[len(RESULT_MARKER):])
    if returncode != 0 or result is None:
        tail = "\n".join((err_text + out_text).strip().splitlines()[-25:])
        raise RuntimeError(f"{label or command} failed (exit {returncode}):\n{tail}")
    result["process_wall_s"] = round(wall, 2)
    result["peak_tree_rss_mib"] = round(sampler.peak / MIB, 1)
    return result


def save_results(name, results, markdown):
    """Writes bench/results/NAME.json and the markdown (NAME.md, or NAME-KEY.md for each KEY of
    a dict of sections) and prints the markdown."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n",
                                              encoding="utf-8")
    sections = markdown if isinstance(markdown, dict) else {None: markdown}
    for key, text in sections.items():
        file_name = f"{name}.md" if key is None else f"{name}-{key}.md"
        (RESULTS_DIR / file_name).write_text(text, encoding="utf-8")
        print(text)


def alternating_summary(title, values, before, after, unit):
    """The lines of a side by side run in alternating rounds: each case's values and median
    (``values[case]``, one a round), and after over before, of the medians and round by round."""
    ratios = [later / earlier for earlier, later in zip(values[before], values[after])]
    lines = [f"{title} ({len(ratios)} rounds alternating)"]
    for case in (before, after):
        lines.append(f"  {case:8s} {unit}: " + ", ".join(f"{v:.2f}" for v in values[case])
                     + f"  (median {statistics.median(values[case]):.2f})")
    of_medians = statistics.median(values[after]) / statistics.median(values[before])
    lines.append(f"  {after} / {before}: {of_medians:.3f} of the medians; rounds "
                 + ", ".join(f"{r:.3f}" for r in ratios))
    return "\n".join(lines)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def fmt(value, digits=0):
    """Thousands-separated number, or '-' for missing."""
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def target_line(name, value, target, digits=2):
    if value is None:
        return f"| {name} | - | >= {target} | not measured |"
    verdict = "met" if value >= target else "**missed**"
    return f"| {name} | {value:.{digits}f} | >= {target} | {verdict} |"


def require_shared_data():
    if not EWT_TRAIN.is_file():
        sys.exit(f"{EWT_TRAIN} is missing: the benchmarks read the real EWT corpus from "
                 "../shared/data (set BEAMTAGGER_SHARED_DATA to point elsewhere)")


def require_case_g_work(parser, work, sizes, inputs="g-text", model=None):
    """A usage error (before anything runs) unless ``work`` holds what case G's run of
    ``throughput_bench.py --cases G --work WORK`` writes there: its inputs and the thin model."""
    needed = [pathlib.Path(work) / f"{inputs}-{size}" / "part-00.txt" for size in sizes]
    needed.append(pathlib.Path(model) if model else pathlib.Path(work) / "thin-model")
    missing = next((path for path in needed if not path.exists()), None)
    if missing and (inputs == "g-text" or missing == needed[-1] and not model):
        parser.error(f"{missing} is missing: write case G's inputs and thin model first "
                     f"(python bench/throughput_bench.py --cases G --work {work} --profile '' "
                     "--no-memory)")
    if missing:   # inputs of the user's own making (BENCHMARKS.md's doc-text), or --model
        parser.error(f"{missing} is missing")


def wnut_train_records(count, labels=None, fields=None):
    """TaggedRecords of WNUT-17 train's first ``count`` sentences with random float32 scores
    (seed 0), for the formatting benches: labels the sentence's gold tags, or ``labels(rng,
    n)``; pass-through fields ``fields(i, rng)`` (None: none)."""
    import numpy as np

    from beamtagger.corpus_readers import read_conll
    from beamtagger.transforms.records import TaggedRecord, TokenizedRecord

    sentences = [s for _, s in zip(range(count), read_conll(WNUT_TRAIN))]
    rng = np.random.default_rng(0)
    records = []
    for i, sentence in enumerate(sentences):
        tokenized = TokenizedRecord.from_tokens(str(i), sentence.tokens, f"train:{i}")
        scores = rng.random(len(sentence.tokens)).astype(np.float32).tolist()
        carried = None if fields is None else fields(i, rng)
        tags = tuple(sentence.tags) if labels is None else labels(rng, len(scores))
        records.append(TaggedRecord(tokenized.id, tokenized.tokens, tokenized.starts,
                                    tokenized.ends, tags, tuple(scores), tokenized.source,
                                    carried))
    return records


def alternating_cpu_seconds(cases, rounds, calls):
    """{case name: CPU seconds a call, one value a round} of ``cases`` ({name: callable}),
    each called ``calls`` times a round, the order reversed every other round (the machine is
    shared: no case is timed in a quiet spell the others missed)."""
    seconds = {name: [] for name in cases}
    for round_ in range(rounds):
        order = list(cases) if round_ % 2 == 0 else list(reversed(cases))
        for name in order:
            start = time.process_time()
            for _ in range(calls):
                cases[name]()
            seconds[name].append((time.process_time() - start) / calls)
    return seconds


def median_range(values):
    """[median, min, max] of ``values``, to 2 decimals: how a ratio round by round is quoted."""
    return [round(statistics.median(values), 2), round(min(values), 2), round(max(values), 2)]


def tiny_store(work):
    """A store of the GloVe subset from ../shared/data (29k words), for CI-sized runs."""
    from beamtagger.embeddings import importers as embedding_import
    from beamtagger.embeddings import store as embedding_store

    path = pathlib.Path(work) / "store-subset"
    if not (path / "manifest.json").exists():
        embedding_import.import_embeddings(GLOVE_SUBSET, path)
    return embedding_store.EmbeddingStore.open(path)


def random_store(words_parquet, out, dim, dtype="float32", seed=0):
    """A store of random vectors (normal, scale 0.4 like GloVe's) over a real vocabulary: there
    are no real 300-dimensional vectors offline. Returns the opened store."""
    import numpy as np

    from beamtagger.embeddings import importers as embedding_import
    from beamtagger.embeddings import store as embedding_store

    out = pathlib.Path(out)
    if not (out / "manifest.json").exists():
        import pyarrow.parquet as pq

        count = pq.read_metadata(words_parquet).num_rows
        rng = np.random.default_rng(seed)
        with tempfile.TemporaryDirectory(dir=out.parent) as temp:
            matrix = pathlib.Path(temp) / "vectors.npy"
            stream = np.lib.format.open_memmap(matrix, mode="w+", dtype=np.float32,
                                               shape=(count, dim))
            for start in range(0, count, 50_000):
                rows = min(50_000, count - start)
                stream[start:start + rows] = rng.normal(0, 0.4, (rows, dim))
            stream.flush()
            del stream
            embedding_import.import_embeddings(matrix, out, format="npy",
                                               words=words_parquet, dtype=dtype)
    return embedding_store.EmbeddingStore.open(out)


def word_spans(sent_id, text, words):
    """The (start, end) character spans of a treebank sentence's ``words`` in its raw ``text``
    (its ``# text`` line), placed in order across the whitespace between them."""
    spans, position = [], 0
    for word in words:
        while position < len(text) and text[position].isspace():
            position += 1
        if not text.startswith(word, position):
            raise ValueError(f"{sent_id}: word {word!r} not found at {position}")
        spans.append((position, position + len(word)))
        position += len(word)
    return spans
