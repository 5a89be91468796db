"""AlexNet (Krizhevsky et al., 2012) as a single tower, and the parts others reuse.

ZFNet reuses its upper convolutions and its top; VGG its fully connected top.

The paper splits the network over two GPUs; the single tower has the same layer
sizes without the split, i.e. conv2, conv4 and conv5 see all maps of the layer
below: 62,378,344 parameters with 1000 classes at 227x227 (the paper's "224" does
not give its own 55x55 first layer with an 11x11 stride-4 kernel).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from zoo.errors import UsageError
from zoo.layers import LocalResponseNormalization, classifier, global_pool
from zoo.registry import ArchSpec, register

_PAPER = (
    "Krizhevsky et al., ImageNet Classification with Deep Convolutional Neural Networks, "
    "NeurIPS 2012"
)


def check_dropout(rate: float, option: str = "dropout") -> float:
    """Checks a dropout rate given as an architecture option.

    Args:
        rate: The rate.
        option: The option's name, for the message.

    Returns:
        The rate, as a float.

    Raises:
        UsageError: The rate is not in [0, 1).
    """
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
        raise UsageError(f"{option} must be a number in [0, 1). Received: {option}={rate!r}")
    return float(rate)


def fully_connected_top(
    x: keras.KerasTensor,
    names: Sequence[str],
    *,
    classes: int,
    classifier_activation: str | None,
    dropout: float,
    units: int = 4096,
) -> keras.KerasTensor:
    """Flatten, ReLU dense layers each followed by dropout, then the classifier.

    Args:
        x: The body's last feature map.
        names: One name per hidden dense layer, e.g. `("fc6", "fc7")`; its
            dropout layer is named `f"{name}_dropout"`.
        classes: Number of classes.
        classifier_activation: Activation of `predictions`.
        dropout: Dropout rate after each hidden layer; 0 leaves dropout out.
        units: Width of the hidden layers.

    Returns:
        The output of `predictions`.
    """
    dropout = check_dropout(dropout)
    x = keras.layers.Flatten(name="flatten")(x)
    for name in names:
        x = keras.layers.Dense(units, activation="relu", name=name)(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return classifier(x, classes, classifier_activation)


def _conv_block(
    x: keras.KerasTensor, i: int, filters: int, size: int, *, lrn: bool, **conv: Any
) -> keras.KerasTensor:
    """conv{i} with ReLU, optionally norm{i}, then 3x3 stride-2 max pooling pool{i}."""
    x = keras.layers.Conv2D(filters, size, activation="relu", name=f"conv{i}", **conv)(x)
    if lrn:
        x = LocalResponseNormalization(name=f"norm{i}")(x)
    return keras.layers.MaxPooling2D(3, strides=2, name=f"pool{i}")(x)


def upper_convolutions(x: keras.KerasTensor) -> keras.KerasTensor:
    """conv3 to conv5 (3x3, 384-384-256 maps, ReLU) and pool5, as in AlexNet and ZFNet."""
    for i, filters in ((3, 384), (4, 384), (5, 256)):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i}")(x)
    return keras.layers.MaxPooling2D(3, strides=2, name="pool5")(x)


@register(
    ArchSpec(
        name="alexnet",
        family="alexnet",
        params=62_378_344,
        default_size=227,
        min_size=67,
        paper=_PAPER,
        preprocessing="tf",
        body_end="pool5",
        block_pattern=r"^(pool[125]|conv[34])$",
        description="AlexNet, single tower, optional local response normalisation",
    )
)
def build(
    x: keras.KerasTensor,
    *,
    classes: int,
    include_top: bool,
    pooling: str | None,
    classifier_activation: str | None,
    dropout: float = 0.5,
    lrn: bool = False,
) -> keras.KerasTensor:
    """Builds AlexNet on a preprocessed input.

    Args:
        x: The preprocessed input tensor.
        classes: Number of classes of the top.
        include_top: Whether to add fc6, fc7 and the classifier.
        pooling: Global pooling of pool5 without the top: `None`, `"avg"` or `"max"`.
        classifier_activation: Activation of `predictions`.
        dropout: Dropout rate after fc6 and fc7.
        lrn: Add the paper's local response normalisation after the ReLUs of
            conv1 and conv2 (Sec. 3.3), before their max pooling.

    Returns:
        The output tensor.
    """
    x = _conv_block(x, 1, 96, 11, strides=4, lrn=lrn)
    x = _conv_block(x, 2, 256, 5, padding="same", lrn=lrn)
    x = upper_convolutions(x)
    if not include_top:
        return global_pool(x, pooling)
    return fully_connected_top(
        x,
        ("fc6", "fc7"),
        classes=classes,
        classifier_activation=classifier_activation,
        dropout=dropout,
    )
