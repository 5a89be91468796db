"""VGG configurations A, A-LRN, B and C (Simonyan & Zisserman, 2015, Table 1), from scratch.

Configurations D and E are keras.applications' VGG16 and VGG19
(`zoo.archs.applications`, with ImageNet weights). Layer names follow Keras'
VGG: `block1_conv1`, `block1_pool`, `fc1`, `fc2`, `predictions`. The top is fc1
and fc2 (4096 ReLU units, each followed by dropout 0.5, Sec. 3.1) and the
classifier.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from zoo.layers import LocalResponseNormalization
from zoo.registry import ArchSpec, Head, register

_PAPER = (
    "Simonyan & Zisserman, Very Deep Convolutional Networks for Large-Scale Image "
    "Recognition, ICLR 2015"
)
_WIDTHS = (64, 128, 256, 512, 512)
_HEAD = Head(pool="flatten", hidden=(("fc1", 4096, "relu"), ("fc2", 4096, "relu")), dropout=0.5)

# Kernel sides of the convolutions in each of the five blocks (Table 1).
_CONFIGS: dict[str, tuple[tuple[int, ...], ...]] = {
    "a": ((3,), (3,), (3, 3), (3, 3), (3, 3)),
    "b": ((3, 3), (3, 3), (3, 3), (3, 3), (3, 3)),
    "c": ((3, 3), (3, 3), (3, 3, 1), (3, 3, 1), (3, 3, 1)),
}


def _builder(config: str, lrn: bool = False) -> Callable[[keras.KerasTensor], keras.KerasTensor]:
    """A registry builder for one configuration of `_CONFIGS`."""
    blocks = _CONFIGS[config]

    def build(x: keras.KerasTensor) -> keras.KerasTensor:
        """Builds the configuration's body: five blocks of ReLU convolutions and max pooling.

        Args:
            x: The preprocessed input tensor.

        Returns:
            block5_pool's output.
        """
        for block, (sizes, filters) in enumerate(zip(blocks, _WIDTHS, strict=True), start=1):
            for i, size in enumerate(sizes, start=1):
                x = keras.layers.Conv2D(
                    filters, size, padding="same", activation="relu", name=f"block{block}_conv{i}"
                )(x)
                if lrn and block == 1 and i == 1:
                    x = LocalResponseNormalization(name="block1_lrn")(x)
            x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
        return x

    return build


for _name, _config, _lrn, _params, _aliases, _description in (
    ("vgg_a", "a", False, 132_863_336, ("vgg11",), "VGG configuration A (11 layers)"),
    ("vgg_a_lrn", "a", True, 132_863_336, ("vgg11_lrn",), "VGG configuration A-LRN"),
    ("vgg_b", "b", False, 133_047_848, ("vgg13",), "VGG configuration B (13 layers)"),
    ("vgg_c", "c", False, 133_638_952, (), "VGG configuration C (16 layers, with 1x1 convs)"),
):
    register(
        ArchSpec(
            name=_name,
            family="vgg",
            params=_params,
            default_size=224,
            min_size=32,
            paper=_PAPER,
            preprocessing="tf",
            head=_HEAD,
            body_end="block5_pool",
            block_pattern=r"^block\d_pool$",
            aliases=_aliases,
            description=_description,
        )
    )(_builder(_config, lrn=_lrn))
