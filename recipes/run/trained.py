"""Trained models as the evaluate, predict, export and fine-tune recipes see them.

`load_trained` accepts a run directory (written by `zoo train` / `zoo finetune`)
or a bare `.keras` file, loads the model in Keras' safe mode, and gathers what
using it needs: class names in label order, the input size, channels and the
resize interpolation used in training (from the run's `RunLayout`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recipes.config.schema import INTERPOLATIONS
from recipes.run.layout import RunLayout
from zoo.errors import UsageError, first_line

MODEL_SUFFIXES = (".keras", ".h5")


@dataclass
class TrainedModel:
    """A loaded model and what is needed to feed it and read its output.

    Attributes:
        model: The Keras model: raw float32 images `[None, H, W, C]` in 0..255
            in, softmax probabilities `[None, classes]` out.
        class_names: Class names in label order.
        input_size: `(height, width)` the model takes.
        channels: Image channels (1 or 3).
        interpolation: Resize interpolation used in training.
        name: A default model name for exports (letters, digits, `.`, `_`, `-`).
        run_dir: The run directory, or `None` for a bare model file.
        source: The path the model was loaded from.
    """

    model: Any
    class_names: list[str]
    input_size: tuple[int, int]
    channels: int
    interpolation: str
    name: str
    run_dir: Path | None
    source: Path | None = None

    @property
    def num_classes(self) -> int:
        """Number of classes of the model's output."""
        return len(self.class_names)

    @property
    def output_dir(self) -> Path:
        """Where reports about this model go: its run directory, else the file's folder."""
        if self.run_dir is not None:
            return self.run_dir
        return self.source.parent if self.source is not None else Path.cwd()


def load_trained(path: str | Path, float32: bool = False) -> TrainedModel:
    """Loads a trained model from a run directory or a `.keras` file.

    For a run directory the model is `model.keras`, the class names come from
    `class_names.json` and the input settings from `config.yaml`. For a bare
    file the input size and channels come from the model's input shape, and
    the class names from a `class_names.json` next to it, else `class_0`,
    `class_1`, ... A checkpoint inside a run directory (`best.keras`,
    `last.keras`) belongs to that run.

    Args:
        path: A run directory or a `.keras` model file.
        float32: Compute in float32 whatever precision trained the model
            (`float32_copy`): what an export computes, so evaluate, predict
            and the exported signatures give the same answers.

    Returns:
        The loaded model with its class names and input settings.

    Raises:
        UsageError: The path is missing, is a directory that is not a finished
            run, is not a Keras model, fails safe-mode loading, or its class
            names or input settings do not fit the model.
    """
    path = Path(path)
    check_model_path(path)
    if path.is_dir():
        run = RunLayout(path)
        model_file = run.file(RunLayout.MODEL)
    else:
        run = RunLayout(path.parent)
        model_file = path
    is_run = run.file(RunLayout.CONFIG).is_file()
    saved = run.config().flat() if is_run else {}

    model = _load_model(model_file)
    if float32:
        model = float32_copy(model)
    height, width, channels = _input_shape(model, model_file, saved)
    num_classes = _num_classes(model, model_file)
    class_names = _class_names(run, num_classes)
    interpolation = str(saved.get("interpolation") or "bilinear")
    if interpolation not in INTERPOLATIONS:
        raise UsageError(
            f"{path}: unknown interpolation {interpolation!r} in {RunLayout.CONFIG}; "
            f"expected one of {', '.join(INTERPOLATIONS)}."
        )
    return TrainedModel(
        model=model,
        class_names=class_names,
        input_size=(height, width),
        channels=channels,
        interpolation=interpolation,
        name=_default_name(path, model_file),
        run_dir=run.path if is_run else None,
        source=path,
    )


def _not_a_run_message(path: Path) -> str:
    checkpoints = [name for name in (RunLayout.BEST, RunLayout.LAST) if (path / name).is_file()]
    if checkpoints:
        return (
            f"{path} has no {RunLayout.MODEL} (the run has not finished); "
            f"pass {path / checkpoints[0]} to use its checkpoint."
        )
    return (
        f"{path} is not a zoo run directory (no {RunLayout.MODEL}); "
        "pass a run directory written by `zoo train`/`zoo finetune`, or a .keras file."
    )


def _load_model(model_file: Path) -> Any:
    import keras

    import zoo  # noqa: F401  (registers the zoo's layers with Keras)

    check_keras_archive(model_file)
    try:
        return keras.saving.load_model(model_file, safe_mode=True, compile=False)
    except Exception as error:  # noqa: BLE001  (Keras raises many types for a bad file)
        raise UsageError(
            f"{model_file} could not be loaded as a Keras model in safe mode "
            f"({first_line(error)}); check that it is a .keras file saved by Keras 3 "
            "and holds no Lambda layers or unregistered custom objects."
        ) from None


MAX_MODEL_BYTES = 16 * 2**30
"""The largest model file read, and the most its archive may unpack to (16 GiB)."""
MAX_CONFIG_BYTES = 64 * 2**20
"""The largest `config.json` or `metadata.json` inside a `.keras` file (64 MiB)."""


