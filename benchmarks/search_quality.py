"""What a search buys on scikit-learn's digits, and what it costs beyond training.

On the digits (32 px, train/test folders, made here), ResNet-18:

- `zoo train`'s defaults for N epochs: the best validation accuracy;
- a random search of T trials of N epochs each (`zoo search --tuner random`);
- Hyperband with the same number of epochs in all (`--tuner hyperband`, capped);
- the overhead of the study's bookkeeping: wall time beyond the trials' epochs.

    python benchmarks/search_quality.py [--trials 6] [--epochs 2]

It prints numbers; it never fails on them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.time_to_accuracy import write_digits  # noqa: E402


def baseline(root: Path, arch: str, epochs: int, output: Path) -> float:
    from recipes.config import load_preset, resolve_config
    from recipes.training.train import train

    config = resolve_config(
        load_preset("modern"),
        {"arch": arch, "data_dir": str(root / "train"), "image_size": 32, "epochs": epochs,
         "flip": False, "output": str(output)},
    )  # fmt: skip
    return max(row["val_accuracy"] for row in train(config).history)


def study(root: Path, arch: str, tuner: str, trials: int, epochs: int, output: Path) -> dict:
    from recipes.search.tuning import SearchRequest, search

    started = time.perf_counter()
    result = search(
        SearchRequest(
            settings={"arch": arch, "data_dir": str(root / "train"), "image_size": 32,
                      "flip": False},
            tuner=tuner, max_trials=trials, epochs=epochs, output=str(output),
        )
    )  # fmt: skip
    wall = time.perf_counter() - started
    training = sum(row["seconds"] for row in result["trials"])
    epochs_run = sum(row["epochs"] for row in result["trials"])
    best = result["best"]["objective"] if result["best"] else float("nan")
    return {"best": best, "wall": wall, "training": training, "epochs": epochs_run,
            "trials": len(result["trials"])}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = write_digits(Path(scratch) / "digits")
        base = baseline(root, args.arch, args.epochs, Path(scratch) / "baseline")
        random = study(root, args.arch, "random", args.trials, args.epochs, Path(scratch) / "r")
        hyper = study(root, args.arch, "hyperband", args.trials, args.epochs, Path(scratch) / "h")
    print(f"digits, {args.arch} at 32 px, {args.epochs} epochs per run or trial\n")
    print("| run | best val accuracy | trials | epochs trained | wall s | beyond training |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| zoo train defaults | {base:.4f} | 1 | {args.epochs} | | |")
    for name, row in (("random search", random), ("hyperband", hyper)):
        overhead = 100 * (1 - row["training"] / row["wall"])
        print(
            f"| {name} | {row['best']:.4f} | {row['trials']} | {row['epochs']} | "
            f"{row['wall']:.0f} | {overhead:.0f}% |"
        )
    print(
        "\n'beyond training': the study's wall time not spent in the trials' epochs (start-up "
        "of the trial processes, data, model builds, bookkeeping)."
    )


if __name__ == "__main__":
    main()
