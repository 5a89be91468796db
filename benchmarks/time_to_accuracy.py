"""Time to accuracy on a small real dataset: `zoo train` defaults vs the Keras tutorial way.

The data is scikit-learn's handwritten digits (1,797 real 8x8 scans, shipped
inside the package, so no download), written as 32x32 PNG files in `train/`
and `test/` folders. Both sides train the same architecture for the same
number of epochs in this one process:

- keras: `image_dataset_from_directory` (80/20 split of train/) + prefetch,
  float32, Keras' own layers, Adam 1e-3, as in the Keras tutorials;
- zoo: `recipes.train.train` with the defaults of `zoo train` (the `modern`
  preset, precision `auto`, the zoo's data pipeline).

It reports wall time and test accuracy of both, and the wall time at which
the zoo run's validation accuracy first reached the tutorial's final test
accuracy. Needs `pip install scikit-learn`. Prints a markdown table; it never
fails on timing.

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
from recipes.devices import set_precision
from recipes.train import train
from zoo.layers import fuse_batch_norm


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


def keras_tutorial(root: Path, arch: str, epochs: int) -> dict[str, float]:
    """The tutorial pipeline and float32 fit; returns wall time and test accuracy."""
    started = time.perf_counter()
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
    fuse_batch_norm(model, fused=False)  # Keras' own layers, as a tutorial builds them
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(train_ds.prefetch(tf.data.AUTOTUNE), validation_data=val_ds, epochs=epochs, verbose=0)
    accuracy = model.evaluate(test_ds, verbose=0, return_dict=True)["accuracy"]
    return {"seconds": time.perf_counter() - started, "test_accuracy": float(accuracy)}


def zoo_defaults(root: Path, arch: str, epochs: int, target: float) -> dict[str, float]:
    """`zoo train` with its defaults; also the time its val accuracy first reached `target`."""
    started = time.perf_counter()
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
    total = time.perf_counter() - started
    setup = total - sum(row["seconds"] for row in result.history)
    reached = None
    elapsed = setup
    for row in result.history:
        elapsed += row["seconds"]
        if row.get("val_accuracy", 0.0) >= target:
            reached = elapsed
            break
    return {
        "seconds": total,
        "test_accuracy": result.metrics.get("test_accuracy", float("nan")),
        "seconds_to_target": reached,
        "precision": result.precision,
    }


def main() -> None:
    """Runs both sides and prints a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = write_digits(Path(scratch) / "digits")
        plain = keras_tutorial(root, args.arch, args.epochs)
        ours = zoo_defaults(root, args.arch, args.epochs, plain["test_accuracy"])
    reached = ours["seconds_to_target"]
    print(f"digits, {args.arch}, {args.epochs} epochs each\n")
    print("| pipeline | wall time (s) | test accuracy |")
    print("|---|---|---|")
    print(f"| keras tutorial (fp32) | {plain['seconds']:.1f} | {plain['test_accuracy']:.4f} |")
    print(
        f"| zoo train defaults ({ours['precision']}) | {ours['seconds']:.1f} "
        f"| {ours['test_accuracy']:.4f} |"
    )
    print()
    if reached is None:
        print("zoo's validation accuracy did not reach the tutorial's test accuracy.")
    else:
        print(
            f"zoo reached {plain['test_accuracy']:.4f} validation accuracy after {reached:.1f} s "
            f"({plain['seconds'] / reached:.2f}x faster than the tutorial's full run)."
        )


if __name__ == "__main__":
    main()
