"""Class predictions for image files, folders and glob patterns.

Images are decoded and resized with `recipes.data.decode.decode_and_resize`, the
function the training pipeline and the exported serving signature use, so a
file gets the same prediction here as from `zoo export`'s SavedModel. Files
that cannot be read or decoded are reported with a reason; they never stop the
others.
"""

from __future__ import annotations

import glob
import time
from pathlib import Path
from typing import Any

from recipes.serving.trained import TrainedModel, load_trained
from zoo.errors import UsageError, op_error_message

_GLOB_CHARACTERS = set("*?[")


def collect_images(inputs: list[str]) -> tuple[list[Path], list[dict[str, str]]]:
    """Expands files, folders (recursively) and glob patterns into image files.

    A file named explicitly is always taken (and reported later if it is not a
    usable image); inside folders and glob matches, files that are not images
    at all (`notes.txt`, hidden files) are skipped silently, while images of an
    unsupported type (`.webp`, ...) are taken so that they get reported.

    Args:
        inputs: Paths and patterns as given on the command line.

    Returns:
        The files in order of appearance without repeats, and `{path, reason}`
        for each input that names nothing usable.
    """
    files: list[Path] = []
    bad: list[dict[str, str]] = []
    for item in inputs:
        path = Path(item)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and looks_like_image(p))
            if not found:
                bad.append({"path": item, "reason": "folder holds no image files"})
            files.extend(found)
        elif _GLOB_CHARACTERS & set(item):
            matches = [Path(p) for p in sorted(glob.glob(item, recursive=True))]
            found = [p for p in matches if p.is_file() and looks_like_image(p)]
            if not found:
                bad.append({"path": item, "reason": "no image file matches the pattern"})
            files.extend(found)
        else:
            bad.append({"path": item, "reason": "no such file or folder"})
    unique = list(dict.fromkeys(files))
    return unique, bad


def looks_like_image(path: Path) -> bool:
    """Whether a file found in a folder is meant as an image (by its name; hidden files are not)."""
    from recipes.data.files import UNSUPPORTED_IMAGE_EXTENSIONS, is_image_name

    if path.name.startswith("."):
        return False
    return is_image_name(path.name) or path.suffix.lower() in UNSUPPORTED_IMAGE_EXTENSIONS


def decode_for_model(contents: Any, trained: TrainedModel) -> Any:
    """Graph ops: encoded image bytes -> the float32 `[H, W, C]` pixels training saw.

    `recipes.data.decode.decode_and_resize` at the model's size, channels and
    interpolation, rounded to whole values: the training pipelines store
    images as uint8 (rounded), so rounding here makes predictions, evaluation
    and the exported signature see exactly the pixels the model was trained on.
    Bytes the training decoder would not read as they are (another format, a
    BMP of fewer than 24 bits) fail (`recipes.data.decode.check_encoded`).

    Args:
        contents: Scalar `tf.string` tensor with an encoded image.
        trained: The model the pixels are for.

    Returns:
        A float32 tensor `[height, width, channels]` with whole values in 0..255.
    """
    import tensorflow as tf

    from recipes.data.decode import check_encoded, decode_and_resize

    height, width = trained.input_size
    contents = check_encoded(contents)
    image = decode_and_resize(contents, (height, width), trained.channels, trained.interpolation)
    image = tf.round(tf.cast(image, tf.float32))
    return tf.ensure_shape(image, (height, width, trained.channels))


def image_decoder(trained: TrainedModel) -> Any:
    """A compiled `decode_for_model`: encoded image bytes -> float32 `[H, W, C]`."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def decode(contents: tf.Tensor) -> tf.Tensor:
        return decode_for_model(contents, trained)

    return decode


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


def read_image(decode: Any, path: Path) -> tuple[Any, str | None]:
    """Reads and decodes one file as the training pipeline does.

    The file goes through `recipes.data.files.read_image_bytes` (header checks,
    pixel limit, Pillow normalisation of BMPs TensorFlow misreads) and then the
    decoder; a file TensorFlow cannot decode but Pillow can is normalised, as
    in training.

    Args:
        decode: A function from `image_decoder`.
        path: The file.

    Returns:
        `(image, None)`, or `(None, reason)` when the file cannot be used.
    """
    import tensorflow as tf

    from recipes.data.files import pillow_png, read_image_bytes

    try:
        contents = read_image_bytes(str(path))
    except UsageError as error:
        return None, str(error).removeprefix(f"{path}: ").rstrip(".")
    try:
        return decode(tf.constant(contents)).numpy(), None
    except tf.errors.OpError as error:
        try:
            return decode(tf.constant(pillow_png(str(path)))).numpy(), None
        except (OSError, tf.errors.OpError):
            return None, f"corrupt or truncated image ({op_error_message(error)})"


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
        first = f" ({bad[0]['path']}: {bad[0]['reason']})" if bad else ""
        raise UsageError(
            f"None of the inputs is a readable image{first}; give JPEG, PNG, GIF or BMP "
            "files, folders or glob patterns."
        )
    return {
        "model": str(trained.source),
        "top_k": top_k,
        "images": len(predictions),
        "predictions": predictions,
        "bad": bad,
        "seconds": round(time.perf_counter() - started, 2),
    }
