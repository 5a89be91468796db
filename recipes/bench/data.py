"""Data pipeline throughput: the zoo's `load_data` against `image_dataset_from_directory`.

Both read the same images in the same process; see `measure_throughput`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from recipes.config.schema import DataSettings
from recipes.data import load_data, shapes
from recipes.data.listing import list_folder
from zoo.errors import UsageError, op_error_message


def measure_throughput(
    data_dir: str | None = None,
    *,
    epochs: int = 3,
    image_size: tuple[int, int] | int = (160, 160),
    batch_size: int = 32,
    rounds: int = 3,
    classes: int = 10,
    images_per_class: int = 300,
    source_size: int = 256,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Images/s of `load_data` against `keras.utils.image_dataset_from_directory`.

    Both read the same images in the same process for `epochs` epochs (the
    `train/` folder of a folder with the split layout, else the folder), each
    timed from the call that builds the pipeline to the end of its last epoch:
    the zoo side includes its check pass and cache fill, Keras its file
    listing. Both decode, resize, shuffle and batch every image into `float32`
    batches with one-hot labels, without augmentation or validation split.

    Untimed first: every file is read once (both find them in the OS page
    cache) and each side runs once over a tiny folder (first-call set-up). The
    sides then alternate for `rounds` rounds, and the median round of each is
    reported, which keeps a busy machine's noise out of the ratio.

    Args:
        data_dir: Folder of class sub-folders, or of `train/`, ... folders
            of them; `None` writes the built-in shapes set as JPEG files to a
            temporary folder first (not timed).
        epochs: Passes over the data per round.
        image_size: `(height, width)` both pipelines resize to.
        batch_size: Images per batch.
        rounds: Timed runs of each side.
        classes: Classes of the generated folder.
        images_per_class: Images per class of the generated folder.
        source_size: Side of the generated JPEG files in pixels.
        seed: Seed of the generated images and of the shuffles.
        progress: Called with a line of progress (for stderr), if given.

    Returns:
        `data_dir`, `read_dir` (the folder both sides read; `None` for the
        generated one), `images` and `keras_images` (per epoch, of each
        side), `epochs`, `rounds`, `image_size`, `batch_size`, `zoo` and
        `keras` (each `pipeline`, `images_per_second` and `seconds` of the
        median round, `setup_seconds` (building the pipeline: for the zoo
        its check pass and cache fill) and `epoch_seconds` of that round,
        and `all_images_per_second`; or `error` when that side stopped on a
        bad file, as Keras does), and `ratio`: zoo images/s over Keras'
        images/s (`None` if a side failed).

    Raises:
        UsageError: Bad arguments or data (as `load_data`).
    """
    import keras
    import tensorflow as tf

    if epochs < 1 or rounds < 1:
        raise UsageError(f"epochs and rounds must be at least 1. Received: {epochs}, {rounds}")
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    say = progress or (lambda line: None)
    with tempfile.TemporaryDirectory(prefix="zoo-bench-data-") as scratch:
        folder = data_dir
        if folder is None:
            say(f"writing {classes * images_per_class} {source_size}px JPEG files ...")
            folder = str(
                shapes.write_folder(
                    os.path.join(scratch, "shapes"),
                    classes,
                    images_per_class,
                    source_size,
                    seed,
                    image_format="jpg",
                )
            )
        else:
            listing = list_folder(folder)  # the usual one-line errors for a bad folder
            if listing.layout == "splits":  # both sides read train/ as class folders
                folder = os.path.join(folder, listing.split_dirs["train"])
        for parent, _, filenames in os.walk(folder):
            for filename in filenames:
                with open(os.path.join(parent, filename), "rb") as handle:
                    while handle.read(1 << 20):
                        pass
        tiny = str(shapes.write_folder(os.path.join(scratch, "warm-up"), 2, 4, 32, seed, "jpg"))

        def zoo_pipeline(root: str) -> Any:
            settings = DataSettings(data_dir=root, val_split=0.0)
            return load_data(settings, input_size=size, batch_size=batch_size, seed=seed).train

        def keras_pipeline(root: str) -> Any:
            return keras.utils.image_dataset_from_directory(
                root,
                label_mode="categorical",
                image_size=size,
                batch_size=batch_size,
                shuffle=True,
                seed=seed,
                verbose=False,
            )

        def run(build: Callable[[str], Any], root: str, passes: int) -> dict[str, Any]:
            started = time.perf_counter()
            pipeline = build(root)
            built = time.perf_counter()
            epoch_seconds, images = [], 0
            for _ in range(passes):
                begin, images = time.perf_counter(), 0
                for batch, _labels in pipeline:
                    images += int(batch.shape[0])
                epoch_seconds.append(round(time.perf_counter() - begin, 3))
            total = time.perf_counter() - started
            return {
                "seconds": round(total, 3),
                "images_per_second": round(images * passes / total, 1),
                "setup_seconds": round(built - started, 3),
                "epoch_seconds": epoch_seconds,
                "images": images,
            }

        sides = {"zoo": zoo_pipeline, "keras": keras_pipeline}
        for build in sides.values():
            run(build, tiny, 1)
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
        failed: dict[str, str] = {}
        for round_index in range(rounds):
            order = list(sides) if round_index % 2 == 0 else list(sides)[::-1]
            for name in order:
                if name in failed:
                    continue
                try:
                    results[name].append(run(sides[name], folder, epochs))
                except tf.errors.OpError as error:  # Keras stops at the first bad file
                    failed[name] = op_error_message(error, 160)
                    say(f"{name} failed: {failed[name]}")
                    continue
                say(
                    f"round {round_index + 1}/{rounds} {name}: "
                    f"{results[name][-1]['images_per_second']} images/s"
                )
    report: dict[str, Any] = {
        "data_dir": data_dir
        or f"generated: {classes} classes x {images_per_class} {source_size}px JPEG files",
        "read_dir": folder if data_dir is not None else None,
        "images": results["zoo"][0]["images"] if results["zoo"] else None,
        "keras_images": results["keras"][0]["images"] if results["keras"] else None,
        "epochs": epochs,
        "rounds": rounds,
        "image_size": list(size),
        "batch_size": batch_size,
    }
    pipelines = {
        "zoo": "recipes.data.load_data (check pass, cached decode)",
        "keras": "keras.utils.image_dataset_from_directory",
    }
    for name, message in failed.items():
        report[name] = {"pipeline": pipelines[name], "error": message}
    for name, runs in results.items():
        if name in failed:
            continue
        speeds = [entry["images_per_second"] for entry in runs]
        median = sorted(runs, key=lambda entry: entry["images_per_second"])[(len(runs) - 1) // 2]
        report[name] = {
            "pipeline": pipelines[name],
            "images_per_second": round(statistics.median(speeds), 1),
            "seconds": median["seconds"],
            "setup_seconds": median["setup_seconds"],
            "epoch_seconds": median["epoch_seconds"],
            "all_images_per_second": speeds,
        }
    report["ratio"] = (
        None
        if failed
        else round(report["zoo"]["images_per_second"] / report["keras"]["images_per_second"], 2)
    )
    return report
