"""Time to accuracy on a small real dataset: `zoo train` vs the Keras tutorial way.

The data is scikit-learn's handwritten digits (1,797 real 8x8 scans, shipped
inside the package, so no download), written as 32x32 PNG files in `train/`
and `test/` folders. Each side is a whole process of its own, started from the
shell, so imports, start-up and tracing count as a user would feel them:

- keras: a fresh Python process running the tutorial way:
  `image_dataset_from_directory` (80/20 split of train/) + prefetch, float32,
  Keras' own layers, Adam 1e-3, batch 32, `fit` then `evaluate` on test/;
- zoo: `zoo train --arch ARCH --image-size 32 --no-flip --data DIR --epochs N`
  (its defaults otherwise: digits are not mirror images of themselves).

Both train the same architecture for the same number of epochs. The sides
take turns (`--rounds`), so load from elsewhere falls on both. Reported: each
process's wall time, its test accuracy, and the wall time from the process
start to the end of the first epoch whose validation accuracy reaches a target
(fixed levels, `--targets`, and the tutorial's final test accuracy). Needs
`pip install scikit-learn`. Prints a markdown table; it never fails on timing.

    python benchmarks/time_to_accuracy.py --arch resnet18 --epochs 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def write_digits(root: Path, seed: int = 0) -> Path:
    """Writes the digits as 32x32 RGB PNGs in `root/train/D/` and `root/test/D/`."""
    from PIL import Image
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


def keras_tutorial(root: Path, arch: str, epochs: int, report: Path) -> None:
    """The tutorial pipeline and float32 fit; writes each epoch's end and the test score."""
    import keras
    import tensorflow as tf

    import zoo
    from zoo.fast_layers import use_fast_layers

    finished: list[tuple[float, float]] = []

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            finished.append((time.time(), float((logs or {}).get("val_accuracy", 0.0))))

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
    model.fit(
        train_ds.prefetch(tf.data.AUTOTUNE),
        validation_data=val_ds,
        epochs=epochs,
        callbacks=[Progress()],
        verbose=0,
    )
    accuracy = model.evaluate(test_ds, verbose=0, return_dict=True)["accuracy"]
    report.write_text(json.dumps({"epochs": finished, "test_accuracy": float(accuracy)}))


def _run_keras(root: Path, arch: str, epochs: int, scratch: Path) -> dict[str, object]:
    report = scratch / "keras.json"
    command = [sys.executable, __file__, "--side", "keras", "--data", str(root)]
    started = time.time()
    subprocess.run(
        [*command, "--arch", arch, "--epochs", str(epochs), "--report", str(report)], check=True
    )
    seconds = time.time() - started
    result = json.loads(report.read_text())
    return {
        "seconds": seconds,
        "test_accuracy": result["test_accuracy"],
        "epochs": [(end - started, accuracy) for end, accuracy in result["epochs"]],
    }


def _run_zoo(root: Path, arch: str, epochs: int, scratch: Path) -> dict[str, object]:
    run = scratch / f"zoo-{time.time_ns()}"
    zoo_command = Path(sys.executable).with_name("zoo")
    command = [str(zoo_command), "train", "--arch", arch, "--image-size", "32", "--no-flip"]
    started = time.time()
    completed = subprocess.run(
        [*command, "--data", str(root), "--epochs", str(epochs), "--output", str(run), "--json"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    seconds = time.time() - started
    result = json.loads(completed.stdout)
    history = [(row["finished"], row["val_accuracy"]) for row in result["history"]]
    return {
        "seconds": seconds,
        "test_accuracy": float(result["metrics"].get("test_accuracy", float("nan"))),
        "epochs": [(end - started, accuracy) for end, accuracy in history],
        "precision": result.get("precision", "?"),
    }


def seconds_to(target: float, epochs: list[tuple[float, float]]) -> float | None:
    """Wall time at the end of the first epoch whose validation accuracy reaches `target`."""
    return next((seconds for seconds, accuracy in epochs if accuracy >= target), None)


def _table(
    runs: list[tuple[str, dict[str, object]]], targets: list[float], reference: float
) -> None:
    heads = [f"to {t:.2%} val (s)" for t in targets] + ["to the tutorial's test acc. (s)"]
    print("| round | pipeline | " + " | ".join(heads) + " | wall time (s) | test accuracy |")
    print("|---" * (len(heads) + 4) + "|")
    for label, side in runs:
        times = [seconds_to(target, side["epochs"]) for target in [*targets, reference]]
        cells = ["not reached" if t is None else f"{t:.1f}" for t in times]
        print(
            f"| {label} | " + " | ".join(cells) + f" | {side['seconds']:.1f} "
            f"| {side['test_accuracy']:.4f} |"
        )


def main() -> None:
    """Runs both sides in turn and prints a markdown table with their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1, help="Turns of both sides.")
    parser.add_argument(
        "--targets", type=float, nargs="+", default=[0.95, 0.97], help="validation accuracies"
    )
    parser.add_argument("--side", choices=("keras",), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side == "keras":
        keras_tutorial(args.data, args.arch, args.epochs, args.report)
        return
    runs: list[tuple[str, dict[str, object]]] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = write_digits(Path(scratch) / "digits")
        for number in range(1, args.rounds + 1):
            plain = _run_keras(root, args.arch, args.epochs, Path(scratch))
            ours = _run_zoo(root, args.arch, args.epochs, Path(scratch))
            runs += [
                (f"{number} | keras tutorial (fp32)", plain),
                (f"{number} | zoo train ({ours['precision']})", ours),
            ]
    print(f"digits, {args.arch}, {args.epochs} epochs each, whole processes\n")
    _table(runs, args.targets, float(runs[0][1]["test_accuracy"]))
    ratios = [
        ours["seconds"] / plain["seconds"]
        for (_, plain), (_, ours) in zip(runs[::2], runs[1::2], strict=True)
    ]
    print("\nzoo / tutorial wall time per round: " + ", ".join(f"{r:.2f}x" for r in ratios))


if __name__ == "__main__":
    main()