def check_keras_archive(model_file: Path) -> None:
    """Refuses a `.keras` file that is not a regular file of a sane size, or unpacks to too much.

    Keras reads `config.json` whole into memory: a 3 MB archive whose config
    inflates to gigabytes would take the process down. The sizes the archive
    declares are checked, and the config is read with a bound (a declared
    size can lie).

    Raises:
        UsageError: See above.
    """
    import zipfile

    if not model_file.is_file():
        raise UsageError(f"{model_file} is not a regular file; pass a .keras model file.")
    if model_file.stat().st_size > MAX_MODEL_BYTES:
        raise UsageError(f"{model_file} is larger than {MAX_MODEL_BYTES // 2**30} GiB.")
    if model_file.suffix.lower() != ".keras":  # a legacy HDF5 file: no archive to unpack
        return
    try:
        with zipfile.ZipFile(model_file) as archive:
            members = archive.infolist()
            if sum(member.file_size for member in members) > MAX_MODEL_BYTES:
                raise UsageError(
                    f"{model_file} unpacks to more than {MAX_MODEL_BYTES // 2**30} GiB."
                )
            for member in members:
                if member.filename in ("config.json", "metadata.json"):
                    with archive.open(member) as stream:
                        if len(stream.read(MAX_CONFIG_BYTES + 1)) > MAX_CONFIG_BYTES:
                            raise UsageError(
                                f"{model_file}'s {member.filename} unpacks to more than "
                                f"{MAX_CONFIG_BYTES // 2**20} MiB; it is not a model file."
                            )
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
        raise UsageError(
            f"{model_file} could not be loaded as a Keras model in safe mode ({error}); check "
            "that it is a .keras file saved by Keras 3."
        ) from None


def float32_copy(model: Any) -> Any:
    """The model computing in float32, with the same weights.

    Mixed precision is a training speed-up: the variables are float32 already,
    and only the layers' compute dtype changes, in nested models too. A float32
    model is returned as it is.

    Args:
        model: A Keras model.

    Returns:
        A float32 copy of the model, or the model itself.
    """
    import keras

    def to_float32(node: Any) -> Any:
        if isinstance(node, list):
            return [to_float32(value) for value in node]
        if not isinstance(node, dict):
            return node
        policy = node.get("config") if node.get("class_name") == "DTypePolicy" else None
        if isinstance(policy, dict) and str(policy.get("name", "")).startswith("mixed_"):
            return {**node, "config": {**policy, "name": "float32"}}
        return {key: to_float32(value) for key, value in node.items()}

    config = keras.saving.serialize_keras_object(model)
    float32_config = to_float32(config)
    if float32_config == config:
        return model
    copy = keras.saving.deserialize_keras_object(float32_config)
    copy.set_weights(model.get_weights())
    return copy


def _input_shape(model: Any, model_file: Path, saved: dict[str, Any]) -> tuple[int, int, int]:
    shapes = model.input_shape
    if isinstance(shapes, list) or len(shapes) != 4:
        raise UsageError(
            f"{model_file} does not take a batch of images (input shape {shapes}); "
            "expected one input of shape (batch, height, width, channels)."
        )
    _, height, width, channels = shapes
    size = saved.get("image_size")
    if isinstance(size, int):
        size = (size, size)
    if isinstance(size, list | tuple) and len(size) == 2:
        if height is not None and (height, width) != tuple(size):
            raise UsageError(
                f"{model_file} takes {height}x{width} images but its {RunLayout.CONFIG} says "
                f"image_size {list(size)}; the run directory is inconsistent."
            )
        height, width = int(size[0]), int(size[1])
    if height is None or width is None or channels is None:
        raise UsageError(
            f"{model_file} accepts any image size and no {RunLayout.CONFIG} says which to use; "
            "export it from its run directory."
        )
    return int(height), int(width), int(channels)


def _num_classes(model: Any, model_file: Path) -> int:
    shape = model.output_shape
    if isinstance(shape, list) or len(shape) != 2 or shape[-1] is None:
        raise UsageError(
            f"{model_file} is not a classifier (output shape {shape}); "
            "expected probabilities of shape (batch, classes)."
        )
    return int(shape[-1])


def _class_names(run: RunLayout, num_classes: int) -> list[str]:
    names = run.class_names()
    if names is None:
        return [f"class_{index}" for index in range(num_classes)]
    if len(names) != num_classes:
        raise UsageError(
            f"{run.file(RunLayout.CLASS_NAMES)} lists {len(names)} classes but the model outputs "
            f"{num_classes}; the class names belong to another model."
        )
    return names


def _default_name(path: Path, model_file: Path) -> str:
    stem = path.resolve().name if path.is_dir() else model_file.stem
    if not path.is_dir() and stem in ("model", "best", "last"):
        stem = model_file.resolve().parent.name
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._-")
    return name or "model"


def check_model_path(path: str | Path) -> None:
    """Refuses what is not a finished run directory or a `.keras` file, from the path alone.

    Cheap (no TensorFlow, the model is not read), so commands check it first.

    Raises:
        UsageError: Nothing is there, a directory without a finished run's
            model, or a file that is not a `.keras` model.
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path} does not exist; pass a run directory or a .keras model file.")
    if path.is_dir():
        if not RunLayout(path).file(RunLayout.MODEL).is_file():
            raise UsageError(_not_a_run_message(path))
    elif path.suffix.lower() not in MODEL_SUFFIXES:
        raise UsageError(
            f"{path} is not a Keras model file (expected a .keras file or a run directory)."
        )
    elif not path.is_file():  # a device, a FIFO, or a link to one: never read it
        raise UsageError(f"{path} is not a regular file; pass a .keras model file.")
