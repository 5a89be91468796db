"""Training throughput: the zoo's defaults against the plain-Keras tutorial way.

Both sides train the same architecture on the same folder of JPEG files in the
same process, one after the other:

- `keras`: `keras.utils.image_dataset_from_directory(...).prefetch(AUTOTUNE)`
  and `model.fit` in float32 with Keras' own layers (its `BatchNormalization`),
  as in the Keras tutorials;
- `zoo`: `recipes.data.load_data` (parallel decode, cache of decoded and resized
  images, prefetch), the zoo's model (its fast layers, `zoo.fast_layers`) and the
  precision `zoo train` picks (`auto`: bf16 on CPUs with AVX512-BF16/AMX).

Throughput is training images per second over the epochs after the first
(the first one traces the step function and fills the cache), and over all of them.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

import zoo
from recipes.config.schema import DataSettings
from recipes.data import load_data
from recipes.data.shapes import write_folder
from recipes.training.devices import resolve_precision, set_precision
from zoo.fast_layers import use_fast_layers


class _EpochTimer(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def _train(
    arch: str,
    dataset: tf.data.Dataset,
    images: int,
    classes: int,
    size: int,
    epochs: int,
    plain_keras: bool = False,
) -> dict[str, float]:
    model = zoo.build_model(arch, classes=classes, input_shape=(size, size, 3))
    use_fast_layers(model, fast=not plain_keras)  # plain Keras: its own layers
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    timer = _EpochTimer()
    model.fit(dataset, epochs=epochs, callbacks=[timer], shuffle=False, verbose=0)
    steady = timer.seconds[1:] or timer.seconds
    return {
        "images_per_second": round(images * len(steady) / sum(steady), 2),
        "images_per_second_all_epochs": round(images * epochs / sum(timer.seconds), 2),
        "seconds": round(sum(timer.seconds), 2),
    }


def measure_training(
    arch: str = "resnet50",
    image_size: int = 224,
    classes: int = 5,
    images_per_class: int = 40,
    batch_size: int = 32,
    epochs: int = 3,
    folder: str | None = None,
) -> dict[str, Any]:
    """Trains `arch` both ways on one folder and reports images/s side by side.

    Args:
        arch: Registered architecture.
        image_size: Square input side.
        classes: Classes of the generated folder (ignored with `folder`).
        images_per_class: Images per class of the generated folder.
        batch_size: Batch size of both sides.
        epochs: Epochs of each side (at least 2 for a steady-state figure).
        folder: An image folder with class sub-folders; a generated `shapes`
            folder of JPEGs when `None`.

    Returns:
        Settings, both sides' figures and `speedup` (zoo / keras, steady state).
    """
    with tempfile.TemporaryDirectory() as scratch:
        root = (
            Path(folder)
            if folder
            else write_folder(Path(scratch) / "shapes", classes, images_per_class, image_size + 32)
        )
        class_count = len([p for p in root.iterdir() if p.is_dir()])
        images = sum(1 for p in root.rglob("*") if p.is_file())

        set_precision("fp32")
        plain = keras.utils.image_dataset_from_directory(
            root,
            image_size=(image_size, image_size),
            batch_size=batch_size,
            label_mode="categorical",
            seed=0,
            verbose=False,
        ).prefetch(tf.data.AUTOTUNE)
        keras_side = _train(arch, plain, images, class_count, image_size, epochs, plain_keras=True)

        precision = resolve_precision("auto")
        set_precision(precision)
        data = load_data(
            # The same images, in the same number of steps, as Keras: no validation split.
            DataSettings(data_dir=str(root), val_split=0.0),
            input_size=(image_size, image_size),
            batch_size=batch_size,
        )
        train_images = data.images("train")
        zoo_side = _train(arch, data.train, train_images, class_count, image_size, epochs)
        set_precision("fp32")
    return {
        "arch": arch,
        "image_size": image_size,
        "batch_size": batch_size,
        "epochs": epochs,
        "images": images,
        "keras": {**keras_side, "precision": "fp32", "pipeline": "image_dataset_from_directory"},
        "zoo": {**zoo_side, "precision": precision, "pipeline": "recipes.data"},
        "speedup": round(zoo_side["images_per_second"] / keras_side["images_per_second"], 2),
    }
