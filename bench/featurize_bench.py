"""What the featurizer costs a token type it has not seen: the first sight of every type.

``beamtagger tag`` remembers each token's model inputs (``model/token_inputs.py``), so the
featurizer runs once per token type and process. On a repeated corpus (case G's EWT x5) that
cost cancels out of the marginal; on text from the web, where new types keep coming (Heaps'
law), it is paid all along. Here a fresh featurizer with the bundled model's configuration
(char ids included) featurizes every distinct token of the corpora given, once; microseconds a
type, the least of ``--repeat`` passes, each on a fresh featurizer.

Two checkouts side by side (``--trees A B``): each pass runs in a child process with that
checkout first on the path, the order alternating.

  python bench/featurize_bench.py --corpus ../shared/data/ud-ewt/en_ewt-ud-train.conllu \
      --corpus ../shared/data/wnut17/wnut17train.conll --trees /tmp/before .
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

import bench_common

CHILD = r'''
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from beamtagger.model.features import TokenFeaturizer
from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR, TaggerSpec
config = TaggerSpec.load(DEFAULT_MODEL_DIR).featurizer.get_config()
types = json.load(open(sys.argv[2]))
featurizer = TokenFeaturizer.from_config(config)
started = time.process_time()
featurizer.featurize(types, np.zeros(len(types), dtype=bool), remember=False)
print(json.dumps({"us": (time.process_time() - started) / len(types) * 1e6,
                  "ascii": sum(map(str.isascii, types)) / len(types)}))
'''


def corpus_types(paths):
    from beamtagger.corpus_readers import read_corpus

    types = {}
    for path in paths:
        corpus_format = "conllu" if str(path).endswith(".conllu") else "conll"
        for sentence in read_corpus(path, corpus_format):
            types.update(dict.fromkeys(sentence.tokens))
    return list(types)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", required=True, type=pathlib.Path,
                        help="a CoNLL-U (.conllu) or CoNLL file; repeatable")
    parser.add_argument("--trees", nargs="+", type=pathlib.Path, default=[pathlib.Path(".")],
                        help="checkouts to compare (default: this one)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    types = corpus_types(args.corpus)
    trees = [tree.resolve() for tree in args.trees]
    runs = {tree: [] for tree in trees}
    with tempfile.TemporaryDirectory() as temp:
        types_path = os.path.join(temp, "types.json")
        with open(types_path, "w", encoding="utf-8") as out:
            json.dump(types, out)
        for round_number in range(args.repeat):
            for tree in (trees if round_number % 2 == 0 else trees[::-1]):
                done = subprocess.run([sys.executable, "-c", CHILD, str(tree), types_path],
                                      capture_output=True, text=True, check=True, cwd=temp,
                                      env={**os.environ, **bench_common.CHILD_ENV})
                runs[tree].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"# featurize a new token type, {bench_common.now()}, {bench_common.machine()}")
    print(f"# command: python bench/featurize_bench.py {' '.join(sys.argv[1:])}")
    print(f"\n{len(types):,} types ({runs[trees[0]][0]['ascii']:.1%} ASCII) of "
          f"{', '.join(path.name for path in args.corpus)}; {args.repeat} passes each\n")
    print("| checkout | µs a type, least | median |\n|---|---|---|")
    for tree in trees:
        us = [run["us"] for run in runs[tree]]
        print(f"| {tree} | {min(us):.1f} | {statistics.median(us):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
