"""ResNet-18 and ResNet-34 (He et al., 2016, Table 1), from scratch.

Basic blocks of two 3x3 convolutions; convolutions have no bias and are followed
by batch normalisation (epsilon 1.001e-5, as in Keras' ResNets; moving-average
momentum 0.9, the reference implementation's, so that the inference statistics
settle within a few dozen steps on small data sets). Shortcuts are
identities, or 1x1 projections with batch normalisation where the shape changes
(option B of Sec. 3.3). Layer names follow Keras' ResNet50: `conv1_conv`,
`conv2_block1_1_conv`, `conv2_block1_0_conv` (projection), `conv2_block1_out`.
The top is global average pooling and the classifier. Trainable parameters with
1000 classes: 11,689,512 and 21,797,672. At 224x224 the stem gives 112x112 maps
and the stages 56, 28, 14 and 7, as in Table 1; one forward pass costs 1.81 and
3.66 billion multiply-adds (Table 1: 1.8 and 3.6 billion FLOPs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras

from zoo.registry import ArchSpec, Head, register

_PAPER = "He et al., Deep Residual Learning for Image Recognition, CVPR 2016"
_WIDTHS = (64, 128, 256, 512)


def conv_bn(
    x: keras.KerasTensor,
    filters: int,
    size: int,
    name: str,
    strides: int = 1,
    padding: str = "same",
) -> keras.KerasTensor:
    """`{name}_conv` (no bias) followed by `{name}_bn`."""
    x = keras.layers.Conv2D(
        filters,
        size,
        strides=strides,
        padding=padding,
        use_bias=False,
        kernel_initializer="he_normal",
        name=f"{name}_conv",
    )(x)
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1.001e-5, name=f"{name}_bn")(x)


def basic_block(
    x: keras.KerasTensor, filters: int, strides: int, name: str, projection: bool = True
) -> keras.KerasTensor:
    """Two 3x3 conv-BN layers plus a shortcut, then ReLU as `{name}_out`.

    Where the shape changes, the shortcut is a 1x1 conv-BN projection (option B)
    or, with `projection=False`, the identity zero-padded (option A).
    """
    if (strides != 1 or x.shape[-1] != filters) and projection:
        shortcut = conv_bn(x, filters, 1, f"{name}_0", strides=strides)
    elif strides != 1 or x.shape[-1] != filters:
        shortcut = zero_padding_shortcut(x, filters, strides, f"{name}_0")
    else:
        shortcut = x
    x = conv_bn(x, filters, 3, f"{name}_1", strides=strides)
    x = keras.layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = conv_bn(x, filters, 3, f"{name}_2")
    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return keras.layers.Activation("relu", name=f"{name}_out")(x)


def zero_padding_shortcut(
    x: keras.KerasTensor, filters: int, strides: int, name: str
) -> keras.KerasTensor:
    """The parameter-free shortcut that subsamples and widens a map (option A).

    He et al. (2016, Sec. 3.3 and 4.2): "the shortcut still performs identity
    mapping, with extra zero entries padded for increasing dimensions", with a
    stride of 2. Every `strides`-th pixel is kept and the new channels, split
    evenly on both sides, are zeros. Only Keras' own layers are used, so a saved
    model loads without the zoo: a 1x1 max pool is the subsampling, and the
    channels are zero-padded as the columns of a map whose channel and column
    axes are swapped. The values are exactly those of the subsampled input.

    Args:
        x: The block's input.
        filters: Channels of the output (at least the input's).
        strides: Subsampling factor.
        name: Prefix of the layers: `{name}_pool`, `{name}_swap`, `{name}_pad`
            and `{name}_unswap`.

    Returns:
        The shortcut's output.
    """
    if strides != 1:
        x = keras.layers.MaxPooling2D(1, strides=strides, name=f"{name}_pool")(x)
    extra = filters - x.shape[-1]
    if extra:
        x = keras.layers.Permute((1, 3, 2), name=f"{name}_swap")(x)
        x = keras.layers.ZeroPadding2D(
            ((0, 0), (extra // 2, extra - extra // 2)), name=f"{name}_pad"
        )(x)
        x = keras.layers.Permute((1, 3, 2), name=f"{name}_unswap")(x)
    return x


def _builder(depths: Sequence[int]) -> Callable[[keras.KerasTensor], keras.KerasTensor]:
    """A registry builder for the given number of blocks in stages conv2 to conv5."""

    def build(x: keras.KerasTensor) -> keras.KerasTensor:
        """Builds the ResNet's body, conv1 to the last block, on a preprocessed input.

        Args:
            x: The preprocessed input tensor.

        Returns:
            The last block's output.
        """
        # conv1_pad already pads the 7x7 kernel's 3 pixels: padding it again ("same")
        # would give 115x115 maps at 224x224 instead of the paper's 112x112.
        x = keras.layers.ZeroPadding2D(3, name="conv1_pad")(x)
        x = conv_bn(x, 64, 7, "conv1", strides=2, padding="valid")
        x = keras.layers.Activation("relu", name="conv1_relu")(x)
        x = keras.layers.ZeroPadding2D(1, name="pool1_pad")(x)
        x = keras.layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
        for stage, (depth, filters) in enumerate(zip(depths, _WIDTHS, strict=True), start=2):
            for block in range(1, depth + 1):
                strides = 2 if block == 1 and stage > 2 else 1
                x = basic_block(x, filters, strides, f"conv{stage}_block{block}")
        return x

    return build


def register_resnet(
    name: str,
    family: str,
    params: int,
    default_size: int,
    min_size: int,
    body_end: str,
    description: str,
    builder: Callable[[keras.KerasTensor], keras.KerasTensor],
    classes: int = 1000,
) -> None:
    """Registers one of the paper's ResNets: average pooling, blocks named `convS_blockB_out`."""
    register(
        ArchSpec(
            name=name,
            family=family,
            params=params,
            default_size=default_size,
            min_size=min_size,
            classes=classes,
            paper=_PAPER,
            preprocessing="tf",
            head=Head(pool="avg"),
            body_end=body_end,
            block_pattern=r"^conv\d_block\d+_out$",
            description=description,
        )
    )(builder)


for _name, _depths, _params in (
    ("resnet18", (2, 2, 2, 2), 11_699_112),
    ("resnet34", (3, 4, 6, 3), 21_814_696),
):
    register_resnet(
        _name,
        "resnet",
        _params,
        default_size=224,
        min_size=1,
        body_end=f"conv5_block{_depths[-1]}_out",
        description=f"ResNet-{_name[6:]} with basic blocks and projection shortcuts",
        builder=_builder(_depths),
    )
