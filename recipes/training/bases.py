"""The base a fine-tuning run puts its new head on: an architecture, a `.keras` file or a run.

A registered architecture is built without its top (with ImageNet weights by
default); for a `.keras` file or a zoo run directory the old head is cut off at
the last 4-D feature map.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import keras

import zoo
from recipes.config import RunConfig
from recipes.run.layout import RunLayout
from zoo.errors import UnknownNameError, UsageError
from zoo.fast_layers import use_fast_layers


@dataclass
class Base:
    """A feature extractor to put a new head on.

    Attributes:
        model: Maps raw images to a 4-D feature map.
        name: Architecture name (or file stem) for the run directory's name.
        block_pattern: Regex matching the layers that end blocks, if known.
        image_size: The input side the base expects (or was trained at).
        channels: Input channels.
        class_names: The classes a trained file or run was trained on (`None`
            for an architecture).
    """

    model: keras.Model
    name: str
    block_pattern: str | None
    image_size: int
    channels: int
    class_names: list[str] | None = None


def load_base(config: RunConfig, image_size: int | None) -> Base:
    """Builds or loads the base named by `config.model.base`.

    Args:
        config: The run configuration (`model.base`, `model.weights`).
        image_size: Requested input side, or `None` for the base's own.

    Returns:
        The base feature extractor.

    Raises:
        UsageError: Unknown base, unusable file, or weights that do not apply.
        WeightsUnavailableError: ImageNet weights not cached and not downloadable.
    """
    base = config.model.base
    if os.path.exists(base) or base.endswith(".keras"):
        return _base_from_file(config, image_size)
    spec = zoo.get_spec(base)
    weights = config.model.weights
    if weights is None:
        if "imagenet" not in spec.weights:
            raise UsageError(
                f"{spec.name} has no pretrained weights to fine-tune; train it first "
                f"(zoo train --arch {spec.name}) and pass the run directory as --base, "
                "or pass --weights none to train a new head on random weights."
            )
        weights = "imagenet"
    size = image_size or spec.default_size
    shape = (size, size, 3 if spec.rgb_only else spec.channels)
    model = zoo.build_model(spec.name, include_top=False, weights=weights, input_shape=shape)
    return Base(model, spec.name, spec.block_pattern, size, shape[-1])


def _base_from_file(config: RunConfig, image_size: int | None) -> Base:
    from recipes.run.trained import load_trained

    if config.model.weights is not None:
        raise UsageError(
            "--weights applies to a base architecture name; a .keras file or run directory "
            "brings its own weights, so leave --weights out."
        )
    trained = load_trained(config.model.base)
    side = trained.input_size[0]
    if image_size is not None and image_size != side:
        raise UsageError(
            f"{config.model.base} was trained at {side} px; fine-tune it at that "
            f"size (leave out --image-size). Received: --image-size {image_size}"
        )
    features = use_fast_layers(_last_feature_map(trained.model, config.model.base))
    pattern = _block_pattern(Path(trained.run_dir)) if trained.run_dir is not None else None
    return Base(features, trained.name, pattern, side, trained.channels, trained.class_names)


def _last_feature_map(model: keras.Model, source: str) -> keras.Model:
    """The model up to its last 4-D feature map: the part a new head goes on."""
    for layer in reversed(model.layers):
        if len(layer.output.shape) != 4:
            continue
        if isinstance(layer, keras.Model):  # a fine-tuned model's base, whole
            return layer
        return keras.Model(model.input, layer.output, name="base_features")
    raise UsageError(f"{source} has no convolutional feature map to put a new head on.")


def _block_pattern(run_dir: Path) -> str | None:
    """The block pattern of the architecture a run trained (or fine-tuned), if known."""
    saved = RunLayout(run_dir).config()
    name = saved.model.arch if saved.task == "train" else saved.model.base
    try:
        return zoo.get_spec(str(name)).block_pattern if name else None
    except UnknownNameError:  # a fine-tuned file or run: count layers instead
        return None
