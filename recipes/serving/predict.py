"""Class predictions for image files, folders and glob patterns.

Images are decoded and resized with `recipes.data.decode.decode_and_resize`, the
function the training pipeline and the exported serving signature use, so a
file gets the same prediction here as from `zoo export`'s SavedModel. Files
that cannot be read or decoded are reported with a reason; they never stop the
others.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from recipes.run.images import collect_images, image_decoder, read_image
from recipes.run.trained import TrainedModel, check_model_path, load_trained
from zoo.errors import UsageError


def batch_predictor(trained: TrainedModel) -> Any:
    """A compiled function: float32 image batch -> float32 probabilities."""
    import tensorflow as tf

    height, width = trained.input_size
    spec = tf.TensorSpec((None, height, width, trained.channels), tf.float32)
    model = trained.model

    @tf.function(input_signature=[spec])
    def predict(images: tf.Tensor) -> tf.Tensor:
        return tf.cast(model(images, training=False), tf.float32)

    return predict


def check_inputs(path: str | Path, inputs: list[str]) -> None:
    """What `predict` refuses before it loads anything: a missing model, inputs naming no file.

    Raises:
        UsageError: The model path does not exist, or no input names a file.
    """
    check_model_path(path)
    if not inputs:
        raise UsageError("Give at least one image file, folder or glob pattern to predict.")
    files, bad = collect_images(inputs)
    if not files:
        raise no_readable_image(bad)


def no_readable_image(bad: list[dict[str, str]]) -> UsageError:
    """The error for inputs of which not one is a readable image."""
    first = f" ({bad[0]['path']}: {bad[0]['reason']})" if bad else ""
    return UsageError(
        f"None of the inputs is a readable image{first}; give JPEG, PNG, GIF or BMP "
        "files, folders or glob patterns."
    )


def predict(
    path: str | Path, inputs: list[str], *, top_k: int = 5, batch_size: int = 32
) -> dict[str, Any]:
    """Predicts the classes of images with a trained model.

    Args:
        path: A run directory or a `.keras` file.
        inputs: Image files, folders (searched recursively) and glob patterns.
        top_k: How many classes to list per image (at most the class count).
        batch_size: Images per forward pass.

    Returns:
        `model`, `top_k`, `predictions` (per image: `path`, `class`,
        `probability`, and `top_k` as a list of `{class, probability}`), `bad`
        (per unusable input: `path`, `reason`), `images` and `seconds`.

    Raises:
        UsageError: Bad arguments or model, or not one readable image among the inputs.
    """
    import numpy as np

    started = time.perf_counter()
    if top_k < 1:
        raise UsageError(f"--top-k must be at least 1. Received: top_k={top_k}")
    if batch_size < 1:
        raise UsageError(f"batch_size must be at least 1. Received: batch_size={batch_size}")
    if not inputs:
        raise UsageError("Give at least one image file, folder or glob pattern to predict.")
    trained = load_trained(path, float32=True)
    files, bad = collect_images(inputs)
    decode = image_decoder(trained)
    forward = batch_predictor(trained)
    top_k = min(top_k, trained.num_classes)

    predictions: list[dict[str, Any]] = []
    for start in range(0, len(files), batch_size):
        images, used = [], []
        for file in files[start : start + batch_size]:
            image, reason = read_image(decode, file)
            if reason is not None:
                bad.append({"path": str(file), "reason": reason})
                continue
            images.append(image)
            used.append(file)
        if not images:
            continue
        probabilities = forward(np.stack(images)).numpy()
        for file, row in zip(used, probabilities, strict=True):
            order = np.argsort(-row, kind="stable")[:top_k]
            ranked = [
                {"class": trained.class_names[i], "probability": float(row[i])} for i in order
            ]
            predictions.append(
                {
                    "path": str(file),
                    "class": ranked[0]["class"],
                    "probability": ranked[0]["probability"],
                    "top_k": ranked,
                }
            )
    if not predictions:
        raise no_readable_image(bad)
    return {
        "model": str(trained.source),
        "top_k": top_k,
        "images": len(predictions),
        "predictions": predictions,
        "bad": bad,
        "seconds": round(time.perf_counter() - started, 2),
    }
