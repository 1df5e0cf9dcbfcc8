"""What the resumable training state costs: seconds per epoch to gather and write it, its size,
against the epoch's own seconds (BENCHMARKS.md section 3).

    python bench/train_state_bench.py TRAIN DEV STORE [--limit N] [--epochs N]

runs ``beamtagger train`` (its preset for the tag set) in this process into a temporary folder,
timing ``KeepTrainingState.on_epoch_end`` (the variables copied out and ``state.npz`` written).
"""
import argparse
import json
import pathlib
import tempfile
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train")
    parser.add_argument("dev")
    parser.add_argument("store")
    parser.add_argument("--limit", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    from beamtagger.model import train_state
    from beamtagger.pipeline import cli

    real, writes = train_state.KeepTrainingState.on_epoch_end, []

    def timed(self, epoch, logs=None):
        started = time.perf_counter()
        real(self, epoch, logs)
        writes.append((time.perf_counter() - started, self.state.path.stat().st_size))

    train_state.KeepTrainingState.on_epoch_end = timed
    with tempfile.TemporaryDirectory() as folder:
        out = pathlib.Path(folder) / "model"
        code = cli.main(["train", "--train", args.train, "--dev", args.dev, "--embeddings",
                         args.store, "--out", str(out), "--limit", str(args.limit),
                         "--epochs", str(args.epochs)])
        assert code == 0, code
        history = json.loads((out / "training_report.json").read_text())["epochs"]
    epoch_seconds = [b["seconds"] - a["seconds"] for a, b in zip(history, history[1:])]
    print("| epoch | state seconds | state MB | epoch seconds |")
    print("|---|---|---|---|")
    for epoch, (seconds, size) in enumerate(writes, 1):
        took = epoch_seconds[epoch - 2] if epoch > 1 else float("nan")
        print(f"| {epoch} | {seconds:.3f} | {size / 1e6:.2f} | {took:.1f} |")


if __name__ == "__main__":
    main()
