"""What keeping the record's own text costs (``TagText(keep_text=True)``, which ``beamtagger
tag`` asks for with text or JSON Lines input and CoNLL-U output or entities), side by side
against another checkout's code (main's, before the text was kept), each run a fresh process,
the two checkouts alternating round by round:

1. ``tag`` EWT train as text (its ``# text`` lines, one a line) -> CoNLL-U, the bundled UPOS
   model and store: the text is kept, ``# text`` written from it;
2. the same text -> JSON Lines with entities, a tiny untrained BIO tagger (``build_tiny_tagger``;
   its forward pass is cheap, so what the text adds is a larger share than a real model's);
3. the same text -> JSON Lines with the bundled UPOS model (the default run): nothing is kept,
   so the two must cost the same.

CPU seconds (user + system) of each ``beamtagger tag`` process, NumPy runtime; ratio of this
checkout over the other, of the medians and round by round.

  python bench/kept_text_bench.py --work /tmp/kept-text-bench --before /work/main --rounds 3
"""
import argparse
import pathlib
import shutil
import sys

import bench_common

CASES = ("conllu", "entities", "jsonl")


def tag_child(case, source, prefix, tagger):
    import beamtagger
    from beamtagger.pipeline import cli

    args = ["tag", "--input", source, "--output", prefix, "--runtime", "numpy",
            "--progress-every", "0", "--overwrite"]
    if case == "conllu":
        args += ["--output-format", "conllu"]
    elif case == "entities":
        args += ["--model", f"{tagger}/model", "--embeddings", f"{tagger}/store"]
    assert cli.main(args) == 0
    bench_common.child_result(module=beamtagger.__file__)


def ewt_train_text(work):
    path = work / "ewt-train.txt"
    if not path.exists():
        lines = [line[len("# text = "):] for line in open(bench_common.EWT_TRAIN,
                                                          encoding="utf-8")
                 if line.startswith("# text = ")]
        path.write_text("".join(lines), encoding="utf-8")
    return path


def bio_tagger(work):
    from beamtagger.testing import build_tiny_tagger

    folder = work / "bio-tagger"
    if not (folder / "model" / "tagger.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        build_tiny_tagger(folder, labels=("O", "B-per", "I-per", "B-loc", "I-loc"))
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=pathlib.Path)
    parser.add_argument("--before", type=pathlib.Path,
                        help="the checkout to compare with (its repository root)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--tagger", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return tag_child(args.child, args.source, args.prefix, args.tagger)
    if args.work is None or args.before is None:
        parser.error("--work and --before are required")
    bench_common.require_shared_data()
    args.work.mkdir(parents=True, exist_ok=True)
    print(bench_common.machine())
    print(bench_common.now())
    source = ewt_train_text(args.work)
    tagger = bio_tagger(args.work)
    script = pathlib.Path(__file__).resolve()
    checkouts = {"before": args.before.resolve(), "after": bench_common.REPO_ROOT}
    cpu = {case: {name: [] for name in checkouts} for case in args.cases}
    for round_number in range(args.rounds):
        order = list(checkouts) if round_number % 2 == 0 else list(checkouts)[::-1]
        for case in args.cases:
            for name in order:
                result = bench_common.run_child(
                    [script, "--child", case, "--source", source, "--prefix",
                     args.work / f"{case}-{name}" / "r", "--tagger", tagger],
                    env={"PYTHONPATH": str(checkouts[name])}, label=f"{case} {name}")
                assert result["module"].startswith(str(checkouts[name])), result["module"]
                cpu[case][name].append(result["cpu_seconds"])
    print(f"EWT train as text: {source}")
    for case in args.cases:
        print(bench_common.alternating_summary(f"beamtagger tag, {case}, CPU", cpu[case],
                                               "before", "after", "s"))


if __name__ == "__main__":
    sys.exit(main())
