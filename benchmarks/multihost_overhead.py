"""The cost of `--strategy multihost`: one process against two on loopback.

Runs `zoo train` (Keras on JAX, `--strategy multihost`) four ways, alternating
them round by round:

- `1 process, 2 cores` and `2 processes, 2 cores`: the same global batch, one
  process against two that each train on half of every batch and share this
  machine's cores;
- `1 process, 1 core` at half the batch, and `2 processes, 1 core each` at the
  full batch (pinned with `taskset`): the same work per process on the same
  cores, so the difference is what the distributed path adds per step (the
  gradient all-reduce over loopback and the processes waiting for each other).

It reports the median time of a training step (epoch time from `history.csv`,
validation and checkpoint included, over the steps of the epoch; the first
two epochs left out: they compile the training, validation and saving steps)
and the two ratios. Needs JAX (`pip install 'keras-zoo[multihost]'`) and `taskset`. Never
fails on timing.

    python benchmarks/multihost_overhead.py --arch resnet20 --rounds 2
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(processes: int, cores: list[str], args: list[str], output: Path) -> list[float]:
    """Trains with `processes` processes (pinned to `cores`, or not); returns epoch seconds."""
    port = _free_port()
    started = []
    for index in range(processes):
        pin = ["taskset", "-c", cores[index]] if cores else []
        env = {
            **os.environ,
            "KERAS_BACKEND": "jax",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}",
            "KERAS_DISTRIBUTION_NUM_PROCESSES": str(processes),
            "KERAS_DISTRIBUTION_PROCESS_ID": str(index),
        }
        command = [*pin, sys.executable, "-m", "cli.main", "train", *args]
        started.append(
            subprocess.Popen(
                [*command, "--strategy", "multihost", "--output", str(output)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    for process in started:
        if process.wait() != 0:
            raise SystemExit(f"{processes} processes: one failed (exit {process.returncode})")
    with open(output / "history.csv", newline="") as rows:
        return [float(row["seconds"]) for row in csv.DictReader(rows)][2:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", default="resnet20")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--shapes-per-class", type=int, default=120)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    args = [
        "--arch", options.arch, "--classes", "3", "--image-size", str(options.image_size),
        "--batch-size", str(options.batch_size), "--shapes-per-class",
        str(options.shapes_per_class), "--epochs", str(options.epochs), "--augment", "none",
    ]  # fmt: skip
    train_images = 3 * options.shapes_per_class * 8 // 10  # the built-in set's 80% split
    steps = max(1, train_images // options.batch_size)
    half = [*args, "--batch-size", str(options.batch_size // 2)]  # the last one counts
    ways = {  # name: (processes, pinned cores, arguments)
        "1 process, 2 cores": (1, [], args),
        "2 processes, 2 cores": (2, [], args),
        "1 process, 1 core, half batch": (1, ["0"], half),
        "2 processes, 1 core each": (2, ["0", "1"], args),
    }
    epochs: dict[str, list[float]] = {way: [] for way in ways}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(options.rounds):
            for number, (way, (processes, cores, way_args)) in enumerate(ways.items()):
                output = Path(scratch) / f"{number}-{round_}"
                epochs[way] += _run(processes, cores, way_args, output)
    per_step = {  # the half batch takes twice the steps
        way: statistics.median(seconds) / (2 * steps if "half" in way else steps)
        for way, seconds in epochs.items()
    }
    print(
        f"{options.arch}, {options.image_size} px, global batch {options.batch_size}, "
        f"~{steps} steps/epoch, {options.rounds} rounds, epochs 3-{options.epochs}\n"
    )
    print("| way | ms / step (median) | ratio |")
    print("|---|---:|---:|")
    baselines = {"2 processes, 2 cores": "1 process, 2 cores",
                 "2 processes, 1 core each": "1 process, 1 core, half batch"}  # fmt: skip
    for way, seconds in per_step.items():
        base = baselines.get(way)
        ratio = f"{seconds / per_step[base]:.2f}x `{base}`" if base else ""
        print(f"| {way} | {1000 * seconds:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
