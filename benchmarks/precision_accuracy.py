"""Does bf16 cost accuracy? The README's main job and the digits task, bf16 against fp32.

For each precision and seed, as whole `zoo` processes with the defaults a user
gets (only `--precision` and `--seed` added):

- the main job: the README's first line, `zoo train` of a ResNet-20 on ten
  shape classes, then `zoo finetune` of that run on five unseen ones;
- digits: a ResNet-18 trained with `zoo train` on scikit-learn's digits
  (all ten, 32 px), scored on the fifth of them held out.

Prints a markdown table of validation and test accuracy per run, and the mean
and spread per precision. bf16 runs only where the CPU has it (`--precision
bf16` is refused elsewhere, and the table says so). Never fails on timing.

    python benchmarks/precision_accuracy.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.time_to_accuracy import write_digits  # noqa: E402
from benchmarks.transfer_learning import NEW_SHAPES, SHAPES_BASE, zoo  # noqa: E402

MAIN_TRAIN = [*SHAPES_BASE, "--epochs", "4"]
MAIN_FINETUNE = ["--shape-classes", NEW_SHAPES, "--shapes-per-class", "200"]
MAIN_FINETUNE += ["--lr", "auto", "--epochs", "2"]
DIGITS = ["--arch", "resnet18", "--image-size", "32", "--epochs", "10", "--no-flip"]


def runs(precision: str, seed: int, scratch: Path, digits: Path) -> list[tuple[str, dict]]:
    """The three runs of one precision and seed: (name, metrics)."""
    common = ["--precision", precision, "--seed", str(seed)]
    folder = scratch / f"{precision}-{seed}"
    base, _ = zoo("train", *MAIN_TRAIN, *common, "--output", str(folder / "main"))
    tuned, _ = zoo(
        "finetune", "--base", str(folder / "main"), *MAIN_FINETUNE, *common,
        "--output", str(folder / "main-finetuned"),
    )  # fmt: skip
    digit, _ = zoo("train", *DIGITS, "--data", str(digits), *common, "--output", str(folder / "d"))
    return [
        ("main job: train", base["metrics"]),
        ("main job: finetune", tuned["metrics"]),
        ("digits: train", digit["metrics"]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--precisions", nargs="+", default=["bf16", "fp32"])
    args = parser.parse_args()
    table: dict[tuple[str, str], list[tuple[float, float]]] = {}
    print("| run | precision | seed | val accuracy | test accuracy |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        digits = write_digits(scratch / "digits")
        for precision in args.precisions:
            for seed in args.seeds:
                for name, metrics in runs(precision, seed, scratch, digits):
                    scores = (metrics.get("val_accuracy", float("nan")), metrics["test_accuracy"])
                    table.setdefault((name, precision), []).append(scores)
                    print(
                        f"| {name} | {precision} | {seed} | {scores[0]:.1%} | {scores[1]:.1%} |",
                        flush=True,
                    )
    print("\n| run | precision | val accuracy, mean (min-max) | test accuracy, mean (min-max) |")
    print("|---|---|---|---|")
    for (name, precision), scores in table.items():
        cells = []
        for values in zip(*scores, strict=True):
            cells.append(f"{statistics.mean(values):.1%} ({min(values):.1%}-{max(values):.1%})")
        print(f"| {name} | {precision} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
