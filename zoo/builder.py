"""`build_model`: the one signature every architecture is built through.

All argument checks live here, once, so that every registered architecture
rejects bad input the same way; errors end like Keras': `Received: classes=0`.
The builder also owns what every model shares: the preprocessing layers in
front of the body, and the classifier (global pooling or flatten, hidden dense
layers, dropout, `predictions`) that an architecture's `Head` describes.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import keras

from zoo import weights as weights_lib
from zoo.errors import UsageError, quoted, shorten
from zoo.fast_layers import use_fast_layers
from zoo.layers import preprocessing_layers
from zoo.registry import ArchSpec, Head, get_spec

STANDARD_ARGS = (
    "classes",
    "include_top",
    "pooling",
    "classifier_activation",
    "weights",
    "include_preprocessing",
)
"""Arguments of `build_model` handed to the builders that declare them (or take `**`)."""


def build_model(
    name: str,
    *,
    classes: int | None = None,
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
        classes: Number of classes of the top; the architecture's paper's
            (`ArchSpec.classes`: 10 for LeNet-5 and the CIFAR ResNets, 1000
            for the ImageNet networks) when `None`.
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
        **options: Architecture-specific options, e.g. `lrn=True` for AlexNet
            or `dropout=0.3` where the top has dropout; `zoo info NAME` lists them.

    Returns:
        An uncompiled `keras.Model` named after the architecture. Its
        BatchNormalization and Conv2D layers are the zoo's faster ones
        (`zoo.fast_layers`: Keras' weights and results).

    Raises:
        UnknownNameError: The name is not registered.
        UsageError: An argument is out of range or inconsistent.
        WeightsUnavailableError: ImageNet weights are not cached and cannot be
            downloaded.
    """
    spec = get_spec(name)
    classes = spec.classes if classes is None else classes
    _check_classes(classes)
    _check_activation(classifier_activation)
    _check_pooling(pooling, include_top)
    _check_options(spec, options)
    weights = _normalise_weights(spec, weights, include_top, classes)
    shape = resolve_input_shape(spec, input_shape, weights=weights, include_top=include_top)
    dropout = options.pop("dropout", None) if spec.head is not None else None

    standard: dict[str, Any] = {
        "classes": classes,
        "include_top": include_top,
        "pooling": pooling,
        "classifier_activation": classifier_activation,
        "weights": (
            weights_lib.imagenet_weights_path(spec, include_top=include_top)
            if weights == "imagenet"
            else None
        ),
        # Only a network that normalises its input itself is told to leave that out.
        "include_preprocessing": include_preprocessing or spec.preprocessing != "builtin",
    }
    declared = inspect.signature(spec.builder).parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in declared.values())
    kwargs = {key: value for key, value in standard.items() if takes_all or key in declared}

    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    if include_preprocessing and spec.preprocessing != "builtin":
        for layer in preprocessing_layers(spec.preprocessing):
            x = layer(x)
    body = spec.builder(x, **kwargs, **options)
    if spec.head is None:  # the builder made the whole network
        outputs = body
    else:
        features, auxiliary = body if isinstance(body, tuple) else (body, [])
        if include_top:
            top = classifier_top(features, spec.head, classes, classifier_activation, dropout)
            outputs = [top, *auxiliary] if auxiliary else top
        else:
            outputs = global_pool(features, pooling)
    model = use_fast_layers(keras.Model(inputs, outputs, name=spec.name))
    if weights not in (None, "imagenet"):
        weights_lib.load_weights_file(model, weights)
    return model


def classifier_top(
    features: keras.KerasTensor,
    head: Head,
    classes: int,
    activation: str | None,
    dropout: float | None = None,
) -> keras.KerasTensor:
    """The classifier an architecture's `Head` describes, on its body's feature map.

    Args:
        features: The body's last (4-D) feature map.
        head: What to build.
        classes: Units of `predictions`.
        activation: Activation of `predictions`.
        dropout: Dropout rate; `None` takes the head's default.

    Returns:
        The output of `predictions`.
    """
    rate = head.dropout if dropout is None else check_dropout(dropout)
    if head.pool == "flatten":
        x = keras.layers.Flatten(name="flatten")(features)
    else:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(features)
    for name, units, hidden_activation in head.hidden:
        x = keras.layers.Dense(units, activation=hidden_activation, name=name)(x)
        if rate:
            x = keras.layers.Dropout(rate, name=f"{name}_dropout")(x)
    if rate and not head.hidden:
        x = keras.layers.Dropout(rate, name="dropout")(x)
    return keras.layers.Dense(classes, activation=activation, name="predictions")(x)


