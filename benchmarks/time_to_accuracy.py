"""Time to accuracy on a small real dataset: `zoo train` defaults vs the Keras tutorial way.

The data is scikit-learn's handwritten digits (1,797 real 8x8 scans, shipped
inside the package, so no download), written as 32x32 PNG files in `train/`
and `test/` folders. Both sides train the same architecture for the same
number of epochs in this one process:

- keras: `image_dataset_from_directory` (80/20 split of train/) + prefetch,
  float32, Keras' own layers, Adam 1e-3, as in the Keras tutorials;
- zoo: `recipes.training.train.train` with the defaults of `zoo train` (the `modern`
  preset, precision `auto`, the zoo's data pipeline).

Both are measured alike: wall time from the start (data loading included)
until the end of the first epoch whose validation accuracy reaches a target.
The targets are fixed levels (`--targets`) and the tutorial's final test
accuracy. It also reports each side's total wall time and test accuracy.
Needs `pip install scikit-learn`. Prints a markdown table; it never fails on
timing.

    python benchmarks/time_to_accuracy.py --arch resnet18 --epochs 8
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

import zoo
from recipes.config import load_preset, resolve_config
from recipes.training.devices import set_precision
from recipes.training.train import train
from zoo.fast_layers import use_fast_layers


def write_digits(root: Path, seed: int = 0) -> Path:
    """Writes the digits as 32x32 RGB PNGs in `root/train/D/` and `root/test/D/`."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.images))
    test = set(order[: len(order) // 5].tolist())
    for index, (image, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        split = "test" if index in test else "train"
        folder = root / split / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (image * (255.0 / 16.0)).astype(np.uint8)
        Image.fromarray(pixels).resize((32, 32), Image.BILINEAR).convert("RGB").save(
            folder / f"{index:04d}.png"
        )
    return root


class _Progress(keras.callbacks.Callback):
    """Wall time since `started` and validation accuracy at the end of each epoch."""

    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started
        self.epochs: list[tuple[float, float]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        accuracy = float((logs or {}).get("val_accuracy", 0.0))
        self.epochs.append((time.time() - self.started, accuracy))


def keras_tutorial(root: Path, arch: str, epochs: int) -> dict[str, object]:
    """The tutorial pipeline and float32 fit."""
    started = time.time()
    set_precision("fp32")
    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        root / "train",
        image_size=(32, 32),
        batch_size=32,
        label_mode="categorical",
        validation_split=0.2,
        subset="both",
        seed=0,
        verbose=False,
    )
    test_ds = keras.utils.image_dataset_from_directory(
        root / "test",
        image_size=(32, 32),
        batch_size=32,
        label_mode="categorical",
        shuffle=False,
        verbose=False,
    )
    model = zoo.build_model(arch, classes=10, input_shape=(32, 32, 3))
    use_fast_layers(model, fast=False)  # Keras' own layers, as a tutorial builds them
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    progress = _Progress(started)
    model.fit(
        train_ds.prefetch(tf.data.AUTOTUNE),
        validation_data=val_ds,
        epochs=epochs,
        callbacks=[progress],
        verbose=0,
    )
    accuracy = model.evaluate(test_ds, verbose=0, return_dict=True)["accuracy"]
    return {
        "seconds": time.time() - started,
        "test_accuracy": float(accuracy),
        "epochs": progress.epochs,
    }


def zoo_defaults(root: Path, arch: str, epochs: int) -> dict[str, object]:
    """`zoo train` with its defaults; its history says when each epoch finished."""
    started = time.time()
    with tempfile.TemporaryDirectory() as runs:
        config = resolve_config(
            load_preset("modern"),
            {
                "task": "train",
                "arch": arch,
                "data_dir": str(root),
                "image_size": 32,
                "epochs": epochs,
                "output": str(Path(runs) / "run"),
            },
        )
        result = train(config)
    return {
        "seconds": time.time() - started,
        "test_accuracy": float(result.metrics.get("test_accuracy", float("nan"))),
        "epochs": [(row["finished"] - started, row["val_accuracy"]) for row in result.history],
        "precision": result.precision,
    }


def seconds_to(target: float, epochs: list[tuple[float, float]]) -> float | None:
    """Wall time at the end of the first epoch whose validation accuracy reaches `target`."""
    return next((seconds for seconds, accuracy in epochs if accuracy >= target), None)


def main() -> None:
    """Runs both sides and prints a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument(
        "--targets", type=float, nargs="+", default=[0.95, 0.97], help="validation accuracies"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = write_digits(Path(scratch) / "digits")
        plain = keras_tutorial(root, args.arch, args.epochs)
        ours = zoo_defaults(root, args.arch, args.epochs)
    targets = [*args.targets, plain["test_accuracy"]]
    heads = [f"to {t:.2%} val (s)" for t in args.targets] + ["to the tutorial's test acc. (s)"]
    print(f"digits, {args.arch}, {args.epochs} epochs each\n")
    print("| pipeline | " + " | ".join(heads) + " | wall time (s) | test accuracy |")
    print("|---" * (len(heads) + 3) + "|")
    for label, side in (
        ("keras tutorial (fp32)", plain),
        (f"zoo train defaults ({ours['precision']})", ours),
    ):
        times = [seconds_to(target, side["epochs"]) for target in targets]
        cells = ["not reached" if t is None else f"{t:.1f}" for t in times]
        print(
            f"| {label} | " + " | ".join(cells) + f" | {side['seconds']:.1f} "
            f"| {side['test_accuracy']:.4f} |"
        )


if __name__ == "__main__":
    main()
