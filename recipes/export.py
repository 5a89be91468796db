"""Export for serving: a SavedModel in TensorFlow Serving's layout, plus TFLite and ONNX.

`export_model` writes `OUT/NAME/VERSION/` (`saved_model.pb`, `variables/`,
`assets/class_names.txt`) with these signatures:

- `serving_default`: `image_bytes`, a batch of encoded JPEG/PNG/GIF/BMP
  strings. Decoding and resizing (the training pipeline's own
  `recipes.images.decode_and_resize`, rounded as the pipeline stores it) and
  the model's preprocessing run inside the graph, so TF Serving's REST
  `{"b64": ...}` inputs work as they are.
- `serving_images`: `images`, a float32 batch `[None, H, W, C]` of raw 0..255
  pixels, and `serving_images_uint8`, the same as uint8.

Every signature computes in float32 (whatever precision trained the model) and
returns `probabilities` (float32, batch x classes), `classes`
(top-1 class names), `top_k_classes` and `top_k_probabilities`. The class
names are read in the graph from the `class_names.txt` asset.

Everything is written to a hidden temporary directory next to the target,
checked against the Keras model, and only then renamed into place, so a
half-written version never appears to TF Serving (which ignores names that are
not integers). Without an explicit version, that rename also claims the
version: when a concurrent export takes the number first, the next free one is
used, so concurrent exports of one name all succeed. `--format tflite` and
`--format onnx` add `model.tflite` or `model.onnx` (probabilities only) to the
same version directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recipes.artifacts import TrainedModel, first_line, float32_copy, load_trained
from zoo.errors import UsageError, ZooError

FORMATS = ("savedmodel", "tflite", "onnx")
CLASS_NAMES_ASSET = "class_names.txt"
DEFAULT_SIGNATURE = "serving_default"
IMAGES_SIGNATURE = "serving_images"
UINT8_SIGNATURE = "serving_images_uint8"
TFLITE_FILE = "model.tflite"
ONNX_FILE = "model.onnx"
_EXTRA_FILES = {"tflite": TFLITE_FILE, "onnx": ONNX_FILE}
# What rename(2) reports when the target is a directory that is not empty.
_TAKEN = (errno.EEXIST, errno.ENOTEMPTY)
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def list_versions(model_root: str | Path) -> list[int]:
    """The versions (integer-named directories) under a model's directory, ascending.

    Args:
        model_root: `OUT/NAME`.

    Returns:
        The version numbers; empty when the directory does not exist.
    """
    root = Path(model_root)
    if not root.is_dir():
        return []
    return sorted(
        int(entry.name)
        for entry in root.iterdir()
        if entry.is_dir() and entry.name.isdigit() and not entry.name.startswith("0")
    )


def export_model(
    path: str | Path,
    *,
    out: str | Path = "saved_models",
    name: str | None = None,
    version: int | None = None,
    format: str = "savedmodel",  # noqa: A002  (the CLI's --format)
    overwrite: bool = False,
    top_k: int = 5,
    tolerance: float = 1e-3,
    samples: int = 4,
) -> dict[str, Any]:
    """Exports a trained model for serving and checks the export against Keras.

    Every export computes in float32, whatever precision trained the model
    (see `recipes.artifacts.float32_copy`): that is what TF Serving, TFLite and
    ONNX runtimes run everywhere, and the checks compare like with like.

    Args:
        path: A run directory or a `.keras` file.
        out: Directory holding one sub-directory per model name.
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

    Returns:
        `name`, `version`, `path`, `format`, `signatures`, `class_names`,
        `image_size`, `channels`, `top_k`, `files`, `checks` (per format: the
        max absolute difference to Keras) and `seconds`.

    Raises:
        UsageError: Bad model path, name, version or format, an existing version
            without `overwrite`, or a missing optional dependency.
        ZooError: The export differs from the Keras model by more than `tolerance`,
            or cannot be moved into place.
    """
    started = time.perf_counter()
    if format not in FORMATS:
        raise UsageError(f"Unknown format {format!r}; choose one of {', '.join(FORMATS)}.")
    if format == "onnx":
        _require_onnx()
    if version is not None and version < 1:
        raise UsageError(f"--version must be a positive integer. Received: version={version}")
    if top_k < 1:
        raise UsageError(f"--top-k must be at least 1. Received: top_k={top_k}")
    trained = load_trained(path)
    trained = dataclasses.replace(trained, model=float32_copy(trained.model))
    name = name or trained.name
    if not _NAME_PATTERN.match(name):
        raise UsageError(
            f"Invalid model name {name!r}: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit."
        )
    for class_name in trained.class_names:
        if "\n" in class_name or "\r" in class_name:
            raise UsageError(f"Class name {class_name!r} contains a line break; rename it.")

    model_root = Path(out) / name
    if version is not None:
        _refuse_existing(model_root / str(version), overwrite)
    created_root = not model_root.exists()
    model_root.mkdir(parents=True, exist_ok=True)
    staging = model_root / f".tmp-{uuid.uuid4().hex[:8]}"
    try:
        top_k = min(top_k, trained.num_classes)
        _write_saved_model(trained, staging, top_k)
        sample = _sample_images(trained, samples)
        expected = _keras_probabilities(trained, sample)
        checks = {"savedmodel": _check_saved_model(staging, sample, expected, trained)}
        if format == "tflite":
            checks["tflite"] = _write_tflite(trained, staging / TFLITE_FILE, sample, expected)
        elif format == "onnx":
            checks["onnx"] = _write_onnx(trained, staging / ONNX_FILE, sample, expected)
        for kind, check in checks.items():
            worst = max(value for key, value in check.items() if key.startswith("max_abs_diff"))
            if not worst <= tolerance:
                raise ZooError(
                    f"The {kind} export differs from the Keras model by {worst:.3g} "
                    f"(tolerance {tolerance:g}); nothing was written."
                )
        if version is None:
            target = _claim_next_version(staging, model_root)
        else:
            target = model_root / str(version)
            _move_into_place(staging, target, overwrite)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if created_root:
            with contextlib.suppress(OSError):  # kept while it holds anything
                model_root.rmdir()

    files = {"savedmodel": str(target)}
    if format != "savedmodel":
        files[format] = str(target / _EXTRA_FILES[format])

    outputs = ["probabilities", "classes", "top_k_classes", "top_k_probabilities"]
    height, width = trained.image_size
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
        "image_size": [height, width],
        "channels": trained.channels,
        "interpolation": trained.interpolation,
        "top_k": top_k,
        "files": files,
        "checks": checks,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _require_onnx() -> None:
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as error:
        raise UsageError(
            f"--format onnx needs tf2onnx and onnxruntime ({error.name} is missing); "
            "install them with: pip install 'keras-zoo[onnx]'"
        ) from None


def _refuse_existing(target: Path, overwrite: bool) -> None:
    if target.exists() and not overwrite:
        following = (list_versions(target.parent) or [0])[-1] + 1
        raise UsageError(
            f"{target} already exists; pass --overwrite to replace it, "
            f"or another --version (the next free one is {following})."
        )


def _claim_next_version(staging: Path, model_root: Path) -> Path:
    """Renames `staging` to the next free version and returns that version's directory.

    The rename is the claim: it fails when a concurrent export has just taken
    the number, and the following one is tried.
    """
    while True:
        target = model_root / str((list_versions(model_root) or [0])[-1] + 1)
        try:
            os.rename(staging, target)
        except OSError as error:
            if error.errno in _TAKEN:
                continue  # the version now exists, so the next listing goes past it
            raise ZooError(f"Cannot move the export into {target}: {error.strerror}.") from None
        return target


def _move_into_place(staging: Path, target: Path, overwrite: bool) -> None:
    """Renames `staging` to the requested version, replacing it only with `overwrite`."""
    if target.exists():
        _refuse_existing(target, overwrite)
        retired = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
        os.rename(target, retired)
        os.rename(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
        return
    try:
        os.rename(staging, target)
    except OSError as error:
        if error.errno in _TAKEN:  # a concurrent export took this version meanwhile
            _refuse_existing(target, overwrite)
        raise ZooError(f"Cannot move the export into {target}: {error.strerror}.") from None


def _signature_functions(trained: TrainedModel, names_table: Any, top_k: int) -> dict[str, Any]:
    """The serving functions, each a `tf.function` with a fixed input signature."""
    import tensorflow as tf

    from recipes.predict import decode_for_model

    model = trained.model
    height, width = trained.image_size
    channels = trained.channels
    image_shape = (height, width, channels)

    def classify(images: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities = tf.cast(model(tf.cast(images, tf.float32), training=False), tf.float32)
        top_probabilities, top_indices = tf.math.top_k(probabilities, k=top_k)
        top_indices = tf.cast(top_indices, tf.int64)
        return {
            "probabilities": probabilities,
            "classes": names_table.lookup(top_indices[:, 0]),
            "top_k_classes": names_table.lookup(top_indices),
            "top_k_probabilities": top_probabilities,
        }

    def decode(contents: tf.Tensor) -> tf.Tensor:
        return decode_for_model(contents, trained)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve_image_bytes(image_bytes: tf.Tensor) -> dict[str, tf.Tensor]:
        images = tf.map_fn(
            decode, image_bytes, fn_output_signature=tf.TensorSpec(image_shape, tf.float32)
        )
        return classify(images)

    @tf.function(input_signature=[tf.TensorSpec((None, *image_shape), tf.float32, name="images")])
    def serve_images(images: tf.Tensor) -> dict[str, tf.Tensor]:
        return classify(images)

    @tf.function(input_signature=[tf.TensorSpec((None, *image_shape), tf.uint8, name="images")])
    def serve_images_uint8(images: tf.Tensor) -> dict[str, tf.Tensor]:
        return classify(images)

    return {
        DEFAULT_SIGNATURE: serve_image_bytes,
        IMAGES_SIGNATURE: serve_images,
        UINT8_SIGNATURE: serve_images_uint8,
    }


def _write_saved_model(trained: TrainedModel, directory: Path, top_k: int) -> None:
    import keras
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as scratch:
        # Asset file names are kept, so the staging file needs the final name.
        names_file = Path(scratch) / CLASS_NAMES_ASSET
        names_file.write_text("\n".join(trained.class_names) + "\n", encoding="utf-8")
        names_table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                str(names_file),
                key_dtype=tf.int64,
                key_index=tf.lookup.TextFileIndex.LINE_NUMBER,
                value_dtype=tf.string,
                value_index=tf.lookup.TextFileIndex.WHOLE_LINE,
            ),
            default_value="",
        )
        # keras' ExportArchive saves only what the endpoints use; saving the
        # Keras object graph itself leaves TFLite with uninitialised variables.
        archive = keras.export.ExportArchive()
        archive.track(trained.model)
        archive.track(names_table)
        for signature, function in _signature_functions(trained, names_table, top_k).items():
            function.get_concrete_function()
            archive.add_endpoint(signature, function)
        with _quiet_loggers():
            archive.write_out(str(directory), verbose=False)


@contextlib.contextmanager
def _quiet_loggers(names: tuple[str, ...] = ("tensorflow", "tf2onnx")) -> Iterator[None]:
    """Silences the converters' progress and deprecation logging below ERROR.

    Among them TF's "Issue encountered when serializing table_initializer":
    the lookup table is saved and restored correctly, only the TF1 collection
    that also lists it cannot be serialised.
    """
    import logging

    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _sample_images(trained: TrainedModel, count: int) -> Any:
    """A fixed batch of uint8 images with structure and noise, at the model's size."""
    import numpy as np

    height, width = trained.image_size
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


