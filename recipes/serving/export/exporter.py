"""`export_model`: a trained model to a checked, versioned export, moved into place when whole."""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path
from typing import Any

from recipes.config.schema import DEFAULT_MAX_PIXELS
from recipes.run.trained import load_trained
from recipes.serving.export.converters import require_onnx, write_onnx, write_tflite
from recipes.serving.export.signatures import (
    DEFAULT_SIGNATURE,
    IMAGES_SIGNATURE,
    OUTPUTS,
    UINT8_SIGNATURE,
    write_saved_model,
)
from recipes.serving.export.verify import check_saved_model, keras_probabilities, sample_images
from recipes.serving.export.versions import (
    NAME_PATTERN,
    claim_next_version,
    move_into_place,
    new_staging_dir,
    refuse_existing,
    remove_abandoned_staging,
)
from zoo.errors import UsageError, ZooError

FORMATS = ("savedmodel", "tflite", "onnx")
TFLITE_FILE = "model.tflite"
ONNX_FILE = "model.onnx"
_EXTRA_FILES = {"tflite": TFLITE_FILE, "onnx": ONNX_FILE}


def export_model(
    path: str | Path,
    *,
    output: str | Path = "saved_models",
    name: str | None = None,
    version: int | None = None,
    format: str = "savedmodel",  # noqa: A002  (the CLI's --format)
    overwrite: bool = False,
    top_k: int = 5,
    tolerance: float = 1e-3,
    samples: int = 4,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> dict[str, Any]:
    """Exports a trained model for serving and checks the export against Keras.

    Every export computes in float32, whatever precision trained the model
    (see `recipes.run.trained.float32_copy`): that is what TF Serving, TFLite and
    ONNX runtimes run everywhere, and the checks compare like with like.

    Args:
        path: A run directory or a `.keras` file.
        output: Directory holding one sub-directory per model name.
        name: Model name (default: the run directory's or file's name).
        version: Version number (default: the next free one, one more than the
            highest present when the finished export is moved into place).
        format: `savedmodel`, `tflite` or `onnx`; the last two also write the
            SavedModel they are made from.
        overwrite: Replace an existing version instead of refusing.
        top_k: How many classes `top_k_classes` returns (at most the class count).
        tolerance: Largest accepted difference between an export's
            probabilities and the (float32) Keras model's on the sample batch.
        samples: Size of the sample batch the checks run on.
        max_pixels: The most pixels an image sent to `serving_default` may
            announce in its header; larger ones are refused before decoding.

    Returns:
        `name`, `version`, `path`, `format`, `signatures`, `class_names`,
        `image_size`, `channels`, `top_k`, `max_pixels`, `files`, `checks`
        (per format: the max absolute difference to Keras) and `seconds`.

    Raises:
        UsageError: Bad model path, name, version or format, an existing version
            without `overwrite`, a missing optional dependency, or Keras on a
            backend other than TensorFlow.
        ZooError: The export differs from the Keras model by more than `tolerance`,
            or cannot be moved into place.
    """
    import keras  # not at the top: `zoo serve --help` imports this module

    started = time.perf_counter()
    if keras.backend.backend() != "tensorflow":
        raise UsageError(
            f"zoo export writes TensorFlow graphs: run it with KERAS_BACKEND=tensorflow (this "
            f"process runs {keras.backend.backend()}); a model trained on any backend exports."
        )
    if format not in FORMATS:
        raise UsageError(f"Unknown format {format!r}; choose one of {', '.join(FORMATS)}.")
    if format == "onnx":
        require_onnx()
    if version is not None and version < 1:
        raise UsageError(f"--version must be a positive integer. Received: version={version}")
    if top_k < 1:
        raise UsageError(f"--top-k must be at least 1. Received: top_k={top_k}")
    if max_pixels < 1:
        raise UsageError(f"--max-pixels must be at least 1. Received: max_pixels={max_pixels}")
    trained = load_trained(path, float32=True)
    name = name or trained.name
    if not NAME_PATTERN.match(name):
        raise UsageError(
            f"Invalid model name {name!r}: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit."
        )
    for class_name in trained.class_names:
        if "\n" in class_name or "\r" in class_name:
            raise UsageError(f"Class name {class_name!r} contains a line break; rename it.")

    model_root = Path(output) / name
    if version is not None:
        refuse_existing(model_root / str(version), overwrite)
    created_root = not model_root.exists()
    model_root.mkdir(parents=True, exist_ok=True)
    remove_abandoned_staging(model_root)
    staging = new_staging_dir(model_root)
    try:
        top_k = min(top_k, trained.num_classes)
        write_saved_model(trained, staging, top_k, max_pixels)
        sample = sample_images(trained, samples)
        expected = keras_probabilities(trained, sample)
        checks = {"savedmodel": check_saved_model(staging, sample, expected, trained)}
        if format == "tflite":
            checks["tflite"] = write_tflite(trained, staging / TFLITE_FILE, sample, expected)
        elif format == "onnx":
            checks["onnx"] = write_onnx(trained, staging / ONNX_FILE, sample, expected)
        for kind, check in checks.items():
            worst = max(value for key, value in check.items() if key.startswith("max_abs_diff"))
            if not worst <= tolerance:
                raise ZooError(
                    f"The {kind} export differs from the Keras model by {worst:.3g} "
                    f"(tolerance {tolerance:g}); nothing was written."
                )
        if version is None:
            target = claim_next_version(staging, model_root)
        else:
            target = model_root / str(version)
            move_into_place(staging, target, overwrite)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if created_root:
            with contextlib.suppress(OSError):  # kept while it holds anything
                model_root.rmdir()

    files = {"savedmodel": str(target)}
    if format != "savedmodel":
        files[format] = str(target / _EXTRA_FILES[format])

    outputs = list(OUTPUTS)
    height, width = trained.input_size
    image_shape = [None, height, width, trained.channels]
    return {
        "name": name,
        "version": int(target.name),
        "path": str(target),
        "format": format,
        "model": str(trained.source),
        "signatures": {
            DEFAULT_SIGNATURE: {"inputs": {"image_bytes": ["string", [None]]}, "outputs": outputs},
            IMAGES_SIGNATURE: {"inputs": {"images": ["float32", image_shape]}, "outputs": outputs},
            UINT8_SIGNATURE: {"inputs": {"images": ["uint8", image_shape]}, "outputs": outputs},
        },
        "class_names": list(trained.class_names),
        "input_size": [height, width],
        "channels": trained.channels,
        "interpolation": trained.interpolation,
        "top_k": top_k,
        "max_pixels": max_pixels,
        "files": files,
        "checks": checks,
        "seconds": round(time.perf_counter() - started, 2),
    }