def global_pool(x: keras.KerasTensor, pooling: str | None) -> keras.KerasTensor:
    """A feature extractor's optional global pooling: `None`, `"avg"` or `"max"`."""
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def check_dropout(rate: Any, option: str = "dropout") -> float:
    """Checks a dropout rate given as an architecture option.

    Args:
        rate: The rate.
        option: The option's name, for the message.

    Returns:
        The rate, as a float.

    Raises:
        UsageError: The rate is not a number in [0, 1).
    """
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
        raise UsageError(f"{option} must be a number in [0, 1). Received: {option}={quoted(rate)}")
    return float(rate)


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
            f"Received: input_shape={quoted(input_shape)}"
        )
    height, width, channels = shape
    if min(height, width) < spec.min_size:
        raise UsageError(
            f"{spec.name} needs inputs of at least {spec.min_size}x{spec.min_size} pixels; "
            f"use a larger image size. Received: input_shape={quoted(shape)}"
        )
    if channels != 3 and (spec.rgb_only or weights == "imagenet"):
        raise UsageError(
            f"{spec.name} takes RGB images (3 channels); convert the images to RGB. "
            f"Received: input_shape={quoted(shape)}"
        )
    if weights == "imagenet" and include_top and shape != spec.default_input_shape:
        size = spec.default_size
        raise UsageError(
            f"{spec.name} with ImageNet weights and its ImageNet top needs {size}x{size}x3 "
            f"inputs; use include_top=False for other sizes. Received: input_shape={quoted(shape)}"
        )
    return shape


def architecture_options(spec: ArchSpec) -> dict[str, Any]:
    """The architecture-specific keyword options of a builder, with defaults.

    Includes `dropout` where the architecture's top has dropout.
    """
    parameters = inspect.signature(spec.builder).parameters.values()
    options = {
        p.name: p.default
        for p in parameters
        if p.kind is p.KEYWORD_ONLY and p.name not in STANDARD_ARGS
    }
    if spec.head is not None and spec.head.dropout is not None:
        options["dropout"] = spec.head.dropout
    return options


def _check_classes(classes: int) -> None:
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise UsageError(f"classes must be a positive integer. Received: classes={quoted(classes)}")


def _check_activation(activation: str | None) -> None:
    try:
        keras.activations.get(activation)
    except ValueError:
        raise UsageError(
            "classifier_activation must be None or a Keras activation name such as "
            f"'softmax'. Received: classifier_activation={quoted(activation)}"
        ) from None


def _check_pooling(pooling: str | None, include_top: bool) -> None:
    if pooling not in (None, "avg", "max"):
        raise UsageError(
            f"pooling must be None, 'avg' or 'max'. Received: pooling={quoted(pooling)}"
        )
    if pooling is not None and include_top:
        raise UsageError(
            "pooling applies to feature extractors; pass include_top=False with it. "
            f"Received: pooling={quoted(pooling)}, include_top=True"
        )


def _check_options(spec: ArchSpec, options: dict[str, Any]) -> None:
    accepted = architecture_options(spec)
    unknown = sorted(set(options) - set(accepted), key=str)  # a YAML key may be a number
    if unknown:
        listed = ", ".join(accepted) if accepted else "none"
        key = unknown[0]
        name = shorten(str(key), 40)  # as `KEY=VALUE` spells it
        raise UsageError(
            f"{spec.name} has no option {quoted(key, 40)} (its options: {listed}). "
            f"Received: {name}={quoted(options[key])}"
        )


def _normalise_weights(
    spec: ArchSpec, weights: str | None, include_top: bool, classes: int
) -> str | None:
    if weights is None or str(weights).lower() == "none":
        return None
    if str(weights).lower() == "imagenet":
        if spec.imagenet is None:
            raise UsageError(
                f"{spec.name} has no ImageNet weights; train it from scratch with "
                f"weights=None, or pick a base that has them (`zoo list`). "
                f"Received: weights={quoted(weights)}"
            )
        if include_top and classes != 1000:
            raise UsageError(
                "ImageNet weights with include_top=True need classes=1000; use "
                f"include_top=False for a new head. Received: classes={quoted(classes)}"
            )
        return "imagenet"
    if not os.path.isfile(weights):
        raise UsageError(
            "weights must be None, 'imagenet' or the path of a weights file that exists. "
            f"Received: weights={quoted(weights)}"
        )
    return str(weights)