def _keras_probabilities(trained: TrainedModel, images: Any) -> Any:
    import numpy as np
    import tensorflow as tf

    # A tensor, not an array: a reloaded model warns that an array does not match its inputs.
    batch = tf.constant(images, dtype=tf.float32)
    return np.asarray(trained.model(batch, training=False), dtype="float32")


def _encode_png(images: Any) -> list[bytes]:
    import tensorflow as tf

    return [tf.io.encode_png(image).numpy() for image in images]


def _check_saved_model(
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
        "max_abs_diff": _max_diff(from_images["probabilities"], expected),
        "max_abs_diff_uint8": _max_diff(from_uint8["probabilities"], expected),
        "max_abs_diff_image_bytes": _max_diff(from_bytes["probabilities"], expected),
    }


def _max_diff(actual: Any, expected: Any) -> float:
    import numpy as np

    return float(np.max(np.abs(np.asarray(actual, dtype="float64") - expected)))


def _probabilities_saved_model(trained: TrainedModel, directory: Path) -> None:
    """A SavedModel with one float32 images -> probabilities signature (for converters)."""
    import keras
    import tensorflow as tf

    height, width = trained.image_size
    spec = tf.TensorSpec((None, height, width, trained.channels), tf.float32, name="images")
    model = trained.model

    @tf.function(input_signature=[spec])
    def probabilities(images: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"probabilities": tf.cast(model(images, training=False), tf.float32)}

    probabilities.get_concrete_function()
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(IMAGES_SIGNATURE, probabilities)
    archive.write_out(str(directory), verbose=False)


