"""ZFNet (Zeiler & Fergus, 2014, Fig. 3): AlexNet with a 7x7 stride-2 first layer.

Side lengths at 224x224 follow the figure: 110 (conv1), 55 (pool1), 26 (conv2),
13 (pool2, conv3, conv4, conv5) and 6 (pool5). The figure's sizes imply a 1-pixel
zero padding before conv1 and ceil-mode ("same") pooling for pool1 and pool2;
pool5 fits exactly. 62,357,608 parameters with 1000 classes.
"""

from __future__ import annotations

import keras

from zoo.alexnet import fully_connected_top, upper_convolutions
from zoo.layers import LocalResponseNormalization, global_pool
from zoo.registry import ArchSpec, register


@register(
    ArchSpec(
        name="zfnet",
        family="alexnet",
        params=62_357_608,
        default_size=224,
        min_size=53,
        paper="Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014",
        preprocessing="tf",
        body_end="pool5",
        block_pattern=r"^(pool[125]|conv[34])$",
        description="ZFNet: AlexNet with a 7x7 stride-2 first layer, optional contrast norm",
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
    """Builds ZFNet on a preprocessed input.

    Args:
        x: The preprocessed input tensor.
        classes: Number of classes of the top.
        include_top: Whether to add fc6, fc7 and the classifier.
        pooling: Global pooling of pool5 without the top: `None`, `"avg"` or `"max"`.
        classifier_activation: Activation of `predictions`.
        dropout: Dropout rate after fc6 and fc7.
        lrn: Add the paper's contrast normalisation across feature maps after
            pool1 and pool2 (local response normalisation, as in AlexNet).

    Returns:
        The output tensor.
    """
    x = keras.layers.ZeroPadding2D(1, name="conv1_pad")(x)
    for i, (filters, size) in enumerate(((96, 7), (256, 5)), start=1):
        x = keras.layers.Conv2D(filters, size, strides=2, activation="relu", name=f"conv{i}")(x)
        x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{i}")(x)
        if lrn:
            x = LocalResponseNormalization(name=f"norm{i}")(x)
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
