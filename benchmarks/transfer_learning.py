"""Transfer learning, method by method: scratch, full, probe, lp-ft and kNN on the same data.

Two tasks, each a base trained here and a new task it never saw:

- digits: scikit-learn's handwritten digits (real scans shipped with the
  package) at 32 px; a ResNet-18 trained with `zoo train` on digits 0-4 is the
  base, and digits 5-9 the new task with 5, 15 or 100 training images a class
  (`zoo finetune`'s split keeps a fifth of them for validation), scored on
  every test image of 5-9;
- shapes: the README's main job: a ResNet-20 trained on ten classes of the
  built-in set, then its five other classes.

For each, as whole `zoo` processes: `zoo train` from scratch on the new task
(its defaults), and `zoo finetune --method full`, `--method probe` and the
default `lp-ft`; the kNN row is the k-nearest-neighbour vote on the base's
features that every fine-tuning run scores. Reported: test accuracy and the
process's wall time. Prints a markdown table; it never fails on timing.

    python benchmarks/transfer_learning.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.time_to_accuracy import write_digits  # noqa: E402

SHAPES_BASE = ["--arch", "resnet20", "--classes", "10", "--shapes-per-class", "375"]
NEW_SHAPES = "ellipse,frame,pentagon,rectangle,semicircle"


def zoo(*args: str) -> tuple[dict, float]:
    """Runs `zoo ARGS --json`; returns its result and the process's wall time."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "cli.main", *args, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"zoo {' '.join(args)} failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout), seconds


def split_digits(root: Path, scratch: Path, per_class: int, seed: int = 0) -> tuple[Path, Path]:
    """Digits 0-4 (all of train/ and test/), and 5-9 with `per_class` training images a class."""
    old, new = scratch / "digits04", scratch / f"digits59-{per_class}"
    rng = np.random.default_rng(seed)
    for digit in range(10):
        target = old if digit < 5 else new
        files = sorted((root / "train" / str(digit)).iterdir())
        if digit >= 5:
            files = [files[i] for i in sorted(rng.permutation(len(files))[:per_class])]
        for split, chosen in (("train", files), ("test", (root / "test" / str(digit)).iterdir())):
            folder = target / split / str(digit)
            if folder.exists():
                continue
            folder.mkdir(parents=True)
            for file in chosen:
                shutil.copy(file, folder)
    return old, new


def rows_for(
    task: str,
    base: Path,
    data_args: list[str],
    finetune_args: list[str],
    scratch_args: list[str],
    output: Path,
) -> list[tuple]:
    """Test accuracy and wall time of each method on one new task."""
    rows = []
    result, seconds = zoo("train", *scratch_args, *data_args, "--output", str(output / "scratch"))
    rows.append((task, "scratch", result["metrics"]["test_accuracy"], seconds))
    for method in ("full", "probe", "lp-ft"):
        result, seconds = zoo(
            "finetune", "--base", str(base), *data_args, *finetune_args, "--method", method,
            "--output", str(output / method),
        )  # fmt: skip
        rows.append((task, method, result["metrics"]["test_accuracy"], seconds))
    metrics = result["metrics"]
    rows.append(
        (task, "kNN (lp-ft's features)", metrics["knn_test_accuracy"], metrics["probe_seconds"])
    )
    rows.append(
        (task, "probe inside lp-ft", metrics["probe_test_accuracy"], metrics["probe_seconds"])
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, nargs="+", default=[5, 15, 100])
    parser.add_argument("--epochs", type=int, default=8, help="zoo finetune's --epochs")
    parser.add_argument("--skip-shapes", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        digits = write_digits(scratch / "digits")
        old, _ = split_digits(digits, scratch, args.per_class[0])
        base = scratch / "base-digits04"
        zoo("train", "--arch", "resnet18", "--data", str(old), "--image-size", "32",
            "--epochs", "10", "--no-flip", "--output", str(base))  # fmt: skip
        for per_class in args.per_class:
            _, new = split_digits(digits, scratch, per_class)
            rows += rows_for(
                f"digits 5-9, {per_class}/class",
                base,
                ["--data", str(new), "--no-flip"],
                ["--classes", "5", "--image-size", "32", "--epochs", str(args.epochs)],
                ["--arch", "resnet18", "--image-size", "32"],
                scratch / f"digits-{per_class}",
            )
        if not args.skip_shapes:
            shapes = scratch / "base-shapes"
            zoo("train", *SHAPES_BASE, "--epochs", "4", "--output", str(shapes))
            new_shapes = ["--shape-classes", NEW_SHAPES, "--shapes-per-class", "200"]
            rows += rows_for(
                "shapes, 5 unseen classes",
                shapes,
                new_shapes,
                ["--lr", "auto", "--head-epochs", "1", "--epochs", "2"],
                ["--arch", "resnet20", "--epochs", "3"],
                scratch / "shapes",
            )
    print_table(rows)


def print_table(rows: list[tuple]) -> None:
    """The markdown table of `(task, method, test accuracy, seconds)` rows."""
    print("| task | method | test accuracy | wall time (s) |")
    print("|---|---|---|---|")
    for task, method, accuracy, seconds in rows:
        print(f"| {task} | {method} | {accuracy:.1%} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
