"""ZFNet (Zeiler & Fergus, 2014, Fig. 3): AlexNet with a 7x7 stride-2 first layer.

Side lengths at 224x224 follow the figure: 110 (conv1), 55 (pool1), 26 (conv2),
13 (pool2, conv3, conv4, conv5) and 6 (pool5). The figure's sizes imply a 1-pixel
zero padding before conv1 and ceil-mode ("same") pooling for pool1 and pool2;
pool5 fits exactly. AlexNet's top. 62,357,608 parameters with 1000 classes.
"""

from __future__ import annotations

import keras

from zoo.archs.alexnet import FC67_HEAD, upper_convolutions
from zoo.layers import LocalResponseNormalization
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
        head=FC67_HEAD,
        body_end="pool5",
        block_pattern=r"^(pool[125]|conv[34])$",
        description="ZFNet: AlexNet with a 7x7 stride-2 first layer, optional contrast norm",
    )
)
def build(x: keras.KerasTensor, *, lrn: bool = False) -> keras.KerasTensor:
    """Builds ZFNet's body, conv1 to pool5, on a preprocessed input.

    Args:
        x: The preprocessed input tensor.
        lrn: Add the paper's contrast normalisation across feature maps after
            pool1 and pool2 (local response normalisation, as in AlexNet).

    Returns:
        pool5's output.
    """
    x = keras.layers.ZeroPadding2D(1, name="conv1_pad")(x)
    for i, (filters, size) in enumerate(((96, 7), (256, 5)), start=1):
        x = keras.layers.Conv2D(filters, size, strides=2, activation="relu", name=f"conv{i}")(x)
        x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{i}")(x)
        if lrn:
            x = LocalResponseNormalization(name=f"norm{i}")(x)
    return upper_convolutions(x)