def _write_tflite(trained: TrainedModel, file: Path, images: Any, expected: Any) -> dict[str, Any]:
    import warnings

    import tensorflow as tf

    # String outputs would need TF ops (Flex) in the TFLite runtime: this file
    # returns probabilities only; the class names are in assets/.
    with tempfile.TemporaryDirectory() as scratch:
        _probabilities_saved_model(trained, Path(scratch))
        converter = tf.lite.TFLiteConverter.from_saved_model(
            scratch, signature_keys=[IMAGES_SIGNATURE]
        )
        try:
            content = converter.convert()
        except Exception as error:  # noqa: BLE001  (the converter raises many types)
            raise ZooError(f"TFLite could not convert the model: {first_line(error)}") from None
    file.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        interpreter = tf.lite.Interpreter(model_content=content)
    runner = interpreter.get_signature_runner(IMAGES_SIGNATURE)
    output = runner(images=images.astype("float32"))["probabilities"]
    return {
        "samples": len(images),
        "max_abs_diff": _max_diff(output, expected),
        "bytes": len(content),
    }


def _write_onnx(trained: TrainedModel, file: Path, images: Any, expected: Any) -> dict[str, Any]:
    import onnxruntime
    import tensorflow as tf
    import tf2onnx
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    height, width = trained.image_size
    spec = tf.TensorSpec((None, height, width, trained.channels), tf.float32, name="images")
    model = trained.model

    @tf.function
    def probabilities(images: tf.Tensor) -> tf.Tensor:
        return tf.cast(model(images, training=False), tf.float32)

    # Freezing first turns every captured value into a constant; tf2onnx's own
    # from_function would make captured tensors (e.g. EfficientNet's
    # normalisation statistics) into extra graph inputs.
    with _quiet_loggers():
        frozen = convert_variables_to_constants_v2(probabilities.get_concrete_function(spec))
        try:
            tf2onnx.convert.from_graph_def(
                frozen.graph.as_graph_def(),
                input_names=[frozen.inputs[0].name],
                output_names=[frozen.outputs[0].name],
                tensors_to_rename={
                    frozen.inputs[0].name: "images",
                    frozen.outputs[0].name: "probabilities",
                },
                output_path=str(file),
            )
        except Exception as error:  # noqa: BLE001  (tf2onnx raises many types)
            raise ZooError(f"tf2onnx could not convert the model: {first_line(error)}") from None
    session = onnxruntime.InferenceSession(str(file), providers=["CPUExecutionProvider"])
    output = session.run(["probabilities"], {"images": images.astype("float32")})[0]
    return {
        "samples": len(images),
        "max_abs_diff": _max_diff(output, expected),
        "bytes": file.stat().st_size,
    }
