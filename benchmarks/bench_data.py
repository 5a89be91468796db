"""Data pipeline throughput: `recipes.data.load_data` vs `keras.utils.image_dataset_from_directory`.

Runs the same measurement as `zoo bench data` and prints a markdown table:

    python benchmarks/bench_data.py [DIR] [--epochs 3] [--image-size 160] [--batch-size 32]

Without DIR, a folder of generated shapes JPEG files is written to a temporary
folder first. See `recipes.data.measure_throughput` for what is timed.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cli.data_cmd import markdown_table  # noqa: E402
from recipes.bench.data import measure_throughput  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data_dir", nargs="?", help="folder of class sub-folders, or of train/ and val/ ones"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", type=int, default=300, help="generated images per class")
    parser.add_argument("--source-size", type=int, default=256, help="generated JPEG side")
    args = parser.parse_args()
    report = measure_throughput(
        args.data_dir,
        epochs=args.epochs,
        image_size=args.image_size,
        batch_size=args.batch_size,
        rounds=args.rounds,
        images_per_class=args.images,
        source_size=args.source_size,
        progress=lambda line: print(line, file=sys.stderr),
    )
    print(markdown_table(report))


if __name__ == "__main__":
    main()
