"""Serving speed: the exported SavedModel signatures vs `keras.Model.predict`.

Builds (or loads) a model, exports it with `zoo export`'s recipe, and times on
the same images, side by side:

- `keras.Model.predict` on decoded float32 arrays (the usual Keras way),
- calling the Keras model directly (`model(x, training=False)`),
- the exported `serving_images` signature on the same float32 arrays,
- the exported `serving_default` signature on the JPEG bytes (decoding and
  resizing included, as TF Serving runs it).

Single-image latency (median and 90th percentile over `--repeats` calls) and
batch throughput (images/s over `--batches` calls of `--batch` images) are
printed as a markdown table with the ratio to `keras.Model.predict`. The paths
are timed in turn, call by call, so load from other processes falls on all of
them alike.

Usage:
    python benchmarks/bench_serving.py [--arch resnet18] [--image-size 64]
        [--classes 10] [--batch 32] [--repeats 50] [--batches 10] [--run RUN_DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18", help="Architecture when no --run is given.")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--run", help="Benchmark this run directory or .keras file instead.")
    parser.add_argument("--batch", type=int, default=32, help="Images per batch call.")
    parser.add_argument("--repeats", type=int, default=50, help="Single-image calls timed.")
    parser.add_argument("--batches", type=int, default=10, help="Batch calls timed.")
    return parser.parse_args()


def _make_run(directory: Path, arch: str, size: int, classes: int) -> None:
    """A run directory of an untrained model (the weights do not change the timing)."""
    import zoo
    from recipes.config import resolve_config
    from recipes.run.layout import RunLayout

    model = zoo.build_model(arch, classes=classes, input_shape=(size, size, 3))
    run = RunLayout(directory)
    directory.mkdir(parents=True)
    run.write_config(resolve_config({"arch": arch, "image_size": size, "classes": classes}))
    run.write_class_names([f"class_{index}" for index in range(classes)])
    run.save_model(model, RunLayout.MODEL)


def _jpegs(count: int, size: tuple[int, int]) -> list[bytes]:
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    height, width = size
    rows = np.linspace(0, 255, height)[:, None, None]
    cols = np.linspace(0, 255, width)[None, :, None]
    images = []
    for _ in range(count):
        colour = rng.uniform(0, 255, (1, 1, 3))
        noise = rng.normal(0, 25, (height, width, 3))
        pixels = np.clip(0.4 * colour + 0.3 * rows + 0.3 * cols + noise, 0, 255).astype("uint8")
        images.append(tf.io.encode_jpeg(pixels, quality=90).numpy())
    return images


def _time(calls: list[Any], repeats: int) -> list[list[float]]:
    """Times the calls round-robin, so background load hits every path alike."""
    for call in calls:  # warm-up: tracing, graph optimisation, first allocations
        call()
        call()
    seconds: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for index, call in enumerate(calls):
            started = time.perf_counter()
            call()
            seconds[index].append(time.perf_counter() - started)
    return seconds


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    args = _arguments()
    import numpy as np
    import tensorflow as tf

    from recipes.data.decode import decode_and_resize
    from recipes.run.trained import load_trained
    from recipes.serving.export import export_model

    with tempfile.TemporaryDirectory() as scratch:
        run = Path(args.run) if args.run else Path(scratch) / "run"
        if not args.run:
            _make_run(run, args.arch, args.image_size, args.classes)
        trained = load_trained(run)
        started = time.perf_counter()
        export = export_model(run, output=Path(scratch) / "saved_models", name="bench")
        export_seconds = time.perf_counter() - started
        loaded = tf.saved_model.load(export["path"])
        serving_default = loaded.signatures["serving_default"]
        serving_images = loaded.signatures["serving_images"]
        model = trained.model

        size = trained.input_size
        jpegs = _jpegs(args.batch, size)
        arrays = np.stack(
            [
                decode_and_resize(tf.constant(data), size, trained.channels, trained.interpolation)
                for data in jpegs
            ]
        ).astype("float32")
        batch_bytes = tf.constant(jpegs)
        one_bytes = tf.constant(jpegs[:1])
        batch_arrays = tf.constant(arrays)
        one_array = arrays[:1]
        one_tensor = tf.constant(one_array)

        paths = {
            "keras.Model.predict (float32 arrays)": (
                lambda: model.predict(one_array, verbose=0),
                lambda: model.predict(arrays, batch_size=args.batch, verbose=0),
            ),
            "Keras model called directly": (
                lambda: model(one_tensor, training=False),
                lambda: model(batch_arrays, training=False),
            ),
            "SavedModel serving_images (float32)": (
                lambda: serving_images(images=one_tensor),
                lambda: serving_images(images=batch_arrays),
            ),
            "SavedModel serving_default (JPEG bytes, decode in graph)": (
                lambda: serving_default(image_bytes=one_bytes),
                lambda: serving_default(image_bytes=batch_bytes),
            ),
        }
        reference = model.predict(arrays, batch_size=args.batch, verbose=0)
        agreement = {
            "serving_images": float(
                np.max(np.abs(serving_images(images=batch_arrays)["probabilities"] - reference))
            ),
            "serving_default": float(
                np.max(
                    np.abs(serving_default(image_bytes=batch_bytes)["probabilities"] - reference)
                )
            ),
        }

        latencies = _time([single for single, _ in paths.values()], args.repeats)
        batches = _time([batch for _, batch in paths.values()], args.batches)
        rows = [
            (
                label,
                statistics.median(latency) * 1e3,
                _percentile(latency, 0.9) * 1e3,
                args.batch / statistics.median(batch_seconds),
            )
            for label, latency, batch_seconds in zip(paths, latencies, batches, strict=True)
        ]

    height, width = size
    print(
        f"## Serving: {trained.name if args.run else args.arch}, {height}x{width}, "
        f"{trained.num_classes} classes, batch {args.batch}\n"
    )
    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores; export took "
        f"{export_seconds:.1f} s. Latency: median and p90 of {args.repeats} single-image "
        f"calls; throughput: median of {args.batches} calls of {args.batch} images.\n"
    )
    print(
        "| path | latency median (ms) | latency p90 (ms) | throughput (img/s) "
        "| latency speed-up vs predict | throughput vs predict |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    base_latency, base_throughput = rows[0][1], rows[0][3]
    for label, median, p90, throughput in rows:
        print(
            f"| {label} | {median:.2f} | {p90:.2f} | {throughput:,.0f} "
            f"| {base_latency / median:.1f}x | {throughput / base_throughput:.2f}x |"
        )
    print(
        f"\nMax |probability difference| to keras.Model.predict on the batch: serving_images "
        f"{agreement['serving_images']:.1e}, serving_default {agreement['serving_default']:.1e}."
    )


if __name__ == "__main__":
    main()
