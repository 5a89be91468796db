"""Does the range test's suggestion train? The suggestion against 10x below and 10x above.

For scikit-learn's digits (32 px folders, as `time_to_accuracy.py` writes them)
and the built-in shapes set, runs `zoo lr-find`'s test on a ResNet-18, then
trains the same model for a few epochs at the suggested rate, a tenth of it
and ten times it (the `modern` preset otherwise), and prints the validation
accuracy and final training loss of each. Prints a markdown table.

    python benchmarks/lr_find_check.py [--arch resnet18] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.time_to_accuracy import write_digits  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=32)
    args = parser.parse_args()

    from recipes.babysit.find_lr import lr_find
    from recipes.config import load_preset, resolve_config
    from recipes.training.auto_lr import RangeSettings
    from recipes.training.train import train

    with tempfile.TemporaryDirectory() as scratch:
        digits = write_digits(Path(scratch) / "digits")
        sources = {
            "digits": {"data_dir": str(digits)},
            "shapes (10 classes)": {"classes": 10, "shapes_per_class": 150},
        }
        rows = []
        for name, source in sources.items():
            settings = {
                "task": "train",
                "arch": args.arch,
                "image_size": args.image_size,
                "epochs": args.epochs,
                **source,
            }
            config = resolve_config(load_preset("modern"), settings)
            found = lr_find(config, RangeSettings(), Path(scratch) / f"find-{len(rows)}")
            print(f"{name}: {found['explanation']}", flush=True)
            for factor in (0.1, 1.0, 10.0):
                rate = found["suggestion"] * factor
                output = Path(scratch) / f"run-{len(rows)}"
                run = train(config.replace(lr=rate, output=str(output)))
                last = run.history[-1]
                rows.append((name, factor, rate, last["loss"], run.metrics["val_accuracy"]))
                print(rows[-1], flush=True)
    print(f"\n{args.arch} at {args.image_size} px, {args.epochs} epochs, preset modern")
    print("| data | rate | lr | final training loss | val accuracy |")
    print("|---|---|---:|---:|---:|")
    for name, factor, rate, loss, accuracy in rows:
        label = "suggested" if factor == 1.0 else f"{factor:g}x"
        print(f"| {name} | {label} | {rate:.2e} | {loss:.3f} | {accuracy:.3f} |")


if __name__ == "__main__":
    main()
