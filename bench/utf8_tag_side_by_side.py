"""Whole `beamtagger tag --runtime numpy` CPU (the child's user + system time) on a UTF-8
JSON Lines corpus (EWT train, one record a sentence, 4 files) for two checkouts, fresh
processes, alternating rounds (the order reversed every other round).

  python bench/utf8_tag_side_by_side.py BEFORE_CHECKOUT AFTER_CHECKOUT ROUNDS
"""
import json, os, pathlib, resource, shutil, statistics, subprocess, sys, tempfile, time
BENCH = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]
import bench_models
work = pathlib.Path(tempfile.mkdtemp(prefix="utf8-tag-")); work.mkdir(parents=True, exist_ok=True)
corpus = work / "corpus"; corpus.mkdir(exist_ok=True)
sentences = bench_models.ewt_sentences()
parts = 4; size = -(-len(sentences) // parts)
for part in range(parts):
    with open(corpus / f"part-{part}.jsonl", "w", encoding="utf-8") as out:
        for n, s in enumerate(sentences[part * size:(part + 1) * size]):
            out.write(json.dumps({"id": f"p{part}-{n}", "text": " ".join(s)}, ensure_ascii=False) + "\n")
CHILD = r'''
import sys
sys.path.insert(0, sys.argv[1])
from beamtagger.pipeline import cli
sys.exit(cli.main(sys.argv[2:]))
'''
checkouts = {"before": sys.argv[1], "after": sys.argv[2]}
rounds = int(sys.argv[3])
cpu = {name: [] for name in checkouts}; wall = {name: [] for name in checkouts}
env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
env.pop("PYTHONPATH", None)
for r in range(rounds):
    order = list(checkouts.items()) if r % 2 == 0 else list(reversed(checkouts.items()))
    for name, checkout in order:
        out = work / f"out-{name}"; shutil.rmtree(out, ignore_errors=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN); started = time.perf_counter()
        subprocess.run([sys.executable, "-c", CHILD, checkout, "tag", "--input", str(corpus / "part-*.jsonl"),
                        "--output", str(out / "tagged"), "--output-format", "jsonl", "--runtime", "numpy",
                        "--progress-every", "0"], check=True, capture_output=True, env=env, cwd="/tmp")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall[name].append(time.perf_counter() - started)
        cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        print(name, r, round(cpu[name][-1], 2), round(wall[name][-1], 2), flush=True)
ratios = [a / b for a, b in zip(cpu["after"], cpu["before"])]
print(json.dumps({"cpu": cpu, "wall": wall, "ratio_of_medians": statistics.median(cpu["after"]) / statistics.median(cpu["before"]), "round_ratios": ratios}))
