"""`build_model`: the one signature every architecture is built through.

All argument checks live here, once, so that every registered architecture
rejects bad input the same way. Errors end like Keras': `Received: classes=0`.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import keras

from zoo import weights as weights_lib
from zoo.errors import UsageError
from zoo.layers import ImagePreprocessing, fuse_batch_norm
from zoo.registry import ArchSpec, get_spec

_STANDARD_ARGS = {"classes", "include_top", "pooling", "classifier_activation"}


def build_model(
    name: str,
    *,
    classes: int = 1000,
    input_shape: tuple[int, int, int] | None = None,
    weights: str | None = None,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    include_preprocessing: bool = True,
    **options: Any,
) -> keras.Model:
    """Builds a registered architecture.

    Args:
        name: Registry name or alias (`zoo list` shows them).
        classes: Number of classes of the top.
        input_shape: `(height, width, channels)`; the architecture's default
            when `None`.
        weights: `None` (random initialisation), `"imagenet"` (through Keras'
            cache; see `zoo.weights`) or the path of a weights file.
        include_top: Whether to include the classifier. Without it the model
            is a feature extractor.
        pooling: With `include_top=False`: `None` (4-D feature map), `"avg"`
            or `"max"` (2-D features).
        classifier_activation: Activation of the last layer, or `None` for logits.
        include_preprocessing: Whether the model normalises raw 0-255 input
            itself (see `ArchSpec.preprocessing`).
        **options: Architecture-specific options, e.g. `lrn=True` for AlexNet;
            `zoo info NAME` lists them.

    Returns:
        An uncompiled `keras.Model` named after the architecture. Its
        BatchNormalization layers compute through TensorFlow's fused kernel
        (`zoo.layers.FusedBatchNormalization`: Keras' weights and results).

    Raises:
        UnknownNameError: The name is not registered.
        UsageError: An argument is out of range or inconsistent.
        WeightsUnavailableError: ImageNet weights are not cached and cannot be
            downloaded.
    """
    spec = get_spec(name)
    _check_classes(classes)
    _check_activation(classifier_activation)
    _check_pooling(pooling, include_top)
    _check_options(spec, options)
    weights = _normalise_weights(spec, weights, include_top, classes)
    shape = resolve_input_shape(spec, input_shape, weights=weights, include_top=include_top)

    kwargs: dict[str, Any] = {
        "classes": classes,
        "include_top": include_top,
        "pooling": pooling,
        "classifier_activation": classifier_activation,
        **options,
    }
    if spec.preprocessing == "builtin":
        kwargs["include_preprocessing"] = include_preprocessing
    if weights == "imagenet":
        kwargs["weights"] = weights_lib.imagenet_weights_path(spec.name, include_top=include_top)

    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    if include_preprocessing and spec.preprocessing != "builtin":
        x = ImagePreprocessing(spec.preprocessing, name="preprocessing")(x)
    outputs = spec.builder(x, **kwargs)
    model = fuse_batch_norm(keras.Model(inputs, outputs, name=spec.name))
    if weights not in (None, "imagenet"):
        weights_lib.load_weights_file(model, weights)
    return model


def resolve_input_shape(
    spec: ArchSpec,
    input_shape: tuple[int, ...] | list[int] | None,
    *,
    weights: str | None = None,
    include_top: bool = True,
) -> tuple[int, int, int]:
    """Checks an input shape against an architecture, or gives its default.

    Args:
        spec: The architecture.
        input_shape: `(height, width, channels)` or `None` for the default.
        weights: The weights that will be loaded (`"imagenet"` fixes channels
            and, with the top, the size).
        include_top: Whether the classifier is included.

    Returns:
        The shape to build with.

    Raises:
        UsageError: The shape is malformed, too small, or does not fit the weights.
    """
    if input_shape is None:
        return spec.default_input_shape
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise UsageError(
            "input_shape must be (height, width, channels) with positive integers. "
            f"Received: input_shape={input_shape}"
        )
    height, width, channels = shape
    if min(height, width) < spec.min_size:
        raise UsageError(
            f"{spec.name} needs inputs of at least {spec.min_size}x{spec.min_size} pixels; "
            f"use a larger image size. Received: input_shape={shape}"
        )
    if channels != 3 and (spec.rgb_only or weights == "imagenet"):
        raise UsageError(
            f"{spec.name} takes RGB images (3 channels); convert the images to RGB. "
            f"Received: input_shape={shape}"
        )
    if weights == "imagenet" and include_top and shape != spec.default_input_shape:
        size = spec.default_size
        raise UsageError(
            f"{spec.name} with ImageNet weights and its ImageNet top needs {size}x{size}x3 "
            f"inputs; use include_top=False for other sizes. Received: input_shape={shape}"
        )
    return shape


def _check_classes(classes: int) -> None:
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise UsageError(f"classes must be a positive integer. Received: classes={classes}")


def _check_activation(activation: str | None) -> None:
    try:
        keras.activations.get(activation)
    except ValueError:
        raise UsageError(
            "classifier_activation must be None or a Keras activation name such as "
            f"'softmax'. Received: classifier_activation={activation!r}"
        ) from None


def _check_pooling(pooling: str | None, include_top: bool) -> None:
    if pooling not in (None, "avg", "max"):
        raise UsageError(f"pooling must be None, 'avg' or 'max'. Received: pooling={pooling!r}")
    if pooling is not None and include_top:
        raise UsageError(
            "pooling applies to feature extractors; pass include_top=False with it. "
            f"Received: pooling={pooling!r}, include_top=True"
        )


def _check_options(spec: ArchSpec, options: dict[str, Any]) -> None:
    accepted = architecture_options(spec)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        listed = ", ".join(accepted) if accepted else "none"
        raise UsageError(
            f"{spec.name} has no option {unknown[0]!r} (its options: {listed}). "
            f"Received: {unknown[0]}={options[unknown[0]]!r}"
        )


def architecture_options(spec: ArchSpec) -> dict[str, Any]:
    """The architecture-specific keyword options of a builder, with defaults."""
    parameters = inspect.signature(spec.builder).parameters.values()
    return {
        p.name: p.default
        for p in parameters
        if p.kind is p.KEYWORD_ONLY
        and p.name not in _STANDARD_ARGS | {"weights", "include_preprocessing"}
    }


def _normalise_weights(
    spec: ArchSpec, weights: str | None, include_top: bool, classes: int
) -> str | None:
    if weights is None or str(weights).lower() == "none":
        return None
    if str(weights).lower() == "imagenet":
        if "imagenet" not in spec.weights:
            raise UsageError(
                f"{spec.name} has no ImageNet weights; train it from scratch with "
                f"weights=None, or pick a base that has them (`zoo list`). "
                f"Received: weights={weights!r}"
            )
        if include_top and classes != 1000:
            raise UsageError(
                "ImageNet weights with include_top=True need classes=1000; use "
                f"include_top=False for a new head. Received: classes={classes}"
            )
        return "imagenet"
    if not os.path.isfile(weights):
        raise UsageError(
            "weights must be None, 'imagenet' or the path of a weights file that exists. "
            f"Received: weights={weights!r}"
        )
    return str(weights)
