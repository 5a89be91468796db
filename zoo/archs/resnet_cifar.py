"""The CIFAR-10 ResNets (He et al., 2016, Sec. 4.2): ResNet-20, 32, 44, 56 and 110.

Networks for 32x32 images: a 3x3 convolution of 16 filters, then three stages
of `n` basic blocks on maps of 32, 16 and 8 pixels with 16, 32 and 64 filters
(6n + 2 weighted layers), subsampling by the first convolution of a stage with a
stride of 2, global average pooling and the classifier. Shortcuts are identities
everywhere, zero-padded where the stage widens (option A, parameter-free).
Convolutions have no bias and are followed by batch normalisation (momentum 0.9,
epsilon 1.001e-5, as in the zoo's ImageNet ResNets). The shortcuts are made of
Keras' own layers, so a saved model loads without the zoo. With CIFAR-10's 10
classes (the default) they have 271,098, 466,426, 661,754, 857,082 and
1,736,058 parameters, the paper's 0.27M, 0.46M, 0.66M, 0.85M and 1.7M
(Table 6) to within 1%. At small inputs they keep far more resolution than
ResNet-18, whose ImageNet stem divides the side by 4 before the first block;
that makes them the zoo's networks for 32-pixel images.

Layer names follow the zoo's ResNets: `conv1_conv`, `conv2_block1_1_conv`,
`conv2_block1_out` ... `conv4_block{n}_out`.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from zoo.archs.resnet import basic_block, conv_bn, register_resnet

_WIDTHS = (16, 32, 64)


def _builder(blocks: int) -> Callable[[keras.KerasTensor], keras.KerasTensor]:
    """A registry builder with `blocks` (the paper's n) blocks per stage."""

    def build(x: keras.KerasTensor) -> keras.KerasTensor:
        """Builds the body, conv1 to the last block, on a preprocessed input.

        Args:
            x: The preprocessed input tensor.

        Returns:
            The last block's output.
        """
        x = conv_bn(x, _WIDTHS[0], 3, "conv1")
        x = keras.layers.Activation("relu", name="conv1_relu")(x)
        for stage, filters in enumerate(_WIDTHS, start=2):
            for block in range(1, blocks + 1):
                strides = 2 if block == 1 and stage > 2 else 1
                name = f"conv{stage}_block{block}"
                x = basic_block(x, filters, strides, name, projection=False)
        return x

    return build


for _depth, _params in (
    (20, 271_098),
    (32, 466_426),
    (44, 661_754),
    (56, 857_082),
    (110, 1_736_058),
):
    register_resnet(
        f"resnet{_depth}",
        "resnet_cifar",
        _params,
        default_size=32,
        min_size=4,
        body_end=f"conv4_block{(_depth - 2) // 6}_out",
        description=f"ResNet-{_depth} for 32x32 images (CIFAR-10), zero-padded shortcuts",
        builder=_builder((_depth - 2) // 6),
        classes=10,
    )
