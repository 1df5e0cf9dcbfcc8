"""``beamtagger tag --runtime jax`` against ``--runtime tensorflow`` on whole corpora, as users run
it: labels that differ and the largest difference of the printed scores, per corpus.

Issue 17's CPU check ("0 differences on held-out text"), over more text than the tests hold:
EWT train and dev and WNUT-17 train and dev (news, web, e-mail, social media), read as the
pre-tokenized corpora they are (``--input-format conllu`` / ``conll``), the bundled model, the
default store. Each runtime runs as a fresh ``beamtagger tag`` process with its defaults (for
``jax`` on a machine without a GPU: float32 vectors, ``--vector-dtype auto``); ``--also-float16``
adds a ``jax`` run with ``--vector-dtype float16``, the GPU's default; ``--also-store-rows`` one
with ``--vectors-at tag``; ``--also-numpy`` the NumPy runtime.

  python bench/cli_label_parity.py [--also-float16] [--also-store-rows] [--also-numpy] \
      [--work DIR]    # about 1-2 minutes a variant
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import bench_common

CORPORA = ("ud-english-ewt/en_ewt-ud-train.conllu", "ud-english-ewt/en_ewt-ud-dev.conllu",
           "wnut17/wnut17train.conll", "wnut17/emerging.dev.conll")


def tag(corpus, output, runtime, extra=()):
    command = [sys.executable, "-m", "beamtagger.pipeline.cli", "tag", "--input", str(corpus),
               "--output", str(output), "--runtime", runtime, "--progress-every", "0",
               "--overwrite", *extra]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    records = {}
    for path in sorted(output.parent.glob(output.name + "-[0-9]*-of-*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                records[record["id"]] = record["tokens"]
    return records


def compare(reference, other):
    """(tokens, labels that differ, largest score difference, records missing from other)."""
    tokens = differ = missing = 0
    largest = 0.0
    for key, expected in reference.items():
        got = other.get(key)
        if got is None or len(got) != len(expected):
            missing += 1
            continue
        tokens += len(expected)
        for a, b in zip(expected, got):
            differ += a["label"] != b["label"]
            largest = max(largest, abs(a["score"] - b["score"]))
    return tokens, differ, largest, missing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--also-float16", action="store_true")
    parser.add_argument("--also-store-rows", action="store_true",
                        help="a jax run with --vectors-at tag (store rows gathered on the "
                        "device)")
    parser.add_argument("--also-numpy", action="store_true",
                        help="the numpy runtime too (the default for inputs up to 4 MB)")
    parser.add_argument("--work", help="folder for the outputs (default: a temporary one)")
    args = parser.parse_args(argv)
    bench_common.require_shared_data()
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="label-parity-"))
    variants = {"jax": ("jax", ())}
    if args.also_float16:
        variants["jax, float16 vectors"] = ("jax", ("--vector-dtype", "float16"))
    if args.also_store_rows:
        variants["jax, store rows"] = ("jax", ("--vectors-at", "tag"))
    if args.also_numpy:
        variants["numpy"] = ("numpy", ())
    print("| corpus | tokens | " + " | ".join(
        f"{name}: labels differing | {name}: largest score difference" for name in variants)
        + " |")
    print("|---|---|" + "---|---|" * len(variants))
    totals = {name: [0, 0.0] for name in variants}
    all_tokens = 0
    for relative in CORPORA:
        corpus = bench_common.SHARED_DATA / relative
        name = corpus.name
        reference = tag(corpus, work / "tensorflow" / name / "out", "tensorflow")
        cells = []
        for variant, (runtime, extra) in variants.items():
            tokens, differ, largest, missing = compare(
                reference, tag(corpus, work / variant.replace(" ", "_").replace(",", "") / name /
                               "out", runtime, extra))
            if missing:
                raise SystemExit(f"{name}: {missing} records missing or of another length")
            totals[variant][0] += differ
            totals[variant][1] = max(totals[variant][1], largest)
            cells += [str(differ), f"{largest:.4f}"]
        all_tokens += tokens
        print(f"| {name} | {tokens:,} | " + " | ".join(cells) + " |")
    print(f"| **all** | {all_tokens:,} | " + " | ".join(
        f"**{differ}** | {largest:.4f}" for differ, largest in totals.values()) + " |")


if __name__ == "__main__":
    main()
