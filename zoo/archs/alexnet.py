"""AlexNet (Krizhevsky et al., 2012) as a single tower, and the parts ZFNet reuses.

The paper splits the network over two GPUs; the single tower has the same layer
sizes without the split, i.e. conv2, conv4 and conv5 see all maps of the layer
below: 62,378,344 parameters with 1000 classes at 227x227 (the paper's "224" does
not give its own 55x55 first layer with an 11x11 stride-4 kernel). The top is
fc6 and fc7 (4096 ReLU units, each followed by dropout 0.5) and the classifier.
"""

from __future__ import annotations

from typing import Any

import keras

from zoo.layers import LocalResponseNormalization
from zoo.registry import ArchSpec, Head, register

_PAPER = (
    "Krizhevsky et al., ImageNet Classification with Deep Convolutional Neural Networks, "
    "NeurIPS 2012"
)

FC67_HEAD = Head(pool="flatten", hidden=(("fc6", 4096, "relu"), ("fc7", 4096, "relu")), dropout=0.5)
"""AlexNet's and ZFNet's top: flatten, fc6 and fc7 with dropout, then the classifier."""


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
        head=FC67_HEAD,
        body_end="pool5",
        block_pattern=r"^(pool[125]|conv[34])$",
        description="AlexNet, single tower, optional local response normalisation",
    )
)
def build(x: keras.KerasTensor, *, lrn: bool = False) -> keras.KerasTensor:
    """Builds AlexNet's body, conv1 to pool5, on a preprocessed input.

    Args:
        x: The preprocessed input tensor.
        lrn: Add the paper's local response normalisation after the ReLUs of
            conv1 and conv2 (Sec. 3.3), before their max pooling.

    Returns:
        pool5's output.
    """
    x = _conv_block(x, 1, 96, 11, strides=4, lrn=lrn)
    x = _conv_block(x, 2, 256, 5, padding="same", lrn=lrn)
    return upper_convolutions(x)
