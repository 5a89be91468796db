"""LeNet-5 (LeCun et al., 1998), with the paper's partially connected C3.

Layers follow Sec. II-B of the paper: C1 (6 maps, 5x5), S2 (2x2 subsampling with
a trainable coefficient and bias per map), C3 (16 maps, 5x5, connected to the S2
maps by Table I), S4 (like S2), C5 (120 maps, 5x5) and F6 (84 units). Every layer
ends in a tanh squashing function (the paper's `1.7159 tanh(2a/3)` differs only
by a fixed scale). The paper's output layer of Euclidean RBF units is replaced by
the zoo's usual dense classifier, `predictions`, which `zoo.builder` adds with F6.

Parameter counts, measured against real builds:

* The paper's "60,000 trainable free parameters" are the layers C1 to F6:
  156 + 12 + 1,516 + 32 + 48,120 + 10,164 = 60,000. The paper leaves its RBF
  output layer out of that count because those parameters were chosen by hand
  and kept fixed. So the default model has exactly 60,000 parameters below
  `predictions`, for any number of classes; the whole model has
  60,000 + 85 * classes: 60,850 with the paper's 10 classes (the default),
  145,000 with 1,000.
* The common textbook LeNet-5 (fully connected C3, parameter-free average
  pooling, a 10-way dense output) has 61,706 parameters:
  `full_c3=True, trainable_subsampling=False, classes=10`. `full_c3=True` alone
  adds the 900 weights of the connections Table I leaves out (C3: 2,416).
"""

from __future__ import annotations

import keras

from zoo.layers import PartiallyConnectedConv2D
from zoo.registry import ArchSpec, Head, register

C3_TABLE: tuple[tuple[int, ...], ...] = (
    *((i, (i + 1) % 6, (i + 2) % 6) for i in range(6)),
    *((i, (i + 1) % 6, (i + 2) % 6, (i + 3) % 6) for i in range(6)),
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)
"""Table I of the paper: the S2 maps each of the 16 C3 maps takes input from."""


def _subsampling(x: keras.KerasTensor, name: str, trainable: bool) -> keras.KerasTensor:
    """S2/S4: 2x2 average, then (paper) a trainable coefficient and bias per map and tanh."""
    if not trainable:
        return keras.layers.AveragePooling2D(2, name=name)(x)
    x = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(x)
    return keras.layers.DepthwiseConv2D(1, activation="tanh", name=name)(x)


@register(
    ArchSpec(
        name="lenet5",
        family="lenet",
        params=60_850,
        default_size=32,
        min_size=32,
        paper="LeCun et al., Gradient-Based Learning Applied to Document Recognition, "
        "Proc. IEEE 1998",
        preprocessing="tf",
        channels=1,
        classes=10,
        head=Head(pool="flatten", hidden=(("f6", 84, "tanh"),)),
        body_end="c5",
        block_pattern=r"^(s[24]|c5)$",
        aliases=("lenet",),
        description="LeNet-5 with the paper's C3 connection table and trainable subsampling",
    )
)
def build(
    x: keras.KerasTensor, *, full_c3: bool = False, trainable_subsampling: bool = True
) -> keras.KerasTensor:
    """Builds LeNet-5's body, C1 to C5, on a preprocessed input.

    Args:
        x: The preprocessed input tensor.
        full_c3: Connect every C3 map to all six S2 maps (the common variant)
            instead of the paper's Table I.
        trainable_subsampling: Give S2 and S4 the paper's trainable coefficient,
            bias and tanh per map; `False` gives plain average pooling.

    Returns:
        C5's output.
    """
    x = keras.layers.Conv2D(6, 5, activation="tanh", name="c1")(x)
    x = _subsampling(x, "s2", trainable_subsampling)
    if full_c3:
        x = keras.layers.Conv2D(16, 5, activation="tanh", name="c3")(x)
    else:
        x = PartiallyConnectedConv2D(C3_TABLE, 5, activation="tanh", name="c3")(x)
    x = _subsampling(x, "s4", trainable_subsampling)
    return keras.layers.Conv2D(120, 5, activation="tanh", name="c5")(x)
