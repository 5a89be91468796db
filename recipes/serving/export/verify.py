"""Checking an export against the Keras model on a fixed sample batch, before it is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recipes.run.trained import TrainedModel
from recipes.serving.export.signatures import (
    DEFAULT_SIGNATURE,
    IMAGES_SIGNATURE,
    UINT8_SIGNATURE,
)
from zoo.errors import ZooError


def sample_images(trained: TrainedModel, count: int) -> Any:
    """A fixed batch of uint8 images with structure and noise, at the model's size."""
    import numpy as np

    height, width = trained.input_size
    random = np.random.default_rng(0)
    rows = np.linspace(0.0, 1.0, height)[:, None, None]
    cols = np.linspace(0.0, 1.0, width)[None, :, None]
    images = []
    for index in range(max(1, count)):
        colour = random.uniform(0, 255, size=(1, 1, trained.channels))
        gradient = (rows * (index + 1) + cols) % 1.0 * 255.0
        noise = random.uniform(-40, 40, size=(height, width, trained.channels))
        images.append(np.clip(0.5 * colour + 0.5 * gradient + noise, 0, 255))
    return np.stack(images).astype("uint8")


def keras_probabilities(trained: TrainedModel, images: Any) -> Any:
    """The Keras model's float32 probabilities for a batch of images."""
    import numpy as np
    import tensorflow as tf

    # A tensor, not an array: a reloaded model warns that an array does not match its inputs.
    batch = tf.constant(images, dtype=tf.float32)
    return np.asarray(trained.model(batch, training=False), dtype="float32")


def _encode_png(images: Any) -> list[bytes]:
    import tensorflow as tf

    return [tf.io.encode_png(image).numpy() for image in images]


def check_saved_model(
    directory: Path, images: Any, expected: Any, trained: TrainedModel
) -> dict[str, Any]:
    """Runs the exported signatures as TF Serving would and compares them with Keras."""
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(str(directory))
    from_images = loaded.signatures[IMAGES_SIGNATURE](images=tf.constant(images, tf.float32))
    from_uint8 = loaded.signatures[UINT8_SIGNATURE](images=tf.constant(images, tf.uint8))
    # PNG is lossless and the sample is already at the model's size, so the
    # decode-and-resize path must reproduce the same pixels.
    from_bytes = loaded.signatures[DEFAULT_SIGNATURE](image_bytes=tf.constant(_encode_png(images)))
    names = [name.decode("utf-8") for name in from_bytes["classes"].numpy()]
    wanted = [trained.class_names[index] for index in np.argmax(expected, axis=1)]
    if names != wanted:
        raise ZooError(
            f"The exported classes {names} differ from the Keras model's {wanted}; "
            "nothing was written."
        )
    return {
        "samples": len(images),
        "max_abs_diff": max_diff(from_images["probabilities"], expected),
        "max_abs_diff_uint8": max_diff(from_uint8["probabilities"], expected),
        "max_abs_diff_image_bytes": max_diff(from_bytes["probabilities"], expected),
    }


def max_diff(actual: Any, expected: Any) -> float:
    """The largest absolute difference between two arrays of probabilities."""
    import numpy as np

    return float(np.max(np.abs(np.asarray(actual, dtype="float64") - expected)))
